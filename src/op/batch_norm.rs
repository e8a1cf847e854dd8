//! batch_norm's semantics: `torch.nn.functional.batch_norm(.., training=False)`, the
//! running statistics and the optional affine parameters applied per channel (dim 1)
//! of an `[n, c, ...]` tensor.

use crate::error::{Error, Result};

/// A checked batch_norm call: the input seen as `[n, c, inner]`.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNormGeometry {
    pub shape: Vec<usize>,
    pub n: usize,
    pub c: usize,
    pub inner: usize,
}

impl BatchNormGeometry {
    /// Checks `batch_norm(input, running_mean, running_var, weight, bias)` as PyTorch
    /// does: each per-channel tensor must have `c` elements.
    ///
    /// # Errors
    /// PyTorch's errors in its words; [`Error::Limit`] for a size past the u32 a kernel
    /// reads.
    pub fn new(input: &[usize], per_channel: [(&str, Option<&[usize]>); 4]) -> Result<Self> {
        let op = "batch_norm";
        if input.len() < 2 {
            return Err(Error::param(
                op,
                format!(
                    "Dimension out of range (expected to be in range of [{}, {}], but got 1)",
                    -(input.len().max(1) as i64),
                    input.len().max(1) as i64 - 1
                ),
            ));
        }
        let c = input[1];
        for (name, shape) in per_channel {
            if let Some(s) = shape {
                let numel: usize = s.iter().product();
                if numel != c {
                    return Err(Error::shape(
                        op,
                        format!("{name} should contain {c} elements not {numel}"),
                    ));
                }
            }
        }
        let numel = input
            .iter()
            .try_fold(1u128, |n, &d| n.checked_mul(d as u128))
            .and_then(|n| i128::try_from(n).ok())
            .unwrap_or(i128::MAX);
        // the kernel indexes the whole input with a u32
        super::fit_u32(op, "elements", numel)?;
        Ok(Self {
            shape: input.to_vec(),
            n: input[0],
            c,
            inner: input[2..].iter().product(),
        })
    }

    /// The output's shape (the input's).
    pub fn output_shape(&self) -> Vec<usize> {
        self.shape.clone()
    }
}
