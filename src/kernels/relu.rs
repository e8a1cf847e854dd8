//! relu and in-place relu on the GPU: `shaders/relu.wgsl`, walked in chunks that fit
//! one storage binding, a vec4 per invocation when the length allows.

use crate::device::{Bind, Buf, GpuHandle, Slot};
use crate::dtype::{DType, Elem};
use crate::error::Result;
use crate::kernels::shaders::Shader;

uniform! {
    /// `ReluParams` of relu.wgsl.
    pub(crate) struct ReluParams {
        /// Elements (or vec4s) of this dispatch.
        len: u32,
        _pad: [u32; 3],
    }
}

const OUT_OF_PLACE: &[(u32, Slot)] = layout![0 => Read, 1 => ReadWrite, 6 => Uniform];
const OUT_OF_PLACE4: &[(u32, Slot)] = layout![3 => Read, 4 => ReadWrite, 6 => Uniform];
const IN_PLACE: &[(u32, Slot)] = layout![2 => ReadWrite, 6 => Uniform];
const IN_PLACE4: &[(u32, Slot)] = layout![5 => ReadWrite, 6 => Uniform];

/// Records relu over the `n` elements of type `dtype` of `src` into `dst`, or in place
/// when `dst` is `None`. f16 data is walked a word (two elements) at a time: an odd
/// last element's word ends in the padding its tensor's buffer holds.
pub(crate) fn launch(
    gpu: &GpuHandle,
    dtype: DType,
    src: Buf<'_>,
    dst: Option<Buf<'_>>,
    n: u64,
) -> Result<()> {
    // u32 words, walked as f32 elements are
    let n = dtype.bytes(n) / 4;
    let gpu = &gpu.in_form(Elem::F32);
    let vec4 = n.is_multiple_of(4);
    let (entry, layout) = match (dst.is_some(), vec4) {
        (true, false) => ("relu", OUT_OF_PLACE),
        (true, true) => ("relu4", OUT_OF_PLACE4),
        (false, false) => ("relu_inplace", IN_PLACE),
        (false, true) => ("relu4_inplace", IN_PLACE4),
    };
    let spec = Shader::Relu
        .entry(entry, layout)
        .with("HALF", u32::from(dtype == DType::F16));
    let pipeline = gpu.pipeline(&spec)?;
    gpu.for_each_chunk(n, |offset, size, len| {
        let items = if vec4 { len / 4 } else { len };
        let first = Bind::at(layout[0].0, src, offset, size);
        let binds: Vec<Bind<'_>> = match dst {
            Some(dst) => vec![first, Bind::at(layout[1].0, dst, offset, size)],
            None => vec![first],
        };
        let params = ReluParams {
            len: super::u32_of(items, "relu elements per binding")?,
            ..ReluParams::default()
        };
        let groups = gpu.grid(items.div_ceil(256))?;
        gpu.dispatch(&pipeline, &binds, bytemuck::bytes_of(&params), groups)
    })
}
