//! The model zoo: each network builds with the structure of its ONNX export (output
//! shape, nodes after fusion, multiply-adds), gives finite, varied outputs,
//! and runs on every GPU backend as on the CPU reference.

#[macro_use]
mod common;

use std::sync::OnceLock;

use wgcnn::model::zoo::{self, NAMES, NETWORKS};
use wgcnn::{Device, Model, Tensor};

/// What `wgcnn inspect` reports for the `torch.onnx.export(..., dynamo=True)` export of
/// the same architecture by scripts/export_onnx.py (the UNet's at 1x3x128x128, its
/// multiply-adds times 4 here at 256x256): nodes after fusion and multiply-adds.
const EXPORTED: &[(&str, usize, u64)] = &[
    ("resnet18", 40, 1_814_073_344),
    ("mobilenet_v2", 100, 300_774_272),
    ("efficientnet_b0", 239, 385_814_752),
    ("unet", 26, 4 * 580_124_672),
];

/// Each network plans on its input with its output shape and the node and
/// multiply-add counts of its ONNX export.
#[test]
fn networks_have_the_structure_of_their_exports() {
    assert_eq!(NAMES.len(), EXPORTED.len());
    let dev = Device::cpu();
    for &(name, nodes, macs) in EXPORTED {
        let net = zoo::network(name).expect("a network of the zoo");
        let model = Model::zoo(name, 0, &dev).expect("builds");
        let plan = model.plan(&[net.input.to_vec()]).expect("plans");
        let out = model.graph().outputs[0];
        assert_eq!(plan.shapes[&out], net.output, "{name}: output shape");
        assert_eq!(
            model.graph().nodes.len(),
            nodes,
            "{name}: nodes after fusion"
        );
        assert_eq!(plan.macs(), macs, "{name}: multiply-adds");
    }
}

#[test]
fn an_unknown_name_lists_the_known_ones() {
    let err = zoo::build("resnet19", 0).expect_err("no such network");
    let text = err.to_string();
    assert!(matches!(err, wgcnn::Error::InvalidParam { .. }), "{text}");
    for name in NAMES {
        assert!(text.contains(name), "'{text}' lists {name}");
    }
    assert!(Model::zoo("", 0, &Device::cpu()).is_err());
}

/// The same seed gives the same weights, another seed other weights.
#[test]
fn weights_follow_the_seed() {
    let a = zoo::build("unet", 1).expect("builds");
    let b = zoo::build("unet", 1).expect("builds");
    let c = zoo::build("unet", 2).expect("builds");
    assert_eq!(a.constants, b.constants);
    assert_eq!(a.nodes, c.nodes);
    assert_ne!(a.constants, c.constants);
}

/// A deterministic input in [-1, 1] of `shape`.
fn input(shape: &[usize]) -> Vec<f32> {
    let n: usize = shape.iter().product();
    (0..n)
        .map(|i| ((i as f32 * 0.618_034).fract() * 2.0 - 1.0) * (i as f32 * 0.001).cos())
        .collect()
}

/// Network `name`'s output on `dev` for its input, and the seconds the forward took.
fn forward(name: &str, dev: &Device) -> (Vec<f32>, f64) {
    let net = zoo::network(name).expect("a network");
    let model = Model::zoo(name, 0, dev).expect("builds");
    let x = Tensor::from_slice(dev, &input(&net.input), &net.input).expect("uploads");
    let t = std::time::Instant::now();
    let y = model.forward(&x).expect("forward");
    assert_eq!(y.shape(), net.output, "{name} on {}", dev.name());
    let y = y.to_vec().expect("read");
    (y, t.elapsed().as_secs_f64())
}

/// The CPU reference's output of network `name`, computed once per test binary.
fn reference(name: &str) -> Vec<f32> {
    static REFERENCES: [OnceLock<Vec<f32>>; NAMES.len()] = [const { OnceLock::new() }; NAMES.len()];
    let i = NAMES.iter().position(|&n| n == name).expect("a network");
    let cell = &REFERENCES[i];
    cell.get_or_init(|| {
        let (y, secs) = forward(name, &Device::cpu());
        eprintln!("{name}: CPU reference: forward {secs:.2} s");
        check_varied(name, &y);
        y
    })
    .clone()
}

/// Every value finite, not all alike, of a moderate size.
fn check_varied(name: &str, y: &[f32]) {
    assert!(
        y.iter().all(|v| v.is_finite()),
        "{name}: a non-finite output"
    );
    let max = y.iter().fold(0f32, |m, v| m.max(v.abs()));
    let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / y.len() as f64;
    let var = y
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / y.len() as f64;
    assert!(
        (1e-2..1e4).contains(&max),
        "{name}: outputs of largest magnitude {max}"
    );
    assert!(
        var.sqrt() > 1e-2 * f64::from(max),
        "{name}: outputs nearly constant (sd {}, largest {max})",
        var.sqrt()
    );
}

/// The most a GPU output may differ from the CPU reference's (f64 sums), relative to
/// the reference's largest magnitude: f32 sums in another order through up to 81
/// convolutions, and Winograd's transforms on CPU drivers (lavapipe and llvmpipe
/// differ by at most 5e-6 of it).
const RTOL: f32 = 1e-4;

fn matches_reference(name: &str, dev: &Device) {
    let want = reference(name);
    let (got, secs) = forward(name, dev);
    let on = format!("{} ({})", dev.backend(), dev.name());
    eprintln!("{name}: {on}: first forward {secs:.2} s");
    check_varied(name, &got);
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let (i, err) = got
        .iter()
        .zip(&want)
        .map(|(g, w)| (g - w).abs())
        .enumerate()
        .fold((0, 0f32), |a, (i, e)| if e > a.1 { (i, e) } else { a });
    eprintln!(
        "{name}: {on}: largest difference {err:.3e} ({:.3e} of the largest output {scale:.3e})",
        err / scale
    );
    assert!(
        err <= RTOL * scale,
        "{name} on {on}: output {i} is {}, the reference's {} (largest output {scale})",
        got[i],
        want[i]
    );
}

fn resnet18_matches_reference(dev: &Device) {
    matches_reference("resnet18", dev);
}
backend_tests!(gpu resnet18_matches_reference);

fn unet_matches_reference(dev: &Device) {
    matches_reference("unet", dev);
}
backend_tests!(gpu unet_matches_reference);

fn mobilenet_v2_matches_reference(dev: &Device) {
    matches_reference("mobilenet_v2", dev);
}
backend_tests!(gpu mobilenet_v2_matches_reference);

fn efficientnet_b0_matches_reference(dev: &Device) {
    matches_reference("efficientnet_b0", dev);
}
backend_tests!(gpu efficientnet_b0_matches_reference);

/// Every network's list is the zoo's.
#[test]
fn every_network_is_tested() {
    let tested: Vec<&str> = EXPORTED.iter().map(|e| e.0).collect();
    let listed: Vec<&str> = NETWORKS.iter().map(|n| n.name).collect();
    assert_eq!(tested, listed);
}
