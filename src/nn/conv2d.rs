//! `nn.Conv2d`: weight, optional bias and the call's parameters, padding mode included.

use crate::error::{Error, Result};
use crate::functional::conv2d_ext;
use crate::kernels::Conv2dOptions;
use crate::op::conv2d::Conv2dParams;
use crate::tensor::Tensor;

/// A 2-D convolution layer.
///
/// Corresponds to `torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride,
/// padding, dilation, groups, bias, padding_mode)`, with the weight and bias given.
#[derive(Debug)]
pub struct Conv2d {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub params: Conv2dParams,
}

impl Conv2d {
    /// A layer from its parameters.
    ///
    /// # Shapes
    /// `weight [out_channels, in_channels / groups, kh, kw]`, `bias [out_channels]`.
    ///
    /// # Errors
    /// [`Error::Shape`] for a weight that is not 4-D or a bias of the wrong length;
    /// [`Error::InvalidParam`] for bad parameters; [`Error::DeviceMismatch`].
    pub fn new(weight: Tensor, bias: Option<Tensor>, params: Conv2dParams) -> Result<Self> {
        if bias.as_ref().is_some_and(|b| b.device() != weight.device()) {
            return Err(Error::DeviceMismatch { op: "Conv2d" });
        }
        params.check_weight(weight.shape(), bias.as_ref().map(Tensor::shape))?;
        Ok(Self {
            weight,
            bias,
            params,
        })
    }

    /// `in_channels`.
    pub fn in_channels(&self) -> usize {
        self.weight.shape()[1] * self.params.groups as usize
    }

    /// `out_channels`.
    pub fn out_channels(&self) -> usize {
        self.weight.shape()[0]
    }

    /// `[kh, kw]`.
    pub fn kernel_size(&self) -> [usize; 2] {
        [self.weight.shape()[2], self.weight.shape()[3]]
    }

    /// The layer applied to `x [n, in_channels, h, w]` (or unbatched `[c, h, w]`).
    ///
    /// # Errors
    /// As [`crate::conv2d`].
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        conv2d_ext(
            x,
            &self.weight,
            self.bias.as_ref(),
            &self.params,
            &Conv2dOptions::default(),
        )
    }

    /// `relu(self.forward(x))` in one fused dispatch.
    ///
    /// # Errors
    /// As [`crate::conv2d`].
    pub fn forward_relu(&self, x: &Tensor) -> Result<Tensor> {
        let options = Conv2dOptions {
            relu: true,
            ..Conv2dOptions::default()
        };
        conv2d_ext(x, &self.weight, self.bias.as_ref(), &self.params, &options)
    }
}
