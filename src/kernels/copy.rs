//! permute, slice and cat on the GPU: each a list of [`StridedCopy`]s (one per input)
//! run by `shaders/copy.wgsl`. A copy's dimensions are first merged where both sides
//! are contiguous across them; a copy that is then one contiguous run on both sides
//! is a buffer-to-buffer copy, no dispatch. The rest is cut into pieces whose source
//! and destination windows each fit one storage binding (whole runs of the outermost
//! dimension where they fit, else one index of it at a time, recursively), one
//! dispatch each.

use crate::device::{Bind, Buf, GpuHandle, Slot};
use crate::dtype::Elem;
use crate::error::{Error, Result};
use crate::kernels::shaders::Shader;
use crate::op::copy::{MAX_RANK, StridedCopy};

uniform! {
    /// `CopyParams` of copy.wgsl.
    pub(crate) struct CopyParams {
        /// The piece's sizes, outermost first (leading dimensions of size 1).
        size: [u32; 6],
        /// Signed strides, in elements.
        src_stride: [i32; 6],
        dst_stride: [i32; 6],
        /// The element of index 0 within each binding.
        src_base: u32,
        dst_base: u32,
        /// Elements of the piece.
        total: u32,
        _pad: [u32; 3],
    }
}

const LAYOUT: &[(u32, Slot)] = layout![0 => Read, 1 => ReadWrite, 2 => Uniform];
const LAYOUT16: &[(u32, Slot)] = layout![0 => Read, 2 => Uniform, 3 => ReadWrite];

/// One dispatch of a copy: sizes and strides of at most [`MAX_RANK`] dimensions, and
/// the element offsets of index 0 in the source and destination buffers.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Piece {
    shape: Vec<usize>,
    src: Vec<i64>,
    dst: Vec<i64>,
    src_base: i64,
    dst_base: i64,
}

/// The lowest and highest offset (relative to index 0) that `shape` with `strides`
/// reaches: a non-empty shape's extent.
fn extent(shape: &[usize], strides: &[i64]) -> (i64, i64) {
    shape
        .iter()
        .zip(strides)
        .fold((0, 0), |(lo, hi), (&n, &s)| {
            let far = (n as i64 - 1) * s;
            (lo + far.min(0), hi + far.max(0))
        })
}

/// Elements a window must hold to cover `shape` with `strides`.
fn span(shape: &[usize], strides: &[i64]) -> u64 {
    let (lo, hi) = extent(shape, strides);
    (hi - lo) as u64 + 1
}

/// `copy` with dimensions of size 1 dropped and neighbours merged where both sides
/// step across them as across one dimension (an outer stride equal to the inner
/// stride times the inner size). A copy of no dimensions left is one element.
fn merged(copy: &StridedCopy) -> Piece {
    let mut out = Piece {
        shape: Vec::new(),
        src: Vec::new(),
        dst: Vec::new(),
        src_base: copy.src_offset as i64,
        dst_base: copy.dst_offset as i64,
    };
    for d in 0..copy.shape.len() {
        let (n, s, t) = (copy.shape[d], copy.src_strides[d], copy.dst_strides[d]);
        if n == 1 {
            continue;
        }
        if let (Some(&m), Some(&ps), Some(&pt)) = (out.shape.last(), out.src.last(), out.dst.last())
            && ps == s * n as i64
            && pt == t * n as i64
        {
            let last = out.shape.len() - 1;
            out.shape[last] = m * n;
            out.src[last] = s;
            out.dst[last] = t;
            continue;
        }
        out.shape.push(n);
        out.src.push(s);
        out.dst.push(t);
    }
    out
}

/// Cuts `piece` into pieces whose source and destination windows each hold at most
/// `chunk` elements, into `pieces`.
fn split(piece: Piece, chunk: u64, pieces: &mut Vec<Piece>) {
    let fits = |p: &Piece| span(&p.shape, &p.src) <= chunk && span(&p.shape, &p.dst) <= chunk;
    if piece.shape.is_empty() || fits(&piece) {
        pieces.push(piece);
        return;
    }
    let n0 = piece.shape[0];
    let (s0, t0) = (piece.src[0], piece.dst[0]);
    // a run of k indices along the outermost dimension spans (k - 1) * |stride| plus
    // what the rest spans
    let run = |stride: i64, rest: u64| -> u64 {
        match (rest, stride.unsigned_abs()) {
            (r, _) if r > chunk => 0,
            (_, 0) => n0 as u64,
            (r, s) => (chunk - r) / s + 1,
        }
    };
    let (rest_shape, rest_src, rest_dst) = (&piece.shape[1..], &piece.src[1..], &piece.dst[1..]);
    let k = run(s0, span(rest_shape, rest_src))
        .min(run(t0, span(rest_shape, rest_dst)))
        .min(n0 as u64) as usize;
    if k >= 1 {
        for a in (0..n0).step_by(k) {
            let mut p = piece.clone();
            p.shape[0] = k.min(n0 - a);
            p.src_base += a as i64 * s0;
            p.dst_base += a as i64 * t0;
            pieces.push(p);
        }
    } else {
        for a in 0..n0 {
            let p = Piece {
                shape: rest_shape.to_vec(),
                src: rest_src.to_vec(),
                dst: rest_dst.to_vec(),
                src_base: piece.src_base + a as i64 * s0,
                dst_base: piece.dst_base + a as i64 * t0,
            };
            split(p, chunk, pieces);
        }
    }
}

/// A stride of a piece as the i32 the uniform holds (0 where the size is 1: never
/// stepped).
fn stride_i32(n: usize, s: i64) -> Result<i32> {
    if n <= 1 {
        return Ok(0);
    }
    i32::try_from(s).map_err(|_| Error::Limit {
        op: "kernel",
        what: "copy stride",
        requested: s.unsigned_abs(),
        limit: i32::MAX as u64,
    })
}

/// Records `copies` (from `inputs[copy.input]`) into `dst`. Empty copies record
/// nothing.
pub(crate) fn launch(
    gpu: &GpuHandle,
    copies: &[StridedCopy],
    inputs: &[Buf<'_>],
    dst: Buf<'_>,
) -> Result<()> {
    let chunk = gpu.chunk_elems();
    let size = gpu.elem().dtype().size();
    let (entry, layout, dst_binding) = match size {
        4 => ("strided_copy", LAYOUT, 1),
        _ => ("strided_copy16", LAYOUT16, 3),
    };
    let mut pipeline = None;
    for copy in copies.iter().filter(|c| c.numel() > 0) {
        let src = *inputs
            .get(copy.input)
            .ok_or_else(|| Error::Backend(format!("missing input {}", copy.input)))?;
        let whole = merged(copy);
        // one contiguous run on both sides, of whole u32 words: a buffer copy
        let (bytes, s, d) = (
            copy.numel() as u64 * size,
            whole.src_base as u64 * size,
            whole.dst_base as u64 * size,
        );
        if whole.shape.len() <= 1
            && whole.src.iter().chain(&whole.dst).all(|&s| s == 1)
            && [bytes, s, d].iter().all(|b| b % 4 == 0)
        {
            gpu.copy(src, s, dst, d, bytes)?;
            continue;
        }
        let mut pieces = Vec::new();
        split(whole, chunk, &mut pieces);
        let pipeline = match &pipeline {
            Some(p) => p,
            // the bits move as u32 words in every form: the f32 source
            None => pipeline.insert(
                gpu.in_form(Elem::F32)
                    .pipeline(&Shader::Copy.entry(entry, layout))?,
            ),
        };
        for p in pieces {
            let rank = p.shape.len();
            if rank > MAX_RANK {
                return Err(Error::limit(
                    "kernel",
                    "tensor rank",
                    rank as u64,
                    MAX_RANK as u64,
                ));
            }
            let (src_lo, _) = extent(&p.shape, &p.src);
            let (dst_lo, _) = extent(&p.shape, &p.dst);
            // the windows: from the lowest element each side reaches
            let (x_off, x_size, x_shift) =
                gpu.window((p.src_base + src_lo) as u64, span(&p.shape, &p.src));
            let (y_off, y_size, y_shift) =
                gpu.window((p.dst_base + dst_lo) as u64, span(&p.shape, &p.dst));
            let mut params = CopyParams {
                size: [1; 6],
                src_base: super::u32_of(u64::from(x_shift) + (-src_lo) as u64, "copy offset")?,
                dst_base: super::u32_of(u64::from(y_shift) + (-dst_lo) as u64, "copy offset")?,
                total: super::u32_of(p.shape.iter().product::<usize>() as u64, "copy elements")?,
                ..CopyParams::default()
            };
            let lead = MAX_RANK - rank;
            for d in 0..rank {
                params.size[lead + d] = super::u32_of(p.shape[d] as u64, "copy size")?;
                params.src_stride[lead + d] = stride_i32(p.shape[d], p.src[d])?;
                params.dst_stride[lead + d] = stride_i32(p.shape[d], p.dst[d])?;
            }
            let binds = [
                Bind::at(0, src, x_off, x_size),
                Bind::at(dst_binding, dst, y_off, y_size),
            ];
            let groups = gpu.grid(u64::from(params.total).div_ceil(256))?;
            gpu.dispatch(pipeline, &binds, bytemuck::bytes_of(&params), groups)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(shape: &[usize], src: &[i64], dst: &[i64]) -> StridedCopy {
        StridedCopy {
            input: 0,
            shape: shape.to_vec(),
            src_offset: 0,
            src_strides: src.to_vec(),
            dst_offset: 0,
            dst_strides: dst.to_vec(),
        }
    }

    #[test]
    fn contiguous_dimensions_merge_into_one() {
        let p = merged(&copy(&[2, 3, 4], &[12, 4, 1], &[12, 4, 1]));
        assert_eq!((p.shape, p.src, p.dst), (vec![24], vec![1], vec![1]));
        // a transpose of the last two keeps both
        let p = merged(&copy(&[2, 4, 3], &[12, 1, 4], &[12, 3, 1]));
        assert_eq!(p.shape, vec![2, 4, 3]);
        // size-1 dimensions go
        let p = merged(&copy(&[1, 5, 1], &[5, 1, 1], &[5, 1, 1]));
        assert_eq!(p.shape, vec![5]);
    }

    #[test]
    fn pieces_fit_the_chunk_and_cover_every_element() {
        // a transpose [8, 6] -> [6, 8] under windows of 10 elements, and a backwards
        // slice
        for (shape, src, dst) in [
            (vec![6usize, 8], vec![1i64, 6], vec![8i64, 1]),
            (vec![3, 7], vec![-7, 1], vec![7, 1]),
        ] {
            let mut whole = merged(&copy(&shape, &src, &dst));
            whole.src_base = if src[0] < 0 { 14 } else { 0 };
            let mut pieces = Vec::new();
            split(whole, 10, &mut pieces);
            let mut seen = std::collections::BTreeSet::new();
            for p in &pieces {
                assert!(span(&p.shape, &p.src) <= 10 && span(&p.shape, &p.dst) <= 10);
                let n: usize = p.shape.iter().product();
                for flat in 0..n {
                    let (mut rest, mut at) = (flat, p.dst_base);
                    for d in (0..p.shape.len()).rev() {
                        at += (rest % p.shape[d]) as i64 * p.dst[d];
                        rest /= p.shape[d];
                    }
                    assert!(seen.insert(at), "element {at} written twice");
                }
            }
            assert_eq!(seen.len(), shape.iter().product::<usize>());
        }
    }
}
