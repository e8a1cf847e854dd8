//! The GEMM behind conv2d, `linear` and `matmul`: `shaders/gemm.wgsl`, a 64x64-tiled
//! product through workgroup memory with a 4x4 register block per invocation (or 4x4
//! register blocks without workgroup memory, for CPU drivers), strided so that conv2d
//! reads and writes NCHW directly.

use crate::device::{Bind, Buf, GpuHandle, Slot};
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
        /// The bias is per column of C, not per row (the register GEMMs: `linear` of
        /// a few rows, computed transposed).
        FLAG_BIAS_COLUMN = 16,
        /// The packed convolution's sums between chunks are kept in f32 in its
        /// `partial` binding, not in its (f16) output.
        FLAG_PARTIAL = 32,
    }
}

const GEMM_LAYOUT: &[(u32, Slot)] =
    layout![0 => Read, 1 => Read, 2 => Read, 3 => ReadWrite, 4 => Uniform, 20 => Read];
/// The vec4 register kernels: A and B as vec4 (bindings 11 and 12).
const GEMM4_LAYOUT: &[(u32, Slot)] =
    layout![11 => Read, 12 => Read, 2 => Read, 3 => ReadWrite, 4 => Uniform, 20 => Read];

/// The subgroup size the `gemm_sg_*` kernels are written for.
const SUBGROUP_LANES: u32 = 8;

/// Whether the subgroup GEMM runs on `gpu`: its subgroups are always 8 lanes.
pub(crate) fn subgroup_gemm(gpu: &GpuHandle) -> bool {
    gpu.subgroups_of(SUBGROUP_LANES)
}

/// The tiled GEMM's output tile: 64 x 64 per workgroup.
const GEMM_TILE: u64 = 64;

/// The GEMM kernels of `shaders/gemm.wgsl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GemmVariant {
    /// 64x64 tiles through workgroup memory, 4x4 per invocation: for GPUs.
    Tiled,
    /// 4x4 register blocks, no workgroup memory or barrier: for CPU drivers.
    Register,
    /// Register blocks of 8 rows shared across a subgroup of 8 lanes by broadcast
    /// (`shaders/gemm_subgroup.wgsl`): for CPU drivers with subgroups (lavapipe). Where
    /// the device has no such subgroups, or the operands are not whole vec4s, it runs
    /// as [`GemmVariant::Register`].
    Subgroup,
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
            "subgroup" => Ok(Self::Subgroup),
            other => Err(Error::param(
                "gemm",
                format!("unknown GEMM variant '{other}' (expected tiled, register or subgroup)"),
            )),
        }
    }

    /// The entry point for a product of `n` columns (`quad`: A's rows, B's rows and its
    /// column blocks whole vec4s), and the columns and rows of C one of its workgroups
    /// covers.
    fn kernel(self, [m, n]: [u32; 2], quad: bool) -> (&'static str, (u64, u64)) {
        match (self, register_lanes(n), quad) {
            (Self::Tiled, ..) => ("gemm", (GEMM_TILE, GEMM_TILE)),
            (Self::Subgroup, _, true) => match subgroup_rows(m) {
                8 => ("gemm_sg_8", (32, 8)),
                16 => ("gemm_sg_16", (32, 16)),
                24 => ("gemm_sg_24", (32, 24)),
                _ => ("gemm_sg_32", (32, 32)),
            },
            (_, 8, false) => ("gemm_reg_8", (32, 4)),
            (_, 16, false) => ("gemm_reg_16", (64, 4)),
            (_, 8, true) => ("gemm_reg4_8", (32, 4)),
            (_, 16, true) => ("gemm_reg4_16", (64, 4)),
            (_, _, quad) => widest_register(quad),
        }
    }

    /// The register kernels (either), which read whole vec4s where they can.
    pub(crate) fn is_register(self) -> bool {
        matches!(self, Self::Register | Self::Subgroup)
    }

    /// Most columns one dispatch can cover within `max_groups` workgroups per dimension
    /// (the narrow register blocks serve only products narrower than this).
    pub(crate) fn max_cols(self, max_groups: u32) -> u64 {
        let widest = match self {
            Self::Tiled => GEMM_TILE,
            Self::Register | Self::Subgroup => 256,
        };
        u64::from(max_groups) * widest
    }
}

/// The widest register block, 256 columns x 4 rows: the one [`GemmVariant::max_cols`]
/// plans for.
fn widest_register(quad: bool) -> (&'static str, (u64, u64)) {
    if quad {
        ("gemm_reg4_64", (256, 4))
    } else {
        ("gemm_reg_64", (256, 4))
    }
}

/// Rows of C a subgroup GEMM workgroup computes for `m` rows: 8 to 32, each 8 more
/// loading one more vec4 of A a step for 32 more multiply-adds a lane. The fewest
/// rows computed, each weighted by its block's measured cost (on lavapipe, ResNet-18's
/// 7x7 convolutions: a row costs 1.52x, 1.17x and 1.08x in blocks of 8, 16 and 24 what
/// it costs in a block of 32).
fn subgroup_rows(m: u32) -> u32 {
    const COST: [(u32, u64); 4] = [(32, 100), (24, 108), (16, 117), (8, 152)];
    COST.into_iter()
        .min_by_key(|&(rows, cost)| u64::from(m.div_ceil(rows) * rows) * cost)
        .map_or(32, |(rows, _)| rows)
}

/// The register GEMM's invocations per workgroup for `n` columns: each covers 4
/// columns `lanes` apart, so a block is `4 * lanes` wide. The block that pads `n`
/// least, the widest of equals; the narrow ones only where they pad less than a
/// quarter as much as the widest (a 7x7 map: 49 of 64 columns instead of 49 of 256).
fn register_lanes(n: u32) -> u32 {
    let padded = |lanes: u32| u64::from(n).div_ceil(4 * u64::from(lanes)) * 4 * u64::from(lanes);
    let wide = padded(64);
    [16, 8]
        .into_iter()
        .filter(|&l| 4 * (padded(l) - u64::from(n)) < wide - u64::from(n))
        .min_by_key(|&l| (padded(l), std::cmp::Reverse(l)))
        .unwrap_or(64)
}

/// Workgroups of the GEMM: column blocks in x, row blocks in y, groups in z.
fn gemm_grid(
    gpu: &GpuHandle,
    (bn, bm): (u64, u64),
    p: &GemmParams,
    groups: usize,
) -> Result<[u32; 3]> {
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
    let quad = variant.is_register() && quad_aligned(gpu, binds, p, groups);
    let variant = match variant {
        GemmVariant::Subgroup if !subgroup_gemm(gpu) => GemmVariant::Register,
        v => v,
    };
    let (mut entry, mut block) = variant.kernel([p.m, p.n], quad);
    // a grid past the device's workgroup limit in the narrower blocks: the widest
    let max = u64::from(gpu.max_groups_per_dim());
    if variant.is_register()
        && (u64::from(p.n).div_ceil(block.0) > max || u64::from(p.m).div_ceil(block.1) > max)
    {
        (entry, block) = widest_register(quad);
    }
    let shader = if entry.starts_with("gemm_sg") {
        Shader::GemmSubgroup
    } else {
        Shader::Gemm
    };
    let mut spec = shader.entry(entry, if quad { GEMM4_LAYOUT } else { GEMM_LAYOUT });
    spec.constants.extend(epilogue_constants(epilogue));
    let pipeline = gpu.pipeline(&spec)?;
    let mut binds = *binds;
    if quad {
        binds[0].binding = 11;
        binds[1].binding = 12;
    }
    gpu.dispatch(
        &pipeline,
        &binds,
        bytemuck::bytes_of(p),
        gemm_grid(gpu, block, p, groups)?,
    )
}

/// Whether A's rows and B's rows start at whole vec4s, K is whole vec4s, B's column
/// blocks of 4 never straddle two images, both windows are whole vec4s, and B's window
/// holds the last column block whole (the vec4 kernels read all 4 columns of the block
/// that holds column n - 1): the vec4 register kernels' condition.
fn quad_aligned(gpu: &GpuHandle, binds: &[Bind<'_>; 5], p: &GemmParams, groups: usize) -> bool {
    let vec4 = gpu.bytes(4);
    let words = [
        p.k, p.a_off, p.a_rs, p.a_gs, p.b_off, p.b_rs, p.b_gs, p.b_hw, p.b_ns,
    ];
    let aligned = words.iter().all(|w| w % 4 == 0)
        && binds[..2]
            .iter()
            .all(|b| b.offset % vec4 == 0 && b.size % vec4 == 0);
    if !aligned || p.n == 0 || p.k == 0 || groups == 0 {
        return aligned;
    }
    let w = |v: u32| u64::from(v);
    let last = (w(p.n) - 1) / 4 * 4;
    let end = w(p.b_off)
        + (groups as u64 - 1) * w(p.b_gs)
        + (w(p.k) - 1) * w(p.b_rs)
        + (last / w(p.b_hw)) * w(p.b_ns)
        + last % w(p.b_hw)
        + 4;
    gpu.bytes(end) <= binds[1].size
}

/// Records one GEMM on `variant` over whole buffers: `a` and `b` with their lengths in
/// elements, an optional bias, and `c` sized by `p`.
fn record(
    gpu: &GpuHandle,
    variant: GemmVariant,
    a: (Buf<'_>, u64),
    b: (Buf<'_>, u64),
    bias: Option<(Buf<'_>, u64)>,
    c: Buf<'_>,
    mut p: GemmParams,
) -> Result<()> {
    if bias.is_some() {
        p.flags |= FLAG_BIAS;
    }
    let (bias_buf, bias_len) = bias.unwrap_or((a.0, 1));
    let c_len = u64::from(p.m) * u64::from(p.n);
    let binds = [
        Bind::at(0, a.0, 0, gpu.bytes(a.1)),
        Bind::at(1, b.0, 0, gpu.bytes(b.1)),
        Bind::at(2, bias_buf, 0, gpu.bytes(bias_len)),
        Bind::at(3, c, 0, gpu.bytes(c_len)),
        // no residual: A stands in, never read
        Bind::at(20, a.0, 0, 4),
    ];
    dispatch_gemm(gpu, (variant, Epilogue::default()), &binds, &p, 1)
}

/// `c [m, n] = a [m, k] @ b [k, n]` (`matmul`), with `k > 0`.
pub(crate) fn matmul(
    gpu: &GpuHandle,
    (a, b, c): (Buf<'_>, Buf<'_>, Buf<'_>),
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
    let variant = super::policy(gpu)?.gemm;
    record(
        gpu,
        variant,
        (a, (m * k) as u64),
        (b, (k * n) as u64),
        None,
        c,
        p,
    )
}

/// `y [n, m] = x [n, k] @ w [m, k]^T + bias` (`linear`), with `k > 0`: the output rows
/// are the GEMM's columns, `C[o, j] = sum_k W[o, k] * x[j, k]` stored at `y[j * m + o]`.
pub(crate) fn linear(
    gpu: &GpuHandle,
    (x, w, bias, y): (Buf<'_>, Buf<'_>, Option<Buf<'_>>, Buf<'_>),
    [n, k, m]: [usize; 3],
) -> Result<()> {
    let m32 = super::u32_of(m as u64, "linear out_features")?;
    let n32 = super::u32_of(n as u64, "linear rows")?;
    let k32 = super::u32_of(k as u64, "linear in_features")?;
    let variant = super::policy(gpu)?.gemm;
    let bias = bias.map(|b| (b, m as u64));
    let (x, w) = ((x, (n * k) as u64), (w, (m * k) as u64));
    // both operands are rows of k: B read down a row (b_rs 1), one row a column (b_ns k)
    let p = GemmParams {
        k: k32,
        a_rs: k32,
        b_rs: 1,
        b_hw: 1,
        b_ns: k32,
        c_hw: 1,
        ..GemmParams::default()
    };
    if variant.is_register() && n < FEW_ROWS {
        // a few rows: the register GEMMs spread their lanes over C's columns, so
        // compute y = x @ w^T as it stands, out_features the columns, the bias per
        // column
        let p = GemmParams {
            m: n32,
            n: m32,
            flags: FLAG_BIAS_COLUMN,
            c_ms: m32,
            c_ns: 1,
            ..p
        };
        return record(gpu, variant, x, w, bias, y, p);
    }
    let p = GemmParams {
        m: m32,
        n: n32,
        c_ms: 1,
        c_ns: m32,
        ..p
    };
    record(gpu, variant, w, x, bias, y, p)
}

/// Rows of `linear`'s input below which it runs transposed on the register GEMMs.
const FEW_ROWS: usize = 32;

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
