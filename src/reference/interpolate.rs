//! Reference interpolate: a gather (nearest modes) or a blend in f64 (bilinear) along
//! the source tables of [`InterpolateGeometry`], which carry PyTorch's index formulas.

use crate::op::interpolate::{InterpolateGeometry, InterpolateMode};

/// `interpolate` of an NCHW batch.
pub fn interpolate(input: &[f32], g: &InterpolateGeometry) -> Vec<f32> {
    let planes = g.n * g.c;
    let mut out = Vec::with_capacity(planes * g.oh * g.ow);
    match g.mode {
        InterpolateMode::Bilinear => {
            let (rows, cols) = g.linear_maps();
            for p in 0..planes {
                let x =
                    |y: u32, c: u32| f64::from(input[(p * g.h + y as usize) * g.w + c as usize]);
                for r in &rows {
                    for c in &cols {
                        let (l0w, l1w) = (f64::from(c.lambda0), f64::from(c.lambda1));
                        let top = l0w * x(r.i0, c.i0) + l1w * x(r.i0, c.i1);
                        let bottom = l0w * x(r.i1, c.i0) + l1w * x(r.i1, c.i1);
                        out.push(
                            (f64::from(r.lambda0) * top + f64::from(r.lambda1) * bottom) as f32,
                        );
                    }
                }
            }
        }
        _ => {
            let (rows, cols) = g.nearest_maps();
            for p in 0..planes {
                for &r in &rows {
                    for &c in &cols {
                        out.push(input[(p * g.h + r as usize) * g.w + c as usize]);
                    }
                }
            }
        }
    }
    out
}
