//! The GEMM behind conv2d (and `matmul`): `shaders/gemm.wgsl`, a 64x64-tiled product
//! through workgroup memory with a 4x4 register block per invocation, strided so that
//! conv2d reads and writes NCHW directly.

use crate::device::{Bind, DeviceKind, GpuHandle};
use crate::error::{Error, Result};
use crate::shaders::Shader;
use crate::shaders::Slot;
use crate::tensor::{Storage, Tensor};

/// Mirror of `GemmParams` in shaders/gemm.wgsl; keep field order in sync. Index maps:
/// `A[m,k] = a[a_off + g*a_gs + m*a_rs + k]`,
/// `B[k,j] = b[b_off + g*b_gs + k*b_rs + (j / b_hw)*b_ns + j % b_hw]`,
/// `C[m,j] = c[c_off + g*c_gs + m*c_ms + (j / c_hw)*c_ns + j % c_hw]`.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct GemmParams {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub flags: u32,
    pub a_off: u32,
    pub a_rs: u32,
    pub a_gs: u32,
    pub b_off: u32,
    pub b_rs: u32,
    pub b_gs: u32,
    pub b_hw: u32,
    pub b_ns: u32,
    pub c_off: u32,
    pub c_ms: u32,
    pub c_gs: u32,
    pub c_hw: u32,
    pub c_ns: u32,
    pub bias_off: u32,
    pub bias_gs: u32,
    pub _pad: u32,
}

const GEMM_LAYOUT: &[(u32, Slot)] = &[
    (0, Slot::Read),
    (1, Slot::Read),
    (2, Slot::Read),
    (3, Slot::ReadWrite),
    (4, Slot::Uniform),
];

/// The tiled GEMM's output tile: 64 x 64 per workgroup.
const GEMM_TILE: u64 = 64;
pub(crate) const FLAG_BIAS: u32 = 1;
pub(crate) const FLAG_RELU: u32 = 2;

/// The GEMM kernels of `shaders/gemm.wgsl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GemmVariant {
    /// 64x64 tiles through workgroup memory, 4x4 per invocation: for GPUs.
    Tiled,
    /// 4x4 register blocks, no workgroup memory or barrier: for CPU drivers.
    Register,
}

impl GemmVariant {
    /// Parses `tiled` or `register`.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for another name.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "tiled" => Ok(Self::Tiled),
            "register" | "reg" => Ok(Self::Register),
            other => Err(Error::param(
                "gemm",
                format!("unknown GEMM variant '{other}' (expected tiled or register)"),
            )),
        }
    }

    pub(crate) fn entry(self) -> &'static str {
        match self {
            Self::Tiled => "gemm",
            Self::Register => "gemm_reg",
        }
    }

    /// Columns and rows of C one workgroup covers.
    fn block(self) -> (u64, u64) {
        match self {
            Self::Tiled => (GEMM_TILE, GEMM_TILE),
            Self::Register => (256, 4),
        }
    }

    /// Most columns one dispatch can cover within `max_groups` workgroups per dimension.
    pub(crate) fn max_cols(self, max_groups: u32) -> u64 {
        u64::from(max_groups) * self.block().0
    }
}

/// Workgroups of the GEMM: column blocks in x, row blocks in y, groups in z.
fn gemm_grid(gpu: &GpuHandle, p: &GemmParams, groups: usize) -> Result<[u32; 3]> {
    let (bn, bm) = gpu.gemm_variant().block();
    let dims = [
        u64::from(p.n).div_ceil(bn),
        u64::from(p.m).div_ceil(bm),
        groups as u64,
    ];
    let max = u64::from(gpu.max_groups_per_dim());
    if let Some(&d) = dims.iter().find(|&&d| d > max) {
        return Err(Error::Limit {
            what: "GEMM workgroups per dimension",
            requested: d,
            limit: max,
        });
    }
    Ok(dims.map(|d| d.max(1) as u32))
}

/// Records one GEMM dispatch over `groups` groups: bindings 0 (A), 1 (B), 2 (bias, any
/// buffer when `p.flags` has no bias) and 3 (C), laid out as `p` says.
pub(crate) fn dispatch_gemm(
    gpu: &GpuHandle,
    binds: &[Bind<'_>; 4],
    p: &GemmParams,
    groups: usize,
) -> Result<()> {
    let pipeline = gpu.pipeline(Shader::Gemm, gpu.gemm_variant().entry(), GEMM_LAYOUT)?;
    gpu.dispatch(
        &pipeline,
        binds,
        bytemuck::bytes_of(p),
        gemm_grid(gpu, p, groups)?,
    )
}

/// Records one GEMM over whole buffers: `a` and `b` with their lengths in elements,
/// an optional bias, and `c` sized by `p`.
pub(crate) fn record(
    gpu: &GpuHandle,
    a: (&wgpu::Buffer, u64),
    b: (&wgpu::Buffer, u64),
    bias: Option<(&wgpu::Buffer, u64)>,
    c: &wgpu::Buffer,
    mut p: GemmParams,
) -> Result<()> {
    if bias.is_some() {
        p.flags |= FLAG_BIAS;
    }
    let (bias_buf, bias_len) = bias.unwrap_or((a.0, 1));
    let c_len = u64::from(p.m) * u64::from(p.n);
    let binds = [
        Bind::at(0, a.0, 0, a.1 * 4),
        Bind::at(1, b.0, 0, b.1 * 4),
        Bind::at(2, bias_buf, 0, bias_len * 4),
        Bind::at(3, c, 0, c_len * 4),
    ];
    dispatch_gemm(gpu, &binds, &p, 1)
}

/// Matrix product of two 2-D tensors.
///
/// Corresponds to `torch.matmul` / `torch.mm` for 2-D inputs.
///
/// # Shapes
/// `a [m, k]`, `b [k, n]` → `[m, n]`.
///
/// # Errors
/// [`Error::Shape`] with PyTorch's message when the shapes disagree; device errors.
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (&[m, k], &[k2, n]) = (a.shape(), b.shape()) else {
        return Err(Error::shape(
            "matmul",
            format!(
                "both arguments to matmul need to be 2D, but they are {}D and {}D",
                a.shape().len(),
                b.shape().len()
            ),
        ));
    };
    if k != k2 {
        return Err(Error::shape(
            "matmul",
            format!("mat1 and mat2 shapes cannot be multiplied ({m}x{k} and {k2}x{n})"),
        ));
    }
    if a.device() != b.device() {
        return Err(Error::DeviceMismatch { op: "matmul" });
    }
    let mut out = Tensor::uninit(a.device(), &[m, n])?;
    match a.device().kind() {
        DeviceKind::Cpu => {
            let y = crate::reference::gemm::matmul(a.cpu_data(), b.cpu_data(), m, k, n);
            if let Storage::Cpu(dst) = out.storage_mut() {
                *dst = y;
            }
        }
        DeviceKind::Gpu(gpu) => {
            let Some(c) = out.gpu_buffer() else {
                return Ok(out);
            };
            let (Some(ab), Some(bb)) = (a.gpu_buffer(), b.gpu_buffer()) else {
                // k == 0: the product is all zeros.
                return Tensor::zeros(a.device(), &[m, n]);
            };
            let p = GemmParams {
                m: m as u32,
                n: n as u32,
                k: k as u32,
                a_rs: k as u32,
                b_rs: n as u32,
                b_hw: n as u32,
                c_ms: n as u32,
                c_hw: n as u32,
                ..GemmParams::default()
            };
            record(gpu, (ab, (m * k) as u64), (bb, (k * n) as u64), None, c, p)?;
        }
    }
    Ok(out)
}
