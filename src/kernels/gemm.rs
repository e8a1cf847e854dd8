//! The GEMM behind conv2d, `linear` and `matmul`: `shaders/gemm.wgsl`, a 64x64-tiled
//! product through workgroup memory with a 4x4 register block per invocation (or 4x4
//! register blocks without workgroup memory, for CPU drivers), strided so that conv2d
//! reads and writes NCHW directly.

use crate::device::{Bind, GpuHandle, Slot};
use crate::error::{Error, Result};
use crate::kernels::shaders::Shader;
use crate::op::conv2d::{Activation, Epilogue};

uniform! {
    /// `GemmParams` of gemm.wgsl. Index maps:
    /// `A[m,k] = a[a_off + g*a_gs + m*a_rs + k]`,
    /// `B[k,j] = b[b_off + g*b_gs + k*b_rs + (j / b_hw)*b_ns + j % b_hw]`,
    /// `C[m,j] = c[c_off + g*c_gs + m*c_ms + (j / c_hw)*c_ns + j % c_hw]`.
    pub(crate) struct GemmParams {
        m: u32,
        n: u32,
        k: u32,
        /// [`EPILOGUE`] bits.
        flags: u32,
        a_off: u32,
        a_rs: u32,
        a_gs: u32,
        b_off: u32,
        b_rs: u32,
        b_gs: u32,
        b_hw: u32,
        b_ns: u32,
        c_off: u32,
        c_ms: u32,
        c_gs: u32,
        c_hw: u32,
        c_ns: u32,
        bias_off: u32,
        bias_gs: u32,
        _pad: [u32; 1],
    }
}

wgsl_consts! {
    /// The epilogue flags of every kernel that ends a convolution or a product.
    EPILOGUE {
        /// Add the bias.
        FLAG_BIAS = 1,
        /// The first chunk of a sum split over input channels: write, do not add.
        FLAG_FIRST_CHUNK = 4,
        /// The last chunk: apply the epilogue (bias, residual, activation).
        FLAG_LAST_CHUNK = 8,
    }
}

const GEMM_LAYOUT: &[(u32, Slot)] =
    layout![0 => Read, 1 => Read, 2 => Read, 3 => ReadWrite, 4 => Uniform, 20 => Read];

/// The tiled GEMM's output tile: 64 x 64 per workgroup.
const GEMM_TILE: u64 = 64;

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

    fn entry(self) -> &'static str {
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
fn gemm_grid(
    gpu: &GpuHandle,
    variant: GemmVariant,
    p: &GemmParams,
    groups: usize,
) -> Result<[u32; 3]> {
    let (bn, bm) = variant.block();
    let dims = [
        u64::from(p.n).div_ceil(bn),
        u64::from(p.m).div_ceil(bm),
        groups as u64,
    ];
    gpu.grid3(dims, "GEMM workgroups per dimension")
}

/// Records one GEMM dispatch over `groups` groups: bindings 0 (A), 1 (B), 2 (bias, any
/// buffer when `p.flags` has no bias), 3 (C) and 20 (the residual over C's window, any
/// buffer when `epilogue` adds none), laid out as `p` says.
pub(crate) fn dispatch_gemm(
    gpu: &GpuHandle,
    (variant, epilogue): (GemmVariant, Epilogue),
    binds: &[Bind<'_>; 5],
    p: &GemmParams,
    groups: usize,
) -> Result<()> {
    let mut spec = Shader::Gemm.entry(variant.entry(), GEMM_LAYOUT);
    spec.constants.extend(epilogue_constants(epilogue));
    let pipeline = gpu.pipeline(&spec)?;
    gpu.dispatch(
        &pipeline,
        binds,
        bytemuck::bytes_of(p),
        gemm_grid(gpu, variant, p, groups)?,
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
        // no residual: A stands in, never read
        Bind::at(20, a.0, 0, 4),
    ];
    let variant = super::policy(gpu)?.gemm;
    dispatch_gemm(gpu, (variant, Epilogue::default()), &binds, &p, 1)
}

/// `c [m, n] = a [m, k] @ b [k, n]` (`matmul`), with `k > 0`.
pub(crate) fn matmul(
    gpu: &GpuHandle,
    (a, b, c): (&wgpu::Buffer, &wgpu::Buffer, &wgpu::Buffer),
    [m, k, n]: [usize; 3],
) -> Result<()> {
    let p = GemmParams {
        m: super::u32_of(m as u64, "matmul rows")?,
        n: super::u32_of(n as u64, "matmul columns")?,
        k: super::u32_of(k as u64, "matmul inner size")?,
        a_rs: k as u32,
        b_rs: n as u32,
        b_hw: n as u32,
        c_ms: n as u32,
        c_hw: n as u32,
        ..GemmParams::default()
    };
    record(gpu, (a, (m * k) as u64), (b, (k * n) as u64), None, c, p)
}

/// `y [n, m] = x [n, k] @ w [m, k]^T + bias` (`linear`), with `k > 0`: the output rows
/// are the GEMM's columns, `C[o, j] = sum_k W[o, k] * x[j, k]` stored at `y[j * m + o]`.
pub(crate) fn linear(
    gpu: &GpuHandle,
    (x, w, bias, y): (
        &wgpu::Buffer,
        &wgpu::Buffer,
        Option<&wgpu::Buffer>,
        &wgpu::Buffer,
    ),
    [n, k, m]: [usize; 3],
) -> Result<()> {
    let p = GemmParams {
        m: super::u32_of(m as u64, "linear out_features")?,
        n: super::u32_of(n as u64, "linear rows")?,
        k: super::u32_of(k as u64, "linear in_features")?,
        a_rs: k as u32,
        b_rs: 1,
        b_hw: 1,
        b_ns: k as u32,
        c_ms: 1,
        c_hw: 1,
        c_ns: m as u32,
        ..GemmParams::default()
    };
    let bias = bias.map(|b| (b, m as u64));
    record(gpu, (w, (m * k) as u64), (x, (n * k) as u64), bias, y, p)
}

/// The override constants of an epilogue (`shaders/lib/epilogue.wgsl`): its activation
/// (`ACT`) and whether it adds a residual (`RESIDUAL`).
pub(crate) fn epilogue_constants(e: Epilogue) -> [(&'static str, f64); 2] {
    let act = match e.activation {
        None => 0.0,
        Some(Activation::Relu) => 1.0,
        Some(Activation::Relu6) => 2.0,
        Some(Activation::HardSwish) => 3.0,
        Some(Activation::Silu) => 4.0,
    };
    [
        ("ACT", act),
        ("RESIDUAL", if e.residual { 1.0 } else { 0.0 }),
    ]
}
