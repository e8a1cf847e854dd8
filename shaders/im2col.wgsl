// im2col.wgsl: unfolds conv2d input patches into the column matrix the GEMM reads,
// NCHW f32. One invocation per column-matrix element, grid spilled into y.
//   cols[g][k][j], k = (ci, ky, kx) over cg*kh*kw, j = (image, oh, ow) over the chunk's
//   images and output rows [row0, row0 + rows)
//   = input[image, g*cg + ci, oh*stride_h + ky*dil_h - pad_t, ow*stride_w + kx*dil_w - pad_l]
// A padded coordinate maps by padding mode: 0 zeros (reads 0), 1 reflect (no edge
// repeat), 2 replicate (clamp), 3 circular (wrap).
// @binding(0) src    array<f32>     read        input images of the chunk, from in_shift
// @binding(1) cols   array<f32>     read_write  [groups][k][ncols]
// @binding(2) params Im2colParams   uniform (declared in src/kernels/conv2d/mod.rs)

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> cols: array<f32>;
@group(0) @binding(2) var<uniform> params: Im2colParams;

// The source coordinate of padded coordinate i on an axis of `size`, or -1 for a zero.
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

@compute @workgroup_size(256)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = params;
    let idx = gid.x + gid.y * nwg.x * 256u;
    if idx >= p.total {
        return;
    }
    let j = idx % p.ncols;
    let t = idx / p.ncols;
    let kidx = t % p.k;
    let g = t / p.k;
    let kx = kidx % p.kw;
    let ky = (kidx / p.kw) % p.kh;
    let ci = kidx / (p.kw * p.kh);
    let chunk_hw = p.rows * p.ow;
    let image = j / chunk_hw;
    let pix = j % chunk_hw;
    let oh = p.row0 + pix / p.ow;
    let ow = pix % p.ow;
    let ih = source_coord(i32(oh * p.stride_h + ky * p.dil_h) - i32(p.pad_t), i32(p.h), p.mode);
    let iw = source_coord(i32(ow * p.stride_w + kx * p.dil_w) - i32(p.pad_l), i32(p.w), p.mode);
    var v = 0.0;
    if ih >= 0 && iw >= 0 {
        v = src[p.in_shift + ((image * p.c + g * p.cg + ci) * p.h + u32(ih)) * p.w + u32(iw)];
    }
    cols[idx] = v;
}
