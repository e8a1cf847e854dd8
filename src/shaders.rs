//! The WGSL sources (one file per op in `shaders/`) and the pipeline cache: each
//! (shader, entry point) is compiled once per device, with an explicit bind group
//! layout, inside an error scope so that a bad shader is an [`Error::Shader`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// Every WGSL file of the crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shader {
    Relu,
    Im2col,
    Gemm,
    Conv2d,
    Pool2d,
    Upsample2d,
    Conv2dPacked,
    Conv2dWinograd,
    Roofline,
}

impl Shader {
    /// Every shader, for tests that validate them all.
    pub const ALL: [Shader; 9] = [
        Shader::Relu,
        Shader::Im2col,
        Shader::Gemm,
        Shader::Conv2d,
        Shader::Pool2d,
        Shader::Upsample2d,
        Shader::Conv2dPacked,
        Shader::Conv2dWinograd,
        Shader::Roofline,
    ];

    /// The WGSL source.
    pub fn source(self) -> &'static str {
        match self {
            Shader::Relu => include_str!("../shaders/relu.wgsl"),
            Shader::Im2col => include_str!("../shaders/im2col.wgsl"),
            Shader::Gemm => include_str!("../shaders/gemm.wgsl"),
            Shader::Conv2d => include_str!("../shaders/conv2d.wgsl"),
            Shader::Pool2d => include_str!("../shaders/pool2d.wgsl"),
            Shader::Upsample2d => include_str!("../shaders/upsample2d.wgsl"),
            Shader::Conv2dPacked => include_str!("../shaders/conv2d_packed.wgsl"),
            Shader::Conv2dWinograd => include_str!("../shaders/conv2d_winograd.wgsl"),
            Shader::Roofline => include_str!("../shaders/roofline.wgsl"),
        }
    }

    /// The file name, used as the label of its pipelines.
    pub fn label(self) -> &'static str {
        match self {
            Shader::Relu => "relu.wgsl",
            Shader::Im2col => "im2col.wgsl",
            Shader::Gemm => "gemm.wgsl",
            Shader::Conv2d => "conv2d.wgsl",
            Shader::Pool2d => "pool2d.wgsl",
            Shader::Upsample2d => "upsample2d.wgsl",
            Shader::Conv2dPacked => "conv2d_packed.wgsl",
            Shader::Conv2dWinograd => "conv2d_winograd.wgsl",
            Shader::Roofline => "roofline.wgsl",
        }
    }
}

/// What a binding holds, as the bind group layout declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// A compiled compute pipeline and its bind group layout.
pub(crate) struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
    pub uniform_binding: Option<u32>,
    pub label: &'static str,
}

/// Pipeline-overridable constants (WGSL `override`) a pipeline is specialised with.
pub(crate) type Constants = &'static [(&'static str, f64)];

/// The `KW` override (a kernel width up to 7) of the kernels that unroll along a row.
pub(crate) fn kernel_width(kw: usize) -> Constants {
    const KW: [Constants; 8] = [
        &[("KW", 0.0)],
        &[("KW", 1.0)],
        &[("KW", 2.0)],
        &[("KW", 3.0)],
        &[("KW", 4.0)],
        &[("KW", 5.0)],
        &[("KW", 6.0)],
        &[("KW", 7.0)],
    ];
    KW[kw]
}

/// (shader, entry point, address of the constants: they are `'static` tables)
type Key = (Shader, &'static str, usize);

#[derive(Default)]
pub(crate) struct PipelineCache {
    modules: Mutex<HashMap<Shader, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<Key, Arc<Pipeline>>>,
}

impl PipelineCache {
    pub(crate) fn get(
        &self,
        device: &wgpu::Device,
        shader: Shader,
        entry: &'static str,
        layout: &'static [(u32, Slot)],
        constants: Constants,
    ) -> Result<Arc<Pipeline>> {
        let mut pipelines = self.pipelines.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = pipelines.get(&(shader, entry, constants.as_ptr() as usize)) {
            return Ok(p.clone());
        }
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let built = self.build(device, shader, entry, layout, constants);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Shader {
                name: shader.label(),
                message: format!("{entry}: {e}"),
            });
        }
        let built = Arc::new(built);
        pipelines.insert((shader, entry, constants.as_ptr() as usize), built.clone());
        Ok(built)
    }

    fn build(
        &self,
        device: &wgpu::Device,
        shader: Shader,
        entry: &'static str,
        layout: &'static [(u32, Slot)],
        constants: Constants,
    ) -> Pipeline {
        let mut modules = self.modules.lock().unwrap_or_else(|p| p.into_inner());
        let module = modules.entry(shader).or_insert_with(|| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(shader.label()),
                source: wgpu::ShaderSource::Wgsl(shader.source().into()),
            })
        });
        let entries: Vec<wgpu::BindGroupLayoutEntry> = layout
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
            label: Some(shader.label()),
            entries: &entries,
        });
        let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(shader.label()),
            bind_group_layouts: &[Some(&bgl)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: Some(&pl),
            module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                ..wgpu::PipelineCompilationOptions::default()
            },
            cache: None,
        });
        Pipeline {
            pipeline,
            layout: bgl,
            uniform_binding: layout
                .iter()
                .find(|(_, s)| *s == Slot::Uniform)
                .map(|(b, _)| *b),
            label: entry,
        }
    }
}
