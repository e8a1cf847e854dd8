//! A filter kernel file through the CLI's parser, and a small kernel applied to a small
//! picture on the CPU reference.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wgcnn::{Device, Tensor};
use wgcnn_cli::picture;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((kernel, k)) = picture::parse_kernel("k", text) else {
        return;
    };
    assert_eq!(kernel.len(), k * k);
    if k > 15 {
        return;
    }
    let device = Device::cpu();
    let pixels: Vec<f32> = (0..3 * 6 * 5).map(|i| i as f32 / 90.0).collect();
    let x = Tensor::from_slice(&device, &pixels, &[1, 3, 6, 5]).expect("a small picture");
    let _ = picture::apply_filter(&x, &kernel, k).and_then(|y| y.to_vec());
});
