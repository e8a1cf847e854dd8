// gemm_store.wgsl: one element of C through the epilogue, for the register GEMMs
// (gemm.wgsl, gemm_subgroup.wgsl), which declare `params`, `bias` and `c`: the bias of
// row m (of column `col` with FLAG_BIAS_COLUMN), the residual, the activation.
fn store(g: u32, m: u32, col: u32, v: f32) {
    let p = params;
    var bias_v = 0.0;
    if (p.flags & FLAG_BIAS) != 0u {
        bias_v = bias[p.bias_off + g * p.bias_gs + select(m, col, (p.flags & FLAG_BIAS_COLUMN) != 0u)];
    }
    let at = p.c_off + g * p.c_gs + m * p.c_ms + (col / p.c_hw) * p.c_ns + col % p.c_hw;
    c[at] = epilogue(v, bias_v, at, p.flags);
}
