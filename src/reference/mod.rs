//! The CPU reference: plain, obviously correct loops, one file per op, reading the op
//! layer ([`crate::op`]) alone. Every GPU result is tested against these, and they run
//! the [`crate::Device::cpu`] backend.

pub mod conv2d;
pub mod conv_transpose2d;
pub mod copy;
pub mod elementwise;
pub mod gemm;
pub mod interpolate;
pub mod pool2d;
pub mod relu;
pub mod resize;
pub mod softmax;

use crate::op::Call;

/// Runs a checked call on host data: its inputs in [`crate::op::OpKind::inputs`] order
/// (`None` for an absent optional input; every tensor of a `cat`), each with the
/// length its shape says. Returns the output, and the indices for the calls that give
/// them.
pub fn run(call: &Call, inputs: &[Option<&[f32]>]) -> (Vec<f32>, Option<Vec<i64>>) {
    let input = |i: usize| inputs.get(i).copied().flatten().unwrap_or(&[]);
    let optional = |i: usize| inputs.get(i).copied().flatten();
    match call {
        Call::Conv2d {
            geometry, epilogue, ..
        } => (
            conv2d::conv2d_fused(
                input(0),
                input(1),
                optional(2),
                optional(3),
                geometry,
                *epilogue,
            ),
            None,
        ),
        Call::MaxPool2d { geometry, indices } => {
            let (y, idx) = pool2d::max_pool2d(input(0), geometry);
            (y, indices.then_some(idx))
        }
        Call::AvgPool2d {
            geometry,
            count_include_pad,
            divisor_override,
        } => (
            pool2d::avg_pool2d(input(0), geometry, *count_include_pad, *divisor_override),
            None,
        ),
        Call::AdaptiveAvgPool2d(g) => (pool2d::adaptive_avg_pool2d(input(0), g), None),
        Call::AdaptiveMaxPool2d(g) => {
            let (y, idx) = pool2d::adaptive_max_pool2d(input(0), g);
            (y, Some(idx))
        }
        Call::Interpolate(g) => (interpolate::interpolate(input(0), g), None),
        Call::Relu { .. } => (relu::relu(input(0)), None),
        Call::Linear {
            dims: [n, k, m], ..
        } => (
            gemm::linear(input(0), input(1), optional(2), *n, *k, *m),
            None,
        ),
        Call::Matmul { dims: [m, k, n] } => (gemm::matmul(input(0), input(1), *m, *k, *n), None),
        Call::Unary { f, .. } => (elementwise::unary(input(0), *f), None),
        Call::Binary { f, geometry } => {
            (elementwise::binary(input(0), input(1), *f, geometry), None)
        }
        Call::Softmax(g) => (softmax::softmax(input(0), g), None),
        Call::BatchNorm { geometry, eps, .. } => (
            elementwise::batch_norm(
                input(0),
                [input(1), input(2)],
                optional(3),
                optional(4),
                *eps,
                geometry,
            ),
            None,
        ),
        Call::Resize(g) => (resize::resize(input(0), g), None),
        Call::ConvTranspose2d { geometry, .. } => (
            conv_transpose2d::conv_transpose2d(input(0), input(1), optional(2), geometry),
            None,
        ),
        Call::Permute(g) => (copy::permute(input(0), g), None),
        Call::Slice(g) => (copy::slice(input(0), g), None),
        Call::Cat(g) => {
            let all: Vec<&[f32]> = (0..g.shapes.len()).map(input).collect();
            (copy::cat(&all, g), None)
        }
    }
}
