//! resize on the GPU: `shaders/resize.wgsl`. The op layer's tap tables (the source
//! rows and columns of every output row and column, with their weights) are uploaded
//! once per call; planes run in chunks that fit one storage binding, and a plane
//! larger than one in bands of output rows.

use crate::device::{Bind, Buf, Device, GpuHandle, Slot};
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
        /// Output rows per plane this dispatch writes: `oh`, or a band's (one plane).
        rows: u32,
        /// In a band of rows: the plane's row of the band's first output row, and of
        /// its first input row (0 otherwise).
        row0: u32,
        in_row0: u32,
        _pad: [u32; 3],
    }
}

const LAYOUT: &[(u32, Slot)] = layout![0 => Read, 1 => ReadWrite, 2 => Read, 3 => Uniform];

/// Records `resize` of `src` into `dst`.
pub(crate) fn launch(
    device: &Device,
    gpu: &GpuHandle,
    g: &ResizeGeometry,
    (src, dst): (Buf<'_>, Buf<'_>),
) -> Result<()> {
    let (rows, cols) = g.taps();
    // [oh + ow, 3] u32s (lambda as its bits), uploaded as f32 bit patterns
    let table: Vec<f32> = rows
        .iter()
        .chain(&cols)
        .flat_map(|t| [f32::from_bits(t.i0), f32::from_bits(t.i1), t.lambda])
        .collect();
    let taps_bytes = table.len() as u64 * 4;
    let max_binding = gpu.bytes(gpu.chunk_elems());
    if taps_bytes > max_binding {
        return Err(Error::limit(
            "device",
            "resize tap table (bytes)",
            taps_bytes,
            max_binding,
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
    let taps_buffer = taps.gpu_buffer()?;
    let params = ResizeUniform {
        h,
        w,
        oh,
        ow,
        rows: oh,
        ..ResizeUniform::default()
    };
    let room = gpu.band_room();
    if in_plane > room || out_plane > room {
        let reads = |first: usize, end: usize| {
            let taps = &rows[first..end];
            let start = taps.iter().map(|t| t.i0.min(t.i1)).min().unwrap_or(0);
            let stop = taps.iter().map(|t| t.i0.max(t.i1)).max().unwrap_or(0) + 1;
            (u64::from(start), u64::from(stop))
        };
        let dims = [h, w, oh, ow].map(u64::from);
        return gpu.for_each_plane_band(
            "resize row size (bytes)",
            g.n * g.c,
            ([dims[0], dims[1]], [dims[2], dims[3]]),
            reads,
            |b| {
                let params = ResizeUniform {
                    in_shift: b.x.2,
                    out_shift: b.y.2,
                    rows: b.rows as u32,
                    row0: b.first as u32,
                    in_row0: b.in_first as u32,
                    ..params
                };
                let binds = [
                    Bind::at(0, src, b.x.0, b.x.1),
                    Bind::at(1, dst, b.y.0, b.y.1),
                    Bind::at(2, taps_buffer, 0, taps_bytes),
                ];
                let grid = plane_grid(params.ow, params.rows, 1);
                gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), grid)
            },
        );
    }
    gpu.for_each_run(
        "resize plane size (bytes)",
        g.n * g.c,
        (in_plane, out_plane),
        gpu.max_groups_per_dim() as usize,
        |_, np, (x_off, x_size, in_shift), (y_off, y_size, out_shift)| {
            let params = ResizeUniform {
                in_shift,
                out_shift,
                ..params
            };
            let binds = [
                Bind::at(0, src, x_off, x_size),
                Bind::at(1, dst, y_off, y_size),
                Bind::at(2, taps_buffer, 0, taps_bytes),
            ];
            let grid = plane_grid(ow, oh, np as u64);
            gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), grid)
        },
    )
}
