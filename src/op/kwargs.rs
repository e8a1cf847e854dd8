//! Keyword arguments as PyTorch takes them (`stride=2`, `padding=[1, 0]`,
//! `padding="same"`, ...), read from JSON: the one parser of the fixture format, the
//! model format and the benchmark workloads, so that a call, a layer and a workload
//! read their parameters alike.

use serde_json::Value;

use super::conv2d::{Conv2dParams, Padding, PaddingMode};
use super::interpolate::{InterpolateMode, InterpolateParams};
use super::pool2d::{AvgPool2dParams, MaxPool2dParams};
use crate::error::{Error, Result};

/// A JSON object of keyword arguments, named as in `torch.nn.functional`.
#[derive(Clone, Copy, Debug)]
pub struct Kwargs<'a>(pub &'a serde_json::Map<String, Value>);

impl Kwargs<'_> {
    /// A parameter that PyTorch takes as an int or a list of two (`stride=2`,
    /// `stride=[2, 1]`): `Ok(None)` when absent (or null, or an empty list), `Err` with
    /// the value as PyTorch prints it when malformed.
    fn raw_pair(&self, key: &str) -> std::result::Result<Option<[i64; 2]>, String> {
        let show = |v: &Value| match v {
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(Value::to_string).collect();
                format!("[{}]", items.join(", "))
            }
            other => other.to_string(),
        };
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Number(_)) => v.as_i64().map(|i| Some([i, i])).ok_or_else(|| show(v)),
            Some(v @ Value::Array(items)) => {
                let ints: Option<Vec<i64>> = items.iter().map(Value::as_i64).collect();
                match ints.as_deref() {
                    Some([]) => Ok(None),
                    Some([i]) => Ok(Some([*i, *i])),
                    Some([a, b]) => Ok(Some([*a, *b])),
                    _ => Err(show(v)),
                }
            }
            Some(v) => Err(show(v)),
        }
    }

    /// A conv2d pair parameter, PyTorch's default when absent.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] with PyTorch's message.
    pub fn pair(&self, op: &'static str, key: &str, default: [i64; 2]) -> Result<[i64; 2]> {
        self.raw_pair(key).map(|p| p.unwrap_or(default)).map_err(|v| {
            Error::param(
                op,
                format!(
                    "expected {key} to be a single integer value or a list of 2 values to match the convolution dimensions, but got {key}={v}"
                ),
            )
        })
    }

    /// A pooling pair parameter (`None` when absent), with PyTorch's pooling message.
    pub fn pool_pair(&self, op: &'static str, key: &str) -> Result<Option<[i64; 2]>> {
        self.raw_pair(key).map_err(|_| {
            let what = match key {
                "stride" => "must either be omitted, a single int, or a tuple of two ints",
                "dilation" => "must be either a single int, or a tuple of two ints",
                _ => "must either be a single int, or a tuple of two ints",
            };
            Error::param(op, format!("{op}: {key} {what}"))
        })
    }

    pub fn flag(&self, key: &str) -> Option<bool> {
        self.0.get(key).and_then(Value::as_bool)
    }

    /// The max_pool2d parameters of this fixture.
    ///
    /// # Errors
    /// PyTorch's errors for malformed values.
    pub fn max_pool2d_params(&self) -> Result<MaxPool2dParams> {
        let op = "max_pool2d";
        let kernel = self.pool_pair(op, "kernel_size")?.ok_or_else(|| {
            Error::param(
                op,
                "max_pool2d: kernel_size must either be a single int, or a tuple of two ints",
            )
        })?;
        Ok(MaxPool2dParams {
            kernel_size: kernel,
            stride: self.pool_pair(op, "stride")?,
            padding: self.pool_pair(op, "padding")?.unwrap_or([0, 0]),
            dilation: self.pool_pair(op, "dilation")?.unwrap_or([1, 1]),
            ceil_mode: self.flag("ceil_mode").unwrap_or(false),
        })
    }

    /// The avg_pool2d parameters of this fixture.
    ///
    /// # Errors
    /// PyTorch's errors for malformed values.
    pub fn avg_pool2d_params(&self) -> Result<AvgPool2dParams> {
        let op = "avg_pool2d";
        let kernel = self.pool_pair(op, "kernel_size")?.ok_or_else(|| {
            Error::param(
                op,
                "avg_pool2d: kernel_size must either be a single int, or a tuple of two ints",
            )
        })?;
        Ok(AvgPool2dParams {
            kernel_size: kernel,
            stride: self.pool_pair(op, "stride")?,
            padding: self.pool_pair(op, "padding")?.unwrap_or([0, 0]),
            ceil_mode: self.flag("ceil_mode").unwrap_or(false),
            count_include_pad: self.flag("count_include_pad").unwrap_or(true),
            divisor_override: self.0.get("divisor_override").and_then(Value::as_i64),
        })
    }

    /// `output_size` of an adaptive pool: an int, or a pair whose entries may be null.
    pub fn output_size(&self, op: &'static str) -> Result<[Option<i64>; 2]> {
        match self.0.get("output_size") {
            Some(Value::Number(n)) => Ok([n.as_i64(), n.as_i64()]),
            Some(Value::Array(items)) if items.len() == 2 => {
                Ok([items[0].as_i64(), items[1].as_i64()])
            }
            Some(Value::Array(items)) if items.len() == 1 => {
                Ok([items[0].as_i64(), items[0].as_i64()])
            }
            _ => Err(Error::param(
                op,
                format!("{op}(): internal error: output_size.size() must be 2"),
            )),
        }
    }

    /// The interpolate parameters of this fixture, checked against `input`'s rank.
    ///
    /// # Errors
    /// PyTorch's errors for malformed values.
    pub fn interpolate_params(&self, input: &[usize]) -> Result<InterpolateParams> {
        let op = "interpolate";
        let spatial = &input[input.len().min(2)..];
        let spatial_dims = spatial.len().max(1);
        let mode = InterpolateMode::parse(
            self.0
                .get("mode")
                .and_then(Value::as_str)
                .unwrap_or("nearest"),
        )?;
        if self.flag("antialias") == Some(true) {
            return Err(Error::Unsupported("interpolate with antialias=True".into()));
        }
        let expand = |v: &Value, what: &str| -> Result<Option<Vec<f64>>> {
            let list: Vec<f64> = match v {
                Value::Null => return Ok(None),
                Value::Number(n) => vec![n.as_f64().unwrap_or(f64::NAN); spatial_dims],
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_f64().unwrap_or(f64::NAN))
                    .collect(),
                other => {
                    return Err(Error::param(
                        op,
                        format!("{what} must be a number or a list, got {other}"),
                    ));
                }
            };
            if list.len() != spatial_dims {
                let shown: Vec<String> = list.iter().map(|v| format!("{v}")).collect();
                let (name, fmt) = if what == "size" {
                    ("output size", "output size in (o1, o2, ...,oK)")
                } else {
                    ("scale_factor of shape", "scale_factor in (s1, s2, ...,sK)")
                };
                return Err(Error::param(
                    op,
                    format!(
                        "Input and {what} must have the same number of spatial dimensions, but got input with spatial dimensions of {spatial:?} and {name} [{}]. Please provide input tensor in (N, C, d1, d2, ...,dK) format and {fmt} format.",
                        shown.join(", ")
                    )
                    .replace("Input and size must", "Input and output must"),
                ));
            }
            Ok(Some(list))
        };
        let pad2 = |v: Vec<f64>| {
            if v.len() == 1 {
                [1.0, v[0]]
            } else {
                [v[0], v[1]]
            }
        };
        let size = match self.0.get("size") {
            Some(v) => expand(v, "size")?.map(|s| pad2(s).map(|x| x as i64)),
            None => None,
        };
        let scale_factor = match self.0.get("scale_factor") {
            Some(v) => expand(v, "scale_factor")?.map(pad2),
            None => None,
        };
        Ok(InterpolateParams {
            size,
            scale_factor,
            mode,
            align_corners: self.flag("align_corners"),
            recompute_scale_factor: self.flag("recompute_scale_factor"),
        })
    }

    /// The conv2d parameters of this fixture.
    ///
    /// # Errors
    /// PyTorch's errors for malformed values.
    pub fn conv2d_params(&self) -> Result<Conv2dParams> {
        let op = "conv2d";
        let padding = match self.0.get("padding") {
            Some(Value::String(s)) => match s.as_str() {
                "same" => Padding::Same,
                "valid" => Padding::Valid,
                other => {
                    return Err(Error::param(
                        op,
                        format!("Invalid padding string: '{other}'"),
                    ));
                }
            },
            _ => Padding::Explicit(self.pair(op, "padding", [0, 0])?),
        };
        let groups = match self.0.get("groups") {
            None => 1,
            Some(v) => v
                .as_i64()
                .ok_or_else(|| Error::param(op, format!("groups must be an integer, got {v}")))?,
        };
        let padding_mode = match self.0.get("padding_mode").and_then(Value::as_str) {
            None => PaddingMode::Zeros,
            Some(m) => PaddingMode::parse(m)?,
        };
        Ok(Conv2dParams {
            stride: self.pair(op, "stride", [1, 1])?,
            padding,
            dilation: self.pair(op, "dilation", [1, 1])?,
            groups,
            padding_mode,
        })
    }
}
