//! The elementwise ops on the GPU: `shaders/elementwise.wgsl`. Unary activations and
//! batch_norm walk the tensor in chunks that fit one storage binding (unary a vec4 per
//! invocation when the length allows). Binary ops coalesce the broadcast shape into at
//! most 6 dims, walk the output in chunks, and bind each operand whole, or, when it is
//! larger than a binding, the window of it that the chunk reads; same-shape operands
//! of a length a multiple of 4 run a vec4 per invocation.

use crate::device::{Bind, GpuHandle, Slot};
use crate::error::{Error, Result};
use crate::kernels::shaders::Shader;
use crate::op::batch_norm::BatchNormGeometry;
use crate::op::elementwise::{Binary, BroadcastGeometry, MAX_BROADCAST_RANK, Unary};

uniform! {
    /// `UnaryParams` of elementwise.wgsl.
    pub(crate) struct UnaryParams {
        /// Elements (or vec4s) of this dispatch.
        len: u32,
        /// One of [`ELEMENTWISE_OPS`].
        op: u32,
        /// leaky_relu's slope, clamp's min, hardsigmoid's alpha.
        alpha: f32,
        /// clamp's max, hardsigmoid's beta.
        beta: f32,
    }
}

uniform! {
    /// `BinaryParams` of elementwise.wgsl.
    pub(crate) struct BinaryParams {
        /// Outputs (or vec4s) of this dispatch.
        len: u32,
        /// The flat index of this dispatch's first output.
        start: u32,
        /// One of [`ELEMENTWISE_OPS`].
        op: u32,
        _pad0: u32,
        /// The coalesced output shape, padded with leading 1s.
        shape: [u32; 6],
        /// Each operand's stride along `shape` (0 where broadcast).
        a_stride: [u32; 6],
        b_stride: [u32; 6],
        /// Subtracted from each operand's flat index: its window's first element less
        /// the window's shift.
        a_base: u32,
        b_base: u32,
    }
}

uniform! {
    /// `BatchNormParams` of elementwise.wgsl.
    pub(crate) struct BatchNormParams {
        /// Elements of this dispatch.
        len: u32,
        /// The flat index of this dispatch's first element.
        start: u32,
        c: u32,
        inner: u32,
        /// [`ELEMENTWISE_OPS`] flag bits.
        flags: u32,
        eps: f32,
        _pad: [u32; 2],
    }
}

wgsl_consts! {
    /// The ops and flags of elementwise.wgsl.
    ELEMENTWISE_OPS {
        OP_LEAKY_RELU = 1,
        OP_CLAMP = 2,
        OP_SIGMOID = 3,
        OP_HARDSIGMOID = 4,
        OP_HARDSWISH = 5,
        OP_TANH = 6,
        OP_ADD = 1,
        OP_SUB = 2,
        OP_MUL = 3,
        OP_DIV = 4,
        /// batch_norm has a weight.
        FLAG_WEIGHT = 1,
        /// batch_norm has a bias.
        FLAG_BIAS = 2,
    }
}

const UNARY: &[(u32, Slot)] = layout![0 => Read, 2 => ReadWrite, 6 => Uniform];
const UNARY4: &[(u32, Slot)] = layout![3 => Read, 5 => ReadWrite, 6 => Uniform];
const BINARY: &[(u32, Slot)] = layout![0 => Read, 1 => Read, 2 => ReadWrite, 7 => Uniform];
const BINARY4: &[(u32, Slot)] = layout![3 => Read, 4 => Read, 5 => ReadWrite, 7 => Uniform];
const BATCH_NORM: &[(u32, Slot)] = layout![
    0 => Read, 2 => ReadWrite, 8 => Uniform, 9 => Read, 10 => Read, 11 => Read, 12 => Read
];

/// The op code and parameters of `f` (not relu, which runs relu.wgsl).
fn unary_code(f: Unary) -> (u32, f32, f32) {
    match f {
        Unary::Relu => (OP_CLAMP, 0.0, f32::INFINITY),
        Unary::LeakyRelu { negative_slope } => (OP_LEAKY_RELU, negative_slope, 0.0),
        Unary::Clamp { min, max } => (OP_CLAMP, min, max),
        Unary::Sigmoid => (OP_SIGMOID, 0.0, 0.0),
        Unary::HardSigmoid { alpha, beta } => (OP_HARDSIGMOID, alpha, beta),
        Unary::HardSwish => (OP_HARDSWISH, 0.0, 0.0),
        Unary::Tanh => (OP_TANH, 0.0, 0.0),
    }
}

/// Records `f` over the `n` elements of `src` into `dst`.
pub(crate) fn unary(
    gpu: &GpuHandle,
    f: Unary,
    (src, dst): (&wgpu::Buffer, &wgpu::Buffer),
    n: u64,
) -> Result<()> {
    let vec4 = n.is_multiple_of(4);
    let (entry, layout) = if vec4 {
        ("unary4", UNARY4)
    } else {
        ("unary", UNARY)
    };
    let pipeline = gpu.pipeline(&Shader::Elementwise.entry(entry, layout))?;
    let (op, alpha, beta) = unary_code(f);
    let chunk = gpu.chunk_elems();
    let mut start = 0;
    while start < n {
        let len = chunk.min(n - start);
        let (offset, size) = (start * 4, len * 4);
        let items = if vec4 { len / 4 } else { len };
        let binds = [
            Bind::at(layout[0].0, src, offset, size),
            Bind::at(layout[1].0, dst, offset, size),
        ];
        let params = UnaryParams {
            len: super::u32_of(items, "elementwise elements per binding")?,
            op,
            alpha,
            beta,
        };
        let groups = gpu.grid(items.div_ceil(256))?;
        gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), groups)?;
        start += len;
    }
    Ok(())
}

/// The broadcast of `g` with its dims of size 1 dropped and each run of dims that both
/// operands walk contiguously merged: `(shape, a strides, b strides)`, outermost first,
/// padded with leading 1s to [`MAX_BROADCAST_RANK`].
fn coalesce(g: &BroadcastGeometry) -> ([u64; 6], [u64; 6], [u64; 6]) {
    let mut dims: Vec<(u64, u64, u64)> = Vec::with_capacity(MAX_BROADCAST_RANK);
    for d in 0..g.shape.len() {
        let (size, sa, sb) = (
            g.shape[d] as u64,
            g.strides[0][d] as u64,
            g.strides[1][d] as u64,
        );
        if size == 1 {
            continue;
        }
        match dims.last_mut() {
            // the outer dim steps each operand by exactly this dim's extent
            Some(last) if last.1 == sa * size && last.2 == sb * size => {
                *last = (last.0 * size, sa, sb);
            }
            _ => dims.push((size, sa, sb)),
        }
    }
    let mut out = ([1; 6], [0; 6], [0; 6]);
    let pad = MAX_BROADCAST_RANK - dims.len();
    for (i, (size, sa, sb)) in dims.into_iter().enumerate() {
        out.0[pad + i] = size;
        out.1[pad + i] = sa;
        out.2[pad + i] = sb;
    }
    out
}

/// The flat indices `[first, last]` of an operand with `strides` that outputs
/// `[start, end)` of `shape` can read: exact in the dims above the highest one whose
/// coordinate changes over the range, the whole extent below it.
fn operand_range(shape: &[u64; 6], strides: &[u64; 6], start: u64, end: u64) -> (u64, u64) {
    let coords = |mut i: u64| {
        let mut c = [0u64; 6];
        for d in (0..6).rev() {
            c[d] = i % shape[d];
            i /= shape[d];
        }
        c
    };
    let (lo, hi) = (coords(start), coords(end - 1));
    let Some(k) = (0..6).find(|&d| lo[d] != hi[d]) else {
        let at: u64 = (0..6).map(|d| lo[d] * strides[d]).sum();
        return (at, at);
    };
    let fixed: u64 = (0..k).map(|d| lo[d] * strides[d]).sum();
    let below: u64 = (k + 1..6).map(|d| (shape[d] - 1) * strides[d]).sum();
    (
        fixed + lo[k] * strides[k],
        fixed + hi[k] * strides[k] + below,
    )
}

/// Records `a f b` (broadcast as `g`) into `dst`.
pub(crate) fn binary(
    gpu: &GpuHandle,
    f: Binary,
    g: &BroadcastGeometry,
    (a, b, dst): (&wgpu::Buffer, &wgpu::Buffer, &wgpu::Buffer),
) -> Result<()> {
    let op = match f {
        Binary::Add => OP_ADD,
        Binary::Sub => OP_SUB,
        Binary::Mul => OP_MUL,
        Binary::Div => OP_DIV,
    };
    let n = g.len() as u64;
    let (shape, sa, sb) = coalesce(g);
    let chunk = gpu.chunk_elems();
    let same = g.numel == [g.len(); 2];
    if same && n.is_multiple_of(4) {
        let pipeline = gpu.pipeline(&Shader::Elementwise.entry("binary4", BINARY4))?;
        let mut start = 0;
        while start < n {
            let len = chunk.min(n - start);
            let (offset, size) = (start * 4, len * 4);
            let binds = [
                Bind::at(3, a, offset, size),
                Bind::at(4, b, offset, size),
                Bind::at(5, dst, offset, size),
            ];
            let params = BinaryParams {
                len: super::u32_of(len / 4, "binary elements per binding")?,
                op,
                ..BinaryParams::default()
            };
            let groups = gpu.grid((len / 4).div_ceil(256))?;
            gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), groups)?;
            start += len;
        }
        return Ok(());
    }
    let pipeline = gpu.pipeline(&Shader::Elementwise.entry("binary", BINARY))?;
    let u6 = |v: [u64; 6], what| -> Result<[u32; 6]> {
        let mut out = [0; 6];
        for (o, x) in out.iter_mut().zip(v) {
            *o = super::u32_of(x, what)?;
        }
        Ok(out)
    };
    let (shape32, sa32, sb32) = (
        u6(shape, "binary size")?,
        u6(sa, "binary stride")?,
        u6(sb, "binary stride")?,
    );
    // an operand's binding: whole when it fits one, else the window the chunk reads
    let operand = |buffer, numel: u64, strides: &[u64; 6], start, end| -> Result<_> {
        if numel <= chunk {
            return Ok((Bind::at(0, buffer, 0, numel * 4), 0u64));
        }
        let (first, last) = operand_range(&shape, strides, start, end);
        let (offset, size, shift) = gpu.window(first, last - first + 1);
        if size / 4 > chunk {
            return Err(Error::limit(
                "device",
                "binary operand window (bytes)",
                size,
                chunk * 4,
            ));
        }
        Ok((Bind::at(0, buffer, offset, size), first - u64::from(shift)))
    };
    let mut start = 0;
    while start < n {
        let len = chunk.min(n - start);
        let (mut bind_a, a_base) = operand(a, g.numel[0] as u64, &sa, start, start + len)?;
        let (mut bind_b, b_base) = operand(b, g.numel[1] as u64, &sb, start, start + len)?;
        bind_a.binding = 0;
        bind_b.binding = 1;
        let binds = [bind_a, bind_b, Bind::at(2, dst, start * 4, len * 4)];
        let params = BinaryParams {
            len: super::u32_of(len, "binary elements per binding")?,
            start: super::u32_of(start, "binary elements")?,
            op,
            _pad0: 0,
            shape: shape32,
            a_stride: sa32,
            b_stride: sb32,
            a_base: super::u32_of(a_base, "binary elements")?,
            b_base: super::u32_of(b_base, "binary elements")?,
        };
        let groups = gpu.grid(len.div_ceil(256))?;
        gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), groups)?;
        start += len;
    }
    Ok(())
}

/// Records inference batch_norm of `src` into `dst` with the per-channel `stats`
/// (mean, var, weight, bias).
pub(crate) fn batch_norm(
    gpu: &GpuHandle,
    g: &BatchNormGeometry,
    eps: f32,
    (src, dst): (&wgpu::Buffer, &wgpu::Buffer),
    [mean, var, weight, bias]: [Option<&wgpu::Buffer>; 4],
) -> Result<()> {
    let (Some(mean), Some(var)) = (mean, var) else {
        return Err(Error::Backend("batch_norm without running stats".into()));
    };
    let chunk = gpu.chunk_elems();
    let c = g.c as u64;
    if c > chunk {
        return Err(Error::limit(
            "device",
            "batch_norm channels per binding",
            c,
            chunk,
        ));
    }
    let pipeline = gpu.pipeline(&Shader::Elementwise.entry("batch_norm", BATCH_NORM))?;
    let flags = if weight.is_some() { FLAG_WEIGHT } else { 0 }
        | if bias.is_some() { FLAG_BIAS } else { 0 };
    let n = (g.n * g.c * g.inner) as u64;
    let mut start = 0;
    while start < n {
        let len = chunk.min(n - start);
        let (offset, size) = (start * 4, len * 4);
        let binds = [
            Bind::at(0, src, offset, size),
            Bind::at(2, dst, offset, size),
            Bind::at(9, mean, 0, c * 4),
            Bind::at(10, var, 0, c * 4),
            // an absent weight or bias binds mean's buffer, unread
            Bind::at(11, weight.unwrap_or(mean), 0, c * 4),
            Bind::at(12, bias.unwrap_or(mean), 0, c * 4),
        ];
        let params = BatchNormParams {
            len: super::u32_of(len, "batch_norm elements per binding")?,
            start: super::u32_of(start, "batch_norm elements")?,
            c: super::u32_of(c, "batch_norm channels")?,
            inner: super::u32_of(g.inner as u64, "batch_norm plane size")?,
            flags,
            eps,
            _pad: [0; 2],
        };
        let groups = gpu.grid(len.div_ceil(256))?;
        gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), groups)?;
        start += len;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalescing_merges_contiguous_runs() {
        let g = BroadcastGeometry::new("mul", &[2, 3, 1, 1], &[2, 3, 4, 5]).unwrap();
        let (shape, sa, sb) = coalesce(&g);
        assert_eq!(shape, [1, 1, 1, 1, 6, 20]);
        assert_eq!(sa, [0, 0, 0, 0, 1, 0]);
        assert_eq!(sb, [0, 0, 0, 0, 20, 1]);
        let g = BroadcastGeometry::new("add", &[4, 5], &[4, 5]).unwrap();
        assert_eq!(coalesce(&g).0, [1, 1, 1, 1, 1, 20]);
    }

    #[test]
    fn operand_ranges_cover_what_a_chunk_reads() {
        let g = BroadcastGeometry::new("add", &[3, 1, 4], &[3, 5, 4]).unwrap();
        let (shape, sa, _) = coalesce(&g);
        for start in 0..60 {
            for end in start + 1..=60 {
                let (lo, hi) = operand_range(&shape, &sa, start, end);
                for i in start..end {
                    let at = g.source(i as usize)[0] as u64;
                    assert!(lo <= at && at <= hi, "{start}..{end}: {at} not in {lo}..={hi}");
                }
            }
        }
    }
}
