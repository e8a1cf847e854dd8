//! One layer of a [`crate::nn::Sequential`]: the modules of `torch.nn` that a CNN
//! classifier or a U-Net block is made of, and how each is built from the JSON layer
//! list of the model format (docs/fixtures.md, op `sequential`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::device::Device;
use crate::error::{Error, Result};
use crate::nn::Conv2d;
use crate::op::interpolate::InterpolateParams;
use crate::op::kwargs::Kwargs;
use crate::op::pool2d::{AvgPool2dParams, MaxPool2dParams};
use crate::op::{Op, OpKind};
use crate::tensor::Tensor;
use crate::tensor_file::HostTensor;

/// `nn.Linear`: `y = x W^T + b`.
#[derive(Debug)]
pub struct Linear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
}

impl Linear {
    /// The layer applied to `x [n, in_features]`.
    ///
    /// # Errors
    /// As [`crate::linear`].
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        crate::linear(x, &self.weight, self.bias.as_ref())
    }
}

/// A layer, named as the `torch.nn` module it stands for.
#[derive(Debug)]
pub enum Layer {
    Conv2d(Conv2d),
    /// `nn.ReLU(inplace)`. wgcnn runs relu in place on every intermediate it owns;
    /// `inplace` only matters for a network's own input, which is never modified.
    ReLU {
        inplace: bool,
    },
    MaxPool2d(MaxPool2dParams),
    AvgPool2d(AvgPool2dParams),
    AdaptiveAvgPool2d([Option<i64>; 2]),
    /// `nn.Upsample`, i.e. `interpolate`.
    Upsample(InterpolateParams),
    /// `nn.Flatten(start_dim, end_dim)`.
    Flatten {
        start_dim: i64,
        end_dim: i64,
    },
    Linear(Linear),
    /// `nn.Dropout` and `nn.Identity`: nothing at inference.
    Identity,
}

/// A layer's input: the network's own input (borrowed) or an intermediate it owns.
pub(crate) enum Act<'a> {
    Borrowed(&'a Tensor),
    Owned(Tensor),
}

impl Act<'_> {
    pub(crate) fn get(&self) -> &Tensor {
        match self {
            Act::Borrowed(t) => t,
            Act::Owned(t) => t,
        }
    }
}

/// The shape `nn.Flatten(start_dim, end_dim)` gives `shape`.
pub(crate) fn flatten_shape(shape: &[usize], start: i64, end: i64) -> Result<Vec<usize>> {
    let rank = shape.len().max(1) as i64;
    let norm = |d: i64| if d < 0 { d + rank } else { d };
    let (s, e) = (norm(start), norm(end));
    for (d, raw) in [(s, start), (e, end)] {
        if d < 0 || d >= rank {
            return Err(Error::param(
                "flatten",
                format!(
                    "Dimension out of range (expected to be in range of [{}, {}], but got {raw})",
                    -rank,
                    rank - 1
                ),
            ));
        }
    }
    if s > e {
        return Err(Error::param(
            "flatten",
            "flatten() has invalid args: start_dim cannot come after end_dim",
        ));
    }
    if shape.is_empty() {
        return Ok(vec![1]);
    }
    let (s, e) = (s as usize, e as usize);
    let flat = shape[s..=e]
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| {
            Error::shape(
                "flatten",
                format!(
                    "dimensions {s} to {e} of {shape:?} hold more than {} elements",
                    usize::MAX
                ),
            )
        })?;
    let mut out = shape[..s].to_vec();
    out.push(flat);
    out.extend_from_slice(&shape[e + 1..]);
    Ok(out)
}

impl Layer {
    /// Runs the layer; `relu_after` fuses a following ReLU (convolutions only).
    pub(crate) fn forward(&self, input: Act<'_>, relu_after: bool) -> Result<Tensor> {
        let x = input.get();
        match self {
            Layer::Conv2d(c) if relu_after => c.forward_relu(x),
            Layer::Conv2d(c) => c.forward(x),
            Layer::ReLU { .. } => match input {
                Act::Owned(mut t) => {
                    crate::relu_(&mut t)?;
                    Ok(t)
                }
                Act::Borrowed(t) => crate::relu(t),
            },
            Layer::MaxPool2d(p) => crate::max_pool2d(x, p),
            Layer::AvgPool2d(p) => crate::avg_pool2d(x, p),
            Layer::AdaptiveAvgPool2d(size) => crate::adaptive_avg_pool2d(x, *size),
            Layer::Upsample(p) => crate::interpolate(x, p),
            Layer::Flatten { start_dim, end_dim } => {
                let shape = flatten_shape(x.shape(), *start_dim, *end_dim)?;
                match input {
                    Act::Owned(t) => t.reshape(&shape),
                    Act::Borrowed(t) => t.try_clone()?.reshape(&shape),
                }
            }
            Layer::Linear(l) => l.forward(x),
            Layer::Identity => match input {
                Act::Owned(t) => Ok(t),
                Act::Borrowed(t) => t.try_clone(),
            },
        }
    }

    /// Whether this is a convolution (which can take a following ReLU).
    pub(crate) fn is_conv(&self) -> bool {
        matches!(self, Layer::Conv2d(_))
    }

    /// Multiply-adds of a convolution or linear layer on `input`'s shape.
    pub fn macs(&self, input: &[usize]) -> u64 {
        match self {
            Layer::Conv2d(c) => c
                .params
                .geometry(input, c.weight.shape(), None)
                .map_or(0, |g| g.macs()),
            Layer::Linear(l) => crate::op::linear::linear_dims(input, l.weight.shape(), None)
                .map_or(0, |[n, k, m]| {
                    [n, k, m]
                        .iter()
                        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
                        .unwrap_or(u64::MAX)
                }),
            _ => 0,
        }
    }

    /// Builds a layer from one entry of the model format's layer list, taking its
    /// weights (`<name>.weight`, `<name>.bias`) out of `weights`.
    ///
    /// # Errors
    /// [`Error::Weights`] for missing or misshapen weights; [`Error::Format`] for an
    /// unknown op; the op's parameter errors.
    pub(crate) fn from_spec(
        name: &str,
        op: &str,
        params: &serde_json::Map<String, Value>,
        weights: &mut BTreeMap<String, HostTensor>,
        device: &Device,
        problems: &mut Vec<String>,
    ) -> Result<Layer> {
        let kw = Kwargs(params);
        let canonical = op.to_ascii_lowercase().replace(['_', '-'], "");
        let mut take = |suffix: &str, required: bool| -> Result<Option<Tensor>> {
            let key = format!("{name}.{suffix}");
            match weights.remove(&key) {
                Some(t) => Tensor::from_slice(device, &t.data, &t.shape).map(Some),
                None if required => {
                    problems.push(format!("Missing key(s) in state_dict: \"{key}\"."));
                    Ok(None)
                }
                None => Ok(None),
            }
        };
        let layer = match canonical.as_str() {
            "conv2d" => {
                let params = kw.conv2d_params()?;
                let expected = expected_conv_weight(&kw, params.groups)?;
                let bias = kw.flag("conv2d", "bias")? == Some(true);
                let weight = take("weight", true)?;
                let bias = take("bias", bias)?;
                let Some(weight) = weight else {
                    return Ok(Layer::Identity); // reported as missing
                };
                if let Some(expected) = expected
                    && !same_shape(&expected, weight.shape())
                {
                    problems.push(size_mismatch(
                        &format!("{name}.weight"),
                        weight.shape(),
                        &expected,
                    ));
                }
                Layer::Conv2d(Conv2d::new(weight, bias, params)?)
            }
            "linear" => {
                let op = "linear";
                let dims = [kw.int(op, "out_features")?, kw.int(op, "in_features")?];
                let bias = kw.flag(op, "bias")? == Some(true);
                let weight = take("weight", true)?;
                let bias = take("bias", bias)?;
                let Some(weight) = weight else {
                    return Ok(Layer::Identity); // reported as missing
                };
                if let [Some(o), Some(i)] = dims
                    && !same_shape(&[o, i], weight.shape())
                {
                    problems.push(size_mismatch(
                        &format!("{name}.weight"),
                        weight.shape(),
                        &[o, i],
                    ));
                }
                Layer::Linear(Linear { weight, bias })
            }
            "flatten" => Layer::Flatten {
                start_dim: kw.int("flatten", "start_dim")?.unwrap_or(1),
                end_dim: kw.int("flatten", "end_dim")?.unwrap_or(-1),
            },
            "dropout" | "identity" => Layer::Identity,
            // the weightless ops, by the registry of op names
            _ => {
                let unsupported = || Error::Unsupported(format!("layer '{op}'"));
                if OpKind::from_name(op).is_none() {
                    return Err(unsupported());
                }
                match Op::from_kwargs(op, kw, &[1, 1, 1, 1])? {
                    Op::Relu => Layer::ReLU {
                        inplace: kw.flag("relu", "inplace")?.unwrap_or(false),
                    },
                    Op::MaxPool2d { params, .. } => Layer::MaxPool2d(params),
                    Op::AvgPool2d(params) => Layer::AvgPool2d(params),
                    Op::AdaptiveAvgPool2d { output_size } => Layer::AdaptiveAvgPool2d(output_size),
                    Op::Interpolate(params) => Layer::Upsample(params),
                    Op::Conv2d { .. }
                    | Op::AdaptiveMaxPool2d { .. }
                    | Op::Linear
                    | Op::Matmul
                    | Op::Unary(_)
                    | Op::Binary(_)
                    | Op::Softmax { .. }
                    | Op::BatchNorm { .. }
                    | Op::Resize(_)
                    | Op::ConvTranspose2d(_)
                    | Op::Permute(_)
                    | Op::Slice(_)
                    | Op::Cat { .. } => {
                        return Err(unsupported());
                    }
                }
            }
        };
        Ok(layer)
    }
}

/// The weight shape an `nn.Conv2d(in_channels, out_channels, kernel_size, groups)`
/// has, when the layer list says.
///
/// # Errors
/// PyTorch's `TypeError`s for mistyped constructor arguments.
fn expected_conv_weight(kw: &Kwargs<'_>, groups: i64) -> Result<Option<Vec<i64>>> {
    let op = "conv2d";
    let c_in = kw.int(op, "in_channels")?;
    let c_out = kw.int(op, "out_channels")?;
    let k = kw.pool_pair(op, "kernel_size")?;
    let (Some(c_in), Some(c_out), Some(k)) = (c_in, c_out, k) else {
        return Ok(None);
    };
    // groups.max(1) >= 1: the division cannot overflow
    Ok(Some(vec![c_out, c_in / groups.max(1), k[0], k[1]]))
}

/// Whether a shape a layer list states (any ints) is the weight's own.
fn same_shape(stated: &[i64], actual: &[usize]) -> bool {
    stated.len() == actual.len()
        && stated
            .iter()
            .zip(actual)
            .all(|(&s, &a)| i128::from(s) == a as i128)
}

fn size_mismatch(key: &str, got: &[usize], want: &[i64]) -> String {
    format!(
        "size mismatch for {key}: copying a param with shape torch.Size({got:?}) from checkpoint, the shape in current model is torch.Size({want:?})."
    )
}
