//! conv2d's semantics: `torch.nn.functional.conv2d`'s parameters (stride, padding
//! including `same`/`valid`, dilation, groups) and `nn.Conv2d`'s padding modes, checked
//! as PyTorch checks them, and the geometry every lowering and the reference read.

use crate::error::{Error, Result};

/// Padding of `conv2d`: explicit per axis, or PyTorch's `"same"` / `"valid"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// `[pad_h, pad_w]`, applied on both sides of each axis.
    Explicit([i64; 2]),
    /// Output size equals input size (stride 1 only); the total `dilation*(k-1)` is
    /// split as PyTorch splits it, the odd element going to the bottom/right.
    Same,
    /// No padding.
    Valid,
}

/// How padded cells are filled: `nn.Conv2d`'s `padding_mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PaddingMode {
    #[default]
    Zeros,
    Reflect,
    Replicate,
    Circular,
}

impl PaddingMode {
    /// Parses PyTorch's name (`zeros`, `reflect`, `replicate`, `circular`).
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for another name, in PyTorch's words.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "zeros" => Ok(Self::Zeros),
            "reflect" => Ok(Self::Reflect),
            "replicate" => Ok(Self::Replicate),
            "circular" => Ok(Self::Circular),
            other => Err(Error::param(
                "conv2d",
                format!(
                    "padding_mode must be one of ['zeros', 'reflect', 'replicate', 'circular'], but got padding_mode='{other}'"
                ),
            )),
        }
    }
}

/// Parameters of `conv2d`, named as in `torch.nn.functional.conv2d` (plus `nn.Conv2d`'s
/// `padding_mode`). Values are signed so that bad input gets PyTorch's error rather
/// than a wrap-around.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dParams {
    pub stride: [i64; 2],
    pub padding: Padding,
    pub dilation: [i64; 2],
    pub groups: i64,
    pub padding_mode: PaddingMode,
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Self {
            stride: [1, 1],
            padding: Padding::Explicit([0, 0]),
            dilation: [1, 1],
            groups: 1,
            padding_mode: PaddingMode::Zeros,
        }
    }
}

impl Conv2dParams {
    /// `stride=s` (one value for both axes).
    pub fn stride(mut self, s: i64) -> Self {
        self.stride = [s, s];
        self
    }
    /// `padding=p` (one value for both axes).
    pub fn padding(mut self, p: i64) -> Self {
        self.padding = Padding::Explicit([p, p]);
        self
    }
    /// `dilation=d` (one value for both axes).
    pub fn dilation(mut self, d: i64) -> Self {
        self.dilation = [d, d];
        self
    }
    /// `groups=g`.
    pub fn groups(mut self, g: i64) -> Self {
        self.groups = g;
        self
    }

    /// Checks the parameters, weight and bias as PyTorch does, without an input (what
    /// `nn.Conv2d` can check when it is built).
    ///
    /// # Errors
    /// [`Error::Shape`] or [`Error::InvalidParam`] with PyTorch's message.
    pub fn check_weight(&self, weight: &[usize], bias: Option<&[usize]>) -> Result<()> {
        let op = "conv2d";
        let &[c_out, _, kh, kw] = weight else {
            return Err(Error::shape(
                op,
                format!("expected a 4-D weight [c_out, c_in / groups, kh, kw], got {weight:?}"),
            ));
        };
        if self.stride.iter().any(|&s| s <= 0) {
            return Err(Error::param(op, "non-positive stride is not supported"));
        }
        if self.dilation.iter().any(|&d| d <= 0) {
            return Err(Error::param(
                op,
                format!(
                    "dilation should be greater than zero, but got {:?}",
                    self.dilation
                ),
            ));
        }
        if let Padding::Explicit(p) = self.padding
            && p.iter().any(|&v| v < 0)
        {
            return Err(Error::param(op, "negative padding is not supported"));
        }
        if self.groups <= 0 {
            return Err(Error::param(op, "non-positive groups is not supported"));
        }
        let groups = self.groups as usize;
        if c_out == 0 {
            return Err(Error::shape(
                op,
                format!(
                    "Given groups={groups}, expected weight to be at least 1 at dimension 0, but got weight of size {weight:?} instead"
                ),
            ));
        }
        if !c_out.is_multiple_of(groups) {
            return Err(Error::shape(
                op,
                format!(
                    "Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got weight of size [{weight:?}] instead"
                ),
            ));
        }
        if let Some(b) = bias
            && b != [c_out]
        {
            return Err(Error::shape(
                op,
                format!(
                    "Given weight of size {weight:?}, expected bias to be 1-dimensional with {c_out} elements, but got bias of size {b:?} instead"
                ),
            ));
        }
        if kh == 0 || kw == 0 {
            return Err(Error::shape(
                op,
                format!(
                    "kernel size should be greater than zero, but got kernel_height: {kh} kernel_width: {kw}"
                ),
            ));
        }
        Ok(())
    }

    /// Checks the call as PyTorch does and resolves its geometry.
    ///
    /// # Shapes
    /// `input [n, c_in, h, w]` (or unbatched `[c_in, h, w]`),
    /// `weight [c_out, c_in / groups, kh, kw]`, `bias [c_out]`.
    ///
    /// # Errors
    /// [`Error::Shape`] or [`Error::InvalidParam`] with PyTorch's message.
    pub fn geometry(
        &self,
        input: &[usize],
        weight: &[usize],
        bias: Option<&[usize]>,
    ) -> Result<Conv2dGeometry> {
        let op = "conv2d";
        let (unbatched, [n, c_in, h, w]) = match *input {
            [c, h, w] => (true, [1, c, h, w]),
            [n, c, h, w] => (false, [n, c, h, w]),
            _ => {
                return Err(Error::shape(
                    op,
                    format!(
                        "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: {input:?}"
                    ),
                ));
            }
        };
        let [c_out, cg, kh, kw] = match *weight {
            [a, b, c, d] => [a, b, c, d],
            _ => {
                return Err(Error::shape(
                    op,
                    format!(
                        "Expected {}-dimensional weight for {}-dimensional input {input:?}, but got {}-dimensional weight of size {weight:?} instead",
                        input.len(),
                        input.len(),
                        weight.len()
                    ),
                ));
            }
        };
        self.check_weight(weight, bias)?;
        let groups = self.groups as usize;
        if cg.checked_mul(groups) != Some(c_in) {
            return Err(Error::shape(
                op,
                format!(
                    "Given groups={groups}, weight of size {weight:?}, expected input{input:?} to have {} channels, but got {c_in} channels instead",
                    cg as u128 * groups as u128
                ),
            ));
        }
        let stride = self.stride.map(|s| s as usize);
        let dilation = self.dilation.map(|d| d as usize);
        // The sizes below are computed in u128, where no sum or product of two sizes
        // can wrap around (dilation and padding may be as large as i64::MAX).
        let wide = |v: usize| v as u128;
        let ext = [
            wide(dilation[0]) * wide(kh - 1),
            wide(dilation[1]) * wide(kw - 1),
        ];
        // pad = [top, bottom, left, right]
        let pad: [u128; 4] = match self.padding {
            Padding::Valid => [0; 4],
            Padding::Explicit([ph, pw]) => [ph, ph, pw, pw].map(|p| p as u128),
            Padding::Same => {
                if stride != [1, 1] {
                    return Err(Error::param(
                        op,
                        "padding='same' is not supported for strided convolutions",
                    ));
                }
                [
                    ext[0] / 2,
                    ext[0] - ext[0] / 2,
                    ext[1] / 2,
                    ext[1] - ext[1] / 2,
                ]
            }
        };
        let (h_, w_) = (wide(h), wide(w));
        match self.padding_mode {
            PaddingMode::Zeros | PaddingMode::Replicate => {}
            PaddingMode::Reflect => {
                for (dim, size, lo, hi) in [(3, w_, pad[2], pad[3]), (2, h_, pad[0], pad[1])] {
                    if lo >= size || hi >= size {
                        return Err(Error::param(
                            op,
                            format!(
                                "Argument #4: Padding size should be less than the corresponding input dimension, but got: padding ({lo}, {hi}) at dimension {dim} of input {input:?}"
                            ),
                        ));
                    }
                }
            }
            PaddingMode::Circular => {
                if pad[0] > h_ || pad[1] > h_ || pad[2] > w_ || pad[3] > w_ {
                    return Err(Error::param(
                        op,
                        "Padding value causes wrapping around more than once.",
                    ));
                }
            }
        }
        let padded = [h_ + pad[0] + pad[1], w_ + pad[2] + pad[3]];
        if padded[0] < ext[0] + 1 || padded[1] < ext[1] + 1 {
            return Err(Error::shape(
                op,
                format!(
                    "Calculated padded input size per channel: ({} x {}). Kernel size: ({} x {}). Kernel size can't be greater than actual input size",
                    padded[0],
                    padded[1],
                    ext[0] + 1,
                    ext[1] + 1
                ),
            ));
        }
        // every size of the geometry is at most the padded input's, a usize then
        if padded.iter().any(|&p| usize::try_from(p).is_err()) {
            return Err(Error::param(
                op,
                format!(
                    "Calculated padded input size per channel: ({} x {}) is too large",
                    padded[0], padded[1]
                ),
            ));
        }
        let size = |numerator: u128, stride: usize| (numerator / wide(stride) + 1) as usize;
        Ok(Conv2dGeometry {
            n,
            c_in,
            h,
            w,
            c_out,
            groups,
            cg,
            mg: c_out / groups,
            kh,
            kw,
            stride,
            dilation,
            pad: pad.map(|p| p as usize),
            oh: size(padded[0] - ext[0] - 1, stride[0]),
            ow: size(padded[1] - ext[1] - 1, stride[1]),
            mode: self.padding_mode,
            unbatched,
        })
    }

    /// The output shape for these inputs: `[n, c_out, oh, ow]` (or `[c_out, oh, ow]`
    /// unbatched), with `oh = floor((h + 2p - d*(kh-1) - 1) / s) + 1`.
    ///
    /// # Errors
    /// As [`Conv2dParams::geometry`].
    pub fn output_shape(&self, input: &[usize], weight: &[usize]) -> Result<Vec<usize>> {
        Ok(self.geometry(input, weight, None)?.output_shape())
    }
}

/// A checked conv2d call: every size the kernels and the reference need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeometry {
    pub n: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub groups: usize,
    /// Input channels per group.
    pub cg: usize,
    /// Output channels per group.
    pub mg: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    /// `[top, bottom, left, right]`.
    pub pad: [usize; 4],
    pub oh: usize,
    pub ow: usize,
    pub mode: PaddingMode,
    pub unbatched: bool,
}

impl Conv2dGeometry {
    /// `[n, c_out, oh, ow]`, or `[c_out, oh, ow]` for an unbatched input.
    pub fn output_shape(&self) -> Vec<usize> {
        if self.unbatched {
            vec![self.c_out, self.oh, self.ow]
        } else {
            vec![self.n, self.c_out, self.oh, self.ow]
        }
    }

    /// Multiply-adds of the whole call (saturating: a count past `u64::MAX` is
    /// `u64::MAX`).
    pub fn macs(&self) -> u64 {
        [self.n, self.c_out, self.oh, self.ow, self.cg, self.kh, self.kw]
            .iter()
            .fold(1u64, |acc, &d| acc.saturating_mul(d as u64))
    }

    /// A 1x1 kernel with stride 1 and no padding: the input is already the column
    /// matrix.
    pub fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == [1, 1] && self.pad == [0; 4]
    }
}
