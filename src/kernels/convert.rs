//! f32 <-> f16 storage on the GPU (`Tensor::to_dtype`): `shaders/convert.wgsl`, walked in
//! chunks that fit one storage binding on both sides.

use crate::device::{Bind, Buf, GpuHandle, Slot};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::shaders::Shader;

uniform! {
    /// `ConvertParams` of convert.wgsl.
    pub(crate) struct ConvertParams {
        /// Elements of this dispatch.
        len: u32,
        _pad: [u32; 3],
    }
}

const TO_F16: &[(u32, Slot)] = layout![0 => Read, 1 => ReadWrite, 4 => Uniform];
const TO_F32: &[(u32, Slot)] = layout![2 => Read, 3 => ReadWrite, 4 => Uniform];

/// Elements a chunk converts: a multiple of 128, so that every chunk's f16 side starts
/// on 256 bytes, the largest binding alignment a device may ask.
const CHUNK_GRAIN: u64 = 128;

/// Records the conversion of the `n` elements of `src`, stored as `from`, into `dst`,
/// stored as `to` (f16 two to a u32, the first in its low half).
pub(crate) fn launch(
    gpu: &GpuHandle,
    (from, to): (DType, DType),
    (src, dst): (Buf<'_>, Buf<'_>),
    n: u64,
) -> Result<()> {
    let (entry, layout) = match (from, to) {
        (DType::F32, DType::F16) => ("to_f16", TO_F16),
        (DType::F16, DType::F32) => ("to_f32", TO_F32),
        // the same type: a copy of its bytes
        _ => return gpu.copy(src, 0, dst, 0, from.bytes(n)),
    };
    let pipeline = gpu.pipeline(&Shader::Convert.entry(entry, layout))?;
    let chunk = (gpu.chunk_elems() / CHUNK_GRAIN * CHUNK_GRAIN).max(CHUNK_GRAIN);
    let mut start = 0;
    while start < n {
        let len = chunk.min(n - start);
        gpu.reserve(len)?;
        let binds = [
            Bind::at(layout[0].0, src, from.bytes(start), from.bytes(len)),
            Bind::at(layout[1].0, dst, to.bytes(start), to.bytes(len)),
        ];
        let params = ConvertParams {
            len: super::u32_of(len, "elements per conversion")?,
            ..ConvertParams::default()
        };
        // one invocation per element, or per pair when writing f16
        let items = if to == DType::F16 {
            len.div_ceil(2)
        } else {
            len
        };
        let groups = gpu.grid(items.div_ceil(256))?;
        gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), groups)?;
        start += len;
    }
    Ok(())
}
