//! The CPU reference: plain, obviously correct loops, one file per op. Every GPU result
//! is tested against these, and they run the [`crate::Device::cpu`] backend.

pub mod conv2d;
pub mod gemm;
pub mod pool2d;
pub mod relu;
pub mod upsample2d;
