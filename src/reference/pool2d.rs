//! Reference pooling: PyTorch's CPU loops, one output cell at a time.

use crate::op::pool2d::{AdaptiveGeometry, Pool2dGeometry};

/// The taps of output cell `o`'s max-pool window along an axis of `size`: the first at
/// or past 0 (PyTorch's `while (start < 0) start += dilation`, in one step) and the end
/// clipped to the input. In i128, where no start, extent or step can wrap around.
fn max_window(o: usize, size: usize, [stride, pad, kernel, dilation]: [usize; 4]) -> [i128; 2] {
    let d = dilation as i128;
    let mut start = o as i128 * stride as i128 - pad as i128;
    let end = (start + (kernel as i128 - 1) * d + 1).min(size as i128);
    if start < 0 {
        start += (-start + d - 1) / d * d;
    }
    [start, end]
}

/// `max_pool2d` with indices, NCHW. A value wins if it is NaN or greater than the best
/// so far; padded cells never take part.
pub fn max_pool2d(input: &[f32], g: &Pool2dGeometry) -> (Vec<f32>, Vec<i64>) {
    let planes = g.n * g.c;
    let mut out = Vec::with_capacity(planes * g.oh * g.ow);
    let mut idx = Vec::with_capacity(out.capacity());
    let axis = |a: usize| [g.stride[a], g.padding[a], g.kernel[a], g.dilation[a]];
    for p in 0..planes {
        let plane = &input[p * g.h * g.w..(p + 1) * g.h * g.w];
        for oy in 0..g.oh {
            let [y0, y1] = max_window(oy, g.h, axis(0));
            for ox in 0..g.ow {
                let [x0, x1] = max_window(ox, g.w, axis(1));
                let mut best = f32::NEG_INFINITY;
                // a window with no cell in the input gives its first tap's index
                let mut best_index = y0 * g.w as i128 + x0;
                if y0 < y1 && x0 < x1 {
                    let (ys, xs) = (y0 as usize..y1 as usize, x0 as usize..x1 as usize);
                    for y in ys.step_by(g.dilation[0]) {
                        for x in xs.clone().step_by(g.dilation[1]) {
                            let i = y * g.w + x;
                            let v = plane[i];
                            if v > best || v.is_nan() {
                                best = v;
                                best_index = i as i128;
                            }
                        }
                    }
                }
                out.push(best);
                idx.push(best_index.clamp(i64::MIN.into(), i64::MAX.into()) as i64);
            }
        }
    }
    (out, idx)
}

/// `avg_pool2d`, NCHW, summing in f64.
pub fn avg_pool2d(
    input: &[f32],
    g: &Pool2dGeometry,
    count_include_pad: bool,
    divisor_override: Option<i64>,
) -> Vec<f32> {
    let planes = g.n * g.c;
    // window bounds in i128, where kernels and paddings up to i64::MAX cannot wrap
    let (h, w) = (g.h as i128, g.w as i128);
    let [sh, sw, ph, pw, kh, kw] = [
        g.stride[0],
        g.stride[1],
        g.padding[0],
        g.padding[1],
        g.kernel[0],
        g.kernel[1],
    ]
    .map(|v| v as i128);
    let mut out = Vec::with_capacity(planes * g.oh * g.ow);
    for p in 0..planes {
        let plane = &input[p * g.h * g.w..(p + 1) * g.h * g.w];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let y0 = oy as i128 * sh - ph;
                let x0 = ox as i128 * sw - pw;
                // the window clipped to the padded input (ceil_mode's partial last
                // window), then to the input itself
                let y1 = (y0 + kh).min(h + ph);
                let x1 = (x0 + kw).min(w + pw);
                let padded_count = (y1 - y0) as f64 * (x1 - x0) as f64;
                let (y0, x0, y1, x1) = (y0.max(0), x0.max(0), y1.min(h), x1.min(w));
                if y0 >= y1 || x0 >= x1 {
                    out.push(0.0);
                    continue;
                }
                let [y0, x0, y1, x1] = [y0, x0, y1, x1].map(|v| v as usize);
                let mut sum = 0.0f64;
                for y in y0..y1 {
                    for x in x0..x1 {
                        sum += f64::from(plane[y * g.w + x]);
                    }
                }
                let divisor = match divisor_override {
                    Some(d) => d as f64,
                    None if count_include_pad => padded_count,
                    None => ((y1 - y0) * (x1 - x0)) as f64,
                };
                out.push((sum / divisor) as f32);
            }
        }
    }
    out
}

/// `[start, end)` of adaptive output cell `o` of `out` cells over `size` input cells
/// (empty when there are no output cells). Computed in u128, which holds every product.
pub fn adaptive_range(o: usize, size: usize, out: usize) -> (usize, usize) {
    if out == 0 {
        return (0, 0);
    }
    let (o, size, out) = (o as u128, size as u128, out as u128);
    let narrow = |v: u128| usize::try_from(v).unwrap_or(usize::MAX);
    (
        narrow(o * size / out),
        narrow(((o + 1) * size).div_ceil(out)),
    )
}

/// `adaptive_avg_pool2d`, NCHW, summing in f64.
pub fn adaptive_avg_pool2d(input: &[f32], g: &AdaptiveGeometry) -> Vec<f32> {
    let mut out = Vec::with_capacity(g.n * g.c * g.oh * g.ow);
    for p in 0..g.n * g.c {
        let plane = &input[p * g.h * g.w..(p + 1) * g.h * g.w];
        for oy in 0..g.oh {
            let (y0, y1) = adaptive_range(oy, g.h, g.oh);
            for ox in 0..g.ow {
                let (x0, x1) = adaptive_range(ox, g.w, g.ow);
                let sum: f64 = (y0..y1)
                    .flat_map(|y| (x0..x1).map(move |x| (y, x)))
                    .map(|(y, x)| f64::from(plane[y * g.w + x]))
                    .sum();
                out.push((sum / ((y1 - y0) * (x1 - x0)) as f64) as f32);
            }
        }
    }
    out
}

/// `adaptive_max_pool2d` with indices, NCHW.
pub fn adaptive_max_pool2d(input: &[f32], g: &AdaptiveGeometry) -> (Vec<f32>, Vec<i64>) {
    let mut out = Vec::with_capacity(g.n * g.c * g.oh * g.ow);
    let mut idx = Vec::with_capacity(out.capacity());
    for p in 0..g.n * g.c {
        let plane = &input[p * g.h * g.w..(p + 1) * g.h * g.w];
        for oy in 0..g.oh {
            let (y0, y1) = adaptive_range(oy, g.h, g.oh);
            for ox in 0..g.ow {
                let (x0, x1) = adaptive_range(ox, g.w, g.ow);
                let mut best = f32::NEG_INFINITY;
                let mut best_index = y0 * g.w + x0;
                for y in y0..y1 {
                    for x in x0..x1 {
                        let v = plane[y * g.w + x];
                        if v > best || v.is_nan() {
                            best = v;
                            best_index = y * g.w + x;
                        }
                    }
                }
                out.push(best);
                idx.push(best_index as i64);
            }
        }
    }
    (out, idx)
}
