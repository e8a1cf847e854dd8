//! Adapter discovery: the backends wgpu offers, every adapter of the machine best
//! first, and what `wgcnn devices` shows of each.

use std::fmt;
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// The backends a [`crate::Device`] can run on.
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

fn instance() -> &'static wgpu::Instance {
    static INSTANCE: OnceLock<wgpu::Instance> = OnceLock::new();
    INSTANCE.get_or_init(|| {
        quiet_display_probe();
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::all();
        desc.flags = wgpu::InstanceFlags::empty();
        wgpu::Instance::new(desc)
    })
}

/// Vulkan drivers probe for a Wayland display when their instance is made, and
/// libwayland prints "XDG_RUNTIME_DIR is invalid or not set" on stderr where that is
/// unset (headless machines, CI, containers). Compute needs no display: where neither
/// `XDG_RUNTIME_DIR` nor `WAYLAND_DISPLAY` is set, point the probe at an empty private
/// folder, where it finds no display without a word.
fn quiet_display_probe() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("XDG_RUNTIME_DIR").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        use std::os::unix::fs::DirBuilderExt;
        // libwayland asks only for an absolute path; the folder is made where it can be
        let dir = std::env::temp_dir().join("wgcnn-runtime");
        std::fs::DirBuilder::new().mode(0o700).create(&dir).ok();
        // SAFETY: done once, before the first wgpu instance and so before any driver
        // thread; std's own reads of the environment take its lock, and no display
        // library has been loaded yet to read it from C.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    }
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
/// using on another thread).
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

/// The adapters of `backend` (all when `None`), best first, as indices into the
/// process's adapter list with their backend.
pub(crate) fn adapters(
    backend: Option<BackendKind>,
) -> Vec<(usize, BackendKind, &'static wgpu::Adapter)> {
    adapter_list()
        .iter()
        .enumerate()
        .filter(|(_, (k, _))| backend.is_none_or(|b| b == *k))
        .map(|(i, (k, a))| (i, *k, a))
        .collect()
}

/// Optional features a device is opened with where the adapter has them.
pub(crate) const FEATURES_WANTED: wgpu::Features = wgpu::Features::SHADER_F16
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
