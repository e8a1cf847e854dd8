//! The one reader (and writer) of safetensors files, for fixtures, model files, state
//! dicts and inputs alike: float tensors of every float dtype (F32, F16, BF16, F64)
//! become f32 host tensors, integer tensors (I64, I32) indices, and any other dtype is
//! an error naming the tensor.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};

/// A host tensor read from or written to a file.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Integer indices (max pooling's) with their shape.
#[derive(Clone, Debug, PartialEq)]
pub struct HostIndices {
    pub shape: Vec<usize>,
    pub data: Vec<i64>,
}

/// A safetensors file, decoded.
#[derive(Clone, Debug, Default)]
pub struct TensorFile {
    /// The file's metadata (`__metadata__`), as read.
    pub metadata: HashMap<String, String>,
    /// Every floating-point tensor, as f32.
    pub tensors: BTreeMap<String, HostTensor>,
    /// Every integer tensor, as i64.
    pub indices: BTreeMap<String, HostIndices>,
}

fn format_err(name: &str, msg: impl std::fmt::Display) -> Error {
    Error::Format(format!("{name}: {msg}"))
}

/// `bytes` of a float tensor as f32, or `None` for a dtype that is not a float.
fn floats(dtype: Dtype, bytes: &[u8]) -> Option<Vec<f32>> {
    let halves = || bytemuck::pod_collect_to_vec::<u8, u16>(bytes).into_iter();
    match dtype {
        Dtype::F32 => Some(bytemuck::pod_collect_to_vec(bytes)),
        Dtype::F64 => Some(
            bytemuck::pod_collect_to_vec::<u8, f64>(bytes)
                .into_iter()
                .map(|v| v as f32)
                .collect(),
        ),
        Dtype::F16 => Some(halves().map(|b| half::f16::from_bits(b).to_f32()).collect()),
        Dtype::BF16 => Some(
            halves()
                .map(|b| half::bf16::from_bits(b).to_f32())
                .collect(),
        ),
        _ => None,
    }
}

/// `bytes` of an integer tensor as i64, or `None` for a dtype that is not one.
fn integers(dtype: Dtype, bytes: &[u8]) -> Option<Vec<i64>> {
    match dtype {
        Dtype::I64 => Some(bytemuck::pod_collect_to_vec(bytes)),
        Dtype::I32 => Some(
            bytemuck::pod_collect_to_vec::<u8, i32>(bytes)
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        _ => None,
    }
}

impl TensorFile {
    /// Reads a file.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file; as [`TensorFile::from_bytes`].
    pub fn read(path: &Path) -> Result<Self> {
        Self::from_bytes(&path.display().to_string(), &read_bytes(path)?)
    }

    /// Decodes the bytes of a file called `name` (for messages).
    ///
    /// # Errors
    /// [`Error::Format`] naming `name` for a malformed file or a tensor of a dtype that
    /// is neither a float nor an integer index.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Self> {
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| format_err(name, e))?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| format_err(name, e))?;
        let mut file = TensorFile {
            metadata: meta.metadata().clone().unwrap_or_default(),
            ..TensorFile::default()
        };
        for (key, view) in st.tensors() {
            let shape = view.shape().to_vec();
            if let Some(data) = floats(view.dtype(), view.data()) {
                file.tensors.insert(key, HostTensor { shape, data });
            } else if let Some(data) = integers(view.dtype(), view.data()) {
                file.indices.insert(key, HostIndices { shape, data });
            } else {
                return Err(format_err(
                    name,
                    format!(
                        "tensor {key} has dtype {:?}; expected a float (F32, F16, BF16, F64) or an index (I64, I32)",
                        view.dtype()
                    ),
                ));
            }
        }
        Ok(file)
    }

    /// The float tensor `key`.
    ///
    /// # Errors
    /// [`Error::Format`] when there is none (naming an integer tensor of that name).
    pub fn tensor(&self, name: &str, key: &str) -> Result<&HostTensor> {
        self.tensors.get(key).ok_or_else(|| {
            let why = if self.indices.contains_key(key) {
                "is an integer tensor, expected a float one"
            } else {
                "is missing"
            };
            format_err(name, format!("tensor '{key}' {why}"))
        })
    }
}

/// The bytes of the file at `path`.
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Writes float tensors and index tensors (in the order given) to `path`.
///
/// # Errors
/// [`Error::Io`] naming the file; [`Error::Format`] for a tensor whose data disagrees
/// with its shape.
pub fn write(
    path: &Path,
    tensors: &[(&str, &HostTensor)],
    indices: &[(&str, &HostIndices)],
) -> Result<()> {
    let name = path.display().to_string();
    let floats = tensors
        .iter()
        .map(|(key, t)| (*key, Dtype::F32, &t.shape, bytemuck::cast_slice(&t.data)));
    let ints = indices
        .iter()
        .map(|(key, t)| (*key, Dtype::I64, &t.shape, bytemuck::cast_slice(&t.data)));
    let views = floats
        .chain(ints)
        .map(|(key, dtype, shape, bytes)| {
            safetensors::tensor::TensorView::new(dtype, shape.clone(), bytes)
                .map(|view| (key.to_string(), view))
                .map_err(|e| format_err(&name, e))
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(views, None).map_err(|e| format_err(&name, e))?;
    std::fs::write(path, bytes).map_err(|source| Error::Io { path: name, source })
}
