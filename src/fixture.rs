//! PyTorch reference fixtures (format: docs/fixtures.md): one operator call with
//! PyTorch's answer in a safetensors file. This module reads them, runs their call on a
//! device, judges the output, and writes outputs for `wgcnn run`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::device::Device;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::op::Op;
use crate::op::kwargs::Kwargs;
use crate::tensor::{IndexTensor, Tensor};
use crate::tensor_file::TensorFile;
pub use crate::tensor_file::{HostIndices, HostTensor};

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
    /// An f32 case run in f16 ([`Fixture::in_precision`]): its inputs rounded to f16
    /// (2^-11 relative each) and its result rounded once (2^-11), against PyTorch's
    /// f32 answer: a screening tolerance of about 10 f16 steps, its `atol` scaled by
    /// the answer's largest magnitude (where it is over 1), since a sum of rounded terms
    /// errs with the size of its terms, not of its result.
    pub const HALF: Tolerance = Tolerance {
        atol: 1e-2,
        rtol: 1e-2,
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
    /// The type the call runs in: f16 for a half-precision case (metadata `dtype`
    /// `float16`, its tensors f16 values), else f32.
    pub dtype: DType,
    /// An f32 case run in f16 by [`Fixture::in_precision`]: judged against its f32
    /// answer rounded to f16 (exactly for the selection ops), else within
    /// [`Tolerance::HALF`].
    pub rounded: bool,
    pub source: Option<String>,
    /// The file's whole metadata, as read.
    pub metadata: HashMap<String, String>,
    /// The folder the file was read from: where a `model` case's model file lies.
    pub dir: Option<std::path::PathBuf>,
    /// A `model` case's class labels of its inputs (I64), when it gives them.
    pub labels: Option<HostIndices>,
}

/// What a fixture's call produced.
#[derive(Clone, Debug)]
pub struct Outputs {
    pub output: HostTensor,
    pub indices: Option<HostIndices>,
    /// A model's outputs by name, the first being `output` (empty for an op).
    pub named: Vec<(String, HostTensor)>,
}

impl Outputs {
    fn of(output: &Tensor) -> Result<Self> {
        Ok(Self {
            output: HostTensor {
                shape: output.shape().to_vec(),
                data: output.to_vec()?,
            },
            indices: None,
            named: Vec::new(),
        })
    }

    fn with_indices(output: &Tensor, indices: &IndexTensor) -> Result<Self> {
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

impl Fixture {
    /// Reads a fixture file.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Format`].
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = crate::tensor_file::read_bytes(path)?;
        let name = path
            .file_stem()
            .map_or_else(|| "fixture".into(), |s| s.to_string_lossy().into_owned());
        let mut fixture = Self::from_bytes(&name, &bytes)?;
        fixture.dir = Some(
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf(),
        );
        Ok(fixture)
    }

    /// Parses a fixture from the bytes of a safetensors file.
    ///
    /// # Errors
    /// [`Error::Format`] for a malformed file or metadata.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Self> {
        let TensorFile {
            metadata: md,
            tensors,
            mut indices,
        } = TensorFile::from_bytes(name, bytes)?;
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
                let Value::Object(fields) = &v else {
                    return Err(format_err(format!(
                        "{name}: tolerance is not a JSON object: {v}"
                    )));
                };
                let get = |k: &str| match fields.get(k) {
                    None => Ok(0.0),
                    Some(Value::Number(n)) => Ok(n.as_f64().unwrap_or(f64::NAN)),
                    Some(other) => Err(format_err(format!(
                        "{name}: tolerance {k} must be a number, got {other}"
                    ))),
                };
                Some(Tolerance {
                    atol: get("atol")?,
                    rtol: get("rtol")?,
                })
            }
        };
        let expect_error = match md.get("expect_error").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(format_err(format!(
                    "{name}: expect_error must be \"true\" or \"false\", got {other:?}"
                )));
            }
        };
        let dtype = match md.get("dtype").map(String::as_str) {
            None | Some("float32") => DType::F32,
            Some("float16") => DType::F16,
            Some(other) => {
                return Err(format_err(format!(
                    "{name}: dtype must be \"float32\" or \"float16\", got {other:?}"
                )));
            }
        };
        let expected_indices = indices.remove("expected_indices");
        let labels = if op == "model" {
            indices.remove("labels")
        } else {
            None
        };
        if let Some(key) = indices.keys().next() {
            return Err(format_err(format!(
                "{name}: tensor {key} is an integer tensor; only expected_indices may be"
            )));
        }
        Ok(Self {
            name: name.to_string(),
            op,
            params,
            tensors,
            expected_indices,
            expect_error,
            tolerance,
            dtype,
            rounded: false,
            source: md.get("source").cloned(),
            metadata: md,
            dir: None,
            labels,
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

    /// The tensor `key` on `device`, in the case's type (f16 values rounded to nearest).
    fn upload(&self, device: &Device, key: &str) -> Result<Tensor> {
        let t = self.tensor(key)?;
        Tensor::from_slice_as(device, &t.data, &t.shape, self.dtype)
    }

    /// This case run in `dtype`: an f32 case in f16 has its inputs rounded to f16 and
    /// is judged against its answer rounded to f16 (see [`Fixture::rounded`]). A case
    /// already of `dtype` is unchanged.
    pub fn in_precision(mut self, dtype: DType) -> Self {
        if self.dtype != dtype {
            self.rounded = dtype == DType::F16;
            self.dtype = dtype;
        }
        self
    }

    /// Whether the op only selects or copies values (bit-exact, see [`Op::is_exact`]).
    fn is_exact(&self) -> bool {
        let shape = self.tensors.get("input").map_or(&[][..], |t| &t.shape);
        Op::from_kwargs(&self.op, self.kwargs(), shape).is_ok_and(|op| op.is_exact())
    }

    /// The tolerance this case is judged with: the file's own, else the op's default
    /// (bit-exact for the selection ops, see [`Op::is_exact`]). An f32 case run in f16
    /// takes [`Tolerance::HALF`] where it is not exact (or the file's, if looser).
    pub fn effective_tolerance(&self) -> Tolerance {
        let exact = self.is_exact();
        let own = self.tolerance.unwrap_or(if exact {
            Tolerance::EXACT
        } else {
            Tolerance::ARITHMETIC
        });
        if self.rounded && !exact {
            let scale = self.tensors.get("expected").map_or(1.0, |e| {
                e.data
                    .iter()
                    .filter(|v| v.is_finite())
                    .fold(1.0f64, |m, &v| m.max(f64::from(v.abs())))
            });
            return Tolerance {
                atol: own.atol.max(Tolerance::HALF.atol * scale),
                rtol: own.rtol.max(Tolerance::HALF.rtol),
            };
        }
        own
    }

    /// The call's keyword arguments.
    pub fn kwargs(&self) -> Kwargs<'_> {
        Kwargs(&self.params)
    }

    /// Runs the fixture's call on `device`: a `sequential` network, or the op its
    /// name and keyword arguments make ([`Op::from_kwargs`]) on the tensors named as
    /// the op's inputs.
    ///
    /// # Errors
    /// The op's own error (what `expect_error` cases must produce), or
    /// [`Error::Unsupported`] for an op this build lacks.
    pub fn run(&self, device: &Device) -> Result<Outputs> {
        if self.op == "model" {
            return self.run_model(device);
        }
        if self.op == "sequential" {
            let layers = self
                .params
                .get("layers")
                .and_then(Value::as_array)
                .ok_or_else(|| format_err(format!("{}: params has no 'layers' list", self.name)))?;
            // the weights: every tensor but the case's own input and answer
            let mut weights = self.tensors.clone();
            weights.remove("input");
            weights.remove("expected");
            let mut net = crate::nn::Sequential::from_layers(layers, weights, device)?;
            net.to_dtype(self.dtype)?;
            return Outputs::of(&net.forward(&self.upload(device, "input")?)?);
        }
        let shape = self.tensors.get("input").map_or(&[][..], |t| &t.shape);
        let op = Op::from_kwargs(&self.op, self.kwargs(), shape)?;
        if op == Op::Relu && self.kwargs().flag("relu", "inplace")? == Some(true) {
            let mut x = self.upload(device, "input")?;
            crate::relu_(&mut x)?;
            return Outputs::of(&x);
        }
        // every input of the op that the file has (conv2d's bias is optional)
        let inputs: Vec<Option<Tensor>> = op
            .kind()
            .inputs()
            .iter()
            .map(|key| match self.tensors.contains_key(*key) {
                true => self.upload(device, key).map(Some),
                false => Ok(None),
            })
            .collect::<Result<_>>()?;
        let refs: Vec<Option<&Tensor>> = inputs.iter().map(Option::as_ref).collect();
        let (y, indices) = crate::functional::run(&op, &refs)?;
        let wants_indices = matches!(
            op,
            Op::MaxPool2d {
                return_indices: true,
                ..
            } | Op::AdaptiveMaxPool2d {
                return_indices: true,
                ..
            }
        );
        match indices {
            Some(i) if wants_indices => Outputs::with_indices(&y, &i),
            _ => Outputs::of(&y),
        }
    }

    /// The model file of a `model` case: `params.model`, relative to the case's folder.
    ///
    /// # Errors
    /// [`Error::Format`] when params names none or the case was not read from a file.
    pub fn model_path(&self) -> Result<std::path::PathBuf> {
        let file = self
            .params
            .get("model")
            .and_then(Value::as_str)
            .ok_or_else(|| format_err(format!("{}: params has no 'model' file", self.name)))?;
        let dir = self.dir.as_ref().ok_or_else(|| {
            format_err(format!(
                "{}: a model case read from bytes has no folder to find {file} in",
                self.name
            ))
        })?;
        Ok(dir.join(file))
    }

    /// Runs a `model` case: the model file on the case's inputs (`input`, or
    /// `input.<name>` for each of several graph inputs).
    fn run_model(&self, device: &Device) -> Result<Outputs> {
        let model = crate::Model::load(&self.model_path()?, device)?.with_precision(self.dtype);
        let names = model.inputs();
        let inputs = names
            .iter()
            .map(|(name, _)| {
                let key = format!("input.{name}");
                if names.len() == 1 && self.tensors.contains_key("input") {
                    self.upload(device, "input")
                } else {
                    self.upload(device, &key)
                }
            })
            .collect::<Result<Vec<Tensor>>>()?;
        let refs: Vec<&Tensor> = inputs.iter().collect();
        let outputs = model.forward_all(&refs)?;
        let mut named = Vec::with_capacity(outputs.len());
        for (name, t) in model.outputs().into_iter().zip(&outputs) {
            named.push((
                name,
                HostTensor {
                    shape: t.shape().to_vec(),
                    data: t.to_vec()?,
                },
            ));
        }
        let output = named
            .first()
            .map(|(_, t)| t.clone())
            .ok_or_else(|| format_err(format!("{}: the model gave no output", self.name)))?;
        Ok(Outputs {
            output,
            indices: None,
            named,
        })
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
            // a model case that expects an error expects the model's ops to be refused
            Err(e @ Error::Unsupported(_)) if self.expect_error && self.op == "model" => {
                outcome(Verdict::Pass, 0.0, e.to_string())
            }
            Err(Error::Unsupported(msg)) => outcome(Verdict::Unsupported, 0.0, msg.clone()),
            Err(e) if self.expect_error => outcome(Verdict::Pass, 0.0, e.to_string()),
            Err(e) => outcome(Verdict::Fail, f64::NAN, e.to_string()),
            Ok(_) if self.expect_error => outcome(
                Verdict::Fail,
                0.0,
                "PyTorch raised an error here, but the call succeeded".into(),
            ),
            Ok(out) => {
                // the output against `expected`, or a model's named outputs each
                // against `expected.<name>`
                let several = !out.named.is_empty() && !self.tensors.contains_key("expected");
                let outputs: Vec<(&str, &HostTensor)> = if several {
                    out.named.iter().map(|(n, t)| (n.as_str(), t)).collect()
                } else {
                    vec![("", &out.output)]
                };
                let mut verdict = Verdict::Pass;
                let mut worst = 0.0f64;
                let mut details = Vec::new();
                for (name, got) in outputs {
                    let (key, label) = if name.is_empty() {
                        ("expected".to_string(), "output".to_string())
                    } else {
                        (format!("expected.{name}"), format!("output {name}:"))
                    };
                    let want = match self.tensor(&key) {
                        Ok(e) => e,
                        Err(e) => return outcome(Verdict::Fail, f64::NAN, e.to_string()),
                    };
                    if got.shape != want.shape {
                        return outcome(
                            Verdict::Fail,
                            f64::NAN,
                            format!("{label} shape {:?}, expected {:?}", got.shape, want.shape),
                        );
                    }
                    // an f32 answer rounded as an f16 call's result is
                    let rounded: Vec<f32>;
                    let want_data = if self.rounded {
                        rounded = want.data.iter().map(|&v| self.dtype.round(v)).collect();
                        &rounded
                    } else {
                        &want.data
                    };
                    let cmp = compare(&got.data, want_data, self.effective_tolerance());
                    if cmp.mismatches > 0 {
                        verdict = Verdict::Fail;
                    }
                    // (a NaN, for a NaN mismatch, stays)
                    if cmp.max_abs_err.is_nan() || cmp.max_abs_err > worst {
                        worst = cmp.max_abs_err;
                    }
                    details.push(if name.is_empty() {
                        cmp.describe()
                    } else {
                        format!("{name}: {}", cmp.describe())
                    });
                }
                let mut detail = details.join("; ");
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
                outcome(verdict, worst, detail)
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
            let indices: Vec<(&str, &HostIndices)> =
                out.indices.iter().map(|i| ("indices", i)).collect();
            crate::tensor_file::write(&path, &[("output", &out.output)], &indices)?;
            Ok(path)
        }
    }
}
