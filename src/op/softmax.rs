//! softmax's semantics: `torch.softmax(x, dim)` over one dimension of a tensor of any
//! rank, seen as `[outer, len, inner]` around that dimension.

use super::copy::wrap_dim;
use crate::error::Result;

/// The dimension `torch.nn.functional.softmax` picks when `dim` is None
/// (`_get_softmax_dim`): 0 for ranks 0, 1 and 3, else 1.
pub fn implicit_dim(rank: usize) -> i64 {
    if matches!(rank, 0 | 1 | 3) { 0 } else { 1 }
}

/// A checked softmax call: the input seen as `[outer, len, inner]`, `len` along `dim`.
#[derive(Clone, Debug, PartialEq)]
pub struct SoftmaxGeometry {
    pub shape: Vec<usize>,
    pub outer: usize,
    pub len: usize,
    pub inner: usize,
}

impl SoftmaxGeometry {
    /// Checks `softmax(input, dim)` as PyTorch does.
    ///
    /// # Errors
    /// PyTorch's "Dimension out of range"; [`Error::Limit`] for a size past the u32 a
    /// kernel reads.
    pub fn new(input: &[usize], dim: i64) -> Result<Self> {
        let op = "softmax";
        let d = wrap_dim(op, dim, input.len())?;
        let product = |s: &[usize]| {
            s.iter()
                .try_fold(1u128, |n, &x| n.checked_mul(x as u128))
                .and_then(|n| i128::try_from(n).ok())
                .unwrap_or(i128::MAX)
        };
        let (outer, len, inner) = if input.is_empty() {
            (1, 1, 1)
        } else {
            (
                product(&input[..d]),
                input[d] as i128,
                product(&input[d + 1..]),
            )
        };
        Ok(Self {
            shape: input.to_vec(),
            outer: super::fit_u32(op, "elements", outer)?,
            len: super::fit_u32(op, "elements", len)?,
            inner: super::fit_u32(op, "elements", inner)?,
        })
    }

    /// The output's shape (the input's).
    pub fn output_shape(&self) -> Vec<usize> {
        self.shape.clone()
    }
}
