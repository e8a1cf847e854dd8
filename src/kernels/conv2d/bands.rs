//! One image larger than a storage binding: its convolution in bands of output rows.
//! Each band's input rows (its halo included) are copied out of the image, a channel
//! at a time, into a buffer of their own; the band runs as a convolution of one image
//! of those rows through the lowering it would pick (with the band's rows of the
//! residual, copied alike, where the epilogue adds one); its output rows are copied
//! into place. Buffer copies know no binding limit, so any image that fits in device memory
//! runs, whatever the lowering.
//!
//! With zero padding a band reads the input rows it overlaps and pads the rest, top
//! and bottom, as its own [`Conv2dGeometry::pad`]. With the other modes the band's rows
//! are the padded rows themselves, each copied from the input row the mode maps it to,
//! and only the columns are padded by the kernel.

use super::{Conv2dOptions, ConvIo, image_sizes};
use crate::device::{Device, GpuHandle};
use crate::error::Result;
use crate::kernels::rows::{self, Planes};
use crate::op::conv2d::{Conv2dGeometry, PaddingMode};
use crate::tensor::Tensor;

/// Whether one image of `g`, its input or its output, is larger than a band may be.
pub(super) fn needed(gpu: &GpuHandle, g: &Conv2dGeometry) -> bool {
    let (in_image, out_image) = image_sizes(g);
    in_image > gpu.band_room() || out_image > gpu.band_room()
}

/// The input rows of one band, as rows of the padded image: `[start, end)`, where row
/// `-pad_t` is the first padded row.
fn reach(g: &Conv2dGeometry, first: usize, end: usize) -> (i64, i64) {
    let span = ((g.kh - 1) * g.dilation[0] + 1) as i64;
    let (s, pt) = (g.stride[0] as i64, g.pad[0] as i64);
    (first as i64 * s - pt, (end as i64 - 1) * s - pt + span)
}

/// The input row that padded row `r` reads under `mode` (`None`: a zero).
fn source_row(mode: PaddingMode, r: i64, h: i64) -> Option<i64> {
    match mode {
        PaddingMode::Zeros => (0..h).contains(&r).then_some(r),
        // PyTorch bounds reflect padding by h - 1 and circular padding by h
        PaddingMode::Reflect if r < 0 => Some(-r),
        PaddingMode::Reflect if r >= h => Some(2 * (h - 1) - r),
        PaddingMode::Replicate => Some(r.clamp(0, h - 1)),
        PaddingMode::Circular => Some(r.rem_euclid(h)),
        PaddingMode::Reflect => Some(r),
    }
}

/// The rows a band's input holds, as rows of the padded image: with zero padding the
/// input rows it overlaps (or, overlapping none, its first padded row, a zero); with
/// the other modes every padded row it reads.
fn band_rows(g: &Conv2dGeometry, first: usize, end: usize) -> (i64, i64) {
    let (start, stop) = reach(g, first, end);
    let h = g.h as i64;
    if g.mode != PaddingMode::Zeros {
        (start, stop)
    } else if stop <= 0 || start >= h {
        (start, start + 1)
    } else {
        (start.max(0), stop.min(h))
    }
}

/// Records the convolution `g` (images too large for a binding) band by band.
pub(super) fn launch(
    device: &Device,
    gpu: &GpuHandle,
    io: &ConvIo<'_>,
    g: &Conv2dGeometry,
    options: &Conv2dOptions,
) -> Result<()> {
    let in_row = (g.c_in * g.w) as u64;
    let out_row = (g.c_out * g.ow) as u64;
    let room = gpu.band_room();
    let (_, out_image) = image_sizes(g);
    // one buffer each for every band's input and output, reused band after band
    let padded = in_row * (g.h + g.pad[0] + g.pad[1]) as u64;
    let band_x = Tensor::uninit(device, &[room.min(padded) as usize])?;
    let band_y = Tensor::uninit(device, &[room.min(out_image) as usize])?;
    let (bx, by) = (band_x.gpu_buffer()?, band_y.gpu_buffer()?);
    // the residual's rows of each band, where the epilogue adds one
    let band_r = match io.r {
        Some(_) => Some(Tensor::uninit(device, &[room.min(out_image) as usize])?),
        None => None,
    };
    let br = band_r.as_ref().map(Tensor::gpu_buffer).transpose()?;
    let (h, w) = (g.h as i64, g.w as u64);
    let (c_in, c_out) = (g.c_in as u64, g.c_out as u64);
    for n in 0..g.n as u64 {
        gpu.for_each_band(
            "conv2d row size (bytes)",
            g.oh,
            (in_row, out_row),
            |first, end| {
                let (start, stop) = band_rows(g, first, end);
                (stop - start) as u64
            },
            |first, end| {
                let (start, stop) = band_rows(g, first, end);
                let rows = (stop - start) as u64;
                // the band's rows, in runs of consecutive input rows (or of zeros)
                let image = Planes::image(io.x, n, c_in, g.h as u64, w);
                let band_in = Planes::image(bx, 0, c_in, rows, w);
                let mut r = start;
                while r < stop {
                    let from = source_row(g.mode, r, h);
                    let mut run = 1;
                    while r + run < stop && source_row(g.mode, r + run, h) == from.map(|f| f + run)
                    {
                        run += 1;
                    }
                    let to = (band_in, (r - start) as u64);
                    match from {
                        Some(from) => rows::copy(gpu, c_in, (image, from as u64), to, run as u64)?,
                        None => rows::clear(gpu, c_in, to, run as u64)?,
                    }
                    r += run;
                }
                let (reach_start, reach_stop) = reach(g, first, end);
                let mut band = *g;
                band.n = 1;
                band.h = rows as usize;
                band.oh = end - first;
                band.pad[0] = (start - reach_start) as usize;
                band.pad[1] = (reach_stop - stop) as usize;
                let out_rows = (end - first) as u64;
                let (ow, oh) = (g.ow as u64, g.oh as u64);
                if let (Some(r), Some(br)) = (io.r, br) {
                    let image = Planes::image(r, n, c_out, oh, ow);
                    let band = Planes::image(br, 0, c_out, out_rows, ow);
                    rows::copy(gpu, c_out, (image, first as u64), (band, 0), out_rows)?;
                }
                let band_io = ConvIo {
                    x: bx,
                    y: by,
                    r: br,
                    ..*io
                };
                super::launch(device, gpu, &band_io, &band, options)?;
                // the band's output rows into place
                let band_out = Planes::image(by, 0, c_out, out_rows, ow);
                let out = Planes::image(io.y, n, c_out, oh, ow);
                rows::copy(gpu, c_out, (band_out, 0), (out, first as u64), out_rows)?;
                Ok(())
            },
        )?;
    }
    Ok(())
}
