//! `Tensor`: a dense f32 or f16 array (NCHW for images) living on one [`Device`]. On a GPU its
//! storage is a pooled buffer that goes back to the pool when the tensor drops.
//! This layer sits on the device layer and below the kernels and the public functions.

use std::fmt;
use std::sync::Arc;

use crate::device::{Buf, Device, DeviceKind, Gpu};
use crate::dtype::DType;
use crate::error::{Error, Result};

/// A dense, row-major tensor of f32 or f16 on a device.
pub struct Tensor {
    shape: Vec<usize>,
    dtype: DType,
    device: Device,
    storage: Storage,
}

pub(crate) enum Storage {
    /// On the CPU path an f16 tensor holds its values widened to f32 (exactly).
    Cpu(Vec<f32>),
    /// `None` for a tensor with no elements. A view shares its buffer with the
    /// tensor it is a slice of.
    Gpu(Option<GpuSlice>),
}

/// A tensor's part of a pooled buffer: its whole, or a slice from byte `base`.
pub(crate) struct GpuSlice {
    buffer: Arc<GpuBuffer>,
    base: u64,
    /// Made by [`Tensor::view`]: another tensor's part.
    view: bool,
}

impl GpuSlice {
    fn whole(buffer: wgpu::Buffer, gpu: &Arc<Gpu>) -> Self {
        Self {
            buffer: Arc::new(GpuBuffer {
                buffer: Some(buffer),
                gpu: gpu.clone(),
            }),
            base: 0,
            view: false,
        }
    }

    fn buf(&self) -> Buf<'_> {
        Buf::new(self.buffer.raw(), self.base)
    }

    fn gpu(&self) -> &Gpu {
        &self.buffer.gpu
    }
}

/// A pooled storage buffer; returns to its device's pool on drop.
pub(crate) struct GpuBuffer {
    buffer: Option<wgpu::Buffer>,
    gpu: Arc<Gpu>,
}

impl GpuBuffer {
    fn raw(&self) -> &wgpu::Buffer {
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
        write!(
            f,
            "Tensor({:?}, {} on {})",
            self.shape,
            self.dtype.name(),
            self.device.backend()
        )
    }
}

pub(crate) fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// A host vector of room for `n` elements, filled by `fill`: an allocation the host
/// refuses is [`Error::OutOfMemory`], not an abort.
fn host_vec(n: usize, fill: impl FnOnce(&mut Vec<f32>)) -> Result<Vec<f32>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|e| Error::OutOfMemory(format!("{n} host elements: {e}")))?;
    fill(&mut v);
    Ok(v)
}

/// `len` elements, as many as `shape` holds.
///
/// # Errors
/// [`Error::Shape`] otherwise, in PyTorch's words.
fn check_len(op: &'static str, shape: &[usize], len: usize) -> Result<()> {
    if numel(shape) == Some(len) {
        Ok(())
    } else {
        Err(Error::shape(
            op,
            format!("shape '{shape:?}' is invalid for input of size {len}"),
        ))
    }
}

impl Tensor {
    /// A tensor holding a copy of `data`, laid out row-major in `shape`.
    ///
    /// # Errors
    /// [`Error::Shape`] when `data.len()` is not the product of `shape`; a device error
    /// when the buffer cannot be created.
    pub fn from_slice(device: &Device, data: &[f32], shape: &[usize]) -> Result<Self> {
        check_len("tensor", shape, data.len())?;
        device.check_tensor("tensor", shape)?;
        let storage = match device.kind() {
            DeviceKind::Cpu => Storage::Cpu(host_vec(data.len(), |v| v.extend_from_slice(data))?),
            DeviceKind::Gpu(g) => Storage::Gpu(if data.is_empty() {
                None
            } else {
                Some(GpuSlice::whole(
                    g.upload(bytemuck::cast_slice(data))?,
                    &g.gpu,
                ))
            }),
        };
        Ok(Self {
            shape: shape.to_vec(),
            dtype: DType::F32,
            device: device.clone(),
            storage,
        })
    }

    /// A tensor of `dtype` on `device` from f32 values, each rounded to the nearest
    /// value of `dtype` on the host (as PyTorch's `.half()` rounds).
    ///
    /// # Errors
    /// As [`Tensor::from_slice`].
    pub fn from_slice_as(
        device: &Device,
        data: &[f32],
        shape: &[usize],
        dtype: DType,
    ) -> Result<Self> {
        match dtype {
            DType::F32 => Tensor::from_slice(device, data, shape),
            DType::F16 => {
                let halves: Vec<half::f16> = data.iter().map(|&v| half::f16::from_f32(v)).collect();
                Tensor::from_f16(device, &halves, shape)
            }
        }
    }

    /// A tensor of zeros. Its size is checked against the device's limits before
    /// anything is allocated; on a GPU the buffer is cleared on the device.
    ///
    /// # Errors
    /// [`Error::Limit`] for a size the device cannot hold; a device error.
    pub fn zeros(device: &Device, shape: &[usize]) -> Result<Self> {
        let n = device.check_tensor("tensor", shape)?;
        let storage = match device.kind() {
            DeviceKind::Cpu => Storage::Cpu(host_vec(n, |v| v.resize(n, 0.0))?),
            DeviceKind::Gpu(g) => Storage::Gpu(if n == 0 {
                None
            } else {
                Some(GpuSlice::whole(g.zeros(n as u64 * 4)?, &g.gpu))
            }),
        };
        Ok(Self {
            shape: shape.to_vec(),
            dtype: DType::F32,
            device: device.clone(),
            storage,
        })
    }

    /// A CPU tensor of `dtype` from f32 values: each rounded once to the nearest f16
    /// (ties to even) for f16, which the CPU path keeps widened.
    pub(crate) fn from_host_as(mut data: Vec<f32>, shape: &[usize], dtype: DType) -> Self {
        if dtype != DType::F32 {
            for v in &mut data {
                *v = dtype.round(*v);
            }
        }
        Self {
            shape: shape.to_vec(),
            dtype,
            device: Device::cpu(),
            storage: Storage::Cpu(data),
        }
    }

    /// An output tensor whose contents the caller's dispatches will write.
    ///
    /// # Errors
    /// [`Error::Limit`] (op `tensor`) for a size the device cannot hold; a device error.
    pub(crate) fn uninit(device: &Device, shape: &[usize]) -> Result<Self> {
        Self::uninit_as(device, shape, DType::F32)
    }

    /// [`Tensor::uninit`] of `dtype`.
    pub(crate) fn uninit_as(device: &Device, shape: &[usize], dtype: DType) -> Result<Self> {
        let n = device.check_tensor("tensor", shape)?;
        let storage = match device.kind() {
            DeviceKind::Cpu => Storage::Cpu(host_vec(n, |v| v.resize(n, 0.0))?),
            DeviceKind::Gpu(g) => Storage::Gpu(if n == 0 {
                None
            } else {
                Some(GpuSlice::whole(
                    g.alloc(dtype.bytes(n as u64), false)?,
                    &g.gpu,
                ))
            }),
        };
        Ok(Self {
            shape: shape.to_vec(),
            dtype,
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
        check_len("reshape", shape, self.numel())?;
        self.shape = shape.to_vec();
        Ok(self)
    }

    /// Copies the data back to the host, after every dispatch recorded before this call.
    ///
    /// An f16 tensor's values come back widened to f32, exactly.
    ///
    /// # Errors
    /// A device error raised by the recorded work, or [`Error::DeviceLost`].
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        match (&self.storage, self.dtype) {
            (Storage::Cpu(v), _) => Ok(v.clone()),
            (Storage::Gpu(None), _) => Ok(Vec::new()),
            (Storage::Gpu(Some(b)), DType::F32) => {
                let bytes = b.gpu().read(b.buf(), 0, self.numel() as u64 * 4)?;
                Ok(bytemuck::pod_collect_to_vec(&bytes))
            }
            (Storage::Gpu(Some(_)), DType::F16) => Ok(self
                .to_vec_f16()?
                .into_iter()
                .map(half::f16::to_f32)
                .collect()),
        }
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// A tensor of f16 holding a copy of `data`, laid out row-major in `shape` (as
    /// `torch.tensor(data, dtype=torch.float16)`).
    ///
    /// # Errors
    /// As [`Tensor::from_slice`].
    pub fn from_f16(device: &Device, data: &[half::f16], shape: &[usize]) -> Result<Self> {
        check_len("tensor", shape, data.len())?;
        device.check_tensor("tensor", shape)?;
        let storage = match device.kind() {
            DeviceKind::Cpu => Storage::Cpu(host_vec(data.len(), |v| {
                v.extend(data.iter().map(|h| h.to_f32()));
            })?),
            DeviceKind::Gpu(_) if data.is_empty() => Storage::Gpu(None),
            DeviceKind::Gpu(g) => {
                // two to a u32, the first in its low half; an odd last one with +0.0
                let words: Vec<u32> = data
                    .chunks(2)
                    .map(|p| {
                        let hi = p.get(1).map_or(0, |h| u32::from(h.to_bits()));
                        u32::from(p[0].to_bits()) | hi << 16
                    })
                    .collect();
                Storage::Gpu(Some(GpuSlice::whole(
                    g.upload(bytemuck::cast_slice(&words))?,
                    &g.gpu,
                )))
            }
        };
        Ok(Self {
            shape: shape.to_vec(),
            dtype: DType::F16,
            device: device.clone(),
            storage,
        })
    }

    /// The f16 values of an f16 tensor, after every dispatch recorded before this call.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for a tensor of another type, in PyTorch's words; a
    /// device error.
    pub fn to_vec_f16(&self) -> Result<Vec<half::f16>> {
        if self.dtype != DType::F16 {
            return Err(Error::param(
                "to_vec_f16",
                format!(
                    "expected scalar type Half but found {}",
                    self.dtype.scalar_name()
                ),
            ));
        }
        let n = self.numel();
        match &self.storage {
            Storage::Cpu(v) => Ok(v.iter().map(|&x| half::f16::from_f32(x)).collect()),
            Storage::Gpu(None) => Ok(Vec::new()),
            Storage::Gpu(Some(b)) => {
                let bytes = b.gpu().read(b.buf(), 0, DType::F16.bytes(n as u64))?;
                let mut bits: Vec<u16> = bytemuck::pod_collect_to_vec(&bytes);
                bits.truncate(n);
                Ok(bits.into_iter().map(half::f16::from_bits).collect())
            }
        }
    }

    /// This tensor's values as `dtype`, converted on its device (as `x.to(dtype)`):
    /// f32 to f16 rounds to nearest, ties to even, magnitudes from 65520 on become
    /// infinity, NaN stays NaN and -0.0 stays -0.0; f16 to f32 is exact. The same type
    /// gives a copy.
    ///
    /// # Errors
    /// [`Error::Limit`] for a size the device cannot hold; a device error.
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        if dtype == self.dtype {
            return self.try_clone();
        }
        let mut out = Tensor::uninit_as(&self.device, &self.shape, dtype)?;
        match (&self.storage, &mut out.storage, self.device.kind()) {
            (Storage::Cpu(src), Storage::Cpu(dst), _) => {
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d = dtype.round(s);
                }
            }
            (Storage::Gpu(Some(src)), Storage::Gpu(Some(dst)), DeviceKind::Gpu(g)) => {
                let pair = (self.dtype, dtype);
                crate::kernels::convert::launch(
                    g,
                    pair,
                    (src.buf(), dst.buf()),
                    self.numel() as u64,
                )?;
            }
            _ => {}
        }
        Ok(out)
    }

    /// A copy of this tensor on its own device (recorded like an op on a GPU).
    ///
    /// # Errors
    /// A device error.
    pub fn try_clone(&self) -> Result<Tensor> {
        let mut out = Tensor::uninit_as(&self.device, &self.shape, self.dtype)?;
        match (&self.storage, out.storage_mut()) {
            (Storage::Cpu(src), Storage::Cpu(dst)) => dst.clone_from(src),
            (Storage::Gpu(Some(src)), Storage::Gpu(Some(dst))) => {
                let bytes = self.dtype.bytes(self.numel() as u64);
                src.gpu().copy(src.buf(), 0, dst.buf(), 0, bytes)?;
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
        match self.dtype {
            DType::F32 => Tensor::from_slice(device, &self.to_vec()?, &self.shape),
            DType::F16 => Tensor::from_f16(device, &self.to_vec_f16()?, &self.shape),
        }
    }

    /// The elements `[offset, offset + numel(shape))` of this GPU tensor as a tensor of
    /// `shape` that shares its buffer: what a kernel writes into the view lands in this
    /// tensor. `None` where that cannot be: a tensor on the CPU path or with no
    /// elements, a range past the end, a byte offset the device cannot bind at, or
    /// (f16) an odd count of elements, whose last u32 word the next elements share.
    pub(crate) fn view(&self, offset: usize, shape: &[usize]) -> Option<Tensor> {
        let Storage::Gpu(Some(b)) = &self.storage else {
            return None;
        };
        let n = numel(shape).filter(|&n| n > 0)?;
        let end = offset.checked_add(n)?;
        let base = b.base + offset as u64 * self.dtype.size();
        // 16 at least: a vec4 kernel's binding starts on a vec4
        let align = b.gpu().storage_align.max(16);
        let words = self.dtype == DType::F32 || n.is_multiple_of(2);
        (end <= self.numel() && base.is_multiple_of(align) && words).then(|| Tensor {
            shape: shape.to_vec(),
            dtype: self.dtype,
            device: self.device.clone(),
            storage: Storage::Gpu(Some(GpuSlice {
                buffer: b.buffer.clone(),
                base,
                view: true,
            })),
        })
    }

    /// Whether this tensor and `other` share a GPU buffer (one is a view into the
    /// other, or both into a third).
    pub(crate) fn shares_buffer(&self, other: &Tensor) -> bool {
        match (&self.storage, &other.storage) {
            (Storage::Gpu(Some(a)), Storage::Gpu(Some(b))) => Arc::ptr_eq(&a.buffer, &b.buffer),
            _ => false,
        }
    }

    /// Whether this tensor is a view into another's buffer (see [`Tensor::view`]).
    pub(crate) fn is_view(&self) -> bool {
        matches!(&self.storage, Storage::Gpu(Some(b)) if b.view)
    }

    /// Whether this tensor is the view of `whole` from element `offset` (as
    /// [`Tensor::view`] makes it).
    pub(crate) fn is_view_of(&self, whole: &Tensor, offset: usize) -> bool {
        match (&self.storage, &whole.storage) {
            (Storage::Gpu(Some(a)), Storage::Gpu(Some(b))) => {
                Arc::ptr_eq(&a.buffer, &b.buffer)
                    && a.base == b.base + offset as u64 * whole.dtype.size()
            }
            _ => false,
        }
    }

    /// Copies this tensor's elements into `dst` from element `offset` on, in recording
    /// order (both on one GPU device and of one type, the range inside `dst`, and for
    /// f16 whole u32 words: an even offset and count).
    ///
    /// # Errors
    /// [`Error::Backend`] for tensors that are not so; a device error.
    pub(crate) fn copy_into(&self, dst: &Tensor, offset: usize) -> Result<()> {
        if self.numel() == 0 {
            return Ok(());
        }
        let size = self.dtype.size();
        let words = (offset as u64 * size).is_multiple_of(4)
            && (self.numel() as u64 * size).is_multiple_of(4);
        match (&self.storage, &dst.storage) {
            _ if self.dtype != dst.dtype || !words => Err(Error::Backend(format!(
                "a {:?} tensor of {} elements is not copied into a {:?} one at {offset}",
                self.dtype,
                self.numel(),
                dst.dtype
            ))),
            (Storage::Gpu(Some(src)), Storage::Gpu(Some(d)))
                if offset
                    .checked_add(self.numel())
                    .is_some_and(|end| end <= dst.numel()) =>
            {
                src.gpu().copy(
                    src.buf(),
                    0,
                    d.buf(),
                    offset as u64 * size,
                    self.numel() as u64 * size,
                )
            }
            _ => Err(Error::Backend(format!(
                "cannot copy a tensor of shape {:?} into one of shape {:?} at {offset}",
                self.shape, dst.shape
            ))),
        }
    }

    pub(crate) fn storage_mut(&mut self) -> &mut Storage {
        &mut self.storage
    }

    /// The GPU buffer of a non-empty tensor on a GPU device.
    ///
    /// # Errors
    /// [`Error::Backend`] for a tensor on the CPU path or with no elements (which has no
    /// buffer): callers dispatch on the device kind and handle empty tensors first.
    pub(crate) fn gpu_buffer(&self) -> Result<Buf<'_>> {
        match &self.storage {
            Storage::Gpu(Some(b)) => Ok(b.buf()),
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
    Gpu(Option<GpuSlice>),
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
        let n = device.check_tensor("tensor", shape)?;
        let storage = match device.kind() {
            DeviceKind::Gpu(g) if n > 0 => {
                IndexStorage::Gpu(Some(GpuSlice::whole(g.alloc(n as u64 * 4, false)?, &g.gpu)))
            }
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
    pub(crate) fn gpu_buffer(&self) -> Result<Buf<'_>> {
        match &self.storage {
            IndexStorage::Gpu(Some(b)) => Ok(b.buf()),
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
                let bytes = b.gpu().read(b.buf(), 0, n as u64 * 4)?;
                Ok(bytemuck::pod_collect_to_vec::<u8, u32>(&bytes)
                    .into_iter()
                    .map(i64::from)
                    .collect())
            }
        }
    }
}
