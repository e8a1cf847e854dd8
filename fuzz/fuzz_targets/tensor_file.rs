//! A safetensors file through the one reader of tensor files.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wgcnn::tensor_file::TensorFile;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = TensorFile::from_bytes("t", data) {
        for key in file.tensors.keys().chain(file.indices.keys()) {
            let _ = file.tensor("t", key);
        }
    }
});
