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

// Four neighbouring vec4s of an input row: 16 columns.
struct Quads {
    a: vec4<f32>,
    b: vec4<f32>,
    c: vec4<f32>,
    d: vec4<f32>,
}

// The quads q - 1 .. q + 1 of input row y of the plane whose first vec4 is plane4, and
// q + 2 where `four` (a constant once the pipeline is specialised), `fill` outside the
// row or the plane and in place of a fourth quad not read.
fn quads(plane4: u32, y: i32, q: i32, fill: f32, four: bool) -> Quads {
    let inside = y >= 0 && y < i32(params.h);
    let row4 = plane4 + u32(max(y, 0)) * (params.w / 4u);
    var s = Quads(quad_or(row4, q - 1, inside, fill), quad_or(row4, q, inside, fill), quad_or(row4, q + 1, inside, fill), vec4<f32>(fill));
    if four {
        s.d = quad_or(row4, q + 2, inside, fill);
    }
    return s;
}

// Column i (0..16) of the quads, i a constant once the loops unroll.
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

// Columns i, i + step, i + 2 step and i + 3 step of the quads.
fn pick4(s: Quads, i: u32, step: u32) -> vec4<f32> {
    return vec4<f32>(pick(s, i), pick(s, i + step), pick(s, i + 2u * step), pick(s, i + 3u * step));
}
