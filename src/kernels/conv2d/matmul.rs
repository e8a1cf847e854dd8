//! conv2d as a matrix product on the GEMM kernel: a pointwise convolution directly,
//! any other through im2col's column matrix.

use super::for_each_image_run;
use super::{ConvIo, ConvShape, Im2colParams, image_sizes, images_per_binding, mode_code};
use crate::device::{Bind, Device, GpuHandle, Slot};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::gemm::{GemmParams, GemmVariant, dispatch_gemm};
use crate::kernels::shaders::Shader;
use crate::kernels::u32_of;
use crate::op::conv2d::Conv2dGeometry;
use crate::tensor::Tensor;

const IM2COL_LAYOUT: &[(u32, Slot)] = layout![0 => Read, 1 => ReadWrite, 2 => Uniform];
const DEFAULT_COL_BUDGET: u64 = 64 << 20;

/// Whether the GEMM reads `g`'s column matrix as whole vec4s: a register GEMM, and K
/// (its rows' length) whole vec4s; im2col then pads the matrix's rows to whole vec4s.
pub(super) fn vec4_columns(g: &Conv2dGeometry, variant: GemmVariant) -> bool {
    variant.is_register() && (g.cg * g.kh * g.kw).is_multiple_of(4)
}

/// A 1x1 convolution with stride 1 and no padding: the input `[n, c_in, h*w]` is the
/// column matrix, one GEMM per run of images.
pub(super) fn pointwise(
    gpu: &GpuHandle,
    io: &ConvIo<'_>,
    g: &Conv2dGeometry,
    variant: GemmVariant,
) -> Result<()> {
    let (in_image, out_image) = image_sizes(g);
    let k = (g.cg * g.kh * g.kw) as u64;
    let ohw = (g.oh * g.ow) as u64;
    let max_cols = variant.max_cols(gpu.max_groups_per_dim());
    let per_dispatch = images_per_binding(gpu, g).min((max_cols / ohw).max(1) as usize);
    for_each_image_run(
        gpu,
        g,
        per_dispatch,
        |nb, (x_off, x_size, x_shift), (y_off, y_size, y_shift)| {
            let ncols = nb as u64 * ohw;
            let params = GemmParams {
                m: g.mg as u32,
                n: u32_of(ncols, "conv2d columns")?,
                k: k as u32,
                flags: io.flags,
                a_off: 0,
                a_rs: k as u32,
                a_gs: (g.mg as u64 * k) as u32,
                b_off: x_shift,
                b_rs: ohw as u32,
                b_gs: (g.cg as u64 * ohw) as u32,
                b_hw: ohw as u32,
                b_ns: in_image as u32,
                c_off: y_shift,
                c_ms: ohw as u32,
                c_gs: (g.mg as u64 * ohw) as u32,
                c_hw: ohw as u32,
                c_ns: out_image as u32,
                bias_off: 0,
                bias_gs: g.mg as u32,
                ..GemmParams::default()
            };
            let binds = [
                Bind::at(0, io.w, 0, io.w_size),
                Bind::at(1, io.x, x_off, x_size),
                Bind::at(2, io.b, 0, io.b_size),
                Bind::at(3, io.y, y_off, y_size),
                io.residual(y_off, y_size),
            ];
            dispatch_gemm(gpu, (variant, io.epilogue), &binds, &params, g.groups)
        },
    )
}

/// im2col + GEMM, in runs of images, or of output rows of one image, whose column
/// matrix stays within `col_budget` bytes (default 64 MiB, at most one binding).
pub(super) fn im2col(
    device: &Device,
    gpu: &GpuHandle,
    io: &ConvIo<'_>,
    g: &Conv2dGeometry,
    variant: GemmVariant,
    col_budget: Option<u64>,
) -> Result<()> {
    let (_, out_image) = image_sizes(g);
    let k = (g.cg * g.kh * g.kw) as u64;
    let ohw = (g.oh * g.ow) as u64;
    let max_cols = variant.max_cols(gpu.max_groups_per_dim());
    // rows of the column matrix in whole vec4s where the vec4 GEMM can read them
    let quad = vec4_columns(g, variant);
    // room for that padding (at most 3 columns a row)
    let padding = if quad {
        gpu.bytes(3 * g.groups as u64 * k)
    } else {
        0
    };
    // an f16 call's default budget: a 32nd, where f32 calls run the column-free
    // kernels whose scratch it must stay under
    let budget = col_budget
        .unwrap_or(match gpu.elem().dtype() {
            DType::F32 => DEFAULT_COL_BUDGET,
            DType::F16 => DEFAULT_COL_BUDGET / 32,
        })
        .min(gpu.bytes(gpu.chunk_elems()))
        .saturating_sub(padding)
        .max(4);
    // elements of the column matrix per output row, all groups, and the budget in them
    let col_row = (g.c_in * g.kh * g.kw * g.ow) as u64;
    let col_image = col_row * g.oh as u64;
    let budget = budget / gpu.elem().dtype().size();
    let (images, rows) = if col_image <= budget {
        let by_cols = (budget / col_image) as usize;
        let by_grid = (max_cols / ohw).max(1) as usize;
        (
            images_per_binding(gpu, g).min(by_cols).min(by_grid).max(1),
            g.oh,
        )
    } else {
        let by_cols = (budget / col_row).max(1) as usize;
        let by_grid = (max_cols / g.ow as u64).max(1) as usize;
        (1, by_cols.min(by_grid).min(g.oh))
    };
    let stride_of = |ncols: u64| {
        if quad {
            ncols.next_multiple_of(4)
        } else {
            ncols
        }
    };
    let cols_len = g.groups as u64 * k * stride_of(images as u64 * rows as u64 * g.ow as u64);
    let cols = Tensor::uninit_as(device, &[cols_len as usize], gpu.elem().dtype())?;
    let c = cols.gpu_buffer()?;
    let unfold = gpu.pipeline(&Shader::Im2col.entry("im2col", IM2COL_LAYOUT))?;
    // im2col's workgroups: 8 rows of the column matrix each
    let row_groups = (g.groups as u64 * k).div_ceil(8);
    let max = u64::from(gpu.max_groups_per_dim());
    for_each_image_run(
        gpu,
        g,
        images,
        |nb, (x_off, x_size, x_shift), (y_off, y_size, y_shift)| {
            for row0 in (0..g.oh).step_by(rows) {
                let nrows = rows.min(g.oh - row0);
                let ncols = nb as u64 * nrows as u64 * g.ow as u64;
                let stride = stride_of(ncols);
                let total = g.groups as u64 * k * stride;
                let ip = Im2colParams {
                    shape: ConvShape::of(g),
                    row0: row0 as u32,
                    rows: nrows as u32,
                    ncols: u32_of(ncols, "conv2d columns")?,
                    k: k as u32,
                    total: u32_of(total, "im2col elements")?,
                    mode: mode_code(g.mode),
                    in_shift: x_shift,
                    stride: stride as u32,
                };
                let binds = [
                    Bind::at(0, io.x, x_off, x_size),
                    Bind::at(1, c, 0, gpu.bytes(total)),
                ];
                let grid = [
                    // each lane a column in 8 of at most 64 columns of its row
                    ncols.div_ceil(512).min(max),
                    row_groups.min(max),
                    // past max * max rows (4.3e9 at 65535) a limit error
                    row_groups.div_ceil(max),
                ];
                gpu.dispatch(
                    &unfold,
                    &binds,
                    bytemuck::bytes_of(&ip),
                    gpu.grid3(grid, "im2col rows")?,
                )?;
                let gp = GemmParams {
                    m: g.mg as u32,
                    n: ncols as u32,
                    k: k as u32,
                    flags: io.flags,
                    a_off: 0,
                    a_rs: k as u32,
                    a_gs: (g.mg as u64 * k) as u32,
                    b_off: 0,
                    b_rs: stride as u32,
                    b_gs: u32_of(k * stride, "im2col group size")?,
                    b_hw: stride as u32,
                    b_ns: 0,
                    c_off: y_shift + (row0 * g.ow) as u32,
                    c_ms: ohw as u32,
                    c_gs: (g.mg as u64 * ohw) as u32,
                    c_hw: (nrows * g.ow) as u32,
                    c_ns: out_image as u32,
                    bias_off: 0,
                    bias_gs: g.mg as u32,
                    ..GemmParams::default()
                };
                let binds = [
                    Bind::at(0, io.w, 0, io.w_size),
                    Bind::at(1, c, 0, gpu.bytes(total)),
                    Bind::at(2, io.b, 0, io.b_size),
                    Bind::at(3, io.y, y_off, y_size),
                    io.residual(y_off, y_size),
                ];
                dispatch_gemm(gpu, (variant, io.epilogue), &binds, &gp, g.groups)?;
            }
            Ok(())
        },
    )
}
