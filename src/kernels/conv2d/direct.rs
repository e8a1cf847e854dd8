//! The direct conv2d kernels of `shaders/conv2d.wgsl`: input and weights read straight
//! from storage, no column matrix and no packing.

use super::for_each_image_run;
use super::{ConvIo, ConvShape, DirectParams, image_sizes, images_per_binding, mode_code};
use super::{row_constants, row_spec};
use crate::device::{Bind, GpuHandle, Slot};
use crate::error::Result;
use crate::kernels::shaders::Shader;
use crate::kernels::u32_of;
use crate::op::conv2d::Conv2dGeometry;

/// Which kernel of conv2d.wgsl runs a direct lowering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DirectKernel {
    /// `conv2d_dot`: a kernel covering its whole (unpadded) input, one group: one vec4
    /// dot product per output.
    Dot,
    /// `conv2d_depthwise_q`: depthwise, stride 1, rows of whole vec4s: 4 rows x 4
    /// pixels per invocation with vec4 loads and stores (the row specialisation).
    DepthwiseRows([u32; 4]),
    /// `conv2d_depthwise4`: depthwise, stride 1, dilation 1, kernel width up to 7: 4
    /// outputs of a row per invocation.
    Depthwise4,
    /// `conv2d_direct`: one invocation per output element (any convolution).
    Direct,
    /// `conv2d_implicit`: one invocation per output pixel and 16 output channels.
    Implicit,
}

impl DirectKernel {
    /// The kernel `Conv2dAlgo::Direct` runs for `g`: the most specialised that computes
    /// it.
    pub(crate) fn for_direct(g: &Conv2dGeometry) -> Self {
        let (in_image, _) = image_sizes(g);
        let dot = g.groups == 1
            && (g.oh, g.ow, g.kh, g.kw) == (1, 1, g.h, g.w)
            && g.pad == [0; 4]
            && g.dilation == [1, 1]
            && in_image.is_multiple_of(4);
        let depthwise4 = g.cg == 1 && g.stride == [1, 1] && g.dilation == [1, 1] && g.kw <= 7;
        match row_spec(g) {
            _ if dot => Self::Dot,
            Some(spec) if depthwise4 => Self::DepthwiseRows(spec),
            _ if depthwise4 => Self::Depthwise4,
            _ => Self::Direct,
        }
    }
}

const DEPTHWISE_Q_LAYOUT: &[(u32, Slot)] = layout![
    1 => Read, 2 => Read, 3 => ReadWrite, 4 => Uniform, 5 => Read, 6 => ReadWrite, 20 => Read
];
const DOT_LAYOUT: &[(u32, Slot)] =
    layout![2 => Read, 3 => ReadWrite, 4 => Uniform, 5 => Read, 7 => Read, 20 => Read];
const DIRECT_LAYOUT: &[(u32, Slot)] =
    layout![0 => Read, 1 => Read, 2 => Read, 3 => ReadWrite, 4 => Uniform, 20 => Read];

/// Workgroups of the implicit kernel: 64 pixels in x, 16 channels in y, groups in z.
fn implicit_grid(gpu: &GpuHandle, pixels: u64, g: &Conv2dGeometry) -> Result<[u32; 3]> {
    let dims = [
        pixels.div_ceil(64),
        (g.mg as u64).div_ceil(16),
        g.groups as u64,
    ];
    gpu.grid3(dims, "conv2d workgroups per dimension")
}

/// Records `g` with `kernel`, in runs of images that fit a binding.
pub(super) fn launch(
    gpu: &GpuHandle,
    io: &ConvIo<'_>,
    g: &Conv2dGeometry,
    kernel: DirectKernel,
) -> Result<()> {
    let spec = match kernel {
        DirectKernel::Dot => Shader::Conv2d.entry("conv2d_dot", DOT_LAYOUT),
        DirectKernel::DepthwiseRows(rows) => {
            let mut spec = Shader::Conv2d.entry("conv2d_depthwise_q", DEPTHWISE_Q_LAYOUT);
            spec.constants = row_constants(rows);
            spec
        }
        DirectKernel::Depthwise4 => Shader::Conv2d
            .entry("conv2d_depthwise4", DIRECT_LAYOUT)
            .with("KW", g.kw as u32),
        DirectKernel::Direct => Shader::Conv2d.entry("conv2d_direct", DIRECT_LAYOUT),
        DirectKernel::Implicit => Shader::Conv2d.entry("conv2d_implicit", DIRECT_LAYOUT),
    };
    let pipeline = gpu.pipeline(&io.specialise(spec))?;
    let (_, out_image) = image_sizes(g);
    let ohw = (g.oh * g.ow) as u64;
    let ConvIo {
        x,
        w,
        b,
        y,
        w_size,
        b_size,
        flags,
        ..
    } = *io;
    for_each_image_run(
        gpu,
        g,
        images_per_binding(gpu, g),
        |nb, (x_off, x_size, x_shift), (y_off, y_size, y_shift)| {
            let nb = nb as u64;
            let total = match kernel {
                DirectKernel::Dot | DirectKernel::Direct => nb * out_image,
                DirectKernel::DepthwiseRows(_) => {
                    nb * (g.c_out * g.oh.div_ceil(4) * g.ow / 4) as u64
                }
                DirectKernel::Depthwise4 => nb * (g.c_out * g.oh * g.ow.div_ceil(4)) as u64,
                DirectKernel::Implicit => nb * ohw,
            };
            let params = DirectParams {
                shape: ConvShape::of(g),
                total: u32_of(total, "conv2d outputs")?,
                flags,
                mode: mode_code(g.mode),
                in_shift: x_shift,
                out_shift: y_shift,
                ..DirectParams::default()
            };
            let mut binds = match kernel {
                // the input and the weights as vec4 (whole images, and filters of a
                // multiple of 4 taps)
                DirectKernel::Dot => vec![
                    Bind::at(2, b, 0, b_size),
                    Bind::at(3, y, y_off, y_size),
                    Bind::at(5, x, x_off, x_size.div_ceil(16) * 16),
                    Bind::at(7, w, 0, w_size),
                ],
                // vec4 views (whole images of whole rows: the shifts are multiples of 4)
                DirectKernel::DepthwiseRows(_) => vec![
                    Bind::at(1, w, 0, w_size),
                    Bind::at(2, b, 0, b_size),
                    Bind::at(3, y, y_off, y_size),
                    Bind::at(5, x, x_off, x_size.div_ceil(16) * 16),
                    Bind::at(6, y, y_off, y_size.div_ceil(16) * 16),
                ],
                _ => vec![
                    Bind::at(0, x, x_off, x_size),
                    Bind::at(1, w, 0, w_size),
                    Bind::at(2, b, 0, b_size),
                    Bind::at(3, y, y_off, y_size),
                ],
            };
            binds.push(io.residual(y_off, y_size));
            let grid = match kernel {
                DirectKernel::Dot | DirectKernel::DepthwiseRows(_) | DirectKernel::Depthwise4 => {
                    gpu.grid(total.div_ceil(64))?
                }
                DirectKernel::Direct => gpu.grid(total.div_ceil(256))?,
                DirectKernel::Implicit => implicit_grid(gpu, total, g)?,
            };
            gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), grid)
        },
    )
}
