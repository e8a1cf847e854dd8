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

/// `x [n, k] W^T + b`, with `W [m, k]`, `b [m]`.
pub fn linear(x: &[f32], w: &[f32], b: Option<&[f32]>, n: usize, k: usize, m: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; n * m];
    for i in 0..n {
        for o in 0..m {
            let acc: f64 = (0..k)
                .map(|t| f64::from(x[i * k + t]) * f64::from(w[o * k + t]))
                .sum();
            out[i * m + o] = (acc + b.map_or(0.0, |b| f64::from(b[o]))) as f32;
        }
    }
    out
}
