//! Modules named as `torch.nn`'s, holding their parameters on a device.

mod conv2d;

pub use conv2d::Conv2d;
