//! A model file: loaded on the CPU reference; when it loads, its multiply-adds on a
//! small input and, where the shapes allow, a forward pass on it.
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use wgcnn::nn::Sequential;
use wgcnn::{Device, Tensor};

#[path = "bound.rs"]
mod bound;

#[path = "safetensors_mutator.rs"]
mod safetensors_mutator;

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    safetensors_mutator::mutate(data, size, max_size, seed)
});

fuzz_target!(|data: &[u8]| {
    let device = Device::cpu();
    let Ok(net) = Sequential::from_safetensors(data, &device) else {
        return;
    };
    // the CLI's reading of the preprocessing the model asks for
    let _ = wgcnn_cli::picture::Preprocess::of(&net);
    for shape in [&[1, 1, 8, 8][..], &[1, 3, 8, 8]] {
        if net.macs(shape).is_err() || !bound::network_affordable(&net, shape) {
            continue;
        }
        let x = Tensor::zeros(&device, shape).expect("a small input");
        if let Ok(y) = net.forward(&x) {
            let _ = y.to_vec();
        }
    }
});
