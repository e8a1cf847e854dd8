//! conv2d: `torch.nn.functional.conv2d` with its whole parameter set (stride, padding
//! including `same`/`valid`, dilation, groups) and `nn.Conv2d`'s padding modes.
//!
//! On a GPU the convolution is lowered to a matrix product:
//! - `im2col.wgsl` unfolds input patches into a column matrix `[groups][cg*kh*kw][cols]`
//!   (cols = images x output pixels of one chunk), then `gemm.wgsl` multiplies each
//!   group's weight matrix `[mg, cg*kh*kw]` by it, adding bias and relu in the epilogue
//!   and writing NCHW directly;
//! - a 1x1 convolution with stride 1 and no padding skips im2col: the input already is
//!   the column matrix;
//! - a depthwise convolution (one input channel per group) runs a direct kernel.
//!
//! The column matrix is kept under a memory budget by splitting the batch, and a single
//! image by output rows, so any input that fits on the device runs.

use crate::device::{Bind, DeviceKind, GpuHandle};
use crate::error::{Error, Result};
use crate::ops::gemm::{FLAG_BIAS, FLAG_RELU, GemmParams, GemmVariant, dispatch_gemm};
use crate::ops::winograd;
use crate::reference;
use crate::shaders::{Constants, Shader, Slot, kernel_width};
use crate::tensor::{Storage, Tensor};

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

    /// The index in the shaders' `mode` field.
    pub(crate) fn code(self) -> u32 {
        self as u32
    }

    /// The `MODE` override of the shaders that fix the padding mode per pipeline.
    pub(crate) fn constants(self) -> Constants {
        const MODES: [Constants; 4] = [
            &[("MODE", 0.0)],
            &[("MODE", 1.0)],
            &[("MODE", 2.0)],
            &[("MODE", 3.0)],
        ];
        MODES[self as usize]
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
        if c_in != cg * groups {
            return Err(Error::shape(
                op,
                format!(
                    "Given groups={groups}, weight of size {weight:?}, expected input{input:?} to have {} channels, but got {c_in} channels instead",
                    cg * groups
                ),
            ));
        }
        let stride = self.stride.map(|s| s as usize);
        let dilation = self.dilation.map(|d| d as usize);
        let ext = [dilation[0] * (kh - 1), dilation[1] * (kw - 1)];
        // pad = [top, bottom, left, right]
        let pad = match self.padding {
            Padding::Valid => [0; 4],
            Padding::Explicit([ph, pw]) => [ph as usize, ph as usize, pw as usize, pw as usize],
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
        match self.padding_mode {
            PaddingMode::Zeros | PaddingMode::Replicate => {}
            PaddingMode::Reflect => {
                for (dim, size, lo, hi) in [(3, w, pad[2], pad[3]), (2, h, pad[0], pad[1])] {
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
                if pad[0] > h || pad[1] > h || pad[2] > w || pad[3] > w {
                    return Err(Error::param(
                        op,
                        "Padding value causes wrapping around more than once.",
                    ));
                }
            }
        }
        let padded = [h + pad[0] + pad[1], w + pad[2] + pad[3]];
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
            pad,
            oh: (padded[0] - ext[0] - 1) / stride[0] + 1,
            ow: (padded[1] - ext[1] - 1) / stride[1] + 1,
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

    /// Multiply-adds of the whole call.
    pub fn macs(&self) -> u64 {
        (self.n * self.c_out * self.oh * self.ow * self.cg * self.kh * self.kw) as u64
    }

    fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == [1, 1] && self.pad == [0; 4]
    }
}

/// Which GPU lowering runs a conv2d.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Conv2dAlgo {
    /// Pick per call (or the device's `DeviceOptions::conv2d` / `WGCNN_CONV2D`). The
    /// direct kernel for depthwise convolutions; on CPU drivers Winograd for 3x3
    /// stride-1 convolutions with 8 or more input channels, the direct kernel for a
    /// handful of output pixels, the packed implicit GEMM otherwise; on GPUs a plain
    /// GEMM for 1x1 stride-1 convolutions and im2col + GEMM otherwise.
    #[default]
    Auto,
    /// im2col + GEMM (any convolution).
    Im2col,
    /// One invocation per output element (any convolution; 4 x 4 outputs per
    /// invocation for depthwise stride-1 convolutions with rows of whole vec4s, one
    /// vec4 dot product per output for a kernel covering its whole input).
    Direct,
    /// Implicit GEMM: one invocation per output pixel and 16 output channels, no
    /// column matrix (any convolution).
    Implicit,
    /// Implicit GEMM with the weights packed into 64 KiB uniform-buffer blocks (any
    /// convolution; the fast path on CPU drivers, where storage-buffer loads are the
    /// cost): 16 or 32 output channels x 2 rows x 4 pixels per invocation where rows are
    /// whole vec4s (stride 1 or 2), 8 pixels otherwise.
    Packed,
    /// Winograd F(2x2, 3x3): 16 GEMMs over transformed 4x4 tiles, for 3x3 kernels with
    /// stride 1, dilation 1 and one group (and a row of tiles whose transforms fit a
    /// binding); other convolutions take the `Auto` choice.
    Winograd,
}

impl Conv2dAlgo {
    /// Parses `auto`, `im2col`, `direct`, `implicit`, `packed` or `winograd`.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for another name.
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "auto" => Self::Auto,
            "im2col" => Self::Im2col,
            "direct" => Self::Direct,
            "implicit" => Self::Implicit,
            "packed" => Self::Packed,
            "winograd" => Self::Winograd,
            other => {
                return Err(Error::param(
                    "conv2d",
                    format!(
                        "unknown conv2d lowering '{other}' (expected auto, im2col, direct, \
                         implicit, packed or winograd)"
                    ),
                ));
            }
        })
    }
}

/// Options of [`conv2d_ext`] beyond PyTorch's parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Conv2dOptions {
    /// Apply relu in the epilogue (`relu(conv2d(..))` in one dispatch).
    pub relu: bool,
    pub algo: Conv2dAlgo,
    /// Most bytes the im2col column matrix may take (default 64 MiB, and never more
    /// than one storage binding).
    pub col_budget: Option<u64>,
}

/// 2-D convolution over an NCHW batch.
///
/// Corresponds to `torch.nn.functional.conv2d(input, weight, bias, stride, padding,
/// dilation, groups)`.
///
/// # Shapes
/// `input [n, c_in, h, w]` or `[c_in, h, w]`; `weight [c_out, c_in / groups, kh, kw]`;
/// `bias [c_out]`; output `[n, c_out, oh, ow]` (or `[c_out, oh, ow]`).
///
/// # Errors
/// PyTorch's shape and parameter errors; [`Error::DeviceMismatch`]; device errors.
pub fn conv2d(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    params: &Conv2dParams,
) -> Result<Tensor> {
    conv2d_ext(input, weight, bias, params, &Conv2dOptions::default())
}

/// `relu(conv2d(..))` as one fused call (bias and relu in the GEMM epilogue).
///
/// # Errors
/// As [`conv2d`].
pub fn conv2d_relu(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    params: &Conv2dParams,
) -> Result<Tensor> {
    let options = Conv2dOptions {
        relu: true,
        ..Conv2dOptions::default()
    };
    conv2d_ext(input, weight, bias, params, &options)
}

/// [`conv2d`] with wgcnn's own options: fused relu, the lowering, the column budget.
///
/// # Errors
/// As [`conv2d`].
pub fn conv2d_ext(
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    params: &Conv2dParams,
    options: &Conv2dOptions,
) -> Result<Tensor> {
    let geo = params.geometry(input.shape(), weight.shape(), bias.map(Tensor::shape))?;
    let dev = input.device();
    if weight.device() != dev || bias.is_some_and(|b| b.device() != dev) {
        return Err(Error::DeviceMismatch { op: "conv2d" });
    }
    let mut out = Tensor::uninit(dev, &geo.output_shape())?;
    match dev.kind() {
        DeviceKind::Cpu => {
            let y = reference::conv2d::conv2d(
                input.cpu_data(),
                weight.cpu_data(),
                bias.map(Tensor::cpu_data),
                &geo,
                options.relu,
            );
            if let Storage::Cpu(dst) = out.storage_mut() {
                *dst = y;
            }
        }
        DeviceKind::Gpu(gpu) => {
            if out.numel() > 0 {
                launch(gpu, input, weight, bias, &out, &geo, options)?;
            }
        }
    }
    Ok(out)
}

/// Mirror of `Im2colParams` in shaders/im2col.wgsl; keep field order in sync.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Im2colParams {
    pub shape: ConvShape,
    pub row0: u32,
    pub rows: u32,
    pub ncols: u32,
    pub k: u32,
    pub total: u32,
    pub mode: u32,
    pub in_shift: u32,
    pub _pad: u32,
}

/// The sizes every conv2d kernel reads, first in each of their uniforms (mirrors: the
/// first 16 fields of `Im2colParams`, `DirectParams`, `PackedParams` in the shaders).
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct ConvShape {
    pub c: u32,
    pub h: u32,
    pub w: u32,
    pub cg: u32,
    pub kh: u32,
    pub kw: u32,
    pub stride_h: u32,
    pub stride_w: u32,
    pub pad_t: u32,
    pub pad_l: u32,
    pub dil_h: u32,
    pub dil_w: u32,
    pub oh: u32,
    pub ow: u32,
    pub c_out: u32,
    pub mg: u32,
}

impl ConvShape {
    fn of(g: &Conv2dGeometry) -> Self {
        Self {
            c: g.c_in as u32,
            h: g.h as u32,
            w: g.w as u32,
            cg: g.cg as u32,
            kh: g.kh as u32,
            kw: g.kw as u32,
            stride_h: g.stride[0] as u32,
            stride_w: g.stride[1] as u32,
            pad_t: g.pad[0] as u32,
            pad_l: g.pad[2] as u32,
            dil_h: g.dilation[0] as u32,
            dil_w: g.dilation[1] as u32,
            oh: g.oh as u32,
            ow: g.ow as u32,
            c_out: g.c_out as u32,
            mg: g.mg as u32,
        }
    }
}

/// Mirror of `PackParams` in shaders/conv2d_packed.wgsl; keep field order in sync.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct PackParams {
    pub mg: u32,
    pub cg: u32,
    pub khw: u32,
    pub cc: u32,
    pub row_blocks: u32,
    pub chunks: u32,
    pub total: u32,
    pub rows: u32,
    pub used: u32,
    pub _pad: [u32; 3],
}

/// Mirror of `PackedParams` in shaders/conv2d_packed.wgsl; keep field order in sync.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct PackedParams {
    pub shape: ConvShape,
    pub total: u32,
    pub flags: u32,
    pub mode: u32,
    pub in_shift: u32,
    pub out_shift: u32,
    pub group: u32,
    pub m0: u32,
    pub ci0: u32,
    pub cc: u32,
    pub _pad: [u32; 3],
}

/// Most taps (input channels x kernel cells) one packed dispatch sums.
const MAX_CHUNK_TAPS: usize = 512;
/// A uniform-buffer block of packed weights: 4096 vec4 (64 KiB).
const PACK_BLOCK: u64 = 16384;
/// Output channels per packed block.
const PACK_ROWS: usize = 16;

/// Mirror of `DirectParams` in shaders/conv2d.wgsl; keep field order in sync.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct DirectParams {
    pub shape: ConvShape,
    pub total: u32,
    pub flags: u32,
    pub mode: u32,
    pub in_shift: u32,
    pub out_shift: u32,
    pub _pad: [u32; 3],
}

const IM2COL_LAYOUT: &[(u32, Slot)] = &[(0, Slot::Read), (1, Slot::ReadWrite), (2, Slot::Uniform)];
const PACK_LAYOUT: &[(u32, Slot)] = &[(5, Slot::Read), (6, Slot::ReadWrite), (7, Slot::Uniform)];
const PACKED_LAYOUT: &[(u32, Slot)] = &[
    (0, Slot::Read),
    (1, Slot::UniformBlock),
    (2, Slot::Read),
    (3, Slot::ReadWrite),
    (4, Slot::Uniform),
    (8, Slot::Read),
    (9, Slot::ReadWrite),
];
const DEPTHWISE_Q_LAYOUT: &[(u32, Slot)] = &[
    (1, Slot::Read),
    (2, Slot::Read),
    (3, Slot::ReadWrite),
    (4, Slot::Uniform),
    (5, Slot::Read),
    (6, Slot::ReadWrite),
];
const DOT_LAYOUT: &[(u32, Slot)] = &[
    (2, Slot::Read),
    (3, Slot::ReadWrite),
    (4, Slot::Uniform),
    (5, Slot::Read),
    (7, Slot::Read),
];
const DIRECT_LAYOUT: &[(u32, Slot)] = &[
    (0, Slot::Read),
    (1, Slot::Read),
    (2, Slot::Read),
    (3, Slot::ReadWrite),
    (4, Slot::Uniform),
];

const DEFAULT_COL_BUDGET: u64 = 64 << 20;
/// Output pixels under which `Auto` picks the direct kernel on CPU drivers (measured:
/// mnist_cnn's last conv, 64 pixels x 10 channels over 3136 taps, 6.0 -> 4.2 ms).
const FEW_PIXELS: usize = 512;
/// Input channels from which `Auto` picks Winograd on CPU drivers (measured: with 1 or
/// 3 input channels the transforms cost more than the multiplies they save).
const WINOGRAD_MIN_C_IN: usize = 8;

fn u32_of(v: u64, what: &'static str) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::Limit {
        what,
        requested: v,
        limit: u64::from(u32::MAX),
    })
}

/// Records the convolution into `out`.
fn launch(
    gpu: &GpuHandle,
    input: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    out: &Tensor,
    g: &Conv2dGeometry,
    options: &Conv2dOptions,
) -> Result<()> {
    let flags =
        if bias.is_some() { FLAG_BIAS } else { 0 } | if options.relu { FLAG_RELU } else { 0 };
    let (Some(x), Some(y)) = (input.gpu_buffer(), out.gpu_buffer()) else {
        // An empty input with a non-empty output: c_in is 0, so the output is the bias.
        return Err(Error::Unsupported("conv2d with zero input channels".into()));
    };
    let w = weight
        .gpu_buffer()
        .ok_or_else(|| Error::Unsupported("conv2d with an empty weight".into()))?;
    // Without a bias, the weight stands in for the bias binding (never read).
    let b = bias.and_then(Tensor::gpu_buffer).unwrap_or(w);
    let b_size = bias.map_or(4, |t| t.numel() as u64 * 4);
    let w_size = weight.numel() as u64 * 4;
    let software = gpu.gemm_variant() == GemmVariant::Register;
    let wanted = match options.algo {
        Conv2dAlgo::Auto => gpu.conv2d_default(),
        other => other,
    };
    let requested = match wanted {
        Conv2dAlgo::Winograd if !winograd::applies(g, gpu) => Conv2dAlgo::Auto,
        other => other,
    };
    let algo = match requested {
        Conv2dAlgo::Auto if g.mg < 4 => Some(Conv2dAlgo::Direct),
        // a handful of output pixels (a kernel as large as its input): one invocation
        // per output element spreads further than 8 pixels per invocation
        Conv2dAlgo::Auto if software && g.n * g.oh * g.ow < FEW_PIXELS => Some(Conv2dAlgo::Direct),
        // Winograd where the GEMMs have enough input channels to pay for the transforms
        Conv2dAlgo::Auto
            if software && g.c_in >= WINOGRAD_MIN_C_IN && winograd::applies(g, gpu) =>
        {
            Some(Conv2dAlgo::Winograd)
        }
        Conv2dAlgo::Auto if software && gpu.max_uniform_binding() >= PACK_BLOCK * 4 => {
            Some(Conv2dAlgo::Packed)
        }
        Conv2dAlgo::Auto if software => Some(Conv2dAlgo::Implicit),
        Conv2dAlgo::Auto if g.is_pointwise() && g.mode == PaddingMode::Zeros => None,
        Conv2dAlgo::Auto => Some(Conv2dAlgo::Im2col),
        other => Some(other),
    };
    let in_image = (g.c_in * g.h * g.w) as u64;
    let out_image = (g.c_out * g.oh * g.ow) as u64;
    let chunk = gpu.chunk_elems();
    // Images per dispatch: input and output windows must each fit one binding.
    let by_binding = (chunk / in_image.max(1))
        .min(chunk / out_image.max(1))
        .max(1) as usize;
    let k = (g.cg * g.kh * g.kw) as u64;
    let ohw = (g.oh * g.ow) as u64;
    let max_cols = gpu.gemm_variant().max_cols(gpu.max_groups_per_dim());

    match algo {
        None => {
            // Pointwise: the input [n, c_in, h*w] is the column matrix.
            let per_dispatch = by_binding.min((max_cols / ohw).max(1) as usize);
            gpu.for_each_run(
                "conv2d image size (bytes)",
                g.n,
                (in_image, out_image),
                per_dispatch,
                |_, nb, (x_off, x_size, x_shift), (y_off, y_size, y_shift)| {
                    let ncols = nb as u64 * ohw;
                    let params = GemmParams {
                        m: g.mg as u32,
                        n: u32_of(ncols, "conv2d columns")?,
                        k: k as u32,
                        flags,
                        a_off: 0,
                        a_rs: k as u32,
                        a_gs: (g.mg as u64 * k) as u32,
                        b_off: x_shift,
                        b_rs: ohw as u32,
                        b_gs: (g.cg as u64 * ohw) as u32,
                        b_hw: ohw as u32,
                        b_ns: in_image as u32,
                        c_off: y_shift,
                        c_ms: ohw as u32,
                        c_gs: (g.mg as u64 * ohw) as u32,
                        c_hw: ohw as u32,
                        c_ns: out_image as u32,
                        bias_off: 0,
                        bias_gs: g.mg as u32,
                        _pad: 0,
                    };
                    let binds = [
                        Bind::at(0, w, 0, w_size),
                        Bind::at(1, x, x_off, x_size),
                        Bind::at(2, b, 0, b_size),
                        Bind::at(3, y, y_off, y_size),
                    ];
                    dispatch_gemm(gpu, &binds, &params, g.groups)
                },
            )?;
        }
        Some(Conv2dAlgo::Winograd) => {
            winograd::launch(
                input.device(),
                gpu,
                (x, w, b),
                (w_size, b_size),
                y,
                g,
                flags,
            )?;
        }
        Some(Conv2dAlgo::Packed) => {
            launch_packed(
                input.device(),
                gpu,
                (x, w, b),
                (w_size, b_size),
                y,
                g,
                flags,
                by_binding,
            )?;
        }
        Some(algo @ (Conv2dAlgo::Direct | Conv2dAlgo::Implicit)) => {
            // depthwise, stride 1, dilation 1: 4 outputs per invocation sharing loads
            let depthwise4 = algo == Conv2dAlgo::Direct
                && g.cg == 1
                && g.stride == [1, 1]
                && g.dilation == [1, 1]
                && g.kw <= 7;
            // and with rows of whole vec4s: 4 rows x 4 pixels per invocation, vec4 I/O
            let row_kernel = rows_constants(g).filter(|_| depthwise4 && g.stride == [1, 1]);
            // a kernel covering its whole input: one vec4 dot product per output
            let dot = algo == Conv2dAlgo::Direct
                && g.groups == 1
                && (g.oh, g.ow, g.kh, g.kw) == (1, 1, g.h, g.w)
                && g.pad == [0; 4]
                && g.dilation == [1, 1]
                && in_image.is_multiple_of(4);
            let pipeline = match algo {
                _ if dot => gpu.pipeline(Shader::Conv2d, "conv2d_dot", DOT_LAYOUT)?,
                _ if row_kernel.is_some() => gpu.pipeline_with(
                    Shader::Conv2d,
                    "conv2d_depthwise_q",
                    DEPTHWISE_Q_LAYOUT,
                    row_kernel.expect("checked"),
                )?,
                _ if depthwise4 => gpu.pipeline_with(
                    Shader::Conv2d,
                    "conv2d_depthwise4",
                    DIRECT_LAYOUT,
                    kernel_width(g.kw),
                )?,
                Conv2dAlgo::Direct => {
                    gpu.pipeline(Shader::Conv2d, "conv2d_direct", DIRECT_LAYOUT)?
                }
                _ => gpu.pipeline(Shader::Conv2d, "conv2d_implicit", DIRECT_LAYOUT)?,
            };
            gpu.for_each_run(
                "conv2d image size (bytes)",
                g.n,
                (in_image, out_image),
                by_binding,
                |_, nb, (x_off, x_size, x_shift), (y_off, y_size, y_shift)| {
                    let total = match algo {
                        _ if dot => nb as u64 * out_image,
                        _ if row_kernel.is_some() => {
                            (nb * g.c_out * g.oh.div_ceil(4) * g.ow / 4) as u64
                        }
                        _ if depthwise4 => (nb * g.c_out * g.oh * g.ow.div_ceil(4)) as u64,
                        Conv2dAlgo::Direct => nb as u64 * out_image,
                        _ => nb as u64 * ohw,
                    };
                    let params = DirectParams {
                        shape: ConvShape::of(g),
                        total: u32_of(total, "conv2d outputs")?,
                        flags,
                        mode: g.mode.code(),
                        in_shift: x_shift,
                        out_shift: y_shift,
                        _pad: [0; 3],
                    };
                    let binds = [
                        Bind::at(0, x, x_off, x_size),
                        Bind::at(1, w, 0, w_size),
                        Bind::at(2, b, 0, b_size),
                        Bind::at(3, y, y_off, y_size),
                        // vec4 views for conv2d_depthwise_q (whole images of whole
                        // rows: the shifts are multiples of 4)
                        Bind::at(5, x, x_off, x_size.div_ceil(16) * 16),
                        Bind::at(6, y, y_off, y_size.div_ceil(16) * 16),
                    ];
                    // conv2d_dot: the input and the weights as vec4 (whole images, and
                    // filters of a multiple of 4 taps)
                    let dot_binds = [
                        Bind::at(2, b, 0, b_size),
                        Bind::at(3, y, y_off, y_size),
                        Bind::at(5, x, x_off, x_size.div_ceil(16) * 16),
                        Bind::at(7, w, 0, w_size),
                    ];
                    let binds = match () {
                        _ if dot => &dot_binds[..],
                        _ if row_kernel.is_some() => &binds[1..],
                        _ => &binds[..4],
                    };
                    let grid = match algo {
                        _ if dot || depthwise4 || row_kernel.is_some() => {
                            gpu.grid(total.div_ceil(64))?
                        }
                        Conv2dAlgo::Direct => gpu.grid(total.div_ceil(256))?,
                        _ => implicit_grid(gpu, total, g)?,
                    };
                    gpu.dispatch(&pipeline, binds, bytemuck::bytes_of(&params), grid)?;
                    Ok(())
                },
            )?;
        }
        Some(_) => {
            // im2col + GEMM, in chunks of images, or of output rows of one image.
            let budget = options
                .col_budget
                .unwrap_or(DEFAULT_COL_BUDGET)
                .min(chunk * 4)
                .max(4);
            // floats of the column matrix per output row, all groups
            let col_row = (g.c_in * g.kh * g.kw * g.ow) as u64;
            let col_image = col_row * g.oh as u64;
            let (images, rows) = if col_image * 4 <= budget {
                let by_cols = (budget / 4 / col_image) as usize;
                let by_grid = (max_cols / ohw).max(1) as usize;
                (by_binding.min(by_cols).min(by_grid).max(1), g.oh)
            } else {
                let by_cols = (budget / 4 / col_row).max(1) as usize;
                let by_grid = (max_cols / g.ow as u64).max(1) as usize;
                (1, by_cols.min(by_grid).min(g.oh))
            };
            let cols_len =
                images as u64 * rows as u64 * g.ow as u64 * g.c_in as u64 * (g.kh * g.kw) as u64;
            let cols = Tensor::uninit(input.device(), &[cols_len as usize])?;
            let c = cols.gpu_buffer().expect("a non-empty column matrix");
            let im2col = gpu.pipeline(Shader::Im2col, "im2col", IM2COL_LAYOUT)?;
            gpu.for_each_run(
                "conv2d image size (bytes)",
                g.n,
                (in_image, out_image),
                images,
                |_, nb, (x_off, x_size, x_shift), (y_off, y_size, y_shift)| {
                    for row0 in (0..g.oh).step_by(rows) {
                        let nrows = rows.min(g.oh - row0);
                        let ncols = nb as u64 * nrows as u64 * g.ow as u64;
                        let total = g.groups as u64 * k * ncols;
                        let ip = Im2colParams {
                            shape: ConvShape::of(g),
                            row0: row0 as u32,
                            rows: nrows as u32,
                            ncols: u32_of(ncols, "conv2d columns")?,
                            k: k as u32,
                            total: u32_of(total, "im2col elements")?,
                            mode: g.mode.code(),
                            in_shift: x_shift,
                            _pad: 0,
                        };
                        let binds = [Bind::at(0, x, x_off, x_size), Bind::at(1, c, 0, total * 4)];
                        gpu.dispatch(
                            &im2col,
                            &binds,
                            bytemuck::bytes_of(&ip),
                            gpu.grid(total.div_ceil(256))?,
                        )?;
                        let gp = GemmParams {
                            m: g.mg as u32,
                            n: ncols as u32,
                            k: k as u32,
                            flags,
                            a_off: 0,
                            a_rs: k as u32,
                            a_gs: (g.mg as u64 * k) as u32,
                            b_off: 0,
                            b_rs: ncols as u32,
                            b_gs: (k * ncols) as u32,
                            b_hw: ncols as u32,
                            b_ns: 0,
                            c_off: y_shift + (row0 * g.ow) as u32,
                            c_ms: ohw as u32,
                            c_gs: (g.mg as u64 * ohw) as u32,
                            c_hw: (nrows * g.ow) as u32,
                            c_ns: out_image as u32,
                            bias_off: 0,
                            bias_gs: g.mg as u32,
                            _pad: 0,
                        };
                        let binds = [
                            Bind::at(0, w, 0, w_size),
                            Bind::at(1, c, 0, total * 4),
                            Bind::at(2, b, 0, b_size),
                            Bind::at(3, y, y_off, y_size),
                        ];
                        dispatch_gemm(gpu, &binds, &gp, g.groups)?;
                    }
                    Ok(())
                },
            )?;
        }
    }
    Ok(())
}

/// Workgroups of the implicit kernel: 64 pixels in x, 16 channels in y, groups in z.
fn implicit_grid(gpu: &GpuHandle, pixels: u64, g: &Conv2dGeometry) -> Result<[u32; 3]> {
    let dims = [
        pixels.div_ceil(64),
        (g.mg as u64).div_ceil(16),
        g.groups as u64,
    ];
    let max = u64::from(gpu.max_groups_per_dim());
    if let Some(&d) = dims.iter().find(|&&d| d > max) {
        return Err(Error::Limit {
            what: "conv2d workgroups per dimension",
            requested: d,
            limit: max,
        });
    }
    Ok(dims.map(|d| d as u32))
}

/// The specialisation of `conv2d_packed_rows` (kernel width, left padding, stride and
/// dilation along the row) for a convolution it computes: zero padding, rows of whole
/// vec4s in and out, stride 1 with dilation 1, or stride 2, and every tap of 4
/// neighbouring pixels within the 16 columns the kernel loads around them.
fn rows_constants(g: &Conv2dGeometry) -> Option<Constants> {
    if g.mode != PaddingMode::Zeros || !g.w.is_multiple_of(4) || !g.ow.is_multiple_of(4) {
        return None;
    }
    if g.stride == [1, 1] && g.dilation == [1, 1] {
        return Some(match (g.kw, g.pad[2]) {
            (1, 0) => &[("KW", 1.0), ("PL", 0.0), ("SW", 1.0), ("DW", 1.0)],
            (2, 0) => &[("KW", 2.0), ("PL", 0.0), ("SW", 1.0), ("DW", 1.0)],
            (2, 1) => &[("KW", 2.0), ("PL", 1.0), ("SW", 1.0), ("DW", 1.0)],
            (3, 0) => &[("KW", 3.0), ("PL", 0.0), ("SW", 1.0), ("DW", 1.0)],
            (3, 1) => &[("KW", 3.0), ("PL", 1.0), ("SW", 1.0), ("DW", 1.0)],
            (3, 2) => &[("KW", 3.0), ("PL", 2.0), ("SW", 1.0), ("DW", 1.0)],
            (5, 0) => &[("KW", 5.0), ("PL", 0.0), ("SW", 1.0), ("DW", 1.0)],
            (5, 1) => &[("KW", 5.0), ("PL", 1.0), ("SW", 1.0), ("DW", 1.0)],
            (5, 2) => &[("KW", 5.0), ("PL", 2.0), ("SW", 1.0), ("DW", 1.0)],
            (7, 2) => &[("KW", 7.0), ("PL", 2.0), ("SW", 1.0), ("DW", 1.0)],
            (7, 3) => &[("KW", 7.0), ("PL", 3.0), ("SW", 1.0), ("DW", 1.0)],
            _ => return None,
        });
    }
    if g.stride[1] != 2 {
        return None;
    }
    Some(match (g.kw, g.pad[2], g.dilation[1]) {
        (1, 0, 1) => &[("KW", 1.0), ("PL", 0.0), ("SW", 2.0), ("DW", 1.0)],
        (2, 0, 1) => &[("KW", 2.0), ("PL", 0.0), ("SW", 2.0), ("DW", 1.0)],
        (3, 0, 1) => &[("KW", 3.0), ("PL", 0.0), ("SW", 2.0), ("DW", 1.0)],
        (3, 1, 1) => &[("KW", 3.0), ("PL", 1.0), ("SW", 2.0), ("DW", 1.0)],
        (3, 2, 2) => &[("KW", 3.0), ("PL", 2.0), ("SW", 2.0), ("DW", 2.0)],
        (3, 1, 2) => &[("KW", 3.0), ("PL", 1.0), ("SW", 2.0), ("DW", 2.0)],
        (5, 2, 1) => &[("KW", 5.0), ("PL", 2.0), ("SW", 2.0), ("DW", 1.0)],
        (7, 3, 1) => &[("KW", 7.0), ("PL", 3.0), ("SW", 2.0), ("DW", 1.0)],
        _ => return None,
    })
}

/// The packed lowering: weights into 64 KiB uniform blocks (one dispatch), then one
/// dispatch per (group, block of 16 or 32 output channels, chunk of input channels) and
/// chunk of images.
#[allow(clippy::too_many_arguments)]
fn launch_packed(
    device: &crate::Device,
    gpu: &GpuHandle,
    (x, w, b): (&wgpu::Buffer, &wgpu::Buffer, &wgpu::Buffer),
    (w_size, b_size): (u64, u64),
    y: &wgpu::Buffer,
    g: &Conv2dGeometry,
    flags: u32,
    images_per_dispatch: usize,
) -> Result<()> {
    if gpu.max_uniform_binding() < PACK_BLOCK * 4 {
        return Err(Error::Limit {
            what: "uniform binding size for packed conv2d weights",
            requested: PACK_BLOCK * 4,
            limit: gpu.max_uniform_binding(),
        });
    }
    let in_image = (g.c_in * g.h * g.w) as u64;
    let out_image = (g.c_out * g.oh * g.ow) as u64;
    let ohw = (g.oh * g.ow) as u64;
    // 1x1, stride 1, no padding, and every 8 pixels two aligned vec4 of each input plane
    let aligned_1x1 = g.is_pointwise()
        && g.mode == PaddingMode::Zeros
        && ohw.is_multiple_of(8)
        && in_image.is_multiple_of(4);
    let row_kernel = rows_constants(g).filter(|_| !aligned_1x1);
    // 1x1 and row kernels with more than 16 output channels: blocks of 32 (twice the
    // reuse per load)
    let block_rows = if (aligned_1x1 || row_kernel.is_some()) && g.mg > PACK_ROWS {
        2 * PACK_ROWS
    } else {
        PACK_ROWS
    };
    let khw = g.kh * g.kw;
    let taps_per_block = PACK_BLOCK as usize / block_rows;
    if khw > taps_per_block {
        return Err(Error::Limit {
            what: "conv2d kernel taps for packed weights",
            requested: khw as u64,
            limit: taps_per_block as u64,
        });
    }
    // Chunks of at most 512 taps, as even as they come: the chunks' sums meet in the
    // output, a two-level sum that keeps the rounding of long dot products near
    // PyTorch's (one chunk up to 512 taps: a second dispatch costs more than it buys).
    let most = (taps_per_block.min(MAX_CHUNK_TAPS) / khw).clamp(1, g.cg);
    let chunks = g.cg.div_ceil(most);
    let cc = g.cg.div_ceil(chunks);
    let row_blocks = g.mg.div_ceil(block_rows);
    let blocks = (g.groups * row_blocks * chunks) as u64;
    let packed = Tensor::uninit(device, &[(blocks * PACK_BLOCK) as usize])?;
    let pb = packed.gpu_buffer().expect("a non-empty packed block");
    // the kernels read a block's first cc * khw taps of `block_rows` channels, no more
    let used = (cc * khw * block_rows) as u64;
    let pp = PackParams {
        mg: g.mg as u32,
        cg: g.cg as u32,
        khw: khw as u32,
        cc: cc as u32,
        row_blocks: row_blocks as u32,
        chunks: chunks as u32,
        total: u32_of(blocks * used, "packed weights")?,
        rows: block_rows as u32,
        used: used as u32,
        _pad: [0; 3],
    };
    let pack = gpu.pipeline(Shader::Conv2dPacked, "pack_weights", PACK_LAYOUT)?;
    let binds = [
        Bind::at(5, w, 0, w_size),
        Bind::at(6, pb, 0, blocks * PACK_BLOCK * 4),
    ];
    gpu.dispatch(
        &pack,
        &binds,
        bytemuck::bytes_of(&pp),
        gpu.grid((blocks * used).div_ceil(256))?,
    )?;

    let zeros = PaddingMode::Zeros.constants();
    let (entry, constants) = match row_kernel {
        _ if aligned_1x1 && block_rows > PACK_ROWS => ("conv2d_packed_1x1_32", zeros),
        _ if aligned_1x1 => ("conv2d_packed_1x1", zeros),
        Some(c) if block_rows > PACK_ROWS => ("conv2d_packed_rows_32", c),
        Some(c) => ("conv2d_packed_rows", c),
        None => ("conv2d_packed", g.mode.constants()),
    };
    let conv = gpu.pipeline_with(Shader::Conv2dPacked, entry, PACKED_LAYOUT, constants)?;
    gpu.for_each_run(
        "conv2d image size (bytes)",
        g.n,
        (in_image, out_image),
        images_per_dispatch,
        |_, nb, (x_off, x_size, x_shift), (y_off, y_size, y_shift)| {
            // conv2d_packed_rows counts images; its invocations cover 2 rows x 4 pixels
            let (total, invocations) = if row_kernel.is_some() {
                let per_image = (g.oh.div_ceil(2) * g.ow / 4) as u64;
                (nb as u64, nb as u64 * per_image)
            } else {
                (nb as u64 * ohw, (nb as u64 * ohw).div_ceil(8))
            };
            let grid = gpu.grid(invocations.div_ceil(64))?;
            for group in 0..g.groups {
                for rb in 0..row_blocks {
                    for chunk in 0..chunks {
                        let block = ((group * row_blocks + rb) * chunks + chunk) as u64;
                        let ci0 = chunk * cc;
                        let mut chunk_flags = flags;
                        if chunk == 0 {
                            chunk_flags |= 4;
                        }
                        if chunk + 1 == chunks {
                            chunk_flags |= 8;
                        }
                        let params = PackedParams {
                            shape: ConvShape::of(g),
                            total: u32_of(total, "conv2d pixels")?,
                            flags: chunk_flags,
                            mode: g.mode.code(),
                            in_shift: x_shift,
                            out_shift: y_shift,
                            group: group as u32,
                            m0: (rb * block_rows) as u32,
                            ci0: ci0 as u32,
                            cc: cc.min(g.cg - ci0) as u32,
                            _pad: [0; 3],
                        };
                        let binds = [
                            Bind::at(0, x, x_off, x_size),
                            Bind::at(1, pb, block * PACK_BLOCK * 4, PACK_BLOCK * 4),
                            Bind::at(2, b, 0, b_size),
                            Bind::at(3, y, y_off, y_size),
                            // vec4 view: the window rounded out to whole vec4s (the shift
                            // is a multiple of 4 when the VEC4 pipeline reads it)
                            Bind::at(8, x, x_off, x_size.div_ceil(16) * 16),
                            // vec4 view of the output (the _1x1 and _rows kernels: whole images of
                            // whole rows, so the shift is a multiple of 4)
                            Bind::at(9, y, y_off, y_size.div_ceil(16) * 16),
                        ];
                        gpu.dispatch(&conv, &binds, bytemuck::bytes_of(&params), grid)?;
                    }
                }
            }
            Ok(())
        },
    )?;
    Ok(())
}
