//! `Tensor`: a dense f32 array (NCHW for images) living on one [`Device`]. On a GPU its
//! storage is a pooled buffer that goes back to the pool when the tensor drops.
//! This layer sits on the device layer and below the kernels and the public functions.

use std::fmt;
use std::sync::Arc;

use crate::device::{Device, DeviceKind, Gpu};
use crate::error::{Error, Result};

/// A dense, row-major f32 tensor on a device.
pub struct Tensor {
    shape: Vec<usize>,
    device: Device,
    storage: Storage,
}

pub(crate) enum Storage {
    Cpu(Vec<f32>),
    /// `None` for a tensor with no elements.
    Gpu(Option<GpuBuffer>),
}

/// A pooled storage buffer; returns to its device's pool on drop.
pub(crate) struct GpuBuffer {
    buffer: Option<wgpu::Buffer>,
    gpu: Arc<Gpu>,
}

impl GpuBuffer {
    pub(crate) fn raw(&self) -> &wgpu::Buffer {
        self.buffer.as_ref().expect("buffer is present until drop")
    }
}

impl Drop for GpuBuffer {
    fn drop(&mut self) {
        if let Some(b) = self.buffer.take() {
            self.gpu.release(b);
        }
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor({:?} on {})", self.shape, self.device.backend())
    }
}

pub(crate) fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Bytes of the `n` four-byte elements of `shape`, or [`Error::Shape`] past u64.
fn bytes_of(n: usize, shape: &[usize]) -> Result<u64> {
    (n as u64).checked_mul(4).ok_or_else(|| {
        Error::shape(
            "tensor",
            format!("shape {shape:?} needs more than {} bytes", u64::MAX),
        )
    })
}

/// `n` zeros on the host, or [`Error::OutOfMemory`] when they cannot be allocated
/// (rather than the abort of a failed allocation).
fn host_zeros(n: usize, shape: &[usize]) -> Result<Vec<f32>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|e| {
        Error::OutOfMemory(format!(
            "a tensor of shape {shape:?} ({n} elements) on the CPU: {e}"
        ))
    })?;
    v.resize(n, 0.0);
    Ok(v)
}

impl Tensor {
    /// A tensor holding a copy of `data`, laid out row-major in `shape`.
    ///
    /// # Errors
    /// [`Error::Shape`] when `data.len()` is not the product of `shape`; a device error
    /// when the buffer cannot be created.
    pub fn from_slice(device: &Device, data: &[f32], shape: &[usize]) -> Result<Self> {
        if numel(shape) != Some(data.len()) {
            return Err(Error::shape(
                "tensor",
                format!(
                    "shape '{shape:?}' is invalid for input of size {}",
                    data.len()
                ),
            ));
        }
        let storage = match device.kind() {
            DeviceKind::Cpu => Storage::Cpu(data.to_vec()),
            DeviceKind::Gpu(g) => Storage::Gpu(if data.is_empty() {
                None
            } else {
                Some(GpuBuffer {
                    buffer: Some(g.upload(bytemuck::cast_slice(data))?),
                    gpu: g.gpu.clone(),
                })
            }),
        };
        Ok(Self {
            shape: shape.to_vec(),
            device: device.clone(),
            storage,
        })
    }

    /// A tensor of zeros.
    ///
    /// # Errors
    /// As [`Tensor::from_slice`].
    pub fn zeros(device: &Device, shape: &[usize]) -> Result<Self> {
        let n = numel(shape).ok_or_else(|| Error::shape("tensor", "shape overflows usize"))?;
        Self::from_slice(device, &host_zeros(n, shape)?, shape)
    }

    /// An output tensor whose contents the caller's dispatches will write.
    pub(crate) fn uninit(device: &Device, shape: &[usize]) -> Result<Self> {
        let n = numel(shape).ok_or_else(|| Error::shape("tensor", "shape overflows usize"))?;
        let storage = match device.kind() {
            DeviceKind::Cpu => Storage::Cpu(host_zeros(n, shape)?),
            DeviceKind::Gpu(g) => Storage::Gpu(if n == 0 {
                None
            } else {
                Some(GpuBuffer {
                    buffer: Some(g.alloc(bytes_of(n, shape)?, false)?),
                    gpu: g.gpu.clone(),
                })
            }),
        };
        Ok(Self {
            shape: shape.to_vec(),
            device: device.clone(),
            storage,
        })
    }

    /// The shape, outermost dimension first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The device the tensor lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The shape as `[n, c, h, w]`.
    ///
    /// # Errors
    /// [`Error::Shape`] when the tensor is not 4-D, worded as PyTorch words it for `op`.
    pub fn dims4(&self, op: &'static str) -> Result<[usize; 4]> {
        match self.shape[..] {
            [n, c, h, w] => Ok([n, c, h, w]),
            _ => Err(Error::shape(
                op,
                format!(
                    "Expected 4D (batched) input, but got input of size: {:?}",
                    self.shape
                ),
            )),
        }
    }

    /// The same data under another shape with as many elements.
    ///
    /// # Errors
    /// [`Error::Shape`] when the element counts differ.
    pub fn reshape(mut self, shape: &[usize]) -> Result<Self> {
        if numel(shape) != Some(self.numel()) {
            return Err(Error::shape(
                "reshape",
                format!(
                    "shape '{shape:?}' is invalid for input of size {}",
                    self.numel()
                ),
            ));
        }
        self.shape = shape.to_vec();
        Ok(self)
    }

    /// Copies the data back to the host, after every dispatch recorded before this call.
    ///
    /// # Errors
    /// A device error raised by the recorded work, or [`Error::DeviceLost`].
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        match &self.storage {
            Storage::Cpu(v) => Ok(v.clone()),
            Storage::Gpu(None) => Ok(Vec::new()),
            Storage::Gpu(Some(b)) => {
                let bytes = b.gpu.read(b.raw(), 0, self.numel() as u64 * 4)?;
                Ok(bytemuck::pod_collect_to_vec(&bytes))
            }
        }
    }

    /// A copy of this tensor on its own device (recorded like an op on a GPU).
    ///
    /// # Errors
    /// A device error.
    pub fn try_clone(&self) -> Result<Tensor> {
        let mut out = Tensor::uninit(&self.device, &self.shape)?;
        match (&self.storage, out.storage_mut()) {
            (Storage::Cpu(src), Storage::Cpu(dst)) => dst.clone_from(src),
            (Storage::Gpu(Some(src)), Storage::Gpu(Some(dst))) => {
                src.gpu
                    .copy(src.raw(), 0, dst.raw(), 0, self.numel() as u64 * 4)?;
            }
            _ => {}
        }
        Ok(out)
    }

    /// A copy of this tensor on `device`.
    ///
    /// # Errors
    /// As [`Tensor::to_vec`] and [`Tensor::from_slice`].
    pub fn to_device(&self, device: &Device) -> Result<Tensor> {
        Tensor::from_slice(device, &self.to_vec()?, &self.shape)
    }

    pub(crate) fn storage_mut(&mut self) -> &mut Storage {
        &mut self.storage
    }

    /// The GPU buffer of a non-empty tensor on a GPU device.
    ///
    /// # Errors
    /// [`Error::Backend`] for a tensor on the CPU path or with no elements (which has no
    /// buffer): callers dispatch on the device kind and handle empty tensors first.
    pub(crate) fn gpu_buffer(&self) -> Result<&wgpu::Buffer> {
        match &self.storage {
            Storage::Gpu(Some(b)) => Ok(b.raw()),
            Storage::Gpu(None) => Err(Error::Backend(format!(
                "a tensor of shape {:?} has no elements and so no buffer",
                self.shape
            ))),
            Storage::Cpu(_) => Err(Error::Backend(
                "a tensor on the CPU path has no GPU buffer".into(),
            )),
        }
    }

    /// The host data of a tensor on the CPU path.
    ///
    /// # Errors
    /// [`Error::Backend`] for a tensor on a GPU device (read it with [`Tensor::to_vec`]).
    pub(crate) fn cpu_data(&self) -> Result<&[f32]> {
        match &self.storage {
            Storage::Cpu(v) => Ok(v),
            Storage::Gpu(_) => Err(Error::Backend(
                "a tensor on a GPU device has no host data".into(),
            )),
        }
    }
}

/// Integer indices on a device (what `max_pool2d(.., return_indices=True)` returns):
/// on a GPU, u32 per element; read back as PyTorch's i64.
pub struct IndexTensor {
    shape: Vec<usize>,
    storage: IndexStorage,
}

enum IndexStorage {
    Cpu(Vec<i64>),
    Gpu(Option<GpuBuffer>),
}

impl fmt::Debug for IndexTensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IndexTensor({:?})", self.shape)
    }
}

impl IndexTensor {
    pub(crate) fn from_cpu(data: Vec<i64>, shape: &[usize]) -> Self {
        Self {
            shape: shape.to_vec(),
            storage: IndexStorage::Cpu(data),
        }
    }

    /// Room for indices of `shape` on a GPU device.
    pub(crate) fn uninit_gpu(device: &Device, shape: &[usize]) -> Result<Self> {
        let n = numel(shape).ok_or_else(|| Error::shape("tensor", "shape overflows usize"))?;
        let storage = match device.kind() {
            DeviceKind::Gpu(g) if n > 0 => IndexStorage::Gpu(Some(GpuBuffer {
                buffer: Some(g.alloc(bytes_of(n, shape)?, false)?),
                gpu: g.gpu.clone(),
            })),
            _ => IndexStorage::Gpu(None),
        };
        Ok(Self {
            shape: shape.to_vec(),
            storage,
        })
    }

    /// The GPU buffer of non-empty indices on a GPU device.
    ///
    /// # Errors
    /// [`Error::Backend`] otherwise (see [`Tensor::gpu_buffer`]).
    pub(crate) fn gpu_buffer(&self) -> Result<&wgpu::Buffer> {
        match &self.storage {
            IndexStorage::Gpu(Some(b)) => Ok(b.raw()),
            _ => Err(Error::Backend(
                "indices on the CPU path, or with no elements, have no GPU buffer".into(),
            )),
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The indices, as PyTorch's int64.
    ///
    /// # Errors
    /// A device error raised by the recorded work.
    pub fn to_vec(&self) -> Result<Vec<i64>> {
        match &self.storage {
            IndexStorage::Cpu(v) => Ok(v.clone()),
            IndexStorage::Gpu(None) => Ok(Vec::new()),
            IndexStorage::Gpu(Some(b)) => {
                let n: usize = self.shape.iter().product();
                let bytes = b.gpu.read(b.raw(), 0, n as u64 * 4)?;
                Ok(bytemuck::pod_collect_to_vec::<u8, u32>(&bytes)
                    .into_iter()
                    .map(i64::from)
                    .collect())
            }
        }
    }
}
