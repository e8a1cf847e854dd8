//! interpolate on the GPU: `shaders/upsample2d.wgsl`. The shader computes each source
//! index with the same float arithmetic as `crate::op::interpolate` (so nearest modes
//! are bit-exact) and gathers (nearest) or blends (bilinear). Exact doubling of rows of
//! whole vec4s runs one invocation per source vec4; bilinear resizes whose groups of 4
//! outputs read at most 4 source columns run 4 outputs per invocation (and 2 rows where
//! they read within 3 source rows).

use crate::device::{Bind, Buf, GpuHandle, Slot};
use crate::error::Result;
use crate::kernels::pool2d::plane_grid;
use crate::kernels::shaders::Shader;
use crate::op::interpolate::{
    InterpolateGeometry, InterpolateMode, linear_scale, linear_source, nearest_source, scale_value,
};

uniform! {
    /// `UpsampleParams` of upsample2d.wgsl.
    pub(crate) struct UpsampleParams {
        h: u32,
        w: u32,
        oh: u32,
        ow: u32,
        total: u32,
        in_shift: u32,
        out_shift: u32,
        /// [`INTERPOLATE_FLAGS`] bits.
        flags: u32,
        scale_h: f32,
        scale_w: f32,
        /// The nearest index per axis: 0 the formula, 1 identity, 2 halving.
        kind_h: u32,
        kind_w: u32,
        /// Output rows per plane this dispatch writes: `oh`, or a band's (one plane).
        rows: u32,
        /// In a band of rows: the plane's row of the band's first output row, and of
        /// its first input row (0 otherwise).
        row0: u32,
        in_row0: u32,
        _pad: u32,
    }
}

wgsl_consts! {
    /// The flags of upsample2d.wgsl.
    INTERPOLATE_FLAGS {
        /// Mode `nearest-exact`.
        FLAG_NEAREST_EXACT = 1,
        /// `align_corners=True`.
        FLAG_ALIGN_CORNERS = 2,
    }
}

const LAYOUT: &[(u32, Slot)] = layout![0 => Read, 2 => ReadWrite, 3 => Uniform];
const LAYOUT4: &[(u32, Slot)] = layout![0 => Read, 3 => Uniform, 4 => ReadWrite];
const LAYOUT2X: &[(u32, Slot)] = layout![3 => Uniform, 4 => ReadWrite, 5 => Read];
const LAYOUT4R: &[(u32, Slot)] = layout![2 => ReadWrite, 3 => Uniform, 4 => ReadWrite, 5 => Read];

/// The kernels of upsample2d.wgsl (other than exact doubling).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kernel {
    /// One output per invocation.
    Nearest,
    /// 4 outputs per invocation, written as a vec4 (`ow % 4 == 0`).
    Nearest4,
    /// One output per invocation.
    Bilinear,
    /// 4 outputs per invocation from at most 4 source columns, scalar stores.
    Bilinear4s,
    /// As `Bilinear4s`, written as a vec4 (`ow % 4 == 0`).
    Bilinear4,
    /// 2 rows x 4 outputs per invocation from 3 source rows read as vec4s.
    Bilinear4r,
}

impl Kernel {
    fn entry(self) -> &'static str {
        match self {
            Kernel::Nearest => "nearest",
            Kernel::Nearest4 => "nearest4",
            Kernel::Bilinear => "bilinear",
            Kernel::Bilinear4s => "bilinear4s",
            Kernel::Bilinear4 => "bilinear4",
            Kernel::Bilinear4r => "bilinear4r",
        }
    }

    fn layout(self) -> &'static [(u32, Slot)] {
        match self {
            Kernel::Bilinear4r => LAYOUT4R,
            Kernel::Nearest4 | Kernel::Bilinear4 => LAYOUT4,
            _ => LAYOUT,
        }
    }

    /// Writes the output as vec4 (binding 4).
    fn vec4_out(self) -> bool {
        matches!(self, Kernel::Nearest4 | Kernel::Bilinear4)
    }

    /// Covers 4 columns per invocation.
    fn grouped(self) -> bool {
        !matches!(self, Kernel::Nearest | Kernel::Bilinear)
    }
}

/// How the shader's nearest index runs on an axis: 0 the formula, 1 identity, 2 halving
/// (PyTorch's special cases), for mode nearest.
fn nearest_kind(mode: InterpolateMode, input: usize, output: usize) -> u32 {
    match mode {
        InterpolateMode::Nearest if output == input => 1,
        InterpolateMode::Nearest if output == 2 * input => 2,
        _ => 0,
    }
}

/// The bilinear kernel for `g`: 4 outputs per invocation where every group of 4
/// neighbouring outputs reads at most 4 columns, and 2 rows where they read within 3
/// source rows that come as vec4s.
fn bilinear_kernel(g: &InterpolateGeometry) -> Kernel {
    let narrow = (0..g.ow).step_by(4).all(|o| {
        let first = linear_source(o, g.w, g.ow, g.align_corners, g.scales[1]);
        let end = (o + 3).min(g.ow - 1);
        let last = linear_source(end, g.w, g.ow, g.align_corners, g.scales[1]);
        last.i1 - first.i0 < 4
    });
    let paired = narrow
        && g.w.is_multiple_of(4)
        && (0..g.oh).step_by(2).all(|o| {
            let first = linear_source(o, g.h, g.oh, g.align_corners, g.scales[0]);
            let end = (o + 1).min(g.oh - 1);
            let last = linear_source(end, g.h, g.oh, g.align_corners, g.scales[0]);
            last.i1 - first.i0 <= 2
        });
    match (narrow, g.ow.is_multiple_of(4)) {
        _ if paired => Kernel::Bilinear4r,
        (true, true) => Kernel::Bilinear4,
        (true, false) => Kernel::Bilinear4s,
        _ => Kernel::Bilinear,
    }
}

/// Records `interpolate` of `src` into `dst`.
pub(crate) fn launch(
    gpu: &GpuHandle,
    g: &InterpolateGeometry,
    (src, dst): (Buf<'_>, Buf<'_>),
) -> Result<()> {
    let room = gpu.band_room();
    if (g.h * g.w) as u64 > room || (g.oh * g.ow) as u64 > room {
        return launch_bands(gpu, g, (src, dst));
    }
    let doubled = g.oh == 2 * g.h && g.ow == 2 * g.w && g.w.is_multiple_of(4);
    if doubled && g.mode == InterpolateMode::Nearest {
        return doubling(gpu, "nearest2x", src, dst, g);
    }
    if doubled
        && g.mode == InterpolateMode::Bilinear
        && !g.align_corners
        && linear_scale(g.h, g.oh, false, g.scales[0]) == 0.5
        && linear_scale(g.w, g.ow, false, g.scales[1]) == 0.5
    {
        return doubling(gpu, "bilinear2x", src, dst, g);
    }
    let kernel = match g.mode {
        InterpolateMode::Bilinear => bilinear_kernel(g),
        _ if g.ow.is_multiple_of(4) => Kernel::Nearest4,
        _ => Kernel::Nearest,
    };
    let base = base_params(g);
    let pipeline = gpu.pipeline(&Shader::Upsample2d.entry(kernel.entry(), kernel.layout()))?;
    let (in_plane, out_plane) = ((g.h * g.w) as u64, (g.oh * g.ow) as u64);
    gpu.for_each_run(
        "interpolate plane size (bytes)",
        g.n * g.c,
        (in_plane, out_plane),
        gpu.max_groups_per_dim() as usize,
        |_, np, (x_off, x_size, x_shift), (y_off, y_size, y_shift)| {
            let np = np as u64;
            let params = UpsampleParams {
                total: super::u32_of(np * out_plane, "interpolate outputs")?,
                in_shift: x_shift,
                out_shift: y_shift,
                ..base
            };
            let binds = match kernel {
                // src as vec4 (whole planes of whole rows, so the shift is a multiple
                // of 4), dst as f32 and as vec4 (used when ow % 4 == 0)
                Kernel::Bilinear4r => vec![
                    Bind::at(2, dst, y_off, y_size),
                    Bind::at(4, dst, y_off, y_size.div_ceil(16) * 16),
                    Bind::at(5, src, x_off, x_size.div_ceil(16) * 16),
                ],
                // vec4 stores: the window rounded out to whole vec4s
                _ if kernel.vec4_out() => vec![
                    Bind::at(0, src, x_off, x_size),
                    Bind::at(4, dst, y_off, y_size.div_ceil(16) * 16),
                ],
                _ => vec![
                    Bind::at(0, src, x_off, x_size),
                    Bind::at(2, dst, y_off, y_size),
                ],
            };
            let columns = if kernel.grouped() {
                params.ow.div_ceil(4)
            } else {
                params.ow
            };
            // nearest4 writes both copies of a doubled row, bilinear4r 2 rows
            let rows = match kernel {
                Kernel::Nearest4 if params.kind_h == 2 => params.oh / 2,
                Kernel::Bilinear4r => params.oh.div_ceil(2),
                _ => params.oh,
            };
            let grid = plane_grid(columns, rows, np);
            gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), grid)
        },
    )
}

/// The parameters every kernel of `g` reads: sizes, flags, the scales of the source
/// index formulas, the nearest kinds, and all `oh` rows of each plane.
fn base_params(g: &InterpolateGeometry) -> UpsampleParams {
    let scales = if g.mode == InterpolateMode::Bilinear {
        [
            linear_scale(g.h, g.oh, g.align_corners, g.scales[0]),
            linear_scale(g.w, g.ow, g.align_corners, g.scales[1]),
        ]
    } else {
        [
            scale_value(g.scales[0], g.h, g.oh),
            scale_value(g.scales[1], g.w, g.ow),
        ]
    };
    let mut flags = 0;
    if g.mode == InterpolateMode::NearestExact {
        flags |= FLAG_NEAREST_EXACT;
    }
    if g.align_corners {
        flags |= FLAG_ALIGN_CORNERS;
    }
    UpsampleParams {
        h: g.h as u32,
        w: g.w as u32,
        oh: g.oh as u32,
        ow: g.ow as u32,
        flags,
        scale_h: scales[0],
        scale_w: scales[1],
        kind_h: nearest_kind(g.mode, g.h, g.oh),
        kind_w: nearest_kind(g.mode, g.w, g.ow),
        rows: g.oh as u32,
        ..UpsampleParams::default()
    }
}

/// Records `interpolate` of planes larger than a binding: a plane at a time, in bands
/// of output rows through `nearest` or `bilinear`, each reading the source rows its
/// outputs read (source indices grow with the output index).
fn launch_bands(
    gpu: &GpuHandle,
    g: &InterpolateGeometry,
    (src, dst): (Buf<'_>, Buf<'_>),
) -> Result<()> {
    let bilinear = g.mode == InterpolateMode::Bilinear;
    let kernel = if bilinear {
        Kernel::Bilinear
    } else {
        Kernel::Nearest
    };
    // the source rows [start, stop) that output rows [first, end) read
    let reads = |first: usize, end: usize| -> (u64, u64) {
        let (start, stop) = if bilinear {
            let tap = |o| linear_source(o, g.h, g.oh, g.align_corners, g.scales[0]);
            (tap(first).i0 as usize, tap(end - 1).i1 as usize + 1)
        } else {
            let source = |o| nearest_source(g.mode, o, g.h, g.oh, g.scales[0]);
            (source(first), source(end - 1) + 1)
        };
        (start as u64, stop as u64)
    };
    let pipeline = gpu.pipeline(&Shader::Upsample2d.entry(kernel.entry(), kernel.layout()))?;
    let base = base_params(g);
    let dims = [g.h, g.w, g.oh, g.ow].map(|d| d as u64);
    gpu.for_each_plane_band(
        "interpolate row size (bytes)",
        g.n * g.c,
        ([dims[0], dims[1]], [dims[2], dims[3]]),
        reads,
        |b| {
            let params = UpsampleParams {
                total: super::u32_of(b.rows * dims[3], "interpolate outputs")?,
                in_shift: b.x.2,
                out_shift: b.y.2,
                rows: b.rows as u32,
                row0: b.first as u32,
                in_row0: b.in_first as u32,
                ..base
            };
            let binds = [
                Bind::at(0, src, b.x.0, b.x.1),
                Bind::at(2, dst, b.y.0, b.y.1),
            ];
            let grid = plane_grid(params.ow, params.rows, 1);
            gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), grid)
        },
    )
}

/// Both axes doubled, rows of whole vec4s: `nearest2x` or `bilinear2x`, one invocation
/// per source vec4.
fn doubling(
    gpu: &GpuHandle,
    entry: &'static str,
    src: Buf<'_>,
    dst: Buf<'_>,
    g: &InterpolateGeometry,
) -> Result<()> {
    let pipeline = gpu.pipeline(&Shader::Upsample2d.entry(entry, LAYOUT2X))?;
    let (in_plane, out_plane) = ((g.h * g.w) as u64, (g.oh * g.ow) as u64);
    gpu.for_each_run(
        "interpolate plane size (bytes)",
        g.n * g.c,
        (in_plane, out_plane),
        usize::MAX,
        |_, np, (x_off, x_size, x_shift), (y_off, y_size, y_shift)| {
            let quads = np as u64 * in_plane / 4;
            let params = UpsampleParams {
                h: g.h as u32,
                w: g.w as u32,
                oh: g.oh as u32,
                ow: g.ow as u32,
                total: super::u32_of(quads, "interpolate source vec4s")?,
                in_shift: x_shift,
                out_shift: y_shift,
                kind_h: 2,
                kind_w: 2,
                ..UpsampleParams::default()
            };
            // whole planes of whole rows: the shifts are multiples of 4
            let binds = [
                Bind::at(4, dst, y_off, y_size.div_ceil(16) * 16),
                Bind::at(5, src, x_off, x_size.div_ceil(16) * 16),
            ];
            gpu.dispatch(
                &pipeline,
                &binds,
                bytemuck::bytes_of(&params),
                gpu.grid(quads.div_ceil(64))?,
            )
        },
    )
}
