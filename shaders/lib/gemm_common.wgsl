// gemm_common.wgsl: what the register GEMMs (gemm.wgsl, gemm_subgroup.wgsl) share;
// they declare `params`, `bias`, `c` and `b4` (B as vec4).

// One element of C through the epilogue: the bias of row m (of column `col` with
// FLAG_BIAS_COLUMN), the residual, the activation.
fn store(g: u32, m: u32, col: u32, v: f32) {
    let p = params;
    var bias_v = 0.0;
    if (p.flags & FLAG_BIAS) != 0u {
        bias_v = load_bias(p.bias_off + g * p.bias_gs + select(m, col, (p.flags & FLAG_BIAS_COLUMN) != 0u));
    }
    let at = p.c_off + g * p.c_gs + m * p.c_ms + (col / p.c_hw) * p.c_ns + col % p.c_hw;
    store_c(at, epilogue(v, bias_v, at, p.flags));
}

// Row m of C at 4 columns `step` apart from `col`, those within M x N.
fn store_row(g: u32, m: u32, col: u32, step: u32, v: vec4<f32>) {
    if m >= params.m {
        return;
    }
    for (var t = 0u; t < 4u; t++) {
        if col + step * t < params.n {
            store(g, m, col + step * t, v[t]);
        }
    }
}

// The first elements of A's rows row0..row0+3 of group g, clamped to the last row.
fn a_rows(g: u32, row0: u32) -> vec4<u32> {
    let p = params;
    let last = vec4<u32>(p.m - 1u);
    return vec4<u32>(p.a_off + g * p.a_gs) + min(vec4<u32>(row0) + vec4<u32>(0u, 1u, 2u, 3u), last) * p.a_rs;
}

// The vec4 of B holding group g's 4 columns from `col` (a multiple of 4; past n, the
// last whole group within n) in its first row.
fn b_cols4(g: u32, col: u32) -> u32 {
    let p = params;
    let c = min(col, (p.n - 1u) / 4u * 4u);
    return (p.b_off + g * p.b_gs + (c / p.b_hw) * p.b_ns + c % p.b_hw) / 4u;
}

// Steps 4q .. 4q + 3 of K of the 4 columns whose first row is vec4 `b0`, rows `rs`
// vec4s apart, as the columns of a matrix.
fn b_quad(b0: u32, rs: u32, q: u32) -> mat4x4<f32> {
    let kb = b0 + 4u * q * rs;
    return mat4x4<f32>(load_b4(kb), load_b4(kb + rs), load_b4(kb + 2u * rs), load_b4(kb + 3u * rs));
}

// 4 steps of K of one row (`a`) against 4 rows of B (`b`'s columns), added to `acc` in
// order.
fn fma4(acc: vec4<f32>, a: vec4<f32>, b: mat4x4<f32>) -> vec4<f32> {
    return fma(vec4<f32>(a.w), b[3], fma(vec4<f32>(a.z), b[2], fma(vec4<f32>(a.y), b[1], fma(vec4<f32>(a.x), b[0], acc))));
}
