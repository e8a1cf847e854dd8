//! wgcnn: convolutional-network primitives on any GPU through wgpu.
//!
//! WGSL compute shaders for relu (and, as they land, conv2d, pooling and upsampling),
//! with PyTorch's semantics on NCHW f32 tensors, a device layer that records every op
//! into one pending command encoder, and a CPU reference path that every GPU result is
//! validated against.
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
pub mod error;
pub mod fixture;
pub mod kwargs;
pub mod nn;
pub mod ops;
pub mod picture;
pub mod reference;
pub mod shaders;
pub mod tensor;

pub use device::{AdapterSummary, BackendKind, Device, DeviceOptions, MemoryStats, list_adapters};
pub use error::{Error, Result};
pub use ops::conv2d::{
    Conv2dAlgo, Conv2dOptions, Conv2dParams, Padding, PaddingMode, conv2d, conv2d_ext, conv2d_relu,
};
pub use ops::gemm::{GemmVariant, matmul};
pub use ops::linear::linear;
pub use ops::pool2d::{
    AvgPool2dParams, MaxPool2dParams, adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d,
    max_pool2d, max_pool2d_with_indices,
};
pub use ops::relu::{relu, relu_};
pub use ops::upsample2d::{InterpolateMode, InterpolateParams, interpolate};
pub use tensor::{IndexTensor, Tensor};
