//! The elementwise ops on the GPU: `shaders/elementwise.wgsl`. Unary activations and
//! batch_norm walk the tensor in chunks that fit one storage binding (a vec4 per
//! invocation when the length, or batch_norm's plane, allows). Binary ops coalesce
//! the broadcast shape into at most 6 dims, walk the output in chunks, and bind each
//! operand whole, or, when it is larger than a binding, the window of it that the
//! chunk reads; same-shape operands of a length a multiple of 4, and operands that
//! walk an innermost dim of a multiple of 4 with stride 1 or 0
//! (`[n, c, h, w] * [n, c, 1, 1]`), run 4 outputs per invocation.

use crate::device::{Bind, Buf, GpuHandle, Slot};
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
        /// The first output's element within its binding.
        out_shift: u32,
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
const BINARY4B: &[(u32, Slot)] =
    layout![0 => Read, 1 => Read, 3 => Read, 4 => Read, 5 => ReadWrite, 7 => Uniform];
const BATCH_NORM: &[(u32, Slot)] = layout![
    0 => Read, 2 => ReadWrite, 8 => Uniform, 9 => Read, 10 => Read, 11 => Read, 12 => Read
];
const BATCH_NORM4: &[(u32, Slot)] = layout![
    3 => Read, 5 => ReadWrite, 8 => Uniform, 9 => Read, 10 => Read, 11 => Read, 12 => Read
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
    (src, dst): (Buf<'_>, Buf<'_>),
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
    gpu.for_each_chunk(n, |offset, size, len| {
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
        gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), groups)
    })
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

/// The least (or, with `max`, the greatest) flat index of an operand with `strides`
/// over the outputs whose coordinates run from `lo` to `hi` (inclusive, in row-major
/// order), looking at dims `d..` (the dims before `d` are equal in `lo` and `hi`).
fn extreme(
    shape: &[u64; 6],
    strides: &[u64; 6],
    d: usize,
    lo: [u64; 6],
    hi: [u64; 6],
    max: bool,
) -> u64 {
    if d == 6 {
        return 0;
    }
    let pick = |a: u64, b: u64| if max { a.max(b) } else { a.min(b) };
    let next = |lo, hi| extreme(shape, strides, d + 1, lo, hi, max);
    if lo[d] == hi[d] {
        return lo[d] * strides[d] + next(lo, hi);
    }
    // lo's coordinate here with the rest running to the end of its block, and hi's
    // with the rest from 0
    let (mut end, mut begin) = (lo, hi);
    let (mut zeros, mut full) = (lo, hi);
    for i in d + 1..6 {
        end[i] = shape[i] - 1;
        begin[i] = 0;
        zeros[i] = 0;
        full[i] = shape[i] - 1;
    }
    let mut best = pick(
        lo[d] * strides[d] + next(lo, end),
        hi[d] * strides[d] + next(begin, hi),
    );
    if hi[d] - lo[d] >= 2 {
        // a coordinate strictly between: the rest runs over its whole block
        let c = if max { hi[d] - 1 } else { lo[d] + 1 };
        best = pick(best, c * strides[d] + next(zeros, full));
    }
    best
}

/// The flat indices `[first, last]` of an operand with `strides` that outputs
/// `[start, end)` of `shape` read, exactly.
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
    (
        extreme(shape, strides, 0, lo, hi, false),
        extreme(shape, strides, 0, lo, hi, true),
    )
}

/// Records `a f b` (broadcast as `g`) into `dst`.
pub(crate) fn binary(
    gpu: &GpuHandle,
    f: Binary,
    g: &BroadcastGeometry,
    (a, b, dst): (Buf<'_>, Buf<'_>, Buf<'_>),
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
        return gpu.for_each_chunk(n, |offset, size, len| {
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
            gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), groups)
        });
    }
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
    let params = |len: u64, start: u64, out_shift, (a_base, b_base): (u64, u64)| -> Result<_> {
        Ok(BinaryParams {
            len: super::u32_of(len, "binary elements per binding")?,
            start: super::u32_of(start, "binary elements")?,
            op,
            out_shift,
            shape: shape32,
            a_stride: sa32,
            b_stride: sb32,
            a_base: super::u32_of(a_base, "binary elements")?,
            b_base: super::u32_of(b_base, "binary elements")?,
        })
    };
    // both operands whole in a binding, each walking the innermost dim (a multiple of
    // 4) with stride 1 or 0: 4 outputs per invocation, vec4 loads where the stride is 1
    let [na, nb] = g.numel.map(|x| x as u64);
    if shape[5].is_multiple_of(4) && sa[5] <= 1 && sb[5] <= 1 && na <= chunk && nb <= chunk {
        let pipeline = gpu.pipeline(&Shader::Elementwise.entry("binary4b", BINARY4B))?;
        let mut start = 0;
        while start < n {
            let len = chunk.min(n - start);
            let (y_off, y_size, out_shift) = gpu.window(start, len);
            // vec4 views rounded out to whole vec4s (the lengths are multiples of 4
            // where a stride is 1)
            let binds = [
                Bind::at(0, a, 0, gpu.bytes(na)),
                Bind::at(1, b, 0, gpu.bytes(nb)),
                Bind::at(3, a, 0, gpu.bytes(na.div_ceil(4) * 4)),
                Bind::at(4, b, 0, gpu.bytes(nb.div_ceil(4) * 4)),
                Bind::at(5, dst, y_off, y_size),
            ];
            let p = params(len / 4, start, out_shift, (0, 0))?;
            let groups = gpu.grid((len / 4).div_ceil(256))?;
            gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&p), groups)?;
            start += len;
        }
        return Ok(());
    }
    let pipeline = gpu.pipeline(&Shader::Elementwise.entry("binary", BINARY))?;
    // an operand's binding: whole when it fits one, else the window the outputs
    // [start, end) read (None when that is larger than a binding)
    let operand = |buffer, numel: u64, strides: &[u64; 6], start, end| {
        if numel <= chunk {
            return Some((Bind::at(0, buffer, 0, gpu.bytes(numel)), 0u64));
        }
        let (first, last) = operand_range(&shape, strides, start, end);
        let (offset, size, shift) = gpu.window(first, last - first + 1);
        (size <= gpu.bytes(chunk))
            .then(|| (Bind::at(0, buffer, offset, size), first - u64::from(shift)))
    };
    let mut start = 0;
    while start < n {
        // halved until both operands' windows fit: a run of outputs can read two
        // distant parts of a broadcast operand where it crosses a block
        let mut len = chunk.min(n - start);
        let (bind_a, a_base, bind_b, b_base) = loop {
            let end = start + len;
            match (
                operand(a, g.numel[0] as u64, &sa, start, end),
                operand(b, g.numel[1] as u64, &sb, start, end),
            ) {
                (Some((ba, a_base)), Some((bb, b_base))) => break (ba, a_base, bb, b_base),
                _ if len > 1 => len /= 2,
                _ => {
                    return Err(Error::limit(
                        "device",
                        "binary operand window (bytes)",
                        8,
                        gpu.bytes(chunk),
                    ));
                }
            }
        };
        // a halved run may start anywhere: the output bound at an aligned offset
        let (y_off, y_size, out_shift) = gpu.window(start, len);
        let binds = [
            Bind::at(0, bind_a.buffer, bind_a.offset, bind_a.size),
            Bind::at(1, bind_b.buffer, bind_b.offset, bind_b.size),
            Bind::at(2, dst, y_off, y_size),
        ];
        let p = params(len, start, out_shift, (a_base, b_base))?;
        let groups = gpu.grid(len.div_ceil(256))?;
        gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&p), groups)?;
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
    (src, dst): (Buf<'_>, Buf<'_>),
    [mean, var, weight, bias]: [Option<Buf<'_>>; 4],
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
    let vec4 = g.inner.is_multiple_of(4);
    let (entry, layout) = if vec4 {
        ("batch_norm4", BATCH_NORM4)
    } else {
        ("batch_norm", BATCH_NORM)
    };
    let pipeline = gpu.pipeline(&Shader::Elementwise.entry(entry, layout))?;
    let flags =
        if weight.is_some() { FLAG_WEIGHT } else { 0 } | if bias.is_some() { FLAG_BIAS } else { 0 };
    let n = (g.n * g.c * g.inner) as u64;
    gpu.for_each_chunk(n, |offset, size, len| {
        let start = offset / gpu.elem().dtype().size();
        let binds = [
            Bind::at(layout[0].0, src, offset, size),
            Bind::at(layout[1].0, dst, offset, size),
            Bind::at(9, mean, 0, gpu.bytes(c)),
            Bind::at(10, var, 0, gpu.bytes(c)),
            // an absent weight or bias binds mean's buffer, unread
            Bind::at(11, weight.unwrap_or(mean), 0, gpu.bytes(c)),
            Bind::at(12, bias.unwrap_or(mean), 0, gpu.bytes(c)),
        ];
        let items = if vec4 { len / 4 } else { len };
        let params = BatchNormParams {
            len: super::u32_of(items, "batch_norm elements per binding")?,
            start: super::u32_of(start, "batch_norm elements")?,
            c: super::u32_of(c, "batch_norm channels")?,
            inner: super::u32_of(g.inner as u64, "batch_norm plane size")?,
            flags,
            eps,
            _pad: [0; 2],
        };
        let groups = gpu.grid(items.div_ceil(256))?;
        gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), groups)
    })
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
    fn operand_ranges_are_exactly_what_a_chunk_reads() {
        for (a, b) in [
            (&[3, 1, 4][..], &[3, 5, 4][..]),
            (&[2, 1, 3, 1], &[1, 4, 1, 5]),
            (&[5, 1], &[1, 7]),
        ] {
            let g = BroadcastGeometry::new("add", a, b).unwrap();
            let (shape, sa, sb) = coalesce(&g);
            let n = g.len() as u64;
            for (k, strides) in [sa, sb].iter().enumerate() {
                for start in 0..n {
                    for end in start + 1..=n {
                        let got = operand_range(&shape, strides, start, end);
                        let read = (start..end).map(|i| g.source(i as usize)[k] as u64);
                        let want = (read.clone().min().unwrap(), read.max().unwrap());
                        assert_eq!(got, want, "{a:?} {b:?} operand {k}: {start}..{end}");
                    }
                }
            }
        }
    }
}
