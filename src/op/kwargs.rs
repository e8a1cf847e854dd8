//! Keyword arguments as PyTorch takes them (`stride=2`, `padding=[1, 0]`,
//! `padding="same"`, ...), read from JSON: the one parser of the fixture format, the
//! model format and the benchmark workloads, so that a call, a layer and a workload
//! read their parameters alike.

use serde_json::Value;

use super::conv_transpose2d::ConvTranspose2dParams;
use super::conv2d::{Conv2dParams, Padding, PaddingMode};
use super::copy::SliceParams;
use super::interpolate::{InterpolateMode, InterpolateParams};
use super::pool2d::{AvgPool2dParams, MaxPool2dParams};
use crate::error::{Error, Result};

/// A JSON object of keyword arguments, named as in `torch.nn.functional`.
///
/// Values are typed as PyTorch types them: an int is a JSON integer (never a float,
/// however whole, nor a bool), a bool is a JSON bool, a float any JSON number. A value
/// of another type is PyTorch's `TypeError`, as [`Error::InvalidParam`] in its words
/// (`avg_pool2d(): argument 'divisor_override' must be int, not float`).
#[derive(Clone, Copy, Debug)]
pub struct Kwargs<'a>(pub &'a serde_json::Map<String, Value>);

/// The Python type of a JSON value, as PyTorch's `TypeError`s name it.
fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int",
        Value::Number(_) => "float",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// PyTorch's `TypeError` for argument `key` of `op` that is not of type `expected`.
fn type_error(op: &'static str, key: &str, expected: &str, v: &Value) -> Error {
    Error::param(
        op,
        format!(
            "{op}(): argument '{key}' must be {expected}, not {}",
            py_type(v)
        ),
    )
}

/// PyTorch's `TypeError` for element `pos` of a list argument.
fn element_error(op: &'static str, key: &str, expected: &str, v: &Value, pos: usize) -> Error {
    Error::param(
        op,
        format!(
            "{op}(): argument '{key}' must be {expected}, but found element of type {} at pos {pos}",
            py_type(v)
        ),
    )
}

/// An int as PyTorch's argument parser takes one: `Ok(None)` for a value of another
/// type, an error for an integer past i64 (Python's overflow when unpacking it).
fn int_of(op: &'static str, key: &str, v: &Value) -> Result<Option<i64>> {
    match v {
        Value::Number(n) if n.is_u64() && !n.is_i64() => Err(Error::param(
            op,
            format!("{op}(): argument '{key}': Overflow when unpacking long ({n})"),
        )),
        Value::Number(n) => Ok(n.as_i64()),
        _ => Ok(None),
    }
}

/// How a pair parameter is malformed.
enum PairError {
    /// A value of the wrong type: PyTorch's `TypeError`, ready to return.
    Type(Error),
    /// The wrong number of values: the value as PyTorch prints it.
    Length(String),
}

impl Kwargs<'_> {
    /// A parameter that PyTorch takes as an int or a list of two (`stride=2`,
    /// `stride=[2, 1]`): `Ok(None)` when absent (or null, or an empty list).
    fn raw_pair(&self, op: &'static str, key: &str) -> Result<Option<[i64; 2]>, PairError> {
        let expected = "tuple of ints";
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Number(_)) => match int_of(op, key, v).map_err(PairError::Type)? {
                Some(i) => Ok(Some([i, i])),
                None => Err(PairError::Type(type_error(op, key, expected, v))),
            },
            Some(Value::Array(items)) => {
                let mut ints = Vec::with_capacity(items.len());
                for (pos, item) in items.iter().enumerate() {
                    match int_of(op, key, item).map_err(PairError::Type)? {
                        Some(i) => ints.push(i),
                        None => {
                            return Err(PairError::Type(element_error(
                                op, key, expected, item, pos,
                            )));
                        }
                    }
                }
                match ints[..] {
                    [] => Ok(None),
                    [i] => Ok(Some([i, i])),
                    [a, b] => Ok(Some([a, b])),
                    _ => Err(PairError::Length(format!(
                        "[{}]",
                        ints.iter()
                            .map(i64::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))),
                }
            }
            Some(v) => Err(PairError::Type(type_error(op, key, expected, v))),
        }
    }

    /// A conv2d pair parameter, PyTorch's default when absent.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] with PyTorch's message.
    pub fn pair(&self, op: &'static str, key: &str, default: [i64; 2]) -> Result<[i64; 2]> {
        match self.raw_pair(op, key) {
            Ok(p) => Ok(p.unwrap_or(default)),
            Err(PairError::Type(e)) => Err(e),
            Err(PairError::Length(v)) => Err(Error::param(
                op,
                format!(
                    "expected {key} to be a single integer value or a list of 2 values to match the convolution dimensions, but got {key}={v}"
                ),
            )),
        }
    }

    /// A pooling pair parameter (`None` when absent), with PyTorch's pooling message.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] with PyTorch's message.
    pub fn pool_pair(&self, op: &'static str, key: &str) -> Result<Option<[i64; 2]>> {
        match self.raw_pair(op, key) {
            Ok(p) => Ok(p),
            Err(PairError::Type(e)) => Err(e),
            Err(PairError::Length(_)) => {
                let what = match key {
                    "stride" => "must either be omitted, a single int, or a tuple of two ints",
                    "dilation" => "must be either a single int, or a tuple of two ints",
                    _ => "must either be a single int, or a tuple of two ints",
                };
                Err(Error::param(op, format!("{op}: {key} {what}")))
            }
        }
    }

    /// A bool parameter of `op`: `None` when absent or null.
    ///
    /// # Errors
    /// PyTorch's `TypeError` for a value that is not a JSON bool.
    pub fn flag(&self, op: &'static str, key: &str) -> Result<Option<bool>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(type_error(op, key, "bool", v)),
        }
    }

    /// An int parameter of `op`: `None` when absent or null.
    ///
    /// # Errors
    /// PyTorch's `TypeError` for a value that is not a JSON integer (a float such as
    /// `3.0` included, as PyTorch rejects it).
    pub fn int(&self, op: &'static str, key: &str) -> Result<Option<i64>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => int_of(op, key, v)?
                .map(Some)
                .ok_or_else(|| type_error(op, key, "int", v)),
        }
    }

    /// A float parameter of `op` (an int is taken, as Python takes one for a float):
    /// `None` when absent or null.
    ///
    /// # Errors
    /// PyTorch's `TypeError` for a value that is not a JSON number.
    pub fn number(&self, op: &'static str, key: &str) -> Result<Option<f64>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(v) => Err(type_error(op, key, "float", v)),
        }
    }

    /// A list-of-ints parameter of `op` (`dims=[0, 2, 1]`): `None` when absent or
    /// null.
    ///
    /// # Errors
    /// PyTorch's `TypeError` for a value that is not a list of JSON integers.
    pub fn ints(&self, op: &'static str, key: &str) -> Result<Option<Vec<i64>>> {
        let expected = "tuple of ints";
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(pos, item)| {
                    int_of(op, key, item)?
                        .ok_or_else(|| element_error(op, key, expected, item, pos))
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(v) => Err(type_error(op, key, expected, v)),
        }
    }

    /// A string parameter of `op`: `None` when absent or null.
    ///
    /// # Errors
    /// PyTorch's `TypeError` for a value that is not a JSON string.
    pub fn string(&self, op: &'static str, key: &str) -> Result<Option<&str>> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(type_error(op, key, "str", v)),
        }
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
            ceil_mode: self.flag(op, "ceil_mode")?.unwrap_or(false),
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
            ceil_mode: self.flag(op, "ceil_mode")?.unwrap_or(false),
            count_include_pad: self.flag(op, "count_include_pad")?.unwrap_or(true),
            divisor_override: self.int(op, "divisor_override")?,
        })
    }

    /// `output_size` of an adaptive pool: an int, or a pair whose entries may be null.
    ///
    /// # Errors
    /// PyTorch's `TypeError` for a value or entry that is not an int (or null); its
    /// error for a list of another length.
    pub fn output_size(&self, op: &'static str) -> Result<[Option<i64>; 2]> {
        let key = "output_size";
        let expected = "tuple of ints";
        match self.0.get(key) {
            Some(v @ Value::Number(_)) => match int_of(op, key, v)? {
                Some(i) => Ok([Some(i), Some(i)]),
                None => Err(type_error(op, key, expected, v)),
            },
            Some(Value::Array(items)) if matches!(items.len(), 1 | 2) => {
                let mut out = [None; 2];
                for (pos, item) in items.iter().enumerate() {
                    out[pos] = match item {
                        Value::Null => None,
                        _ => Some(
                            int_of(op, key, item)?
                                .ok_or_else(|| element_error(op, key, expected, item, pos))?,
                        ),
                    };
                }
                if items.len() == 1 {
                    out[1] = out[0];
                }
                Ok(out)
            }
            Some(v @ (Value::Bool(_) | Value::String(_) | Value::Object(_))) => {
                Err(type_error(op, key, expected, v))
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
    /// PyTorch's errors for malformed values, its `TypeError`s for mistyped ones.
    pub fn interpolate_params(&self, input: &[usize]) -> Result<InterpolateParams> {
        let op = "interpolate";
        let spatial = &input[input.len().min(2)..];
        let spatial_dims = spatial.len().max(1);
        let mode = InterpolateMode::parse(self.string(op, "mode")?.unwrap_or("nearest"))?;
        if self.flag(op, "antialias")? == Some(true) {
            return Err(Error::Unsupported("interpolate with antialias=True".into()));
        }
        // a number or a list, as one value per spatial dimension (None for null)
        let expand = |key: &str| -> Result<Option<Vec<&Value>>> {
            let list: Vec<&Value> = match self.0.get(key) {
                None | Some(Value::Null) => return Ok(None),
                Some(Value::Array(items)) => items.iter().collect(),
                Some(v) => vec![v; spatial_dims],
            };
            if list.len() != spatial_dims {
                let shown: Vec<String> = list.iter().map(ToString::to_string).collect();
                let (what, name, fmt) = if key == "size" {
                    ("output", "output size", "output size in (o1, o2, ...,oK)")
                } else {
                    (
                        "scale_factor",
                        "scale_factor of shape",
                        "scale_factor in (s1, s2, ...,sK)",
                    )
                };
                return Err(Error::param(
                    op,
                    format!(
                        "Input and {what} must have the same number of spatial dimensions, but got input with spatial dimensions of {spatial:?} and {name} [{}]. Please provide input tensor in (N, C, d1, d2, ...,dK) format and {fmt} format.",
                        shown.join(", ")
                    ),
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
        let size = match expand("size")? {
            None => None,
            Some(list) => {
                // Python's check of every entry's type first, then the unpacking of each
                if !list
                    .iter()
                    .all(|v| matches!(v, Value::Number(n) if n.is_i64() || n.is_u64()))
                {
                    let types: Vec<String> = list
                        .iter()
                        .map(|v| format!("<class '{}'>", py_type(v)))
                        .collect();
                    return Err(Error::param(
                        op,
                        format!(
                            "expected size to be one of int or Tuple[int] or Tuple[int, int] or Tuple[int, int, int], but got size with types [{}]",
                            types.join(", ")
                        ),
                    ));
                }
                let mut ints = Vec::with_capacity(list.len());
                for v in &list {
                    ints.extend(int_of(op, "size", v)?);
                }
                let at = |i: usize| ints.get(i).copied().unwrap_or(1);
                Some(if ints.len() == 1 {
                    [1, at(0)]
                } else {
                    [at(0), at(1)]
                })
            }
        };
        let scale_factor = match expand("scale_factor")? {
            None => None,
            Some(list) => {
                let mut floats = Vec::with_capacity(list.len());
                let scalar = !matches!(self.0.get("scale_factor"), Some(Value::Array(_)));
                for (pos, v) in list.iter().enumerate() {
                    match v {
                        Value::Number(n) => floats.push(n.as_f64().unwrap_or(f64::NAN)),
                        _ if scalar => {
                            return Err(type_error(op, "scale_factor", "float", v));
                        }
                        _ => {
                            return Err(element_error(
                                op,
                                "scale_factor",
                                "tuple of floats",
                                v,
                                pos,
                            ));
                        }
                    }
                }
                Some(pad2(floats))
            }
        };
        Ok(InterpolateParams {
            size,
            scale_factor,
            mode,
            align_corners: self.flag(op, "align_corners")?,
            recompute_scale_factor: self.flag(op, "recompute_scale_factor")?,
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
        let groups = self.int(op, "groups")?.unwrap_or(1);
        let padding_mode = match self.string(op, "padding_mode")? {
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

    /// The conv_transpose2d parameters (`stride`, `padding`, `output_padding`,
    /// `groups`, `dilation`), PyTorch's defaults when absent.
    ///
    /// # Errors
    /// PyTorch's errors for malformed values.
    pub fn conv_transpose2d_params(&self) -> Result<ConvTranspose2dParams> {
        let op = "conv_transpose2d";
        Ok(ConvTranspose2dParams {
            stride: self.pair(op, "stride", [1, 1])?,
            padding: self.pair(op, "padding", [0, 0])?,
            output_padding: self.pair(op, "output_padding", [0, 0])?,
            groups: self.int(op, "groups")?.unwrap_or(1),
            dilation: self.pair(op, "dilation", [1, 1])?,
        })
    }

    /// The slice parameters (`dim`, `start`, `end`, `step`), absent ones as Python's
    /// `None` in `x[start:end:step]`: dimension 0, step 1, and `start` and `end` the
    /// ends of the dimension in the step's direction.
    ///
    /// # Errors
    /// PyTorch's `TypeError`s for values that are not ints.
    pub fn slice_params(&self) -> Result<SliceParams> {
        let op = "slice";
        let step = self.int(op, "step")?.unwrap_or(1);
        // clamped to the first or last index as the step walks
        let (first, last) = if step < 0 {
            (i64::MAX, i64::MIN)
        } else {
            (0, i64::MAX)
        };
        Ok(SliceParams {
            dim: self.int(op, "dim")?.unwrap_or(0),
            start: self.int(op, "start")?.unwrap_or(first),
            end: self.int(op, "end")?.unwrap_or(last),
            step,
        })
    }
}
