//! The operators, one module each, named as in `torch.nn.functional`.
//!
//! Adding an op:
//! 1. `shaders/<op>.wgsl`, with the header naming each binding and the uniform's mirror;
//!    register it in [`crate::shaders::Shader`];
//! 2. a params struct named as PyTorch's keyword arguments, with `output_shape`
//!    (the only place the size formula lives) and PyTorch-worded errors;
//! 3. `src/reference/<op>.rs`: plain loops, the oracle;
//! 4. the launcher here: validate, allocate the output, get the pipeline from the cache,
//!    bind, compute the grid with `Gpu::grid`, dispatch into the pending encoder;
//! 5. the fixture op in `src/fixture.rs` and cases in `scripts/gen_fixtures.py`;
//! 6. `tests/<op>.rs` on every backend; a workload in `benches/workloads.json`.

pub mod conv2d;
pub mod gemm;
pub mod linear;
pub mod pool2d;
pub mod relu;
pub mod upsample2d;
pub(crate) mod winograd;

use crate::shaders::Shader;

/// Every uniform struct a shader declares, with the size of its Rust mirror, so that
/// tests can hold the two in sync: (shader, WGSL struct name, mirror size in bytes).
pub fn uniform_mirrors() -> Vec<(Shader, &'static str, usize)> {
    use std::mem::size_of;
    vec![
        (Shader::Relu, "ReluParams", size_of::<relu::ReluParams>()),
        (Shader::Gemm, "GemmParams", size_of::<gemm::GemmParams>()),
        (
            Shader::Im2col,
            "Im2colParams",
            size_of::<conv2d::Im2colParams>(),
        ),
        (
            Shader::Conv2d,
            "DirectParams",
            size_of::<conv2d::DirectParams>(),
        ),
        (
            Shader::Conv2dPacked,
            "PackParams",
            size_of::<conv2d::PackParams>(),
        ),
        (
            Shader::Conv2dPacked,
            "PackedParams",
            size_of::<conv2d::PackedParams>(),
        ),
        (
            Shader::Conv2dWinograd,
            "WinoParams",
            size_of::<winograd::WinoParams>(),
        ),
        (
            Shader::Pool2d,
            "PoolParams",
            size_of::<pool2d::PoolParams>(),
        ),
        (
            Shader::Upsample2d,
            "UpsampleParams",
            size_of::<upsample2d::UpsampleParams>(),
        ),
        (
            Shader::Roofline,
            "RoofParams",
            size_of::<crate::bench::RoofParams>(),
        ),
    ]
}
