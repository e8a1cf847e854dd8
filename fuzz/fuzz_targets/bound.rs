//! Bounds on the work a fuzz input may ask for: the targets look for panics and aborts
//! in the parsers and the semantics, not for calls that are legitimately large.

#![allow(dead_code)]

use wgcnn::nn::{Layer, Sequential};
use wgcnn::op::Call;
use wgcnn::{Op, Tensor};

/// Most elements of any tensor a target builds or a call writes.
pub const MAX_ELEMENTS: u64 = 100_000;
/// Most estimated work (multiply-adds, window cells visited) of one call.
pub const MAX_WORK: u64 = 20_000_000;
/// Largest dimension of any shape a target runs.
pub const MAX_DIM: usize = 1 << 16;

/// Elements of `shape`, saturating.
pub fn numel(shape: &[usize]) -> u64 {
    shape.iter().fold(1u64, |n, &d| n.saturating_mul(d as u64))
}

/// Whether tensors of these shapes are small enough to build and run.
pub fn small(shapes: &[&[usize]]) -> bool {
    let total = shapes.iter().fold(0u64, |n, s| n.saturating_add(numel(s)));
    total <= MAX_ELEMENTS && shapes.iter().all(|s| s.iter().all(|&d| d <= MAX_DIM))
}

/// An upper estimate of a checked call's work on the CPU reference.
pub fn work(call: &Call) -> u64 {
    let written = numel(&call.output_shape());
    let per_output = match call {
        Call::MaxPool2d { geometry: g, .. } | Call::AvgPool2d { geometry: g, .. } => {
            let wh = g.kernel[0].saturating_mul(g.dilation[0]).min(g.h) as u64 + 1;
            let ww = g.kernel[1].saturating_mul(g.dilation[1]).min(g.w) as u64 + 1;
            wh.saturating_mul(ww)
        }
        Call::AdaptiveAvgPool2d(g) | Call::AdaptiveMaxPool2d(g) => {
            let wh = (g.h / g.oh.max(1)) as u64 + 2;
            let ww = (g.w / g.ow.max(1)) as u64 + 2;
            wh.saturating_mul(ww)
        }
        _ => 1,
    };
    written
        .saturating_mul(per_output)
        .saturating_add(call.macs())
}

/// Whether a checked call is small enough to run.
pub fn affordable(call: &Call) -> bool {
    let out = call.output_shape();
    small(&[&out]) && work(call) <= MAX_WORK
}

/// Whether a network's forward pass on an input of `shape` is small enough to run:
/// every layer's call checked and bounded in turn. `None` where a layer's check fails
/// (the forward pass then fails too, which is fine to run).
pub fn network_affordable(net: &Sequential, shape: &[usize]) -> bool {
    let mut shape = shape.to_vec();
    for (_, layer) in net.layers() {
        let checked = |op: Op, inputs: &[Option<&[usize]>]| op.check(inputs);
        let call = match layer {
            Layer::Conv2d(c) => checked(
                Op::Conv2d {
                    params: c.params,
                    relu: false,
                },
                &[
                    Some(&shape),
                    Some(c.weight.shape()),
                    c.bias.as_ref().map(Tensor::shape),
                ],
            ),
            Layer::MaxPool2d(p) => checked(
                Op::MaxPool2d {
                    params: *p,
                    return_indices: false,
                },
                &[Some(&shape)],
            ),
            Layer::AvgPool2d(p) => checked(Op::AvgPool2d(*p), &[Some(&shape)]),
            Layer::AdaptiveAvgPool2d(s) => {
                checked(Op::AdaptiveAvgPool2d { output_size: *s }, &[Some(&shape)])
            }
            Layer::Upsample(p) => checked(Op::Interpolate(*p), &[Some(&shape)]),
            Layer::Linear(l) => checked(
                Op::Linear,
                &[
                    Some(&shape),
                    Some(l.weight.shape()),
                    l.bias.as_ref().map(Tensor::shape),
                ],
            ),
            Layer::Flatten { start_dim, end_dim } => {
                // as many elements as its input; only the shape changes
                let rank = shape.len().max(1) as i64;
                let norm = |d: i64| if d < 0 { d.saturating_add(rank) } else { d };
                let (s, e) = (norm(*start_dim), norm(*end_dim));
                if s < 0 || e >= rank || s > e {
                    return true; // the layer fails
                }
                if !shape.is_empty() {
                    let (s, e) = (s as usize, e as usize);
                    let mut out = shape[..s].to_vec();
                    out.push(shape[s..=e].iter().product());
                    out.extend_from_slice(&shape[e + 1..]);
                    shape = out;
                } else {
                    shape = vec![1];
                }
                continue;
            }
            Layer::ReLU { .. } | Layer::Identity => continue,
        };
        let Ok(call) = call else {
            return true;
        };
        if !affordable(&call) {
            return false;
        }
        shape = call.output_shape();
    }
    true
}
