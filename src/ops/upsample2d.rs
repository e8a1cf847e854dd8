//! interpolate: `torch.nn.functional.interpolate` in modes `nearest`, `nearest-exact`
//! and `bilinear` (`align_corners` false and true), with `size` or `scale_factor` and
//! `recompute_scale_factor`.
//!
//! The source index of every output row and column is computed here, on the host, with
//! PyTorch's own float arithmetic (the trap: with `scale_factor` given the step is
//! `1 / scale_factor`, not `in / out`), and handed to the shader as a small table; the
//! shader only gathers (nearest) or blends (bilinear), so nearest modes are bit-exact.

use crate::device::{Bind, DeviceKind, GpuHandle};
use crate::error::{Error, Result};
use crate::reference;
use crate::shaders::{Shader, Slot};
use crate::tensor::{Storage, Tensor};

/// `interpolate`'s `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterpolateMode {
    Nearest,
    NearestExact,
    Bilinear,
}

impl InterpolateMode {
    /// Parses PyTorch's name.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for a mode this build lacks.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "nearest" => Ok(Self::Nearest),
            "nearest-exact" => Ok(Self::NearestExact),
            "bilinear" => Ok(Self::Bilinear),
            other => Err(Error::Unsupported(format!("interpolate mode '{other}'"))),
        }
    }

    /// PyTorch's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Nearest => "nearest",
            Self::NearestExact => "nearest-exact",
            Self::Bilinear => "bilinear",
        }
    }
}

/// Parameters of `interpolate`, named as in `torch.nn.functional.interpolate`.
/// Exactly one of `size` and `scale_factor` must be given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InterpolateParams {
    pub size: Option<[i64; 2]>,
    pub scale_factor: Option<[f64; 2]>,
    pub mode: InterpolateMode,
    pub align_corners: Option<bool>,
    pub recompute_scale_factor: Option<bool>,
}

impl InterpolateParams {
    /// `size=[h, w]`.
    pub fn size(h: i64, w: i64, mode: InterpolateMode) -> Self {
        Self {
            size: Some([h, w]),
            scale_factor: None,
            mode,
            align_corners: None,
            recompute_scale_factor: None,
        }
    }

    /// `scale_factor=s` for both axes.
    pub fn scale(s: f64, mode: InterpolateMode) -> Self {
        Self {
            size: None,
            scale_factor: Some([s, s]),
            mode,
            align_corners: None,
            recompute_scale_factor: None,
        }
    }

    /// `align_corners=a`.
    pub fn align_corners(mut self, a: bool) -> Self {
        self.align_corners = Some(a);
        self
    }

    /// Checks the call as PyTorch does and resolves its geometry.
    ///
    /// # Errors
    /// PyTorch's errors, in its words.
    pub fn geometry(&self, input: &[usize]) -> Result<InterpolateGeometry> {
        let op = "interpolate";
        match (self.size.is_some(), self.scale_factor.is_some()) {
            (true, true) => {
                return Err(Error::param(
                    op,
                    "only one of size or scale_factor should be defined",
                ));
            }
            (false, false) => {
                return Err(Error::param(
                    op,
                    "either size or scale_factor should be defined",
                ));
            }
            _ => {}
        }
        if self.mode != InterpolateMode::Bilinear && self.align_corners.is_some() {
            return Err(Error::param(
                op,
                "align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear",
            ));
        }
        if self.size.is_some() && self.recompute_scale_factor == Some(true) {
            return Err(Error::param(
                op,
                "recompute_scale_factor is not meaningful with an explicit size.",
            ));
        }
        let [n, c, h, w] = match *input {
            [n, c, h, w] => [n, c, h, w],
            [n, c, l] if self.mode != InterpolateMode::Bilinear => [n, c, 1, l],
            [_, _, _] => {
                return Err(Error::shape(
                    op,
                    format!("Got 3D input, but {} mode needs 4D input", self.mode.name()),
                ));
            }
            _ => {
                return Err(Error::shape(
                    op,
                    format!(
                        "Input Error: Only 3D, 4D and 5D input Tensors supported (got {}D) for the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact (got {})",
                        input.len(),
                        self.mode.name()
                    ),
                ));
            }
        };
        let one_d = input.len() == 3;
        // For a 3-D input, PyTorch's 1-D interpolate: only the last axis is scaled.
        let (size, scale) = if one_d {
            (
                self.size.map(|s| [1, s[1]]),
                self.scale_factor.map(|s| [1.0, s[1]]),
            )
        } else {
            (self.size, self.scale_factor)
        };
        let (out, scales) = match (size, scale) {
            (Some(s), _) => (s, [None, None]),
            (None, Some(s)) if self.recompute_scale_factor == Some(true) => (
                [
                    (h as f64 * s[0]).floor() as i64,
                    (w as f64 * s[1]).floor() as i64,
                ],
                [None, None],
            ),
            (None, Some(s)) => (
                [(h as f64 * s[0]) as i64, (w as f64 * s[1]) as i64],
                if one_d {
                    [None, Some(s[1])]
                } else {
                    [Some(s[0]), Some(s[1])]
                },
            ),
            (None, None) => unreachable!("checked above"),
        };
        if out[0] <= 0 || out[1] <= 0 || h == 0 || w == 0 {
            let message = if one_d {
                format!(
                    "Input and output sizes should be greater than 0, but got input (W: {w}) output (W: {})",
                    out[1]
                )
            } else {
                format!(
                    "Input and output sizes should be greater than 0, but got input (H: {h}, W: {w}) output (H: {}, W: {})",
                    out[0], out[1]
                )
            };
            return Err(Error::shape(op, message));
        }
        Ok(InterpolateGeometry {
            n,
            c,
            h,
            w,
            oh: out[0] as usize,
            ow: out[1] as usize,
            scales,
            mode: self.mode,
            align_corners: self.align_corners.unwrap_or(false),
            one_d,
        })
    }
}

/// A checked interpolate call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InterpolateGeometry {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub oh: usize,
    pub ow: usize,
    /// The scale factors PyTorch's kernel receives (`None`: from the sizes).
    pub scales: [Option<f64>; 2],
    pub mode: InterpolateMode,
    pub align_corners: bool,
    /// A 3-D input (1-D interpolation along the last axis).
    pub one_d: bool,
}

impl InterpolateGeometry {
    /// `[n, c, oh, ow]`, or `[n, c, ow]` for a 3-D input.
    pub fn output_shape(&self) -> Vec<usize> {
        if self.one_d {
            vec![self.n, self.c, self.ow]
        } else {
            vec![self.n, self.c, self.oh, self.ow]
        }
    }

    /// Source indices of each output row and column for the nearest modes.
    pub fn nearest_maps(&self) -> (Vec<u32>, Vec<u32>) {
        let map = |input, output, scale| {
            (0..output)
                .map(|o| nearest_source(self.mode, o, input, output, scale) as u32)
                .collect()
        };
        (
            map(self.h, self.oh, self.scales[0]),
            map(self.w, self.ow, self.scales[1]),
        )
    }

    /// `(i0, i1, lambda0, lambda1)` of each output row and column for bilinear.
    pub fn linear_maps(&self) -> (Vec<LinearTap>, Vec<LinearTap>) {
        let map = |input, output, scale| {
            (0..output)
                .map(|o| linear_source(o, input, output, self.align_corners, scale))
                .collect()
        };
        (
            map(self.h, self.oh, self.scales[0]),
            map(self.w, self.ow, self.scales[1]),
        )
    }
}

/// PyTorch's `compute_scales_value<float>`: `1 / scale_factor` when one was given,
/// else `in / out`.
pub(crate) fn scale_value(scale: Option<f64>, input: usize, output: usize) -> f32 {
    match scale {
        Some(s) if s > 0.0 => (1.0 / s) as f32,
        _ => input as f32 / output as f32,
    }
}

/// PyTorch's nearest source index (its CPU kernel's `nearest_idx` and
/// `nearest_neighbor_exact_compute_source_index`, float arithmetic included).
pub fn nearest_source(
    mode: InterpolateMode,
    o: usize,
    input: usize,
    output: usize,
    scale: Option<f64>,
) -> usize {
    let s = scale_value(scale, input, output);
    match mode {
        InterpolateMode::NearestExact => (((o as f64 + 0.5) * f64::from(s)) as f32)
            .floor()
            .min((input - 1) as f32) as usize,
        _ if output == input => o,
        _ if output == 2 * input => o >> 1,
        _ => ((o as f32 * s).floor() as usize).min(input - 1),
    }
}

/// One bilinear tap along an axis: blend `lambda0 * x[i0] + lambda1 * x[i1]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearTap {
    pub i0: u32,
    pub i1: u32,
    pub lambda0: f32,
    pub lambda1: f32,
}

/// PyTorch's `area_pixel_compute_scale<float>`.
pub(crate) fn linear_scale(
    input: usize,
    output: usize,
    align_corners: bool,
    scale: Option<f64>,
) -> f32 {
    if align_corners {
        if output > 1 {
            (input - 1) as f32 / (output - 1) as f32
        } else {
            0.0
        }
    } else {
        scale_value(scale, input, output)
    }
}

/// PyTorch's `area_pixel_compute_source_index` and neighbours, in float.
pub fn linear_source(
    o: usize,
    input: usize,
    output: usize,
    align_corners: bool,
    scale: Option<f64>,
) -> LinearTap {
    let s = linear_scale(input, output, align_corners, scale);
    let src = if align_corners {
        s * o as f32
    } else {
        (s * (o as f32 + 0.5) - 0.5).max(0.0)
    };
    let i0 = (src.floor() as usize).min(input - 1);
    let lambda1 = (src - i0 as f32).clamp(0.0, 1.0);
    LinearTap {
        i0: i0 as u32,
        i1: (i0 + usize::from(i0 < input - 1)) as u32,
        lambda0: 1.0 - lambda1,
        lambda1,
    }
}

/// Mirror of `UpsampleParams` in shaders/upsample2d.wgsl; keep field order in sync.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct UpsampleParams {
    pub h: u32,
    pub w: u32,
    pub oh: u32,
    pub ow: u32,
    pub total: u32,
    pub in_shift: u32,
    pub out_shift: u32,
    pub flags: u32,
    pub scale_h: f32,
    pub scale_w: f32,
    pub kind_h: u32,
    pub kind_w: u32,
}

const LAYOUT: &[(u32, Slot)] = &[(0, Slot::Read), (2, Slot::ReadWrite), (3, Slot::Uniform)];
const LAYOUT4: &[(u32, Slot)] = &[(0, Slot::Read), (3, Slot::Uniform), (4, Slot::ReadWrite)];
const LAYOUT2X: &[(u32, Slot)] = &[(3, Slot::Uniform), (4, Slot::ReadWrite), (5, Slot::Read)];
const LAYOUT4R: &[(u32, Slot)] = &[
    (2, Slot::ReadWrite),
    (3, Slot::Uniform),
    (4, Slot::ReadWrite),
    (5, Slot::Read),
];

/// How the shader's nearest index runs on an axis: 0 the formula, 1 identity, 2 halving
/// (PyTorch's special cases), for mode nearest.
fn nearest_kind(mode: InterpolateMode, input: usize, output: usize) -> u32 {
    match mode {
        InterpolateMode::Nearest if output == input => 1,
        InterpolateMode::Nearest if output == 2 * input => 2,
        _ => 0,
    }
}

/// Resizes the spatial axes of an NCHW batch (or the last axis of an `[n, c, l]` one,
/// nearest modes).
///
/// Corresponds to `torch.nn.functional.interpolate` with mode `nearest`,
/// `nearest-exact` or `bilinear`.
///
/// # Shapes
/// `input [n, c, h, w]` → `[n, c, oh, ow]`.
///
/// # Errors
/// PyTorch's errors: both or neither of `size` and `scale_factor`, `align_corners` with
/// a nearest mode, a non-positive output size, a wrong rank.
pub fn interpolate(x: &Tensor, params: &InterpolateParams) -> Result<Tensor> {
    let g = params.geometry(x.shape())?;
    let mut out = Tensor::uninit(x.device(), &g.output_shape())?;
    match x.device().kind() {
        DeviceKind::Cpu => {
            if let Storage::Cpu(dst) = out.storage_mut() {
                *dst = reference::upsample2d::interpolate(x.cpu_data(), &g);
            }
        }
        DeviceKind::Gpu(gpu) => {
            let (Some(src), Some(dst)) = (x.gpu_buffer(), out.gpu_buffer()) else {
                return Ok(out);
            };
            let doubled = g.oh == 2 * g.h && g.ow == 2 * g.w && g.w.is_multiple_of(4);
            if doubled && g.mode == InterpolateMode::Nearest {
                return doubling(gpu, "nearest2x", src, dst, &g).map(|()| out);
            }
            if doubled
                && g.mode == InterpolateMode::Bilinear
                && !g.align_corners
                && linear_scale(g.h, g.oh, false, g.scales[0]) == 0.5
                && linear_scale(g.w, g.ow, false, g.scales[1]) == 0.5
            {
                return doubling(gpu, "bilinear2x", src, dst, &g).map(|()| out);
            }
            // bilinear4: every group of 4 neighbouring outputs reads at most 4 columns
            // (stored as a vec4 when rows are whole vec4s)
            let narrow = g.mode == InterpolateMode::Bilinear
                && (0..g.ow).step_by(4).all(|o| {
                    let first = linear_source(o, g.w, g.ow, g.align_corners, g.scales[1]);
                    let end = (o + 3).min(g.ow - 1);
                    let last = linear_source(end, g.w, g.ow, g.align_corners, g.scales[1]);
                    last.i1 - first.i0 < 4
                });
            // bilinear4r: and 2 output rows per invocation read within 3 source rows,
            // which come as vec4s
            let paired = narrow
                && g.w.is_multiple_of(4)
                && (0..g.oh).step_by(2).all(|o| {
                    let first = linear_source(o, g.h, g.oh, g.align_corners, g.scales[0]);
                    let end = (o + 1).min(g.oh - 1);
                    let last = linear_source(end, g.h, g.oh, g.align_corners, g.scales[0]);
                    last.i1 - first.i0 <= 2
                });
            let bilinear = match (narrow, g.ow.is_multiple_of(4)) {
                _ if paired => "bilinear4r",
                (true, true) => "bilinear4",
                (true, false) => "bilinear4s",
                _ => "bilinear",
            };
            let (entry, scales) = match g.mode {
                InterpolateMode::Bilinear => (
                    bilinear,
                    [
                        linear_scale(g.h, g.oh, g.align_corners, g.scales[0]),
                        linear_scale(g.w, g.ow, g.align_corners, g.scales[1]),
                    ],
                ),
                _ if g.ow % 4 == 0 => (
                    "nearest4",
                    [
                        scale_value(g.scales[0], g.h, g.oh),
                        scale_value(g.scales[1], g.w, g.ow),
                    ],
                ),
                _ => (
                    "nearest",
                    [
                        scale_value(g.scales[0], g.h, g.oh),
                        scale_value(g.scales[1], g.w, g.ow),
                    ],
                ),
            };
            let flags = u32::from(g.mode == InterpolateMode::NearestExact)
                | (u32::from(g.align_corners) << 1);
            let vec4 = entry.ends_with('4');
            let paired = entry == "bilinear4r";
            let grouped = vec4 || paired || entry == "bilinear4s";
            let layout = match () {
                _ if paired => LAYOUT4R,
                _ if vec4 => LAYOUT4,
                _ => LAYOUT,
            };
            let pipeline = gpu.pipeline(Shader::Upsample2d, entry, layout)?;
            let (in_plane, out_plane) = ((g.h * g.w) as u64, (g.oh * g.ow) as u64);
            let planes = g.n * g.c;
            gpu.for_each_run(
                "interpolate plane size (bytes)",
                planes,
                (in_plane, out_plane),
                gpu.max_groups_per_dim() as usize,
                |_, np, (x_off, x_size, x_shift), (y_off, y_size, y_shift)| {
                    let np = np as u64;
                    let params = UpsampleParams {
                        h: g.h as u32,
                        w: g.w as u32,
                        oh: g.oh as u32,
                        ow: g.ow as u32,
                        total: (np * out_plane) as u32,
                        in_shift: x_shift,
                        out_shift: y_shift,
                        flags,
                        scale_h: scales[0],
                        scale_w: scales[1],
                        kind_h: nearest_kind(g.mode, g.h, g.oh),
                        kind_w: nearest_kind(g.mode, g.w, g.ow),
                    };
                    // bilinear4r: src as vec4 (whole planes of whole rows, so the shift
                    // is a multiple of 4), dst as f32 and as vec4 (used when ow % 4 == 0)
                    let paired_binds = [
                        Bind::at(2, dst, y_off, y_size),
                        Bind::at(4, dst, y_off, y_size.div_ceil(16) * 16),
                        Bind::at(5, src, x_off, x_size.div_ceil(16) * 16),
                    ];
                    let binds = [
                        Bind::at(0, src, x_off, x_size),
                        Bind {
                            // nearest4 writes vec4s: the window rounded out to whole ones
                            binding: if vec4 { 4 } else { 2 },
                            buffer: dst,
                            offset: y_off,
                            size: if vec4 {
                                y_size.div_ceil(16) * 16
                            } else {
                                y_size
                            },
                        },
                    ];
                    let columns = if grouped {
                        params.ow.div_ceil(4)
                    } else {
                        params.ow
                    };
                    // nearest4 writes both copies of a doubled row, bilinear4r 2 rows
                    let rows = if entry == "nearest4" && params.kind_h == 2 {
                        params.oh / 2
                    } else if paired {
                        params.oh.div_ceil(2)
                    } else {
                        params.oh
                    };
                    let grid = crate::ops::pool2d::plane_grid(columns, rows, np);
                    let binds: &[Bind<'_>] = if paired { &paired_binds } else { &binds };
                    gpu.dispatch(&pipeline, binds, bytemuck::bytes_of(&params), grid)?;
                    Ok(())
                },
            )?;
        }
    }
    Ok(out)
}

/// Both axes doubled, rows of whole vec4s: `nearest2x` or `bilinear2x`, one invocation
/// per source vec4.
fn doubling(
    gpu: &GpuHandle,
    entry: &'static str,
    src: &wgpu::Buffer,
    dst: &wgpu::Buffer,
    g: &InterpolateGeometry,
) -> Result<()> {
    let pipeline = gpu.pipeline(Shader::Upsample2d, entry, LAYOUT2X)?;
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
                total: quads as u32,
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
