//! Fused epilogues: a convolution that adds a residual and applies relu, relu6,
//! hardswish or silu in its own kernel gives the numbers of the separate ops (bit for
//! bit for relu and relu6, within 2 ulp for the others) on every lowering and backend,
//! NaN, infinities and -0.0 in the residual included; a residual of the wrong shape is
//! an error; and a graph's convolutions take in the Add, activation and silu after
//! them.

#[macro_use]
mod common;

use wgcnn::op::Op;
use wgcnn::op::conv2d::{Activation, Epilogue};
use wgcnn::{Conv2dParams, Device, DeviceOptions, Lowerings, Tensor, Unary};

const ACTIVATIONS: [Option<Activation>; 5] = [
    None,
    Some(Activation::Relu),
    Some(Activation::Relu6),
    Some(Activation::HardSwish),
    Some(Activation::Silu),
];

/// The separate ops after a plain convolution, on the same device.
fn unfused(y: &Tensor, r: Option<&Tensor>, a: Option<Activation>) -> Tensor {
    let y = match r {
        Some(r) => wgcnn::add(y, r).unwrap(),
        None => y.try_clone().unwrap(),
    };
    match a {
        None => y,
        Some(Activation::Relu) => wgcnn::relu(&y).unwrap(),
        Some(Activation::Relu6) => wgcnn::hardtanh(&y, 0.0, 6.0).unwrap(),
        Some(Activation::HardSwish) => wgcnn::hardswish(&y).unwrap(),
        Some(Activation::Silu) => wgcnn::mul(&y, &wgcnn::sigmoid(&y).unwrap()).unwrap(),
    }
}

/// Floats `a` and `b` at most `ulps` apart (NaN equal to NaN, -0.0 not to 0.0).
fn within_ulps(a: f32, b: f32, ulps: u32) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_sign_negative() != b.is_sign_negative() {
        return a == b && a.to_bits() == b.to_bits();
    }
    a.to_bits().abs_diff(b.to_bits()) <= ulps
}

fn check_fused(dev: &Device, xs: [usize; 4], ws: [usize; 4], p: &Conv2dParams, seed: u64) {
    let x = Tensor::from_slice(dev, &common::random(xs.iter().product(), seed), &xs).unwrap();
    let w = Tensor::from_slice(dev, &common::random(ws.iter().product(), seed + 1), &ws).unwrap();
    let b = Tensor::from_slice(dev, &common::random(ws[0], seed + 2), &[ws[0]]).unwrap();
    let plain = wgcnn::conv2d(&x, &w, Some(&b), p).unwrap();
    // a residual with the special values among its numbers
    let n = plain.numel();
    let mut data = common::random(n, seed + 3);
    for (i, v) in common::specials().into_iter().enumerate() {
        data[(i * 7919) % n] = v;
    }
    let r = Tensor::from_slice(dev, &data, plain.shape()).unwrap();
    for residual in [false, true] {
        for activation in ACTIVATIONS {
            let epilogue = Epilogue {
                residual,
                activation,
            };
            let op = Op::Conv2d {
                params: *p,
                epilogue,
            };
            let args = [Some(&x), Some(&w), Some(&b), residual.then_some(&r)];
            let (fused, _) = wgcnn::functional::run(&op, &args).unwrap();
            let want = unfused(&plain, residual.then_some(&r), activation);
            let ulps = match activation {
                Some(Activation::HardSwish | Activation::Silu) => 2,
                _ => 0,
            };
            let (got, want) = (fused.to_vec().unwrap(), want.to_vec().unwrap());
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    within_ulps(*g, *w, ulps),
                    "{xs:?} * {ws:?} {epilogue:?} on {dev:?}: [{i}] {g} ({:#x}) vs {w} ({:#x})",
                    g.to_bits(),
                    w.to_bits()
                );
            }
        }
    }
}

fn fused_epilogues_give_the_separate_ops_numbers(dev: &Device) {
    let cases = [
        // 3x3 over 8 channels (Winograd applies), pointwise, depthwise rows of vec4,
        // a kernel covering its input (the dot kernel), strided
        (
            [1, 8, 10, 12],
            [6, 8, 3, 3],
            Conv2dParams::default().padding(1),
        ),
        ([2, 8, 5, 7], [9, 8, 1, 1], Conv2dParams::default()),
        (
            [1, 4, 8, 8],
            [4, 1, 3, 3],
            Conv2dParams::default().padding(1).groups(4),
        ),
        ([2, 4, 4, 4], [3, 4, 4, 4], Conv2dParams::default()),
        (
            [1, 3, 11, 9],
            [5, 3, 3, 3],
            Conv2dParams::default().stride(2),
        ),
    ];
    let algos = if dev.is_cpu() {
        &common::ALGOS[..1]
    } else {
        &common::ALGOS[..]
    };
    for &algo in algos {
        let dev = &if dev.is_cpu() {
            dev.clone()
        } else {
            common::reopen(
                dev,
                &DeviceOptions::default().with(Lowerings {
                    conv2d: Some(algo),
                    ..Lowerings::default()
                }),
            )
        };
        for (i, (xs, ws, p)) in cases.iter().enumerate() {
            check_fused(dev, *xs, *ws, p, 10 * i as u64);
        }
    }
}
backend_tests!(fused_epilogues_give_the_separate_ops_numbers);

fn an_image_in_bands_adds_its_residual_rows(dev: &Device) {
    let small = common::reopen(
        dev,
        &DeviceOptions {
            max_storage_binding: Some(4096),
            ..DeviceOptions::default()
        },
    );
    check_fused(
        &small,
        [1, 3, 37, 29],
        [4, 3, 3, 3],
        &Conv2dParams::default().padding(1),
        70,
    );
}
backend_tests!(gpu an_image_in_bands_adds_its_residual_rows);

#[test]
fn a_residual_of_another_shape_is_an_error() {
    let dev = Device::cpu();
    let x = Tensor::zeros(&dev, &[1, 2, 5, 5]).unwrap();
    let w = Tensor::zeros(&dev, &[3, 2, 3, 3]).unwrap();
    let r = Tensor::zeros(&dev, &[1, 3, 5, 5]).unwrap();
    let op = |residual| Op::Conv2d {
        params: Conv2dParams::default(),
        epilogue: Epilogue {
            residual,
            activation: None,
        },
    };
    let e = wgcnn::functional::run(&op(true), &[Some(&x), Some(&w), None, Some(&r)])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the residual must have the output's shape [1, 3, 3, 3]"),
        "{e}"
    );
    let e = wgcnn::functional::run(&op(false), &[Some(&x), Some(&w), None, Some(&r)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("adds none"), "{e}");
}

#[test]
fn a_graph_fuses_the_add_activation_and_silu_into_its_convolutions() {
    // the zoo's networks as a model file gives them: each conv takes in what follows it
    let dev = Device::cpu();
    for (name, steps, convs) in [
        ("resnet18", 23, 20),
        ("mobilenet_v2", 54, 52),
        ("efficientnet_b0", 131, 81),
    ] {
        let model = wgcnn::Model::zoo(name, 0, &dev).unwrap();
        let input = wgcnn::model::zoo::network(name).unwrap().input.to_vec();
        let calls = model.step_calls(&[input]).unwrap();
        let conv = |c: &&wgcnn::model::StepCall| matches!(c.op, Op::Conv2d { .. });
        assert_eq!(calls.len(), steps, "{name}: steps");
        assert_eq!(
            calls.iter().filter(conv).count(),
            convs,
            "{name}: convolutions"
        );
        // no activation is left after a convolution it could join
        let unary = |u: Unary| calls.iter().filter(|c| c.op == Op::Unary(u)).count();
        assert_eq!(unary(Unary::Relu), 0, "{name}");
        assert_eq!(unary(Unary::Clamp { min: 0.0, max: 6.0 }), 0, "{name}");
    }
}

fn scaled_weights(calls: &[wgcnn::model::StepCall]) -> usize {
    // a Mul of a weight: an SE block's scaling folded into the next convolution
    calls
        .iter()
        .filter(|c| c.op == Op::Binary(wgcnn::Binary::Mul) && !c.weights.is_empty())
        .count()
}

#[test]
fn an_se_blocks_scaling_is_folded_into_the_next_convolution_where_its_weight_is_smaller() {
    let dev = Device::cpu();
    // EfficientNet-B0: 16 SE blocks; the 11 of stages 1-5 (maps of 14x14 and more)
    // scale their projection's weight, the 5 on 7x7 maps (weights of 192 or 320 x 672
    // or 1152, larger than the map) scale the map
    let model = wgcnn::Model::zoo("efficientnet_b0", 0, &dev).unwrap();
    let input = wgcnn::model::zoo::network("efficientnet_b0")
        .unwrap()
        .input
        .to_vec();
    let calls = model.step_calls(&[input]).unwrap();
    assert_eq!(scaled_weights(&calls), 11);
    let muls = calls
        .iter()
        .filter(|c| c.op == Op::Binary(wgcnn::Binary::Mul))
        .count();
    assert_eq!(muls, 16);
    // the ONNX cases (their values against onnx.reference are checked by tests/onnx.rs)
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx");
    for (name, shape, folded) in [
        ("se_fold_pointwise", [1, 8, 6, 6], 1),
        ("se_fold_padded", [1, 8, 6, 6], 1),
        ("se_no_fold_wide", [1, 8, 3, 3], 0),
        ("se_no_fold_batch", [2, 8, 6, 6], 0),
    ] {
        let model = wgcnn::Model::load(&dir.join(format!("{name}.onnx")), &dev).unwrap();
        let calls = model.step_calls(&[shape.to_vec()]).unwrap();
        assert_eq!(scaled_weights(&calls), folded, "{name}");
    }
}
