//! Rows of NCHW images moved with buffer copies, which know no binding limit: how
//! images larger than a storage binding are cut into bands of rows (with their halo)
//! and their outputs put back in place.

use crate::device::{Buf, GpuHandle};
use crate::error::{Error, Result};

/// Images stored as planes of `rows` rows of `w` elements, in `buffer` from plane
/// `first` on.
#[derive(Clone, Copy)]
pub(crate) struct Planes<'a> {
    pub buffer: Buf<'a>,
    pub first: u64,
    pub rows: u64,
    pub w: u64,
}

impl<'a> Planes<'a> {
    /// The `channels`-plane image `n` of an NCHW buffer of `rows x w` planes.
    pub(crate) fn image(buffer: Buf<'a>, n: u64, channels: u64, rows: u64, w: u64) -> Self {
        Self {
            buffer,
            first: n * channels,
            rows,
            w,
        }
    }

    /// Element offset of row `row` of plane `c`.
    fn at(&self, c: u64, row: u64) -> u64 {
        ((self.first + c) * self.rows + row) * self.w
    }
}

/// The bytes of `len` elements from element `at` in `gpu`'s form, where a buffer copy
/// can move them: f16 rows that start or end inside a u32 word cannot be.
fn span(gpu: &GpuHandle, at: u64, len: u64) -> Result<(u64, u64)> {
    let size = gpu.elem().dtype().size();
    let (offset, bytes) = (at * size, len * size);
    if offset % 4 != 0 || bytes % 4 != 0 {
        return Err(Error::Unsupported(
            "an f16 tensor larger than a storage binding whose bands start or end inside \
             a u32 word (buffer copies move whole words)"
                .into(),
        ));
    }
    Ok((offset, bytes))
}

/// Records the copy of rows `[from, from + count)` of `channels` planes of `src` into
/// rows `[to, to + count)` of the same planes of `dst` (rows of equal width).
pub(crate) fn copy(
    gpu: &GpuHandle,
    channels: u64,
    (src, from): (Planes<'_>, u64),
    (dst, to): (Planes<'_>, u64),
    count: u64,
) -> Result<()> {
    for c in 0..channels {
        let (from, bytes) = span(gpu, src.at(c, from), count * src.w)?;
        let (to, _) = span(gpu, dst.at(c, to), count * src.w)?;
        gpu.copy(src.buffer, from, dst.buffer, to, bytes)?;
    }
    Ok(())
}

/// Records zeros into rows `[to, to + count)` of `channels` planes of `dst`.
pub(crate) fn clear(
    gpu: &GpuHandle,
    channels: u64,
    (dst, to): (Planes<'_>, u64),
    count: u64,
) -> Result<()> {
    for c in 0..channels {
        let (to, bytes) = span(gpu, dst.at(c, to), count * dst.w)?;
        gpu.clear(dst.buffer, to, bytes)?;
    }
    Ok(())
}
