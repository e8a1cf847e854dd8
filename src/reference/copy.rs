//! Reference permute, slice and cat: plain index loops over the output (or each
//! input), apart from the strided description the GPU kernel runs, so that the two
//! check each other. Values are moved, never computed: results are bit-exact, for
//! any element type (the model planner folds integer shape tensors with them too).

use crate::op::copy::{CatGeometry, PermuteGeometry, SliceGeometry};

/// The multi-index of flat (row-major) position `flat` in `shape`.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        index[d] = flat % shape[d];
        flat /= shape[d];
    }
    index
}

/// The flat (row-major) position of `index` in a tensor of `shape`.
fn ravel(index: &[usize], shape: &[usize]) -> usize {
    index.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + i)
}

/// `input.permute(dims)`: output index `o` reads input index `i` with
/// `i[dims[k]] = o[k]`.
pub fn permute<T: Copy>(input: &[T], g: &PermuteGeometry) -> Vec<T> {
    let out = g.output_shape();
    let numel: usize = out.iter().product();
    (0..numel)
        .map(|flat| {
            let o = unravel(flat, &out);
            let mut i = vec![0; g.shape.len()];
            for (k, &d) in g.dims.iter().enumerate() {
                i[d] = o[k];
            }
            input[ravel(&i, &g.shape)]
        })
        .collect()
}

/// `input[.., start:end:step, ..]`: output index `o` reads `o` with
/// `start + o[dim] * step` along `dim`.
pub fn slice<T: Copy>(input: &[T], g: &SliceGeometry) -> Vec<T> {
    let out = g.output_shape();
    let numel: usize = out.iter().product();
    (0..numel)
        .map(|flat| {
            let mut i = unravel(flat, &out);
            let along = g.start as i128 + i[g.dim] as i128 * i128::from(g.step);
            i[g.dim] = along as usize;
            input[ravel(&i, &g.shape)]
        })
        .collect()
}

/// `torch.cat(inputs, dim)`: each input's elements at its offset along `dim`.
pub fn cat<T: Copy + Default>(inputs: &[&[T]], g: &CatGeometry) -> Vec<T> {
    let out = g.output_shape();
    let mut y = vec![T::default(); out.iter().product()];
    let mut at = 0;
    for (x, shape) in inputs.iter().zip(&g.shapes) {
        for (flat, &v) in x.iter().enumerate() {
            let mut i = unravel(flat, shape);
            i[g.dim] += at;
            y[ravel(&i, &out)] = v;
        }
        at += shape[g.dim];
    }
    y
}
