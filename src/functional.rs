//! The public operators, named as in `torch.nn.functional`, and the one place where an
//! op meets a backend: [`run`] checks a call ([`crate::op`]), allocates its outputs,
//! and hands it to the CPU reference or to the GPU kernels.

use crate::device::{Device, DeviceKind};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::kernels::{self, Conv2dOptions};
use crate::op::conv_transpose2d::ConvTranspose2dParams;
use crate::op::conv2d::{Conv2dParams, Epilogue};
use crate::op::copy::{Permutation, SliceParams, dim_of};
use crate::op::elementwise::{Binary, Unary};
use crate::op::interpolate::InterpolateParams;
use crate::op::pool2d::{AvgPool2dParams, MaxPool2dParams};
use crate::op::resize::ResizeParams;
use crate::op::{Call, Op};
use crate::reference;
use crate::tensor::{IndexTensor, Storage, Tensor};

/// Runs `op` on `inputs` (in [`crate::op::OpKind::inputs`] order, `None` for an absent
/// optional input; every tensor of a `cat`) on their device: the output, and the indices for the ops that give
/// them (max pools with `return_indices`, adaptive max pooling).
///
/// # Errors
/// PyTorch's shape and parameter errors; [`Error::DeviceMismatch`]; device errors.
pub fn run(op: &Op, inputs: &[Option<&Tensor>]) -> Result<(Tensor, Option<IndexTensor>)> {
    run_with(op, inputs, &Conv2dOptions::default())
}

/// [`run`] with conv2d's lowering options.
fn run_with(
    op: &Op,
    inputs: &[Option<&Tensor>],
    conv: &Conv2dOptions,
) -> Result<(Tensor, Option<IndexTensor>)> {
    let (call, device) = check_call(op, inputs)?;
    // the one type of the call's inputs (check_call saw to it)
    let dtype = inputs
        .iter()
        .flatten()
        .next()
        .map_or(DType::F32, |t| t.dtype());
    let name = op.name();
    let shape = call.output_shape();
    // the output's size against the device's limits, before anything is allocated
    device.check_tensor(name, &shape)?;
    match device.kind() {
        DeviceKind::Cpu => {
            let host: Vec<Option<&[f32]>> = inputs
                .iter()
                .map(|t| t.map(Tensor::cpu_data).transpose())
                .collect::<Result<_>>()?;
            let (y, idx) = reference::run(&call, &host);
            // an f16 call computes in f32 (its inputs are exact in it) and rounds once
            Ok((
                Tensor::from_host_as(y, &shape, dtype),
                idx.map(|i| IndexTensor::from_cpu(i, &shape)),
            ))
        }
        DeviceKind::Gpu(gpu) => {
            let launch = || -> Result<(Tensor, Option<IndexTensor>)> {
                let out = Tensor::uninit_as(device, &shape, dtype)?;
                let indices = call
                    .has_indices()
                    .then(|| IndexTensor::uninit_gpu(device, &shape))
                    .transpose()?;
                kernels::launch(device, gpu, &call, inputs, (&out, indices.as_ref()), conv)?;
                Ok((out, indices))
            };
            launch().map_err(|e| e.in_op(name))
        }
    }
}

/// A call checked: its shapes and parameters, its inputs' element types, and the one
/// device they share.
///
/// # Errors
/// PyTorch's shape and parameter errors; [`check_dtypes`]'s; [`Error::DeviceMismatch`].
fn check_call<'a>(op: &Op, inputs: &[Option<&'a Tensor>]) -> Result<(Call, &'a Device)> {
    let shapes: Vec<Option<&[usize]>> = inputs.iter().map(|t| t.map(Tensor::shape)).collect();
    let call = op.check(&shapes)?;
    check_dtypes(op.name(), inputs)?;
    let Some(device) = inputs.iter().flatten().next().map(|t| t.device()) else {
        return Err(Error::shape(op.name(), "no input tensor"));
    };
    if inputs.iter().flatten().any(|t| t.device() != device) {
        return Err(Error::DeviceMismatch { op: op.name() });
    }
    Ok((call, device))
}

/// Runs `op` on `inputs` on a GPU device, writing its output into `out` (a tensor of
/// the call's output shape, typically a view into a larger buffer) instead of a new
/// tensor: `Ok(true)` when it did, `Ok(false)` (nothing recorded) where it cannot: an
/// output of another shape, type or device, one that shares a buffer with an input (one
/// dispatch cannot read and write a buffer), or an op that also gives indices.
///
/// # Errors
/// As [`run`].
pub(crate) fn run_into(op: &Op, inputs: &[Option<&Tensor>], out: &Tensor) -> Result<bool> {
    let (call, device) = check_call(op, inputs)?;
    let DeviceKind::Gpu(gpu) = device.kind() else {
        return Ok(false);
    };
    if device != out.device()
        || call.output_shape() != out.shape()
        || call.has_indices()
        || inputs
            .iter()
            .flatten()
            .any(|t| t.shares_buffer(out) || t.dtype() != out.dtype())
    {
        return Ok(false);
    }
    let conv = Conv2dOptions::default();
    kernels::launch(device, gpu, &call, inputs, (out, None), &conv)
        .map_err(|e| e.in_op(op.name()))?;
    Ok(true)
}

/// The inputs' element types: one type in a call, f32 or f16, which every op takes
/// (f16 stored, summed in f32, rounded once). Mixed types are refused with the message
/// PyTorch gives where it refuses them (conv2d, linear); where PyTorch promotes instead
/// (add, cat), the caller converts with [`Tensor::to_dtype`].
///
/// # Errors
/// [`Error::InvalidParam`] for mixed types.
pub(crate) fn check_dtypes(op: &'static str, inputs: &[Option<&Tensor>]) -> Result<()> {
    let mut types = inputs.iter().flatten().map(|t| t.dtype());
    let Some(first) = types.next() else {
        return Ok(());
    };
    if let Some(other) = types.find(|&d| d != first) {
        return Err(Error::param(
            op,
            format!(
                "expected scalar type {} but found {}",
                first.scalar_name(),
                other.scalar_name()
            ),
        ));
    }
    Ok(())
}

/// The output of an op that gives one.
fn run1(op: &Op, inputs: &[Option<&Tensor>]) -> Result<Tensor> {
    run(op, inputs).map(|(y, _)| y)
}

/// The output and indices of an op that gives both.
fn run2(op: &Op, x: &Tensor) -> Result<(Tensor, IndexTensor)> {
    match run(op, &[Some(x)])? {
        (y, Some(i)) => Ok((y, i)),
        (_, None) => Err(Error::Backend(format!("{} gave no indices", op.name()))),
    }
}

/// 2-D convolution over an NCHW batch.
///
/// Corresponds to `torch.nn.functional.conv2d(input, weight, bias, stride, padding,
/// dilation, groups)`.
///
/// # Shapes
/// `input [n, c_in, h, w]` or `[c_in, h, w]`; `weight [c_out, c_in / groups, kh, kw]`;
/// `bias [c_out]`; output `[n, c_out, oh, ow]` (or `[c_out, oh, ow]`).
///
/// # Errors
/// PyTorch's shape and parameter errors; [`Error::DeviceMismatch`]; device errors.
pub fn conv2d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    params: &Conv2dParams,
) -> Result<Tensor> {
    conv2d_ext(input, weight, bias, params, &Conv2dOptions::default())
}

/// `relu(conv2d(..))` as one fused call (bias and relu in the epilogue).
///
/// # Errors
/// As [`conv2d`].
pub fn conv2d_relu(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    params: &Conv2dParams,
) -> Result<Tensor> {
    let options = Conv2dOptions {
        relu: true,
        ..Conv2dOptions::default()
    };
    conv2d_ext(input, weight, bias, params, &options)
}

/// [`conv2d`] with wgcnn's own options: fused relu, the lowering, the column budget.
///
/// # Errors
/// As [`conv2d`].
pub fn conv2d_ext(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    params: &Conv2dParams,
    options: &Conv2dOptions,
) -> Result<Tensor> {
    let op = Op::Conv2d {
        params: *params,
        epilogue: Epilogue::relu(options.relu),
    };
    run_with(&op, &[Some(input), Some(weight), bias], options).map(|(y, _)| y)
}

/// 2-D max pooling. Padded cells act as -inf; NaN propagates (a later NaN in the
/// window wins, as in PyTorch); ties keep the first maximum.
///
/// Corresponds to `torch.nn.functional.max_pool2d`.
///
/// # Shapes
/// `input [n, c, h, w]` or `[c, h, w]` → `[n, c, oh, ow]` (or `[c, oh, ow]`).
///
/// # Errors
/// PyTorch's errors (padding over half the kernel, output too small, zero stride, ...).
pub fn max_pool2d(x: &Tensor, params: &MaxPool2dParams) -> Result<Tensor> {
    let op = Op::MaxPool2d {
        params: *params,
        return_indices: false,
    };
    run1(&op, &[Some(x)])
}

/// [`max_pool2d`] with `return_indices=True`: also the flat index of each maximum in
/// its input plane.
///
/// # Errors
/// As [`max_pool2d`].
pub fn max_pool2d_with_indices(
    x: &Tensor,
    params: &MaxPool2dParams,
) -> Result<(Tensor, IndexTensor)> {
    let op = Op::MaxPool2d {
        params: *params,
        return_indices: true,
    };
    run2(&op, x)
}

/// 2-D average pooling. With `ceil_mode` a partial last window divides by the cells it
/// covers inside the padded input (padding counted when `count_include_pad`, cells past
/// the padding never); `divisor_override` replaces the divisor.
///
/// Corresponds to `torch.nn.functional.avg_pool2d`.
///
/// # Shapes
/// `input [n, c, h, w]` or `[c, h, w]` → `[n, c, oh, ow]` (or `[c, oh, ow]`).
///
/// # Errors
/// PyTorch's errors.
pub fn avg_pool2d(x: &Tensor, params: &AvgPool2dParams) -> Result<Tensor> {
    run1(&Op::AvgPool2d(*params), &[Some(x)])
}

/// Adaptive average pooling to `output_size` (`None` keeps that input size): output
/// cell `o` averages input `[floor(o*I/O), ceil((o+1)*I/O))`.
///
/// Corresponds to `torch.nn.functional.adaptive_avg_pool2d`.
///
/// # Errors
/// PyTorch's errors.
pub fn adaptive_avg_pool2d(x: &Tensor, output_size: [Option<i64>; 2]) -> Result<Tensor> {
    run1(&Op::AdaptiveAvgPool2d { output_size }, &[Some(x)])
}

/// Adaptive max pooling to `output_size`, with the flat index of each maximum.
///
/// Corresponds to `torch.nn.functional.adaptive_max_pool2d(.., return_indices=True)`.
///
/// # Errors
/// PyTorch's errors.
pub fn adaptive_max_pool2d(
    x: &Tensor,
    output_size: [Option<i64>; 2],
) -> Result<(Tensor, IndexTensor)> {
    let op = Op::AdaptiveMaxPool2d {
        output_size,
        return_indices: true,
    };
    run2(&op, x)
}

/// Resizes the spatial axes of an NCHW batch (or the last axis of an `[n, c, l]` one,
/// nearest modes).
///
/// Corresponds to `torch.nn.functional.interpolate` with mode `nearest`,
/// `nearest-exact` or `bilinear`.
///
/// # Shapes
/// `input [n, c, h, w]` → `[n, c, oh, ow]`.
///
/// # Errors
/// PyTorch's errors: both or neither of `size` and `scale_factor`, `align_corners` with
/// a nearest mode, a non-positive output size, a wrong rank.
pub fn interpolate(x: &Tensor, params: &InterpolateParams) -> Result<Tensor> {
    run1(&Op::Interpolate(*params), &[Some(x)])
}

/// Rectified linear unit, `max(x, 0)` elementwise, into a new tensor of the same shape.
/// Negatives give +0.0; NaN and -0.0 pass through unchanged, bit for bit as in PyTorch.
///
/// Corresponds to `torch.relu` / `torch.nn.functional.relu`.
///
/// # Shapes
/// Any shape; the output has the input's.
///
/// # Errors
/// A device error (out of memory, device lost).
pub fn relu(x: &Tensor) -> Result<Tensor> {
    run1(&Op::Relu, &[Some(x)])
}

/// Rectified linear unit in place: `x` is overwritten with `relu(x)`.
///
/// Corresponds to `torch.relu_` and `torch.nn.ReLU(inplace=True)`.
///
/// # Errors
/// A device error (device lost).
pub fn relu_(x: &mut Tensor) -> Result<()> {
    check_dtypes("relu_", &[Some(x)])?;
    let n = x.numel() as u64;
    match x.device().kind().clone() {
        DeviceKind::Gpu(gpu) if n > 0 => {
            gpu.reserve(n)?;
            kernels::relu::launch(&gpu, x.dtype(), x.gpu_buffer()?, None, n)
        }
        DeviceKind::Gpu(_) => Ok(()),
        DeviceKind::Cpu => {
            if let Storage::Cpu(data) = x.storage_mut() {
                reference::relu::relu_(data);
            }
            Ok(())
        }
    }
}

/// Applies a linear transformation to the last dimension.
///
/// Corresponds to `torch.nn.functional.linear(input, weight, bias)`.
///
/// # Shapes
/// `input [n, in_features]`, `weight [out_features, in_features]`,
/// `bias [out_features]` → `[n, out_features]`.
///
/// # Errors
/// [`Error::Shape`] with PyTorch's message when the shapes disagree.
pub fn linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    run1(&Op::Linear, &[Some(x), Some(weight), bias])
}

/// Matrix product of two 2-D tensors.
///
/// Corresponds to `torch.matmul` / `torch.mm` for 2-D inputs.
///
/// # Shapes
/// `a [m, k]`, `b [k, n]` → `[m, n]`.
///
/// # Errors
/// [`Error::Shape`] with PyTorch's message when the shapes disagree; device errors.
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    run1(&Op::Matmul, &[Some(a), Some(b)])
}

/// A unary elementwise op of every element, into a new tensor of the same shape. NaN
/// propagates; relu and clamp equal PyTorch bit for bit, sigmoid and tanh are within a
/// few ulp.
///
/// Corresponds to `torch.relu`, `leaky_relu`, `clamp` / `hardtanh`, `sigmoid`,
/// `hardsigmoid` (ONNX `HardSigmoid`'s alpha and beta), `hardswish` and `tanh`.
///
/// # Shapes
/// Any shape; the output has the input's.
///
/// # Errors
/// A device error (out of memory, device lost).
pub fn unary(x: &Tensor, f: Unary) -> Result<Tensor> {
    run1(&Op::Unary(f), &[Some(x)])
}

/// `a f b` elementwise, broadcast as numpy and PyTorch do.
///
/// Corresponds to `torch.add`, `torch.sub`, `torch.mul`, `torch.div`.
///
/// # Shapes
/// `a` and `b` of ranks up to 6 that broadcast (each pair of sizes, aligned at the
/// last dim, equal or one of them 1; a scalar `[]` or `[1]` with anything) → the
/// broadcast shape.
///
/// # Errors
/// PyTorch's "The size of tensor a (..) must match the size of tensor b (..) at
/// non-singleton dimension .."; [`Error::Unsupported`] past rank 6;
/// [`Error::DeviceMismatch`]; device errors.
pub fn binary(a: &Tensor, b: &Tensor, f: Binary) -> Result<Tensor> {
    run1(&Op::Binary(f), &[Some(a), Some(b)])
}

/// Softmax along `dim` (negative counts from the end): `exp(x - max) / sum`.
///
/// Corresponds to `torch.softmax(x, dim)` / `torch.nn.functional.softmax`.
///
/// # Shapes
/// Any shape; the output has the input's.
///
/// # Errors
/// PyTorch's "Dimension out of range"; device errors.
pub fn softmax(x: &Tensor, dim: i64) -> Result<Tensor> {
    run1(&Op::Softmax { dim }, &[Some(x)])
}

/// Batch normalization with running statistics (inference):
/// `(x - running_mean) / sqrt(running_var + eps) * weight + bias` per channel (dim 1).
///
/// Corresponds to `torch.nn.functional.batch_norm(x, running_mean, running_var,
/// weight, bias, training=False, eps=eps)`.
///
/// # Shapes
/// `x [n, c, ...]`; `running_mean`, `running_var`, `weight`, `bias` of `c` elements.
///
/// # Errors
/// PyTorch's "running_mean should contain 3 elements not 4" and alike;
/// [`Error::DeviceMismatch`]; device errors.
pub fn batch_norm(
    x: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f32,
) -> Result<Tensor> {
    run1(
        &Op::BatchNorm { eps },
        &[Some(x), Some(running_mean), Some(running_var), weight, bias],
    )
}

/// Resizes the last two dims of an NCHW batch with ONNX `Resize`'s semantics (modes
/// nearest and linear, its coordinate transforms and nearest modes).
///
/// Corresponds to ONNX `Resize` (opsets 11 to 21); `interpolate(mode='nearest')` is
/// nearest / asymmetric / floor, `mode='bilinear'` linear / pytorch_half_pixel (or
/// align_corners).
///
/// # Shapes
/// `x [n, c, h, w]` → `[n, c, size[0], size[1]]`.
///
/// # Errors
/// [`Error::Shape`] for an input that is not 4-D, an empty input plane or output size;
/// [`Error::InvalidParam`] for a scale that is not finite and positive.
pub fn resize(x: &Tensor, params: &ResizeParams) -> Result<Tensor> {
    run1(&Op::Resize(*params), &[Some(x)])
}

/// `x > 0 ? x : negative_slope * x`. Corresponds to `torch.nn.functional.leaky_relu`.
///
/// # Errors
/// As [`unary`].
pub fn leaky_relu(x: &Tensor, negative_slope: f32) -> Result<Tensor> {
    unary(x, Unary::LeakyRelu { negative_slope })
}

/// `clamp(x, min_val, max_val)`. Corresponds to `torch.nn.functional.hardtanh` (and
/// `relu6` with 0 and 6).
///
/// # Errors
/// As [`unary`].
pub fn hardtanh(x: &Tensor, min_val: f32, max_val: f32) -> Result<Tensor> {
    unary(
        x,
        Unary::Clamp {
            min: min_val,
            max: max_val,
        },
    )
}

/// `1 / (1 + exp(-x))`. Corresponds to `torch.sigmoid`.
///
/// # Errors
/// As [`unary`].
pub fn sigmoid(x: &Tensor) -> Result<Tensor> {
    unary(x, Unary::Sigmoid)
}

/// `clamp(x / 6 + 1 / 2, 0, 1)`. Corresponds to `torch.nn.functional.hardsigmoid`.
///
/// # Errors
/// As [`unary`].
pub fn hardsigmoid(x: &Tensor) -> Result<Tensor> {
    unary(
        x,
        Unary::HardSigmoid {
            alpha: 1.0 / 6.0,
            beta: 0.5,
        },
    )
}

/// `x * relu6(x + 3) / 6`. Corresponds to `torch.nn.functional.hardswish`.
///
/// # Errors
/// As [`unary`].
pub fn hardswish(x: &Tensor) -> Result<Tensor> {
    unary(x, Unary::HardSwish)
}

/// Hyperbolic tangent. Corresponds to `torch.tanh`.
///
/// # Errors
/// As [`unary`].
pub fn tanh(x: &Tensor) -> Result<Tensor> {
    unary(x, Unary::Tanh)
}

/// `a + b`, broadcast. Corresponds to `torch.add`.
///
/// # Errors
/// As [`binary`].
pub fn add(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(a, b, Binary::Add)
}

/// `a - b`, broadcast. Corresponds to `torch.sub`.
///
/// # Errors
/// As [`binary`].
pub fn sub(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(a, b, Binary::Sub)
}

/// `a * b`, broadcast. Corresponds to `torch.mul`.
///
/// # Errors
/// As [`binary`].
pub fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(a, b, Binary::Mul)
}

/// `a / b` (true division), broadcast. Corresponds to `torch.div`.
///
/// # Errors
/// As [`binary`].
pub fn div(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(a, b, Binary::Div)
}
/// 2-D transposed convolution ("deconvolution") over an NCHW batch: the gradient of
/// conv2d with respect to its input, each input element scattering its group's
/// filters into the output at `stride` spacing.
///
/// Corresponds to `torch.nn.functional.conv_transpose2d(input, weight, bias, stride,
/// padding, output_padding, groups, dilation)`.
///
/// # Shapes
/// `input [n, c_in, h, w]` or `[c_in, h, w]`; `weight [c_in, c_out / groups, kh, kw]`;
/// `bias [c_out]`; output `[n, c_out, oh, ow]` (or `[c_out, oh, ow]`) with
/// `oh = (h - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1`.
///
/// # Errors
/// PyTorch's shape and parameter errors (`output padding must be smaller than either
/// stride or dilation`, ...); [`Error::DeviceMismatch`]; device errors.
pub fn conv_transpose2d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    params: &ConvTranspose2dParams,
) -> Result<Tensor> {
    run1(
        &Op::ConvTranspose2d(*params),
        &[Some(input), Some(weight), bias],
    )
}

/// The tensor with its dimensions reordered: output dimension `i` is input dimension
/// `dims[i]`. Copies (the result is contiguous), bit for bit.
///
/// Corresponds to `torch.permute(input, dims)` followed by `.contiguous()`.
///
/// # Shapes
/// Any rank up to 6; `dims` a permutation of `0..rank`.
///
/// # Errors
/// PyTorch's errors for a wrong number of dims, a repeated or out-of-range dim;
/// [`Error::Limit`] past rank 6; device errors.
pub fn permute(x: &Tensor, dims: &[usize]) -> Result<Tensor> {
    let dims = dims
        .iter()
        .map(|&d| dim_of("permute", d))
        .collect::<Result<Vec<_>>>()?;
    run1(&Op::Permute(Permutation::new(&dims)?), &[Some(x)])
}

/// `x[.., start:end:step, ..]` along `dim`, with numpy's slicing rules (as ONNX
/// Slice): a negative `start` or `end` counts from the end, out-of-range values are
/// clamped, and a negative `step` walks backwards from `start` to `end` (exclusive).
/// Copies, bit for bit; an empty range gives an empty tensor.
///
/// Corresponds to Python's `x[:, start:end:step]` (and `torch.narrow` for step 1).
///
/// # Shapes
/// Any rank from 1 to 6; the output has the input's shape but along `dim`.
///
/// # Errors
/// `slice step cannot be zero`; PyTorch's error for `dim` out of range;
/// [`Error::Limit`] past rank 6; device errors.
pub fn slice(x: &Tensor, dim: usize, start: i64, end: i64, step: i64) -> Result<Tensor> {
    let params = SliceParams {
        dim: dim_of("slice", dim)?,
        start,
        end,
        step,
    };
    run1(&Op::Slice(params), &[Some(x)])
}

/// The tensors joined along `dim`, in order, bit for bit.
///
/// Corresponds to `torch.cat(tensors, dim)`.
///
/// # Shapes
/// One or more tensors of the same rank (1 to 6), with the same sizes but along
/// `dim`; the output's size along `dim` is their sum.
///
/// # Errors
/// PyTorch's errors: no tensors, ranks or sizes that differ, `dim` out of range;
/// [`Error::DeviceMismatch`]; [`Error::Limit`] past rank 6; device errors.
pub fn cat(xs: &[&Tensor], dim: usize) -> Result<Tensor> {
    let inputs: Vec<Option<&Tensor>> = xs.iter().map(|&x| Some(x)).collect();
    run1(
        &Op::Cat {
            dim: dim_of("cat", dim)?,
        },
        &inputs,
    )
}
