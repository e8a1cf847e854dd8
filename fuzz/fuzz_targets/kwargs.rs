//! Keyword arguments as JSON: every op and layer name built from them and checked on
//! fixed shapes; the same text as a benchmark workloads file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wgcnn::op::kwargs::Kwargs;
use wgcnn::{Device, Op, OpKind};

/// The layer names of the model format beyond the op names.
const LAYERS: [&str; 7] = [
    "Conv2d",
    "ReLU",
    "MaxPool2d",
    "Upsample",
    "Flatten",
    "Dropout",
    "Linear",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(workloads) = wgcnn::bench::parse_workloads(text) {
        for w in workloads {
            if let wgcnn::bench::WorkloadKind::Network { layers, .. } = &w.kind {
                // the layers' weights are as large as their numbers say: only small ones
                if layers.iter().all(|l| small_numbers(l)) {
                    let _ = wgcnn::bench::build_network(&Device::cpu(), layers);
                }
            }
        }
    }
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let kw = Kwargs(&map);
    let names = OpKind::ALL.iter().map(|k| k.name()).chain(LAYERS);
    for name in names {
        for input in [&[1, 2, 5, 5][..], &[2, 5, 5], &[1, 2, 5], &[5, 5], &[]] {
            if let Ok(op) = Op::from_kwargs(name, kw, input) {
                let _ = op.is_exact();
                if let Ok(call) = op.check(&[Some(input), Some(&[3, 2, 3, 3]), None]) {
                    let _ = (call.output_shape(), call.macs(), call.cost());
                }
                let _ = op.check(&[Some(input), Some(&[2, 5]), Some(&[2])]);
                let _ = op.check(&[Some(&[5, 5]), Some(&[5, 2]), None]);
            }
        }
    }
    // the same object as a one-layer network's entry
    let layers = [Value::Object(map.clone())];
    let _ = wgcnn::nn::Sequential::from_layers(&layers, Default::default(), &Device::cpu());
});

/// Whether the integers written in `text` multiply to a small number.
fn small_numbers(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u64>().unwrap_or(u64::MAX))
        .try_fold(1u64, |p, n| {
            p.checked_mul(n.max(1)).filter(|&p| p <= 1 << 20)
        })
        .is_some()
}
