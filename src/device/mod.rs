//! Devices: the layer every op records into, knowing no operator.
//!
//! A [`Device`] is either a wgpu device (Vulkan, Metal, DX12 or GL) or the CPU
//! reference path. On a GPU device, ops record their dispatches into one pending
//! command encoder; nothing reaches the queue until a result is read back or
//! [`Device::sync`] is called, so a whole network is one submit. Storage buffers come
//! from a pool and go back to it when their tensor drops; pipelines are compiled once
//! and cached by value.
//!
//! - [`adapter`]: the backends and adapters of the machine;
//! - `gpu`: one opened wgpu device, shared by every handle on its adapter;
//! - `pool`: storage buffers and memory accounting;
//! - `record`: the pending encoder, uniforms, dispatches, submits;
//! - `readback`: uploads and reads;
//! - `timing`: timestamp queries;
//! - `pipeline`: the pipeline cache;
//! - `context`: the lock around a GL context.
//!
//! What runs where a choice exists (a lowering, a tile size) is the kernels' policy,
//! not this layer's: a device states facts ([`Device::is_software`], limits) and
//! carries the upper layers' settings as [`Extensions`] without reading them.

pub mod adapter;
mod context;
mod gpu;
mod pipeline;
mod pool;
mod readback;
mod record;
mod timing;

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub use adapter::{AdapterSummary, BackendKind, list_adapters};
pub(crate) use gpu::Gpu;
pub use pipeline::Slot;
pub(crate) use pipeline::{Pipeline, PipelineSpec, ShaderCode};
pub use pool::MemoryStats;
pub(crate) use record::{Bind, Buf, Window};

use crate::dtype::Elem;
use crate::error::{Error, Result};

/// The most elements one tensor may hold on the CPU reference path (2^31 - 1: 8 GiB of
/// f32, 16 GiB of i64 indices). Checked before anything is allocated, so that a size no
/// host holds is an [`Error::Limit`], not an abort.
pub const HOST_MAX_ELEMENTS: u64 = (1 << 31) - 1;

/// Settings of the layers above the device (the kernels' lowering choices, say), one
/// value per type, carried by a device without the device layer reading them.
#[derive(Clone, Default)]
pub struct Extensions(Vec<Arc<dyn Any + Send + Sync>>);

impl Extensions {
    /// Sets the value of type `T`, replacing any earlier one.
    pub fn insert<T: Any + Send + Sync>(&mut self, value: T) {
        self.0.retain(|v| !v.is::<T>());
        self.0.push(Arc::new(value));
    }

    /// The value of type `T`, if one was set.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.0.iter().find_map(|v| v.downcast_ref::<T>())
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Extensions({} set)", self.0.len())
    }
}

/// How to choose a device. The default takes `WGCNN_BACKEND` from the environment and
/// otherwise the best adapter (discrete > integrated > virtual > software).
#[derive(Clone, Debug, Default)]
pub struct DeviceOptions {
    /// Only this backend. `None`: `WGCNN_BACKEND` if set, else any.
    pub backend: Option<BackendKind>,
    /// Only adapters whose name contains this (case-insensitive).
    pub adapter: Option<String>,
    /// Lower the storage binding size the launchers plan with (tests use this to
    /// exercise chunking on small tensors). Never raises the adapter's own limit.
    pub max_storage_binding: Option<u64>,
    /// Lower the per-dimension workgroup count the launchers plan with.
    pub max_workgroups_per_dim: Option<u32>,
    /// The estimated work (multiply-adds plus elements written) after which recorded
    /// ops are submitted without waiting, so that no submit runs long enough for a
    /// driver's watchdog (about 2 s on Windows) to reset the device. `None`:
    /// `WGCNN_SUBMIT_BUDGET` if set, else [`DEFAULT_SUBMIT_BUDGET`]; `Some(u64::MAX)`:
    /// one submit per read. A convolution over a batch is recorded in runs of images
    /// that each fit the budget; one image's convolution, or another op, larger than
    /// the budget is a submit of its own.
    pub submit_budget: Option<u64>,
    /// Settings of the layers above, e.g. [`crate::Lowerings`].
    pub extensions: Extensions,
}

impl DeviceOptions {
    /// Options for one backend.
    pub fn backend(kind: BackendKind) -> Self {
        Self {
            backend: Some(kind),
            ..Self::default()
        }
    }

    /// These options with `value` among the extensions (e.g. [`crate::Lowerings`]).
    pub fn with<T: Any + Send + Sync>(mut self, value: T) -> Self {
        self.extensions.insert(value);
        self
    }
}

/// The default [`DeviceOptions::submit_budget`]: 2^32, about 4 G multiply-adds, a
/// quarter of a second on a CPU driver and far less on any GPU; a network of the size
/// of ResNet-18 at batch 1 (1.8 G) is one submit.
pub const DEFAULT_SUBMIT_BUDGET: u64 = 1 << 32;

/// A device that runs wgcnn's ops: a GPU through wgpu, or the CPU reference path.
/// Cheap to clone; clones share the queue, pools and caches.
#[derive(Clone)]
pub struct Device {
    kind: DeviceKind,
}

#[derive(Clone)]
pub(crate) enum DeviceKind {
    Cpu,
    Gpu(GpuHandle),
}

/// A handle on a shared [`Gpu`] with the limits this handle's launchers plan with
/// (the adapter's own, or lower ones from [`DeviceOptions`]) and its extensions.
#[derive(Clone)]
pub(crate) struct GpuHandle {
    pub(crate) gpu: Arc<Gpu>,
    max_binding: u64,
    max_groups: u32,
    submit_budget: u64,
    extensions: Extensions,
    /// The element form this handle's launchers record in: the sizes its helpers
    /// (chunks, windows, bands) count in, and the form of the shaders it builds.
    elem: Elem,
}

impl std::ops::Deref for GpuHandle {
    type Target = Gpu;
    fn deref(&self) -> &Gpu {
        &self.gpu
    }
}

impl GpuHandle {
    fn new(gpu: Arc<Gpu>, options: &DeviceOptions) -> Result<Self> {
        let align = gpu.storage_align.max(16);
        let mut max_binding = gpu.max_binding;
        if let Some(m) = options.max_storage_binding {
            max_binding = max_binding.min(m.max(align));
        }
        max_binding -= max_binding % align;
        let mut max_groups = gpu.max_groups;
        if let Some(m) = options.max_workgroups_per_dim {
            max_groups = max_groups.min(m.max(1));
        }
        let submit_budget = match options.submit_budget {
            Some(b) => b,
            None => match std::env::var("WGCNN_SUBMIT_BUDGET") {
                Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| {
                    Error::param(
                        "device",
                        format!("WGCNN_SUBMIT_BUDGET must be a whole number, not '{v}'"),
                    )
                })?,
                _ => DEFAULT_SUBMIT_BUDGET,
            },
        };
        Ok(Self {
            gpu,
            max_binding,
            max_groups,
            submit_budget: submit_budget.max(1),
            extensions: options.extensions.clone(),
            elem: Elem::F32,
        })
    }

    /// This handle recording in the element form `elem`.
    pub(crate) fn in_form(&self, elem: Elem) -> GpuHandle {
        GpuHandle {
            elem,
            ..self.clone()
        }
    }

    /// The element form this handle records in.
    pub(crate) fn elem(&self) -> Elem {
        self.elem
    }

    /// Bytes of `n` elements of this handle's form.
    pub(crate) fn bytes(&self, n: u64) -> u64 {
        self.elem.bytes(n)
    }

    /// The pipeline of `spec` in this handle's element form.
    ///
    /// # Errors
    /// As [`Gpu::pipeline`].
    pub(crate) fn pipeline(&self, spec: &PipelineSpec) -> Result<Arc<Pipeline>> {
        self.gpu.pipeline(spec, self.elem)
    }

    /// The estimated work after which recorded ops are submitted.
    pub(crate) fn submit_budget(&self) -> u64 {
        self.submit_budget
    }

    /// Makes room for work of estimated `cost` about to be recorded (see
    /// [`DeviceOptions::submit_budget`]): submits what is recorded first when the two
    /// together would pass the budget, so that every submit stays within it (but for
    /// one piece of work larger than the budget, which is a submit of its own).
    ///
    /// # Errors
    /// As a submit.
    pub(crate) fn reserve(&self, cost: u64) -> Result<()> {
        let pending = self.gpu.pending_cost();
        if pending > 0 && pending.saturating_add(cost) > self.submit_budget {
            self.gpu.flush()?;
        }
        self.gpu.add_pending_cost(cost);
        Ok(())
    }

    /// The extension of type `T` this handle was opened with.
    pub(crate) fn extension<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.extensions.get::<T>()
    }

    /// Workgroup counts for `groups` workgroups in all, spilling past the per-dimension
    /// limit into y. Shaders rebuild the linear id as `wid.x + wid.y * nwg.x` and
    /// bounds-check it, since `x * y` may exceed `groups`.
    pub(crate) fn grid(&self, groups: u64) -> Result<[u32; 3]> {
        let max = u64::from(self.max_groups);
        let x = groups.clamp(1, max);
        let y = groups.div_ceil(x).max(1);
        if y > max {
            return Err(Error::Limit {
                op: "device",
                what: "workgroup count",
                requested: groups,
                limit: max * max,
            });
        }
        Ok([x as u32, y as u32, 1])
    }

    /// The grid of `dims` workgroups (x, y, z), each within the per-dimension limit.
    ///
    /// # Errors
    /// [`Error::Limit`] naming `what` for a dimension past the limit.
    pub(crate) fn grid3(&self, dims: [u64; 3], what: &'static str) -> Result<[u32; 3]> {
        let max = u64::from(self.max_groups);
        if let Some(&d) = dims.iter().find(|&&d| d > max) {
            return Err(Error::Limit {
                op: "device",
                what,
                requested: d,
                limit: max,
            });
        }
        Ok(dims.map(|d| d.max(1) as u32))
    }

    /// Largest chunk, in f32 elements, that one storage binding can hold at an aligned
    /// offset.
    pub(crate) fn chunk_elems(&self) -> u64 {
        self.max_binding / self.elem.dtype().size()
    }

    /// Whether the device has subgroups, always of exactly `lanes` invocations.
    pub(crate) fn subgroups_of(&self, lanes: u32) -> bool {
        self.gpu.subgroup_lanes == Some(lanes)
    }

    /// Whether the device loads and stores `f16` in shaders (`SHADER_F16`).
    pub(crate) fn has_shader_f16(&self) -> bool {
        self.gpu.shader_f16
    }

    /// The adapter's uniform binding size.
    pub(crate) fn max_uniform_binding(&self) -> u64 {
        self.gpu.max_uniform
    }

    /// The workgroup count per dimension the launchers plan with.
    pub(crate) fn max_groups_per_dim(&self) -> u32 {
        self.max_groups
    }

    /// Splits `n` elements of flat buffers of this handle's form into chunks of at most one binding, each
    /// starting at a multiple of the chunk (so aligned as a binding's offset), and calls
    /// `f(byte offset, byte size, elements)` for each.
    ///
    /// # Errors
    /// `f`'s.
    pub(crate) fn for_each_chunk(
        &self,
        n: u64,
        mut f: impl FnMut(u64, u64, u64) -> Result<()>,
    ) -> Result<()> {
        let chunk = self.chunk_elems();
        let mut start = 0;
        while start < n {
            let len = chunk.min(n - start);
            f(self.bytes(start), self.bytes(len), len)?;
            start += len;
        }
        Ok(())
    }

    /// Splits `count` items (images, planes) of `in_len` input and `out_len` output
    /// elements each into runs whose input and output windows each fit one storage
    /// binding, at most `max_run` items long, and calls
    /// `f(first item, items, input window, output window)` for each run.
    ///
    /// # Errors
    /// [`Error::Limit`] (naming `what`) when one item alone exceeds a binding; `f`'s.
    pub(crate) fn for_each_run(
        &self,
        what: &'static str,
        count: usize,
        (in_len, out_len): (u64, u64),
        max_run: usize,
        mut f: impl FnMut(usize, usize, Window, Window) -> Result<()>,
    ) -> Result<()> {
        let chunk = self.chunk_elems();
        if in_len > chunk || out_len > chunk {
            return Err(Error::Limit {
                op: "device",
                what,
                requested: self.bytes(in_len.max(out_len)),
                limit: self.bytes(chunk),
            });
        }
        // a window starts up to one alignment before its first element
        let room = self.band_room();
        let per = (room / in_len.max(1))
            .min(room / out_len.max(1))
            .min(max_run as u64)
            .max(1) as usize;
        for first in (0..count).step_by(per) {
            let n = per.min(count - first);
            let (a, b) = (first as u64, n as u64);
            f(
                first,
                n,
                self.window(a * in_len, b * in_len),
                self.window(a * out_len, b * out_len),
            )?;
        }
        Ok(())
    }

    /// [`GpuHandle::for_each_run`] for work of an estimated `cost` per item: runs short
    /// enough to fit the submit budget, each run's cost reserved (submitting what is
    /// recorded first where the two would pass it) before `f` records it.
    ///
    /// # Errors
    /// As [`GpuHandle::for_each_run`]; a submit's.
    pub(crate) fn for_each_budgeted_run(
        &self,
        what: &'static str,
        count: usize,
        lens: (u64, u64),
        max_run: usize,
        cost: u64,
        mut f: impl FnMut(usize, usize, Window, Window) -> Result<()>,
    ) -> Result<()> {
        let by_budget = (self.submit_budget() / cost.max(1)).max(1);
        let max_run = max_run.min(usize::try_from(by_budget).unwrap_or(usize::MAX));
        self.for_each_run(what, count, lens, max_run, |first, items, x, y| {
            self.reserve(cost.saturating_mul(items as u64))?;
            f(first, items, x, y)
        })
    }

    /// Splits `rows` output rows of one item too large for a binding into bands
    /// `[first, end)` whose output (`out_row` elements a row) and whose input (the
    /// `in_rows(first, end)` rows of `in_row` elements it reads, its halo included)
    /// each fit one binding at any offset, the largest band first, and calls
    /// `f(first, end)` for each. `in_rows` must not shrink as a band grows.
    ///
    /// # Errors
    /// [`Error::Limit`] (naming `what`) when one output row with its input rows alone
    /// exceeds a binding; `f`'s.
    pub(crate) fn for_each_band(
        &self,
        what: &'static str,
        rows: usize,
        (in_row, out_row): (u64, u64),
        in_rows: impl Fn(usize, usize) -> u64,
        mut f: impl FnMut(usize, usize) -> Result<()>,
    ) -> Result<()> {
        // a window starts up to one alignment before its first element
        let room = self.band_room();
        let fits = |first: usize, end: usize| {
            let outputs = (end - first) as u64 * out_row;
            let inputs = in_rows(first, end).saturating_mul(in_row);
            outputs <= room && inputs <= room
        };
        let mut first = 0;
        while first < rows {
            if !fits(first, first + 1) {
                let one = in_rows(first, first + 1)
                    .saturating_mul(in_row)
                    .max(out_row);
                return Err(Error::Limit {
                    op: "device",
                    what,
                    requested: self.bytes(one),
                    limit: self.bytes(room),
                });
            }
            // the longest band from `first` that fits: fits(first, lo) holds, hi does not
            let (mut lo, mut hi) = (first + 1, rows + 1);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if fits(first, mid) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            f(first, lo)?;
            first = lo;
        }
        Ok(())
    }

    /// [`GpuHandle::for_each_band`] over each of `planes` planes of `h x w` inputs and
    /// `oh x ow` outputs whose band of output rows `[first, end)` reads input rows
    /// `reads(first, end)` (growing with the band), calling `f` with each band's
    /// windows: a kernel that works per plane then binds a band's rows where they lie.
    ///
    /// # Errors
    /// As [`GpuHandle::for_each_band`].
    pub(crate) fn for_each_plane_band(
        &self,
        what: &'static str,
        planes: usize,
        ([h, w], [oh, ow]): ([u64; 2], [u64; 2]),
        reads: impl Fn(usize, usize) -> (u64, u64),
        mut f: impl FnMut(PlaneBand) -> Result<()>,
    ) -> Result<()> {
        let rows = usize::try_from(oh).unwrap_or(usize::MAX);
        for plane in 0..planes as u64 {
            self.for_each_band(
                what,
                rows,
                (w, ow),
                |first, end| {
                    let (start, stop) = reads(first, end);
                    stop - start
                },
                |first, end| {
                    let (start, stop) = reads(first, end);
                    let (first, end) = (first as u64, end as u64);
                    f(PlaneBand {
                        first,
                        rows: end - first,
                        in_first: start,
                        x: self.window((plane * h + start) * w, (stop - start) * w),
                        y: self.window((plane * oh + first) * ow, (end - first) * ow),
                    })
                },
            )?;
        }
        Ok(())
    }

    /// Elements a band may hold so that its window, from any offset, fits a binding.
    pub(crate) fn band_room(&self) -> u64 {
        self.chunk_elems()
            .saturating_sub(self.storage_align / self.elem.dtype().size())
            .max(1)
    }

    /// A binding that covers elements `[start, start + len)` of a buffer of this
    /// handle's form: the byte offset (aligned down as bindings require), the byte size
    /// (whole u32 words), and the shift in elements of `start` within the binding,
    /// which the shader adds to its indices.
    pub(crate) fn window(&self, start: u64, len: u64) -> Window {
        let size = self.elem.dtype().size();
        let offset = start * size / self.storage_align * self.storage_align;
        let shift = start - offset / size;
        (offset, self.bytes(shift + len), shift as u32)
    }
}

/// One band of rows of one plane: its first output row and row count, the first
/// input row it reads, and the windows of its input rows and output rows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PlaneBand {
    pub first: u64,
    pub rows: u64,
    pub in_first: u64,
    pub x: Window,
    pub y: Window,
}

/// The wgpu device of each adapter, opened on first use and kept for the process (or
/// until it is lost): every [`Device`] on one adapter shares it (and so its queue,
/// pools and pipelines), which also keeps a GL context from being made current on two
/// threads at once.
fn open_shared(index: usize, kind: BackendKind, adapter: &wgpu::Adapter) -> Result<Arc<Gpu>> {
    static OPEN: Mutex<Vec<(usize, Arc<Gpu>)>> = Mutex::new(Vec::new());
    let mut open = gpu::lock(&OPEN);
    // a lost device is replaced by a new one (its own handles keep reporting the loss)
    open.retain(|(_, gpu)| !gpu.is_lost());
    if let Some((_, gpu)) = open.iter().find(|(i, _)| *i == index) {
        return Ok(gpu.clone());
    }
    let gpu = Arc::new(Gpu::open(kind, adapter)?);
    open.push((index, gpu.clone()));
    Ok(gpu)
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Device({}: {})", self.backend(), self.name())
    }
}

impl PartialEq for Device {
    fn eq(&self, other: &Self) -> bool {
        match (&self.kind, &other.kind) {
            (DeviceKind::Cpu, DeviceKind::Cpu) => true,
            (DeviceKind::Gpu(a), DeviceKind::Gpu(b)) => Arc::ptr_eq(&a.gpu, &b.gpu),
            _ => false,
        }
    }
}

static FALLBACK_NOTED: AtomicBool = AtomicBool::new(false);

impl Device {
    /// The CPU reference device.
    pub fn cpu() -> Self {
        Self {
            kind: DeviceKind::Cpu,
        }
    }

    /// The best device for `options`. With no backend requested and no adapter on the
    /// machine, falls back to the CPU reference path and says so once on stderr.
    ///
    /// # Errors
    /// [`Error::NoAdapter`] when a requested backend or adapter name matches nothing;
    /// [`Error::Backend`] when the adapter refuses the device.
    pub fn new(options: &DeviceOptions) -> Result<Self> {
        let backend = match options.backend {
            Some(b) => Some(b),
            None => match std::env::var("WGCNN_BACKEND") {
                Ok(v) if !v.trim().is_empty() => Some(BackendKind::parse(&v)?),
                _ => None,
            },
        };
        if backend == Some(BackendKind::Cpu) {
            return Ok(Self::cpu());
        }
        let filter = options.adapter.as_ref().map(|s| s.to_lowercase());
        let chosen = adapter::adapters(backend).into_iter().find(|(_, _, a)| {
            filter
                .as_ref()
                .is_none_or(|f| a.get_info().name.to_lowercase().contains(f))
        });
        let Some((index, kind, adapter)) = chosen else {
            if backend.is_none() && filter.is_none() {
                if !FALLBACK_NOTED.swap(true, Ordering::Relaxed) {
                    eprintln!("wgcnn: no GPU adapter found; using the CPU reference path");
                }
                return Ok(Self::cpu());
            }
            return Err(Error::NoAdapter(format!(
                "no {} adapter{}",
                backend.map_or("GPU".to_string(), |b| b.name().to_string()),
                filter.map_or(String::new(), |f| format!(" matching '{f}'"))
            )));
        };
        Ok(Self {
            kind: DeviceKind::Gpu(GpuHandle::new(open_shared(index, kind, adapter)?, options)?),
        })
    }

    /// The best device (see [`DeviceOptions`]); shorthand for `Device::new(&Default::default())`.
    ///
    /// # Errors
    /// As [`Device::new`].
    pub fn best() -> Result<Self> {
        Self::new(&DeviceOptions::default())
    }

    /// Every device on this machine: one per GPU adapter, then the CPU reference.
    ///
    /// # Errors
    /// [`Error::Backend`] when an adapter refuses its device.
    pub fn all() -> Result<Vec<Self>> {
        let mut out = Vec::new();
        for (index, kind, adapter) in adapter::adapters(None) {
            out.push(Self {
                kind: DeviceKind::Gpu(GpuHandle::new(
                    open_shared(index, kind, adapter)?,
                    &DeviceOptions::default(),
                )?),
            });
        }
        out.push(Self::cpu());
        Ok(out)
    }

    pub(crate) fn kind(&self) -> &DeviceKind {
        &self.kind
    }

    /// The backend this device runs on.
    pub fn backend(&self) -> BackendKind {
        match &self.kind {
            DeviceKind::Cpu => BackendKind::Cpu,
            DeviceKind::Gpu(g) => g.backend,
        }
    }

    /// The adapter's name (`"cpu reference"` for the CPU path).
    pub fn name(&self) -> &str {
        match &self.kind {
            DeviceKind::Cpu => "cpu reference",
            DeviceKind::Gpu(g) => &g.info.name,
        }
    }

    /// Checks, before anything is allocated, that a tensor of `shape` can live on this
    /// device: on the CPU path at most [`HOST_MAX_ELEMENTS`] elements, on a GPU at most
    /// the adapter's largest buffer. Returns the element count.
    ///
    /// # Errors
    /// [`Error::Limit`] naming `op`.
    pub fn check_tensor(&self, op: &'static str, shape: &[usize]) -> Result<usize> {
        // u128 holds the product of any two usizes; saturating past that
        let elems = shape
            .iter()
            .fold(1u128, |acc, &d| acc.saturating_mul(d as u128));
        let requested = |v: u128| u64::try_from(v).unwrap_or(u64::MAX);
        match &self.kind {
            DeviceKind::Cpu if elems > u128::from(HOST_MAX_ELEMENTS) => Err(Error::limit(
                op,
                "elements of a tensor on the CPU reference path",
                requested(elems),
                HOST_MAX_ELEMENTS,
            )),
            DeviceKind::Gpu(g) if elems.saturating_mul(4) > u128::from(g.max_buffer) => {
                Err(Error::limit(
                    op,
                    "buffer size (bytes)",
                    requested(elems.saturating_mul(4)),
                    g.max_buffer,
                ))
            }
            _ => usize::try_from(elems).map_err(|_| {
                Error::limit(
                    op,
                    "elements of a tensor",
                    requested(elems),
                    usize::MAX as u64,
                )
            }),
        }
    }

    /// Whether this is the CPU reference path.
    pub fn is_cpu(&self) -> bool {
        matches!(self.kind, DeviceKind::Cpu)
    }

    /// Whether the device's shaders load and store `f16` (`SHADER_F16`), so that f16
    /// tensors can be computed by the native f16 kernels ([`crate::F16Kernels`]).
    /// `false` for the CPU reference path.
    pub fn has_shader_f16(&self) -> bool {
        match &self.kind {
            DeviceKind::Cpu => false,
            DeviceKind::Gpu(g) => g.has_shader_f16(),
        }
    }

    /// Whether the adapter is a CPU driver (lavapipe, llvmpipe, WARP, SwiftShader).
    /// `false` for the CPU reference path, which is no adapter.
    pub fn is_software(&self) -> bool {
        match &self.kind {
            DeviceKind::Cpu => false,
            DeviceKind::Gpu(g) => g.is_software(),
        }
    }

    /// Submits every recorded dispatch and waits until the device is idle.
    ///
    /// # Errors
    /// A validation or out-of-memory error raised by the recorded work, or
    /// [`Error::DeviceLost`].
    pub fn sync(&self) -> Result<()> {
        match &self.kind {
            DeviceKind::Cpu => Ok(()),
            DeviceKind::Gpu(g) => {
                g.flush()?;
                g.wait()
            }
        }
    }

    /// Runs `f`, whose ops are recorded, submits and waits, and returns its result with
    /// the GPU time of its compute passes in milliseconds, from timestamp queries
    /// (`None` where the adapter has none, and on the CPU path).
    ///
    /// # Errors
    /// `f`'s error, or a device error.
    pub fn time_gpu<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<(T, Option<f64>)> {
        match &self.kind {
            DeviceKind::Cpu => Ok((f()?, None)),
            DeviceKind::Gpu(g) => {
                if !g.begin_timing()? {
                    let out = f()?;
                    self.sync()?;
                    return Ok((out, None));
                }
                let out = f();
                let ms = g.end_timing()?;
                Ok((out?, ms))
            }
        }
    }

    /// How many command buffers this device has submitted so far.
    pub fn submit_count(&self) -> u64 {
        match &self.kind {
            DeviceKind::Cpu => 0,
            DeviceKind::Gpu(g) => g.submits.load(Ordering::Relaxed),
        }
    }

    /// Device memory held by tensors (all zero on the CPU path).
    pub fn memory(&self) -> MemoryStats {
        match &self.kind {
            DeviceKind::Cpu => MemoryStats::default(),
            DeviceKind::Gpu(g) => {
                let pool = g.pool();
                MemoryStats {
                    live_bytes: pool.live,
                    peak_bytes: pool.peak,
                    pool_bytes: pool.total,
                }
            }
        }
    }

    /// Frees the device memory that no tensor holds: the pool's free buffers and the
    /// staging buffers of reads. The pool bounds itself (see [`MemoryStats::pool_bytes`]);
    /// this is for a program that is done with large inputs.
    pub fn trim(&self) {
        if let DeviceKind::Gpu(g) = &self.kind {
            g.trim();
        }
    }

    /// Starts a new peak for [`Device::memory`] from what is live now.
    pub fn reset_peak_memory(&self) {
        if let DeviceKind::Gpu(g) = &self.kind {
            let mut pool = g.pool();
            pool.peak = pool.live;
        }
    }

    /// How many storage buffers this device has created so far (the pool reuses them).
    pub fn buffers_created(&self) -> u64 {
        match &self.kind {
            DeviceKind::Cpu => 0,
            DeviceKind::Gpu(g) => g.pool().created,
        }
    }

    /// Destroys the wgpu device, as a driver reset or a removed GPU would: every later
    /// call on this device (and its clones) is [`Error::DeviceLost`], and
    /// [`Device::new`] opens a fresh device on the adapter. For tests of the loss path.
    #[doc(hidden)]
    pub fn debug_lose(&self) {
        if let DeviceKind::Gpu(g) = &self.kind {
            g.lose("destroyed by Device::debug_lose");
        }
    }

    /// Creates a raw storage buffer of `bytes` without wgcnn's own limit check, so that
    /// wgpu's validation decides. For tests of the error path.
    ///
    /// # Errors
    /// What wgpu reports (validation, out of memory).
    #[doc(hidden)]
    pub fn debug_create_buffer_unchecked(&self, bytes: u64) -> Result<()> {
        match &self.kind {
            DeviceKind::Cpu => Ok(()),
            DeviceKind::Gpu(g) => g.create_storage(bytes).map(drop),
        }
    }
}
