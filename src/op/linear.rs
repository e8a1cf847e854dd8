//! The semantics of `linear` and `matmul`: their shape checks, in PyTorch's words.

use crate::error::{Error, Result};

/// `[n, k, m]` of `linear(input [n, k], weight [m, k], bias [m])`.
///
/// # Errors
/// [`Error::Shape`] with PyTorch's message when the shapes disagree.
pub fn linear_dims(
    input: &[usize],
    weight: &[usize],
    bias: Option<&[usize]>,
) -> Result<[usize; 3]> {
    let op = "linear";
    let &[n, k] = input else {
        return Err(Error::shape(
            op,
            format!("expected a 2-D input [n, in_features], got {input:?}"),
        ));
    };
    let &[m, k2] = weight else {
        return Err(Error::shape(
            op,
            format!("expected a 2-D weight [out_features, in_features], got {weight:?}"),
        ));
    };
    if k != k2 {
        return Err(Error::shape(
            op,
            format!("mat1 and mat2 shapes cannot be multiplied ({n}x{k} and {k2}x{m})"),
        ));
    }
    if let Some(b) = bias
        && b != [m]
    {
        return Err(Error::shape(
            op,
            format!(
                "The size of tensor a ({}) must match the size of tensor b ({m}) at non-singleton dimension 1",
                b.iter().product::<usize>()
            ),
        ));
    }
    Ok([n, k, m])
}

/// `[m, k, n]` of `matmul(a [m, k], b [k, n])`.
///
/// # Errors
/// [`Error::Shape`] with PyTorch's message when the shapes disagree.
pub fn matmul_dims(a: &[usize], b: &[usize]) -> Result<[usize; 3]> {
    let (&[m, k], &[k2, n]) = (a, b) else {
        return Err(Error::shape(
            "matmul",
            format!(
                "both arguments to matmul need to be 2D, but they are {}D and {}D",
                a.len(),
                b.len()
            ),
        ));
    };
    if k != k2 {
        return Err(Error::shape(
            "matmul",
            format!("mat1 and mat2 shapes cannot be multiplied ({m}x{k} and {k2}x{n})"),
        ));
    }
    Ok([m, k, n])
}
