//! softmax on the GPU: `shaders/softmax.wgsl`, over runs of whole `[len, inner]`
//! blocks that fit one storage binding. A workgroup per row for the last dim of long
//! rows; an invocation per column otherwise.

use crate::device::{Bind, GpuHandle, Slot};
use crate::error::Result;
use crate::kernels::shaders::Shader;
use crate::op::softmax::SoftmaxGeometry;

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
    gpu: &GpuHandle,
    g: &SoftmaxGeometry,
    (src, dst): (&wgpu::Buffer, &wgpu::Buffer),
) -> Result<()> {
    let rows_kernel = g.inner == 1 && g.len >= ROW_KERNEL_LEN;
    let entry = if rows_kernel {
        "softmax_rows"
    } else {
        "softmax_cols"
    };
    let pipeline = gpu.pipeline(&Shader::Softmax.entry(entry, LAYOUT))?;
    let block = (g.len * g.inner) as u64;
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
