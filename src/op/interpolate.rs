//! interpolate's semantics: `torch.nn.functional.interpolate` in modes `nearest`,
//! `nearest-exact` and `bilinear` (`align_corners` false and true), with `size` or
//! `scale_factor` and `recompute_scale_factor`, and the source index of every output
//! row and column computed with PyTorch's own float arithmetic (the trap: with
//! `scale_factor` given the step is `1 / scale_factor`, not `in / out`), which the
//! reference and the kernels share, so nearest modes are bit-exact.

use crate::error::{Error, Result};

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
        // i128: a size of any i64, or a float product saturated (NaN as 0), never wraps
        let (out, scales): ([i128; 2], _) = match (size, scale) {
            (Some(s), _) => (s.map(i128::from), [None, None]),
            (None, Some(s)) if self.recompute_scale_factor == Some(true) => (
                [
                    (h as f64 * s[0]).floor() as i128,
                    (w as f64 * s[1]).floor() as i128,
                ],
                [None, None],
            ),
            (None, Some(s)) => (
                [(h as f64 * s[0]) as i128, (w as f64 * s[1]) as i128],
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
        // the sizes the kernels read as u32, checked on every backend
        let fit = |what: &'static str, v: usize| super::fit_u32(op, what, v as i128);
        Ok(InterpolateGeometry {
            n: fit("batch size", n)?,
            c: fit("channels", c)?,
            h: fit("input size", h)?,
            w: fit("input size", w)?,
            oh: super::fit_u32(op, "output size", out[0])?,
            ow: super::fit_u32(op, "output size", out[1])?,
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
            .min(input.saturating_sub(1) as f32) as usize,
        _ if output == input => o,
        _ if Some(output) == input.checked_mul(2) => o >> 1,
        _ => ((o as f32 * s).floor() as usize).min(input.saturating_sub(1)),
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
            input.saturating_sub(1) as f32 / (output - 1) as f32
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
    let last = input.saturating_sub(1);
    let i0 = (src.floor() as usize).min(last);
    let lambda1 = (src - i0 as f32).clamp(0.0, 1.0);
    LinearTap {
        i0: i0 as u32,
        i1: (i0 + usize::from(i0 < last)) as u32,
        lambda0: 1.0 - lambda1,
        lambda1,
    }
}
