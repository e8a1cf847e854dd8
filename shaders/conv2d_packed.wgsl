// conv2d_packed.wgsl: 2-D convolution for CPU drivers (lavapipe, llvmpipe), NCHW f32.
// There every invocation is a SIMD lane and a storage-buffer access costs a loop over
// the lanes, while arithmetic is cheap. So the weights go through a uniform buffer, and
// every loaded input value feeds 16 or 32 output channels:
//
// pack_weights lays the weights out in 64 KiB blocks, one per (group, block of `rows`
// (16 or 32) output channels, chunk of input channels): block[tap][rows], zero past the
// ends.
// conv2d_packed runs one block of 16 for 8 consecutive output pixels per invocation:
// per tap, 8 gathered input values times 16 weights make 128 multiply-adds.
// conv2d_packed_1x1 (_32: blocks of 32) is the same for a 1x1 convolution with stride 1
// and no padding whose 8 pixels are two aligned vec4 of each input plane (the launcher
// checks): 2 loads per input channel, results out as vec4 stores.
// conv2d_packed_rows (_32) computes 2 rows x 4 pixels where rows are whole vec4s (see
// its own comment).
// The first chunk of input channels writes the output, later ones add to it (so the
// sums are two-level, which bounds the rounding), and the last applies the epilogue
// (bias, residual, activation: shaders/lib/epilogue.wgsl). The code is unrolled by hand so that the sums stay in
// registers: on a CPU driver a dynamically indexed array lives in memory, one lane at a
// time.
//
// pack_weights:  @binding(5) weight [c_out, cg, kh, kw] read
//                @binding(6) packed [blocks][4096 vec4]  read_write
//                @binding(7) params PackParams uniform (declared in src/kernels/conv2d/mod.rs)
// conv2d_packed: @binding(0) src    input images of the chunk, from in_shift  read
//                @binding(1) block  one 64 KiB weight block                 uniform
//                @binding(2) bias   [c_out]                                 read
//                @binding(3) dst    output images of the chunk, from out_shift read_write
//                @binding(4) params PackedParams uniform (declared in src/kernels/conv2d/mod.rs)
//                @binding(8) src4   src again, as vec4 (_1x1, _rows)        read
//                @binding(20) residual over dst's window (RESIDUAL)     read
//                @binding(9) dst4   dst again, as vec4 (_1x1, _rows)        read_write
//                grid: pixels of the chunk (n * oh * ow) / 512, spilled into y

const BLOCK: u32 = 16384u;

// The padding mode, fixed per pipeline so that the zero-padding path has no switch.
override MODE: u32 = 0u;

@group(0) @binding(5) var<storage, read> weight: array<f32>;
@group(0) @binding(6) var<storage, read_write> packed: array<f32>;
@group(0) @binding(7) var<uniform> pack: PackParams;

@compute @workgroup_size(256)
fn pack_weights(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = pack;
    let e = gid.x + gid.y * nwg.x * 256u;
    if e >= p.total {
        return;
    }
    let b = e / p.used;
    let within = e % p.used;
    let t = within / p.rows;
    let row = (b / p.chunks) % p.row_blocks * p.rows + within % p.rows;
    let g = b / (p.chunks * p.row_blocks);
    let ci = (b % p.chunks) * p.cc + t / p.khw;
    var v = 0.0;
    if row < p.mg && t < p.cc * p.khw && ci < p.cg {
        v = weight[((g * p.mg + row) * p.cg + ci) * p.khw + t % p.khw];
    }
    packed[b * BLOCK + within] = v;
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<uniform> block: array<vec4<f32>, 4096>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
@group(0) @binding(4) var<uniform> params: PackedParams;
@group(0) @binding(8) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> dst4: array<vec4<f32>>;

fn source_coord(i: i32, size: i32, mode: u32) -> i32 {
    if i >= 0 && i < size {
        return i;
    }
    switch mode {
        case 1u: {
            return select(2 * (size - 1) - i, -i, i < 0);
        }
        case 2u: {
            return clamp(i, 0, size - 1);
        }
        case 3u: {
            return select(i - size, i + size, i < 0);
        }
        default: {
            return -1;
        }
    }
}

// The input value at padded coordinate (y, x) of the plane starting at `plane`.
fn tap(plane: u32, y: i32, x: i32) -> f32 {
    let p = params;
    var iy = select(-1, y, y >= 0 && y < i32(p.h));
    var ix = select(-1, x, x >= 0 && x < i32(p.w));
    if MODE != 0u {
        iy = source_coord(y, i32(p.h), MODE);
        ix = source_coord(x, i32(p.w), MODE);
    }
    let inside = iy >= 0 && ix >= 0;
    return select(0.0, src[select(plane, plane + u32(iy) * p.w + u32(ix), inside)], inside);
}

// Adds `v` to output channel `co` (of the group) at `o`, the chunk's way.
fn store(o: u32, co: u32, v_in: f32) {
    let p = params;
    if co >= p.mg {
        return;
    }
    let index = o + co * p.oh * p.ow;
    var v = v_in;
    if (p.flags & FLAG_FIRST_CHUNK) == 0u {
        v += dst[index];
    }
    if (p.flags & FLAG_LAST_CHUNK) != 0u {
        v = epilogue(v, bias[p.group * p.mg + co], index, p.flags);
    }
    dst[index] = v;
}

// The 4 channels from `co` of a vec4 of sums.
fn store4(o: u32, co: u32, v: vec4<f32>) {
    store(o, co, v.x);
    store(o, co + 1u, v.y);
    store(o, co + 2u, v.z);
    store(o, co + 3u, v.w);
}

// The block's 16 channels of output pixel `j` (none past the chunk's pixels).
fn store_pixel(j: u32, a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>) {
    let p = params;
    if j >= p.total {
        return;
    }
    let ohw = p.oh * p.ow;
    let o = p.out_shift + (j / ohw) * p.c_out * ohw + j % ohw + p.group * p.mg * ohw;
    store4(o, p.m0, a0);
    store4(o, p.m0 + 4u, a1);
    store4(o, p.m0 + 8u, a2);
    store4(o, p.m0 + 12u, a3);
}

// Where output pixel `j` of the chunk reads: its window's top-left corner (padded
// coordinates) and the start of its image's first input channel of the chunk.
struct Pixel {
    iy: i32,
    ix: i32,
    base: u32,
}

fn pixel(j_raw: u32) -> Pixel {
    let p = params;
    let ohw = p.oh * p.ow;
    let j = min(j_raw, p.total - 1u);
    let pix = j % ohw;
    return Pixel(
        i32((pix / p.ow) * p.stride_h) - i32(p.pad_t),
        i32((pix % p.ow) * p.stride_w) - i32(p.pad_l),
        p.in_shift + ((j / ohw) * p.c + p.group * p.cg + p.ci0) * p.h * p.w,
    );
}

// conv2d_packed_1x1: see the header. Each accumulator holds 4 of the 8 pixels of one
// channel, so that the results leave as vec4 stores. conv2d_packed_1x1_32 is the same
// for blocks of 32 output channels (twice the multiply-adds per input load).
@compute @workgroup_size(64)
fn conv2d_packed_1x1(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = params;
    let first = (gid.x + gid.y * nwg.x * 64u) * 8u;
    if first >= p.total {
        return;
    }
    let ohw = p.oh * p.ow;
    let hw = p.h * p.w;
    // the 8 pixels share one plane and row: one base for all
    let base = (p.in_shift + ((first / ohw) * p.c + p.group * p.cg + p.ci0) * hw + first % ohw) / 4u;
    var a0_0 = vec4<f32>(0.0);
    var a0_1 = vec4<f32>(0.0);
    var a1_0 = vec4<f32>(0.0);
    var a1_1 = vec4<f32>(0.0);
    var a2_0 = vec4<f32>(0.0);
    var a2_1 = vec4<f32>(0.0);
    var a3_0 = vec4<f32>(0.0);
    var a3_1 = vec4<f32>(0.0);
    var a4_0 = vec4<f32>(0.0);
    var a4_1 = vec4<f32>(0.0);
    var a5_0 = vec4<f32>(0.0);
    var a5_1 = vec4<f32>(0.0);
    var a6_0 = vec4<f32>(0.0);
    var a6_1 = vec4<f32>(0.0);
    var a7_0 = vec4<f32>(0.0);
    var a7_1 = vec4<f32>(0.0);
    var a8_0 = vec4<f32>(0.0);
    var a8_1 = vec4<f32>(0.0);
    var a9_0 = vec4<f32>(0.0);
    var a9_1 = vec4<f32>(0.0);
    var a10_0 = vec4<f32>(0.0);
    var a10_1 = vec4<f32>(0.0);
    var a11_0 = vec4<f32>(0.0);
    var a11_1 = vec4<f32>(0.0);
    var a12_0 = vec4<f32>(0.0);
    var a12_1 = vec4<f32>(0.0);
    var a13_0 = vec4<f32>(0.0);
    var a13_1 = vec4<f32>(0.0);
    var a14_0 = vec4<f32>(0.0);
    var a14_1 = vec4<f32>(0.0);
    var a15_0 = vec4<f32>(0.0);
    var a15_1 = vec4<f32>(0.0);
    var t = 0u;
    for (var ci = 0u; ci < p.cc; ci++) {
        let v0 = src4[base + ci * (hw / 4u)];
        let v1 = src4[base + ci * (hw / 4u) + 1u];
        let w0 = block[t + 0u];
        let w1 = block[t + 1u];
        let w2 = block[t + 2u];
        let w3 = block[t + 3u];
        a0_0 = fma(vec4<f32>(w0.x), v0, a0_0);
        a0_1 = fma(vec4<f32>(w0.x), v1, a0_1);
        a1_0 = fma(vec4<f32>(w0.y), v0, a1_0);
        a1_1 = fma(vec4<f32>(w0.y), v1, a1_1);
        a2_0 = fma(vec4<f32>(w0.z), v0, a2_0);
        a2_1 = fma(vec4<f32>(w0.z), v1, a2_1);
        a3_0 = fma(vec4<f32>(w0.w), v0, a3_0);
        a3_1 = fma(vec4<f32>(w0.w), v1, a3_1);
        a4_0 = fma(vec4<f32>(w1.x), v0, a4_0);
        a4_1 = fma(vec4<f32>(w1.x), v1, a4_1);
        a5_0 = fma(vec4<f32>(w1.y), v0, a5_0);
        a5_1 = fma(vec4<f32>(w1.y), v1, a5_1);
        a6_0 = fma(vec4<f32>(w1.z), v0, a6_0);
        a6_1 = fma(vec4<f32>(w1.z), v1, a6_1);
        a7_0 = fma(vec4<f32>(w1.w), v0, a7_0);
        a7_1 = fma(vec4<f32>(w1.w), v1, a7_1);
        a8_0 = fma(vec4<f32>(w2.x), v0, a8_0);
        a8_1 = fma(vec4<f32>(w2.x), v1, a8_1);
        a9_0 = fma(vec4<f32>(w2.y), v0, a9_0);
        a9_1 = fma(vec4<f32>(w2.y), v1, a9_1);
        a10_0 = fma(vec4<f32>(w2.z), v0, a10_0);
        a10_1 = fma(vec4<f32>(w2.z), v1, a10_1);
        a11_0 = fma(vec4<f32>(w2.w), v0, a11_0);
        a11_1 = fma(vec4<f32>(w2.w), v1, a11_1);
        a12_0 = fma(vec4<f32>(w3.x), v0, a12_0);
        a12_1 = fma(vec4<f32>(w3.x), v1, a12_1);
        a13_0 = fma(vec4<f32>(w3.y), v0, a13_0);
        a13_1 = fma(vec4<f32>(w3.y), v1, a13_1);
        a14_0 = fma(vec4<f32>(w3.z), v0, a14_0);
        a14_1 = fma(vec4<f32>(w3.z), v1, a14_1);
        a15_0 = fma(vec4<f32>(w3.w), v0, a15_0);
        a15_1 = fma(vec4<f32>(w3.w), v1, a15_1);
        t += 4u;
    }
    // vec4 index of the block's first channel at the first pixel
    let o = (p.out_shift + (first / ohw) * p.c_out * ohw + first % ohw + p.group * p.mg * ohw) / 4u;
    store_run(o, 0u, a0_0, a0_1);
    store_run(o, 1u, a1_0, a1_1);
    store_run(o, 2u, a2_0, a2_1);
    store_run(o, 3u, a3_0, a3_1);
    store_run(o, 4u, a4_0, a4_1);
    store_run(o, 5u, a5_0, a5_1);
    store_run(o, 6u, a6_0, a6_1);
    store_run(o, 7u, a7_0, a7_1);
    store_run(o, 8u, a8_0, a8_1);
    store_run(o, 9u, a9_0, a9_1);
    store_run(o, 10u, a10_0, a10_1);
    store_run(o, 11u, a11_0, a11_1);
    store_run(o, 12u, a12_0, a12_1);
    store_run(o, 13u, a13_0, a13_1);
    store_run(o, 14u, a14_0, a14_1);
    store_run(o, 15u, a15_0, a15_1);
}

@compute @workgroup_size(64)
fn conv2d_packed_1x1_32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = params;
    let first = (gid.x + gid.y * nwg.x * 64u) * 8u;
    if first >= p.total {
        return;
    }
    let ohw = p.oh * p.ow;
    let hw = p.h * p.w;
    // the 8 pixels share one plane and row: one base for all
    let base = (p.in_shift + ((first / ohw) * p.c + p.group * p.cg + p.ci0) * hw + first % ohw) / 4u;
    var a0_0 = vec4<f32>(0.0);
    var a0_1 = vec4<f32>(0.0);
    var a1_0 = vec4<f32>(0.0);
    var a1_1 = vec4<f32>(0.0);
    var a2_0 = vec4<f32>(0.0);
    var a2_1 = vec4<f32>(0.0);
    var a3_0 = vec4<f32>(0.0);
    var a3_1 = vec4<f32>(0.0);
    var a4_0 = vec4<f32>(0.0);
    var a4_1 = vec4<f32>(0.0);
    var a5_0 = vec4<f32>(0.0);
    var a5_1 = vec4<f32>(0.0);
    var a6_0 = vec4<f32>(0.0);
    var a6_1 = vec4<f32>(0.0);
    var a7_0 = vec4<f32>(0.0);
    var a7_1 = vec4<f32>(0.0);
    var a8_0 = vec4<f32>(0.0);
    var a8_1 = vec4<f32>(0.0);
    var a9_0 = vec4<f32>(0.0);
    var a9_1 = vec4<f32>(0.0);
    var a10_0 = vec4<f32>(0.0);
    var a10_1 = vec4<f32>(0.0);
    var a11_0 = vec4<f32>(0.0);
    var a11_1 = vec4<f32>(0.0);
    var a12_0 = vec4<f32>(0.0);
    var a12_1 = vec4<f32>(0.0);
    var a13_0 = vec4<f32>(0.0);
    var a13_1 = vec4<f32>(0.0);
    var a14_0 = vec4<f32>(0.0);
    var a14_1 = vec4<f32>(0.0);
    var a15_0 = vec4<f32>(0.0);
    var a15_1 = vec4<f32>(0.0);
    var a16_0 = vec4<f32>(0.0);
    var a16_1 = vec4<f32>(0.0);
    var a17_0 = vec4<f32>(0.0);
    var a17_1 = vec4<f32>(0.0);
    var a18_0 = vec4<f32>(0.0);
    var a18_1 = vec4<f32>(0.0);
    var a19_0 = vec4<f32>(0.0);
    var a19_1 = vec4<f32>(0.0);
    var a20_0 = vec4<f32>(0.0);
    var a20_1 = vec4<f32>(0.0);
    var a21_0 = vec4<f32>(0.0);
    var a21_1 = vec4<f32>(0.0);
    var a22_0 = vec4<f32>(0.0);
    var a22_1 = vec4<f32>(0.0);
    var a23_0 = vec4<f32>(0.0);
    var a23_1 = vec4<f32>(0.0);
    var a24_0 = vec4<f32>(0.0);
    var a24_1 = vec4<f32>(0.0);
    var a25_0 = vec4<f32>(0.0);
    var a25_1 = vec4<f32>(0.0);
    var a26_0 = vec4<f32>(0.0);
    var a26_1 = vec4<f32>(0.0);
    var a27_0 = vec4<f32>(0.0);
    var a27_1 = vec4<f32>(0.0);
    var a28_0 = vec4<f32>(0.0);
    var a28_1 = vec4<f32>(0.0);
    var a29_0 = vec4<f32>(0.0);
    var a29_1 = vec4<f32>(0.0);
    var a30_0 = vec4<f32>(0.0);
    var a30_1 = vec4<f32>(0.0);
    var a31_0 = vec4<f32>(0.0);
    var a31_1 = vec4<f32>(0.0);
    var t = 0u;
    for (var ci = 0u; ci < p.cc; ci++) {
        let v0 = src4[base + ci * (hw / 4u)];
        let v1 = src4[base + ci * (hw / 4u) + 1u];
        let w0 = block[t + 0u];
        let w1 = block[t + 1u];
        let w2 = block[t + 2u];
        let w3 = block[t + 3u];
        let w4 = block[t + 4u];
        let w5 = block[t + 5u];
        let w6 = block[t + 6u];
        let w7 = block[t + 7u];
        a0_0 = fma(vec4<f32>(w0.x), v0, a0_0);
        a0_1 = fma(vec4<f32>(w0.x), v1, a0_1);
        a1_0 = fma(vec4<f32>(w0.y), v0, a1_0);
        a1_1 = fma(vec4<f32>(w0.y), v1, a1_1);
        a2_0 = fma(vec4<f32>(w0.z), v0, a2_0);
        a2_1 = fma(vec4<f32>(w0.z), v1, a2_1);
        a3_0 = fma(vec4<f32>(w0.w), v0, a3_0);
        a3_1 = fma(vec4<f32>(w0.w), v1, a3_1);
        a4_0 = fma(vec4<f32>(w1.x), v0, a4_0);
        a4_1 = fma(vec4<f32>(w1.x), v1, a4_1);
        a5_0 = fma(vec4<f32>(w1.y), v0, a5_0);
        a5_1 = fma(vec4<f32>(w1.y), v1, a5_1);
        a6_0 = fma(vec4<f32>(w1.z), v0, a6_0);
        a6_1 = fma(vec4<f32>(w1.z), v1, a6_1);
        a7_0 = fma(vec4<f32>(w1.w), v0, a7_0);
        a7_1 = fma(vec4<f32>(w1.w), v1, a7_1);
        a8_0 = fma(vec4<f32>(w2.x), v0, a8_0);
        a8_1 = fma(vec4<f32>(w2.x), v1, a8_1);
        a9_0 = fma(vec4<f32>(w2.y), v0, a9_0);
        a9_1 = fma(vec4<f32>(w2.y), v1, a9_1);
        a10_0 = fma(vec4<f32>(w2.z), v0, a10_0);
        a10_1 = fma(vec4<f32>(w2.z), v1, a10_1);
        a11_0 = fma(vec4<f32>(w2.w), v0, a11_0);
        a11_1 = fma(vec4<f32>(w2.w), v1, a11_1);
        a12_0 = fma(vec4<f32>(w3.x), v0, a12_0);
        a12_1 = fma(vec4<f32>(w3.x), v1, a12_1);
        a13_0 = fma(vec4<f32>(w3.y), v0, a13_0);
        a13_1 = fma(vec4<f32>(w3.y), v1, a13_1);
        a14_0 = fma(vec4<f32>(w3.z), v0, a14_0);
        a14_1 = fma(vec4<f32>(w3.z), v1, a14_1);
        a15_0 = fma(vec4<f32>(w3.w), v0, a15_0);
        a15_1 = fma(vec4<f32>(w3.w), v1, a15_1);
        a16_0 = fma(vec4<f32>(w4.x), v0, a16_0);
        a16_1 = fma(vec4<f32>(w4.x), v1, a16_1);
        a17_0 = fma(vec4<f32>(w4.y), v0, a17_0);
        a17_1 = fma(vec4<f32>(w4.y), v1, a17_1);
        a18_0 = fma(vec4<f32>(w4.z), v0, a18_0);
        a18_1 = fma(vec4<f32>(w4.z), v1, a18_1);
        a19_0 = fma(vec4<f32>(w4.w), v0, a19_0);
        a19_1 = fma(vec4<f32>(w4.w), v1, a19_1);
        a20_0 = fma(vec4<f32>(w5.x), v0, a20_0);
        a20_1 = fma(vec4<f32>(w5.x), v1, a20_1);
        a21_0 = fma(vec4<f32>(w5.y), v0, a21_0);
        a21_1 = fma(vec4<f32>(w5.y), v1, a21_1);
        a22_0 = fma(vec4<f32>(w5.z), v0, a22_0);
        a22_1 = fma(vec4<f32>(w5.z), v1, a22_1);
        a23_0 = fma(vec4<f32>(w5.w), v0, a23_0);
        a23_1 = fma(vec4<f32>(w5.w), v1, a23_1);
        a24_0 = fma(vec4<f32>(w6.x), v0, a24_0);
        a24_1 = fma(vec4<f32>(w6.x), v1, a24_1);
        a25_0 = fma(vec4<f32>(w6.y), v0, a25_0);
        a25_1 = fma(vec4<f32>(w6.y), v1, a25_1);
        a26_0 = fma(vec4<f32>(w6.z), v0, a26_0);
        a26_1 = fma(vec4<f32>(w6.z), v1, a26_1);
        a27_0 = fma(vec4<f32>(w6.w), v0, a27_0);
        a27_1 = fma(vec4<f32>(w6.w), v1, a27_1);
        a28_0 = fma(vec4<f32>(w7.x), v0, a28_0);
        a28_1 = fma(vec4<f32>(w7.x), v1, a28_1);
        a29_0 = fma(vec4<f32>(w7.y), v0, a29_0);
        a29_1 = fma(vec4<f32>(w7.y), v1, a29_1);
        a30_0 = fma(vec4<f32>(w7.z), v0, a30_0);
        a30_1 = fma(vec4<f32>(w7.z), v1, a30_1);
        a31_0 = fma(vec4<f32>(w7.w), v0, a31_0);
        a31_1 = fma(vec4<f32>(w7.w), v1, a31_1);
        t += 8u;
    }
    // vec4 index of the block's first channel at the first pixel
    let o = (p.out_shift + (first / ohw) * p.c_out * ohw + first % ohw + p.group * p.mg * ohw) / 4u;
    store_run(o, 0u, a0_0, a0_1);
    store_run(o, 1u, a1_0, a1_1);
    store_run(o, 2u, a2_0, a2_1);
    store_run(o, 3u, a3_0, a3_1);
    store_run(o, 4u, a4_0, a4_1);
    store_run(o, 5u, a5_0, a5_1);
    store_run(o, 6u, a6_0, a6_1);
    store_run(o, 7u, a7_0, a7_1);
    store_run(o, 8u, a8_0, a8_1);
    store_run(o, 9u, a9_0, a9_1);
    store_run(o, 10u, a10_0, a10_1);
    store_run(o, 11u, a11_0, a11_1);
    store_run(o, 12u, a12_0, a12_1);
    store_run(o, 13u, a13_0, a13_1);
    store_run(o, 14u, a14_0, a14_1);
    store_run(o, 15u, a15_0, a15_1);
    store_run(o, 16u, a16_0, a16_1);
    store_run(o, 17u, a17_0, a17_1);
    store_run(o, 18u, a18_0, a18_1);
    store_run(o, 19u, a19_0, a19_1);
    store_run(o, 20u, a20_0, a20_1);
    store_run(o, 21u, a21_0, a21_1);
    store_run(o, 22u, a22_0, a22_1);
    store_run(o, 23u, a23_0, a23_1);
    store_run(o, 24u, a24_0, a24_1);
    store_run(o, 25u, a25_0, a25_1);
    store_run(o, 26u, a26_0, a26_1);
    store_run(o, 27u, a27_0, a27_1);
    store_run(o, 28u, a28_0, a28_1);
    store_run(o, 29u, a29_0, a29_1);
    store_run(o, 30u, a30_0, a30_1);
    store_run(o, 31u, a31_0, a31_1);
}

// Channel co of the block at the 8 pixels from vec4 `o` (its first channel), the
// chunk's way (see store).
fn store_run(o: u32, co: u32, a: vec4<f32>, b: vec4<f32>) {
    let p = params;
    let c = p.m0 + co;
    if c >= p.mg {
        return;
    }
    let at = o + c * (p.oh * p.ow / 4u);
    dst4[at] = finish4(at, c, a);
    dst4[at + 1u] = finish4(at + 1u, c, b);
}

// The chunk's way for a vec4 of channel c (of the group) bound for dst4[at]: add what
// earlier chunks wrote, then in the last chunk the epilogue.
fn finish4(at: u32, c: u32, v_in: vec4<f32>) -> vec4<f32> {
    let p = params;
    var v = v_in;
    if (p.flags & FLAG_FIRST_CHUNK) == 0u {
        v += dst4[at];
    }
    if (p.flags & FLAG_LAST_CHUNK) != 0u {
        v = epilogue4(v, bias[p.group * p.mg + c], at * 4u, p.flags);
    }
    return v;
}

// conv2d_packed: see the header.
@compute @workgroup_size(64)
fn conv2d_packed(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = params;
    let first = (gid.x + gid.y * nwg.x * 64u) * 8u;
    let hw = p.h * p.w;
    let px0 = pixel(first + 0u);
    let px1 = pixel(first + 1u);
    let px2 = pixel(first + 2u);
    let px3 = pixel(first + 3u);
    let px4 = pixel(first + 4u);
    let px5 = pixel(first + 5u);
    let px6 = pixel(first + 6u);
    let px7 = pixel(first + 7u);
    var a00 = vec4<f32>(0.0);
    var a01 = vec4<f32>(0.0);
    var a02 = vec4<f32>(0.0);
    var a03 = vec4<f32>(0.0);
    var a04 = vec4<f32>(0.0);
    var a05 = vec4<f32>(0.0);
    var a06 = vec4<f32>(0.0);
    var a07 = vec4<f32>(0.0);
    var a10 = vec4<f32>(0.0);
    var a11 = vec4<f32>(0.0);
    var a12 = vec4<f32>(0.0);
    var a13 = vec4<f32>(0.0);
    var a14 = vec4<f32>(0.0);
    var a15 = vec4<f32>(0.0);
    var a16 = vec4<f32>(0.0);
    var a17 = vec4<f32>(0.0);
    var a20 = vec4<f32>(0.0);
    var a21 = vec4<f32>(0.0);
    var a22 = vec4<f32>(0.0);
    var a23 = vec4<f32>(0.0);
    var a24 = vec4<f32>(0.0);
    var a25 = vec4<f32>(0.0);
    var a26 = vec4<f32>(0.0);
    var a27 = vec4<f32>(0.0);
    var a30 = vec4<f32>(0.0);
    var a31 = vec4<f32>(0.0);
    var a32 = vec4<f32>(0.0);
    var a33 = vec4<f32>(0.0);
    var a34 = vec4<f32>(0.0);
    var a35 = vec4<f32>(0.0);
    var a36 = vec4<f32>(0.0);
    var a37 = vec4<f32>(0.0);
    var t = 0u;
    for (var ci = 0u; ci < p.cc; ci++) {
        let plane = ci * hw;
        for (var ky = 0u; ky < p.kh; ky++) {
            let dy = i32(ky * p.dil_h);
            for (var kx = 0u; kx < p.kw; kx++) {
                let dx = i32(kx * p.dil_w);
                let x0 = vec4<f32>(tap(px0.base + plane, px0.iy + dy, px0.ix + dx));
                let x1 = vec4<f32>(tap(px1.base + plane, px1.iy + dy, px1.ix + dx));
                let x2 = vec4<f32>(tap(px2.base + plane, px2.iy + dy, px2.ix + dx));
                let x3 = vec4<f32>(tap(px3.base + plane, px3.iy + dy, px3.ix + dx));
                let x4 = vec4<f32>(tap(px4.base + plane, px4.iy + dy, px4.ix + dx));
                let x5 = vec4<f32>(tap(px5.base + plane, px5.iy + dy, px5.ix + dx));
                let x6 = vec4<f32>(tap(px6.base + plane, px6.iy + dy, px6.ix + dx));
                let x7 = vec4<f32>(tap(px7.base + plane, px7.iy + dy, px7.ix + dx));
                let w0 = block[t];
                let w1 = block[t + 1u];
                let w2 = block[t + 2u];
                let w3 = block[t + 3u];
                a00 = fma(w0, x0, a00);
                a01 = fma(w0, x1, a01);
                a02 = fma(w0, x2, a02);
                a03 = fma(w0, x3, a03);
                a04 = fma(w0, x4, a04);
                a05 = fma(w0, x5, a05);
                a06 = fma(w0, x6, a06);
                a07 = fma(w0, x7, a07);
                a10 = fma(w1, x0, a10);
                a11 = fma(w1, x1, a11);
                a12 = fma(w1, x2, a12);
                a13 = fma(w1, x3, a13);
                a14 = fma(w1, x4, a14);
                a15 = fma(w1, x5, a15);
                a16 = fma(w1, x6, a16);
                a17 = fma(w1, x7, a17);
                a20 = fma(w2, x0, a20);
                a21 = fma(w2, x1, a21);
                a22 = fma(w2, x2, a22);
                a23 = fma(w2, x3, a23);
                a24 = fma(w2, x4, a24);
                a25 = fma(w2, x5, a25);
                a26 = fma(w2, x6, a26);
                a27 = fma(w2, x7, a27);
                a30 = fma(w3, x0, a30);
                a31 = fma(w3, x1, a31);
                a32 = fma(w3, x2, a32);
                a33 = fma(w3, x3, a33);
                a34 = fma(w3, x4, a34);
                a35 = fma(w3, x5, a35);
                a36 = fma(w3, x6, a36);
                a37 = fma(w3, x7, a37);
                t += 4u;
            }
        }
    }
    store_pixel(first + 0u, a00, a10, a20, a30);
    store_pixel(first + 1u, a01, a11, a21, a31);
    store_pixel(first + 2u, a02, a12, a22, a32);
    store_pixel(first + 3u, a03, a13, a23, a33);
    store_pixel(first + 4u, a04, a14, a24, a34);
    store_pixel(first + 5u, a05, a15, a25, a35);
    store_pixel(first + 6u, a06, a16, a26, a36);
    store_pixel(first + 7u, a07, a17, a27, a37);
}

// conv2d_packed_rows: zero padding, rows of whole vec4s (w and ow multiples of 4),
// stride SW (1 or 2) and dilation DW along the row with every tap of 4 neighbouring
// pixels within the 16 columns from the quad before the first one's (the launcher
// checks): an invocation computes 4 neighbouring pixels of 2 output rows for the
// block's 16 channels, each accumulator a vec4 of the 4 pixels of one channel, so that
// the results leave as 32 vec4 stores instead of 128 scalar ones. Per input channel
// and kernel row it loads each output row's input row as 3 or 4 vec4 (zeros outside),
// and when the stride down the columns equals the dilation the lower output row's row
// is the upper one's for the next kernel row, loaded once: (KH + 1) * 3 loads per
// input channel for a stride-1 3x3 kernel instead of KH * KW * 8 gathers. KW, PL
// (pad_l), SW and DW are fixed per pipeline, so the column picks are constants once the
// loops unroll.
// grid: images of the chunk * ceil(oh / 2) * ow / 4 invocations, spilled into y
override KW: u32 = 3u;
override PL: u32 = 1u;
override SW: u32 = 1u;
override DW: u32 = 1u;

struct Quads {
    a: vec4<f32>,
    b: vec4<f32>,
    c: vec4<f32>,
    d: vec4<f32>,
}

fn quad(row4: u32, q: i32, inside_row: bool) -> vec4<f32> {
    let inside = inside_row && q >= 0 && q < i32(params.w / 4u);
    return select(vec4<f32>(0.0), src4[select(0u, row4 + u32(q), inside)], inside);
}

// The quads q - 1 .. q + 2 of input row y of the plane whose first vec4 is plane4 (the
// last one only when a tap reaches it).
fn quads(plane4: u32, y: i32, q: i32) -> Quads {
    let inside = y >= 0 && y < i32(params.h);
    let row4 = plane4 + u32(max(y, 0)) * (params.w / 4u);
    var s = Quads(quad(row4, q - 1, inside), quad(row4, q, inside), quad(row4, q + 1, inside), vec4<f32>(0.0));
    if 4u - PL + DW * (KW - 1u) + 3u * SW >= 12u {
        s.d = quad(row4, q + 2, inside);
    }
    return s;
}

// Column i (0..16) of the quads.
fn pick(s: Quads, i: u32) -> f32 {
    if i < 4u {
        return s.a[i];
    }
    if i < 8u {
        return s.b[i - 4u];
    }
    if i < 12u {
        return s.c[i - 8u];
    }
    return s.d[i - 12u];
}

// One tap of the 4 pixels: columns i, i + SW, i + 2 SW, i + 3 SW.
fn pick4(s: Quads, i: u32) -> vec4<f32> {
    return vec4<f32>(pick(s, i), pick(s, i + SW), pick(s, i + 2u * SW), pick(s, i + 3u * SW));
}

// Channel co of the block at the 4 pixels of row `row` of the invocation, whose first
// output pixel is o = (image, oy, ox); the chunk's way (see store), nothing past the
// last output row or channel.
fn store_q(o: vec3<u32>, row: u32, co: u32, v: vec4<f32>) {
    let p = params;
    let c = p.m0 + co;
    if o.y + row >= p.oh || c >= p.mg {
        return;
    }
    let at = (p.out_shift + ((o.x * p.c_out + p.group * p.mg + c) * p.oh + o.y + row) * p.ow + o.z) / 4u;
    dst4[at] = finish4(at, c, v);
}

@compute @workgroup_size(64)
fn conv2d_packed_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = params;
    let i = gid.x + gid.y * nwg.x * 64u;
    let per_row = p.ow / 4u;
    let pairs = (p.oh + 1u) / 2u;
    let xq = i % per_row;
    let oy = (i / per_row) % pairs * 2u;
    let image = i / (per_row * pairs);
    if image >= p.total {
        return;
    }
    let hw4 = p.h * p.w / 4u;
    let plane0 = (p.in_shift + (image * p.c + p.group * p.cg + p.ci0) * p.h * p.w) / 4u;
    let y0 = i32(oy * p.stride_h) - i32(p.pad_t);
    // the quad of the first pixel's first input column (before the padding)
    let q = i32(xq * SW);
    let reuse = p.stride_h == p.dil_h;
    var a0_0 = vec4<f32>(0.0);
    var a0_1 = vec4<f32>(0.0);
    var a0_2 = vec4<f32>(0.0);
    var a0_3 = vec4<f32>(0.0);
    var a0_4 = vec4<f32>(0.0);
    var a0_5 = vec4<f32>(0.0);
    var a0_6 = vec4<f32>(0.0);
    var a0_7 = vec4<f32>(0.0);
    var a0_8 = vec4<f32>(0.0);
    var a0_9 = vec4<f32>(0.0);
    var a0_10 = vec4<f32>(0.0);
    var a0_11 = vec4<f32>(0.0);
    var a0_12 = vec4<f32>(0.0);
    var a0_13 = vec4<f32>(0.0);
    var a0_14 = vec4<f32>(0.0);
    var a0_15 = vec4<f32>(0.0);
    var a1_0 = vec4<f32>(0.0);
    var a1_1 = vec4<f32>(0.0);
    var a1_2 = vec4<f32>(0.0);
    var a1_3 = vec4<f32>(0.0);
    var a1_4 = vec4<f32>(0.0);
    var a1_5 = vec4<f32>(0.0);
    var a1_6 = vec4<f32>(0.0);
    var a1_7 = vec4<f32>(0.0);
    var a1_8 = vec4<f32>(0.0);
    var a1_9 = vec4<f32>(0.0);
    var a1_10 = vec4<f32>(0.0);
    var a1_11 = vec4<f32>(0.0);
    var a1_12 = vec4<f32>(0.0);
    var a1_13 = vec4<f32>(0.0);
    var a1_14 = vec4<f32>(0.0);
    var a1_15 = vec4<f32>(0.0);
    var t = 0u;
    for (var ci = 0u; ci < p.cc; ci++) {
        let plane4 = plane0 + ci * hw4;
        var top = quads(plane4, y0, q);
        for (var ky = 0u; ky < p.kh; ky++) {
            let y = y0 + i32(ky * p.dil_h);
            let bottom = quads(plane4, y + i32(p.stride_h), q);
            let upper = top;
            if reuse {
                top = bottom;
            } else if ky + 1u < p.kh {
                top = quads(plane4, y + i32(p.dil_h), q);
            }
            for (var kx = 0u; kx < KW; kx++) {
                let c = 4u + kx * DW - PL;
                let x0 = pick4(upper, c);
                let x1 = pick4(bottom, c);
                let w0 = block[t + 0u];
                let w1 = block[t + 1u];
                let w2 = block[t + 2u];
                let w3 = block[t + 3u];
                a0_0 = fma(vec4<f32>(w0.x), x0, a0_0);
                a0_1 = fma(vec4<f32>(w0.y), x0, a0_1);
                a0_2 = fma(vec4<f32>(w0.z), x0, a0_2);
                a0_3 = fma(vec4<f32>(w0.w), x0, a0_3);
                a0_4 = fma(vec4<f32>(w1.x), x0, a0_4);
                a0_5 = fma(vec4<f32>(w1.y), x0, a0_5);
                a0_6 = fma(vec4<f32>(w1.z), x0, a0_6);
                a0_7 = fma(vec4<f32>(w1.w), x0, a0_7);
                a0_8 = fma(vec4<f32>(w2.x), x0, a0_8);
                a0_9 = fma(vec4<f32>(w2.y), x0, a0_9);
                a0_10 = fma(vec4<f32>(w2.z), x0, a0_10);
                a0_11 = fma(vec4<f32>(w2.w), x0, a0_11);
                a0_12 = fma(vec4<f32>(w3.x), x0, a0_12);
                a0_13 = fma(vec4<f32>(w3.y), x0, a0_13);
                a0_14 = fma(vec4<f32>(w3.z), x0, a0_14);
                a0_15 = fma(vec4<f32>(w3.w), x0, a0_15);
                a1_0 = fma(vec4<f32>(w0.x), x1, a1_0);
                a1_1 = fma(vec4<f32>(w0.y), x1, a1_1);
                a1_2 = fma(vec4<f32>(w0.z), x1, a1_2);
                a1_3 = fma(vec4<f32>(w0.w), x1, a1_3);
                a1_4 = fma(vec4<f32>(w1.x), x1, a1_4);
                a1_5 = fma(vec4<f32>(w1.y), x1, a1_5);
                a1_6 = fma(vec4<f32>(w1.z), x1, a1_6);
                a1_7 = fma(vec4<f32>(w1.w), x1, a1_7);
                a1_8 = fma(vec4<f32>(w2.x), x1, a1_8);
                a1_9 = fma(vec4<f32>(w2.y), x1, a1_9);
                a1_10 = fma(vec4<f32>(w2.z), x1, a1_10);
                a1_11 = fma(vec4<f32>(w2.w), x1, a1_11);
                a1_12 = fma(vec4<f32>(w3.x), x1, a1_12);
                a1_13 = fma(vec4<f32>(w3.y), x1, a1_13);
                a1_14 = fma(vec4<f32>(w3.z), x1, a1_14);
                a1_15 = fma(vec4<f32>(w3.w), x1, a1_15);
                t += 4u;
            }
        }
    }
    let o = vec3<u32>(image, oy, xq * 4u);
    store_q(o, 0u, 0u, a0_0);
    store_q(o, 0u, 1u, a0_1);
    store_q(o, 0u, 2u, a0_2);
    store_q(o, 0u, 3u, a0_3);
    store_q(o, 0u, 4u, a0_4);
    store_q(o, 0u, 5u, a0_5);
    store_q(o, 0u, 6u, a0_6);
    store_q(o, 0u, 7u, a0_7);
    store_q(o, 0u, 8u, a0_8);
    store_q(o, 0u, 9u, a0_9);
    store_q(o, 0u, 10u, a0_10);
    store_q(o, 0u, 11u, a0_11);
    store_q(o, 0u, 12u, a0_12);
    store_q(o, 0u, 13u, a0_13);
    store_q(o, 0u, 14u, a0_14);
    store_q(o, 0u, 15u, a0_15);
    store_q(o, 1u, 0u, a1_0);
    store_q(o, 1u, 1u, a1_1);
    store_q(o, 1u, 2u, a1_2);
    store_q(o, 1u, 3u, a1_3);
    store_q(o, 1u, 4u, a1_4);
    store_q(o, 1u, 5u, a1_5);
    store_q(o, 1u, 6u, a1_6);
    store_q(o, 1u, 7u, a1_7);
    store_q(o, 1u, 8u, a1_8);
    store_q(o, 1u, 9u, a1_9);
    store_q(o, 1u, 10u, a1_10);
    store_q(o, 1u, 11u, a1_11);
    store_q(o, 1u, 12u, a1_12);
    store_q(o, 1u, 13u, a1_13);
    store_q(o, 1u, 14u, a1_14);
    store_q(o, 1u, 15u, a1_15);
}

@compute @workgroup_size(64)
fn conv2d_packed_rows_32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = params;
    let i = gid.x + gid.y * nwg.x * 64u;
    let per_row = p.ow / 4u;
    let pairs = (p.oh + 1u) / 2u;
    let xq = i % per_row;
    let oy = (i / per_row) % pairs * 2u;
    let image = i / (per_row * pairs);
    if image >= p.total {
        return;
    }
    let hw4 = p.h * p.w / 4u;
    let plane0 = (p.in_shift + (image * p.c + p.group * p.cg + p.ci0) * p.h * p.w) / 4u;
    let y0 = i32(oy * p.stride_h) - i32(p.pad_t);
    // the quad of the first pixel's first input column (before the padding)
    let q = i32(xq * SW);
    let reuse = p.stride_h == p.dil_h;
    var a0_0 = vec4<f32>(0.0);
    var a0_1 = vec4<f32>(0.0);
    var a0_2 = vec4<f32>(0.0);
    var a0_3 = vec4<f32>(0.0);
    var a0_4 = vec4<f32>(0.0);
    var a0_5 = vec4<f32>(0.0);
    var a0_6 = vec4<f32>(0.0);
    var a0_7 = vec4<f32>(0.0);
    var a0_8 = vec4<f32>(0.0);
    var a0_9 = vec4<f32>(0.0);
    var a0_10 = vec4<f32>(0.0);
    var a0_11 = vec4<f32>(0.0);
    var a0_12 = vec4<f32>(0.0);
    var a0_13 = vec4<f32>(0.0);
    var a0_14 = vec4<f32>(0.0);
    var a0_15 = vec4<f32>(0.0);
    var a0_16 = vec4<f32>(0.0);
    var a0_17 = vec4<f32>(0.0);
    var a0_18 = vec4<f32>(0.0);
    var a0_19 = vec4<f32>(0.0);
    var a0_20 = vec4<f32>(0.0);
    var a0_21 = vec4<f32>(0.0);
    var a0_22 = vec4<f32>(0.0);
    var a0_23 = vec4<f32>(0.0);
    var a0_24 = vec4<f32>(0.0);
    var a0_25 = vec4<f32>(0.0);
    var a0_26 = vec4<f32>(0.0);
    var a0_27 = vec4<f32>(0.0);
    var a0_28 = vec4<f32>(0.0);
    var a0_29 = vec4<f32>(0.0);
    var a0_30 = vec4<f32>(0.0);
    var a0_31 = vec4<f32>(0.0);
    var a1_0 = vec4<f32>(0.0);
    var a1_1 = vec4<f32>(0.0);
    var a1_2 = vec4<f32>(0.0);
    var a1_3 = vec4<f32>(0.0);
    var a1_4 = vec4<f32>(0.0);
    var a1_5 = vec4<f32>(0.0);
    var a1_6 = vec4<f32>(0.0);
    var a1_7 = vec4<f32>(0.0);
    var a1_8 = vec4<f32>(0.0);
    var a1_9 = vec4<f32>(0.0);
    var a1_10 = vec4<f32>(0.0);
    var a1_11 = vec4<f32>(0.0);
    var a1_12 = vec4<f32>(0.0);
    var a1_13 = vec4<f32>(0.0);
    var a1_14 = vec4<f32>(0.0);
    var a1_15 = vec4<f32>(0.0);
    var a1_16 = vec4<f32>(0.0);
    var a1_17 = vec4<f32>(0.0);
    var a1_18 = vec4<f32>(0.0);
    var a1_19 = vec4<f32>(0.0);
    var a1_20 = vec4<f32>(0.0);
    var a1_21 = vec4<f32>(0.0);
    var a1_22 = vec4<f32>(0.0);
    var a1_23 = vec4<f32>(0.0);
    var a1_24 = vec4<f32>(0.0);
    var a1_25 = vec4<f32>(0.0);
    var a1_26 = vec4<f32>(0.0);
    var a1_27 = vec4<f32>(0.0);
    var a1_28 = vec4<f32>(0.0);
    var a1_29 = vec4<f32>(0.0);
    var a1_30 = vec4<f32>(0.0);
    var a1_31 = vec4<f32>(0.0);
    var t = 0u;
    for (var ci = 0u; ci < p.cc; ci++) {
        let plane4 = plane0 + ci * hw4;
        var top = quads(plane4, y0, q);
        for (var ky = 0u; ky < p.kh; ky++) {
            let y = y0 + i32(ky * p.dil_h);
            let bottom = quads(plane4, y + i32(p.stride_h), q);
            let upper = top;
            if reuse {
                top = bottom;
            } else if ky + 1u < p.kh {
                top = quads(plane4, y + i32(p.dil_h), q);
            }
            for (var kx = 0u; kx < KW; kx++) {
                let c = 4u + kx * DW - PL;
                let x0 = pick4(upper, c);
                let x1 = pick4(bottom, c);
                let w0 = block[t + 0u];
                let w1 = block[t + 1u];
                let w2 = block[t + 2u];
                let w3 = block[t + 3u];
                let w4 = block[t + 4u];
                let w5 = block[t + 5u];
                let w6 = block[t + 6u];
                let w7 = block[t + 7u];
                a0_0 = fma(vec4<f32>(w0.x), x0, a0_0);
                a0_1 = fma(vec4<f32>(w0.y), x0, a0_1);
                a0_2 = fma(vec4<f32>(w0.z), x0, a0_2);
                a0_3 = fma(vec4<f32>(w0.w), x0, a0_3);
                a0_4 = fma(vec4<f32>(w1.x), x0, a0_4);
                a0_5 = fma(vec4<f32>(w1.y), x0, a0_5);
                a0_6 = fma(vec4<f32>(w1.z), x0, a0_6);
                a0_7 = fma(vec4<f32>(w1.w), x0, a0_7);
                a0_8 = fma(vec4<f32>(w2.x), x0, a0_8);
                a0_9 = fma(vec4<f32>(w2.y), x0, a0_9);
                a0_10 = fma(vec4<f32>(w2.z), x0, a0_10);
                a0_11 = fma(vec4<f32>(w2.w), x0, a0_11);
                a0_12 = fma(vec4<f32>(w3.x), x0, a0_12);
                a0_13 = fma(vec4<f32>(w3.y), x0, a0_13);
                a0_14 = fma(vec4<f32>(w3.z), x0, a0_14);
                a0_15 = fma(vec4<f32>(w3.w), x0, a0_15);
                a0_16 = fma(vec4<f32>(w4.x), x0, a0_16);
                a0_17 = fma(vec4<f32>(w4.y), x0, a0_17);
                a0_18 = fma(vec4<f32>(w4.z), x0, a0_18);
                a0_19 = fma(vec4<f32>(w4.w), x0, a0_19);
                a0_20 = fma(vec4<f32>(w5.x), x0, a0_20);
                a0_21 = fma(vec4<f32>(w5.y), x0, a0_21);
                a0_22 = fma(vec4<f32>(w5.z), x0, a0_22);
                a0_23 = fma(vec4<f32>(w5.w), x0, a0_23);
                a0_24 = fma(vec4<f32>(w6.x), x0, a0_24);
                a0_25 = fma(vec4<f32>(w6.y), x0, a0_25);
                a0_26 = fma(vec4<f32>(w6.z), x0, a0_26);
                a0_27 = fma(vec4<f32>(w6.w), x0, a0_27);
                a0_28 = fma(vec4<f32>(w7.x), x0, a0_28);
                a0_29 = fma(vec4<f32>(w7.y), x0, a0_29);
                a0_30 = fma(vec4<f32>(w7.z), x0, a0_30);
                a0_31 = fma(vec4<f32>(w7.w), x0, a0_31);
                a1_0 = fma(vec4<f32>(w0.x), x1, a1_0);
                a1_1 = fma(vec4<f32>(w0.y), x1, a1_1);
                a1_2 = fma(vec4<f32>(w0.z), x1, a1_2);
                a1_3 = fma(vec4<f32>(w0.w), x1, a1_3);
                a1_4 = fma(vec4<f32>(w1.x), x1, a1_4);
                a1_5 = fma(vec4<f32>(w1.y), x1, a1_5);
                a1_6 = fma(vec4<f32>(w1.z), x1, a1_6);
                a1_7 = fma(vec4<f32>(w1.w), x1, a1_7);
                a1_8 = fma(vec4<f32>(w2.x), x1, a1_8);
                a1_9 = fma(vec4<f32>(w2.y), x1, a1_9);
                a1_10 = fma(vec4<f32>(w2.z), x1, a1_10);
                a1_11 = fma(vec4<f32>(w2.w), x1, a1_11);
                a1_12 = fma(vec4<f32>(w3.x), x1, a1_12);
                a1_13 = fma(vec4<f32>(w3.y), x1, a1_13);
                a1_14 = fma(vec4<f32>(w3.z), x1, a1_14);
                a1_15 = fma(vec4<f32>(w3.w), x1, a1_15);
                a1_16 = fma(vec4<f32>(w4.x), x1, a1_16);
                a1_17 = fma(vec4<f32>(w4.y), x1, a1_17);
                a1_18 = fma(vec4<f32>(w4.z), x1, a1_18);
                a1_19 = fma(vec4<f32>(w4.w), x1, a1_19);
                a1_20 = fma(vec4<f32>(w5.x), x1, a1_20);
                a1_21 = fma(vec4<f32>(w5.y), x1, a1_21);
                a1_22 = fma(vec4<f32>(w5.z), x1, a1_22);
                a1_23 = fma(vec4<f32>(w5.w), x1, a1_23);
                a1_24 = fma(vec4<f32>(w6.x), x1, a1_24);
                a1_25 = fma(vec4<f32>(w6.y), x1, a1_25);
                a1_26 = fma(vec4<f32>(w6.z), x1, a1_26);
                a1_27 = fma(vec4<f32>(w6.w), x1, a1_27);
                a1_28 = fma(vec4<f32>(w7.x), x1, a1_28);
                a1_29 = fma(vec4<f32>(w7.y), x1, a1_29);
                a1_30 = fma(vec4<f32>(w7.z), x1, a1_30);
                a1_31 = fma(vec4<f32>(w7.w), x1, a1_31);
                t += 8u;
            }
        }
    }
    let o = vec3<u32>(image, oy, xq * 4u);
    store_q(o, 0u, 0u, a0_0);
    store_q(o, 0u, 1u, a0_1);
    store_q(o, 0u, 2u, a0_2);
    store_q(o, 0u, 3u, a0_3);
    store_q(o, 0u, 4u, a0_4);
    store_q(o, 0u, 5u, a0_5);
    store_q(o, 0u, 6u, a0_6);
    store_q(o, 0u, 7u, a0_7);
    store_q(o, 0u, 8u, a0_8);
    store_q(o, 0u, 9u, a0_9);
    store_q(o, 0u, 10u, a0_10);
    store_q(o, 0u, 11u, a0_11);
    store_q(o, 0u, 12u, a0_12);
    store_q(o, 0u, 13u, a0_13);
    store_q(o, 0u, 14u, a0_14);
    store_q(o, 0u, 15u, a0_15);
    store_q(o, 0u, 16u, a0_16);
    store_q(o, 0u, 17u, a0_17);
    store_q(o, 0u, 18u, a0_18);
    store_q(o, 0u, 19u, a0_19);
    store_q(o, 0u, 20u, a0_20);
    store_q(o, 0u, 21u, a0_21);
    store_q(o, 0u, 22u, a0_22);
    store_q(o, 0u, 23u, a0_23);
    store_q(o, 0u, 24u, a0_24);
    store_q(o, 0u, 25u, a0_25);
    store_q(o, 0u, 26u, a0_26);
    store_q(o, 0u, 27u, a0_27);
    store_q(o, 0u, 28u, a0_28);
    store_q(o, 0u, 29u, a0_29);
    store_q(o, 0u, 30u, a0_30);
    store_q(o, 0u, 31u, a0_31);
    store_q(o, 1u, 0u, a1_0);
    store_q(o, 1u, 1u, a1_1);
    store_q(o, 1u, 2u, a1_2);
    store_q(o, 1u, 3u, a1_3);
    store_q(o, 1u, 4u, a1_4);
    store_q(o, 1u, 5u, a1_5);
    store_q(o, 1u, 6u, a1_6);
    store_q(o, 1u, 7u, a1_7);
    store_q(o, 1u, 8u, a1_8);
    store_q(o, 1u, 9u, a1_9);
    store_q(o, 1u, 10u, a1_10);
    store_q(o, 1u, 11u, a1_11);
    store_q(o, 1u, 12u, a1_12);
    store_q(o, 1u, 13u, a1_13);
    store_q(o, 1u, 14u, a1_14);
    store_q(o, 1u, 15u, a1_15);
    store_q(o, 1u, 16u, a1_16);
    store_q(o, 1u, 17u, a1_17);
    store_q(o, 1u, 18u, a1_18);
    store_q(o, 1u, 19u, a1_19);
    store_q(o, 1u, 20u, a1_20);
    store_q(o, 1u, 21u, a1_21);
    store_q(o, 1u, 22u, a1_22);
    store_q(o, 1u, 23u, a1_23);
    store_q(o, 1u, 24u, a1_24);
    store_q(o, 1u, 25u, a1_25);
    store_q(o, 1u, 26u, a1_26);
    store_q(o, 1u, 27u, a1_27);
    store_q(o, 1u, 28u, a1_28);
    store_q(o, 1u, 29u, a1_29);
    store_q(o, 1u, 30u, a1_30);
    store_q(o, 1u, 31u, a1_31);
}
