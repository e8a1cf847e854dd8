//! An ONNX model file: parsed (no external data: a fuzzer's bytes have no folder), and
//! when it parses, planned for its declared input shape (a batch of 1 where it names
//! none) when that and every value of the plan are small, and run once on the CPU
//! reference.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wgcnn::{Device, Model, Tensor};

fuzz_target!(|data: &[u8]| {
    let device = Device::cpu();
    let Ok(model) = Model::from_onnx("fuzz.onnx", data, None, &device) else {
        return;
    };
    let mut shapes = Vec::new();
    for (_, declared) in model.inputs() {
        let Some(dims) = declared else { return };
        let dims: Vec<usize> = dims.iter().map(|d| d.unwrap_or(1)).collect();
        // a small input, so that one forward pass stays cheap
        if dims.len() > 6
            || dims
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .is_none_or(|n| n > 1 << 12)
        {
            return;
        }
        shapes.push(dims);
    }
    let Ok(macs) = model.macs(&shapes) else {
        return;
    };
    if macs > 1 << 22 {
        return;
    }
    // every value small too (a resize by a large scale is a legitimate, large request)
    let Ok(plan) = model.plan(&shapes) else {
        return;
    };
    let big = plan.shapes.values().any(|s| {
        s.iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .is_none_or(|n| n > 1 << 20)
    });
    if big {
        return;
    }
    let inputs: Vec<Tensor> = shapes
        .iter()
        .map(|s| Tensor::zeros(&device, s).expect("a small input"))
        .collect();
    let refs: Vec<&Tensor> = inputs.iter().collect();
    if let Ok(ys) = model.forward_all(&refs) {
        for y in ys {
            let _ = y.to_vec();
        }
    }
});
