// convert.wgsl: f32 <-> f16 storage (Tensor::to_dtype), on the bits, so that every WGSL
// implementation gives the same result: rounding to nearest, ties to even, as PyTorch's
// `.half()` does (magnitudes from 65520 on become infinity, f16 subnormals are made and
// read, -0.0 stays -0.0, a NaN stays a quiet NaN of its sign and top payload bits,
// either way),
// where pack2x16float's rounding and out-of-range results are the implementation's.
// f32 data is bound as u32 too: no float is loaded, so none is flushed or quietened.
// The bit conversions are shaders/lib/half.wgsl's.
// Two f16 share a u32, the first in its low half (the bytes of an array<f16>).
// @binding(0) wide    array<u32>  read        [len]            f32 bits in (to_f16)
// @binding(1) narrow  array<u32>  read_write  [(len + 1) / 2]  f16 pairs out (to_f16)
// @binding(2) pairs   array<u32>  read        [(len + 1) / 2]  f16 pairs in (to_f32)
// @binding(3) wide_out array<u32>  read_write  [len]            f32 bits out (to_f32)
// @binding(4) params  ConvertParams uniform (declared in src/kernels/convert.rs)

@group(0) @binding(0) var<storage, read> wide: array<u32>;
@group(0) @binding(1) var<storage, read_write> narrow: array<u32>;
@group(0) @binding(2) var<storage, read> pairs: array<u32>;
@group(0) @binding(3) var<storage, read_write> wide_out: array<u32>;
@group(0) @binding(4) var<uniform> params: ConvertParams;

const WG: u32 = 256u;

// Linear invocation id; the grid spills past 65535 workgroups into y.
fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

// One invocation per pair of elements; an odd last element pairs with +0.0.
@compute @workgroup_size(256)
fn to_f16(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if 2u * i >= params.len {
        return;
    }
    var hi = 0u;
    if 2u * i + 1u < params.len {
        hi = half_bits(wide[2u * i + 1u]);
    }
    narrow[i] = half_bits(wide[2u * i]) | (hi << 16u);
}

// One invocation per element.
@compute @workgroup_size(256)
fn to_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if i < params.len {
        wide_out[i] = wide_bits((pairs[i / 2u] >> (16u * (i & 1u))) & 0xffffu);
    }
}
