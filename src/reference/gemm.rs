//! Reference matrix product with f64 accumulation.

/// `a [m, k] x b [k, n]`, row-major.
pub fn matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let acc: f64 = (0..k)
                .map(|t| f64::from(a[i * k + t]) * f64::from(b[t * n + j]))
                .sum();
            out[i * n + j] = acc as f32;
        }
    }
    out
}
