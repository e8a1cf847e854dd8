// resize.wgsl: ONNX Resize over the last two dims of an NCHW f32 batch. The source
// rows and columns of each output row and column come as taps computed in the op
// layer (src/op/resize.rs), so nearest modes equal the reference bit for bit: one
// invocation per output element gathers (nearest) or blends 4 sources (linear).
// Grid: x columns, y rows, z planes of this run. A plane larger than a binding runs in
// bands of output rows: rows from row0 on, read from a window whose first row is
// in_row0 (one plane, `rows` rows; otherwise rows = oh and both are 0).
// @binding(0) src    array<f32>    read        [planes, h, w] (from in_shift)
// @binding(1) dst    array<f32>    read_write  [planes, oh, ow] (from out_shift)
// @binding(2) taps   array<u32>    read        [oh + ow, 3]: i0, i1, lambda's bits
// @binding(3) params ResizeUniform uniform (declared in src/kernels/resize.rs)

//#data 0 src read
//#data 1 dst read_write
@group(0) @binding(2) var<storage, read> taps: array<u32>;
@group(0) @binding(3) var<uniform> params: ResizeUniform;

//#entry pixels resize_nearest resize_nearest_at

fn resize_nearest_at(gid: vec3<u32>) {
    let p = params;
    let plane = gid.z;
    let sy = taps[3u * (p.row0 + gid.y)] - p.in_row0;
    let sx = taps[3u * (p.oh + gid.x)];
    store_dst(p.out_shift + (plane * p.rows + gid.y) * p.ow + gid.x, load_src(p.in_shift + (plane * p.h + sy) * p.w + sx));
}

//#entry pixels resize_linear resize_linear_at

fn resize_linear_at(gid: vec3<u32>) {
    let p = params;
    let plane = gid.z;
    let ry = 3u * (p.row0 + gid.y);
    let rx = 3u * (p.oh + gid.x);
    let y0 = taps[ry] - p.in_row0;
    let y1 = taps[ry + 1u] - p.in_row0;
    let ly = bitcast<f32>(taps[ry + 2u]);
    let x0 = taps[rx];
    let x1 = taps[rx + 1u];
    let lx = bitcast<f32>(taps[rx + 2u]);
    let base = p.in_shift + plane * p.h * p.w;
    let top = (1.0 - lx) * load_src(base + y0 * p.w + x0) + lx * load_src(base + y0 * p.w + x1);
    let bottom = (1.0 - lx) * load_src(base + y1 * p.w + x0) + lx * load_src(base + y1 * p.w + x1);
    store_dst(p.out_shift + (plane * p.rows + gid.y) * p.ow + gid.x, (1.0 - ly) * top + ly * bottom);
}
