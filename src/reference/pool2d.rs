//! Reference pooling: PyTorch's CPU loops, one output cell at a time.

use crate::op::pool2d::{AdaptiveGeometry, Pool2dGeometry};

/// `max_pool2d` with indices, NCHW. A value wins if it is NaN or greater than the best
/// so far; padded cells never take part.
pub fn max_pool2d(input: &[f32], g: &Pool2dGeometry) -> (Vec<f32>, Vec<i64>) {
    let planes = g.n * g.c;
    let mut out = Vec::with_capacity(planes * g.oh * g.ow);
    let mut idx = Vec::with_capacity(out.capacity());
    let [dh, dw] = g.dilation.map(|d| d as isize);
    for p in 0..planes {
        let plane = &input[p * g.h * g.w..(p + 1) * g.h * g.w];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let mut y0 = (oy * g.stride[0]) as isize - g.padding[0] as isize;
                let mut x0 = (ox * g.stride[1]) as isize - g.padding[1] as isize;
                let y1 = (y0 + (g.kernel[0] as isize - 1) * dh + 1).min(g.h as isize);
                let x1 = (x0 + (g.kernel[1] as isize - 1) * dw + 1).min(g.w as isize);
                while y0 < 0 {
                    y0 += dh;
                }
                while x0 < 0 {
                    x0 += dw;
                }
                let mut best = f32::NEG_INFINITY;
                let mut best_index = y0 * g.w as isize + x0;
                for y in (y0..y1).step_by(dh as usize) {
                    for x in (x0..x1).step_by(dw as usize) {
                        let i = y * g.w as isize + x;
                        let v = plane[i as usize];
                        if v > best || v.is_nan() {
                            best = v;
                            best_index = i;
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

/// `avg_pool2d`, NCHW, summing in f64.
pub fn avg_pool2d(
    input: &[f32],
    g: &Pool2dGeometry,
    count_include_pad: bool,
    divisor_override: Option<i64>,
) -> Vec<f32> {
    let planes = g.n * g.c;
    let (h, w) = (g.h as isize, g.w as isize);
    let mut out = Vec::with_capacity(planes * g.oh * g.ow);
    for p in 0..planes {
        let plane = &input[p * g.h * g.w..(p + 1) * g.h * g.w];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let y0 = (oy * g.stride[0]) as isize - g.padding[0] as isize;
                let x0 = (ox * g.stride[1]) as isize - g.padding[1] as isize;
                // the window clipped to the padded input (ceil_mode's partial last
                // window), then to the input itself
                let y1 = (y0 + g.kernel[0] as isize).min(h + g.padding[0] as isize);
                let x1 = (x0 + g.kernel[1] as isize).min(w + g.padding[1] as isize);
                let padded_count = (y1 - y0) * (x1 - x0);
                let (y0, x0, y1, x1) = (y0.max(0), x0.max(0), y1.min(h), x1.min(w));
                if y0 >= y1 || x0 >= x1 {
                    out.push(0.0);
                    continue;
                }
                let mut sum = 0.0f64;
                for y in y0..y1 {
                    for x in x0..x1 {
                        sum += f64::from(plane[(y * w + x) as usize]);
                    }
                }
                let divisor = match divisor_override {
                    Some(d) => d as f64,
                    None if count_include_pad => padded_count as f64,
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
