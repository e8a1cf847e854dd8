//! What each operator means, apart from any backend: its parameters named as PyTorch
//! names them, its checks in PyTorch's words, and the geometry (every size) of a call.
//! The CPU reference and the GPU kernels both read this layer and nothing above it.
//!
//! [`Op`] is one call of an operator with its parameters; [`Op::from_kwargs`] is the one
//! registry of op names that the fixture format, model files and benchmark workloads
//! share; [`Op::check`] resolves a call on its input shapes into a [`Call`], which the
//! reference and the kernels run.

pub mod batch_norm;
pub mod conv2d;
pub mod conv_transpose2d;
pub mod copy;
pub mod elementwise;
pub mod interpolate;
pub mod kwargs;
pub mod linear;
pub mod pool2d;
pub mod resize;
pub mod softmax;

use self::batch_norm::BatchNormGeometry;
use self::conv_transpose2d::{ConvTranspose2dGeometry, ConvTranspose2dParams};
use self::conv2d::{Conv2dGeometry, Conv2dParams, Epilogue};
use self::copy::{CatGeometry, Permutation, PermuteGeometry, SliceGeometry, SliceParams};
use self::elementwise::{Binary, BroadcastGeometry, Unary};
use self::interpolate::{InterpolateGeometry, InterpolateMode, InterpolateParams};
use self::kwargs::Kwargs;
use self::pool2d::{AdaptiveGeometry, AvgPool2dParams, MaxPool2dParams, Pool2dGeometry};
use self::resize::{ResizeGeometry, ResizeMode, ResizeParams};
use self::softmax::SoftmaxGeometry;
use crate::error::{Error, Result};

/// `v`, a size or parameter of a call (non-negative), as the `usize` the reference and
/// the kernels read, when it fits the u32 that a kernel's uniform holds. Checked here,
/// in the op layer, so that every backend accepts and rejects the same calls.
///
/// # Errors
/// [`Error::Limit`] naming `op` and `what` (a value PyTorch would accept).
pub(crate) fn fit_u32(op: &'static str, what: &'static str, v: i128) -> Result<usize> {
    u32::try_from(v).map(|x| x as usize).map_err(|_| {
        Error::limit(
            op,
            what,
            u64::try_from(v.unsigned_abs()).unwrap_or(u64::MAX),
            u64::from(u32::MAX),
        )
    })
}

/// `[n, c, h, w]`, or `[c, h, w]` for a call on an unbatched image.
fn image_shape(unbatched: bool, [n, c, h, w]: [usize; 4]) -> Vec<usize> {
    if unbatched {
        vec![c, h, w]
    } else {
        vec![n, c, h, w]
    }
}

/// The kinds of operator, each with its `torch.nn.functional` name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    Conv2d,
    MaxPool2d,
    AvgPool2d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    Interpolate,
    Relu,
    Linear,
    Matmul,
    LeakyRelu,
    Hardtanh,
    Sigmoid,
    Hardsigmoid,
    Hardswish,
    Tanh,
    Add,
    Sub,
    Mul,
    Div,
    Softmax,
    BatchNorm,
    /// ONNX `Resize` (no `torch.nn.functional` name of its own).
    Resize,
    ConvTranspose2d,
    Permute,
    Slice,
    Cat,
}

impl OpKind {
    /// Every kind.
    pub const ALL: [OpKind; 26] = [
        Self::Conv2d,
        Self::MaxPool2d,
        Self::AvgPool2d,
        Self::AdaptiveAvgPool2d,
        Self::AdaptiveMaxPool2d,
        Self::Interpolate,
        Self::Relu,
        Self::Linear,
        Self::Matmul,
        Self::LeakyRelu,
        Self::Hardtanh,
        Self::Sigmoid,
        Self::Hardsigmoid,
        Self::Hardswish,
        Self::Tanh,
        Self::Add,
        Self::Sub,
        Self::Mul,
        Self::Div,
        Self::Softmax,
        Self::BatchNorm,
        Self::Resize,
        Self::ConvTranspose2d,
        Self::Permute,
        Self::Slice,
        Self::Cat,
    ];

    /// The `torch.nn.functional` (or `torch`) name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Conv2d => "conv2d",
            Self::MaxPool2d => "max_pool2d",
            Self::AvgPool2d => "avg_pool2d",
            Self::AdaptiveAvgPool2d => "adaptive_avg_pool2d",
            Self::AdaptiveMaxPool2d => "adaptive_max_pool2d",
            Self::Interpolate => "interpolate",
            Self::Relu => "relu",
            Self::Linear => "linear",
            Self::Matmul => "matmul",
            Self::LeakyRelu => "leaky_relu",
            Self::Hardtanh => "hardtanh",
            Self::Sigmoid => "sigmoid",
            Self::Hardsigmoid => "hardsigmoid",
            Self::Hardswish => "hardswish",
            Self::Tanh => "tanh",
            Self::Add => "add",
            Self::Sub => "sub",
            Self::Mul => "mul",
            Self::Div => "div",
            Self::Softmax => "softmax",
            Self::BatchNorm => "batch_norm",
            Self::Resize => "resize",
            Self::ConvTranspose2d => "conv_transpose2d",
            Self::Permute => "permute",
            Self::Slice => "slice",
            Self::Cat => "cat",
        }
    }

    /// The kind a name stands for: a functional name (`max_pool2d`) or a `torch.nn`
    /// module name (`MaxPool2d`, `ReLU`, `Upsample`), compared without case, `_` or
    /// `-`.
    pub fn from_name(name: &str) -> Option<Self> {
        let canonical = |s: &str| s.to_ascii_lowercase().replace(['_', '-'], "");
        let wanted = canonical(name);
        if wanted == "upsample" {
            return Some(Self::Interpolate);
        }
        Self::ALL
            .into_iter()
            .find(|k| canonical(k.name()) == wanted)
    }

    /// The names of the inputs, in order; conv2d's, conv_transpose2d's and linear's
    /// `bias`, conv2d's `residual` (an epilogue's) and batch_norm's `weight` and `bias`
    /// are optional. `cat` takes any number
    /// of inputs (one or more), all `tensors`: a call passes each of them, in order.
    pub fn inputs(self) -> &'static [&'static str] {
        match self {
            Self::Conv2d => &["input", "weight", "bias", "residual"],
            Self::ConvTranspose2d | Self::Linear => &["input", "weight", "bias"],
            Self::Cat => &["tensors"],
            Self::Matmul | Self::Add | Self::Sub | Self::Mul | Self::Div => &["input", "other"],
            Self::BatchNorm => &["input", "running_mean", "running_var", "weight", "bias"],
            _ => &["input"],
        }
    }
}

/// One call of an operator with its parameters (not yet its inputs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// `conv2d(input, weight, bias)`, then its [`Epilogue`] (a residual added, an
    /// activation) in the same kernel.
    Conv2d {
        params: Conv2dParams,
        epilogue: Epilogue,
    },
    MaxPool2d {
        params: MaxPool2dParams,
        return_indices: bool,
    },
    AvgPool2d(AvgPool2dParams),
    /// `output_size` entries of `None` keep the input's size.
    AdaptiveAvgPool2d {
        output_size: [Option<i64>; 2],
    },
    /// Computes the indices always; `return_indices` says whether a caller wants them.
    AdaptiveMaxPool2d {
        output_size: [Option<i64>; 2],
        return_indices: bool,
    },
    Interpolate(InterpolateParams),
    Relu,
    /// `linear(input, weight, bias)`.
    Linear,
    /// `matmul(input, other)` of two matrices.
    Matmul,
    /// A unary elementwise op (`Unary::Relu` runs relu's kernel, as [`Op::Relu`]).
    Unary(Unary),
    /// `input op other`, broadcast.
    Binary(Binary),
    /// `softmax(input, dim)`.
    Softmax {
        dim: i64,
    },
    /// `batch_norm(input, running_mean, running_var, weight, bias, training=False,
    /// eps=eps)`.
    BatchNorm {
        eps: f32,
    },
    /// ONNX `Resize` of an NCHW tensor.
    Resize(ResizeParams),
    /// `conv_transpose2d(input, weight, bias)`.
    ConvTranspose2d(ConvTranspose2dParams),
    /// `permute(input, dims)`.
    Permute(Permutation),
    /// `input[.., start:end:step, ..]` along one dimension.
    Slice(SliceParams),
    /// `cat(tensors, dim)`, `dim` negative counting from the end.
    Cat {
        dim: i64,
    },
}

impl Op {
    /// The kind of operator.
    pub fn kind(&self) -> OpKind {
        match self {
            Op::Conv2d { .. } => OpKind::Conv2d,
            Op::MaxPool2d { .. } => OpKind::MaxPool2d,
            Op::AvgPool2d(_) => OpKind::AvgPool2d,
            Op::AdaptiveAvgPool2d { .. } => OpKind::AdaptiveAvgPool2d,
            Op::AdaptiveMaxPool2d { .. } => OpKind::AdaptiveMaxPool2d,
            Op::Interpolate(_) => OpKind::Interpolate,
            Op::Relu => OpKind::Relu,
            Op::Linear => OpKind::Linear,
            Op::Matmul => OpKind::Matmul,
            Op::Unary(f) => match f {
                Unary::Relu => OpKind::Relu,
                Unary::LeakyRelu { .. } => OpKind::LeakyRelu,
                Unary::Clamp { .. } => OpKind::Hardtanh,
                Unary::Sigmoid => OpKind::Sigmoid,
                Unary::HardSigmoid { .. } => OpKind::Hardsigmoid,
                Unary::HardSwish => OpKind::Hardswish,
                Unary::Tanh => OpKind::Tanh,
            },
            Op::Binary(f) => match f {
                Binary::Add => OpKind::Add,
                Binary::Sub => OpKind::Sub,
                Binary::Mul => OpKind::Mul,
                Binary::Div => OpKind::Div,
            },
            Op::Softmax { .. } => OpKind::Softmax,
            Op::BatchNorm { .. } => OpKind::BatchNorm,
            Op::Resize(_) => OpKind::Resize,
            Op::ConvTranspose2d(_) => OpKind::ConvTranspose2d,
            Op::Permute(_) => OpKind::Permute,
            Op::Slice(_) => OpKind::Slice,
            Op::Cat { .. } => OpKind::Cat,
        }
    }

    /// The `torch.nn.functional` name.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The op `name` (see [`OpKind::from_name`]) with keyword arguments `kw`, as the
    /// fixture format, model files and benchmark workloads write them. `input` is the
    /// input's shape where the parameters depend on its rank (interpolate's `size`).
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a name no op has; PyTorch's errors for malformed
    /// parameters, and its `TypeError`s (as [`Error::InvalidParam`]) for mistyped ones.
    pub fn from_kwargs(name: &str, kw: Kwargs<'_>, input: &[usize]) -> Result<Op> {
        let kind =
            OpKind::from_name(name).ok_or_else(|| Error::Unsupported(format!("op '{name}'")))?;
        let return_indices = kw.flag(kind.name(), "return_indices")? == Some(true);
        Ok(match kind {
            OpKind::Conv2d => Op::Conv2d {
                params: kw.conv2d_params()?,
                epilogue: Epilogue::default(),
            },
            OpKind::MaxPool2d => Op::MaxPool2d {
                params: kw.max_pool2d_params()?,
                return_indices,
            },
            OpKind::AvgPool2d => Op::AvgPool2d(kw.avg_pool2d_params()?),
            OpKind::AdaptiveAvgPool2d => Op::AdaptiveAvgPool2d {
                output_size: kw.output_size(kind.name())?,
            },
            OpKind::AdaptiveMaxPool2d => Op::AdaptiveMaxPool2d {
                output_size: kw.output_size(kind.name())?,
                return_indices,
            },
            OpKind::Interpolate => Op::Interpolate(kw.interpolate_params(input)?),
            OpKind::Relu => Op::Relu,
            OpKind::Linear => Op::Linear,
            OpKind::Matmul => Op::Matmul,
            OpKind::LeakyRelu => Op::Unary(Unary::LeakyRelu {
                negative_slope: kw.number(kind.name(), "negative_slope")?.unwrap_or(0.01) as f32,
            }),
            OpKind::Hardtanh => Op::Unary(Unary::Clamp {
                min: kw.number(kind.name(), "min_val")?.unwrap_or(-1.0) as f32,
                max: kw.number(kind.name(), "max_val")?.unwrap_or(1.0) as f32,
            }),
            OpKind::Sigmoid => Op::Unary(Unary::Sigmoid),
            OpKind::Hardsigmoid => Op::Unary(Unary::HardSigmoid {
                alpha: 1.0 / 6.0,
                beta: 0.5,
            }),
            OpKind::Hardswish => Op::Unary(Unary::HardSwish),
            OpKind::Tanh => Op::Unary(Unary::Tanh),
            OpKind::Add | OpKind::Sub | OpKind::Mul | OpKind::Div => {
                let f = match kind {
                    OpKind::Add => Binary::Add,
                    OpKind::Sub => Binary::Sub,
                    OpKind::Mul => Binary::Mul,
                    _ => Binary::Div,
                };
                if matches!(f, Binary::Add | Binary::Sub)
                    && kw.number(kind.name(), "alpha")?.is_some_and(|a| a != 1.0)
                {
                    return Err(Error::Unsupported(format!("{} with alpha != 1", f.name())));
                }
                if f == Binary::Div && kw.string(kind.name(), "rounding_mode")?.is_some() {
                    return Err(Error::Unsupported("div with a rounding_mode".into()));
                }
                Op::Binary(f)
            }
            OpKind::Softmax => Op::Softmax {
                dim: kw
                    .int(kind.name(), "dim")?
                    .unwrap_or_else(|| softmax::implicit_dim(input.len())),
            },
            OpKind::BatchNorm => {
                if kw.flag(kind.name(), "training")? == Some(true) {
                    return Err(Error::Unsupported("batch_norm with training=True".into()));
                }
                Op::BatchNorm {
                    eps: kw.number(kind.name(), "eps")?.unwrap_or(1e-5) as f32,
                }
            }
            OpKind::Resize => {
                return Err(Error::Unsupported(
                    "resize from keyword arguments (call functional::resize)".into(),
                ));
            }
            OpKind::ConvTranspose2d => Op::ConvTranspose2d(kw.conv_transpose2d_params()?),
            OpKind::Permute => {
                let dims = kw.ints(kind.name(), "dims")?.ok_or_else(|| {
                    Error::param(
                        kind.name(),
                        "permute() missing 1 required positional arguments: \"dims\"",
                    )
                })?;
                Op::Permute(Permutation::new(&dims)?)
            }
            OpKind::Slice => Op::Slice(kw.slice_params()?),
            OpKind::Cat => Op::Cat {
                dim: kw.int(kind.name(), "dim")?.unwrap_or(0),
            },
        })
    }

    /// Whether results must equal PyTorch's bit for bit: the selection ops (relu, max
    /// pooling, nearest interpolation) and the copies (permute, slice, cat), which
    /// compute nothing new.
    pub fn is_exact(&self) -> bool {
        match self {
            Op::Relu
            | Op::MaxPool2d { .. }
            | Op::AdaptiveMaxPool2d { .. }
            | Op::Permute(_)
            | Op::Slice(_)
            | Op::Cat { .. } => true,
            Op::Interpolate(p) => p.mode != InterpolateMode::Bilinear,
            Op::Unary(f) => f.is_exact(),
            Op::Resize(p) => p.mode == ResizeMode::Nearest,
            Op::Conv2d { .. }
            | Op::AvgPool2d(_)
            | Op::AdaptiveAvgPool2d { .. }
            | Op::Linear
            | Op::Matmul
            | Op::Binary(_)
            | Op::Softmax { .. }
            | Op::BatchNorm { .. } => false,
            Op::ConvTranspose2d(_) => false,
        }
    }

    /// Checks the call on its inputs' shapes (in [`OpKind::inputs`] order, `None` for an
    /// absent optional input; every tensor of a `cat`) as PyTorch does, and resolves
    /// its geometry.
    ///
    /// # Errors
    /// PyTorch's shape and parameter errors; [`Error::Shape`] for a missing input.
    pub fn check(&self, inputs: &[Option<&[usize]>]) -> Result<Call> {
        let name = self.name();
        let input = |i: usize| -> Result<&[usize]> {
            inputs.get(i).copied().flatten().ok_or_else(|| {
                Error::shape(
                    name,
                    format!("missing argument '{}'", self.kind().inputs()[i]),
                )
            })
        };
        let optional = |i: usize| inputs.get(i).copied().flatten();
        Ok(match *self {
            Op::Conv2d { params, epilogue } => {
                let geometry = params.geometry(input(0)?, input(1)?, optional(2))?;
                let out = geometry.output_shape();
                match (epilogue.residual, optional(3)) {
                    (true, Some(r)) if r == out.as_slice() => {}
                    (true, r) => {
                        return Err(Error::shape(
                            name,
                            format!("the residual must have the output's shape {out:?}, got {r:?}"),
                        ));
                    }
                    (false, Some(_)) => {
                        return Err(Error::shape(
                            name,
                            "a residual was given to a convolution that adds none",
                        ));
                    }
                    (false, None) => {}
                }
                Call::Conv2d {
                    geometry,
                    epilogue,
                    bias: optional(2).is_some(),
                }
            }
            Op::MaxPool2d {
                params,
                return_indices,
            } => Call::MaxPool2d {
                geometry: params.geometry(input(0)?)?,
                indices: return_indices,
            },
            Op::AvgPool2d(params) => Call::AvgPool2d {
                geometry: params.geometry(input(0)?)?,
                count_include_pad: params.count_include_pad,
                divisor_override: params.divisor_override,
            },
            Op::AdaptiveAvgPool2d { output_size } => {
                Call::AdaptiveAvgPool2d(AdaptiveGeometry::new(name, input(0)?, output_size)?)
            }
            Op::AdaptiveMaxPool2d { output_size, .. } => {
                Call::AdaptiveMaxPool2d(AdaptiveGeometry::new(name, input(0)?, output_size)?)
            }
            Op::Interpolate(params) => Call::Interpolate(params.geometry(input(0)?)?),
            Op::Relu => Call::Relu {
                shape: input(0)?.to_vec(),
            },
            Op::Linear => Call::Linear {
                dims: linear::linear_dims(input(0)?, input(1)?, optional(2))?,
                bias: optional(2).is_some(),
            },
            Op::Matmul => Call::Matmul {
                dims: linear::matmul_dims(input(0)?, input(1)?)?,
            },
            Op::Unary(Unary::Relu) => Call::Relu {
                shape: input(0)?.to_vec(),
            },
            Op::Unary(f) => Call::Unary {
                f,
                shape: input(0)?.to_vec(),
            },
            Op::Binary(f) => Call::Binary {
                f,
                geometry: BroadcastGeometry::new(name, input(0)?, input(1)?)?,
            },
            Op::Softmax { dim } => Call::Softmax(SoftmaxGeometry::new(input(0)?, dim)?),
            Op::BatchNorm { eps } => Call::BatchNorm {
                geometry: BatchNormGeometry::new(
                    input(0)?,
                    [
                        ("running_mean", Some(input(1)?)),
                        ("running_var", Some(input(2)?)),
                        ("weight", optional(3)),
                        ("bias", optional(4)),
                    ],
                )?,
                eps,
                weight: optional(3).is_some(),
                bias: optional(4).is_some(),
            },
            Op::Resize(params) => Call::Resize(params.geometry(input(0)?)?),
            Op::ConvTranspose2d(params) => Call::ConvTranspose2d {
                geometry: params.geometry(input(0)?, input(1)?, optional(2))?,
                bias: optional(2).is_some(),
            },
            Op::Permute(p) => Call::Permute(p.geometry(input(0)?)?),
            Op::Slice(p) => Call::Slice(p.geometry(input(0)?)?),
            Op::Cat { dim } => {
                let shapes = inputs
                    .iter()
                    .map(|s| s.ok_or_else(|| Error::shape(name, "missing argument 'tensors'")))
                    .collect::<Result<Vec<_>>>()?;
                Call::Cat(copy::cat_geometry(&shapes, dim)?)
            }
        })
    }
}

/// A checked call: the op with every size its inputs give it. What the reference and
/// the kernels run.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    Conv2d {
        geometry: Conv2dGeometry,
        epilogue: Epilogue,
        bias: bool,
    },
    MaxPool2d {
        geometry: Pool2dGeometry,
        indices: bool,
    },
    AvgPool2d {
        geometry: Pool2dGeometry,
        count_include_pad: bool,
        divisor_override: Option<i64>,
    },
    AdaptiveAvgPool2d(AdaptiveGeometry),
    /// Always with indices.
    AdaptiveMaxPool2d(AdaptiveGeometry),
    Interpolate(InterpolateGeometry),
    Relu {
        shape: Vec<usize>,
    },
    /// `[n, k, m]`: input `[n, k]`, weight `[m, k]`.
    Linear {
        dims: [usize; 3],
        bias: bool,
    },
    /// `[m, k, n]`: `[m, k] @ [k, n]`.
    Matmul {
        dims: [usize; 3],
    },
    /// A unary op other than relu (which is [`Call::Relu`]).
    Unary {
        f: Unary,
        shape: Vec<usize>,
    },
    Binary {
        f: Binary,
        geometry: BroadcastGeometry,
    },
    Softmax(SoftmaxGeometry),
    BatchNorm {
        geometry: BatchNormGeometry,
        eps: f32,
        weight: bool,
        bias: bool,
    },
    Resize(ResizeGeometry),
    ConvTranspose2d {
        geometry: ConvTranspose2dGeometry,
        bias: bool,
    },
    Permute(PermuteGeometry),
    Slice(SliceGeometry),
    Cat(CatGeometry),
}

impl Call {
    /// The output's shape.
    pub fn output_shape(&self) -> Vec<usize> {
        match self {
            Call::Conv2d { geometry, .. } => geometry.output_shape(),
            Call::MaxPool2d { geometry, .. } | Call::AvgPool2d { geometry, .. } => {
                geometry.output_shape()
            }
            Call::AdaptiveAvgPool2d(g) | Call::AdaptiveMaxPool2d(g) => g.output_shape(),
            Call::Interpolate(g) => g.output_shape(),
            Call::Relu { shape } | Call::Unary { shape, .. } => shape.clone(),
            Call::Binary { geometry, .. } => geometry.shape.clone(),
            Call::Softmax(g) => g.output_shape(),
            Call::BatchNorm { geometry, .. } => geometry.output_shape(),
            Call::Resize(g) => g.output_shape(),
            Call::Linear {
                dims: [n, _, m], ..
            } => vec![*n, *m],
            Call::Matmul { dims: [m, _, n] } => vec![*m, *n],
            Call::ConvTranspose2d { geometry, .. } => geometry.output_shape(),
            Call::Permute(g) => g.output_shape(),
            Call::Slice(g) => g.output_shape(),
            Call::Cat(g) => g.output_shape(),
        }
    }

    /// Whether the call also gives the index of each maximum (shaped as the output).
    pub fn has_indices(&self) -> bool {
        match self {
            Call::MaxPool2d { indices, .. } => *indices,
            Call::AdaptiveMaxPool2d(_) => true,
            _ => false,
        }
    }

    /// Multiply-adds of the call (0 for the ops that do none; `u64::MAX` past that).
    pub fn macs(&self) -> u64 {
        match self {
            Call::Conv2d { geometry, .. } => geometry.macs(),
            Call::ConvTranspose2d { geometry, .. } => geometry.macs(),
            Call::Linear { dims, .. } | Call::Matmul { dims } => dims
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
                .unwrap_or(u64::MAX),
            _ => 0,
        }
    }

    /// An estimate of the call's work, for bounding submits: its multiply-adds plus the
    /// elements it writes.
    pub fn cost(&self) -> u64 {
        let written = self
            .output_shape()
            .iter()
            .fold(1u64, |n, &d| n.saturating_mul(d as u64));
        self.macs().saturating_add(written)
    }
}
