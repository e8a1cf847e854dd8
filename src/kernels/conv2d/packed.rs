//! The packed implicit GEMM of `shaders/conv2d_packed.wgsl`, for CPU drivers: the
//! weights are laid out in 64 KiB uniform blocks (one dispatch), then one dispatch per
//! (group, block of 16 or 32 output channels, chunk of input channels) and run of
//! images.

use super::{ConvIo, ConvShape, for_each_image_run, image_sizes, images_per_binding, mode_code};
use super::{row_constants, row_spec};
use crate::device::{Bind, Device, GpuHandle, Slot};
use crate::dtype::Elem;
use crate::error::{Error, Result};
use crate::kernels::gemm::{FLAG_FIRST_CHUNK, FLAG_LAST_CHUNK, FLAG_PARTIAL};
use crate::kernels::shaders::Shader;
use crate::kernels::u32_of;
use crate::op::conv2d::{Conv2dGeometry, PaddingMode};
use crate::tensor::Tensor;

uniform! {
    /// `PackParams` of conv2d_packed.wgsl (`pack_weights`).
    pub(crate) struct PackParams {
        mg: u32,
        cg: u32,
        khw: u32,
        /// Input channels per chunk.
        cc: u32,
        /// Row blocks per group.
        row_blocks: u32,
        /// Chunks per row block.
        chunks: u32,
        total: u32,
        /// Output channels per block: 16, or 32 (the _32 kernels).
        rows: u32,
        /// The floats of a block the kernels read (cc * khw * rows): only these are
        /// written.
        used: u32,
        _pad: [u32; 3],
    }
}

uniform! {
    /// `PackedParams` of conv2d_packed.wgsl (the convolution kernels).
    pub(crate) struct PackedParams {
        shape: ConvShape,
        total: u32,
        /// [`crate::kernels::gemm::EPILOGUE`] bits.
        flags: u32,
        mode: u32,
        in_shift: u32,
        out_shift: u32,
        group: u32,
        m0: u32,
        ci0: u32,
        cc: u32,
        _pad: [u32; 3],
    }
}

/// Most taps (input channels x kernel cells) one packed dispatch sums.
const MAX_CHUNK_TAPS: usize = 512;
/// A uniform-buffer block of packed weights: 4096 vec4 (64 KiB).
const PACK_BLOCK: u64 = 16384;
/// Output channels per packed block.
const PACK_ROWS: usize = 16;
/// Most bytes of f32 partial sums an f16 call's run of images keeps between chunks,
/// unless one image needs more.
const PARTIAL_BUDGET: u64 = 2 << 20;

const PACK_LAYOUT: &[(u32, Slot)] = layout![5 => Read, 6 => ReadWrite, 7 => Uniform];
const PACKED_LAYOUT: &[(u32, Slot)] = layout![
    0 => Read, 1 => UniformBlock, 2 => Read, 3 => ReadWrite, 4 => Uniform, 8 => Read,
    9 => ReadWrite, 10 => ReadWrite, 20 => Read
];

/// Whether the adapter's uniform bindings hold a packed block.
pub(super) fn fits(gpu: &GpuHandle) -> bool {
    gpu.max_uniform_binding() >= PACK_BLOCK * 4
}

/// How the packed kernels take `g`: the 1x1 kernel, a row kernel, or the general one,
/// and the output channels of a block.
struct Shape {
    aligned_1x1: bool,
    rows: Option<[u32; 4]>,
    block_rows: usize,
}

fn shape(g: &Conv2dGeometry) -> Shape {
    let (in_image, _) = image_sizes(g);
    let ohw = (g.oh * g.ow) as u64;
    // 1x1, stride 1, no padding, and every 8 pixels two aligned vec4 of each input plane
    let aligned_1x1 = g.is_pointwise()
        && g.mode == PaddingMode::Zeros
        && ohw.is_multiple_of(8)
        && in_image.is_multiple_of(4);
    let rows = row_spec(g).filter(|_| !aligned_1x1);
    // 1x1 and row kernels with more than 16 output channels: blocks of 32 (twice the
    // reuse per load)
    let block_rows = if (aligned_1x1 || rows.is_some()) && g.mg > PACK_ROWS {
        2 * PACK_ROWS
    } else {
        PACK_ROWS
    };
    Shape {
        aligned_1x1,
        rows,
        block_rows,
    }
}

/// The chunks of input channels `g`'s sums are taken in, each a dispatch adding into
/// the output: at most 512 taps each, as even as they come, a two-level sum that keeps
/// the rounding of long dot products near PyTorch's (one chunk up to 512 taps: a second
/// dispatch costs more than it buys). An f16 call over more than one chunk keeps its
/// partial sums in f32 (see [`partial_images`]).
pub(super) fn chunks(g: &Conv2dGeometry) -> usize {
    let khw = (g.kh * g.kw).max(1);
    let taps_per_block = PACK_BLOCK as usize / shape(g).block_rows;
    let most = (taps_per_block.min(MAX_CHUNK_TAPS) / khw).clamp(1, g.cg.max(1));
    g.cg.div_ceil(most)
}

/// Images per run of an f16 call over several chunks: their f32 partial sums within
/// [`PARTIAL_BUDGET`] (one image at least) and one binding; `None` where one image's
/// sums exceed a binding (the f16 call then takes im2col).
pub(super) fn partial_images(gpu: &GpuHandle, g: &Conv2dGeometry) -> Option<usize> {
    let out_image = image_sizes(g).1.max(1);
    let room = gpu.in_form(Elem::F32).band_room();
    (out_image <= room).then(|| (room.min(PARTIAL_BUDGET / 4) / out_image).max(1) as usize)
}

/// Records `g` through packed weights.
pub(super) fn launch(
    device: &Device,
    gpu: &GpuHandle,
    io: &ConvIo<'_>,
    g: &Conv2dGeometry,
) -> Result<()> {
    if !fits(gpu) {
        return Err(Error::Limit {
            op: "conv2d",
            what: "uniform binding size for packed conv2d weights",
            requested: PACK_BLOCK * 4,
            limit: gpu.max_uniform_binding(),
        });
    }
    let ohw = (g.oh * g.ow) as u64;
    let Shape {
        aligned_1x1,
        rows,
        block_rows,
    } = shape(g);
    let khw = g.kh * g.kw;
    let taps_per_block = PACK_BLOCK as usize / block_rows;
    if khw > taps_per_block {
        return Err(Error::Limit {
            op: "conv2d",
            what: "conv2d kernel taps for packed weights",
            requested: khw as u64,
            limit: taps_per_block as u64,
        });
    }
    let chunks = chunks(g);
    let cc = g.cg.div_ceil(chunks);
    let row_blocks = g.mg.div_ceil(block_rows);
    let blocks = (g.groups * row_blocks * chunks) as u64;
    let packed = Tensor::uninit(device, &[(blocks * PACK_BLOCK) as usize])?;
    let pb = packed.gpu_buffer()?;
    // the kernels read a block's first cc * khw taps of `block_rows` channels, no more
    let used = (cc * khw * block_rows) as u64;
    let pp = PackParams {
        mg: g.mg as u32,
        cg: g.cg as u32,
        khw: khw as u32,
        cc: cc as u32,
        row_blocks: row_blocks as u32,
        chunks: chunks as u32,
        total: u32_of(blocks * used, "packed weights")?,
        rows: block_rows as u32,
        used: used as u32,
        ..PackParams::default()
    };
    let pack = gpu.pipeline(&Shader::Conv2dPacked.entry("pack_weights", PACK_LAYOUT))?;
    let binds = [
        Bind::at(5, io.w, 0, io.w_size),
        Bind::at(6, pb, 0, blocks * PACK_BLOCK * 4),
    ];
    gpu.dispatch(
        &pack,
        &binds,
        bytemuck::bytes_of(&pp),
        gpu.grid((blocks * used).div_ceil(256))?,
    )?;

    let wide = block_rows > PACK_ROWS;
    let conv = match rows {
        _ if aligned_1x1 => Shader::Conv2dPacked
            .entry(
                if wide {
                    "conv2d_packed_1x1_32"
                } else {
                    "conv2d_packed_1x1_16"
                },
                PACKED_LAYOUT,
            )
            .with("MODE", mode_code(PaddingMode::Zeros)),
        Some(spec) => {
            let entry = if wide {
                "conv2d_packed_rows_32"
            } else {
                "conv2d_packed_rows_16"
            };
            let mut conv = Shader::Conv2dPacked.entry(entry, PACKED_LAYOUT);
            conv.constants = row_constants(spec);
            conv
        }
        None => Shader::Conv2dPacked
            .entry("conv2d_packed", PACKED_LAYOUT)
            .with("MODE", mode_code(g.mode)),
    };
    let conv = gpu.pipeline(&io.specialise(conv))?;
    // an f16 output over several chunks: the sums between chunks in f32 (a run's
    // output window of them), else a word the kernels never touch
    let keep = chunks > 1 && gpu.elem() != Elem::F32;
    let mut max_run = images_per_binding(gpu, g);
    let partial_len = if keep {
        let per_run = partial_images(gpu, g).ok_or_else(|| {
            Error::Unsupported("f16 packed conv2d whose image's f32 sums exceed a binding".into())
        })?;
        max_run = max_run.min(per_run);
        (max_run.min(g.n) as u64 * image_sizes(g).1) as usize
    } else {
        4
    };
    let partial = Tensor::uninit(device, &[partial_len])?;
    let partial_buf = partial.gpu_buffer()?;
    for_each_image_run(
        gpu,
        g,
        max_run,
        |nb, (x_off, x_size, x_shift), (y_off, y_size, y_shift)| {
            // conv2d_packed_rows counts images; its invocations cover 2 rows x 4 pixels
            let (total, invocations) = if rows.is_some() {
                let per_image = (g.oh.div_ceil(2) * g.ow / 4) as u64;
                (nb as u64, nb as u64 * per_image)
            } else {
                (nb as u64 * ohw, (nb as u64 * ohw).div_ceil(8))
            };
            let grid = gpu.grid(invocations.div_ceil(64))?;
            for group in 0..g.groups {
                for rb in 0..row_blocks {
                    for chunk in 0..chunks {
                        let block = ((group * row_blocks + rb) * chunks + chunk) as u64;
                        let ci0 = chunk * cc;
                        let mut flags = io.flags;
                        if chunk == 0 {
                            flags |= FLAG_FIRST_CHUNK;
                        }
                        if chunk + 1 == chunks {
                            flags |= FLAG_LAST_CHUNK;
                        }
                        if keep {
                            flags |= FLAG_PARTIAL;
                        }
                        let params = PackedParams {
                            shape: ConvShape::of(g),
                            total: u32_of(total, "conv2d pixels")?,
                            flags,
                            mode: mode_code(g.mode),
                            in_shift: x_shift,
                            out_shift: y_shift,
                            group: group as u32,
                            m0: (rb * block_rows) as u32,
                            ci0: ci0 as u32,
                            cc: cc.min(g.cg - ci0) as u32,
                            ..PackedParams::default()
                        };
                        let binds = [
                            Bind::at(0, io.x, x_off, x_size),
                            Bind::at(1, pb, block * PACK_BLOCK * 4, PACK_BLOCK * 4),
                            Bind::at(2, io.b, 0, io.b_size),
                            Bind::at(3, io.y, y_off, y_size),
                            // vec4 view: the window rounded out to whole vec4s (the shift
                            // is a multiple of 4 when the VEC4 pipeline reads it)
                            Bind::at(8, io.x, x_off, x_size.div_ceil(16) * 16),
                            // vec4 view of the output (the _1x1 and _rows kernels: whole
                            // images of whole rows, so the shift is a multiple of 4)
                            Bind::at(9, io.y, y_off, y_size.div_ceil(16) * 16),
                            Bind::at(10, partial_buf, 0, partial_len as u64 * 4),
                            io.residual(y_off, y_size),
                        ];
                        gpu.dispatch(&conv, &binds, bytemuck::bytes_of(&params), grid)?;
                    }
                }
            }
            Ok(())
        },
    )
}
