//! Pooling semantics: `max_pool2d`, `avg_pool2d` and the adaptive pools' parameters,
//! with PyTorch's output-size rules (ceil_mode's last window, avg pool's divisor) and
//! its error messages.

use crate::error::{Error, Result};

/// Parameters of `max_pool2d`, named as in `torch.nn.functional.max_pool2d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2dParams {
    pub kernel_size: [i64; 2],
    /// `None`: the kernel size.
    pub stride: Option<[i64; 2]>,
    pub padding: [i64; 2],
    pub dilation: [i64; 2],
    pub ceil_mode: bool,
}

impl MaxPool2dParams {
    /// `kernel_size=k` with PyTorch's defaults for the rest.
    pub fn new(k: i64) -> Self {
        Self {
            kernel_size: [k, k],
            stride: None,
            padding: [0, 0],
            dilation: [1, 1],
            ceil_mode: false,
        }
    }
    /// `stride=s`.
    pub fn stride(mut self, s: i64) -> Self {
        self.stride = Some([s, s]);
        self
    }
    /// `padding=p`.
    pub fn padding(mut self, p: i64) -> Self {
        self.padding = [p, p];
        self
    }
    /// `dilation=d`.
    pub fn dilation(mut self, d: i64) -> Self {
        self.dilation = [d, d];
        self
    }
    /// `ceil_mode=true`.
    pub fn ceil_mode(mut self, on: bool) -> Self {
        self.ceil_mode = on;
        self
    }

    /// Checks the call as PyTorch does and resolves its geometry.
    ///
    /// # Errors
    /// PyTorch's errors, in its words.
    pub fn geometry(&self, input: &[usize]) -> Result<Pool2dGeometry> {
        let stride = self.stride.unwrap_or(self.kernel_size);
        Pool2dGeometry::new(
            "max_pool2d",
            input,
            self.kernel_size,
            stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
        )
    }
}

/// Parameters of `avg_pool2d`, named as in `torch.nn.functional.avg_pool2d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool2dParams {
    pub kernel_size: [i64; 2],
    /// `None`: the kernel size.
    pub stride: Option<[i64; 2]>,
    pub padding: [i64; 2],
    pub ceil_mode: bool,
    pub count_include_pad: bool,
    pub divisor_override: Option<i64>,
}

impl AvgPool2dParams {
    /// `kernel_size=k` with PyTorch's defaults for the rest.
    pub fn new(k: i64) -> Self {
        Self {
            kernel_size: [k, k],
            stride: None,
            padding: [0, 0],
            ceil_mode: false,
            count_include_pad: true,
            divisor_override: None,
        }
    }
    /// `stride=s`.
    pub fn stride(mut self, s: i64) -> Self {
        self.stride = Some([s, s]);
        self
    }
    /// `padding=p`.
    pub fn padding(mut self, p: i64) -> Self {
        self.padding = [p, p];
        self
    }

    /// Checks the call as PyTorch does and resolves its geometry.
    ///
    /// # Errors
    /// PyTorch's errors, in its words.
    pub fn geometry(&self, input: &[usize]) -> Result<Pool2dGeometry> {
        if self.divisor_override == Some(0) {
            return Err(Error::param("avg_pool2d", "divisor must be not zero"));
        }
        let stride = self.stride.unwrap_or(self.kernel_size);
        Pool2dGeometry::new(
            "avg_pool2d",
            input,
            self.kernel_size,
            stride,
            self.padding,
            [1, 1],
            self.ceil_mode,
        )
    }
}

/// A checked pooling call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dGeometry {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub oh: usize,
    pub ow: usize,
    pub unbatched: bool,
}

/// PyTorch's `pooling_output_shape` for one axis: floor (or ceil) division, and in
/// ceil mode the last window is dropped when it would start inside the right padding.
/// Computed in i128, where parameters anywhere in i64's range cannot wrap around.
fn pooling_output_size(
    op: &'static str,
    input: usize,
    kernel: i64,
    pad: i64,
    stride: i64,
    dilation: i64,
    ceil_mode: bool,
) -> Result<i128> {
    if stride == 0 {
        return Err(Error::param(op, "stride should not be zero"));
    }
    if pad < 0 {
        return Err(Error::param(
            op,
            format!("pad must be non-negative, but got pad: {pad}"),
        ));
    }
    let [input, kernel, pad, stride, dilation] =
        [input as i128, kernel.into(), pad.into(), stride.into(), dilation.into()];
    if pad > ((kernel - 1) * dilation + 1) / 2 {
        return Err(Error::param(
            op,
            format!(
                "pad should be at most half of effective kernel size, but got pad={pad}, kernel_size={kernel} and dilation={dilation}"
            ),
        ));
    }
    let numerator =
        input + 2 * pad - dilation * (kernel - 1) - 1 + if ceil_mode { stride - 1 } else { 0 };
    let mut out = numerator.div_euclid(stride) + 1;
    if ceil_mode && (out - 1) * stride >= input + pad {
        out -= 1;
    }
    Ok(out)
}

/// `[n, c, h, w]` of a 3-D (unbatched) or 4-D input.
fn batched(op: &'static str, input: &[usize]) -> Result<(bool, [usize; 4])> {
    match *input {
        [c, h, w] => Ok((true, [1, c, h, w])),
        [n, c, h, w] => Ok((false, [n, c, h, w])),
        _ => Err(Error::shape(
            op,
            "non-empty 3D or 4D (batch mode) tensor expected for input",
        )),
    }
}

impl Pool2dGeometry {
    fn new(
        op: &'static str,
        input: &[usize],
        kernel: [i64; 2],
        stride: [i64; 2],
        padding: [i64; 2],
        dilation: [i64; 2],
        ceil_mode: bool,
    ) -> Result<Self> {
        let (unbatched, [n, c, h, w]) = batched(op, input)?;
        let oh = pooling_output_size(
            op,
            h,
            kernel[0],
            padding[0],
            stride[0],
            dilation[0],
            ceil_mode,
        )?;
        let ow = pooling_output_size(
            op,
            w,
            kernel[1],
            padding[1],
            stride[1],
            dilation[1],
            ceil_mode,
        )?;
        for (values, what, names) in [
            (kernel, "kernel size", ["kH", "kW"]),
            (stride, "stride", ["dH", "dW"]),
            (dilation, "dilation", ["dilationH", "dilationW"]),
        ] {
            if values.iter().any(|&v| v <= 0) {
                return Err(Error::param(
                    op,
                    format!(
                        "{what} should be greater than zero, but got {}: {} {}: {}",
                        names[0], values[0], names[1], values[1]
                    ),
                ));
            }
        }
        if c == 0 || h == 0 || w == 0 {
            return Err(Error::shape(
                op,
                format!(
                    "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:{input:?}"
                ),
            ));
        }
        if kernel[1] / 2 < padding[1] || kernel[0] / 2 < padding[0] {
            return Err(Error::param(
                op,
                format!(
                    "pad should be smaller than or equal to half of kernel size, but got padW = {}, padH = {}, kW = {}, kH = {}",
                    padding[1], padding[0], kernel[1], kernel[0]
                ),
            ));
        }
        if oh < 1 || ow < 1 {
            return Err(Error::shape(
                op,
                format!(
                    "Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{oh}x{ow}). Output size is too small"
                ),
            ));
        }
        let (Ok(oh), Ok(ow)) = (usize::try_from(oh), usize::try_from(ow)) else {
            return Err(Error::shape(
                op,
                format!(
                    "Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{oh}x{ow}). Output size is too large"
                ),
            ));
        };
        Ok(Self {
            n,
            c,
            h,
            w,
            kernel: kernel.map(|v| v as usize),
            stride: stride.map(|v| v as usize),
            padding: padding.map(|v| v as usize),
            dilation: dilation.map(|v| v as usize),
            oh,
            ow,
            unbatched,
        })
    }

    /// `[n, c, oh, ow]`, or `[c, oh, ow]` for an unbatched input.
    pub fn output_shape(&self) -> Vec<usize> {
        if self.unbatched {
            vec![self.c, self.oh, self.ow]
        } else {
            vec![self.n, self.c, self.oh, self.ow]
        }
    }
}

/// A checked adaptive pooling call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdaptiveGeometry {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub oh: usize,
    pub ow: usize,
    pub unbatched: bool,
}

impl AdaptiveGeometry {
    /// Checks an adaptive pool call: `output_size` entries of `None` keep the input's.
    ///
    /// # Errors
    /// PyTorch's errors, in its words.
    pub fn new(op: &'static str, input: &[usize], output_size: [Option<i64>; 2]) -> Result<Self> {
        let (unbatched, [n, c, h, w]) = match *input {
            [c, h, w] => (true, [1, c, h, w]),
            [n, c, h, w] => (false, [n, c, h, w]),
            _ => {
                return Err(Error::shape(
                    op,
                    format!("{op}(): Expected 3D or 4D tensor, but got {input:?}"),
                ));
            }
        };
        let first = usize::from(!unbatched);
        if let Some(d) = (first..input.len()).find(|&d| input[d] == 0) {
            return Err(Error::shape(
                op,
                format!(
                    "{op}(): Expected input to have non-zero size for non-batch dimensions, but input has sizes {input:?} with dimension {d} being empty"
                ),
            ));
        }
        let [oh, ow] = [
            output_size[0].unwrap_or(h as i64),
            output_size[1].unwrap_or(w as i64),
        ];
        if oh < 0 || ow < 0 {
            return Err(Error::param(
                op,
                format!(
                    "{op}: elements of output_size must be greater than or equal to 0 but received {{{oh}, {ow}}}"
                ),
            ));
        }
        Ok(Self {
            n,
            c,
            h,
            w,
            oh: oh as usize,
            ow: ow as usize,
            unbatched,
        })
    }

    /// `[n, c, oh, ow]`, or `[c, oh, ow]` for an unbatched input.
    pub fn output_shape(&self) -> Vec<usize> {
        if self.unbatched {
            vec![self.c, self.oh, self.ow]
        } else {
            vec![self.n, self.c, self.oh, self.ow]
        }
    }
}
