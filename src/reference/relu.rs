//! Reference relu: `torch.relu` elementwise.

/// `torch.relu` of one value: NaN stays NaN, -0.0 and negatives give +0.0.
pub fn relu_value(x: f32) -> f32 {
    if x.is_nan() || x > 0.0 { x } else { 0.0 }
}

/// `torch.relu` of a slice.
pub fn relu(data: &[f32]) -> Vec<f32> {
    data.iter().map(|&x| relu_value(x)).collect()
}

/// `torch.relu_` of a slice, in place.
pub fn relu_(data: &mut [f32]) {
    data.iter_mut().for_each(|x| *x = relu_value(*x));
}
