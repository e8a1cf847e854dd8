//! Pooling: `max_pool2d` (with indices), `avg_pool2d`, `adaptive_avg_pool2d` and
//! `adaptive_max_pool2d`, with PyTorch's output-size rules (ceil_mode's last window,
//! avg pool's divisor) and its error messages. One invocation per output element;
//! planes are processed in chunks that fit a storage binding.

use crate::device::{Bind, DeviceKind, GpuHandle};
use crate::error::{Error, Result};
use crate::reference;
use crate::shaders::{Constants, Shader, Slot, kernel_width};
use crate::tensor::{IndexTensor, Storage, Tensor};

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
fn pooling_output_size(
    op: &'static str,
    input: i64,
    kernel: i64,
    pad: i64,
    stride: i64,
    dilation: i64,
    ceil_mode: bool,
) -> Result<i64> {
    if stride == 0 {
        return Err(Error::param(op, "stride should not be zero"));
    }
    if pad < 0 {
        return Err(Error::param(
            op,
            format!("pad must be non-negative, but got pad: {pad}"),
        ));
    }
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
            h as i64,
            kernel[0],
            padding[0],
            stride[0],
            dilation[0],
            ceil_mode,
        )?;
        let ow = pooling_output_size(
            op,
            w as i64,
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
        Ok(Self {
            n,
            c,
            h,
            w,
            kernel: kernel.map(|v| v as usize),
            stride: stride.map(|v| v as usize),
            padding: padding.map(|v| v as usize),
            dilation: dilation.map(|v| v as usize),
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

/// Mirror of `PoolParams` in shaders/pool2d.wgsl; keep field order in sync.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct PoolParams {
    pub h: u32,
    pub w: u32,
    pub oh: u32,
    pub ow: u32,
    pub kh: u32,
    pub kw: u32,
    pub sh: u32,
    pub sw: u32,
    pub ph: u32,
    pub pw: u32,
    pub dh: u32,
    pub dw: u32,
    pub total: u32,
    pub flags: u32,
    pub divisor: u32,
    pub in_shift: u32,
    pub out_shift: u32,
    pub idx_shift: u32,
    pub _pad: [u32; 2],
}

const FLAG_INDICES: u32 = 1;
const FLAG_COUNT_PAD: u32 = 2;
const FLAG_DIVISOR: u32 = 4;

const LAYOUT: &[(u32, Slot)] = &[
    (0, Slot::Read),
    (1, Slot::ReadWrite),
    (2, Slot::ReadWrite),
    (3, Slot::Uniform),
];
const LAYOUT_V4: &[(u32, Slot)] = &[
    (1, Slot::ReadWrite),
    (3, Slot::Uniform),
    (4, Slot::Read),
    (5, Slot::ReadWrite),
];

/// The specialisation of `max_pool2d4v` / `avg_pool2d4v` for a pooling, when it has
/// one: rows of whole vec4s, dilation 1 along the row, and a (kernel, padding, stride)
/// along the row whose 4 windows stay within the 12 columns of 3 quads.
fn vec4_constants(g: &Pool2dGeometry) -> Option<Constants> {
    if !g.w.is_multiple_of(4) || g.dilation[1] != 1 {
        return None;
    }
    Some(match (g.kernel[1], g.padding[1], g.stride[1]) {
        (1, 0, 1) => &[("KW", 1.0), ("PW", 0.0), ("SW", 1.0)],
        (2, 0, 1) => &[("KW", 2.0), ("PW", 0.0), ("SW", 1.0)],
        (2, 1, 1) => &[("KW", 2.0), ("PW", 1.0), ("SW", 1.0)],
        (3, 0, 1) => &[("KW", 3.0), ("PW", 0.0), ("SW", 1.0)],
        (3, 1, 1) => &[("KW", 3.0), ("PW", 1.0), ("SW", 1.0)],
        (1, 0, 2) => &[("KW", 1.0), ("PW", 0.0), ("SW", 2.0)],
        (2, 0, 2) => &[("KW", 2.0), ("PW", 0.0), ("SW", 2.0)],
        (2, 1, 2) => &[("KW", 2.0), ("PW", 1.0), ("SW", 2.0)],
        (3, 1, 2) => &[("KW", 3.0), ("PW", 1.0), ("SW", 2.0)],
        _ => return None,
    })
}

/// Records one pooling entry point over every plane, in chunks of planes that fit a
/// binding. `indices` is written when given (max pools).
fn launch(
    gpu: &GpuHandle,
    entry: &'static str,
    x: &Tensor,
    out: &Tensor,
    indices: Option<&IndexTensor>,
    params: PoolParams,
    planes: usize,
) -> Result<()> {
    launch_with(gpu, (entry, &[], [1, 1]), x, out, indices, params, planes)
}

/// [`launch`] for an entry point specialised with `constants` whose invocations each
/// compute `per` = [columns, rows] neighbouring outputs (64 invocations per workgroup
/// unless `per` is [1, 1]).
fn launch_with(
    gpu: &GpuHandle,
    (entry, constants, per): (&'static str, Constants, [u32; 2]),
    x: &Tensor,
    out: &Tensor,
    indices: Option<&IndexTensor>,
    mut params: PoolParams,
    planes: usize,
) -> Result<()> {
    let (Some(src), Some(dst)) = (x.gpu_buffer(), out.gpu_buffer()) else {
        return Ok(()); // no elements
    };
    let idx_buf = indices.and_then(IndexTensor::gpu_buffer).unwrap_or(dst);
    let vec4 = entry.ends_with("4v") || entry.ends_with("4r");
    let layout = if vec4 { LAYOUT_V4 } else { LAYOUT };
    let pipeline = gpu.pipeline_with(Shader::Pool2d, entry, layout, constants)?;
    let (in_plane, out_plane) = (
        u64::from(params.h * params.w),
        u64::from(params.oh * params.ow),
    );
    gpu.for_each_run(
        "pooling plane size (bytes)",
        planes,
        (in_plane, out_plane),
        usize::MAX,
        |_, np, (x_off, x_size, x_shift), (y_off, y_size, y_shift)| {
            let np = np as u64;
            params.total = if per == [1, 1] {
                (np * out_plane) as u32
            } else {
                (np * u64::from(params.oh.div_ceil(per[1]) * params.ow.div_ceil(per[0]))) as u32
            };
            params.in_shift = x_shift;
            params.out_shift = y_shift;
            params.idx_shift = y_shift;
            let grid =
                gpu.grid(u64::from(params.total).div_ceil(if per == [1, 1] { 256 } else { 64 }))?;
            if vec4 {
                // whole planes of whole rows: the input shift is a multiple of 4, and
                // so is the output's when the vec4 stores are used (ow % 4 == 0)
                let binds = [
                    Bind::at(1, dst, y_off, y_size),
                    Bind::at(4, src, x_off, x_size.div_ceil(16) * 16),
                    Bind::at(5, dst, y_off, y_size.div_ceil(16) * 16),
                ];
                return gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), grid);
            }
            let binds = [
                Bind::at(0, src, x_off, x_size),
                Bind::at(1, dst, y_off, y_size),
                Bind::at(2, idx_buf, y_off, y_size),
            ];
            gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), grid)?;
            Ok(())
        },
    )?;
    Ok(())
}

fn pool_params(g: &Pool2dGeometry) -> PoolParams {
    PoolParams {
        h: g.h as u32,
        w: g.w as u32,
        oh: g.oh as u32,
        ow: g.ow as u32,
        kh: g.kernel[0] as u32,
        kw: g.kernel[1] as u32,
        sh: g.stride[0] as u32,
        sw: g.stride[1] as u32,
        ph: g.padding[0] as u32,
        pw: g.padding[1] as u32,
        dh: g.dilation[0] as u32,
        dw: g.dilation[1] as u32,
        ..PoolParams::default()
    }
}

fn set_cpu(out: &mut Tensor, data: Vec<f32>) {
    if let Storage::Cpu(dst) = out.storage_mut() {
        *dst = data;
    }
}

/// 2-D max pooling. Padded cells act as -inf; NaN propagates (a later NaN in the
/// window wins, as in PyTorch); ties keep the first maximum.
///
/// Corresponds to `torch.nn.functional.max_pool2d`.
///
/// # Shapes
/// `input [n, c, h, w]` or `[c, h, w]` → `[n, c, oh, ow]` (or `[c, oh, ow]`).
///
/// # Errors
/// PyTorch's errors (padding over half the kernel, output too small, zero stride, ...).
pub fn max_pool2d(x: &Tensor, params: &MaxPool2dParams) -> Result<Tensor> {
    max_pool2d_impl(x, params, false).map(|(y, _)| y)
}

/// [`max_pool2d`] with `return_indices=True`: also the flat index of each maximum in
/// its input plane.
///
/// # Errors
/// As [`max_pool2d`].
pub fn max_pool2d_with_indices(
    x: &Tensor,
    params: &MaxPool2dParams,
) -> Result<(Tensor, IndexTensor)> {
    max_pool2d_impl(x, params, true).map(|(y, i)| (y, i.expect("indices were asked for")))
}

fn max_pool2d_impl(
    x: &Tensor,
    params: &MaxPool2dParams,
    with_indices: bool,
) -> Result<(Tensor, Option<IndexTensor>)> {
    let g = params.geometry(x.shape())?;
    let shape = g.output_shape();
    let mut out = Tensor::uninit(x.device(), &shape)?;
    match x.device().kind() {
        DeviceKind::Cpu => {
            let (y, idx) = reference::pool2d::max_pool2d(x.cpu_data(), &g);
            set_cpu(&mut out, y);
            Ok((
                out,
                with_indices.then(|| IndexTensor::from_cpu(idx, &shape)),
            ))
        }
        DeviceKind::Gpu(gpu) => {
            let indices = with_indices
                .then(|| IndexTensor::uninit_gpu(x.device(), &shape))
                .transpose()?;
            let mut p = pool_params(&g);
            p.flags = if with_indices { FLAG_INDICES } else { 0 };
            match vec4_constants(&g) {
                Some(constants) if !with_indices => launch_with(
                    gpu,
                    // 2 rows per invocation where their windows overlap
                    if g.dilation[0] == 1 && g.stride[0] < g.kernel[0] {
                        ("max_pool2d4r", constants, [4, 2])
                    } else {
                        ("max_pool2d4v", constants, [4, 1])
                    },
                    x,
                    &out,
                    None,
                    p,
                    g.n * g.c,
                )?,
                _ => launch(gpu, "max_pool2d", x, &out, indices.as_ref(), p, g.n * g.c)?,
            }
            Ok((out, indices))
        }
    }
}

/// 2-D average pooling. With `ceil_mode` a partial last window divides by the cells it
/// covers inside the padded input (padding counted when `count_include_pad`, cells past
/// the padding never); `divisor_override` replaces the divisor.
///
/// Corresponds to `torch.nn.functional.avg_pool2d`.
///
/// # Shapes
/// `input [n, c, h, w]` or `[c, h, w]` → `[n, c, oh, ow]` (or `[c, oh, ow]`).
///
/// # Errors
/// PyTorch's errors.
pub fn avg_pool2d(x: &Tensor, params: &AvgPool2dParams) -> Result<Tensor> {
    let g = params.geometry(x.shape())?;
    let mut out = Tensor::uninit(x.device(), &g.output_shape())?;
    match x.device().kind() {
        DeviceKind::Cpu => {
            let y = reference::pool2d::avg_pool2d(
                x.cpu_data(),
                &g,
                params.count_include_pad,
                params.divisor_override,
            );
            set_cpu(&mut out, y);
        }
        DeviceKind::Gpu(gpu) => {
            let mut p = pool_params(&g);
            p.flags = if params.count_include_pad {
                FLAG_COUNT_PAD
            } else {
                0
            };
            if let Some(d) = params.divisor_override {
                p.flags |= FLAG_DIVISOR;
                p.divisor = d as u32;
            }
            // 4 outputs per invocation sharing loads: vec4 loads where rows allow,
            // else stride 1 along rows with narrow kernels
            if let Some(constants) = vec4_constants(&g) {
                launch_with(
                    gpu,
                    if g.stride == [1, 1] && g.dilation[0] == 1 {
                        ("avg_pool2d4r", constants, [4, 4])
                    } else {
                        ("avg_pool2d4v", constants, [4, 1])
                    },
                    x,
                    &out,
                    None,
                    p,
                    g.n * g.c,
                )?;
            } else if g.stride[1] == 1 && g.kernel[1] <= 7 {
                launch_with(
                    gpu,
                    ("avg_pool2d4", kernel_width(g.kernel[1]), [4, 1]),
                    x,
                    &out,
                    None,
                    p,
                    g.n * g.c,
                )?;
            } else {
                launch(gpu, "avg_pool2d", x, &out, None, p, g.n * g.c)?;
            }
        }
    }
    Ok(out)
}

fn adaptive_params(g: &AdaptiveGeometry) -> PoolParams {
    PoolParams {
        h: g.h as u32,
        w: g.w as u32,
        oh: g.oh as u32,
        ow: g.ow as u32,
        ..PoolParams::default()
    }
}

/// Adaptive average pooling to `output_size` (`None` keeps that input size): output
/// cell `o` averages input `[floor(o*I/O), ceil((o+1)*I/O))`.
///
/// Corresponds to `torch.nn.functional.adaptive_avg_pool2d`.
///
/// # Errors
/// PyTorch's errors.
pub fn adaptive_avg_pool2d(x: &Tensor, output_size: [Option<i64>; 2]) -> Result<Tensor> {
    let g = AdaptiveGeometry::new("adaptive_avg_pool2d", x.shape(), output_size)?;
    let mut out = Tensor::uninit(x.device(), &g.output_shape())?;
    match x.device().kind() {
        DeviceKind::Cpu => set_cpu(
            &mut out,
            reference::pool2d::adaptive_avg_pool2d(x.cpu_data(), &g),
        ),
        DeviceKind::Gpu(gpu) => {
            launch(
                gpu,
                "adaptive_avg_pool2d",
                x,
                &out,
                None,
                adaptive_params(&g),
                g.n * g.c,
            )?;
        }
    }
    Ok(out)
}

/// Adaptive max pooling to `output_size`, with the flat index of each maximum.
///
/// Corresponds to `torch.nn.functional.adaptive_max_pool2d(.., return_indices=True)`.
///
/// # Errors
/// PyTorch's errors.
pub fn adaptive_max_pool2d(
    x: &Tensor,
    output_size: [Option<i64>; 2],
) -> Result<(Tensor, IndexTensor)> {
    let g = AdaptiveGeometry::new("adaptive_max_pool2d", x.shape(), output_size)?;
    let shape = g.output_shape();
    let mut out = Tensor::uninit(x.device(), &shape)?;
    match x.device().kind() {
        DeviceKind::Cpu => {
            let (y, idx) = reference::pool2d::adaptive_max_pool2d(x.cpu_data(), &g);
            set_cpu(&mut out, y);
            Ok((out, IndexTensor::from_cpu(idx, &shape)))
        }
        DeviceKind::Gpu(gpu) => {
            let indices = IndexTensor::uninit_gpu(x.device(), &shape)?;
            let mut p = adaptive_params(&g);
            p.flags = FLAG_INDICES;
            launch(
                gpu,
                "adaptive_max_pool2d",
                x,
                &out,
                Some(&indices),
                p,
                g.n * g.c,
            )?;
            Ok((out, indices))
        }
    }
}

/// The grid of an (8, 32, 1)-workgroup kernel over `np` planes of `oh x ow` outputs
/// (`np` within the per-dimension limit, which the callers' chunking ensures).
pub(crate) fn plane_grid(ow: u32, oh: u32, np: u64) -> [u32; 3] {
    [ow.div_ceil(8).max(1), oh.div_ceil(32).max(1), np as u32]
}
