//! Reference conv2d: the direct seven-loop convolution with f64 accumulation.

use crate::op::conv2d::{Conv2dGeometry, Epilogue, PaddingMode};

/// The source index of padded coordinate `i` on an axis of `size`, or `None` for a
/// zero, by `nn.Conv2d`'s padding mode.
pub fn source_coord(i: isize, size: usize, mode: PaddingMode) -> Option<usize> {
    let s = size as isize;
    let j = if (0..s).contains(&i) {
        i
    } else {
        match mode {
            PaddingMode::Zeros => return None,
            PaddingMode::Reflect if i < 0 => -i,
            PaddingMode::Reflect => 2 * (s - 1) - i,
            PaddingMode::Replicate => i.clamp(0, s - 1),
            PaddingMode::Circular if i < 0 => i + s,
            PaddingMode::Circular => i - s,
        }
    };
    Some(j as usize)
}

/// The padded coordinate `v - pad` of an unpadded `v`, both at most the padded input's
/// size; saturated to isize's range, which only a position far inside zero or
/// replicated padding can leave (reflected and circular padding are smaller than the
/// input).
fn padded_coord(v: usize, pad: usize) -> isize {
    (v as i128 - pad as i128).clamp(isize::MIN as i128, isize::MAX as i128) as isize
}

/// `relu(conv2d(input, weight, bias))` when `relu`, else the convolution, for a checked
/// geometry. Returns the NCHW output.
pub fn conv2d(
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    g: &Conv2dGeometry,
    relu: bool,
) -> Vec<f32> {
    conv2d_fused(input, weight, bias, None, g, Epilogue::relu(relu))
}

/// [`conv2d`] followed by its epilogue: the residual (the output's shape) added to each
/// output in f32, then the activation, as the separate ops compute them.
pub fn conv2d_fused(
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    residual: Option<&[f32]>,
    g: &Conv2dGeometry,
    epilogue: Epilogue,
) -> Vec<f32> {
    let mut out = vec![0.0f32; g.n * g.c_out * g.oh * g.ow];
    for n in 0..g.n {
        for co in 0..g.c_out {
            let group = co / g.mg;
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let mut acc = 0.0f64;
                    for ci in 0..g.cg {
                        let c = group * g.cg + ci;
                        for ky in 0..g.kh {
                            let iy = padded_coord(oy * g.stride[0] + ky * g.dilation[0], g.pad[0]);
                            let Some(iy) = source_coord(iy, g.h, g.mode) else {
                                continue;
                            };
                            for kx in 0..g.kw {
                                let ix =
                                    padded_coord(ox * g.stride[1] + kx * g.dilation[1], g.pad[2]);
                                let Some(ix) = source_coord(ix, g.w, g.mode) else {
                                    continue;
                                };
                                let x = input[((n * g.c_in + c) * g.h + iy) * g.w + ix];
                                let w = weight[((co * g.cg + ci) * g.kh + ky) * g.kw + kx];
                                acc += f64::from(x) * f64::from(w);
                            }
                        }
                    }
                    if let Some(b) = bias {
                        acc += f64::from(b[co]);
                    }
                    let at = ((n * g.c_out + co) * g.oh + oy) * g.ow + ox;
                    let mut v = acc as f32;
                    if let Some(r) = residual {
                        v += r[at];
                    }
                    if let Some(a) = epilogue.activation {
                        v = a.apply(v);
                    }
                    out[at] = v;
                }
            }
        }
    }
    out
}
