//! softmax on the GPU: `shaders/softmax.wgsl`, over runs of whole `[len, inner]`
//! blocks that fit one storage binding. A workgroup per row for the last dim of long
//! rows; an invocation per column otherwise. A block larger than a binding runs in
//! bands of columns, each copied out into a block of its own and back.

use crate::device::{Bind, Buf, Device, GpuHandle, Slot};
use crate::error::Result;
use crate::kernels::rows::{self, Planes};
use crate::kernels::shaders::Shader;
use crate::op::softmax::SoftmaxGeometry;
use crate::tensor::Tensor;

uniform! {
    /// `SoftmaxParams` of softmax.wgsl.
    pub(crate) struct SoftmaxParams {
        /// `[len, inner]` blocks of this dispatch.
        rows: u32,
        len: u32,
        inner: u32,
        /// The first block's element within the bindings.
        shift: u32,
    }
}

const LAYOUT: &[(u32, Slot)] = layout![0 => Read, 1 => ReadWrite, 2 => Uniform];

/// Rows at least this long get a workgroup each (when `inner == 1`).
const ROW_KERNEL_LEN: usize = 64;

/// Records `softmax` of `src` into `dst`.
pub(crate) fn launch(
    device: &Device,
    gpu: &GpuHandle,
    g: &SoftmaxGeometry,
    (src, dst): (Buf<'_>, Buf<'_>),
) -> Result<()> {
    let rows_kernel = g.inner == 1 && g.len >= ROW_KERNEL_LEN;
    let entry = if rows_kernel {
        "softmax_rows"
    } else {
        "softmax_cols"
    };
    let pipeline = gpu.pipeline(&Shader::Softmax.entry(entry, LAYOUT))?;
    let block = (g.len * g.inner) as u64;
    if block > gpu.band_room() && g.inner > 1 {
        return launch_bands(device, gpu, g, (src, dst));
    }
    gpu.for_each_run(
        "softmax block size (bytes)",
        g.outer,
        (block, block),
        usize::MAX,
        |_, rows, (x_off, x_size, shift), (y_off, y_size, _)| {
            let rows = rows as u64;
            let params = SoftmaxParams {
                rows: super::u32_of(rows, "softmax rows")?,
                len: super::u32_of(g.len as u64, "softmax length")?,
                inner: super::u32_of(g.inner as u64, "softmax inner size")?,
                shift,
            };
            let binds = [
                Bind::at(0, src, x_off, x_size),
                Bind::at(1, dst, y_off, y_size),
            ];
            let groups = if rows_kernel {
                gpu.grid(rows)?
            } else {
                gpu.grid((rows * g.inner as u64).div_ceil(256))?
            };
            gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), groups)
        },
    )
}

/// Records `softmax` of blocks larger than a binding (`inner > 1`): block by block, in
/// bands of columns (positions along `inner`), each copied into a `[len, band]` block,
/// normalised there and copied back.
fn launch_bands(
    device: &Device,
    gpu: &GpuHandle,
    g: &SoftmaxGeometry,
    (src, dst): (Buf<'_>, Buf<'_>),
) -> Result<()> {
    let pipeline = gpu.pipeline(&Shader::Softmax.entry("softmax_cols", LAYOUT))?;
    let (len, inner) = (g.len as u64, g.inner as u64);
    let room = gpu.band_room().min(len * inner);
    let band_x = Tensor::uninit_as(device, &[room as usize], gpu.elem().dtype())?;
    let band_y = Tensor::uninit_as(device, &[room as usize], gpu.elem().dtype())?;
    let (bx, by) = (band_x.gpu_buffer()?, band_y.gpu_buffer()?);
    // a block is `len` planes of `inner` one-element rows: a band is rows of each plane
    for o in 0..g.outer as u64 {
        gpu.for_each_band(
            "softmax column size (bytes)",
            g.inner,
            (len, len),
            |first, end| (end - first) as u64,
            |first, end| {
                let cols = (end - first) as u64;
                let (block_in, block_out) = (
                    Planes::image(src, o, len, inner, 1),
                    Planes::image(dst, o, len, inner, 1),
                );
                let (band_in, band_out) = (
                    Planes::image(bx, 0, len, cols, 1),
                    Planes::image(by, 0, len, cols, 1),
                );
                rows::copy(gpu, len, (block_in, first as u64), (band_in, 0), cols)?;
                let params = SoftmaxParams {
                    rows: 1,
                    len: super::u32_of(len, "softmax length")?,
                    inner: super::u32_of(cols, "softmax inner size")?,
                    shift: 0,
                };
                let binds = [
                    Bind::at(0, bx, 0, gpu.bytes(len * cols)),
                    Bind::at(1, by, 0, gpu.bytes(len * cols)),
                ];
                let groups = gpu.grid(cols.div_ceil(256))?;
                gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), groups)?;
                rows::copy(gpu, len, (band_out, 0), (block_out, first as u64), cols)
            },
        )?;
    }
    Ok(())
}
