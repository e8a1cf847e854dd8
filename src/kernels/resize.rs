//! resize on the GPU: `shaders/resize.wgsl`. The op layer's tap tables (the source
//! rows and columns of every output row and column, with their weights) are uploaded
//! once per call; planes run in chunks that fit one storage binding.

use crate::device::{Bind, Device, GpuHandle, Slot};
use crate::error::{Error, Result};
use crate::kernels::pool2d::plane_grid;
use crate::kernels::shaders::Shader;
use crate::op::resize::{ResizeGeometry, ResizeMode};
use crate::tensor::Tensor;

uniform! {
    /// `ResizeUniform` of resize.wgsl.
    pub(crate) struct ResizeUniform {
        h: u32,
        w: u32,
        oh: u32,
        ow: u32,
        in_shift: u32,
        out_shift: u32,
        _pad: [u32; 2],
    }
}

const LAYOUT: &[(u32, Slot)] = layout![0 => Read, 1 => ReadWrite, 2 => Read, 3 => Uniform];

/// Records `resize` of `src` into `dst`.
pub(crate) fn launch(
    device: &Device,
    gpu: &GpuHandle,
    g: &ResizeGeometry,
    (src, dst): (&wgpu::Buffer, &wgpu::Buffer),
) -> Result<()> {
    let (rows, cols) = g.taps();
    // [oh + ow, 3] u32s (lambda as its bits), uploaded as f32 bit patterns
    let table: Vec<f32> = rows
        .iter()
        .chain(&cols)
        .flat_map(|t| [f32::from_bits(t.i0), f32::from_bits(t.i1), t.lambda])
        .collect();
    let taps_bytes = table.len() as u64 * 4;
    if taps_bytes > gpu.chunk_elems() * 4 {
        return Err(Error::limit(
            "device",
            "resize tap table (bytes)",
            taps_bytes,
            gpu.chunk_elems() * 4,
        ));
    }
    let taps = Tensor::from_slice(device, &table, &[table.len()])?;
    let entry = match g.params.mode {
        ResizeMode::Nearest => "resize_nearest",
        ResizeMode::Linear => "resize_linear",
    };
    let pipeline = gpu.pipeline(&Shader::Resize.entry(entry, LAYOUT))?;
    let (in_plane, out_plane) = ((g.h * g.w) as u64, (g.oh * g.ow) as u64);
    let u32_of = super::u32_of;
    let (h, w, oh, ow) = (
        u32_of(g.h as u64, "resize input size")?,
        u32_of(g.w as u64, "resize input size")?,
        u32_of(g.oh as u64, "resize output size")?,
        u32_of(g.ow as u64, "resize output size")?,
    );
    gpu.grid3(
        [u64::from(ow.div_ceil(8)), u64::from(oh.div_ceil(32)), 1],
        "resize workgroups",
    )?;
    gpu.for_each_run(
        "resize plane size (bytes)",
        g.n * g.c,
        (in_plane, out_plane),
        gpu.max_groups_per_dim() as usize,
        |_, np, (x_off, x_size, in_shift), (y_off, y_size, out_shift)| {
            let params = ResizeUniform {
                h,
                w,
                oh,
                ow,
                in_shift,
                out_shift,
                _pad: [0; 2],
            };
            let binds = [
                Bind::at(0, src, x_off, x_size),
                Bind::at(1, dst, y_off, y_size),
                Bind::at(2, taps.gpu_buffer()?, 0, taps_bytes),
            ];
            let grid = plane_grid(ow, oh, np as u64);
            gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), grid)
        },
    )
}
