// im2col.wgsl: unfolds conv2d input patches into the column matrix the GEMM reads,
// NCHW f32. A workgroup walks 8 rows (g, k) of the column matrix, 8 lanes a row, so
// that a row's index arithmetic is done once per lane rather than per element (integer
// division has no SIMD form on a CPU driver) and a workgroup has work for all its lanes
// on a 7x7 map; the lanes of a row stride over its columns, up to 64 each. Grid:
// (column blocks of 512, blocks of 8 rows, those past the y limit).
//   cols[g][k][j] (rows `stride` apart), k = (ci, ky, kx) over cg*kh*kw, j = (image, oh, ow) over the chunk's
//   images and output rows [row0, row0 + rows)
//   = input[image, g*cg + ci, oh*stride_h + ky*dil_h - pad_t, ow*stride_w + kx*dil_w - pad_l]
// A padded coordinate maps by padding mode: 0 zeros (reads 0), 1 reflect (no edge
// repeat), 2 replicate (clamp), 3 circular (wrap).
// @binding(0) src    array<f32>     read        input images of the chunk, from in_shift
// @binding(1) cols   array<f32>     read_write  [groups][k][ncols]
// @binding(2) params Im2colParams   uniform (declared in src/kernels/conv2d/mod.rs)

//#data 0 src read
//#data 1 cols read_write
@group(0) @binding(2) var<uniform> params: Im2colParams;

@compute @workgroup_size(64)
fn im2col(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let p = params;
    // 8 rows a workgroup, 8 lanes a row
    let row = (wid.y + wid.z * nwg.y) * 8u + lid.x / 8u;
    if row >= p.total / p.stride {
        return;
    }
    // per row: the kernel tap and the input plane it reads
    let kidx = row % p.k;
    let g = row / p.k;
    let kx = kidx % p.kw;
    let ky = (kidx / p.kw) % p.kh;
    let ci = kidx / (p.kw * p.kh);
    let dy = i32(ky * p.dil_h) - i32(p.pad_t);
    let dx = i32(kx * p.dil_w) - i32(p.pad_l);
    let chunk_hw = p.rows * p.ow;
    let plane = (g * p.cg + ci) * p.h;
    let out_row = row * p.stride;
    for (var j = wid.x * 8u + lid.x % 8u; j < p.ncols; j += nwg.x * 8u) {
        let image = j / chunk_hw;
        let pix = j - image * chunk_hw;
        let r = pix / p.ow;
        let ow = pix - r * p.ow;
        let ih = source_coord(i32((p.row0 + r) * p.stride_h) + dy, i32(p.h), p.mode);
        let iw = source_coord(i32(ow * p.stride_w) + dx, i32(p.w), p.mode);
        var v = 0.0;
        if ih >= 0 && iw >= 0 {
            v = load_src(p.in_shift + (image * p.c * p.h + plane + u32(ih)) * p.w + u32(iw));
        }
        store_cols(out_row + j, v);
    }
}
