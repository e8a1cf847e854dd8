//! Devices: adapter discovery and selection, and the scheduling layer every op records
//! into.
//!
//! A [`Device`] is either a wgpu device (Vulkan, Metal, DX12 or GL) or the CPU reference
//! path. On a GPU device, ops record their dispatches into one pending command encoder;
//! nothing reaches the queue until a result is read back or [`Device::sync`] is called,
//! so a whole network is one submit. Storage buffers come from a pool and go back to it
//! when their tensor drops; pipelines are compiled once and cached.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::error::{Error, Result};
use crate::ops::gemm::GemmVariant;
use crate::shaders::{Constants, Pipeline, PipelineCache, Shader, Slot};

/// The backends a [`Device`] can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BackendKind {
    Vulkan,
    Metal,
    Dx12,
    Gl,
    /// The CPU reference path: plain loops, no wgpu.
    Cpu,
}

impl BackendKind {
    /// Every GPU backend wgpu may offer, in order of preference.
    pub const GPU: [BackendKind; 4] = [Self::Vulkan, Self::Metal, Self::Dx12, Self::Gl];

    /// The name used by the CLI, `WGCNN_BACKEND` and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Vulkan => "vulkan",
            Self::Metal => "metal",
            Self::Dx12 => "dx12",
            Self::Gl => "gl",
            Self::Cpu => "cpu",
        }
    }

    /// Parses a backend name (`vulkan`, `metal`, `dx12`, `gl`, `cpu`; case-insensitive).
    ///
    /// # Errors
    /// [`Error::NoAdapter`] for an unknown name.
    pub fn parse(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "vulkan" | "vk" => Ok(Self::Vulkan),
            "metal" | "mtl" => Ok(Self::Metal),
            "dx12" | "d3d12" => Ok(Self::Dx12),
            "gl" | "gles" | "opengl" => Ok(Self::Gl),
            "cpu" => Ok(Self::Cpu),
            other => Err(Error::NoAdapter(format!(
                "unknown backend '{other}' (expected vulkan, metal, dx12, gl or cpu)"
            ))),
        }
    }

    fn from_wgpu(backend: wgpu::Backend) -> Option<Self> {
        match backend {
            wgpu::Backend::Vulkan => Some(Self::Vulkan),
            wgpu::Backend::Metal => Some(Self::Metal),
            wgpu::Backend::Dx12 => Some(Self::Dx12),
            wgpu::Backend::Gl => Some(Self::Gl),
            _ => None,
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What `wgcnn devices` shows of one adapter.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    pub backend: BackendKind,
    pub name: String,
    /// `discrete`, `integrated`, `virtual`, `software` or `other`.
    pub device_type: &'static str,
    pub driver: String,
    pub max_storage_binding: u64,
    pub max_buffer: u64,
    pub max_workgroups_per_dim: u32,
    pub max_invocations_per_workgroup: u32,
    pub max_workgroup_storage: u32,
    pub f16: bool,
    pub subgroups: bool,
    pub timestamps: bool,
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
    /// The GEMM kernel. `None`: `WGCNN_GEMM` (`tiled`, `register`) if set, else
    /// `register` on a software adapter and `tiled` on a GPU.
    pub gemm: Option<GemmVariant>,
    /// The conv2d lowering `Conv2dAlgo::Auto` stands for. `None`: `WGCNN_CONV2D`
    /// (`auto`, `im2col`, `direct`, `implicit`, `packed`, `winograd`) if set, else the
    /// per-call choice.
    pub conv2d: Option<crate::Conv2dAlgo>,
}

impl DeviceOptions {
    /// Options for one backend.
    pub fn backend(kind: BackendKind) -> Self {
        Self {
            backend: Some(kind),
            ..Self::default()
        }
    }
}

fn instance() -> &'static wgpu::Instance {
    static INSTANCE: OnceLock<wgpu::Instance> = OnceLock::new();
    INSTANCE.get_or_init(|| {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::all();
        desc.flags = wgpu::InstanceFlags::empty();
        wgpu::Instance::new(desc)
    })
}

fn type_name(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::DiscreteGpu => "discrete",
        wgpu::DeviceType::IntegratedGpu => "integrated",
        wgpu::DeviceType::VirtualGpu => "virtual",
        wgpu::DeviceType::Cpu => "software",
        wgpu::DeviceType::Other => "other",
    }
}

fn type_rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

/// Every wgpu adapter on this machine, of every backend, best first: enumerated once
/// per process (enumerating again would touch a GL context that an open device may be
/// using on another thread), as indices into that list with their backend.
fn adapter_list() -> &'static [(BackendKind, wgpu::Adapter)] {
    static ADAPTERS: OnceLock<Vec<(BackendKind, wgpu::Adapter)>> = OnceLock::new();
    ADAPTERS.get_or_init(|| {
        let mut found: Vec<(BackendKind, wgpu::Adapter)> =
            pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()))
                .into_iter()
                .filter_map(|a| BackendKind::from_wgpu(a.get_info().backend).map(|k| (k, a)))
                .collect();
        found.sort_by_key(|(k, a)| (type_rank(a.get_info().device_type), *k));
        found
    })
}

/// The adapters of `backend` (all when `None`), best first, as indices into
/// [`adapter_list`].
fn adapters(backend: Option<BackendKind>) -> Vec<(usize, BackendKind, &'static wgpu::Adapter)> {
    adapter_list()
        .iter()
        .enumerate()
        .filter(|(_, (k, _))| backend.is_none_or(|b| b == *k))
        .map(|(i, (k, a))| (i, *k, a))
        .collect()
}

const FEATURES_WANTED: wgpu::Features = wgpu::Features::SHADER_F16
    .union(wgpu::Features::SUBGROUP)
    .union(wgpu::Features::TIMESTAMP_QUERY);

/// Lists every GPU adapter wgpu finds, best first.
pub fn list_adapters() -> Vec<AdapterSummary> {
    adapters(None)
        .into_iter()
        .map(|(_, backend, a)| summarize(backend, a))
        .collect()
}

fn summarize(backend: BackendKind, a: &wgpu::Adapter) -> AdapterSummary {
    let info = a.get_info();
    let limits = a.limits();
    let features = a.features();
    AdapterSummary {
        backend,
        name: info.name.clone(),
        device_type: type_name(info.device_type),
        driver: format!("{} {}", info.driver, info.driver_info)
            .trim()
            .to_string(),
        max_storage_binding: limits.max_storage_buffer_binding_size,
        max_buffer: limits.max_buffer_size,
        max_workgroups_per_dim: limits.max_compute_workgroups_per_dimension,
        max_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
        max_workgroup_storage: limits.max_compute_workgroup_storage_size,
        f16: features.contains(wgpu::Features::SHADER_F16),
        subgroups: features.contains(wgpu::Features::SUBGROUP),
        timestamps: features.contains(wgpu::Features::TIMESTAMP_QUERY),
    }
}

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
/// (the adapter's own, or lower ones from [`DeviceOptions`]).
#[derive(Clone)]
pub(crate) struct GpuHandle {
    pub(crate) gpu: Arc<Gpu>,
    max_binding: u64,
    max_groups: u32,
    gemm: GemmVariant,
    conv2d: crate::Conv2dAlgo,
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
        let gemm = match options.gemm {
            Some(v) => v,
            None => match std::env::var("WGCNN_GEMM") {
                Ok(v) if !v.trim().is_empty() => GemmVariant::parse(v.trim())?,
                _ if gpu.info.device_type == wgpu::DeviceType::Cpu => GemmVariant::Register,
                _ => GemmVariant::Tiled,
            },
        };
        let conv2d = match options.conv2d {
            Some(a) => a,
            None => match std::env::var("WGCNN_CONV2D") {
                Ok(v) if !v.trim().is_empty() => crate::Conv2dAlgo::parse(v.trim())?,
                _ => crate::Conv2dAlgo::Auto,
            },
        };
        Ok(Self {
            gpu,
            max_binding,
            max_groups,
            gemm,
            conv2d,
        })
    }

    /// The GEMM kernel this handle's launchers use.
    pub(crate) fn gemm_variant(&self) -> GemmVariant {
        self.gemm
    }

    /// The conv2d lowering `Conv2dAlgo::Auto` stands for on this handle.
    pub(crate) fn conv2d_default(&self) -> crate::Conv2dAlgo {
        self.conv2d
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
                what: "workgroup count",
                requested: groups,
                limit: max * max,
            });
        }
        Ok([x as u32, y as u32, 1])
    }

    /// Largest chunk, in f32 elements, that one storage binding can hold at an aligned
    /// offset.
    pub(crate) fn chunk_elems(&self) -> u64 {
        self.max_binding / 4
    }

    /// The adapter's uniform binding size.
    pub(crate) fn max_uniform_binding(&self) -> u64 {
        self.gpu.max_uniform
    }

    /// The workgroup count per dimension the launchers plan with.
    pub(crate) fn max_groups_per_dim(&self) -> u32 {
        self.max_groups
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
                what,
                requested: in_len.max(out_len) * 4,
                limit: chunk * 4,
            });
        }
        let per = (chunk / in_len.max(1))
            .min(chunk / out_len.max(1))
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

    /// A binding that covers elements `[start, start + len)` of an f32 buffer: the
    /// byte offset (aligned down as bindings require), the byte size, and the shift in
    /// elements of `start` within the binding, which the shader adds to its indices.
    pub(crate) fn window(&self, start: u64, len: u64) -> Window {
        let offset = start * 4 / self.storage_align * self.storage_align;
        let shift = start - offset / 4;
        (offset, (shift + len) * 4, shift as u32)
    }
}

/// The wgpu device of each adapter, opened on first use and kept for the process:
/// every [`Device`] on one adapter shares it (and so its queue, pools and pipelines),
/// which also keeps a GL context from being made current on two threads at once.
fn open_shared(index: usize, kind: BackendKind, adapter: &wgpu::Adapter) -> Result<Arc<Gpu>> {
    static OPEN: Mutex<Vec<(usize, Arc<Gpu>)>> = Mutex::new(Vec::new());
    let mut open = lock(&OPEN);
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
        let chosen = adapters(backend).into_iter().find(|(_, _, a)| {
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
        for (index, kind, adapter) in adapters(None) {
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

    /// Whether this is the CPU reference path.
    pub fn is_cpu(&self) -> bool {
        matches!(self.kind, DeviceKind::Cpu)
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

/// The host-side mirror of every uniform struct is a plain byte blob at recording time.
const UNIFORM_CHUNK: u64 = 64 * 1024;

/// Uniforms of the commands recorded since the last submit. Each dispatch takes its own
/// aligned slice of a chunk; the chunks are written with `write_buffer` just before the
/// submit, so they land after the previous submission's commands and before this one's.
struct UniformArena {
    chunks: Vec<(wgpu::Buffer, Vec<u8>)>,
    used: usize,
}

struct Pending {
    encoder: Option<wgpu::CommandEncoder>,
    pass: Option<wgpu::ComputePass<'static>>,
    uniforms: UniformArena,
    /// Timestamp queries written so far while timing (two per compute pass).
    timing: Option<u32>,
}

/// Timestamp queries for [`Device::time_gpu`]: a query set, the buffer it resolves
/// into, and a mappable copy.
struct Timer {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
}

const TIMER_QUERIES: u32 = 256;

/// Free storage buffers by size class. A buffer released while commands that use it
/// are still unsubmitted may be reused at once by later commands in the same encoder
/// (the queue runs them in order, and wgpu inserts the barriers), but not as the target
/// of `queue.write_buffer`, which runs at the start of the next submit: so each free
/// buffer remembers the epoch (submit count) in which it was released.
#[derive(Default)]
pub(crate) struct BufferPool {
    free: HashMap<u64, Vec<(wgpu::Buffer, u64)>>,
    pub(crate) created: u64,
    /// Bytes held by live tensors, and the most held at once since the last reset.
    pub(crate) live: u64,
    pub(crate) peak: u64,
    /// Bytes of every storage buffer created (live or free in the pool).
    pub(crate) total: u64,
}

impl BufferPool {
    fn take(&mut self, bytes: u64) {
        self.live += bytes;
        self.peak = self.peak.max(self.live);
    }
}

/// How much device memory a device's tensors use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Bytes held by live tensors now.
    pub live_bytes: u64,
    /// The most bytes live tensors held at once since the last
    /// [`Device::reset_peak_memory`].
    pub peak_bytes: u64,
    /// Bytes of every storage buffer created, held or waiting in the pool.
    pub pool_bytes: u64,
}

/// A wgpu device with its queue, pools and caches.
pub(crate) struct Gpu {
    pub(crate) backend: BackendKind,
    pub(crate) info: wgpu::AdapterInfo,
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    /// The adapter's storage binding size (aligned down) and workgroup count limits.
    pub(crate) max_binding: u64,
    pub(crate) max_groups: u32,
    pub(crate) max_buffer: u64,
    max_uniform: u64,
    storage_align: u64,
    uniform_align: u64,
    pending: Mutex<Pending>,
    timer: Option<Timer>,
    pool: Mutex<BufferPool>,
    staging: Mutex<HashMap<u64, Vec<wgpu::Buffer>>>,
    pipelines: PipelineCache,
    epoch: AtomicU64,
    submits: AtomicU64,
    lost: Arc<Mutex<Option<String>>>,
    uncaptured: Arc<Mutex<Option<wgpu::Error>>>,
}

/// A binding window into an f32 buffer: byte offset, byte size, and the shift in
/// elements of the window's first element within it.
pub(crate) type Window = (u64, u64, u32);

/// One storage binding of a dispatch: `buffer[offset..offset + size]` at `binding`.
pub(crate) struct Bind<'a> {
    pub binding: u32,
    pub buffer: &'a wgpu::Buffer,
    pub offset: u64,
    pub size: u64,
}

impl<'a> Bind<'a> {
    /// `buffer[offset..offset + size]` (bytes) at `binding`.
    pub(crate) fn at(binding: u32, buffer: &'a wgpu::Buffer, offset: u64, size: u64) -> Self {
        Self {
            binding,
            buffer,
            offset,
            size,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Storage buffer sizes are rounded up to one of eight classes per power of two, so a
/// freed buffer serves any later request of nearly the same size.
fn size_class(bytes: u64) -> u64 {
    let bytes = bytes.max(256);
    let granule = (1u64 << (63 - bytes.leading_zeros())) / 8;
    bytes.div_ceil(granule) * granule
}

impl Gpu {
    fn open(kind: BackendKind, adapter: &wgpu::Adapter) -> Result<Self> {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let features = adapter.features() & FEATURES_WANTED;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("wgcnn"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| Error::Backend(format!("{}: {e}", info.name)))?;

        let lost = Arc::new(Mutex::new(None));
        let lost_cb = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            *lock(&lost_cb) = Some(format!("{reason:?}: {msg}"));
        });
        let uncaptured = Arc::new(Mutex::new(None));
        let uncaptured_cb = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            lock(&uncaptured_cb).get_or_insert(e);
        }));

        let storage_align = u64::from(limits.min_storage_buffer_offset_alignment);
        let mut max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        max_binding -= max_binding % storage_align.max(16);
        let max_groups = limits.max_compute_workgroups_per_dimension;
        Ok(Self {
            backend: kind,
            max_binding,
            max_groups,
            max_buffer: limits.max_buffer_size,
            max_uniform: limits.max_uniform_buffer_binding_size,
            storage_align,
            uniform_align: u64::from(limits.min_uniform_buffer_offset_alignment),
            pipelines: PipelineCache::default(),
            pending: Mutex::new(Pending {
                encoder: None,
                pass: None,
                uniforms: UniformArena {
                    chunks: Vec::new(),
                    used: 0,
                },
                timing: None,
            }),
            timer: features
                .contains(wgpu::Features::TIMESTAMP_QUERY)
                .then(|| Timer {
                    set: device.create_query_set(&wgpu::QuerySetDescriptor {
                        label: Some("wgcnn timer"),
                        ty: wgpu::QueryType::Timestamp,
                        count: TIMER_QUERIES,
                    }),
                    resolve: device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some("wgcnn timer resolve"),
                        size: u64::from(TIMER_QUERIES) * 8,
                        usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                        mapped_at_creation: false,
                    }),
                    readback: device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some("wgcnn timer readback"),
                        size: u64::from(TIMER_QUERIES) * 8,
                        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                        mapped_at_creation: false,
                    }),
                }),
            pool: Mutex::new(BufferPool::default()),
            staging: Mutex::new(HashMap::new()),
            epoch: AtomicU64::new(0),
            submits: AtomicU64::new(0),
            lost,
            uncaptured,
            info,
            device,
            queue,
        })
    }

    pub(crate) fn pool(&self) -> MutexGuard<'_, BufferPool> {
        lock(&self.pool)
    }

    fn check_lost(&self) -> Result<()> {
        match lock(&self.lost).as_ref() {
            Some(msg) => Err(Error::DeviceLost(msg.clone())),
            None => Ok(()),
        }
    }

    /// Runs `f` inside validation and out-of-memory error scopes and returns the first
    /// error either caught.
    fn scoped<T>(&self, f: impl FnOnce() -> T) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        match v.or(o) {
            Some(e) => Err(Error::from_wgpu(e)),
            None => Ok(out),
        }
    }

    /// A new storage buffer, outside the pool and its accounting.
    pub(crate) fn create_storage(&self, bytes: u64) -> Result<wgpu::Buffer> {
        self.check_lost()?;
        self.scoped(|| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("wgcnn tensor"),
                size: bytes,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::UNIFORM
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        })
    }

    /// A storage buffer of at least `bytes` from the pool. With `for_upload`, only a
    /// buffer that no unsubmitted command uses (see [`BufferPool`]).
    pub(crate) fn alloc(&self, bytes: u64, for_upload: bool) -> Result<wgpu::Buffer> {
        if bytes > self.max_buffer {
            return Err(Error::Limit {
                what: "buffer size",
                requested: bytes,
                limit: self.max_buffer,
            });
        }
        let class = size_class(bytes).min(self.max_buffer.max(bytes));
        let epoch = self.epoch.load(Ordering::Relaxed);
        {
            let mut pool = self.pool();
            if let Some(list) = pool.free.get_mut(&class)
                && let Some(i) = list
                    .iter()
                    .rposition(|(_, released)| !for_upload || *released < epoch)
            {
                let buffer = list.swap_remove(i).0;
                pool.take(class);
                return Ok(buffer);
            }
        }
        let buffer = self.create_storage(class)?;
        let mut pool = self.pool();
        pool.created += 1;
        pool.total += class;
        pool.take(class);
        Ok(buffer)
    }

    pub(crate) fn release(&self, buffer: wgpu::Buffer) {
        let epoch = self.epoch.load(Ordering::Relaxed);
        let mut pool = self.pool();
        pool.live -= buffer.size();
        pool.free
            .entry(buffer.size())
            .or_default()
            .push((buffer, epoch));
    }

    pub(crate) fn pipeline(
        &self,
        shader: Shader,
        entry: &'static str,
        layout: &'static [(u32, Slot)],
    ) -> Result<Arc<Pipeline>> {
        self.pipelines.get(&self.device, shader, entry, layout, &[])
    }

    /// As [`Gpu::pipeline`], specialised with pipeline-overridable constants.
    pub(crate) fn pipeline_with(
        &self,
        shader: Shader,
        entry: &'static str,
        layout: &'static [(u32, Slot)],
        constants: Constants,
    ) -> Result<Arc<Pipeline>> {
        self.pipelines
            .get(&self.device, shader, entry, layout, constants)
    }

    /// Records one dispatch into the pending encoder.
    pub(crate) fn dispatch(
        &self,
        pipeline: &Pipeline,
        binds: &[Bind<'_>],
        uniform: &[u8],
        groups: [u32; 3],
    ) -> Result<()> {
        self.check_lost()?;
        for b in binds {
            if b.size > self.max_binding {
                return Err(Error::Limit {
                    what: "storage binding size",
                    requested: b.size,
                    limit: self.max_binding,
                });
            }
        }
        let mut pending = lock(&self.pending);
        let (ubuf_index, uoffset) = self.push_uniform(&mut pending.uniforms, uniform);
        let ubuf = &pending.uniforms.chunks[ubuf_index].0;
        let mut entries: Vec<wgpu::BindGroupEntry<'_>> = binds
            .iter()
            .map(|b| wgpu::BindGroupEntry {
                binding: b.binding,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: b.buffer,
                    offset: b.offset,
                    size: wgpu::BufferSize::new(b.size),
                }),
            })
            .collect();
        if let Some(binding) = pipeline.uniform_binding {
            entries.push(wgpu::BindGroupEntry {
                binding,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: ubuf,
                    offset: uoffset,
                    size: wgpu::BufferSize::new(uniform.len().max(16) as u64),
                }),
            });
        }
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(pipeline.label),
            layout: &pipeline.layout,
            entries: &entries,
        });
        let pass = self.pass(&mut pending);
        pass.set_pipeline(&pipeline.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        Ok(())
    }

    /// Copies `size` bytes between storage buffers, in recording order.
    pub(crate) fn copy(
        &self,
        src: &wgpu::Buffer,
        src_offset: u64,
        dst: &wgpu::Buffer,
        dst_offset: u64,
        size: u64,
    ) -> Result<()> {
        self.check_lost()?;
        let mut pending = lock(&self.pending);
        self.encoder(&mut pending)
            .copy_buffer_to_buffer(src, src_offset, dst, dst_offset, size);
        Ok(())
    }

    fn push_uniform(&self, arena: &mut UniformArena, data: &[u8]) -> (usize, u64) {
        let len = (data.len().max(16) as u64).div_ceil(self.uniform_align) * self.uniform_align;
        loop {
            let chunk = arena.used;
            if chunk == arena.chunks.len() {
                let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("wgcnn uniforms"),
                    size: UNIFORM_CHUNK,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                arena
                    .chunks
                    .push((buffer, Vec::with_capacity(UNIFORM_CHUNK as usize)));
            }
            let host = &mut arena.chunks[chunk].1;
            let offset = host.len() as u64;
            if offset + len <= UNIFORM_CHUNK {
                host.extend_from_slice(data);
                host.resize((offset + len) as usize, 0);
                return (chunk, offset);
            }
            arena.used += 1;
        }
    }

    fn encoder<'p>(&self, pending: &'p mut Pending) -> &'p mut wgpu::CommandEncoder {
        pending.pass = None;
        pending.encoder.get_or_insert_with(|| {
            self.device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("wgcnn"),
                })
        })
    }

    fn pass<'p>(&self, pending: &'p mut Pending) -> &'p mut wgpu::ComputePass<'static> {
        if pending.pass.is_none() {
            // while timing, each pass writes a timestamp at its start and end
            let writes = match (&self.timer, pending.timing) {
                (Some(timer), Some(used)) if used + 2 <= TIMER_QUERIES => {
                    pending.timing = Some(used + 2);
                    Some(wgpu::ComputePassTimestampWrites {
                        query_set: &timer.set,
                        beginning_of_pass_write_index: Some(used),
                        end_of_pass_write_index: Some(used + 1),
                    })
                }
                _ => None,
            };
            let encoder = self.encoder(pending);
            let pass = encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("wgcnn"),
                    timestamp_writes: writes,
                })
                .forget_lifetime();
            pending.pass = Some(pass);
        }
        pending.pass.as_mut().expect("pass was just created")
    }

    /// Submits everything recorded so far as one command buffer.
    pub(crate) fn flush(&self) -> Result<()> {
        self.check_lost()?;
        let mut pending = lock(&self.pending);
        pending.pass = None;
        let Some(encoder) = pending.encoder.take() else {
            return self.take_uncaptured();
        };
        let arena = &mut pending.uniforms;
        for (buffer, host) in arena.chunks.iter_mut() {
            if !host.is_empty() {
                self.queue.write_buffer(buffer, 0, host);
                host.clear();
            }
        }
        arena.used = 0;
        let result = self.scoped(|| {
            self.queue.submit([encoder.finish()]);
        });
        self.epoch.fetch_add(1, Ordering::Relaxed);
        self.submits.fetch_add(1, Ordering::Relaxed);
        drop(pending);
        result?;
        self.take_uncaptured()
    }

    fn take_uncaptured(&self) -> Result<()> {
        match lock(&self.uncaptured).take() {
            Some(e) => Err(Error::from_wgpu(e)),
            None => self.check_lost(),
        }
    }

    pub(crate) fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(drop)
            .map_err(|e| Error::Backend(e.to_string()))?;
        self.check_lost()
    }

    /// Starts timing the compute passes recorded from now on; `false` without
    /// timestamp queries.
    pub(crate) fn begin_timing(&self) -> Result<bool> {
        if self.timer.is_none() {
            return Ok(false);
        }
        self.flush()?;
        lock(&self.pending).timing = Some(0);
        Ok(true)
    }

    /// Submits, waits, and returns the GPU time of the passes recorded since
    /// [`Gpu::begin_timing`], in milliseconds.
    pub(crate) fn end_timing(&self) -> Result<Option<f64>> {
        let Some(timer) = &self.timer else {
            return Ok(None);
        };
        let used = {
            let mut pending = lock(&self.pending);
            let used = pending.timing.take().unwrap_or(0);
            if used > 0 {
                let encoder = self.encoder(&mut pending);
                encoder.resolve_query_set(&timer.set, 0..used, &timer.resolve, 0);
                encoder.copy_buffer_to_buffer(
                    &timer.resolve,
                    0,
                    &timer.readback,
                    0,
                    u64::from(used) * 8,
                );
            }
            used
        };
        self.flush()?;
        if used == 0 {
            self.wait()?;
            return Ok(Some(0.0));
        }
        let size = u64::from(used) * 8;
        let (tx, rx) = futures_intrusive::channel::shared::oneshot_channel();
        timer
            .readback
            .map_async(wgpu::MapMode::Read, 0..size, move |r| {
                tx.send(r).ok();
            });
        self.wait()?;
        if !matches!(pollster::block_on(rx.receive()), Some(Ok(()))) {
            return Err(Error::Backend("reading timestamps failed".into()));
        }
        let ticks: Vec<u64> = {
            let view = timer
                .readback
                .get_mapped_range(0..size)
                .map_err(|e| Error::Backend(format!("reading timestamps failed: {e}")))?;
            bytemuck::pod_collect_to_vec(&view)
        };
        timer.readback.unmap();
        let period_ns = f64::from(self.queue.get_timestamp_period());
        let total: u64 = ticks.chunks(2).map(|p| p[1].saturating_sub(p[0])).sum();
        Ok(Some(total as f64 * period_ns / 1e6))
    }

    /// Reads `size` bytes of `buffer` from `offset`, after everything recorded so far.
    pub(crate) fn read(&self, buffer: &wgpu::Buffer, offset: u64, size: u64) -> Result<Vec<u8>> {
        if size == 0 {
            return Ok(Vec::new());
        }
        let class = size_class(size);
        let staging = match lock(&self.staging).get_mut(&class).and_then(Vec::pop) {
            Some(b) => b,
            None => self.scoped(|| {
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("wgcnn readback"),
                    size: class,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            })?,
        };
        self.copy(buffer, offset, &staging, 0, size)?;
        self.flush()?;
        let (tx, rx) = futures_intrusive::channel::shared::oneshot_channel();
        staging.map_async(wgpu::MapMode::Read, 0..size, move |r| {
            tx.send(r).ok();
        });
        self.wait()?;
        match pollster::block_on(rx.receive()) {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(Error::Backend(format!("readback failed: {e}"))),
            None => return Err(Error::Backend("readback was cancelled".into())),
        }
        let bytes = staging
            .get_mapped_range(0..size)
            .map_err(|e| Error::Backend(format!("readback failed: {e}")))?
            .to_vec();
        staging.unmap();
        lock(&self.staging).entry(class).or_default().push(staging);
        Ok(bytes)
    }

    /// Uploads `data` into a pool buffer that no unsubmitted command uses.
    pub(crate) fn upload(&self, data: &[u8]) -> Result<wgpu::Buffer> {
        self.check_lost()?;
        let buffer = self.alloc(data.len() as u64, true)?;
        self.queue.write_buffer(&buffer, 0, data);
        Ok(buffer)
    }
}
