//! conv_transpose2d on the GPU: `shaders/conv_transpose2d.wgsl`. The weights are
//! repacked once per call as vec4s of 4 output channels per tap; then a gather with
//! one output pixel and up to 16 output channels per invocation runs over runs of
//! images whose input and output windows each fit one storage binding and whose work
//! fits the device's submit budget.

use crate::device::{Bind, Buf, Device, GpuHandle, Slot};
use crate::error::{Error, Result};
use crate::kernels::gemm::FLAG_BIAS;
use crate::kernels::rows::{self, Planes};
use crate::kernels::shaders::Shader;
use crate::kernels::u32_of;
use crate::op::conv_transpose2d::ConvTranspose2dGeometry;
use crate::tensor::Tensor;

uniform! {
    /// `ConvTransposeParams` of conv_transpose2d.wgsl.
    pub(crate) struct ConvTransposeParams {
        c_in: u32,
        h: u32,
        w: u32,
        cg: u32,
        kh: u32,
        kw: u32,
        stride_h: u32,
        stride_w: u32,
        pad_h: u32,
        pad_w: u32,
        dil_h: u32,
        dil_w: u32,
        oh: u32,
        ow: u32,
        c_out: u32,
        mg: u32,
        groups: u32,
        /// Blocks of 4 output channels per group.
        blocks: u32,
        /// Invocations of this dispatch (packed vec4s for `pack_weights`).
        total: u32,
        /// [`FLAG_BIAS`].
        flags: u32,
        in_shift: u32,
        out_shift: u32,
        _pad: [u32; 2],
    }
}

const PACK_LAYOUT: &[(u32, Slot)] = layout![1 => Read, 4 => Uniform, 6 => ReadWrite];
const LAYOUT: &[(u32, Slot)] =
    layout![0 => Read, 2 => Read, 3 => ReadWrite, 4 => Uniform, 5 => Read];

/// Output channels per block (one vec4).
const CHANNELS: usize = 4;

/// Records `conv_transpose2d(x, w, bias)` of `g` into `y`. `bias` is the bias buffer
/// and its size in bytes.
pub(crate) fn launch(
    device: &Device,
    gpu: &GpuHandle,
    g: &ConvTranspose2dGeometry,
    (x, w, y): (Buf<'_>, Buf<'_>, Buf<'_>),
    w_size: u64,
    bias: Option<(Buf<'_>, u64)>,
) -> Result<()> {
    let op = "conv_transpose2d";
    // the weights are bound whole
    let max_binding = gpu.bytes(gpu.chunk_elems());
    if w_size > max_binding {
        return Err(Error::limit(
            op,
            "weight size (bytes) for one storage binding",
            w_size,
            max_binding,
        ));
    }
    // the shader's coordinates in the full output, its taps' offsets, and its tap
    // indices (stepping by the stride past the last tap), as u32
    for (v, what) in [
        (
            g.oh.checked_add(g.padding[0]),
            "conv_transpose2d output row",
        ),
        (
            g.ow.checked_add(g.padding[1]),
            "conv_transpose2d output column",
        ),
        (
            (g.kh - 1).checked_mul(g.dilation[0]),
            "conv_transpose2d tap offset",
        ),
        (
            (g.kw - 1).checked_mul(g.dilation[1]),
            "conv_transpose2d tap offset",
        ),
        (g.kh.checked_add(g.stride[0]), "conv_transpose2d tap index"),
        (g.kw.checked_add(g.stride[1]), "conv_transpose2d tap index"),
    ] {
        u32_of(v.map_or(u64::MAX, |v| v as u64), what)?;
    }
    let blocks = g.mg.div_ceil(CHANNELS);
    // blocks per invocation: up to 4 (16 channels), fewer for narrow groups
    let nb: usize = match blocks {
        1 => 1,
        2 => 2,
        _ => 4,
    };
    let ohw = g.oh as u64 * g.ow as u64;
    // invocations per image
    let per_image = ohw
        .checked_mul((g.groups * blocks.div_ceil(nb)) as u64)
        .ok_or_else(|| Error::limit(op, "invocations per image", u64::MAX, u64::from(u32::MAX)))?;
    u32_of(per_image, "conv_transpose2d invocations per image")?;
    // runs whose invocations a u32 counts
    let by_count = (u64::from(u32::MAX) / per_image.max(1)).max(1);
    let max_run = usize::try_from(by_count).unwrap_or(usize::MAX);
    // each image's estimated cost: its multiply-adds and the outputs it writes
    let cost = (g.macs() / g.n.max(1) as u64).saturating_add(ohw * g.c_out as u64);
    let shape = ConvTransposeParams {
        c_in: g.c_in as u32,
        h: g.h as u32,
        w: g.w as u32,
        cg: g.cg as u32,
        kh: g.kh as u32,
        kw: g.kw as u32,
        stride_h: g.stride[0] as u32,
        stride_w: g.stride[1] as u32,
        pad_h: g.padding[0] as u32,
        pad_w: g.padding[1] as u32,
        dil_h: g.dilation[0] as u32,
        dil_w: g.dilation[1] as u32,
        oh: g.oh as u32,
        ow: g.ow as u32,
        c_out: g.c_out as u32,
        mg: g.mg as u32,
        groups: g.groups as u32,
        blocks: blocks as u32,
        ..ConvTransposeParams::default()
    };
    // the packed weights: [c_in, kh * kw, blocks] vec4s, bound whole
    let packed_len = (g.c_in as u64)
        .checked_mul((g.kh * g.kw) as u64)
        .and_then(|v| v.checked_mul(blocks as u64))
        .unwrap_or(u64::MAX);
    let packed_bytes = packed_len.saturating_mul(16);
    if packed_bytes > max_binding {
        return Err(Error::limit(
            op,
            "packed weight size (bytes) for one storage binding",
            packed_bytes,
            max_binding,
        ));
    }
    let packed = Tensor::uninit(device, &[packed_len as usize * CHANNELS])?;
    let wpack = packed.gpu_buffer()?;
    let pack = gpu.pipeline(&Shader::ConvTranspose2d.entry("pack_weights", PACK_LAYOUT))?;
    let params = ConvTransposeParams {
        total: u32_of(packed_len, "conv_transpose2d packed weights")?,
        ..shape
    };
    gpu.dispatch(
        &pack,
        &[
            Bind::at(1, w, 0, w_size),
            Bind::at(6, wpack, 0, packed_bytes),
        ],
        bytemuck::bytes_of(&params),
        gpu.grid(packed_len.div_ceil(64))?,
    )?;
    let pipeline = gpu.pipeline(
        &Shader::ConvTranspose2d
            .entry("conv_transpose2d", LAYOUT)
            .with("NB", nb as u32),
    )?;
    let (b, b_size, flags) = match bias {
        Some((b, size)) => (b, size, FLAG_BIAS),
        // the input weights stand in, never read
        None => (w, 4, 0),
    };
    let in_image = (g.c_in * g.h * g.w) as u64;
    let out_image = (g.c_out as u64) * ohw;
    let room = gpu.band_room();
    if in_image > room || out_image > room {
        let kernel = Kernel {
            pipeline: &pipeline,
            shape,
            flags,
            bias: (b, b_size),
            packed: (wpack, packed_bytes),
            groups_per_pixel: per_image / ohw.max(1),
        };
        return launch_bands(device, gpu, g, (x, y), &kernel);
    }
    gpu.for_each_budgeted_run(
        "conv_transpose2d image size (bytes)",
        g.n,
        (in_image, out_image),
        max_run,
        cost,
        |_, images, (x_off, x_size, x_shift), (y_off, y_size, y_shift)| {
            let total = per_image * images as u64;
            let params = ConvTransposeParams {
                total: u32_of(total, "conv_transpose2d invocations")?,
                flags,
                in_shift: x_shift,
                out_shift: y_shift,
                ..shape
            };
            let binds = [
                Bind::at(0, x, x_off, x_size),
                Bind::at(2, b, 0, b_size),
                Bind::at(3, y, y_off, y_size),
                Bind::at(5, wpack, 0, packed_bytes),
            ];
            let groups = gpu.grid(total.div_ceil(64))?;
            gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), groups)
        },
    )
}

/// The gather kernel of one call, its weights packed.
struct Kernel<'a> {
    pipeline: &'a crate::device::Pipeline,
    shape: ConvTransposeParams,
    flags: u32,
    bias: (Buf<'a>, u64),
    packed: (Buf<'a>, u64),
    /// Invocations per output pixel.
    groups_per_pixel: u64,
}

/// The input rows `[start, stop)` that output rows `[first, end)` of `g` gather from,
/// with `start * stride <= first + pad` (so the band's own padding is not negative);
/// `None` when no input row reaches them.
fn band_reads(g: &ConvTranspose2dGeometry, first: usize, end: usize) -> Option<(usize, usize)> {
    let (s, p) = (g.stride[0], g.padding[0]);
    let reach = (g.kh - 1) * g.dilation[0];
    // full-output row t is reached by input rows iy with t - reach <= iy * s <= t
    let start = (first + p)
        .saturating_sub(reach)
        .div_ceil(s)
        .min((first + p) / s);
    let stop = ((end - 1 + p) / s + 1).min(g.h);
    (start < stop).then_some((start, stop))
}

/// Records a call whose images are larger than a binding: image by image, in bands of
/// output rows, each gathering from a copy of the input rows it reads.
fn launch_bands(
    device: &Device,
    gpu: &GpuHandle,
    g: &ConvTranspose2dGeometry,
    (x, y): (Buf<'_>, Buf<'_>),
    kernel: &Kernel<'_>,
) -> Result<()> {
    let room = gpu.band_room();
    let (in_row, out_row) = ((g.c_in * g.w) as u64, (g.c_out * g.ow) as u64);
    let dtype = gpu.elem().dtype();
    let band_x = Tensor::uninit_as(device, &[room.min(in_row * g.h as u64) as usize], dtype)?;
    let band_y = Tensor::uninit_as(device, &[room.min(out_row * g.oh as u64) as usize], dtype)?;
    let (bx, by) = (band_x.gpu_buffer()?, band_y.gpu_buffer()?);
    let (c_in, c_out, w, ow) = (g.c_in as u64, g.c_out as u64, g.w as u64, g.ow as u64);
    let held = |first, end| band_reads(g, first, end).map_or(1, |(a, b)| (b - a) as u64);
    for n in 0..g.n as u64 {
        gpu.for_each_band(
            "conv_transpose2d row size (bytes)",
            g.oh,
            (in_row, out_row),
            held,
            |first, end| {
                let rows = held(first, end);
                let band_in = Planes::image(bx, 0, c_in, rows, w);
                // a band no input row reaches gathers from one row of zeros
                let start = match band_reads(g, first, end) {
                    Some((start, _)) => {
                        let image = Planes::image(x, n, c_in, g.h as u64, w);
                        rows::copy(gpu, c_in, (image, start as u64), (band_in, 0), rows)?;
                        start
                    }
                    None => {
                        rows::clear(gpu, c_in, (band_in, 0), 1)?;
                        (first + g.padding[0]) / g.stride[0]
                    }
                };
                let out_rows = (end - first) as u64;
                let total = out_rows * ow * kernel.groups_per_pixel;
                let params = ConvTransposeParams {
                    h: rows as u32,
                    oh: out_rows as u32,
                    // the band's full-output rows, counted from its first input row
                    pad_h: (first + g.padding[0] - start * g.stride[0]) as u32,
                    total: u32_of(total, "conv_transpose2d invocations")?,
                    flags: kernel.flags,
                    ..kernel.shape
                };
                gpu.reserve(g.macs() / g.oh.max(1) as u64 / g.n.max(1) as u64 * out_rows)?;
                let binds = [
                    Bind::at(0, bx, 0, gpu.bytes(rows * in_row)),
                    Bind::at(2, kernel.bias.0, 0, kernel.bias.1),
                    Bind::at(3, by, 0, gpu.bytes(out_rows * out_row)),
                    Bind::at(5, kernel.packed.0, 0, kernel.packed.1),
                ];
                let groups = gpu.grid(total.div_ceil(64))?;
                gpu.dispatch(kernel.pipeline, &binds, bytemuck::bytes_of(&params), groups)?;
                let band_out = Planes::image(by, 0, c_out, out_rows, ow);
                let out = Planes::image(y, n, c_out, g.oh as u64, ow);
                rows::copy(gpu, c_out, (band_out, 0), (out, first as u64), out_rows)
            },
        )?;
    }
    Ok(())
}
