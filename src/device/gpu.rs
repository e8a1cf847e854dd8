//! [`Gpu`]: one wgpu device with its queue, pools and caches, opened once per adapter
//! and shared by every [`crate::Device`] on it.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};

use super::adapter::{BackendKind, FEATURES_WANTED};
use super::context::{ContextGuard, ContextLock};
use super::pipeline::{Pipeline, PipelineCache, PipelineSpec};
use super::pool::BufferPool;
use super::record::{Pending, UniformArena};
use super::timing::Timer;
use crate::dtype::Elem;
use crate::error::{Error, Result};

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
    pub(crate) max_uniform: u64,
    /// The subgroup size, where the device has subgroups of one size only.
    pub(crate) subgroup_lanes: Option<u32>,
    /// The device loads and stores `f16` in shaders (`SHADER_F16`).
    pub(crate) shader_f16: bool,
    /// Whether dispatches may read their workgroup counts from a buffer.
    pub(crate) indirect: bool,
    pub(crate) storage_align: u64,
    pub(super) uniform_align: u64,
    pub(super) pending: Mutex<Pending>,
    pub(super) timer: Option<Timer>,
    pub(super) pool: Mutex<BufferPool>,
    pub(super) staging: Mutex<HashMap<u64, Vec<wgpu::Buffer>>>,
    pipelines: PipelineCache,
    /// Submits so far; a buffer released in epoch `e` may be written by the queue
    /// only from epoch `e + 1` on (see [`BufferPool`]).
    pub(super) epoch: AtomicU64,
    pub(super) submits: AtomicU64,
    lost: Arc<Mutex<Option<String>>>,
    uncaptured: Arc<Mutex<Option<wgpu::Error>>>,
    /// Held around every call into a GL device (see [`super::context`]).
    context: Option<ContextLock>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Gpu {
    pub(super) fn open(kind: BackendKind, adapter: &wgpu::Adapter) -> Result<Self> {
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

        let indirect = adapter
            .get_downlevel_capabilities()
            .flags
            .contains(wgpu::DownlevelFlags::INDIRECT_EXECUTION);
        let storage_align = u64::from(limits.min_storage_buffer_offset_alignment);
        let mut max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        max_binding -= max_binding % storage_align.max(16);
        Ok(Self {
            backend: kind,
            max_binding,
            max_groups: limits.max_compute_workgroups_per_dimension,
            max_buffer: limits.max_buffer_size,
            max_uniform: limits.max_uniform_buffer_binding_size,
            subgroup_lanes: (features.contains(wgpu::Features::SUBGROUP)
                && info.subgroup_min_size == info.subgroup_max_size)
                .then_some(info.subgroup_min_size),
            shader_f16: features.contains(wgpu::Features::SHADER_F16),
            indirect,
            storage_align,
            uniform_align: u64::from(limits.min_uniform_buffer_offset_alignment),
            pipelines: PipelineCache::default(),
            pending: Mutex::new(Pending {
                encoder: None,
                pass: None,
                uniforms: UniformArena::default(),
                timing: None,
                cost: 0,
            }),
            timer: features
                .contains(wgpu::Features::TIMESTAMP_QUERY)
                .then(|| Timer::new(&device)),
            pool: Mutex::new(BufferPool::default()),
            staging: Mutex::new(HashMap::new()),
            epoch: AtomicU64::new(0),
            submits: AtomicU64::new(0),
            lost,
            uncaptured,
            context: (kind == BackendKind::Gl).then(ContextLock::default),
            info,
            device,
            queue,
        })
    }

    /// Whether the adapter is a CPU driver (lavapipe, llvmpipe, WARP, SwiftShader): a
    /// fact the kernels' lowering policy reads.
    pub(crate) fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// Takes the context lock of a GL device (nothing on other backends). Every method
    /// that calls into wgpu holds it.
    pub(super) fn context(&self) -> Option<ContextGuard<'_>> {
        self.context.as_ref().map(ContextLock::lock)
    }

    /// Whether the device was lost.
    pub(super) fn is_lost(&self) -> bool {
        lock(&self.lost).is_some()
    }

    /// Marks the device lost and destroys it.
    pub(super) fn lose(&self, why: &str) {
        let _ctx = self.context();
        lock(&self.lost).get_or_insert_with(|| why.to_string());
        self.device.destroy();
    }

    pub(super) fn check_lost(&self) -> Result<()> {
        match lock(&self.lost).as_ref() {
            Some(msg) => Err(Error::DeviceLost(msg.clone())),
            None => Ok(()),
        }
    }

    /// Runs `f` inside validation and out-of-memory error scopes and returns the first
    /// error either caught.
    pub(super) fn scoped<T>(&self, f: impl FnOnce() -> T) -> Result<T> {
        let _ctx = self.context();
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

    /// The uncaptured error raised since the last call, if any, else whether the device
    /// was lost.
    pub(super) fn take_uncaptured(&self) -> Result<()> {
        match lock(&self.uncaptured).take() {
            Some(e) => Err(Error::from_wgpu(e)),
            None => self.check_lost(),
        }
    }

    /// The pipeline of `spec` in the element form `elem`, compiled on first use.
    pub(crate) fn pipeline(&self, spec: &PipelineSpec, elem: Elem) -> Result<Arc<Pipeline>> {
        self.check_lost()?;
        let _ctx = self.context();
        self.pipelines.get(&self.device, spec, elem)
    }
}
