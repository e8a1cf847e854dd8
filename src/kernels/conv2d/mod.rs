//! conv2d on the GPU: one function per lowering, and the rule that picks one.
//!
//! - [`Lowering::Pointwise`] (`matmul.rs`): a 1x1 convolution with stride 1 and no
//!   padding, whose input already is the column matrix, as one GEMM;
//! - [`Lowering::Im2col`] (`matmul.rs`): `im2col.wgsl` unfolds input patches into a
//!   column matrix `[groups][cg*kh*kw][cols]`, kept under a memory budget by splitting
//!   the batch (and one image by output rows), and `gemm.wgsl` multiplies each group's
//!   weights by it, bias and relu in the epilogue, writing NCHW directly;
//! - [`Lowering::Direct`] (`direct.rs`): kernels that read input and weights straight
//!   from storage ([`DirectKernel`]: a vec4 dot product per output, depthwise 4x4 and
//!   4-wide blocks, one output per invocation, 16 channels per invocation);
//! - [`Lowering::Packed`] (`packed.rs`): an implicit GEMM whose weights come through
//!   64 KiB uniform blocks, the fast path on CPU drivers;
//! - [`Lowering::Winograd`] (`winograd.rs`): F(2x2, 3x3).
//!
//! [`Conv2dAlgo`] is what a caller asks for; [`choose`] turns it, the device's
//! [`super::Lowerings`] and the adapter kind into a [`Lowering`].

mod autotune;
mod bands;
mod direct;
mod matmul;
mod packed;
mod winograd;

pub use autotune::{Autotune, AutotuneCache, AutotuneStats, stats as autotune_stats};
pub(crate) use packed::{PackParams, PackedParams};
pub(crate) use winograd::WinoParams;

use self::direct::DirectKernel;
use crate::device::{Bind, Buf, Device, GpuHandle, PipelineSpec, Window};
use crate::dtype::Elem;
use crate::error::{Error, Result};
use crate::kernels::gemm::{FLAG_BIAS, epilogue_constants};
use crate::kernels::{GemmVariant, Policy, u32_of};
use crate::op::conv2d::{Conv2dGeometry, Epilogue, PaddingMode};

/// Which GPU lowering runs a conv2d.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Conv2dAlgo {
    /// Pick per call (or the device's [`super::Lowerings::conv2d`] / `WGCNN_CONV2D`).
    /// The direct kernel for depthwise convolutions; on CPU drivers Winograd for 3x3
    /// stride-1 convolutions with 8 or more input channels, the direct kernel for a
    /// handful of output pixels, the packed implicit GEMM otherwise; on GPUs a plain
    /// GEMM for 1x1 stride-1 convolutions and im2col + GEMM otherwise.
    #[default]
    Auto,
    /// im2col + GEMM (any convolution; a pointwise one, 1x1 with stride 1 and no
    /// padding, skips the unfolding: its input is the column matrix).
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
    /// binding, on an adapter with indirect dispatches); other convolutions take the
    /// `Auto` choice. Tiles with an inf or NaN output (an inf or NaN input or weight, or
    /// a transform overflow) are recomputed by the direct sum, so non-finite and huge
    /// inputs give the direct convolution's numbers.
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

/// Options of [`crate::conv2d_ext`] beyond PyTorch's parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Conv2dOptions {
    /// Apply relu in the epilogue (`relu(conv2d(..))` in one dispatch).
    pub relu: bool,
    pub algo: Conv2dAlgo,
    /// Most bytes the im2col column matrix may take (default 64 MiB, and never more
    /// than one storage binding).
    pub col_budget: Option<u64>,
}

/// The lowering that runs one conv2d call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lowering {
    Pointwise,
    Im2col,
    Direct(DirectKernel),
    Packed,
    Winograd,
}

/// Output pixels, and output elements, under which `Auto` picks the direct kernel on
/// CPU drivers (measured: mnist_cnn's last conv, 64 pixels x 10 channels over 3136
/// taps, 6.0 -> 4.2 ms; but ResNet-18's last 3x3 convs, 49 pixels x 512 channels, take
/// 229 ms direct and 83 ms as Winograd).
const FEW_PIXELS: usize = 512;
const FEW_OUTPUTS: usize = 4096;
/// Input channels from which `Auto` picks Winograd on CPU drivers (measured: with 1 or
/// 3 input channels the transforms cost more than the multiplies they save).
const WINOGRAD_MIN_C_IN: usize = 8;

/// Output pixels (of the whole batch) up to which, on CPU drivers, a pointwise
/// convolution runs as a GEMM over its input, and a strided one with
/// [`GEMM_MIN_C_IN`] or more input channels as im2col + GEMM, instead of the packed
/// kernel. Found by autotuning MobileNetV2, EfficientNet-B0 and ResNet-18 on lavapipe:
/// their 1x1 convolutions giving 7x7 and 14x14 maps take the GEMMs, 28x28 and more the
/// packed kernel; their stride-2 convolutions with 128 and 256 input channels giving
/// 14x14 and 7x7 maps the im2col GEMMs, 28x28 the packed kernel.
const GEMM_PIXELS: usize = 196;
const GEMM_MIN_C_IN: usize = 128;
/// Output pixels up to which any convolution of one group with [`GEMM_MIN_C_IN`] or
/// more input channels runs as im2col + GEMM on CPU drivers (ResNet-18's last 3x3
/// convolutions, 7x7 maps of 512 channels: 40 ms as Winograd, 19 as im2col on the
/// subgroup GEMM, on lavapipe).
const SMALL_MAP_PIXELS: usize = 49;

/// The lowering for `g` when `algo` is asked for, under the device's policy, and the
/// GEMM kernel it runs with.
pub(crate) fn choose(
    gpu: &GpuHandle,
    g: &Conv2dGeometry,
    algo: Conv2dAlgo,
    policy: &Policy,
) -> (Lowering, GemmVariant) {
    (choose_lowering(gpu, g, algo, policy), policy.gemm)
}

fn choose_lowering(
    gpu: &GpuHandle,
    g: &Conv2dGeometry,
    algo: Conv2dAlgo,
    policy: &Policy,
) -> Lowering {
    let wanted = match algo {
        Conv2dAlgo::Auto => policy.conv2d,
        other => other,
    };
    let winograd = winograd::applies(g, gpu);
    let software = policy.software;
    // a pointwise convolution's column matrix is its input: no unfolding
    let pointwise = g.is_pointwise() && g.mode == PaddingMode::Zeros;
    let pixels = g.n * g.oh * g.ow;
    match wanted {
        Conv2dAlgo::Winograd if winograd => Lowering::Winograd,
        Conv2dAlgo::Im2col if pointwise => Lowering::Pointwise,
        Conv2dAlgo::Im2col => Lowering::Im2col,
        Conv2dAlgo::Packed => Lowering::Packed,
        Conv2dAlgo::Direct => Lowering::Direct(DirectKernel::for_direct(g)),
        Conv2dAlgo::Implicit => Lowering::Direct(DirectKernel::Implicit),
        // Auto, and Winograd where it does not apply
        _ if g.mg < 4 => Lowering::Direct(DirectKernel::for_direct(g)),
        // a handful of output pixels (a kernel as large as its input): one invocation
        // per output element spreads further than 8 pixels per invocation
        _ if software
            && g.n * g.oh * g.ow < FEW_PIXELS
            && g.n * g.oh * g.ow * g.c_out < FEW_OUTPUTS =>
        {
            Lowering::Direct(DirectKernel::for_direct(g))
        }
        // the smallest maps with many channels: im2col + GEMM (Winograd's GEMMs would
        // have a handful of tiles a lane block)
        _ if software
            && pixels <= SMALL_MAP_PIXELS
            && !pointwise
            && g.groups == 1
            && g.c_in >= GEMM_MIN_C_IN =>
        {
            Lowering::Im2col
        }
        // Winograd where the GEMMs have enough input channels to pay for the transforms
        _ if software && g.c_in >= WINOGRAD_MIN_C_IN && winograd => Lowering::Winograd,
        // small maps: the GEMMs
        _ if software && pointwise && pixels <= GEMM_PIXELS => Lowering::Pointwise,
        _ if software
            && g.stride != [1, 1]
            && g.groups == 1
            && g.c_in >= GEMM_MIN_C_IN
            && pixels <= GEMM_PIXELS =>
        {
            Lowering::Im2col
        }
        _ if software && packed::fits(gpu) => Lowering::Packed,
        _ if software => Lowering::Direct(DirectKernel::Implicit),
        _ if pointwise => Lowering::Pointwise,
        _ => Lowering::Im2col,
    }
}

/// The buffers of one conv2d call: input, weight, bias (the weight stands in when there
/// is none: never read), output, the residual its epilogue adds (if any), the weight
/// and bias sizes in bytes, the bias flag, and the epilogue.
#[derive(Clone, Copy)]
pub(crate) struct ConvIo<'a> {
    pub x: Buf<'a>,
    pub w: Buf<'a>,
    pub b: Buf<'a>,
    pub y: Buf<'a>,
    pub r: Option<Buf<'a>>,
    pub w_size: u64,
    pub b_size: u64,
    pub flags: u32,
    pub epilogue: Epilogue,
}

impl<'a> ConvIo<'a> {
    /// The buffers of `y = conv2d(x, w, bias)` followed by `epilogue` (its residual
    /// `r`).
    pub(crate) fn new(
        (x, w, y): (Buf<'a>, Buf<'a>, Buf<'a>),
        w_size: u64,
        bias: Option<(Buf<'a>, u64)>,
        (epilogue, r): (Epilogue, Option<Buf<'a>>),
    ) -> Self {
        let flags = if bias.is_some() { FLAG_BIAS } else { 0 };
        let (b, b_size) = bias.unwrap_or((w, 4));
        Self {
            x,
            w,
            b,
            y,
            r: r.filter(|_| epilogue.residual),
            w_size,
            b_size,
            flags,
            epilogue: Epilogue {
                residual: epilogue.residual && r.is_some(),
                ..epilogue
            },
        }
    }

    /// The residual's binding (20) over the output's window `(offset, size)`, or the
    /// weights standing in (never read) where the epilogue adds none.
    pub(crate) fn residual(&self, offset: u64, size: u64) -> Bind<'a> {
        match self.r {
            Some(r) => Bind::at(RESIDUAL_BINDING, r, offset, size),
            None => Bind::at(RESIDUAL_BINDING, self.w, 0, 4),
        }
    }

    /// `spec` specialised to this call's epilogue.
    pub(crate) fn specialise(&self, mut spec: PipelineSpec) -> PipelineSpec {
        spec.constants.extend(epilogue_constants(self.epilogue));
        spec
    }
}

/// The binding of the residual in every kernel with the epilogue
/// (`shaders/lib/epilogue.wgsl`).
pub(crate) const RESIDUAL_BINDING: u32 = 20;

/// Records the convolution `g` into `io.y` with the lowering chosen for `options`.
pub(crate) fn launch(
    device: &Device,
    gpu: &GpuHandle,
    io: &ConvIo<'_>,
    g: &Conv2dGeometry,
    options: &Conv2dOptions,
) -> Result<()> {
    check_sizes(g)?;
    if bands::needed(gpu, g) {
        if gpu.elem() != Elem::F32 {
            // its bands are moved with buffer copies, which take whole u32 words
            return Err(Error::Unsupported(
                "an f16 convolution whose images exceed a storage binding".into(),
            ));
        }
        return bands::launch(device, gpu, io, g, options);
    }
    let policy = super::policy(gpu)?;
    // a lowering asked for, by the call or the device, is not second-guessed
    let asked = options.algo != Conv2dAlgo::Auto || policy.conv2d != Conv2dAlgo::Auto;
    let choice = if policy.autotune == Autotune::Off || asked || gpu.elem() != Elem::F32 {
        choose(gpu, g, options.algo, &policy)
    } else {
        autotune::choose(device, gpu, io, g, &policy, options.col_budget)?
    };
    run(
        device,
        gpu,
        io,
        g,
        half_lowering(gpu, g, choice, asked),
        options.col_budget,
    )
}

/// `choice` for an f16 call. Over more than one chunk of input channels (512 taps) the
/// packed kernel keeps its chunks' sums in f32 partials, a run of images at a time;
/// it runs so where it was asked for (`asked`) and one image's partials fit a binding,
/// else im2col runs, with the same GEMM and a small f16 column matrix (see
/// `matmul::im2col`): on lavapipe a ResNet-18 downsampling 3x3 (64 -> 128 channels,
/// 56x56, stride 2) took 5.9 ms that way against 8.6 ms packed (f32 packed: 7.3 ms).
/// Winograd keeps its transformed tiles in f32, within a quarter of f32's tile budget
/// (see `winograd::launch`). The direct kernels, measured on lavapipe, were 4-9x slower
/// than im2col. An f16 convolution is not timed by the autotuner: its cache is keyed
/// per shape, not type.
fn half_lowering(
    gpu: &GpuHandle,
    g: &Conv2dGeometry,
    (lowering, gemm): (Lowering, GemmVariant),
    asked: bool,
) -> (Lowering, GemmVariant) {
    match lowering {
        Lowering::Packed
            if gpu.elem() != Elem::F32
                && packed::chunks(g) > 1
                && !(asked && packed::partial_images(gpu, g).is_some()) =>
        {
            (Lowering::Im2col, gemm)
        }
        _ => (lowering, gemm),
    }
}

/// Records the convolution `g` into `io.y` with one lowering and GEMM kernel.
fn run(
    device: &Device,
    gpu: &GpuHandle,
    io: &ConvIo<'_>,
    g: &Conv2dGeometry,
    (lowering, gemm): (Lowering, GemmVariant),
    col_budget: Option<u64>,
) -> Result<()> {
    match lowering {
        // the register GEMMs read whole vec4s of B: a map that is not whole vec4s (7x7)
        // is copied into rows that are, as im2col's column matrix
        Lowering::Pointwise
            if matmul::vec4_columns(g, gemm) && !(g.oh * g.ow).is_multiple_of(4) =>
        {
            matmul::im2col(device, gpu, io, g, gemm, col_budget)
        }
        Lowering::Pointwise => matmul::pointwise(gpu, io, g, gemm),
        Lowering::Im2col => matmul::im2col(device, gpu, io, g, gemm, col_budget),
        Lowering::Direct(kernel) => direct::launch(gpu, io, g, kernel),
        Lowering::Packed => packed::launch(device, gpu, io, g),
        Lowering::Winograd => winograd::launch(device, gpu, io, g, gemm),
    }
}

/// A convolution over no input channels (`c_in = 0`, as PyTorch allows): the output is
/// the bias, or zeros, through relu when fused. The GEMM with `k = 0` writes it; its
/// A and B are a scratch buffer it never reads.
pub(crate) fn launch_no_channels(
    device: &Device,
    gpu: &GpuHandle,
    (y, r): (Buf<'_>, Option<Buf<'_>>),
    bias: Option<(Buf<'_>, u64)>,
    g: &Conv2dGeometry,
    epilogue: Epilogue,
) -> Result<()> {
    check_sizes(g)?;
    let policy = super::policy(gpu)?;
    let scratch = crate::tensor::Tensor::zeros(device, &[4])?;
    let unread = scratch.gpu_buffer()?;
    let mut io = ConvIo::new((unread, unread, y), 16, bias, (epilogue, r));
    if bias.is_none() {
        io.b = unread;
    }
    matmul::pointwise(gpu, &io, g, policy.gemm)
}

/// Every size a kernel reads as u32 fits one, and so do the per-image element counts.
fn check_sizes(g: &Conv2dGeometry) -> Result<()> {
    let dims = [
        g.n,
        g.c_in,
        g.h,
        g.w,
        g.c_out,
        g.kh,
        g.kw,
        g.oh,
        g.ow,
        g.pad[0],
        g.pad[1],
        g.pad[2],
        g.pad[3],
        g.stride[0],
        g.stride[1],
        g.dilation[0],
        g.dilation[1],
    ];
    for d in dims {
        u32_of(d as u64, "conv2d size")?;
    }
    let checked = |a: usize, b: usize, c: usize| {
        a.checked_mul(b)
            .and_then(|v| v.checked_mul(c))
            .map_or(Err(()), |v| {
                u32_of(v as u64, "conv2d image elements").map_err(|_| ())
            })
    };
    if checked(g.c_in, g.h, g.w).is_err() || checked(g.c_out, g.oh, g.ow).is_err() {
        return Err(Error::Limit {
            op: "conv2d",
            what: "conv2d image elements",
            requested: u64::MAX,
            limit: u64::from(u32::MAX),
        });
    }
    Ok(())
}

/// The `MODE` override (and `mode` field) of a padding mode: its index in
/// zeros, reflect, replicate, circular.
pub(crate) fn mode_code(mode: PaddingMode) -> u32 {
    match mode {
        PaddingMode::Zeros => 0,
        PaddingMode::Reflect => 1,
        PaddingMode::Replicate => 2,
        PaddingMode::Circular => 3,
    }
}

uniform! {
    /// The sizes every conv2d kernel reads, first in each of their uniforms.
    pub(crate) struct ConvShape {
        c: u32,
        h: u32,
        w: u32,
        cg: u32,
        kh: u32,
        kw: u32,
        stride_h: u32,
        stride_w: u32,
        pad_t: u32,
        pad_l: u32,
        dil_h: u32,
        dil_w: u32,
        oh: u32,
        ow: u32,
        c_out: u32,
        mg: u32,
    }
}

impl ConvShape {
    /// The shape of `g` (its sizes checked by [`check_sizes`]).
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

uniform! {
    /// `Im2colParams` of im2col.wgsl.
    pub(crate) struct Im2colParams {
        shape: ConvShape,
        row0: u32,
        rows: u32,
        ncols: u32,
        k: u32,
        total: u32,
        mode: u32,
        in_shift: u32,
        /// Floats from one row of the column matrix to the next: `ncols`, or rounded
        /// up to whole vec4s for the vec4 GEMM.
        stride: u32,
    }
}

uniform! {
    /// `DirectParams` of conv2d.wgsl.
    pub(crate) struct DirectParams {
        shape: ConvShape,
        total: u32,
        flags: u32,
        mode: u32,
        in_shift: u32,
        out_shift: u32,
        _pad: [u32; 3],
    }
}

/// Images per dispatch whose input and output windows each fit one binding.
fn images_per_binding(gpu: &GpuHandle, g: &Conv2dGeometry) -> usize {
    let (in_image, out_image) = image_sizes(g);
    let chunk = gpu.band_room();
    (chunk / in_image.max(1))
        .min(chunk / out_image.max(1))
        .max(1) as usize
}

/// Calls `f(images, input window, output window)` for each run of at most `max_run`
/// images of `g` whose input and output windows each fit one binding.
fn for_each_image_run(
    gpu: &GpuHandle,
    g: &Conv2dGeometry,
    max_run: usize,
    mut f: impl FnMut(usize, Window, Window) -> Result<()>,
) -> Result<()> {
    // each image's estimated cost: its multiply-adds and the outputs it writes
    let per_image = (g.macs() / g.n.max(1) as u64).saturating_add(image_sizes(g).1);
    gpu.for_each_budgeted_run(
        "conv2d image size (bytes)",
        g.n,
        image_sizes(g),
        max_run,
        per_image,
        |_, images, x, y| f(images, x, y),
    )
}

/// Elements of one input image and of one output image.
fn image_sizes(g: &Conv2dGeometry) -> (u64, u64) {
    ((g.c_in * g.h * g.w) as u64, (g.c_out * g.oh * g.ow) as u64)
}

/// The row specialisation of `conv2d_packed_rows` and `conv2d_depthwise_q` (kernel
/// width, left padding, stride and dilation along the row) for a convolution they
/// compute: zero padding, rows of whole vec4s in and out, stride 1 with dilation 1, or
/// stride 2, and every tap of 4 neighbouring pixels within the 16 columns the kernel
/// loads around them.
fn row_spec(g: &Conv2dGeometry) -> Option<[u32; 4]> {
    if g.mode != PaddingMode::Zeros || !g.w.is_multiple_of(4) || !g.ow.is_multiple_of(4) {
        return None;
    }
    let (kw, pl, sw, dw) = (g.kw, g.pad[2], g.stride[1], g.dilation[1]);
    let fits = if g.stride == [1, 1] && g.dilation == [1, 1] {
        matches!(
            (kw, pl),
            (1, 0) | (2, 0 | 1) | (3, 0..=2) | (5, 0..=2) | (7, 2 | 3)
        )
    } else {
        sw == 2
            && matches!(
                (kw, pl, dw),
                (1, 0, 1) | (2, 0, 1) | (3, 0 | 1, 1) | (3, 1 | 2, 2) | (5, 2, 1) | (7, 3, 1)
            )
    };
    fits.then(|| [kw, pl, sw, dw].map(|v| v as u32))
}

/// The overrides of a [`row_spec`].
fn row_constants(spec: [u32; 4]) -> Vec<(&'static str, f64)> {
    ["KW", "PL", "SW", "DW"]
        .into_iter()
        .zip(spec.map(f64::from))
        .collect()
}
