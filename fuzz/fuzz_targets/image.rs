//! An image file through the CLI's picture loader (grey and RGB, at its own size and
//! resized to sizes a model file may ask for), and the result through a filter on the
//! CPU reference.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wgcnn::{Device, Tensor};
use wgcnn_cli::picture;

#[path = "bound.rs"]
mod bound;

fuzz_target!(|data: &[u8]| {
    // the sizes a model's metadata may ask for: small, empty, and past any memory
    let sizes = [
        (1, None),
        (3, None),
        (1, Some([5, 7])),
        (3, Some([0, 3])),
        (3, Some([u32::MAX, u32::MAX])),
    ];
    for (channels, size) in sizes {
        let Ok((pixels, shape)) = picture::decode_image("i", data, channels, size) else {
            continue;
        };
        assert_eq!(pixels.len(), shape.iter().product::<usize>());
        if !bound::small(&[&shape]) {
            continue;
        }
        let device = Device::cpu();
        let x = Tensor::from_slice(&device, &pixels, &shape).expect("decoded shape");
        let (k, n) = picture::filter_kernel("sobel-x").expect("a named kernel");
        let _ = picture::apply_filter(&x, &k, n).and_then(|y| y.to_vec());
    }
});
