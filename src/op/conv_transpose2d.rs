//! conv_transpose2d's semantics: `torch.nn.functional.conv_transpose2d`'s parameters
//! (stride, padding, output_padding, groups, dilation), checked as PyTorch checks them,
//! and the geometry the reference and the kernel read.

use crate::error::{Error, Result};

/// Parameters of `conv_transpose2d`, named as in
/// `torch.nn.functional.conv_transpose2d`. Values are signed so that bad input gets
/// PyTorch's error rather than a wrap-around. The default is PyTorch's: stride 1,
/// padding 0, output_padding 0, groups 1, dilation 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConvTranspose2dParams {
    pub stride: [i64; 2],
    pub padding: [i64; 2],
    pub output_padding: [i64; 2],
    pub groups: i64,
    pub dilation: [i64; 2],
}

impl Default for ConvTranspose2dParams {
    fn default() -> Self {
        Self {
            stride: [1, 1],
            padding: [0, 0],
            output_padding: [0, 0],
            groups: 1,
            dilation: [1, 1],
        }
    }
}

impl ConvTranspose2dParams {
    /// `stride=s` (one value for both axes).
    pub fn stride(mut self, s: i64) -> Self {
        self.stride = [s, s];
        self
    }
    /// `padding=p` (one value for both axes).
    pub fn padding(mut self, p: i64) -> Self {
        self.padding = [p, p];
        self
    }
    /// `output_padding=p` (one value for both axes).
    pub fn output_padding(mut self, p: i64) -> Self {
        self.output_padding = [p, p];
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

    /// Checks the call as PyTorch does and resolves its geometry.
    ///
    /// # Shapes
    /// `input [n, c_in, h, w]` (or unbatched `[c_in, h, w]`),
    /// `weight [c_in, c_out / groups, kh, kw]`, `bias [c_out]`.
    ///
    /// # Errors
    /// [`Error::Shape`] or [`Error::InvalidParam`] with PyTorch's message;
    /// [`Error::Limit`] for a size past the u32 a kernel reads.
    pub fn geometry(
        &self,
        input: &[usize],
        weight: &[usize],
        bias: Option<&[usize]>,
    ) -> Result<ConvTranspose2dGeometry> {
        let op = "conv_transpose2d";
        let (unbatched, [n, c_in, h, w]) = match *input {
            [c, h, w] => (true, [1, c, h, w]),
            [n, c, h, w] => (false, [n, c, h, w]),
            _ => {
                return Err(Error::shape(
                    op,
                    format!(
                        "Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, but got input of size: {input:?}"
                    ),
                ));
            }
        };
        let &[wc_in, mg, kh, kw] = weight else {
            return Err(Error::shape(
                op,
                format!(
                    "Expected {}-dimensional input for {}-dimensional weight {weight:?}, but got {}-dimensional input of size {input:?} instead",
                    weight.len(),
                    weight.len(),
                    input.len()
                ),
            ));
        };
        if self.padding.iter().any(|&p| p < 0) {
            return Err(Error::param(op, "negative padding is not supported"));
        }
        if self.output_padding.iter().any(|&p| p < 0) {
            return Err(Error::param(op, "negative output_padding is not supported"));
        }
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
        if self.groups <= 0 {
            return Err(Error::param(op, "non-positive groups is not supported"));
        }
        let groups = self.groups;
        // positive, and compared with usize sizes through i128
        let wide = |v: usize| v as i128;
        if wide(wc_in) < i128::from(groups) {
            return Err(Error::shape(
                op,
                format!(
                    "Given groups={groups}, expected weight to be at least {groups} at dimension 0, but got weight of size {weight:?} instead"
                ),
            ));
        }
        // groups <= wc_in, so it fits usize
        let groups = groups as usize;
        if !wc_in.is_multiple_of(groups) {
            return Err(Error::shape(
                op,
                format!(
                    "Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got weight of size [{weight:?}] instead"
                ),
            ));
        }
        let c_out = wide(mg) * wide(groups);
        if let Some(b) = bias
            && (b.len() != 1 || wide(b[0]) != c_out)
        {
            return Err(Error::shape(
                op,
                format!(
                    "Given transposed=1, weight of size {weight:?}, expected bias to be 1-dimensional with {c_out} elements, but got bias of size {b:?} instead"
                ),
            ));
        }
        if c_in != wc_in {
            return Err(Error::shape(
                op,
                format!(
                    "Given transposed=1, weight of size {weight:?}, expected input{input:?} to have {wc_in} channels, but got {c_in} channels instead"
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
        let [sh, sw] = self.stride;
        let [dh, dw] = self.dilation;
        let [oph, opw] = self.output_padding;
        if !((opw < sw || opw < dw) && (oph < sh || oph < dh)) {
            return Err(Error::param(
                op,
                format!(
                    "output padding must be smaller than either stride or dilation, but got output_padding_height: {oph} output_padding_width: {opw} stride_height: {sh} stride_width: {sw} dilation_height: {dh} dilation_width: {dw}"
                ),
            ));
        }
        if h == 0 || w == 0 {
            return Err(Error::shape(
                op,
                format!(
                    "Only zero batch or zero channel inputs are supported, but got input shape: {input:?}"
                ),
            ));
        }
        // i128 holds every sum and product below of i64 parameters and usize sizes
        let out = |size: usize, s: i64, p: i64, d: i64, k: usize, op_: i64| -> i128 {
            (wide(size) - 1) * i128::from(s) - 2 * i128::from(p)
                + i128::from(d) * (wide(k) - 1)
                + i128::from(op_)
                + 1
        };
        let oh = out(h, sh, self.padding[0], dh, kh, oph);
        let ow = out(w, sw, self.padding[1], dw, kw, opw);
        if oh < 1 || ow < 1 {
            return Err(Error::shape(
                op,
                format!(
                    "Given input size per channel: ({h} x {w}). Calculated output size per channel: ({oh} x {ow}). Output size is too small"
                ),
            ));
        }
        // every size and parameter the kernel reads as u32, checked on every backend
        let fit = |what: &'static str, v: i128| super::fit_u32(op, what, v);
        let pair = |what: &'static str, v: [i64; 2]| -> Result<[usize; 2]> {
            Ok([fit(what, v[0].into())?, fit(what, v[1].into())?])
        };
        Ok(ConvTranspose2dGeometry {
            n: fit("batch size", wide(n))?,
            c_in: fit("input channels", wide(c_in))?,
            h: fit("input height", wide(h))?,
            w: fit("input width", wide(w))?,
            c_out: fit("output channels", c_out)?,
            groups,
            cg: c_in / groups,
            mg: fit("output channels", wide(mg))?,
            kh: fit("kernel size", wide(kh))?,
            kw: fit("kernel size", wide(kw))?,
            stride: pair("stride", self.stride)?,
            padding: pair("padding", self.padding)?,
            dilation: pair("dilation", self.dilation)?,
            oh: fit("output size", oh)?,
            ow: fit("output size", ow)?,
            unbatched,
        })
    }

    /// The output shape for these inputs: `[n, c_out, oh, ow]` (or `[c_out, oh, ow]`
    /// unbatched), with `oh = (h - 1) * s - 2p + d * (kh - 1) + output_padding + 1`.
    ///
    /// # Errors
    /// As [`ConvTranspose2dParams::geometry`].
    pub fn output_shape(&self, input: &[usize], weight: &[usize]) -> Result<Vec<usize>> {
        Ok(self.geometry(input, weight, None)?.output_shape())
    }
}

/// A checked conv_transpose2d call: every size the kernel and the reference need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTranspose2dGeometry {
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
    /// `[pad_h, pad_w]`, removed from both sides of each axis of the full output.
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub oh: usize,
    pub ow: usize,
    pub unbatched: bool,
}

impl ConvTranspose2dGeometry {
    /// `[n, c_out, oh, ow]`, or `[c_out, oh, ow]` for an unbatched input.
    pub fn output_shape(&self) -> Vec<usize> {
        super::image_shape(self.unbatched, [self.n, self.c_out, self.oh, self.ow])
    }

    /// Multiply-adds of the whole call, as the scatter form counts them (every input
    /// element times every tap of its group's filters; `u64::MAX` past that).
    pub fn macs(&self) -> u64 {
        let product = [self.n, self.c_in, self.h, self.w, self.mg, self.kh, self.kw]
            .iter()
            .fold(1u128, |acc, &d| acc.saturating_mul(d as u128));
        u64::try_from(product).unwrap_or(u64::MAX)
    }
}
