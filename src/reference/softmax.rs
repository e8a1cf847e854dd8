//! Reference softmax: per `[outer, inner]` column, the maximum subtracted, `exp` and
//! the sum in f64. A NaN anywhere along `dim` makes the whole column NaN, as in
//! PyTorch (the maximum is NaN).

use crate::op::softmax::SoftmaxGeometry;

/// `softmax(input, dim)`.
pub fn softmax(input: &[f32], g: &SoftmaxGeometry) -> Vec<f32> {
    let mut out = vec![0.0; input.len()];
    for o in 0..g.outer {
        for i in 0..g.inner {
            let at = |k: usize| (o * g.len + k) * g.inner + i;
            let max = (0..g.len).fold(f64::NEG_INFINITY, |m, k| {
                let x = f64::from(input[at(k)]);
                if x.is_nan() || m.is_nan() {
                    f64::NAN
                } else {
                    m.max(x)
                }
            });
            let sum: f64 = (0..g.len)
                .map(|k| (f64::from(input[at(k)]) - max).exp())
                .sum();
            for k in 0..g.len {
                out[at(k)] = ((f64::from(input[at(k)]) - max).exp() / sum) as f32;
            }
        }
    }
    out
}
