//! relu and in-place relu_: `torch.relu`, `torch.relu_` (`nn.ReLU(inplace=True)`).
//! The launcher walks the tensor in chunks that fit one storage binding.

use crate::device::{Bind, DeviceKind};
use crate::error::Result;
use crate::reference;
use crate::shaders::{Shader, Slot};
use crate::tensor::{Storage, Tensor};

/// Mirror of `ReluParams` in shaders/relu.wgsl; keep field order in sync.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct ReluParams {
    len: u32,
    _pad: [u32; 3],
}

const OUT_OF_PLACE: &[(u32, Slot)] = &[(0, Slot::Read), (1, Slot::ReadWrite), (6, Slot::Uniform)];
const OUT_OF_PLACE4: &[(u32, Slot)] = &[(3, Slot::Read), (4, Slot::ReadWrite), (6, Slot::Uniform)];
const IN_PLACE: &[(u32, Slot)] = &[(2, Slot::ReadWrite), (6, Slot::Uniform)];
const IN_PLACE4: &[(u32, Slot)] = &[(5, Slot::ReadWrite), (6, Slot::Uniform)];

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
    let mut out = Tensor::uninit(x.device(), x.shape())?;
    match x.device().kind() {
        DeviceKind::Cpu => {
            if let Storage::Cpu(dst) = out.storage_mut() {
                *dst = reference::relu::relu(x.cpu_data());
            }
        }
        DeviceKind::Gpu(_) => launch(x, Some(&out))?,
    }
    Ok(out)
}

/// Rectified linear unit in place: `x` is overwritten with `relu(x)`.
///
/// Corresponds to `torch.relu_` and `torch.nn.ReLU(inplace=True)`.
///
/// # Errors
/// A device error (device lost).
pub fn relu_(x: &mut Tensor) -> Result<()> {
    match x.storage_mut() {
        Storage::Cpu(data) => {
            reference::relu::relu_(data);
            Ok(())
        }
        Storage::Gpu(_) => launch(x, None),
    }
}

/// Records relu over `x` into `out`, or in place when `out` is `None`.
fn launch(x: &Tensor, out: Option<&Tensor>) -> Result<()> {
    let DeviceKind::Gpu(gpu) = x.device().kind() else {
        unreachable!("launch is called for GPU tensors only");
    };
    let Some(src) = x.gpu_buffer() else {
        return Ok(()); // no elements
    };
    let n = x.numel() as u64;
    let vec4 = n.is_multiple_of(4);
    let (entry, layout) = match (out.is_some(), vec4) {
        (true, false) => ("relu", OUT_OF_PLACE),
        (true, true) => ("relu4", OUT_OF_PLACE4),
        (false, false) => ("relu_inplace", IN_PLACE),
        (false, true) => ("relu4_inplace", IN_PLACE4),
    };
    let pipeline = gpu.pipeline(Shader::Relu, entry, layout)?;
    let chunk = gpu.chunk_elems();
    let mut start = 0;
    while start < n {
        let len = chunk.min(n - start);
        let (offset, size) = (start * 4, len * 4);
        let items = if vec4 { len / 4 } else { len };
        let binds: Vec<Bind<'_>> = match out.and_then(Tensor::gpu_buffer) {
            Some(dst) => vec![
                Bind {
                    binding: layout[0].0,
                    buffer: src,
                    offset,
                    size,
                },
                Bind {
                    binding: layout[1].0,
                    buffer: dst,
                    offset,
                    size,
                },
            ],
            None => vec![Bind {
                binding: layout[0].0,
                buffer: src,
                offset,
                size,
            }],
        };
        let params = ReluParams {
            len: items as u32,
            _pad: [0; 3],
        };
        let groups = gpu.grid(items.div_ceil(256))?;
        gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), groups)?;
        start += len;
    }
    Ok(())
}
