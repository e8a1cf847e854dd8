//! A safetensors file through the one reader of tensor files.
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use wgcnn::tensor_file::TensorFile;

#[path = "safetensors_mutator.rs"]
mod safetensors_mutator;

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    safetensors_mutator::mutate(data, size, max_size, seed)
});

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = TensorFile::from_bytes("t", data) {
        for key in file.tensors.keys().chain(file.indices.keys()) {
            let _ = file.tensor("t", key);
        }
    }
});
