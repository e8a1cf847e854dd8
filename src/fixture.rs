//! PyTorch reference fixtures (format: docs/fixtures.md): one operator call with
//! PyTorch's answer in a safetensors file. This module reads them, runs their call on a
//! device, judges the output, and writes outputs for `wgcnn run`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};
use serde_json::Value;

use crate::device::Device;
use crate::error::{Error, Result};
use crate::kwargs::Kwargs;
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
    /// The file's whole metadata, as read.
    pub metadata: HashMap<String, String>,
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
            metadata: md,
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

    /// The call's keyword arguments.
    pub fn kwargs(&self) -> Kwargs<'_> {
        Kwargs(&self.params)
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
                crate::conv2d(&x, &w, b.as_ref(), &self.kwargs().conv2d_params()?)?
            }
            "max_pool2d" => {
                let x = self.upload(device, "input")?;
                let params = self.kwargs().max_pool2d_params()?;
                if self.kwargs().flag("return_indices") == Some(true) {
                    let (y, i) = crate::max_pool2d_with_indices(&x, &params)?;
                    return Outputs::with_indices(&y, &i);
                }
                crate::max_pool2d(&x, &params)?
            }
            "avg_pool2d" => crate::avg_pool2d(
                &self.upload(device, "input")?,
                &self.kwargs().avg_pool2d_params()?,
            )?,
            "adaptive_avg_pool2d" => {
                let size = self.kwargs().output_size("adaptive_avg_pool2d")?;
                crate::adaptive_avg_pool2d(&self.upload(device, "input")?, size)?
            }
            "adaptive_max_pool2d" => {
                let size = self.kwargs().output_size("adaptive_max_pool2d")?;
                let (y, i) = crate::adaptive_max_pool2d(&self.upload(device, "input")?, size)?;
                if self.kwargs().flag("return_indices") == Some(true) {
                    return Outputs::with_indices(&y, &i);
                }
                y
            }
            "interpolate" => {
                let x = self.upload(device, "input")?;
                crate::interpolate(&x, &self.kwargs().interpolate_params(x.shape())?)?
            }
            "sequential" => {
                let layers = self
                    .params
                    .get("layers")
                    .and_then(Value::as_array)
                    .ok_or_else(|| {
                        format_err(format!("{}: params has no 'layers' list", self.name))
                    })?;
                let net = crate::nn::Sequential::from_layers(layers, self.tensors.clone(), device)?;
                net.forward(&self.upload(device, "input")?)?
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
