//! Winograd F(2x2, 3x3) for conv2d: `shaders/conv2d_winograd.wgsl`. A 3x3 convolution
//! with stride 1, dilation 1 and one group becomes a weight transform, an input
//! transform, 16 GEMMs (one per position of the 4x4 transformed tile, over input
//! channels) and an output transform: 16 multiplies per 2x2 outputs and channel pair
//! instead of 36. The GEMMs run through uniform weight blocks on CPU drivers (as the
//! packed lowering does) and through the GEMM shader elsewhere.
//!
//! The transforms add and subtract inputs that the direct sum never combines: an inf
//! makes inf - inf (NaN) in outputs whose window lacks it, and finite values near f32's
//! limit overflow. Every such tile has an inf or NaN output, so the output transform
//! lists those tiles and `winograd_fix` writes them again from the direct sum, in a
//! dispatch whose workgroup count the device reads from a buffer that a one-invocation
//! kernel fills from the list: no readback, and no work beyond a finiteness test per
//! output when every output is finite. So Winograd gives the direct convolution's
//! numbers (to rounding) for any input.

use super::{ConvIo, for_each_image_run, mode_code};
use crate::device::{Bind, Buf, Device, GpuHandle, Pipeline, Slot};
use crate::dtype::Elem;
use crate::error::{Error, Result};
use crate::kernels::gemm::{
    FLAG_FIRST_CHUNK, GemmParams, GemmVariant, dispatch_gemm, subgroup_gemm,
};
use crate::kernels::shaders::Shader;
use crate::kernels::u32_of;
use crate::op::conv2d::{Conv2dGeometry, Epilogue, PaddingMode};
use crate::tensor::Tensor;

uniform! {
    /// `WinoParams` of conv2d_winograd.wgsl.
    pub(crate) struct WinoParams {
        c_in: u32,
        h: u32,
        w: u32,
        c_out: u32,
        oh: u32,
        ow: u32,
        pad_t: u32,
        pad_l: u32,
        th: u32,
        twb: u32,
        nb: u32,
        tiles: u32,
        in_shift: u32,
        out_shift: u32,
        flags: u32,
        total: u32,
        m0: u32,
        ci0: u32,
        cn: u32,
        xi0: u32,
        cc: u32,
        chunks: u32,
        xpb: u32,
        packed: u32,
        ty0: u32,
        rows: u32,
        _pad: [u32; 2],
    }
}

const WEIGHTS_LAYOUT: &[(u32, Slot)] = layout![0 => Read, 1 => ReadWrite, 2 => Uniform];
const INPUT_LAYOUT: &[(u32, Slot)] = layout![2 => Uniform, 3 => Read, 4 => ReadWrite];
const INPUT4_LAYOUT: &[(u32, Slot)] = layout![2 => Uniform, 4 => ReadWrite, 11 => Read];
const INPUT2_LAYOUT: &[(u32, Slot)] = layout![2 => Uniform, 4 => ReadWrite, 13 => Read];
const GEMM_LAYOUT: &[(u32, Slot)] =
    layout![2 => Uniform, 5 => Read, 6 => UniformBlock, 7 => ReadWrite];
const OUTPUT_LAYOUT: &[(u32, Slot)] = layout![
    2 => Uniform, 8 => Read, 9 => Read, 10 => ReadWrite, 12 => ReadWrite, 14 => ReadWrite,
    15 => ReadWrite, 16 => ReadWrite, 20 => Read
];
const FIX_ARGS_LAYOUT: &[(u32, Slot)] = layout![2 => Uniform, 15 => ReadWrite, 17 => ReadWrite];
const FIX_LAYOUT: &[(u32, Slot)] = layout![
    0 => Read, 2 => Uniform, 3 => Read, 9 => Read, 10 => ReadWrite, 15 => ReadWrite,
    16 => ReadWrite, 20 => Read
];
/// Most left padding `winograd_input4` and `winograd_input2` take (their `PL`).
const MAX_VECTOR_PAD: usize = 4;

/// A uniform block of U: 4096 vec4 (64 KiB), 32 output channels per block (16 for
/// convolutions with no more).
const BLOCK: u64 = 16384;
const BLOCK_ROWS: usize = 32;
/// Positions of the transformed tile.
const XI: usize = 16;
/// Input channels summed in one pass before the output adds them up (a two-level sum,
/// as the other lowerings do, to bound the rounding of long dot products).
const CHUNK: usize = 256;
/// Most bytes V or M take per run of images, unless one image needs more (scratch
/// memory stays small next to the activations). V and M are f32 whatever the call's
/// type, so an f16 call, whose activations take half the bytes, has a quarter of it.
const BUDGET: u64 = 4 << 20;

/// The tile budget of a call in `gpu`'s form, within a binding of f32 tiles.
fn budget(gpu: &GpuHandle) -> u64 {
    let budget = match gpu.elem() {
        Elem::F32 => BUDGET,
        Elem::F16 | Elem::F16Packed => BUDGET / 4,
    };
    budget.min(tile_binding(gpu))
}

/// The most bytes of f32 tiles (V or M) one binding holds.
fn tile_binding(gpu: &GpuHandle) -> u64 {
    gpu.in_form(Elem::F32).chunk_elems() * 4
}

/// Whether the convolution is one Winograd F(2x2, 3x3) computes, with one row of
/// tiles' transforms within a binding, on an adapter with indirect dispatches (which
/// the fix-up of non-finite tiles needs).
pub(super) fn applies(g: &Conv2dGeometry, gpu: &GpuHandle) -> bool {
    let shape =
        g.kh == 3 && g.kw == 3 && g.stride == [1, 1] && g.dilation == [1, 1] && g.groups == 1;
    shape && row_bytes(g) <= tile_binding(gpu) && gpu.indirect
}

/// Bytes of V or M (the larger) per row of tiles of one image.
fn row_bytes(g: &Conv2dGeometry) -> u64 {
    (tiling(g).1 * 4 * g.c_in.max(g.c_out) * XI * 4) as u64
}

/// The tiling of one image: tile rows, blocks of 4 tiles per row, tiles (rounded to 4
/// per row).
fn tiling(g: &Conv2dGeometry) -> (usize, usize, u64) {
    let th = g.oh.div_ceil(2);
    let twb = g.ow.div_ceil(2).div_ceil(4);
    (th, twb, (th * twb * 4) as u64)
}

/// Tiles of a run up to which the transformed GEMMs run on the subgroup GEMM rather
/// than through uniform weight blocks (a 28x28 map has 224).
const SUBGROUP_TILES: u64 = 256;

/// Records the convolution into `io.y`. Its GEMMs run through uniform weight blocks
/// with the register GEMM variants (the CPU drivers' choice), on the subgroup GEMM for
/// a few tiles with that variant, else on the GEMM shader.
pub(super) fn launch(
    device: &Device,
    gpu: &GpuHandle,
    io: &ConvIo<'_>,
    g: &Conv2dGeometry,
    variant: GemmVariant,
) -> Result<()> {
    let ConvIo {
        x,
        w,
        b,
        y,
        w_size,
        b_size,
        flags,
        ..
    } = *io;
    if !applies(g, gpu) {
        return Err(Error::Unsupported(
            "winograd conv2d needs a 3x3 kernel, stride 1, dilation 1, one group, a row \
             of tiles whose transforms fit a binding and indirect dispatches"
                .into(),
        ));
    }
    let (th, twb, image_tiles) = tiling(g);
    // Runs of whole images within the budget, or one image in bands of tile rows.
    let budget = budget(gpu);
    let image_bytes = row_bytes(g) * th as u64;
    let (per_run, band) = if image_bytes <= budget {
        ((budget / image_bytes) as usize, th)
    } else {
        (1, ((budget / row_bytes(g)) as usize).max(1))
    };
    let run_tiles = |nb: usize, rows: usize| (nb * rows * twb * 4).next_multiple_of(8) as u64;
    let max_tiles = run_tiles(per_run.min(g.n), band);
    debug_assert!(image_tiles <= run_tiles(1, th));
    // the register GEMMs through uniform weight blocks; but a few tiles (maps up to
    // 28x28) leave most of their lanes idle, where the subgroup GEMM's blocks of 32
    // columns do not (ResNet-18's 14x14 3x3 convolutions: 11.0 -> 7.2 ms on lavapipe;
    // at 56x56 the blocks are faster, 5.4 against 7.4 ms)
    let subgroup = variant == GemmVariant::Subgroup
        && subgroup_gemm(gpu)
        && g.c_in.is_multiple_of(4)
        && max_tiles <= SUBGROUP_TILES
        // its grid: column blocks, row blocks, the 16 positions
        && u64::from(gpu.max_groups_per_dim())
            >= (XI as u64).max(g.c_out.div_ceil(8) as u64).max(max_tiles.div_ceil(32));
    let packed = variant.is_register() && !subgroup && gpu.max_uniform_binding() >= BLOCK * 4;

    // U, in uniform blocks or as the GEMM shader's A
    let cc = g.c_in.min(CHUNK);
    let chunks = g.c_in.div_ceil(cc);
    // blocks of 32 output channels, or 16 when there are no more (no idle half)
    let rows = if g.c_out <= BLOCK_ROWS / 2 {
        BLOCK_ROWS / 2
    } else {
        BLOCK_ROWS
    };
    let xpb = [16, 8, 4, 2, 1]
        .into_iter()
        .find(|&e| e * cc * rows <= BLOCK as usize)
        .expect("a chunk of 256 channels fits 2 positions a block");
    let row_blocks = g.c_out.div_ceil(rows);
    let u_len = if packed {
        (row_blocks * chunks * (XI / xpb)) as u64 * BLOCK
    } else {
        (XI * g.c_out * g.c_in) as u64
    };
    let u = Tensor::uninit(device, &[u_len as usize])?;
    let ub = u.gpu_buffer()?;
    let base = WinoParams {
        c_in: g.c_in as u32,
        h: g.h as u32,
        w: g.w as u32,
        c_out: g.c_out as u32,
        oh: g.oh as u32,
        ow: g.ow as u32,
        pad_t: g.pad[0] as u32,
        pad_l: g.pad[2] as u32,
        th: th as u32,
        twb: twb as u32,
        flags,
        cc: cc as u32,
        chunks: chunks as u32,
        xpb: xpb as u32,
        packed: u32::from(packed),
        rows: rows as u32,
        ..WinoParams::default()
    };
    let pairs = (g.c_out * g.c_in) as u64;
    let weights =
        gpu.pipeline(&Shader::Conv2dWinograd.entry("winograd_weights", WEIGHTS_LAYOUT))?;
    gpu.dispatch(
        &weights,
        &[Bind::at(0, w, 0, w_size), Bind::at(1, ub, 0, u_len * 4)],
        bytemuck::bytes_of(&WinoParams {
            total: u32_of(pairs, "winograd weight pairs")?,
            ..base
        }),
        gpu.grid(pairs.div_ceil(64))?,
    )?;

    let v = Tensor::uninit(device, &[(XI as u64 * g.c_in as u64 * max_tiles) as usize])?;
    let m = Tensor::uninit(device, &[(XI as u64 * g.c_out as u64 * max_tiles) as usize])?;
    let (vb, mb) = (v.gpu_buffer()?, m.gpu_buffer()?);
    // zero padding and rows of whole vec4s (or vec2s): the input as vec4 (vec2), the
    // windows of whole images of whole rows starting at multiples of 4
    let vector = g.mode == PaddingMode::Zeros && g.pad[2] <= MAX_VECTOR_PAD;
    let (entry, layout, width) = match () {
        _ if vector && g.w.is_multiple_of(4) => ("winograd_input4", INPUT4_LAYOUT, 4),
        _ if vector && g.w.is_multiple_of(2) => ("winograd_input2", INPUT2_LAYOUT, 2),
        _ => ("winograd_input", INPUT_LAYOUT, 1),
    };
    let input = Shader::Conv2dWinograd.entry(entry, layout);
    let input = gpu.pipeline(&if width > 1 {
        input.with("PL", g.pad[2] as u32)
    } else {
        input.with("MODE", mode_code(g.mode))
    })?;
    let output = gpu
        .pipeline(&io.specialise(Shader::Conv2dWinograd.entry("winograd_output", OUTPUT_LAYOUT)))?;
    let fix_args =
        gpu.pipeline(&Shader::Conv2dWinograd.entry("winograd_fix_args", FIX_ARGS_LAYOUT))?;
    let fix = gpu.pipeline(
        &io.specialise(
            Shader::Conv2dWinograd
                .entry("winograd_fix", FIX_LAYOUT)
                .with("MODE", mode_code(g.mode)),
        ),
    )?;
    // the fix-up's state: [quads listed, quads to fix] (zero: the args kernel empties
    // the list after each run), the list (at most every quad of a run), and its
    // workgroup counts
    let max_quads = (per_run.min(g.n) * band * twb * g.c_out) as u64;
    let fix_state = Tensor::zeros(device, &[2])?;
    let fix_list = Tensor::uninit(device, &[max_quads as usize])?;
    let fix_groups = Tensor::uninit(device, &[3])?;
    let (sb, lb, gb) = (
        fix_state.gpu_buffer()?,
        fix_list.gpu_buffer()?,
        fix_groups.gpu_buffer()?,
    );
    // the uniform-block GEMMs (CPU drivers), 16 or 32 output channels an invocation
    let gemm = match (packed, rows < BLOCK_ROWS) {
        (false, _) => None,
        (true, true) => {
            Some(gpu.pipeline(&Shader::Conv2dWinograd.entry("winograd_gemm_16", GEMM_LAYOUT))?)
        }
        (true, false) => {
            Some(gpu.pipeline(&Shader::Conv2dWinograd.entry("winograd_gemm_32", GEMM_LAYOUT))?)
        }
    };
    for_each_image_run(
        gpu,
        g,
        per_run,
        |nb, (x_off, x_size, x_shift), (y_off, y_size, y_shift)| {
            for ty0 in (0..th).step_by(band) {
                let rows = band.min(th - ty0);
                let tiles = run_tiles(nb, rows);
                let (v_size, m_size) = (
                    XI as u64 * g.c_in as u64 * tiles * 4,
                    XI as u64 * g.c_out as u64 * tiles * 4,
                );
                let run = WinoParams {
                    nb: nb as u32,
                    tiles: tiles as u32,
                    in_shift: x_shift,
                    out_shift: y_shift,
                    th: rows as u32,
                    ty0: ty0 as u32,
                    ..base
                };
                let quads = (nb * rows * twb) as u64;
                gpu.dispatch(
                    &input,
                    &[
                        match width {
                            4 => Bind::at(11, x, x_off, x_size.div_ceil(16) * 16),
                            2 => Bind::at(13, x, x_off, x_size.div_ceil(8) * 8),
                            _ => Bind::at(3, x, x_off, x_size),
                        },
                        Bind::at(4, vb, 0, v_size),
                    ],
                    bytemuck::bytes_of(&WinoParams {
                        total: u32_of(quads * g.c_in as u64, "winograd input quads")?,
                        ..run
                    }),
                    gpu.grid((quads * g.c_in as u64).div_ceil(64))?,
                )?;
                if let Some(gemm) = &gemm {
                    gemm_packed(gpu, gemm, (vb, v_size), (ub, mb, m_size), g, &run)?;
                } else {
                    let p = GemmParams {
                        m: g.c_out as u32,
                        n: tiles as u32,
                        k: g.c_in as u32,
                        a_rs: g.c_in as u32,
                        a_gs: (g.c_out * g.c_in) as u32,
                        b_rs: tiles as u32,
                        b_gs: (g.c_in as u64 * tiles) as u32,
                        b_hw: tiles as u32,
                        c_ms: tiles as u32,
                        c_gs: (g.c_out as u64 * tiles) as u32,
                        c_hw: tiles as u32,
                        ..GemmParams::default()
                    };
                    let binds = [
                        Bind::at(0, ub, 0, u_len * 4),
                        Bind::at(1, vb, 0, v_size),
                        Bind::at(2, ub, 0, 4),
                        Bind::at(3, mb, 0, m_size),
                        // no epilogue here: U stands in for the residual, never read
                        Bind::at(20, ub, 0, 4),
                    ];
                    // over f32 scratch whatever the call's type
                    let scratch = gpu.in_form(Elem::F32);
                    dispatch_gemm(&scratch, (variant, Epilogue::default()), &binds, &p, XI)?;
                }
                let out = WinoParams {
                    total: u32_of(quads * g.c_out as u64, "winograd output quads")?,
                    ..run
                };
                let list_size = quads * g.c_out as u64 * 4;
                gpu.dispatch(
                    &output,
                    &[
                        Bind::at(8, mb, 0, m_size),
                        Bind::at(9, b, 0, b_size),
                        Bind::at(10, y, y_off, y_size),
                        // vec4 and vec2 views (used when ow % 4 == 0 or ow % 2 == 0:
                        // whole images of whole rows)
                        Bind::at(12, y, y_off, y_size.div_ceil(16) * 16),
                        Bind::at(14, y, y_off, y_size.div_ceil(8) * 8),
                        Bind::at(15, sb, 0, 8),
                        Bind::at(16, lb, 0, list_size),
                        io.residual(y_off, y_size),
                    ],
                    bytemuck::bytes_of(&out),
                    gpu.grid((quads * g.c_out as u64).div_ceil(64))?,
                )?;
                // the direct sum over the quads with an inf or NaN output: none, as a
                // rule, and then a dispatch of no workgroups
                gpu.dispatch(
                    &fix_args,
                    &[Bind::at(15, sb, 0, 8), Bind::at(17, gb, 0, 12)],
                    bytemuck::bytes_of(&WinoParams {
                        total: gpu.max_groups_per_dim(),
                        ..run
                    }),
                    [1, 1, 1],
                )?;
                gpu.dispatch_indirect(
                    &fix,
                    &[
                        Bind::at(0, w, 0, w_size),
                        Bind::at(3, x, x_off, x_size),
                        Bind::at(9, b, 0, b_size),
                        Bind::at(10, y, y_off, y_size),
                        Bind::at(15, sb, 0, 8),
                        Bind::at(16, lb, 0, list_size),
                        io.residual(y_off, y_size),
                    ],
                    bytemuck::bytes_of(&out),
                    gb,
                    0,
                )?;
            }
            Ok(())
        },
    )
}

/// The 16 GEMMs through uniform blocks: one dispatch per (block of 32 or 16 output channels,
/// chunk of input channels, group of positions).
fn gemm_packed(
    gpu: &GpuHandle,
    gemm: &Pipeline,
    (vb, v_size): (Buf<'_>, u64),
    (ub, mb, m_size): (Buf<'_>, Buf<'_>, u64),
    g: &Conv2dGeometry,
    run: &WinoParams,
) -> Result<()> {
    let rows = run.rows as usize;
    let (cc, chunks, xpb) = (run.cc as usize, run.chunks as usize, run.xpb as usize);
    // x: blocks of 512 tiles, within the planning limit; y: the block's positions (at
    // most 16, within any adapter's limit)
    let [groups_x, ..] = gpu.grid3(
        [u64::from(run.tiles).div_ceil(8 * 64), 1, 1],
        "winograd GEMM workgroups per dimension",
    )?;
    let grid = [groups_x, xpb as u32, 1];
    for rb in 0..g.c_out.div_ceil(rows) {
        for chunk in 0..chunks {
            for xg in 0..XI / xpb {
                let block = ((rb * chunks + chunk) * (XI / xpb) + xg) as u64;
                let p = WinoParams {
                    m0: (rb * rows) as u32,
                    ci0: (chunk * cc) as u32,
                    cn: cc.min(g.c_in - chunk * cc) as u32,
                    xi0: (xg * xpb) as u32,
                    flags: if chunk == 0 { FLAG_FIRST_CHUNK } else { 0 },
                    ..*run
                };
                let binds = [
                    Bind::at(5, vb, 0, v_size),
                    Bind::at(6, ub, block * BLOCK * 4, BLOCK * 4),
                    Bind::at(7, mb, 0, m_size),
                ];
                gpu.dispatch(gemm, &binds, bytemuck::bytes_of(&p), grid)?;
            }
        }
    }
    Ok(())
}
