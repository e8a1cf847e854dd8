//! Reference conv_transpose2d: the scatter form (each input element times each tap of
//! its group's filters, added at `i * stride - padding + k * dilation`) with f64
//! accumulation.

use crate::op::conv_transpose2d::ConvTranspose2dGeometry;

/// `conv_transpose2d(input, weight, bias)` for a checked geometry: the NCHW output.
/// `weight` is `[c_in, mg, kh, kw]`.
pub fn conv_transpose2d(
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    g: &ConvTranspose2dGeometry,
) -> Vec<f32> {
    let mut acc = vec![0.0f64; g.n * g.c_out * g.oh * g.ow];
    for n in 0..g.n {
        for ci in 0..g.c_in {
            let group = ci / g.cg;
            for iy in 0..g.h {
                for ix in 0..g.w {
                    let x = f64::from(input[((n * g.c_in + ci) * g.h + iy) * g.w + ix]);
                    for m in 0..g.mg {
                        let co = group * g.mg + m;
                        for ky in 0..g.kh {
                            // the full output's row, less the padding cut from its top
                            let oy = (iy * g.stride[0] + ky * g.dilation[0]) as i128
                                - g.padding[0] as i128;
                            if oy < 0 || oy >= g.oh as i128 {
                                continue;
                            }
                            for kx in 0..g.kw {
                                let ox = (ix * g.stride[1] + kx * g.dilation[1]) as i128
                                    - g.padding[1] as i128;
                                if ox < 0 || ox >= g.ow as i128 {
                                    continue;
                                }
                                let w = weight[((ci * g.mg + m) * g.kh + ky) * g.kw + kx];
                                let o =
                                    ((n * g.c_out + co) * g.oh + oy as usize) * g.ow + ox as usize;
                                acc[o] += x * f64::from(w);
                            }
                        }
                    }
                }
            }
        }
    }
    let plane = g.oh * g.ow;
    acc.iter()
        .enumerate()
        .map(|(i, &v)| {
            let co = i / plane % g.c_out.max(1);
            let b = bias.map_or(0.0, |b| f64::from(b[co]));
            (v + b) as f32
        })
        .collect()
}
