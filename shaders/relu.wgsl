// relu.wgsl: torch.relu, elementwise. One invocation per u32 word (relu, relu_inplace)
// or per vec4 of words (relu4, relu4_inplace, when the words are a multiple of 4): a
// word is one f32 or, with HALF, two f16 (both f16 forms are the same bytes).
// The data is bound as u32 and the test is on the bits: WGSL lets a compiler assume
// no NaN in float comparisons. As torch.relu (`x < 0 ? 0 : x`): every negative number
// gives +0.0, while NaN (either sign) and -0.0 pass through unchanged.
// @binding(0) src    array<u32>        read        [len]
// @binding(1) dst    array<u32>        read_write  [len]
// @binding(2) inout  array<u32>        read_write  [len]  (in place)
// @binding(3) src4   array<vec4<u32>>  read        [len / 4]
// @binding(4) dst4   array<vec4<u32>>  read_write  [len / 4]
// @binding(5) inout4 array<vec4<u32>>  read_write  [len / 4]  (in place)
// @binding(6) params ReluParams        uniform (declared in src/kernels/relu.rs)

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<storage, read_write> inout: array<u32>;
@group(0) @binding(3) var<storage, read> src4: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read_write> dst4: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read_write> inout4: array<vec4<u32>>;
@group(0) @binding(6) var<uniform> params: ReluParams;

const WG: u32 = 256u;

// Words of two f16 each, not one f32.
override HALF: bool = false;

fn relu_f32_bits(b: vec4<u32>) -> vec4<u32> {
    // sign set and magnitude non-zero: -0.0 (0x80000000) is not negative
    let negative = b > vec4<u32>(0x80000000u);
    let nan = (b & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
    return select(b, vec4<u32>(0u), negative & !nan);
}

// The same test on f16 bits, each half of a word apart.
fn relu_f16_bits(h: vec4<u32>) -> vec4<u32> {
    let negative = h > vec4<u32>(0x8000u);
    let nan = (h & vec4<u32>(0x7fffu)) > vec4<u32>(0x7c00u);
    return select(h, vec4<u32>(0u), negative & !nan);
}

fn relu_bits(b: vec4<u32>) -> vec4<u32> {
    if HALF {
        return relu_f16_bits(b & vec4<u32>(0xffffu)) | (relu_f16_bits(b >> vec4<u32>(16u)) << vec4<u32>(16u));
    }
    return relu_f32_bits(b);
}

// Linear invocation id; the grid spills past 65535 workgroups into y.
fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(256)
fn relu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if i < params.len {
        dst[i] = relu_bits(vec4<u32>(src[i])).x;
    }
}

@compute @workgroup_size(256)
fn relu_inplace(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if i < params.len {
        inout[i] = relu_bits(vec4<u32>(inout[i])).x;
    }
}

@compute @workgroup_size(256)
fn relu4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if i < params.len {
        dst4[i] = relu_bits(src4[i]);
    }
}

@compute @workgroup_size(256)
fn relu4_inplace(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if i < params.len {
        inout4[i] = relu_bits(inout4[i]);
    }
}
