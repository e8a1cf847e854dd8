// tap.wgsl: one input value at a padded coordinate, for the kernels whose padding mode
// is their override constant MODE (conv2d_packed.wgsl, conv2d_winograd.wgsl), which
// declare `src` and a `params` with the input size `h` and `w`.

// The input value at padded coordinate (y, x) of the plane starting at `plane`, 0 in
// the zero padding; (y, x) within the padded input. (Kept to two tests of `inside`:
// two more, inlined at each of conv2d_packed's unrolled taps, took SwiftShader's
// compiler past two minutes for its packed f16 form.)
fn tap(plane: u32, y: i32, x: i32) -> f32 {
    let p = params;
    var iy = select(-1, y, y >= 0 && y < i32(p.h));
    var ix = select(-1, x, x >= 0 && x < i32(p.w));
    if MODE != 0u {
        iy = source_coord(y, i32(p.h), MODE);
        ix = source_coord(x, i32(p.w), MODE);
    }
    let inside = iy >= 0 && ix >= 0;
    return select(0.0, load_src(select(plane, plane + u32(iy) * p.w + u32(ix), inside)), inside);
}
