//! wgcnn: convolutional-network primitives on any GPU through wgpu.
//!
//! WGSL compute shaders for conv2d, conv_transpose2d, max and average pooling, nearest
//! and bilinear interpolation (and ONNX resize), relu and the other activations,
//! broadcast arithmetic, softmax, inference batch norm, linear layers, and permute,
//! slice and cat, with PyTorch's semantics on NCHW f32 tensors,
//! a device layer that records every op into one pending command encoder, and a CPU
//! reference path that every GPU result is validated against.
//!
//! The layers, each reading only those below it (see `ARCHITECTURE.md`):
//! [`op`] (what an op means) → [`reference`] (the CPU oracle) and [`device`] →
//! [`tensor`] → [`kernels`] (the GPU launchers) → [`functional`] (the public calls) →
//! [`nn`], [`fixture`], [`bench`].
//!
//! ```no_run
//! use wgcnn::{Device, Tensor};
//! let dev = Device::best()?;
//! let x = Tensor::from_slice(&dev, &[-1.0, 2.0, f32::NAN, -0.0], &[1, 1, 2, 2])?;
//! let y = wgcnn::relu(&x)?;
//! assert_eq!(y.to_vec()?[..2], [0.0, 2.0]);
//! # Ok::<(), wgcnn::Error>(())
//! ```

pub mod bench;
pub mod device;
pub mod dtype;
pub mod error;
pub mod fixture;
pub mod functional;
pub mod kernels;
pub mod model;
pub mod nn;
pub mod op;
pub mod reference;
pub mod tensor;
pub mod tensor_file;

pub use device::{
    AdapterSummary, BackendKind, Device, DeviceOptions, Extensions, MemoryStats, list_adapters,
};
pub use dtype::DType;
pub use error::{Error, Result};
pub use functional::{
    adaptive_avg_pool2d, adaptive_max_pool2d, add, avg_pool2d, batch_norm, binary, cat,
    conv_transpose2d, conv2d, conv2d_ext, conv2d_relu, div, hardsigmoid, hardswish, hardtanh,
    interpolate, leaky_relu, linear, matmul, max_pool2d, max_pool2d_with_indices, mul, permute,
    relu, relu_, resize, sigmoid, slice, softmax, sub, tanh, unary,
};
/// The `half` crate, whose `f16` is the element of [`Tensor::from_f16`].
pub use half;
pub use kernels::{
    Autotune, AutotuneCache, AutotuneStats, Conv2dAlgo, Conv2dOptions, F16Kernels, GemmVariant,
    Lowerings, autotune_stats,
};
pub use model::Model;
pub use op::conv_transpose2d::ConvTranspose2dParams;
pub use op::conv2d::{Conv2dParams, Padding, PaddingMode};
pub use op::copy::SliceParams;
pub use op::elementwise::{Binary, Unary};
pub use op::interpolate::{InterpolateMode, InterpolateParams};
pub use op::pool2d::{AvgPool2dParams, MaxPool2dParams};
pub use op::resize::{CoordinateMode, NearestMode, ResizeMode, ResizeParams};
pub use op::{Op, OpKind};
pub use tensor::{IndexTensor, Tensor};
