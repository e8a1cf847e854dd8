//! STUB functional calls
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::op::elementwise::{Unary, Binary};
use crate::op::resize::ResizeParams;
use crate::op::conv_transpose2d::ConvTranspose2dParams;
fn no<T>() -> Result<T> { Err(Error::Unsupported("stub".into())) }
pub fn unary(_: &Tensor, _: Unary) -> Result<Tensor> { no() }
pub fn binary(_: &Tensor, _: &Tensor, _: Binary) -> Result<Tensor> { no() }
pub fn softmax(_: &Tensor, _: i64) -> Result<Tensor> { no() }
pub fn batch_norm(_: &Tensor, _: &Tensor, _: &Tensor, _: Option<&Tensor>, _: Option<&Tensor>, _: f32) -> Result<Tensor> { no() }
pub fn resize(_: &Tensor, _: &ResizeParams) -> Result<Tensor> { no() }
pub fn conv_transpose2d(_: &Tensor, _: &Tensor, _: Option<&Tensor>, _: &ConvTranspose2dParams) -> Result<Tensor> { no() }
pub fn permute(_: &Tensor, _: &[usize]) -> Result<Tensor> { no() }
pub fn slice(_: &Tensor, _: usize, _: i64, _: i64, _: i64) -> Result<Tensor> { no() }
pub fn cat(_: &[&Tensor], _: usize) -> Result<Tensor> { no() }
