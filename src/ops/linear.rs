//! linear: `torch.nn.functional.linear`, `y = x W^T + b`, on the GEMM kernel (the
//! output rows are the GEMM's columns, written row-major).

use crate::device::DeviceKind;
use crate::error::{Error, Result};
use crate::ops::gemm::{GemmParams, record};
use crate::reference;
use crate::tensor::{Storage, Tensor};

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
    let op = "linear";
    let &[n, k] = x.shape() else {
        return Err(Error::shape(
            op,
            format!("expected a 2-D input [n, in_features], got {:?}", x.shape()),
        ));
    };
    let &[m, k2] = weight.shape() else {
        return Err(Error::shape(
            op,
            format!(
                "expected a 2-D weight [out_features, in_features], got {:?}",
                weight.shape()
            ),
        ));
    };
    if k != k2 {
        return Err(Error::shape(
            op,
            format!("mat1 and mat2 shapes cannot be multiplied ({n}x{k} and {k2}x{m})"),
        ));
    }
    if let Some(b) = bias
        && b.shape() != [m]
    {
        return Err(Error::shape(
            op,
            format!(
                "The size of tensor a ({}) must match the size of tensor b ({m}) at non-singleton dimension 1",
                b.numel()
            ),
        ));
    }
    let dev = x.device();
    if weight.device() != dev || bias.is_some_and(|b| b.device() != dev) {
        return Err(Error::DeviceMismatch { op });
    }
    let mut out = Tensor::uninit(dev, &[n, m])?;
    match dev.kind() {
        DeviceKind::Cpu => {
            let y = reference::gemm::linear(
                x.cpu_data(),
                weight.cpu_data(),
                bias.map(Tensor::cpu_data),
                n,
                k,
                m,
            );
            if let Storage::Cpu(dst) = out.storage_mut() {
                *dst = y;
            }
        }
        DeviceKind::Gpu(gpu) => {
            let Some(c) = out.gpu_buffer() else {
                return Ok(out);
            };
            let (Some(xb), Some(wb)) = (x.gpu_buffer(), weight.gpu_buffer()) else {
                // in_features == 0: the output is the bias (or zeros)
                return Err(Error::Unsupported("linear with zero in_features".into()));
            };
            // C[o, j] = sum_k W[o, k] * x[j, k], stored at out[j * m + o]
            let p = GemmParams {
                m: m as u32,
                n: n as u32,
                k: k as u32,
                a_rs: k as u32,
                b_rs: 1,
                b_hw: 1,
                b_ns: k as u32,
                c_ms: 1,
                c_hw: 1,
                c_ns: m as u32,
                ..GemmParams::default()
            };
            let bias = bias.and_then(|b| b.gpu_buffer().map(|buf| (buf, m as u64)));
            record(gpu, (wb, (m * k) as u64), (xb, (n * k) as u64), bias, c, p)?;
        }
    }
    Ok(out)
}
