//! Pooling on the GPU: `shaders/pool2d.wgsl`. One invocation per output element in
//! general; 4 outputs per invocation from vec4 row loads where rows allow, with 2
//! (max) or 4 (average, stride 1) output rows sharing their input rows. Planes are
//! processed in chunks that fit a storage binding.

use crate::device::{Bind, Buf, GpuHandle, PipelineSpec, Slot};
use crate::dtype::Elem;
use crate::error::{Error, Result};
use crate::kernels::shaders::Shader;
use crate::op::pool2d::{AdaptiveGeometry, Pool2dGeometry};

uniform! {
    /// `PoolParams` of pool2d.wgsl.
    pub(crate) struct PoolParams {
        h: u32,
        w: u32,
        oh: u32,
        ow: u32,
        kh: u32,
        kw: u32,
        sh: u32,
        sw: u32,
        ph: u32,
        pw: u32,
        dh: u32,
        dw: u32,
        total: u32,
        /// [`POOL_FLAGS`] bits.
        flags: u32,
        divisor: u32,
        in_shift: u32,
        out_shift: u32,
        idx_shift: u32,
        /// In a band of rows: the plane's row of the band's first output row, and of
        /// its first input row (0 otherwise).
        row0: u32,
        in_row0: u32,
    }
}

wgsl_consts! {
    /// The flags of pool2d.wgsl.
    POOL_FLAGS {
        /// Write the index of each maximum.
        FLAG_INDICES = 1,
        /// Count padded cells in the divisor.
        FLAG_COUNT_PAD = 2,
        /// Divide by `divisor` instead.
        FLAG_DIVISOR = 4,
    }
}

wgsl_consts! {
    /// The pooling ops of pool2d.wgsl's `OP` (`pool2d`, and `pool2d4v` for the first two).
    POOL_OPS {
        OP_MAX = 0,
        OP_AVG = 1,
        OP_ADAPTIVE_MAX = 2,
        OP_ADAPTIVE_AVG = 3,
    }
}

const LAYOUT: &[(u32, Slot)] = layout![0 => Read, 1 => ReadWrite, 2 => ReadWrite, 3 => Uniform];
const LAYOUT_V4: &[(u32, Slot)] = layout![1 => ReadWrite, 3 => Uniform, 4 => Read, 5 => ReadWrite];

/// One pooling kernel as a launcher runs it.
struct Kernel {
    entry: &'static str,
    /// Overrides of the specialised entry points.
    constants: Vec<(&'static str, f64)>,
    /// Neighbouring outputs per invocation, [columns, rows] (64 invocations per
    /// workgroup unless [1, 1]).
    per: [u32; 2],
    /// Reads the input and writes the output as vec4 (bindings 4 and 5).
    vec4: bool,
}

impl Kernel {
    /// `pool2d`: one invocation per output of `op`, scalar bindings.
    fn scalar(op: u32) -> Self {
        Self {
            entry: "pool2d",
            constants: vec![("OP", f64::from(op))],
            per: [1, 1],
            vec4: false,
        }
    }

    /// `pool2d4v`: 4 outputs of a row per invocation of `op` (max or average) from
    /// vec4 rows (`row`: its row specialisation), for `rows` output rows.
    fn vec4(op: u32, row: Vec<(&'static str, f64)>, rows: u32) -> Self {
        let mut constants = row;
        constants.extend([("OP", f64::from(op)), ("ROWS", f64::from(rows))]);
        Self {
            entry: "pool2d4v",
            constants,
            per: [4, rows],
            vec4: true,
        }
    }

    /// The pipeline of this kernel.
    fn spec(&self) -> PipelineSpec {
        let layout = if self.vec4 { LAYOUT_V4 } else { LAYOUT };
        let mut spec = Shader::Pool2d.entry(self.entry, layout);
        spec.constants.clone_from(&self.constants);
        spec
    }
}

/// The row specialisation (`KW`, `PW`, `SW`) of the vec4 kernels when a pooling has
/// one: rows of whole vec4s, dilation 1 along the row, and a (kernel, padding, stride)
/// along the row whose 4 windows stay within the 12 columns of 3 quads.
fn vec4_row(g: &Pool2dGeometry) -> Option<Vec<(&'static str, f64)>> {
    let (k, p, s) = (g.kernel[1], g.padding[1], g.stride[1]);
    let fits = matches!(
        (k, p, s),
        (1, 0, 1) | (2, 0 | 1, 1) | (3, 0 | 1, 1) | (1, 0, 2) | (2, 0 | 1, 2) | (3, 1, 2)
    );
    (g.w.is_multiple_of(4) && g.dilation[1] == 1 && fits)
        .then(|| vec![("KW", k as f64), ("PW", p as f64), ("SW", s as f64)])
}

fn pool_params(g: &Pool2dGeometry) -> PoolParams {
    PoolParams {
        h: g.h as u32,
        w: g.w as u32,
        oh: g.oh as u32,
        ow: g.ow as u32,
        kh: g.kernel[0] as u32,
        kw: g.kernel[1] as u32,
        sh: g.stride[0] as u32,
        sw: g.stride[1] as u32,
        ph: g.padding[0] as u32,
        pw: g.padding[1] as u32,
        dh: g.dilation[0] as u32,
        dw: g.dilation[1] as u32,
        ..PoolParams::default()
    }
}

fn adaptive_params(g: &AdaptiveGeometry) -> PoolParams {
    PoolParams {
        h: g.h as u32,
        w: g.w as u32,
        oh: g.oh as u32,
        ow: g.ow as u32,
        ..PoolParams::default()
    }
}

/// Records `max_pool2d` of `src` into `dst` (and the indices into `indices`).
pub(crate) fn max_pool2d(
    gpu: &GpuHandle,
    g: &Pool2dGeometry,
    (src, dst, indices): (Buf<'_>, Buf<'_>, Option<Buf<'_>>),
) -> Result<()> {
    let mut p = pool_params(g);
    let kernel = match (vec4_row(g), indices) {
        // 2 rows per invocation where their windows overlap
        (Some(row), None) => {
            let shared = g.dilation[0] == 1 && g.stride[0] < g.kernel[0];
            Kernel::vec4(OP_MAX, row, if shared { 2 } else { 1 })
        }
        _ => Kernel::scalar(OP_MAX),
    };
    if indices.is_some() {
        p.flags = FLAG_INDICES;
    }
    let band = Band::window(OP_MAX, g);
    launch(gpu, &kernel, &band, (src, dst, indices), p, g.n * g.c)
}

/// Records `avg_pool2d` of `src` into `dst`.
pub(crate) fn avg_pool2d(
    gpu: &GpuHandle,
    g: &Pool2dGeometry,
    (count_include_pad, divisor_override): (bool, Option<i64>),
    (src, dst): (Buf<'_>, Buf<'_>),
) -> Result<()> {
    let mut p = pool_params(g);
    if count_include_pad {
        p.flags |= FLAG_COUNT_PAD;
    }
    if let Some(d) = divisor_override {
        p.flags |= FLAG_DIVISOR;
        // an i32 (checked by the op layer), which the shader reads back as one
        p.divisor = d as i32 as u32;
    }
    // 4 outputs per invocation sharing loads: vec4 loads where rows allow, else stride
    // 1 along rows with narrow kernels
    let kernel = if let Some(row) = vec4_row(g) {
        // 4 rows per invocation at stride 1
        let stride1 = g.stride == [1, 1] && g.dilation[0] == 1;
        Kernel::vec4(OP_AVG, row, if stride1 { 4 } else { 1 })
    } else if g.stride[1] == 1 && g.kernel[1] <= 7 {
        Kernel {
            entry: "avg_pool2d4",
            constants: vec![("KW", g.kernel[1] as f64)],
            per: [4, 1],
            vec4: false,
        }
    } else {
        Kernel::scalar(OP_AVG)
    };
    let band = Band::window(OP_AVG, g);
    launch(gpu, &kernel, &band, (src, dst, None), p, g.n * g.c)
}

/// Records `adaptive_avg_pool2d` (`indices: None`) or `adaptive_max_pool2d`.
pub(crate) fn adaptive_pool2d(
    gpu: &GpuHandle,
    g: &AdaptiveGeometry,
    (src, dst, indices): (Buf<'_>, Buf<'_>, Option<Buf<'_>>),
) -> Result<()> {
    let mut p = adaptive_params(g);
    let op = if indices.is_some() {
        p.flags = FLAG_INDICES;
        OP_ADAPTIVE_MAX
    } else {
        OP_ADAPTIVE_AVG
    };
    let (h, oh) = (g.h, g.oh);
    let band = Band {
        op,
        // output row o covers [floor(o * h / oh), ceil((o + 1) * h / oh))
        reads: Box::new(move |first, end| (first * h / oh, (end * h).div_ceil(oh))),
    };
    launch(
        gpu,
        &Kernel::scalar(op),
        &band,
        (src, dst, indices),
        p,
        g.n * g.c,
    )
}

/// How a plane too large for one binding is pooled: in bands of output rows, each by
/// `pool2d` (one output per invocation) of `op` over the input rows `reads(first, end)`
/// (`[start, end)` of the plane) that output rows `[first, end)` read.
struct Band {
    op: u32,
    reads: Box<dyn Fn(usize, usize) -> (usize, usize)>,
}

impl Band {
    /// The bands of a windowed pooling `g`.
    fn window(op: u32, g: &Pool2dGeometry) -> Self {
        let (s, p, h) = (g.stride[0], g.padding[0], g.h);
        let span = (g.kernel[0] - 1) * g.dilation[0] + 1;
        Self {
            op,
            reads: Box::new(move |first, end| {
                let start = (first * s).saturating_sub(p).min(h - 1);
                let stop = ((end - 1) * s + span).saturating_sub(p).min(h);
                (start, stop.max(start + 1))
            }),
        }
    }
}

/// Records one pooling kernel over every plane, in chunks of planes that fit a
/// binding, or a plane at a time in bands of rows (`band`) where one plane does not.
/// `indices` is written when given (max pools).
fn launch(
    gpu: &GpuHandle,
    kernel: &Kernel,
    band: &Band,
    (src, dst, indices): (Buf<'_>, Buf<'_>, Option<Buf<'_>>),
    mut params: PoolParams,
    planes: usize,
) -> Result<()> {
    // u32 indices beside values of another form: windows of 4-byte elements of their own
    let index_gpu = gpu.in_form(Elem::F32);
    let room = match indices {
        Some(_) => gpu.band_room().min(index_gpu.band_room()),
        None => gpu.band_room(),
    };
    if u64::from(params.h) * u64::from(params.w) > room
        || u64::from(params.oh) * u64::from(params.ow) > room
    {
        return launch_bands(gpu, band, (src, dst, indices), params, planes);
    }
    let idx_buf = indices.unwrap_or(dst);
    let pipeline = gpu.pipeline(&kernel.spec())?;
    let (in_plane, out_plane) = (
        u64::from(params.h) * u64::from(params.w),
        u64::from(params.oh) * u64::from(params.ow),
    );
    let per = kernel.per;
    // runs short enough for the indices' window too
    let max_run = match indices {
        Some(_) => (index_gpu.band_room() / out_plane.max(1)).max(1) as usize,
        None => usize::MAX,
    };
    gpu.for_each_run(
        "pooling plane size (bytes)",
        planes,
        (in_plane, out_plane),
        max_run,
        |first, np, (x_off, x_size, x_shift), (y_off, y_size, y_shift)| {
            // (the output stands in, never written, where there are no indices)
            let (i_off, i_size, i_shift) = match indices {
                Some(_) => index_gpu.window(first as u64 * out_plane, np as u64 * out_plane),
                None => (y_off, y_size, y_shift),
            };
            let np = np as u64;
            let total = if per == [1, 1] {
                np * out_plane
            } else {
                np * u64::from(params.oh.div_ceil(per[1])) * u64::from(params.ow.div_ceil(per[0]))
            };
            params.total = super::u32_of(total, "pooling invocations")?;
            params.in_shift = x_shift;
            params.out_shift = y_shift;
            params.idx_shift = i_shift;
            let grid = gpu.grid(total.div_ceil(if per == [1, 1] { 256 } else { 64 }))?;
            if kernel.vec4 {
                // whole planes of whole rows: the input shift is a multiple of 4, and
                // so is the output's when the vec4 stores are used (ow % 4 == 0)
                let binds = [
                    Bind::at(1, dst, y_off, y_size),
                    Bind::at(4, src, x_off, x_size.div_ceil(16) * 16),
                    Bind::at(5, dst, y_off, y_size.div_ceil(16) * 16),
                ];
                return gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), grid);
            }
            let binds = [
                Bind::at(0, src, x_off, x_size),
                Bind::at(1, dst, y_off, y_size),
                Bind::at(2, idx_buf, i_off, i_size),
            ];
            gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), grid)
        },
    )
}

/// Records `band.op` over every plane, one plane at a time, in bands of output
/// rows whose input rows and outputs each fit a binding.
fn launch_bands(
    gpu: &GpuHandle,
    band: &Band,
    (src, dst, indices): (Buf<'_>, Buf<'_>, Option<Buf<'_>>),
    mut params: PoolParams,
    planes: usize,
) -> Result<()> {
    if indices.is_some() && gpu.elem() != Elem::F32 {
        // a band's window of u32 indices is not its window of f16 values
        return Err(Error::Unsupported(
            "f16 max pooling with indices over planes larger than a storage binding".into(),
        ));
    }
    let pipeline = gpu.pipeline(&Kernel::scalar(band.op).spec())?;
    let idx_buf = indices.unwrap_or(dst);
    let dims = [params.h, params.w, params.oh, params.ow].map(u64::from);
    gpu.for_each_plane_band(
        "pooling row size (bytes)",
        planes,
        ([dims[0], dims[1]], [dims[2], dims[3]]),
        |first, end| {
            let (start, stop) = (band.reads)(first, end);
            (start as u64, stop as u64)
        },
        |b| {
            let total = b.rows * dims[3];
            params.total = super::u32_of(total, "pooling invocations")?;
            params.in_shift = b.x.2;
            params.out_shift = b.y.2;
            params.idx_shift = b.y.2;
            params.row0 = b.first as u32;
            params.in_row0 = b.in_first as u32;
            let binds = [
                Bind::at(0, src, b.x.0, b.x.1),
                Bind::at(1, dst, b.y.0, b.y.1),
                Bind::at(2, idx_buf, b.y.0, b.y.1),
            ];
            let grid = gpu.grid(total.div_ceil(256))?;
            gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), grid)
        },
    )
}

/// The grid of an (8, 32, 1)-workgroup kernel over `np` planes of `oh x ow` outputs
/// (`np` within the per-dimension limit, which the callers' chunking ensures).
pub(crate) fn plane_grid(ow: u32, oh: u32, np: u64) -> [u32; 3] {
    [ow.div_ceil(8).max(1), oh.div_ceil(32).max(1), np as u32]
}
