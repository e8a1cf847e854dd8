//! Reference relu: `torch.relu` elementwise.

/// `torch.relu` of one value, as PyTorch computes it (`x < 0 ? 0 : x`): negatives give
/// +0.0; NaN and -0.0 pass through unchanged.
pub fn relu_value(x: f32) -> f32 {
    if x < 0.0 { 0.0 } else { x }
}

/// `torch.relu` of a slice.
pub fn relu(data: &[f32]) -> Vec<f32> {
    data.iter().map(|&x| relu_value(x)).collect()
}

/// `torch.relu_` of a slice, in place.
pub fn relu_(data: &mut [f32]) {
    data.iter_mut().for_each(|x| *x = relu_value(*x));
}
