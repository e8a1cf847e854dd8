//! The copy ops' semantics: `torch.permute`, slicing along one dimension with
//! numpy's (and ONNX Slice's) rules, and `torch.cat`, checked as PyTorch checks them.
//! Each resolves to [`StridedCopy`]s, the one description the GPU's strided-copy
//! kernel runs; the CPU reference computes the same results with plain index loops.

use crate::error::{Error, Result};

/// The highest rank the copy ops take (the strided-copy kernel's dimensions).
pub const MAX_RANK: usize = 6;

/// `dim` of a tensor of `rank` dimensions, negative counting from the end, in
/// PyTorch's words when out of range.
///
/// # Errors
/// [`Error::InvalidParam`]: `Dimension out of range (expected to be in range of [-r, r-1], but got d)`.
pub fn wrap_dim(op: &'static str, dim: i64, rank: usize) -> Result<usize> {
    // PyTorch wraps a scalar's dimension as if it had one
    let r = rank.max(1) as i128;
    let d = i128::from(dim);
    let wrapped = if d < 0 { d + r } else { d };
    if !(0..r).contains(&wrapped) {
        return Err(Error::param(
            op,
            format!(
                "Dimension out of range (expected to be in range of [{}, {}], but got {dim})",
                -r,
                r - 1
            ),
        ));
    }
    Ok(wrapped as usize)
}

/// A dimension given as `usize` (the public calls' type), as the `i64` PyTorch takes.
///
/// # Errors
/// [`Error::InvalidParam`] for a value past i64 (out of range for any tensor).
pub(crate) fn dim_of(op: &'static str, dim: usize) -> Result<i64> {
    i64::try_from(dim).map_err(|_| {
        Error::param(
            op,
            format!(
                "Dimension out of range (expected a dimension of at most {MAX_RANK}, but got {dim})"
            ),
        )
    })
}

/// The rank of a tensor a copy op reads, when the kernel takes it.
fn check_rank(op: &'static str, shape: &[usize]) -> Result<()> {
    if shape.len() > MAX_RANK {
        return Err(Error::limit(
            op,
            "tensor rank",
            shape.len() as u64,
            MAX_RANK as u64,
        ));
    }
    Ok(())
}

/// Row-major (contiguous) strides of `shape`, in elements.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    strides
}

/// The `dims` of `torch.permute(input, dims)`, as given (negative counting from the
/// end), at most [`MAX_RANK`] of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permutation {
    dims: [i64; MAX_RANK],
    len: usize,
}

impl Permutation {
    /// The permutation `dims` (checked against an input by [`Permutation::geometry`]).
    ///
    /// # Errors
    /// [`Error::Limit`] for more than [`MAX_RANK`] dimensions.
    pub fn new(dims: &[i64]) -> Result<Self> {
        if dims.len() > MAX_RANK {
            return Err(Error::limit(
                "permute",
                "tensor rank",
                dims.len() as u64,
                MAX_RANK as u64,
            ));
        }
        let mut all = [0; MAX_RANK];
        all[..dims.len()].copy_from_slice(dims);
        Ok(Self {
            dims: all,
            len: dims.len(),
        })
    }

    /// The dimensions as given.
    pub fn dims(&self) -> &[i64] {
        &self.dims[..self.len]
    }

    /// Checks the permutation on an input of `shape` as PyTorch does.
    ///
    /// # Errors
    /// PyTorch's errors: a length other than the input's rank, a dimension out of
    /// range, a repeated dimension; [`Error::Limit`] past rank [`MAX_RANK`].
    pub fn geometry(&self, shape: &[usize]) -> Result<PermuteGeometry> {
        let op = "permute";
        check_rank(op, shape)?;
        if self.len != shape.len() {
            return Err(Error::shape(
                op,
                format!(
                    "number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = {} is not equal to len(dims) = {}",
                    shape.len(),
                    self.len
                ),
            ));
        }
        let mut dims = Vec::with_capacity(self.len);
        for &d in self.dims() {
            let d = wrap_dim(op, d, shape.len())?;
            if dims.contains(&d) {
                return Err(Error::param(
                    op,
                    "permute(): duplicate dims are not allowed.",
                ));
            }
            dims.push(d);
        }
        Ok(PermuteGeometry {
            shape: shape.to_vec(),
            dims,
        })
    }
}

/// A checked permute: output dimension `i` is input dimension `dims[i]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermuteGeometry {
    /// The input's shape.
    pub shape: Vec<usize>,
    pub dims: Vec<usize>,
}

impl PermuteGeometry {
    /// `[shape[dims[0]], shape[dims[1]], ..]`.
    pub fn output_shape(&self) -> Vec<usize> {
        self.dims.iter().map(|&d| self.shape[d]).collect()
    }

    /// The copy: over the output's indices, the input read with its strides permuted.
    pub fn copy(&self) -> StridedCopy {
        let out = self.output_shape();
        let src = contiguous_strides(&self.shape);
        StridedCopy {
            input: 0,
            src_offset: 0,
            src_strides: self.dims.iter().map(|&d| src[d] as i64).collect(),
            dst_offset: 0,
            dst_strides: contiguous_strides(&out).iter().map(|&s| s as i64).collect(),
            shape: out,
        }
    }
}

/// `x[.., start:end:step, ..]` along `dim`, with numpy's slicing rules (ONNX Slice's):
/// negative `start`/`end` count from the end, out-of-range values are clamped, and a
/// negative `step` walks backwards from `start` (inclusive) to `end` (exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SliceParams {
    /// The dimension, negative counting from the end.
    pub dim: i64,
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

impl SliceParams {
    /// Checks the slice on an input of `shape` and resolves its indices.
    ///
    /// # Errors
    /// `slice step cannot be zero`; PyTorch's error for a dimension out of range or a
    /// 0-dim input; [`Error::Limit`] past rank [`MAX_RANK`].
    pub fn geometry(&self, shape: &[usize]) -> Result<SliceGeometry> {
        let op = "slice";
        check_rank(op, shape)?;
        if shape.is_empty() {
            return Err(Error::shape(
                op,
                "slice() cannot be applied to a 0-dim tensor.",
            ));
        }
        if self.step == 0 {
            return Err(Error::param(op, "slice step cannot be zero"));
        }
        let dim = wrap_dim(op, self.dim, shape.len())?;
        // Python's slice.indices, in i128 so that no sum overflows
        let n = shape[dim] as i128;
        let (start, end, step) = (
            i128::from(self.start),
            i128::from(self.end),
            i128::from(self.step),
        );
        let (lower, upper) = if step < 0 { (-1, n - 1) } else { (0, n) };
        let clamp = |v: i128| {
            let v = if v < 0 { v + n } else { v };
            v.clamp(lower, upper)
        };
        let (start, end) = (clamp(start), clamp(end));
        let len = if step > 0 {
            if end > start {
                (end - start + step - 1) / step
            } else {
                0
            }
        } else if start > end {
            (start - end - step - 1) / -step
        } else {
            0
        };
        // start is within [-1, n]: a valid index whenever len > 0
        Ok(SliceGeometry {
            shape: shape.to_vec(),
            dim,
            start: start.max(0) as usize,
            step: self.step,
            len: len as usize,
        })
    }
}

/// A checked slice: output index `i` along `dim` reads input index `start + i * step`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SliceGeometry {
    /// The input's shape.
    pub shape: Vec<usize>,
    pub dim: usize,
    /// The first index read (meaningful when `len > 0`).
    pub start: usize,
    pub step: i64,
    /// Elements along `dim` in the output.
    pub len: usize,
}

impl SliceGeometry {
    /// The input's shape with `len` along `dim`.
    pub fn output_shape(&self) -> Vec<usize> {
        let mut out = self.shape.clone();
        out[self.dim] = self.len;
        out
    }

    /// The copy: over the output's indices, the input from `start` with `step` times
    /// its stride along `dim` (negative for a negative step).
    pub fn copy(&self) -> StridedCopy {
        let out = self.output_shape();
        let src = contiguous_strides(&self.shape);
        let mut src_strides: Vec<i64> = src.iter().map(|&s| s as i64).collect();
        // a step is only taken between two elements (len >= 2), so then |step| < n and
        // the product is within the input; a single element takes none
        src_strides[self.dim] = if self.len > 1 {
            self.step * src[self.dim] as i64
        } else {
            0
        };
        StridedCopy {
            input: 0,
            src_offset: self.start * src[self.dim],
            src_strides,
            dst_offset: 0,
            dst_strides: contiguous_strides(&out).iter().map(|&s| s as i64).collect(),
            shape: out,
        }
    }
}

/// Checks `torch.cat(tensors, dim)` on the inputs' shapes as PyTorch does.
///
/// # Errors
/// PyTorch's errors: no tensors, a 0-dim tensor, ranks or sizes that differ, a
/// dimension out of range; [`Error::Limit`] past rank [`MAX_RANK`] or a size past
/// `usize`.
pub fn cat_geometry(shapes: &[&[usize]], dim: i64) -> Result<CatGeometry> {
    let op = "cat";
    let Some(first) = shapes.first() else {
        return Err(Error::shape(
            op,
            "torch.cat(): expected a non-empty list of Tensors",
        ));
    };
    if let Some(i) = shapes.iter().position(|s| s.is_empty()) {
        return Err(Error::shape(
            op,
            format!("zero-dimensional tensor (at position {i}) cannot be concatenated"),
        ));
    }
    check_rank(op, first)?;
    let dim = wrap_dim(op, dim, first.len())?;
    let mut total = 0usize;
    for (i, s) in shapes.iter().enumerate() {
        if s.len() != first.len() {
            return Err(Error::shape(
                op,
                format!(
                    "Tensors must have same number of dimensions: got {} and {}",
                    first.len(),
                    s.len()
                ),
            ));
        }
        if let Some(d) = (0..s.len()).find(|&d| d != dim && s[d] != first[d]) {
            return Err(Error::shape(
                op,
                format!(
                    "Sizes of tensors must match except in dimension {dim}. Expected size {} but got size {} for tensor number {i} in the list.",
                    first[d], s[d]
                ),
            ));
        }
        total = total
            .checked_add(s[dim])
            .ok_or_else(|| Error::limit(op, "output size", u64::MAX, usize::MAX as u64))?;
    }
    Ok(CatGeometry {
        shapes: shapes.iter().map(|s| s.to_vec()).collect(),
        dim,
        total,
    })
}

/// A checked cat: the inputs' shapes and the dimension they are joined along.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatGeometry {
    pub shapes: Vec<Vec<usize>>,
    pub dim: usize,
    /// The output's size along `dim`.
    pub total: usize,
}

impl CatGeometry {
    /// The first input's shape with `total` along `dim`.
    pub fn output_shape(&self) -> Vec<usize> {
        let mut out = self.shapes[0].clone();
        out[self.dim] = self.total;
        out
    }

    /// One copy per input: its elements, contiguous, into its region of the output
    /// (the output's strides, from its first index along `dim`).
    pub fn copies(&self) -> Vec<StridedCopy> {
        let dst = contiguous_strides(&self.output_shape());
        let dst_strides: Vec<i64> = dst.iter().map(|&s| s as i64).collect();
        let mut at = 0;
        self.shapes
            .iter()
            .enumerate()
            .map(|(input, s)| {
                let copy = StridedCopy {
                    input,
                    src_offset: 0,
                    src_strides: contiguous_strides(s).iter().map(|&v| v as i64).collect(),
                    dst_offset: at * dst[self.dim],
                    dst_strides: dst_strides.clone(),
                    shape: s.clone(),
                };
                at += s[self.dim];
                copy
            })
            .collect()
    }
}

/// A copy between two buffers: for every index `i` of `shape`,
/// `dst[dst_offset + Σ i_k dst_strides_k] = src[src_offset + Σ i_k src_strides_k]`,
/// where `src` is input number `input` of the call. Strides are in elements and may be
/// negative (a slice walking backwards).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StridedCopy {
    pub input: usize,
    pub shape: Vec<usize>,
    pub src_offset: usize,
    pub src_strides: Vec<i64>,
    pub dst_offset: usize,
    pub dst_strides: Vec<i64>,
}

impl StridedCopy {
    /// Elements copied.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}
