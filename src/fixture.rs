//! PyTorch reference fixtures (format: docs/fixtures.md): one operator call with
//! PyTorch's answer in a safetensors file. This module reads them, runs their call on a
//! device, judges the output, and writes outputs for `wgcnn run`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};
use serde_json::Value;

use crate::device::Device;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A host tensor read from or written to a fixture.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Flat max-pool indices with their shape.
#[derive(Clone, Debug, PartialEq)]
pub struct HostIndices {
    pub shape: Vec<usize>,
    pub data: Vec<i64>,
}

/// `|actual - expected| <= atol + rtol * |expected|`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    pub atol: f64,
    pub rtol: f64,
}

impl Tolerance {
    /// Bit-for-bit (NaN meets NaN): ops that only select or copy values.
    pub const EXACT: Tolerance = Tolerance {
        atol: 0.0,
        rtol: 0.0,
    };
    /// Ops with arithmetic, against a float64 reference.
    pub const ARITHMETIC: Tolerance = Tolerance {
        atol: 1e-5,
        rtol: 1e-4,
    };
}

/// One fixture file.
#[derive(Clone, Debug)]
pub struct Fixture {
    /// The file stem.
    pub name: String,
    pub op: String,
    /// The keyword arguments, as passed to `torch.nn.functional.<op>`.
    pub params: serde_json::Map<String, Value>,
    /// Every floating-point tensor of the file (`input`, `weight`, `bias`, `expected`,
    /// state_dict keys), as f32.
    pub tensors: BTreeMap<String, HostTensor>,
    pub expected_indices: Option<HostIndices>,
    pub expect_error: bool,
    pub tolerance: Option<Tolerance>,
    pub source: Option<String>,
}

/// What a fixture's call produced.
#[derive(Clone, Debug)]
pub struct Outputs {
    pub output: HostTensor,
    pub indices: Option<HostIndices>,
}

impl Outputs {
    fn of(output: &Tensor) -> Result<Self> {
        Ok(Self {
            output: HostTensor {
                shape: output.shape().to_vec(),
                data: output.to_vec()?,
            },
            indices: None,
        })
    }

    fn with_indices(output: &Tensor, indices: &crate::IndexTensor) -> Result<Self> {
        let mut out = Self::of(output)?;
        out.indices = Some(HostIndices {
            shape: indices.shape().to_vec(),
            data: indices.to_vec()?,
        });
        Ok(out)
    }
}

/// How a fixture fared on one device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// The op is not in this build: counts as a failure.
    Unsupported,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Unsupported => "unsupported",
        }
    }
}

/// The judgement of one fixture on one device.
#[derive(Clone, Debug)]
pub struct CheckOutcome {
    pub verdict: Verdict,
    /// Largest `|actual - expected|` (0 for error cases; NaN for a NaN mismatch).
    pub max_abs_err: f64,
    /// Why it failed, or what the expected error said.
    pub detail: String,
}

fn format_err(msg: impl std::fmt::Display) -> Error {
    Error::Format(msg.to_string())
}

fn to_f32(dtype: Dtype, bytes: &[u8]) -> Option<Vec<f32>> {
    match dtype {
        Dtype::F32 => Some(bytemuck::pod_collect_to_vec(bytes)),
        Dtype::F64 => Some(
            bytemuck::pod_collect_to_vec::<u8, f64>(bytes)
                .into_iter()
                .map(|v| v as f32)
                .collect(),
        ),
        Dtype::F16 => Some(
            bytemuck::pod_collect_to_vec::<u8, u16>(bytes)
                .into_iter()
                .map(|b| half::f16::from_bits(b).to_f32())
                .collect(),
        ),
        Dtype::BF16 => Some(
            bytemuck::pod_collect_to_vec::<u8, u16>(bytes)
                .into_iter()
                .map(|b| half::bf16::from_bits(b).to_f32())
                .collect(),
        ),
        _ => None,
    }
}

impl Fixture {
    /// Reads a fixture file.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Format`].
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let name = path
            .file_stem()
            .map_or_else(|| "fixture".into(), |s| s.to_string_lossy().into_owned());
        Self::from_bytes(&name, &bytes)
    }

    /// Parses a fixture from the bytes of a safetensors file.
    ///
    /// # Errors
    /// [`Error::Format`] for a malformed file or metadata.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Self> {
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(format_err)?;
        let st = SafeTensors::deserialize(bytes).map_err(format_err)?;
        let md: HashMap<String, String> = meta.metadata().clone().unwrap_or_default();
        let op = md
            .get("op")
            .ok_or_else(|| format_err(format!("{name}: metadata has no 'op'")))?
            .clone();
        let params = match md.get("params") {
            None => serde_json::Map::new(),
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(m)) => m,
                Ok(other) => {
                    return Err(format_err(format!(
                        "{name}: params is not a JSON object: {other}"
                    )));
                }
                Err(e) => return Err(format_err(format!("{name}: params: {e}"))),
            },
        };
        let tolerance = match md.get("tolerance") {
            None => None,
            Some(text) => {
                let v: Value = serde_json::from_str(text)
                    .map_err(|e| format_err(format!("{name}: tolerance: {e}")))?;
                let get = |k: &str| v.get(k).and_then(Value::as_f64);
                Some(Tolerance {
                    atol: get("atol").unwrap_or(0.0),
                    rtol: get("rtol").unwrap_or(0.0),
                })
            }
        };
        let mut tensors = BTreeMap::new();
        let mut expected_indices = None;
        for (key, view) in st.tensors() {
            if key == "expected_indices" {
                let data: Vec<i64> = match view.dtype() {
                    Dtype::I64 => bytemuck::pod_collect_to_vec(view.data()),
                    Dtype::I32 => bytemuck::pod_collect_to_vec::<u8, i32>(view.data())
                        .into_iter()
                        .map(i64::from)
                        .collect(),
                    d => return Err(format_err(format!("{name}: {key} has dtype {d:?}"))),
                };
                expected_indices = Some(HostIndices {
                    shape: view.shape().to_vec(),
                    data,
                });
                continue;
            }
            let data = to_f32(view.dtype(), view.data()).ok_or_else(|| {
                format_err(format!(
                    "{name}: tensor {key} has dtype {:?}, expected F32",
                    view.dtype()
                ))
            })?;
            tensors.insert(
                key,
                HostTensor {
                    shape: view.shape().to_vec(),
                    data,
                },
            );
        }
        Ok(Self {
            name: name.to_string(),
            op,
            params,
            tensors,
            expected_indices,
            expect_error: md.get("expect_error").is_some_and(|v| v == "true"),
            tolerance,
            source: md.get("source").cloned(),
        })
    }

    /// The tensor `key`.
    ///
    /// # Errors
    /// [`Error::Format`] when the file lacks it.
    pub fn tensor(&self, key: &str) -> Result<&HostTensor> {
        self.tensors
            .get(key)
            .ok_or_else(|| format_err(format!("{}: no tensor '{key}'", self.name)))
    }

    fn upload(&self, device: &Device, key: &str) -> Result<Tensor> {
        let t = self.tensor(key)?;
        Tensor::from_slice(device, &t.data, &t.shape)
    }

    /// The tolerance this case is judged with: the file's own, else the op's default.
    pub fn effective_tolerance(&self) -> Tolerance {
        self.tolerance.unwrap_or(match self.op.as_str() {
            "relu" | "max_pool2d" | "adaptive_max_pool2d" => Tolerance::EXACT,
            "interpolate"
                if self
                    .params
                    .get("mode")
                    .and_then(Value::as_str)
                    .is_some_and(|m| m.starts_with("nearest")) =>
            {
                Tolerance::EXACT
            }
            _ => Tolerance::ARITHMETIC,
        })
    }

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
        match self.params.get(key) {
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
    fn pool_pair(&self, op: &'static str, key: &str) -> Result<Option<[i64; 2]>> {
        self.raw_pair(key).map_err(|_| {
            let what = match key {
                "stride" => "must either be omitted, a single int, or a tuple of two ints",
                "dilation" => "must be either a single int, or a tuple of two ints",
                _ => "must either be a single int, or a tuple of two ints",
            };
            Error::param(op, format!("{op}: {key} {what}"))
        })
    }

    fn flag(&self, key: &str) -> Option<bool> {
        self.params.get(key).and_then(Value::as_bool)
    }

    /// The max_pool2d parameters of this fixture.
    ///
    /// # Errors
    /// PyTorch's errors for malformed values.
    pub fn max_pool2d_params(&self) -> Result<crate::MaxPool2dParams> {
        let op = "max_pool2d";
        let kernel = self.pool_pair(op, "kernel_size")?.ok_or_else(|| {
            Error::param(
                op,
                "max_pool2d: kernel_size must either be a single int, or a tuple of two ints",
            )
        })?;
        Ok(crate::MaxPool2dParams {
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
    pub fn avg_pool2d_params(&self) -> Result<crate::AvgPool2dParams> {
        let op = "avg_pool2d";
        let kernel = self.pool_pair(op, "kernel_size")?.ok_or_else(|| {
            Error::param(
                op,
                "avg_pool2d: kernel_size must either be a single int, or a tuple of two ints",
            )
        })?;
        Ok(crate::AvgPool2dParams {
            kernel_size: kernel,
            stride: self.pool_pair(op, "stride")?,
            padding: self.pool_pair(op, "padding")?.unwrap_or([0, 0]),
            ceil_mode: self.flag("ceil_mode").unwrap_or(false),
            count_include_pad: self.flag("count_include_pad").unwrap_or(true),
            divisor_override: self.params.get("divisor_override").and_then(Value::as_i64),
        })
    }

    /// `output_size` of an adaptive pool: an int, or a pair whose entries may be null.
    fn output_size(&self, op: &'static str) -> Result<[Option<i64>; 2]> {
        match self.params.get("output_size") {
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
    pub fn interpolate_params(&self, input: &[usize]) -> Result<crate::InterpolateParams> {
        let op = "interpolate";
        let spatial = &input[input.len().min(2)..];
        let spatial_dims = spatial.len().max(1);
        let mode = crate::InterpolateMode::parse(
            self.params
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
        let size = match self.params.get("size") {
            Some(v) => expand(v, "size")?.map(|s| pad2(s).map(|x| x as i64)),
            None => None,
        };
        let scale_factor = match self.params.get("scale_factor") {
            Some(v) => expand(v, "scale_factor")?.map(pad2),
            None => None,
        };
        Ok(crate::InterpolateParams {
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
    pub fn conv2d_params(&self) -> Result<crate::Conv2dParams> {
        let op = "conv2d";
        let padding = match self.params.get("padding") {
            Some(Value::String(s)) => match s.as_str() {
                "same" => crate::Padding::Same,
                "valid" => crate::Padding::Valid,
                other => {
                    return Err(Error::param(
                        op,
                        format!("Invalid padding string: '{other}'"),
                    ));
                }
            },
            _ => crate::Padding::Explicit(self.pair(op, "padding", [0, 0])?),
        };
        let groups = match self.params.get("groups") {
            None => 1,
            Some(v) => v
                .as_i64()
                .ok_or_else(|| Error::param(op, format!("groups must be an integer, got {v}")))?,
        };
        let padding_mode = match self.params.get("padding_mode").and_then(Value::as_str) {
            None => crate::PaddingMode::Zeros,
            Some(m) => crate::PaddingMode::parse(m)?,
        };
        Ok(crate::Conv2dParams {
            stride: self.pair(op, "stride", [1, 1])?,
            padding,
            dilation: self.pair(op, "dilation", [1, 1])?,
            groups,
            padding_mode,
        })
    }

    /// Runs the fixture's call on `device`.
    ///
    /// # Errors
    /// The op's own error (what `expect_error` cases must produce), or
    /// [`Error::Unsupported`] for an op this build lacks.
    pub fn run(&self, device: &Device) -> Result<Outputs> {
        let output = match self.op.as_str() {
            "relu" => {
                let mut x = self.upload(device, "input")?;
                if self.params.get("inplace").and_then(Value::as_bool) == Some(true) {
                    crate::relu_(&mut x)?;
                    x
                } else {
                    crate::relu(&x)?
                }
            }
            "conv2d" => {
                let x = self.upload(device, "input")?;
                let w = self.upload(device, "weight")?;
                let b = match self.tensors.contains_key("bias") {
                    true => Some(self.upload(device, "bias")?),
                    false => None,
                };
                crate::conv2d(&x, &w, b.as_ref(), &self.conv2d_params()?)?
            }
            "max_pool2d" => {
                let x = self.upload(device, "input")?;
                let params = self.max_pool2d_params()?;
                if self.flag("return_indices") == Some(true) {
                    let (y, i) = crate::max_pool2d_with_indices(&x, &params)?;
                    return Outputs::with_indices(&y, &i);
                }
                crate::max_pool2d(&x, &params)?
            }
            "avg_pool2d" => {
                crate::avg_pool2d(&self.upload(device, "input")?, &self.avg_pool2d_params()?)?
            }
            "adaptive_avg_pool2d" => {
                let size = self.output_size("adaptive_avg_pool2d")?;
                crate::adaptive_avg_pool2d(&self.upload(device, "input")?, size)?
            }
            "adaptive_max_pool2d" => {
                let size = self.output_size("adaptive_max_pool2d")?;
                let (y, i) = crate::adaptive_max_pool2d(&self.upload(device, "input")?, size)?;
                if self.flag("return_indices") == Some(true) {
                    return Outputs::with_indices(&y, &i);
                }
                y
            }
            "interpolate" => {
                let x = self.upload(device, "input")?;
                crate::interpolate(&x, &self.interpolate_params(x.shape())?)?
            }
            other => return Err(Error::Unsupported(format!("op '{other}'"))),
        };
        Outputs::of(&output)
    }

    /// Runs the call on `device` and judges it against PyTorch's answer.
    pub fn check(&self, device: &Device) -> CheckOutcome {
        let result = self.run(device);
        self.judge(&result)
    }

    /// Judges a result of [`Fixture::run`].
    pub fn judge(&self, result: &Result<Outputs>) -> CheckOutcome {
        let outcome = |verdict, max_abs_err, detail: String| CheckOutcome {
            verdict,
            max_abs_err,
            detail,
        };
        match result {
            Err(Error::Unsupported(msg)) => outcome(Verdict::Unsupported, 0.0, msg.clone()),
            Err(e) if self.expect_error => outcome(Verdict::Pass, 0.0, e.to_string()),
            Err(e) => outcome(Verdict::Fail, f64::NAN, e.to_string()),
            Ok(_) if self.expect_error => outcome(
                Verdict::Fail,
                0.0,
                "PyTorch raised an error here, but the call succeeded".into(),
            ),
            Ok(out) => {
                let expected = match self.tensor("expected") {
                    Ok(e) => e,
                    Err(e) => return outcome(Verdict::Fail, f64::NAN, e.to_string()),
                };
                if out.output.shape != expected.shape {
                    return outcome(
                        Verdict::Fail,
                        f64::NAN,
                        format!(
                            "output shape {:?}, expected {:?}",
                            out.output.shape, expected.shape
                        ),
                    );
                }
                let cmp = compare(&out.output.data, &expected.data, self.effective_tolerance());
                let mut verdict = if cmp.mismatches == 0 {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                };
                let mut detail = cmp.describe();
                if let Some(want) = &self.expected_indices {
                    match &out.indices {
                        Some(got) if got == want => {}
                        Some(got) => {
                            verdict = Verdict::Fail;
                            let bad = got.data.iter().zip(&want.data).filter(|(a, b)| a != b);
                            detail = format!("{detail}; {} indices differ", bad.count());
                        }
                        None => {
                            verdict = Verdict::Fail;
                            detail = format!("{detail}; no indices returned");
                        }
                    }
                }
                outcome(verdict, cmp.max_abs_err, detail)
            }
        }
    }
}

/// The result of an elementwise comparison.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub max_abs_err: f64,
    pub mismatches: usize,
    /// The first mismatch: index, actual, expected.
    pub first: Option<(usize, f32, f32)>,
}

impl Comparison {
    fn describe(&self) -> String {
        match self.first {
            None => String::new(),
            Some((i, a, e)) => format!(
                "{} mismatches; first at {i}: got {a:e}, expected {e:e}",
                self.mismatches
            ),
        }
    }
}

/// Compares elementwise: `|a - e| <= atol + rtol * |e|`, NaN meets NaN, an infinity
/// meets the same infinity.
pub fn compare(actual: &[f32], expected: &[f32], tol: Tolerance) -> Comparison {
    let mut cmp = Comparison {
        max_abs_err: 0.0,
        mismatches: 0,
        first: None,
    };
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let (a64, e64) = (f64::from(a), f64::from(e));
        let ok = if a.is_nan() || e.is_nan() {
            a.is_nan() && e.is_nan()
        } else if a.is_infinite() || e.is_infinite() {
            a == e
        } else {
            let err = (a64 - e64).abs();
            cmp.max_abs_err = cmp.max_abs_err.max(err);
            err <= tol.atol + tol.rtol * e64.abs()
        };
        if !ok {
            if a.is_nan() != e.is_nan() || a.is_infinite() || e.is_infinite() {
                cmp.max_abs_err = f64::INFINITY;
            }
            cmp.mismatches += 1;
            cmp.first.get_or_insert((i, a, e));
        }
    }
    if actual.len() != expected.len() {
        cmp.mismatches += actual.len().abs_diff(expected.len());
        cmp.max_abs_err = f64::INFINITY;
    }
    cmp
}

/// Every `.safetensors` file under `paths` (files as given, folders walked), sorted.
///
/// # Errors
/// [`Error::Io`] for a path that cannot be read.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|source| Error::Io {
            path: p.display().to_string(),
            source,
        })?;
        if meta.is_dir() {
            let entries = std::fs::read_dir(p).map_err(|source| Error::Io {
                path: p.display().to_string(),
                source,
            })?;
            let mut children: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            children.sort();
            for c in children {
                if c.is_dir() || c.extension().is_some_and(|e| e == "safetensors") {
                    out.extend(collect(&[c])?);
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Writes what `wgcnn run` leaves for one fixture: `DIR/<stem>.safetensors` with
/// `output` (and `indices`), or `DIR/<stem>.error` with the message.
///
/// # Errors
/// [`Error::Io`] when the file cannot be written.
pub fn write_result(dir: &Path, stem: &str, result: &Result<Outputs>) -> Result<PathBuf> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| Error::Io { path, source }
    };
    match result {
        Err(e) => {
            let path = dir.join(format!("{stem}.error"));
            std::fs::write(&path, format!("{e}\n")).map_err(io(&path))?;
            Ok(path)
        }
        Ok(out) => {
            let path = dir.join(format!("{stem}.safetensors"));
            let out_bytes: &[u8] = bytemuck::cast_slice(&out.output.data);
            let mut views = vec![(
                "output".to_string(),
                safetensors::tensor::TensorView::new(
                    Dtype::F32,
                    out.output.shape.clone(),
                    out_bytes,
                )
                .map_err(format_err)?,
            )];
            if let Some(ind) = &out.indices {
                views.push((
                    "indices".to_string(),
                    safetensors::tensor::TensorView::new(
                        Dtype::I64,
                        ind.shape.clone(),
                        bytemuck::cast_slice(&ind.data),
                    )
                    .map_err(format_err)?,
                ));
            }
            let bytes = safetensors::serialize(views, None).map_err(format_err)?;
            std::fs::write(&path, bytes).map_err(io(&path))?;
            Ok(path)
        }
    }
}

/// The fixture set built into the binary (tests/fixtures at build time).
pub fn builtin() -> Result<Vec<Fixture>> {
    BUILTIN
        .iter()
        .map(|(name, bytes)| Fixture::from_bytes(name, bytes))
        .collect()
}

include!(concat!(env!("OUT_DIR"), "/builtin_fixtures.rs"));
