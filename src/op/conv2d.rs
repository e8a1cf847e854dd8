//! conv2d's semantics: `torch.nn.functional.conv2d`'s parameters (stride, padding
//! including `same`/`valid`, dilation, groups) and `nn.Conv2d`'s padding modes, checked
//! as PyTorch checks them, and the geometry every lowering and the reference read.

use crate::error::{Error, Result};

/// Padding of `conv2d`: explicit per axis, or PyTorch's `"same"` / `"valid"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// `[pad_h, pad_w]`, applied on both sides of each axis.
    Explicit([i64; 2]),
    /// `[top, bottom, left, right]`: each side its own (as `F.pad` then `conv2d`, or
    /// ONNX's `pads`).
    Sides([i64; 4]),
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
        let negative = match self.padding {
            Padding::Explicit(p) => p.iter().any(|&v| v < 0),
            Padding::Sides(p) => p.iter().any(|&v| v < 0),
            Padding::Same | Padding::Valid => false,
        };
        if negative {
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
        // PyTorch takes an empty batch or no channels, not an empty image
        if h == 0 || w == 0 {
            return Err(Error::shape(
                op,
                format!(
                    "Only zero batch or zero channel inputs are supported, but got input shape: {input:?}"
                ),
            ));
        }
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
        // positive (checked), and at most c_out, which it divides
        let groups = self.groups as usize;
        // i128 holds every sum and product below of i64 parameters and usize sizes, so
        // that no size wraps or overflows however large the request
        let wide = |v: usize| v as i128;
        let channels = wide(cg) * i128::from(self.groups);
        if wide(c_in) != channels {
            return Err(Error::shape(
                op,
                format!(
                    "Given groups={groups}, weight of size {weight:?}, expected input{input:?} to have {channels} channels, but got {c_in} channels instead"
                ),
            ));
        }
        let sides = match self.padding {
            Padding::Explicit(p) => p.to_vec(),
            Padding::Sides(p) => p.to_vec(),
            Padding::Same | Padding::Valid => Vec::new(),
        };
        {
            for (dim, &v) in sides.iter().enumerate() {
                if v > i64::MAX - v {
                    return Err(Error::param(
                        op,
                        format!(
                            "Given padding={v} at dimension {dim} , expected padding to be at most {}",
                            i64::MAX / 2
                        ),
                    ));
                }
            }
        }
        let stride = self.stride.map(i128::from);
        let dilation = self.dilation.map(i128::from);
        let ext = [dilation[0] * (wide(kh) - 1), dilation[1] * (wide(kw) - 1)];
        // pad = [top, bottom, left, right]
        let pad: [i128; 4] = match self.padding {
            Padding::Valid => [0; 4],
            Padding::Explicit([ph, pw]) => [ph, ph, pw, pw].map(i128::from),
            Padding::Sides(p) => p.map(i128::from),
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
        let (hw, ww) = (wide(h), wide(w));
        match self.padding_mode {
            PaddingMode::Zeros | PaddingMode::Replicate => {}
            PaddingMode::Reflect => {
                for (dim, size, lo, hi) in [(3, ww, pad[2], pad[3]), (2, hw, pad[0], pad[1])] {
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
                if pad[0] > hw || pad[1] > hw || pad[2] > ww || pad[3] > ww {
                    return Err(Error::param(
                        op,
                        "Padding value causes wrapping around more than once.",
                    ));
                }
            }
        }
        let padded = [hw + pad[0] + pad[1], ww + pad[2] + pad[3]];
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
        let out = [
            (padded[0] - ext[0] - 1) / stride[0] + 1,
            (padded[1] - ext[1] - 1) / stride[1] + 1,
        ];
        // every size and parameter the kernels read as u32, checked on every backend
        let fit = |what: &'static str, v: i128| super::fit_u32(op, what, v);
        let pair = |what: &'static str, v: [i128; 2]| -> Result<[usize; 2]> {
            Ok([fit(what, v[0])?, fit(what, v[1])?])
        };
        let [oh, ow] = pair("output size", out)?;
        let [top, bottom] = pair("padding", [pad[0], pad[1]])?;
        let [left, right] = pair("padding", [pad[2], pad[3]])?;
        Ok(Conv2dGeometry {
            n: fit("batch size", wide(n))?,
            c_in: fit("input channels", wide(c_in))?,
            h: fit("input height", hw)?,
            w: fit("input width", ww)?,
            c_out: fit("output channels", wide(c_out))?,
            groups,
            cg,
            mg: c_out / groups,
            kh: fit("kernel size", wide(kh))?,
            kw: fit("kernel size", wide(kw))?,
            stride: pair("stride", stride)?,
            dilation: pair("dilation", dilation)?,
            pad: [top, bottom, left, right],
            oh,
            ow,
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
        super::image_shape(self.unbatched, [self.n, self.c_out, self.oh, self.ow])
    }

    /// Multiply-adds of the whole call (`u64::MAX` past that).
    pub fn macs(&self) -> u64 {
        let product = [
            self.n, self.c_out, self.oh, self.ow, self.cg, self.kh, self.kw,
        ]
        .iter()
        .fold(1u128, |acc, &d| acc.saturating_mul(d as u128));
        u64::try_from(product).unwrap_or(u64::MAX)
    }

    /// A 1x1 kernel with stride 1 and no padding: the input is already the column
    /// matrix.
    pub fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == [1, 1] && self.pad == [0; 4]
    }
}

/// What a convolution's kernel does past its sum and bias, in the order the separate
/// ops would: add `residual` (a tensor of the output's shape, the call's fourth input),
/// then apply `activation`. Each step rounds as its op does, so a fused call gives the
/// unfused ops' numbers (bit for bit for relu and relu6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Epilogue {
    pub residual: bool,
    pub activation: Option<Activation>,
}

impl Epilogue {
    /// relu, or nothing.
    pub fn relu(on: bool) -> Self {
        Self {
            residual: false,
            activation: on.then_some(Activation::Relu),
        }
    }
}

/// An activation a convolution applies in its epilogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// `torch.relu`.
    Relu,
    /// `clamp(x, 0, 6)` (`nn.ReLU6`, ONNX `Clip(0, 6)`).
    Relu6,
    /// `F.hardswish`.
    HardSwish,
    /// `x * sigmoid(x)` (`F.silu`, ONNX `Mul(x, Sigmoid(x))`).
    Silu,
}

impl Activation {
    /// The activation on one value, as its elementwise op computes it.
    pub fn apply(self, v: f32) -> f32 {
        use crate::op::elementwise::{Binary, Unary};
        match self {
            Activation::Relu => Unary::Relu.apply(v),
            Activation::Relu6 => Unary::Clamp { min: 0.0, max: 6.0 }.apply(v),
            Activation::HardSwish => Unary::HardSwish.apply(v),
            Activation::Silu => Binary::Mul.apply(v, Unary::Sigmoid.apply(v)),
        }
    }
}
