// rows.wgsl: whole vec4s of an input row, for the kernels that read rows as vec4
// (conv2d.wgsl, conv2d_packed.wgsl, conv2d_winograd.wgsl, pool2d.wgsl), which declare
// `src4` and a `params` with the input width `w`.

// The vec4 q of the row whose first vec4 is row4, or `fill` where it lies outside the
// row (q < 0 or past its end) or the row outside the plane (`inside_row` false).
fn quad_or(row4: u32, q: i32, inside_row: bool, fill: f32) -> vec4<f32> {
    let inside = inside_row && q >= 0 && q < i32(params.w / 4u);
    return select(vec4<f32>(fill), load_src4(select(0u, row4 + u32(q), inside)), inside);
}

// The same with zeros outside.
fn quad(row4: u32, q: i32, inside_row: bool) -> vec4<f32> {
    return quad_or(row4, q, inside_row, 0.0);
}
