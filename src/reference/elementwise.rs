//! Reference elementwise ops: unary activations, broadcast binary arithmetic, and
//! inference batch_norm, each a plain loop over the op layer's one-element formulas.

use crate::op::batch_norm::BatchNormGeometry;
use crate::op::elementwise::{Binary, BroadcastGeometry, Unary};

/// `f` of each element.
pub fn unary(input: &[f32], f: Unary) -> Vec<f32> {
    input.iter().map(|&x| f.apply(x)).collect()
}

/// `a f b`, broadcast.
pub fn binary(a: &[f32], b: &[f32], f: Binary, g: &BroadcastGeometry) -> Vec<f32> {
    (0..g.len())
        .map(|i| {
            let [ia, ib] = g.source(i);
            f.apply(a[ia], b[ib])
        })
        .collect()
}

/// `(x - mean) / sqrt(var + eps) * weight + bias` per channel, in f64.
pub fn batch_norm(
    input: &[f32],
    [mean, var]: [&[f32]; 2],
    weight: Option<&[f32]>,
    bias: Option<&[f32]>,
    eps: f32,
    g: &BatchNormGeometry,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(input.len());
    for n in 0..g.n {
        for c in 0..g.c {
            let invstd = 1.0 / (f64::from(var[c]) + f64::from(eps)).sqrt();
            let w = weight.map_or(1.0, |w| f64::from(w[c]));
            let b = bias.map_or(0.0, |b| f64::from(b[c]));
            let m = f64::from(mean[c]);
            let start = (n * g.c + c) * g.inner;
            out.extend(
                input[start..start + g.inner]
                    .iter()
                    .map(|&x| ((f64::from(x) - m) * invstd * w + b) as f32),
            );
        }
    }
    out
}
