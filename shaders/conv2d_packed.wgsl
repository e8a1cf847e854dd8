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
// conv2d_packed_1x1_16 (_32: blocks of 32) is the same for a 1x1 convolution with stride 1
// and no padding whose 8 pixels are two aligned vec4 of each input plane (the launcher
// checks): 2 loads per input channel, results out as vec4 stores.
// conv2d_packed_rows_16 (_32) computes 2 rows x 4 pixels where rows are whole vec4s (see
// its own comment).
// The first chunk of input channels writes the output, later ones add to it (so the
// sums are two-level, which bounds the rounding), and the last applies the epilogue
// (bias, residual, activation: shaders/lib/epilogue.wgsl). Under FLAG_PARTIAL (an f16
// output) the sums between chunks are kept in f32 in `partial` instead, so that only
// the whole sum is rounded to f16. The loops over the sums are
// unrolled where the source is composed (`//#for`, src/kernels/template.rs) so that
// the sums stay in registers: on a CPU driver a dynamically indexed array lives in
// memory, one lane at a time.
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
//                @binding(10) partial  f32 sums of dst's window, from 0 (FLAG_PARTIAL) read_write
//                grid: pixels of the chunk (n * oh * ow) / 512, spilled into y

const BLOCK: u32 = 16384u;

// The padding mode, fixed per pipeline so that the zero-padding path has no switch.
override MODE: u32 = 0u;

//#data 5 weight read
@group(0) @binding(6) var<storage, read_write> packed: array<f32>;
@group(0) @binding(7) var<uniform> pack: PackParams;

//#entry flat pack_weights 256 pack_weights_at pack

fn pack_weights_at(e: u32) {
    let p = pack;
    let b = e / p.used;
    let within = e % p.used;
    let t = within / p.rows;
    let row = (b / p.chunks) % p.row_blocks * p.rows + within % p.rows;
    let g = b / (p.chunks * p.row_blocks);
    let ci = (b % p.chunks) * p.cc + t / p.khw;
    var v = 0.0;
    if row < p.mg && t < p.cc * p.khw && ci < p.cg {
        v = load_weight(((g * p.mg + row) * p.cg + ci) * p.khw + t % p.khw);
    }
    packed[b * BLOCK + within] = v;
}

//#data 0 src read
@group(0) @binding(1) var<uniform> block: array<vec4<f32>, 4096>;
//#data 2 bias read
//#data 3 dst read_write
@group(0) @binding(4) var<uniform> params: PackedParams;
//#data 8 src4 read vec4
//#data 9 dst4 read_write vec4
@group(0) @binding(10) var<storage, read_write> partial: array<f32>;

// Adds `v` to output channel `co` (of the group) at `o`, the chunk's way.
fn store(o: u32, co: u32, v_in: f32) {
    let p = params;
    if co >= p.mg {
        return;
    }
    let index = o + co * p.oh * p.ow;
    let kept = (p.flags & FLAG_PARTIAL) != 0u;
    var v = v_in;
    if (p.flags & FLAG_FIRST_CHUNK) == 0u {
        v += select(load_dst(index), partial[index - p.out_shift], kept);
    }
    if (p.flags & FLAG_LAST_CHUNK) != 0u {
        store_dst(index, epilogue(v, load_bias(p.group * p.mg + co), index, p.flags));
    } else if kept {
        partial[index - p.out_shift] = v;
    } else {
        store_dst(index, v);
    }
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

// conv2d_packed_1x1_16: see the header. Each accumulator holds 4 of the 8 pixels of one
// channel, so that the results leave as vec4 stores. conv2d_packed_1x1_32 is the same
// for blocks of 32 output channels (twice the multiply-adds per input load). W: the
// vec4s of weights per input channel.
//#for R,W in 16,4 32,8
@compute @workgroup_size(64)
fn conv2d_packed_1x1_{R}(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = params;
    let first = (gid.x + gid.y * nwg.x * 64u) * 8u;
    if first >= p.total {
        return;
    }
    let ohw = p.oh * p.ow;
    let hw = p.h * p.w;
    // the 8 pixels share one plane and row: one base for all
    let base = (p.in_shift + ((first / ohw) * p.c + p.group * p.cg + p.ci0) * hw + first % ohw) / 4u;
//#for j in 0..{W}
//#for c in x y z w
    var a{j}{c}_0 = vec4<f32>(0.0);
    var a{j}{c}_1 = vec4<f32>(0.0);
//#end
//#end
    var t = 0u;
    for (var ci = 0u; ci < p.cc; ci++) {
        let v0 = load_src4(base + ci * (hw / 4u));
        let v1 = load_src4(base + ci * (hw / 4u) + 1u);
//#for j in 0..{W}
        let w{j} = block[t + {j}u];
//#end
//#for j in 0..{W}
//#for c in x y z w
        a{j}{c}_0 = fma(vec4<f32>(w{j}.{c}), v0, a{j}{c}_0);
        a{j}{c}_1 = fma(vec4<f32>(w{j}.{c}), v1, a{j}{c}_1);
//#end
//#end
        t += {W}u;
    }
    // vec4 index of the block's first channel at the first pixel
    let o = (p.out_shift + (first / ohw) * p.c_out * ohw + first % ohw + p.group * p.mg * ohw) / 4u;
//#for j in 0..{W}
//#for c in x y z w
    store_run(o, {j}u * 4u + {#c}u, a{j}{c}_0, a{j}{c}_1);
//#end
//#end
}

//#end

// Channel co of the block at the 8 pixels from vec4 `o` (its first channel), the
// chunk's way (see store).
fn store_run(o: u32, co: u32, a: vec4<f32>, b: vec4<f32>) {
    let p = params;
    let c = p.m0 + co;
    if c >= p.mg {
        return;
    }
    let at = o + c * (p.oh * p.ow / 4u);
    store4_chunk(at, c, a);
    store4_chunk(at + 1u, c, b);
}

// The chunk's way for a vec4 of channel c (of the group) bound for dst4[at]: add what
// earlier chunks kept, then store, in the last chunk through the epilogue.
fn store4_chunk(at: u32, c: u32, v_in: vec4<f32>) {
    let p = params;
    let kept = (p.flags & FLAG_PARTIAL) != 0u;
    // the vec4's first element in `partial`
    let i = at * 4u - p.out_shift;
    var v = v_in;
    if (p.flags & FLAG_FIRST_CHUNK) == 0u {
        if kept {
            v += vec4<f32>(partial[i], partial[i + 1u], partial[i + 2u], partial[i + 3u]);
        } else {
            v += load_dst4(at);
        }
    }
    if (p.flags & FLAG_LAST_CHUNK) != 0u {
        store_dst4(at, epilogue4(v, load_bias(p.group * p.mg + c), at * 4u, p.flags));
    } else if kept {
        partial[i] = v.x;
        partial[i + 1u] = v.y;
        partial[i + 2u] = v.z;
        partial[i + 3u] = v.w;
    } else {
        store_dst4(at, v);
    }
}

// conv2d_packed: see the header.
@compute @workgroup_size(64)
fn conv2d_packed(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = params;
    let first = (gid.x + gid.y * nwg.x * 64u) * 8u;
    let hw = p.h * p.w;
//#for k in 0..8
    let px{k} = pixel(first + {k}u);
//#end
//#for j in 0..4
//#for k in 0..8
    var a{j}{k} = vec4<f32>(0.0);
//#end
//#end
    var t = 0u;
    for (var ci = 0u; ci < p.cc; ci++) {
        let plane = ci * hw;
        for (var ky = 0u; ky < p.kh; ky++) {
            let dy = i32(ky * p.dil_h);
            for (var kx = 0u; kx < p.kw; kx++) {
                let dx = i32(kx * p.dil_w);
//#for k in 0..8
                let x{k} = vec4<f32>(tap(px{k}.base + plane, px{k}.iy + dy, px{k}.ix + dx));
//#end
//#for j in 0..4
                let w{j} = block[t + {j}u];
//#end
//#for j in 0..4
//#for k in 0..8
                a{j}{k} = fma(w{j}, x{k}, a{j}{k});
//#end
//#end
                t += 4u;
            }
        }
    }
//#for k in 0..8
    store_pixel(first + {k}u, a0{k}, a1{k}, a2{k}, a3{k});
//#end
}

// conv2d_packed_rows_16 (_32): zero padding, rows of whole vec4s (w and ow multiples of 4),
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

// The quads q - 1 .. q + 2 of input row y of the plane whose first vec4 is plane4 (the
// last one only where a tap of the 4 pixels, column 4 - PL + DW k + SW j, reaches it).
fn row_quads(plane4: u32, y: i32, q: i32) -> Quads {
    return quads(plane4, y, q, 0.0, 4u - PL + DW * (KW - 1u) + 3u * SW >= 12u);
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
    store4_chunk(at, c, v);
}

//#for R,W in 16,4 32,8
@compute @workgroup_size(64)
fn conv2d_packed_rows_{R}(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
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
//#for r in 0 1
//#for j in 0..{W}
//#for c in x y z w
    var a{r}_{j}{c} = vec4<f32>(0.0);
//#end
//#end
//#end
    var t = 0u;
    for (var ci = 0u; ci < p.cc; ci++) {
        let plane4 = plane0 + ci * hw4;
        var top = row_quads(plane4, y0, q);
        for (var ky = 0u; ky < p.kh; ky++) {
            let y = y0 + i32(ky * p.dil_h);
            let bottom = row_quads(plane4, y + i32(p.stride_h), q);
            let upper = top;
            if reuse {
                top = bottom;
            } else if ky + 1u < p.kh {
                top = row_quads(plane4, y + i32(p.dil_h), q);
            }
            for (var kx = 0u; kx < KW; kx++) {
                let c = 4u + kx * DW - PL;
                let x0 = pick4(upper, c, SW);
                let x1 = pick4(bottom, c, SW);
//#for j in 0..{W}
                let w{j} = block[t + {j}u];
//#end
//#for r in 0 1
//#for j in 0..{W}
//#for c in x y z w
                a{r}_{j}{c} = fma(vec4<f32>(w{j}.{c}), x{r}, a{r}_{j}{c});
//#end
//#end
//#end
                t += {W}u;
            }
        }
    }
    let o = vec3<u32>(image, oy, xq * 4u);
//#for r in 0 1
//#for j in 0..{W}
//#for c in x y z w
    store_q(o, {r}u, {j}u * 4u + {#c}u, a{r}_{j}{c});
//#end
//#end
//#end
}

//#end
