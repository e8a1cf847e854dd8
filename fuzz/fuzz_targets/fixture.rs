//! A fixture file: parsed, and when it parses and is small, run on the CPU reference
//! and judged.
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use wgcnn::fixture::Fixture;
use wgcnn::op::kwargs::Kwargs;
use wgcnn::{Device, Op};

#[path = "bound.rs"]
mod bound;

/// Whether running the fixture stays within the bounds.
fn affordable(f: &Fixture, device: &Device) -> bool {
    let shapes: Vec<&[usize]> = f.tensors.values().map(|t| &t.shape[..]).collect();
    if !bound::small(&shapes) {
        return false;
    }
    let input = f.tensors.get("input").map_or(&[][..], |t| &t.shape[..]);
    if f.op == "sequential" {
        let Some(layers) = f.params.get("layers").and_then(|l| l.as_array()) else {
            return true;
        };
        let mut weights = f.tensors.clone();
        weights.remove("input");
        weights.remove("expected");
        return match wgcnn::nn::Sequential::from_layers(layers, weights, device) {
            Ok(net) => bound::network_affordable(&net, input),
            Err(_) => true,
        };
    }
    let Ok(op) = Op::from_kwargs(&f.op, Kwargs(&f.params), input) else {
        return true;
    };
    let shapes: Vec<Option<&[usize]>> = op
        .kind()
        .inputs()
        .iter()
        .map(|k| f.tensors.get(*k).map(|t| &t.shape[..]))
        .collect();
    match op.check(&shapes) {
        Ok(call) => bound::affordable(&call),
        Err(_) => true,
    }
}

#[path = "safetensors_mutator.rs"]
mod safetensors_mutator;

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    safetensors_mutator::mutate(data, size, max_size, seed)
});

fuzz_target!(|data: &[u8]| {
    let Ok(f) = Fixture::from_bytes("f", data) else {
        return;
    };
    let _ = f.effective_tolerance();
    let device = Device::cpu();
    if !affordable(&f, &device) {
        return;
    }
    let result = f.run(&device);
    let _ = f.judge(&result);
});
