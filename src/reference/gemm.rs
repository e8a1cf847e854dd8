//! Reference matrix products with f64 accumulation.

/// `out[i, j] = sum_t a[i * k + t] * b[t * b_row + j * b_col]` for `i < m`, `j < n`,
/// plus `bias[j]`: both products below, with `b` read by row or by column.
fn product(
    (a, b, bias): (&[f32], &[f32], Option<&[f32]>),
    [m, k, n]: [usize; 3],
    (b_row, b_col): (usize, usize),
) -> Vec<f32> {
    let mut out = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let acc: f64 = (0..k)
                .map(|t| f64::from(a[i * k + t]) * f64::from(b[t * b_row + j * b_col]))
                .sum();
            out[i * n + j] = (acc + bias.map_or(0.0, |b| f64::from(b[j]))) as f32;
        }
    }
    out
}

/// `a [m, k] x b [k, n]`, row-major.
pub fn matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    product((a, b, None), [m, k, n], (n, 1))
}

/// `x [n, k] W^T + b`, with `W [m, k]`, `b [m]`.
pub fn linear(x: &[f32], w: &[f32], b: Option<&[f32]>, n: usize, k: usize, m: usize) -> Vec<f32> {
    product((x, w, b), [n, k, m], (1, k))
}
