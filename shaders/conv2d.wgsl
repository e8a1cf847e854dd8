// conv2d.wgsl: 2-D convolution kernels that read the input directly, NCHW f32. Padded
// coordinates map by padding mode as in im2col.wgsl; the epilogue (bias, residual,
// activation: shaders/lib/epilogue.wgsl) is applied at the end; sums are two-level
// (per input channel, then in total), which bounds the rounding.
// conv2d_direct:   one invocation per output element (grid spilled into y), looping over
//                  the cg*kh*kw taps of its group. Serves depthwise convolutions
//                  (cg = 1), where a GEMM has nothing to share.
// conv2d_implicit: an implicit GEMM (no column matrix): one invocation computes one
//                  output pixel for 16 output channels of its group, gathering one input
//                  value per tap for 16 weights; out-of-range pixels and channels are
//                  clamped (so the tap loop has no branch) and not stored.
//                  grid: (ceil(pixels / 64), ceil(mg / 16), groups)
// @binding(0) src    array<f32>    read        input images of the chunk, from in_shift
// @binding(1) weight array<f32>    read        [c_out, cg, kh, kw]
// @binding(2) bias   array<f32>    read        [c_out]
// @binding(3) dst    array<f32>    read_write  output images of the chunk, from out_shift
// @binding(4) params DirectParams  uniform (declared in src/kernels/conv2d/mod.rs; `total` counts
//                                  output elements (direct) or pixels (implicit))
// @binding(5) src4   src as vec4 (conv2d_depthwise_q)          read
// @binding(6) dst4   dst as vec4 (conv2d_depthwise_q)          read_write
// @binding(20) residual array<f32>  read over dst's window (RESIDUAL)

//#data 0 src read
//#data 1 weight read
//#data 2 bias read
//#data 3 dst read_write
@group(0) @binding(4) var<uniform> params: DirectParams;

// conv2d_dot: conv2d_direct for a kernel that covers its whole input (no padding, one
// group, a 1x1 output: a linear layer over c * h * w taps), when that tap count is a
// multiple of 4 (the launcher checks): each output is one dot product of an image and a
// filter, both contiguous, read as vec4s, summed in runs of h * w / 4 vec4s (about one
// input channel) and then in total.
// @binding(5) src4, @binding(7) weight4: src and weight as vec4
//#data 7 weight4 read vec4

//#entry flat conv2d_dot 64 conv2d_dot_at

fn conv2d_dot_at(idx: u32) {
    let p = params;
    let co = idx % p.c_out;
    let image = idx / p.c_out;
    let taps4 = p.c * p.h * p.w / 4u;
    let x0 = (p.in_shift + image * p.c * p.h * p.w) / 4u;
    let w0 = co * taps4;
    let per = max(p.h * p.w / 4u, 1u);
    var acc = 0.0;
    var k = 0u;
    while k < taps4 {
        let end = min(k + per, taps4);
        var part = vec4<f32>(0.0);
        for (; k < end; k++) {
            part = fma(load_weight4(w0 + k), load_src4(x0 + k), part);
        }
        acc += (part.x + part.y) + (part.z + part.w);
    }
    store_dst(p.out_shift + idx, epilogue(acc, load_bias(co), p.out_shift + idx, p.flags));
}

//#entry flat conv2d_direct 256 conv2d_direct_at

fn conv2d_direct_at(idx: u32) {
    let p = params;
    let ox = idx % p.ow;
    let oy = (idx / p.ow) % p.oh;
    let co = (idx / (p.ow * p.oh)) % p.c_out;
    let image = idx / (p.ow * p.oh * p.c_out);
    let g = co / p.mg;
    // two-level sums (per input channel, then in total) bound the rounding
    var acc = 0.0;
    for (var ci = 0u; ci < p.cg; ci++) {
        var part = 0.0;
        let plane = p.in_shift + (image * p.c + g * p.cg + ci) * p.h * p.w;
        let wbase = (co * p.cg + ci) * p.kh * p.kw;
        for (var ky = 0u; ky < p.kh; ky++) {
            let ih = source_coord(i32(oy * p.stride_h + ky * p.dil_h) - i32(p.pad_t), i32(p.h), p.mode);
            if ih < 0 {
                continue;
            }
            for (var kx = 0u; kx < p.kw; kx++) {
                let iw = source_coord(i32(ox * p.stride_w + kx * p.dil_w) - i32(p.pad_l), i32(p.w), p.mode);
                if iw < 0 {
                    continue;
                }
                part = fma(load_weight(wbase + ky * p.kw + kx), load_src(plane + u32(ih) * p.w + u32(iw)), part);
            }
        }
        acc += part;
    }
    store_dst(p.out_shift + idx, epilogue(acc, load_bias(co), p.out_shift + idx, p.flags));
}

@compute @workgroup_size(64)
fn conv2d_implicit(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let p = params;
    let j_raw = wid.x * 64u + lid.x;
    let j = min(j_raw, p.total - 1u);
    let g = wid.z;
    let co0 = wid.y * 16u;
    let ohw = p.oh * p.ow;
    let image = j / ohw;
    let pix = j % ohw;
    let iy0 = i32((pix / p.ow) * p.stride_h) - i32(p.pad_t);
    let ix0 = i32((pix % p.ow) * p.stride_w) - i32(p.pad_l);
    let hw = p.h * p.w;
    let in_base = p.in_shift + (image * p.c + g * p.cg) * hw;
    let taps = p.cg * p.kh * p.kw;
    // the 16 weight rows, clamped into the group; plain lets (not an array) so that
    // the driver sees them as the same in every lane
    let last = p.mg - 1u;
    let gm = g * p.mg;
    let r0 = (gm + min(co0 + 0u, last)) * taps;
    let r1 = (gm + min(co0 + 1u, last)) * taps;
    let r2 = (gm + min(co0 + 2u, last)) * taps;
    let r3 = (gm + min(co0 + 3u, last)) * taps;
    let r4 = (gm + min(co0 + 4u, last)) * taps;
    let r5 = (gm + min(co0 + 5u, last)) * taps;
    let r6 = (gm + min(co0 + 6u, last)) * taps;
    let r7 = (gm + min(co0 + 7u, last)) * taps;
    let r8 = (gm + min(co0 + 8u, last)) * taps;
    let r9 = (gm + min(co0 + 9u, last)) * taps;
    let r10 = (gm + min(co0 + 10u, last)) * taps;
    let r11 = (gm + min(co0 + 11u, last)) * taps;
    let r12 = (gm + min(co0 + 12u, last)) * taps;
    let r13 = (gm + min(co0 + 13u, last)) * taps;
    let r14 = (gm + min(co0 + 14u, last)) * taps;
    let r15 = (gm + min(co0 + 15u, last)) * taps;
    // Two-level sums: each input channel's taps are summed apart, then added to the
    // total, so rounding grows with cg + kh*kw rather than cg*kh*kw.
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    var t = 0u;
    for (var ci = 0u; ci < p.cg; ci++) {
        let plane = in_base + ci * hw;
        var part0 = vec4<f32>(0.0);
        var part1 = vec4<f32>(0.0);
        var part2 = vec4<f32>(0.0);
        var part3 = vec4<f32>(0.0);
        for (var ky = 0u; ky < p.kh; ky++) {
            let iy = source_coord(iy0 + i32(ky * p.dil_h), i32(p.h), p.mode);
            for (var kx = 0u; kx < p.kw; kx++) {
                let ix = source_coord(ix0 + i32(kx * p.dil_w), i32(p.w), p.mode);
                let inside = iy >= 0 && ix >= 0;
                let idx = select(plane, plane + u32(iy) * p.w + u32(ix), inside);
                let xv = vec4<f32>(select(0.0, load_src(idx), inside));
                part0 = fma(vec4<f32>(load_weight(r0 + t), load_weight(r1 + t), load_weight(r2 + t), load_weight(r3 + t)), xv, part0);
                part1 = fma(vec4<f32>(load_weight(r4 + t), load_weight(r5 + t), load_weight(r6 + t), load_weight(r7 + t)), xv, part1);
                part2 = fma(vec4<f32>(load_weight(r8 + t), load_weight(r9 + t), load_weight(r10 + t), load_weight(r11 + t)), xv, part2);
                part3 = fma(vec4<f32>(load_weight(r12 + t), load_weight(r13 + t), load_weight(r14 + t), load_weight(r15 + t)), xv, part3);
                t++;
            }
        }
        acc0 += part0;
        acc1 += part1;
        acc2 += part2;
        acc3 += part3;
    }
    if j_raw >= p.total {
        return;
    }
    let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    let out_base = p.out_shift + image * p.c_out * ohw + pix;
    for (var i = 0u; i < 16u; i++) {
        let co = co0 + i;
        if co >= p.mg {
            break;
        }
        let channel = g * p.mg + co;
        let at = out_base + channel * ohw;
        store_dst(at, epilogue(accs[i / 4u][i % 4u], load_bias(channel), at, p.flags));
    }
}

// conv2d_depthwise4: depthwise convolution (one input channel per group), stride 1,
// dilation 1: an invocation computes 4 neighbouring outputs of a row, so that each input
// row segment (KW + 3 values) and each weight is loaded once for all 4 instead of once
// per output (27 loads for 4 outputs of a 3x3 kernel, not 72). KW is fixed per pipeline,
// so the loops unroll and the row stays in registers.
// grid: n * c_out * oh * ceil(ow / 4) invocations, spilled into y
override KW: u32 = 3u;

//#entry flat conv2d_depthwise4 64 conv2d_depthwise4_at

fn conv2d_depthwise4_at(idx: u32) {
    let p = params;
    let groups = (p.ow + 3u) / 4u;
    let ox0 = (idx % groups) * 4u;
    let oy = (idx / groups) % p.oh;
    let co = (idx / (groups * p.oh)) % p.c_out;
    let image = idx / (groups * p.oh * p.c_out);
    let plane = p.in_shift + (image * p.c + co / p.mg) * p.h * p.w;
    let wbase = co * p.kh * KW;
    let ix0 = i32(ox0) - i32(p.pad_l);
    var acc = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = source_coord(i32(oy + ky) - i32(p.pad_t), i32(p.h), p.mode);
        var row: array<f32, 10>;
        for (var t = 0u; t < KW + 3u; t++) {
            let ix = source_coord(ix0 + i32(t), i32(p.w), p.mode);
            let inside = iy >= 0 && ix >= 0;
            row[t] = select(0.0, load_src(select(plane, plane + u32(iy) * p.w + u32(ix), inside)), inside);
        }
        for (var kx = 0u; kx < KW; kx++) {
            let wv = load_weight(wbase + ky * KW + kx);
            acc = fma(vec4<f32>(wv), vec4<f32>(row[kx], row[kx + 1u], row[kx + 2u], row[kx + 3u]), acc);
        }
    }
    let out = p.out_shift + ((image * p.c_out + co) * p.oh + oy) * p.ow + ox0;
    for (var e = 0u; e < 4u; e++) {
        if ox0 + e < p.ow {
            store_dst(out + e, epilogue(acc[e], load_bias(co), out + e, p.flags));
        }
    }
}

// conv2d_depthwise_q: depthwise (cg = 1), stride 1, dilation 1, zero padding, rows of
// whole vec4s in and out, KW - pad_l <= 5 (the launcher checks): an invocation computes
// 4 neighbouring pixels of 4 output rows of one channel. The input rows come as 3 vec4
// (the 12 columns around the pixels, zeros outside), each loaded once and used by every
// output row whose window holds it: (KH + 3) * 3 loads and KH * KW weight loads for 16
// outputs, stored as 4 vec4. KW and PL (pad_l) are fixed per pipeline.
// grid: n * c_out * ceil(oh / 4) * ow / 4 invocations, spilled into y
override PL: u32 = 1u;
// The stride and dilation along the row: 1 here (declared so that conv2d_packed_rows'
// specialisations serve this kernel too).
override SW: u32 = 1u;
override DW: u32 = 1u;

//#data 5 src4 read vec4
//#data 6 dst4 read_write vec4

// Output row `oy` of channel plane `plane` (image * c_out + co) from column ox.
fn store_row4(plane: u32, oy: u32, ox: u32, co: u32, acc: vec4<f32>) {
    let p = params;
    if oy >= p.oh {
        return;
    }
    let at = p.out_shift + (plane * p.oh + oy) * p.ow + ox;
    store_dst4(at / 4u, epilogue4(acc, load_bias(co), at, p.flags));
}

//#entry flat conv2d_depthwise_q 64 conv2d_depthwise_q_at

fn conv2d_depthwise_q_at(i: u32) {
    let p = params;
    let per_row = p.ow / 4u;
    let row_quads = (p.oh + 3u) / 4u;
    let xq = i % per_row;
    let oy = (i / per_row) % row_quads * 4u;
    let plane = i / (per_row * row_quads);
    let co = plane % p.c_out;
    let image = plane / p.c_out;
    let plane4 = (p.in_shift + (image * p.c + co / p.mg) * p.h * p.w) / 4u;
    let y0 = i32(oy) - i32(p.pad_t);
    let q = i32(xq);
    let wbase = co * p.kh * KW;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    var r0 = quads(plane4, y0, q, 0.0, false);
    var r1 = quads(plane4, y0 + 1, q, 0.0, false);
    var r2 = quads(plane4, y0 + 2, q, 0.0, false);
    for (var ky = 0u; ky < p.kh; ky++) {
        let r3 = quads(plane4, y0 + i32(ky) + 3, q, 0.0, false);
        for (var kx = 0u; kx < KW; kx++) {
            let wv = vec4<f32>(load_weight(wbase + ky * KW + kx));
            let c = 4u + kx - PL;
            a0 = fma(wv, pick4(r0, c, 1u), a0);
            a1 = fma(wv, pick4(r1, c, 1u), a1);
            a2 = fma(wv, pick4(r2, c, 1u), a2);
            a3 = fma(wv, pick4(r3, c, 1u), a3);
        }
        r0 = r1;
        r1 = r2;
        r2 = r3;
    }
    store_row4(plane, oy, xq * 4u, co, a0);
    store_row4(plane, oy + 1u, xq * 4u, co, a1);
    store_row4(plane, oy + 2u, xq * 4u, co, a2);
    store_row4(plane, oy + 3u, xq * 4u, co, a3);
}
