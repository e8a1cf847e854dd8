//! resize's semantics: ONNX `Resize` (opsets 11 to 21) over the last two dims of an
//! NCHW tensor, modes nearest and linear. The source coordinate of every output row
//! and column is computed here, in f32 in ONNX Runtime's order, into tables
//! ([`ResizeGeometry::taps`]) that the reference and the kernel both read, so nearest
//! modes are bit-exact across backends.

use crate::error::{Error, Result};

/// ONNX Resize's `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResizeMode {
    Nearest,
    /// Bilinear over the last two dims.
    Linear,
}

/// ONNX Resize's `coordinate_transformation_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordinateMode {
    HalfPixel,
    PytorchHalfPixel,
    AlignCorners,
    Asymmetric,
}

/// ONNX Resize's `nearest_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NearestMode {
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
}

/// Parameters of ONNX Resize over the last two dims of an NCHW tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResizeParams {
    pub mode: ResizeMode,
    pub coordinate: CoordinateMode,
    pub nearest: NearestMode,
    /// output [h, w]
    pub size: [usize; 2],
    /// the scale of each of h, w used by the coordinate transform (ONNX: the given scale, or out/in when sizes were given)
    pub scale: [f32; 2],
}

impl ResizeParams {
    /// Checks the call and resolves its geometry.
    ///
    /// # Errors
    /// [`Error::Shape`] for an input that is not 4-D or has an empty spatial dim under
    /// a non-empty output, or an empty output size; [`Error::InvalidParam`] for a scale
    /// that is not finite and positive; [`Error::Limit`] for a size past a u32.
    pub fn geometry(&self, input: &[usize]) -> Result<ResizeGeometry> {
        let op = "resize";
        let &[n, c, h, w] = input else {
            return Err(Error::shape(
                op,
                format!(
                    "expected a 4-D input [n, c, h, w], got {}-D {input:?}",
                    input.len()
                ),
            ));
        };
        let [oh, ow] = self.size;
        if oh == 0 || ow == 0 {
            return Err(Error::shape(
                op,
                format!("output sizes should be greater than 0, but got (H: {oh}, W: {ow})"),
            ));
        }
        if h == 0 || w == 0 {
            return Err(Error::shape(
                op,
                format!(
                    "Input and output sizes should be greater than 0, but got input (H: {h}, W: {w}) output (H: {oh}, W: {ow})"
                ),
            ));
        }
        if let Some(s) = self.scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(Error::param(
                op,
                format!("scales must be finite and greater than 0, but got {s}"),
            ));
        }
        let fit = |what: &'static str, v: usize| super::fit_u32(op, what, v as i128);
        Ok(ResizeGeometry {
            n: fit("batch size", n)?,
            c: fit("channels", c)?,
            h: fit("input size", h)?,
            w: fit("input size", w)?,
            oh: fit("output size", oh)?,
            ow: fit("output size", ow)?,
            params: *self,
        })
    }
}

/// A checked resize call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResizeGeometry {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub oh: usize,
    pub ow: usize,
    pub params: ResizeParams,
}

/// Where one output row or column reads: `(1 - lambda) * x[i0] + lambda * x[i1]`
/// (nearest: `x[i0]`, with `i1 == i0` and `lambda == 0`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResizeTap {
    pub i0: u32,
    pub i1: u32,
    pub lambda: f32,
}

impl ResizeGeometry {
    /// `[n, c, oh, ow]`.
    pub fn output_shape(&self) -> Vec<usize> {
        vec![self.n, self.c, self.oh, self.ow]
    }

    /// The taps of each output row, then of each output column.
    pub fn taps(&self) -> (Vec<ResizeTap>, Vec<ResizeTap>) {
        let p = &self.params;
        let axis = |input: usize, output: usize, scale: f32| -> Vec<ResizeTap> {
            (0..output)
                .map(|x| {
                    let v = source_coordinate(p.coordinate, x, input, output, scale);
                    match p.mode {
                        ResizeMode::Nearest => {
                            let i = nearest_index(p.nearest, v, input);
                            ResizeTap {
                                i0: i,
                                i1: i,
                                lambda: 0.0,
                            }
                        }
                        ResizeMode::Linear => linear_tap(v, input),
                    }
                })
                .collect()
        };
        (
            axis(self.h, self.oh, p.scale[0]),
            axis(self.w, self.ow, p.scale[1]),
        )
    }
}

/// The source coordinate of output `x` on an axis of `input` -> `output` elements, in
/// f32 in ONNX Runtime's order of operations.
pub fn source_coordinate(
    mode: CoordinateMode,
    x: usize,
    input: usize,
    output: usize,
    scale: f32,
) -> f32 {
    let xf = x as f32;
    match mode {
        CoordinateMode::HalfPixel => (xf + 0.5) / scale - 0.5,
        CoordinateMode::PytorchHalfPixel if output > 1 => (xf + 0.5) / scale - 0.5,
        CoordinateMode::PytorchHalfPixel => 0.0,
        CoordinateMode::AlignCorners if output > 1 => xf * (input - 1) as f32 / (output - 1) as f32,
        CoordinateMode::AlignCorners => 0.0,
        CoordinateMode::Asymmetric => xf / scale,
    }
}

/// The nearest source index of coordinate `v`: rounded by `mode`, then clamped to
/// `[0, input - 1]` (in f32, so the conversion never wraps).
pub fn nearest_index(mode: NearestMode, v: f32, input: usize) -> u32 {
    let r = match mode {
        NearestMode::RoundPreferFloor => (v - 0.5).ceil(),
        NearestMode::RoundPreferCeil => (v + 0.5).floor(),
        NearestMode::Floor => v.floor(),
        NearestMode::Ceil => v.ceil(),
    };
    r.clamp(0.0, (input - 1) as f32) as u32
}

/// The linear tap of coordinate `v`: clamped to `[0, input - 1]`, `i0` its floor,
/// `i1` the next index (or `i0` at the end), `lambda` the fraction.
pub fn linear_tap(v: f32, input: usize) -> ResizeTap {
    let last = (input - 1) as f32;
    let v = v.clamp(0.0, last);
    let i0 = v.floor();
    let i1 = (i0 + 1.0).min(last);
    ResizeTap {
        i0: i0 as u32,
        i1: i1 as u32,
        lambda: v - i0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_follow_onnx() {
        use CoordinateMode::*;
        assert_eq!(source_coordinate(HalfPixel, 0, 2, 4, 2.0), -0.25);
        assert_eq!(source_coordinate(PytorchHalfPixel, 0, 2, 1, 0.5), 0.0);
        assert_eq!(source_coordinate(AlignCorners, 3, 3, 5, 1.0), 1.5);
        assert_eq!(source_coordinate(Asymmetric, 3, 2, 4, 2.0), 1.5);
        assert_eq!(nearest_index(NearestMode::RoundPreferFloor, 1.5, 4), 1);
        assert_eq!(nearest_index(NearestMode::RoundPreferCeil, 1.5, 4), 2);
        assert_eq!(nearest_index(NearestMode::Floor, -0.25, 4), 0);
        assert_eq!(nearest_index(NearestMode::Ceil, 3.25, 4), 3);
        let t = linear_tap(2.75, 3);
        assert_eq!((t.i0, t.i1, t.lambda), (2, 2, 0.0));
        let t = linear_tap(0.25, 3);
        assert_eq!((t.i0, t.i1, t.lambda), (0, 1, 0.25));
    }
}
