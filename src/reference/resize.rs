//! Reference resize: a gather (nearest) or a blend in f64 (linear) along the tap
//! tables of [`ResizeGeometry`], which carry ONNX's coordinate formulas.

use crate::op::resize::{ResizeGeometry, ResizeMode};

/// ONNX Resize of an NCHW batch over its last two dims.
pub fn resize(input: &[f32], g: &ResizeGeometry) -> Vec<f32> {
    let (rows, cols) = g.taps();
    let mut out = Vec::with_capacity(g.n * g.c * g.oh * g.ow);
    for p in 0..g.n * g.c {
        let x = |r: u32, c: u32| input[(p * g.h + r as usize) * g.w + c as usize];
        for r in &rows {
            for c in &cols {
                out.push(match g.params.mode {
                    ResizeMode::Nearest => x(r.i0, c.i0),
                    ResizeMode::Linear => {
                        let (ly, lx) = (f64::from(r.lambda), f64::from(c.lambda));
                        let v = |r, c| f64::from(x(r, c));
                        let top = (1.0 - lx) * v(r.i0, c.i0) + lx * v(r.i0, c.i1);
                        let bottom = (1.0 - lx) * v(r.i1, c.i0) + lx * v(r.i1, c.i1);
                        ((1.0 - ly) * top + ly * bottom) as f32
                    }
                });
            }
        }
    }
    out
}
