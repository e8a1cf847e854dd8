//! The GPU kernels: for each op, the launchers that record its WGSL dispatches into a
//! device, and the policy that picks among them where there is a choice. This layer
//! reads op semantics ([`crate::op`]) and records into the device layer
//! ([`crate::device`]); it knows nothing of the CPU reference, model files or the
//! public functions above it.
//!
//! - `wgsl`: uniform structs and flag constants, defined once for Rust and WGSL;
//! - [`shaders`]: the table of WGSL files and their sources as compiled;
//! - `conv2d` (one module per lowering), `conv_transpose2d`, `gemm`, `pool2d`,
//!   `interpolate`, `relu`, `elementwise` (unary, binary, batch_norm), `softmax`,
//!   `resize`, and `copy` (the strided copy of permute, slice and cat);
//! - [`roofline`]: the adapter's roof, measured with the project's own kernels.
//!
//! Adding an op or a dtype: see `ARCHITECTURE.md` at the repository root.

#[macro_use]
mod wgsl;
pub(crate) mod conv2d;
pub(crate) mod conv_transpose2d;
pub(crate) mod convert;
pub(crate) mod copy;
pub(crate) mod elementwise;
pub(crate) mod gemm;
pub(crate) mod interpolate;
pub(crate) mod pool2d;
pub(crate) mod relu;
pub(crate) mod resize;
pub mod roofline;
pub(crate) mod rows;
pub mod shaders;
pub(crate) mod softmax;
mod template;

pub use conv2d::{
    Autotune, AutotuneCache, AutotuneStats, Conv2dAlgo, Conv2dOptions, autotune_stats,
};
pub use gemm::GemmVariant;

use crate::device::{Buf, Device, GpuHandle};
use crate::dtype::{DType, Elem};
use crate::error::{Error, Result};
use crate::op::Call;
use crate::tensor::{IndexTensor, Tensor};

/// Which kernels run where wgcnn has a choice, for every op on one device. Set it per
/// device with `DeviceOptions::default().with(Lowerings { .. })`; a field left `None`
/// takes its environment variable, else the rule for the adapter's kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lowerings {
    /// The GEMM kernel. `None`: `WGCNN_GEMM` (`tiled`, `register`, `subgroup`) if set,
    /// else `subgroup` on a software adapter with subgroups of 8 lanes, `register` on
    /// another software adapter and `tiled` on a GPU.
    pub gemm: Option<GemmVariant>,
    /// The conv2d lowering [`Conv2dAlgo::Auto`] stands for. `None`: `WGCNN_CONV2D`
    /// (`auto`, `im2col`, `direct`, `implicit`, `packed`, `winograd`) if set, else the
    /// per-call rule.
    pub conv2d: Option<Conv2dAlgo>,
    /// Whether the conv2d lowering [`Conv2dAlgo::Auto`] stands for is chosen by timing
    /// the candidates of each shape on the device. `None`: `WGCNN_AUTOTUNE` (`off`,
    /// `on`, `refresh`) if set, else off.
    pub autotune: Option<Autotune>,
    /// How f16 tensors are computed. `None`: `WGCNN_F16` (`native`, `packed`) if set,
    /// else native where the device has `SHADER_F16` and packed elsewhere.
    pub f16: Option<F16Kernels>,
}

/// How kernels hold f16 elements. Both are the same bytes in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum F16Kernels {
    /// `array<f16>`, converted to f32 on load and back on store: needs `SHADER_F16`.
    Native,
    /// `array<u32>`, two f16 to a u32, converted on the bits (`shaders/lib/half.wgsl`):
    /// every adapter.
    Packed,
}

impl F16Kernels {
    /// `native` or `packed`.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for another name.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "native" => Ok(F16Kernels::Native),
            "packed" => Ok(F16Kernels::Packed),
            _ => Err(Error::param(
                "WGCNN_F16",
                format!("unknown f16 kernels '{s}': expected native or packed"),
            )),
        }
    }
}

/// The lowering policy of one device, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Policy {
    pub gemm: GemmVariant,
    pub conv2d: Conv2dAlgo,
    /// The adapter is a CPU driver: the kernels shaped for lavapipe and llvmpipe.
    pub software: bool,
    pub autotune: Autotune,
    /// The GEMM kernel was asked for (`Lowerings::gemm`, `WGCNN_GEMM`), not chosen.
    pub gemm_asked: bool,
    /// The form f16 calls take: [`Elem::F16`] or [`Elem::F16Packed`].
    pub f16: Elem,
}

/// An environment variable's value, if set and not blank.
fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The policy of `gpu`: its [`Lowerings`], then the environment, then the adapter kind.
///
/// # Errors
/// [`Error::InvalidParam`] for a malformed `WGCNN_GEMM`, `WGCNN_CONV2D`,
/// `WGCNN_AUTOTUNE` or `WGCNN_F16`; [`Error::Unsupported`] for native f16 kernels on a
/// device without `SHADER_F16`.
pub(crate) fn policy(gpu: &GpuHandle) -> Result<Policy> {
    let chosen = gpu.extension::<Lowerings>().copied().unwrap_or_default();
    let software = gpu.is_software();
    let asked = match chosen.gemm {
        Some(v) => Some(v),
        None => env("WGCNN_GEMM")
            .map(|v| GemmVariant::parse(&v))
            .transpose()?,
    };
    let gemm_asked = asked.is_some();
    let gemm = asked.unwrap_or(if software && gemm::subgroup_gemm(gpu) {
        GemmVariant::Subgroup
    } else if software {
        GemmVariant::Register
    } else {
        GemmVariant::Tiled
    });
    let conv2d = match chosen.conv2d {
        Some(a) => a,
        None => match env("WGCNN_CONV2D") {
            Some(v) => Conv2dAlgo::parse(&v)?,
            None => Conv2dAlgo::Auto,
        },
    };
    let autotune = match chosen.autotune {
        Some(a) => a,
        None => match env("WGCNN_AUTOTUNE") {
            Some(v) => Autotune::parse(&v)?,
            None => Autotune::Off,
        },
    };
    let f16 = match chosen.f16 {
        Some(k) => Some(k),
        None => env("WGCNN_F16")
            .map(|v| F16Kernels::parse(&v))
            .transpose()?,
    };
    let f16 = match f16 {
        Some(F16Kernels::Native) if !gpu.has_shader_f16() => {
            return Err(Error::Unsupported(
                "native f16 kernels: the device has no SHADER_F16".into(),
            ));
        }
        Some(F16Kernels::Native) => Elem::F16,
        Some(F16Kernels::Packed) => Elem::F16Packed,
        None if gpu.has_shader_f16() => Elem::F16,
        None => Elem::F16Packed,
    };
    Ok(Policy {
        gemm,
        conv2d,
        software,
        autotune,
        gemm_asked,
        f16,
    })
}

/// `v` as the u32 a uniform holds, or a limit error naming `what`.
pub(crate) fn u32_of(v: u64, what: &'static str) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::Limit {
        op: "kernel",
        what,
        requested: v,
        limit: u64::from(u32::MAX),
    })
}

/// Records a checked call on a GPU: its inputs in [`crate::op::OpKind::inputs`] order
/// (`None` for an absent optional input; every tensor of a `cat`) into `out`, and the
/// indices into `indices` for the calls that give them, and charges its estimated cost
/// to the device's submit budget (conv2d and conv_transpose2d run by run of images as
/// they record them, so that a long convolution is split into bounded submits; the
/// other ops whole). An empty output records nothing.
///
/// # Errors
/// Limits of the device, and [`Error::Unsupported`] for a non-empty output from empty
/// inputs (conv2d with no input channels, linear with no features).
pub(crate) fn launch(
    device: &Device,
    gpu: &GpuHandle,
    call: &Call,
    inputs: &[Option<&Tensor>],
    (out, indices): (&Tensor, Option<&IndexTensor>),
    conv: &Conv2dOptions,
) -> Result<()> {
    if out.numel() == 0 {
        return Ok(());
    }
    // every launcher below records in the call's element form
    let elem = match out.dtype() {
        DType::F32 => Elem::F32,
        DType::F16 => policy(gpu)?.f16,
    };
    let gpu = &gpu.in_form(elem);
    let input = |i: usize| -> Result<&Tensor> {
        inputs
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| Error::Backend(format!("missing input {i}")))
    };
    let bias = |i: usize| -> Result<Option<(Buf<'_>, u64)>> {
        match inputs.get(i).copied().flatten() {
            Some(b) => Ok(Some((b.gpu_buffer()?, gpu.bytes(b.numel() as u64)))),
            None => Ok(None),
        }
    };
    let y = out.gpu_buffer()?;
    let idx = indices.map(IndexTensor::gpu_buffer).transpose()?;
    if !matches!(call, Call::Conv2d { .. } | Call::ConvTranspose2d { .. }) {
        gpu.reserve(call.cost())?;
    }
    match call {
        Call::Conv2d {
            geometry, epilogue, ..
        } => {
            let (x, w) = (input(0)?, input(1)?);
            let r = match inputs.get(3).copied().flatten() {
                Some(r) => Some(r.gpu_buffer()?),
                None => None,
            };
            if x.numel() == 0 || w.numel() == 0 {
                // no input channels: the output is the bias (or zeros), then the epilogue
                return conv2d::launch_no_channels(
                    device,
                    gpu,
                    (y, r),
                    bias(2)?,
                    geometry,
                    *epilogue,
                );
            }
            let io = conv2d::ConvIo::new(
                (x.gpu_buffer()?, w.gpu_buffer()?, y),
                gpu.bytes(w.numel() as u64),
                bias(2)?,
                (*epilogue, r),
            );
            conv2d::launch(device, gpu, &io, geometry, conv)
        }
        Call::MaxPool2d { geometry, .. } => {
            pool2d::max_pool2d(gpu, geometry, (input(0)?.gpu_buffer()?, y, idx))
        }
        Call::AvgPool2d {
            geometry,
            count_include_pad,
            divisor_override,
        } => pool2d::avg_pool2d(
            gpu,
            geometry,
            (*count_include_pad, *divisor_override),
            (input(0)?.gpu_buffer()?, y),
        ),
        Call::AdaptiveAvgPool2d(g) => {
            pool2d::adaptive_pool2d(gpu, g, (input(0)?.gpu_buffer()?, y, None))
        }
        Call::AdaptiveMaxPool2d(g) => {
            pool2d::adaptive_pool2d(gpu, g, (input(0)?.gpu_buffer()?, y, idx))
        }
        Call::Interpolate(g) => interpolate::launch(gpu, g, (input(0)?.gpu_buffer()?, y)),
        Call::Relu { .. } => relu::launch(
            gpu,
            out.dtype(),
            input(0)?.gpu_buffer()?,
            Some(y),
            out.numel() as u64,
        ),
        Call::Linear { dims, .. } => {
            if dims[1] == 0 {
                // the output is the bias (or zeros)
                return Err(Error::Unsupported("linear with zero in_features".into()));
            }
            let bias = bias(2)?.map(|(b, _)| b);
            let (x, w) = (input(0)?.gpu_buffer()?, input(1)?.gpu_buffer()?);
            gemm::linear(gpu, (x, w, bias, y), *dims)
        }
        // an empty inner dimension: the product is all zeros
        Call::Matmul { dims: [_, 0, _] } => gpu.clear(y, 0, gpu.bytes(out.numel() as u64)),
        Call::Matmul { dims } => {
            let (a, b) = (input(0)?.gpu_buffer()?, input(1)?.gpu_buffer()?);
            gemm::matmul(gpu, (a, b, y), *dims)
        }
        Call::Unary { f, .. } => {
            elementwise::unary(gpu, *f, (input(0)?.gpu_buffer()?, y), out.numel() as u64)
        }
        Call::Binary { f, geometry } => {
            let (a, b) = (input(0)?.gpu_buffer()?, input(1)?.gpu_buffer()?);
            elementwise::binary(gpu, *f, geometry, (a, b, y))
        }
        Call::Softmax(g) => softmax::launch(device, gpu, g, (input(0)?.gpu_buffer()?, y)),
        Call::BatchNorm { geometry, eps, .. } => {
            let stat = |i: usize| -> Result<Option<Buf<'_>>> {
                inputs
                    .get(i)
                    .copied()
                    .flatten()
                    .map(Tensor::gpu_buffer)
                    .transpose()
            };
            let stats = [stat(1)?, stat(2)?, stat(3)?, stat(4)?];
            elementwise::batch_norm(gpu, geometry, *eps, (input(0)?.gpu_buffer()?, y), stats)
        }
        Call::Resize(g) => resize::launch(device, gpu, g, (input(0)?.gpu_buffer()?, y)),
        Call::ConvTranspose2d { geometry, .. } => {
            let (x, w) = (input(0)?, input(1)?);
            conv_transpose2d::launch(
                device,
                gpu,
                geometry,
                (x.gpu_buffer()?, w.gpu_buffer()?, y),
                gpu.bytes(w.numel() as u64),
                bias(2)?,
            )
        }
        Call::Permute(g) => copy::launch(gpu, &[g.copy()], &[input(0)?.gpu_buffer()?], y),
        Call::Slice(g) => copy::launch(gpu, &[g.copy()], &[input(0)?.gpu_buffer()?], y),
        Call::Cat(g) => {
            // an empty input has no buffer, and its copy records nothing: the output
            // stands in, never read
            let sources = (0..g.shapes.len())
                .map(|i| match input(i)? {
                    t if t.numel() == 0 => Ok(y),
                    t => t.gpu_buffer(),
                })
                .collect::<Result<Vec<_>>>()?;
            copy::launch(gpu, &g.copies(), &sources, y)
        }
    }
}
