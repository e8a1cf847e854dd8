//! The pipeline cache. A compute pipeline is built once per device for each distinct
//! [`PipelineSpec`], compared by value: shader (in its element form), entry point, override
//! constants by name and value, and bind group layout. So a launcher may compute its
//! specialisation (a kernel width, a tile size) instead of picking it from a table.
//! Creation runs inside a validation error scope, so that a bad shader is an
//! [`Error::Shader`] and not wgpu's default panic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::dtype::Elem;
use crate::error::{Error, Result};

/// A WGSL module in each element form (in [`Elem`] order): its label (the file name)
/// and its source as compiled. A pipeline is built from the form its handle records in.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ShaderCode {
    pub forms: &'static [(String, String); 3],
}

impl ShaderCode {
    /// The label of the form `elem`.
    fn label(self, elem: Elem) -> &'static str {
        &self.forms[elem as usize].0
    }

    /// The source of the form `elem`.
    fn source(self, elem: Elem) -> &'static str {
        &self.forms[elem as usize].1
    }
}

/// What a binding holds, as the bind group layout declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Slot {
    /// `var<storage, read>`
    Read,
    /// `var<storage, read_write>`
    ReadWrite,
    /// `var<uniform>`: the dispatch's parameters, from the uniform arena.
    Uniform,
    /// `var<uniform>` bound by the launcher to a buffer of its own (packed weights).
    UniformBlock,
}

/// Everything a pipeline is built from.
#[derive(Clone, Debug)]
pub(crate) struct PipelineSpec {
    pub shader: ShaderCode,
    pub entry: &'static str,
    /// Pipeline-overridable constants (WGSL `override`), by name.
    pub constants: Vec<(&'static str, f64)>,
    /// `(binding, slot)` of every binding the entry point uses.
    pub layout: &'static [(u32, Slot)],
}

impl PipelineSpec {
    /// The same pipeline with the override `name` set to `value`.
    pub(crate) fn with(mut self, name: &'static str, value: impl Into<f64>) -> Self {
        self.constants.push((name, value.into()));
        self
    }
}

/// [`PipelineSpec`] as a hashable value (constants by their bits).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    shader: &'static str,
    entry: &'static str,
    constants: Vec<(&'static str, u64)>,
    layout: &'static [(u32, Slot)],
}

impl Key {
    fn of(spec: &PipelineSpec, elem: Elem) -> Self {
        let mut constants: Vec<(&'static str, u64)> = spec
            .constants
            .iter()
            .map(|&(name, v)| (name, v.to_bits()))
            .collect();
        constants.sort_unstable();
        Self {
            shader: spec.shader.label(elem),
            entry: spec.entry,
            constants,
            layout: spec.layout,
        }
    }
}

/// A compiled compute pipeline and its bind group layout.
pub(crate) struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
    pub uniform_binding: Option<u32>,
    pub label: &'static str,
}

#[derive(Default)]
pub(crate) struct PipelineCache {
    modules: Mutex<HashMap<&'static str, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<Key, Arc<Pipeline>>>,
}

impl PipelineCache {
    /// The pipeline of `spec` in the element form `elem`, built on first use.
    pub(crate) fn get(
        &self,
        device: &wgpu::Device,
        spec: &PipelineSpec,
        elem: Elem,
    ) -> Result<Arc<Pipeline>> {
        let key = Key::of(spec, elem);
        let mut pipelines = self.pipelines.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = pipelines.get(&key) {
            return Ok(p.clone());
        }
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let built = self.build(device, spec, elem);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Shader {
                name: spec.shader.label(elem),
                message: format!("{}: {e}", spec.entry),
            });
        }
        log_pipeline(spec, elem);
        let built = Arc::new(built);
        pipelines.insert(key, built.clone());
        Ok(built)
    }

    fn build(&self, device: &wgpu::Device, spec: &PipelineSpec, elem: Elem) -> Pipeline {
        let label = spec.shader.label(elem);
        let mut modules = self.modules.lock().unwrap_or_else(|p| p.into_inner());
        let module = modules.entry(label).or_insert_with(|| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(spec.shader.source(elem).into()),
            })
        });
        let entries: Vec<wgpu::BindGroupLayoutEntry> = spec
            .layout
            .iter()
            .map(|&(binding, slot)| wgpu::BindGroupLayoutEntry {
                binding,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: match slot {
                        Slot::Read => wgpu::BufferBindingType::Storage { read_only: true },
                        Slot::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                        Slot::Uniform | Slot::UniformBlock => wgpu::BufferBindingType::Uniform,
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        let bgl = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(label),
            entries: &entries,
        });
        let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(label),
            bind_group_layouts: &[Some(&bgl)],
            immediate_size: 0,
        });
        let constants: Vec<(&str, f64)> = spec.constants.clone();
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(spec.entry),
            layout: Some(&pl),
            module,
            entry_point: Some(spec.entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &constants,
                ..wgpu::PipelineCompilationOptions::default()
            },
            cache: None,
        });
        Pipeline {
            pipeline,
            layout: bgl,
            uniform_binding: spec
                .layout
                .iter()
                .find(|(_, s)| *s == Slot::Uniform)
                .map(|(b, _)| *b),
            label: spec.entry,
        }
    }
}

/// With `WGCNN_PIPELINE_LOG=DIR`, writes each shader's source as the device compiles it
/// to `DIR/<label>` and appends one JSON line per pipeline created to
/// `DIR/pipelines.jsonl` (`{"shader": .., "entry": .., "constants": {..}}`): the
/// manifest of every specialisation the launchers use, which a second WGSL compiler
/// (`scripts/tint`) checks in CI.
fn log_pipeline(spec: &PipelineSpec, elem: Elem) {
    use std::io::Write;
    let Some(dir) = std::env::var_os("WGCNN_PIPELINE_LOG") else {
        return;
    };
    let dir = std::path::Path::new(&dir);
    let _ = std::fs::create_dir_all(dir);
    // each source once per process, so that a folder used before holds this build's
    static WRITTEN: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut written = WRITTEN.lock().unwrap_or_else(|p| p.into_inner());
    let label = spec.shader.label(elem);
    if !written.contains(&label) {
        let _ = std::fs::write(dir.join(label), spec.shader.source(elem));
        written.push(label);
    }
    drop(written);
    let constants: serde_json::Map<String, serde_json::Value> = spec
        .constants
        .iter()
        .map(|(k, v)| ((*k).to_string(), serde_json::json!(v)))
        .collect();
    let line = serde_json::json!({
        "shader": label,
        "entry": spec.entry,
        "constants": constants,
    });
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("pipelines.jsonl"))
    {
        let _ = f.write_all(format!("{line}\n").as_bytes());
    }
}
