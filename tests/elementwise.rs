//! The unary activations, broadcast binary arithmetic and inference batch_norm on every
//! backend against the CPU reference, the reference against values computed by hand or
//! by PyTorch, and their errors in PyTorch's words.

#[macro_use]
mod common;

use wgcnn::op::batch_norm::BatchNormGeometry;
use wgcnn::op::elementwise::BroadcastGeometry;
use wgcnn::reference::elementwise as reference;
use wgcnn::{Binary, Device, DeviceOptions, Tensor, Unary};

const UNARIES: [Unary; 10] = [
    Unary::Relu,
    Unary::LeakyRelu {
        negative_slope: 0.01,
    },
    Unary::LeakyRelu {
        negative_slope: -1.5,
    },
    Unary::Clamp { min: 0.0, max: 6.0 },
    Unary::Clamp {
        min: f32::NEG_INFINITY,
        max: 0.25,
    },
    Unary::Sigmoid,
    Unary::HardSigmoid {
        alpha: 1.0 / 6.0,
        beta: 0.5,
    },
    Unary::HardSigmoid {
        alpha: 0.2,
        beta: 0.5,
    },
    Unary::HardSwish,
    Unary::Tanh,
];

const BINARIES: [Binary; 4] = [Binary::Add, Binary::Sub, Binary::Mul, Binary::Div];

/// The common special values and where the activations change regime: 32 values.
fn specials() -> Vec<f32> {
    let mut values = common::specials();
    values.extend([
        3.0, -3.0, 6.0, -6.0, 1e-4, -1e-4, 1e-30, -1e-30, 0.625, -0.625, 9.0, -9.0, 20.0, -20.0,
        88.0, -88.0, 100.0, -100.0, 1e6, -1e6,
    ]);
    values
}

/// Compares `f` of `data` on `dev` with the reference: bit for bit for the selection
/// ops, within a few ulp for the others (NaN equals NaN).
fn check_unary(dev: &Device, f: Unary, data: &[f32], shape: &[usize]) {
    let x = Tensor::from_slice(dev, data, shape).unwrap();
    let y = wgcnn::unary(&x, f).unwrap();
    assert_eq!(y.shape(), shape);
    let got = y.to_vec().unwrap();
    let want = reference::unary(data, f);
    let what = format!("{f:?} {shape:?} on {dev:?}");
    if f.is_exact() {
        common::assert_bits_eq(&got, &want, &what);
    } else {
        common::assert_close(&got, &want, 1e-37, 2e-6, &what);
    }
}

fn unary_matches_reference_on_many_sizes(dev: &Device) {
    for f in UNARIES {
        for (i, len) in [1usize, 2, 3, 4, 5, 7, 8, 255, 256, 257, 1023, 1024, 4099]
            .into_iter()
            .enumerate()
        {
            // [-8, 8): every branch of every op
            let data: Vec<f32> = common::random(len, i as u64 + 11)
                .iter()
                .map(|v| v * 8.0)
                .collect();
            check_unary(dev, f, &data, &[len]);
        }
        let data = common::random(2 * 3 * 5 * 7, 5);
        check_unary(dev, f, &data, &[2, 3, 5, 7]);
    }
}
backend_tests!(unary_matches_reference_on_many_sizes);

fn unary_propagates_nan_and_matches_reference_on_special_values(dev: &Device) {
    for f in UNARIES {
        // 32 values (vec4 path) and 31 (scalar path)
        let data = specials();
        check_unary(dev, f, &data, &[data.len()]);
        check_unary(dev, f, &data[1..], &[data.len() - 1]);
        let x = Tensor::from_slice(dev, &data, &[data.len()]).unwrap();
        let got = wgcnn::unary(&x, f).unwrap().to_vec().unwrap();
        assert!(got[4].is_nan() && got[5].is_nan(), "{f:?}: NaN gives NaN");
    }
}
backend_tests!(unary_propagates_nan_and_matches_reference_on_special_values);

fn unary_is_accurate_near_zero_and_in_the_tails(dev: &Device) {
    // tanh and sigmoid where a naive formula cancels or overflows
    let data: Vec<f32> = (0..4096)
        .map(|i| {
            let t = (i as f32 - 2048.0) / 2048.0;
            t.signum() * 10f32.powf(t.abs() * 12.0 - 10.0)
        })
        .collect();
    for f in [Unary::Sigmoid, Unary::Tanh] {
        check_unary(dev, f, &data, &[data.len()]);
    }
    let x = Tensor::from_slice(dev, &[-0.0, 0.0], &[2]).unwrap();
    let got = wgcnn::tanh(&x).unwrap().to_vec().unwrap();
    assert_eq!(got[0].to_bits(), (-0.0f32).to_bits(), "tanh(-0.0) is -0.0");
}
backend_tests!(unary_is_accurate_near_zero_and_in_the_tails);

fn named_activations_give_pytorchs_values(dev: &Device) {
    let x = Tensor::from_slice(dev, &[-4.0, -1.0, -0.0, 0.5, 1.0, 4.0, 7.0], &[7]).unwrap();
    let cases: [(&str, Tensor, [f32; 7]); 6] = [
        // torch.nn.functional.leaky_relu(x, 0.1)
        (
            "leaky_relu",
            wgcnn::leaky_relu(&x, 0.1).unwrap(),
            [-0.4, -0.1, -0.0, 0.5, 1.0, 4.0, 7.0],
        ),
        // torch.nn.functional.hardtanh(x, 0.0, 6.0) (relu6)
        (
            "hardtanh",
            wgcnn::hardtanh(&x, 0.0, 6.0).unwrap(),
            [0.0, 0.0, -0.0, 0.5, 1.0, 4.0, 6.0],
        ),
        // torch.sigmoid(x)
        (
            "sigmoid",
            wgcnn::sigmoid(&x).unwrap(),
            [
                0.017_986_21,
                0.268_941_43,
                0.5,
                0.622_459_3,
                0.731_058_6,
                0.982_013_8,
                0.999_088_9,
            ],
        ),
        // torch.nn.functional.hardsigmoid(x)
        (
            "hardsigmoid",
            wgcnn::hardsigmoid(&x).unwrap(),
            [0.0, 0.333_333_34, 0.5, 0.583_333_3, 0.666_666_7, 1.0, 1.0],
        ),
        // torch.nn.functional.hardswish(x)
        (
            "hardswish",
            wgcnn::hardswish(&x).unwrap(),
            [
                -0.0,
                -0.333_333_34,
                -0.0,
                0.291_666_66,
                0.666_666_7,
                4.0,
                7.0,
            ],
        ),
        // torch.tanh(x)
        (
            "tanh",
            wgcnn::tanh(&x).unwrap(),
            [
                -0.999_329_3,
                -0.761_594_2,
                -0.0,
                0.462_117_15,
                0.761_594_2,
                0.999_329_3,
                0.999_998_3,
            ],
        ),
    ];
    for (name, y, want) in cases {
        common::assert_close(&y.to_vec().unwrap(), &want, 1e-7, 1e-6, name);
    }
    // relu6 keeps -0.0 as torch.clamp does
    let y = wgcnn::hardtanh(&x, 0.0, 6.0).unwrap().to_vec().unwrap();
    assert_eq!(y[2].to_bits(), (-0.0f32).to_bits());
}
backend_tests!(named_activations_give_pytorchs_values);

fn unary_of_an_empty_tensor_is_empty(dev: &Device) {
    let x = Tensor::from_slice(dev, &[], &[2, 0, 3]).unwrap();
    let y = wgcnn::sigmoid(&x).unwrap();
    assert_eq!(y.shape(), &[2, 0, 3]);
    let y = wgcnn::add(&x, &Tensor::from_slice(dev, &[1.0], &[1]).unwrap()).unwrap();
    assert_eq!(y.shape(), &[2, 0, 3]);
}
backend_tests!(unary_of_an_empty_tensor_is_empty);

/// Compares `a f b` on `dev` with the reference.
fn check_binary(dev: &Device, f: Binary, (sa, sb): (&[usize], &[usize]), seed: u64) {
    let la: usize = sa.iter().product();
    let lb: usize = sb.iter().product();
    let a_data = common::random(la, seed);
    // divisors away from 0
    let b_data: Vec<f32> = common::random(lb, seed + 1)
        .iter()
        .map(|v| if f == Binary::Div { v + 2.0 } else { *v })
        .collect();
    let a = Tensor::from_slice(dev, &a_data, sa).unwrap();
    let b = Tensor::from_slice(dev, &b_data, sb).unwrap();
    let y = wgcnn::binary(&a, &b, f).unwrap();
    let g = BroadcastGeometry::new("binary", sa, sb).unwrap();
    assert_eq!(y.shape(), &g.shape[..], "{f:?} {sa:?} {sb:?}");
    let want = reference::binary(&a_data, &b_data, f, &g);
    let what = format!("{f:?} {sa:?} {sb:?} on {dev:?}");
    let got = y.to_vec().unwrap();
    if f == Binary::Div {
        common::assert_close(&got, &want, 0.0, 1e-6, &what);
    } else {
        // add, sub and mul round correctly on every backend
        common::assert_bits_eq(&got, &want, &what);
    }
}

fn broadcast_cases() -> Vec<(Vec<usize>, Vec<usize>)> {
    [
        (&[2, 3, 1, 1][..], &[2, 3, 4, 5][..]),
        (&[2, 3, 4, 5], &[2, 3, 1, 1]),
        (&[3, 1, 1], &[2, 3, 4, 5]),
        (&[], &[2, 3]),
        (&[2, 3], &[]),
        (&[1], &[5]),
        (&[1], &[1]),
        (&[], &[]),
        (&[2, 3, 4, 5], &[2, 3, 4, 5]),
        (&[3, 5], &[3, 5]),
        (&[4, 1], &[3]),
        (&[1, 7], &[5, 1]),
        (&[5], &[3, 1, 5]),
        (&[2, 1, 3, 1, 5, 1], &[1, 4, 1, 2, 1, 3]),
        (&[1, 1, 1, 1, 1, 1], &[2, 3, 4, 5, 6, 7]),
        (&[2, 16, 33, 31], &[1, 16, 1, 31]),
        (&[1, 64, 1, 1], &[3, 64, 17, 19]),
        (&[1023], &[1023]),
        (&[4099], &[1]),
        // 4 outputs per invocation: innermost strides 1 or 0
        (&[2, 8, 6, 6], &[2, 8, 1, 1]),
        (&[8, 1, 1], &[2, 8, 4, 4]),
        (&[1, 5, 1, 8], &[3, 5, 7, 8]),
        (&[12], &[]),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_vec(), b.to_vec()))
    .collect()
}

fn binary_matches_reference_on_broadcast_patterns(dev: &Device) {
    for f in BINARIES {
        for (i, (sa, sb)) in broadcast_cases().iter().enumerate() {
            check_binary(dev, f, (sa, sb), i as u64);
        }
    }
}
backend_tests!(binary_matches_reference_on_broadcast_patterns);

fn binary_named_calls_give_hand_computed_values(dev: &Device) {
    let a = Tensor::from_slice(dev, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    let b = Tensor::from_slice(dev, &[10.0, 20.0], &[2, 1]).unwrap();
    let c = Tensor::from_slice(dev, &[2.0], &[]).unwrap();
    let v = |t: wgcnn::Result<Tensor>| t.unwrap().to_vec().unwrap();
    assert_eq!(v(wgcnn::add(&a, &b)), [11.0, 12.0, 13.0, 24.0, 25.0, 26.0]);
    assert_eq!(
        v(wgcnn::sub(&a, &b)),
        [-9.0, -8.0, -7.0, -16.0, -15.0, -14.0]
    );
    assert_eq!(
        v(wgcnn::mul(&b, &a)),
        [10.0, 20.0, 30.0, 80.0, 100.0, 120.0]
    );
    assert_eq!(v(wgcnn::div(&a, &c)), [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]);
    let zero = Tensor::from_slice(dev, &[0.0, -1.0, 0.0], &[3]).unwrap();
    let q = v(wgcnn::div(
        &zero,
        &Tensor::from_slice(dev, &[0.0], &[1]).unwrap(),
    ));
    assert!(q[0].is_nan() && q[1] == f32::NEG_INFINITY && q[2].is_nan());
}
backend_tests!(binary_named_calls_give_hand_computed_values);

fn binary_errors_are_pytorchs(dev: &Device) {
    let t = |shape: &[usize]| {
        let n = shape.iter().product();
        Tensor::from_slice(dev, &vec![0.0; n], shape).unwrap()
    };
    let e = wgcnn::add(&t(&[2, 3]), &t(&[2, 4])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "add: The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1"
    );
    let e = wgcnn::mul(&t(&[5, 2, 3]), &t(&[4, 1, 1])).unwrap_err();
    assert!(
        e.to_string()
            .contains("The size of tensor a (5) must match the size of tensor b (4) at non-singleton dimension 0"),
        "{e}"
    );
    let e = wgcnn::sub(&t(&[1; 7]), &t(&[1])).unwrap_err();
    assert!(matches!(e, wgcnn::Error::Unsupported(_)), "{e}");
    let other = if dev.is_cpu() {
        wgcnn::Device::best().unwrap()
    } else {
        wgcnn::Device::cpu()
    };
    if other != *dev {
        let b = Tensor::from_slice(&other, &[1.0], &[1]).unwrap();
        let e = wgcnn::div(&t(&[2]), &b).unwrap_err();
        assert!(matches!(e, wgcnn::Error::DeviceMismatch { .. }), "{e}");
    }
}
backend_tests!(binary_errors_are_pytorchs);

fn binary_runs_past_the_workgroup_limit_per_dimension(dev: &Device) {
    // 65535 workgroups of 256 plus 5 elements: the grid must spill into y
    let len = 65535 * 256 + 5;
    check_binary(dev, Binary::Mul, (&[len], &[1]), 3);
    check_binary(dev, Binary::Add, (&[len], &[len]), 4);
    check_unary(dev, Unary::Sigmoid, &common::random(len, 9), &[len]);
}
backend_tests!(gpu binary_runs_past_the_workgroup_limit_per_dimension);

fn elementwise_ops_work_in_chunks_when_the_binding_is_smaller_than_the_tensor(dev: &Device) {
    // A 4 KiB binding (1024 elements) and 3 workgroups per dimension: operands larger
    // than a binding are bound by windows
    let options = DeviceOptions {
        max_storage_binding: Some(4096),
        max_workgroups_per_dim: Some(3),
        ..DeviceOptions::default()
    };
    let dev = &common::reopen(dev, &options);
    for (i, (sa, sb)) in [
        (&[5000][..], &[5000][..]),
        (&[5001], &[5001]),
        (&[3, 1, 1001], &[3, 7, 1001]),
        (&[7, 1, 333], &[1, 5, 333]),
        (&[2, 3, 700], &[3, 1]),
        (&[4099], &[1]),
        (&[1, 2051], &[3, 1]),
        // 4 outputs per invocation, in chunks
        (&[1, 5, 200], &[6, 1, 1]),
    ]
    .into_iter()
    .enumerate()
    {
        for f in BINARIES {
            check_binary(dev, f, (sa, sb), i as u64);
        }
    }
    for len in [5000usize, 5001] {
        for f in [
            Unary::Tanh,
            Unary::Clamp {
                min: -0.5,
                max: 0.5,
            },
        ] {
            check_unary(dev, f, &common::random(len, len as u64), &[len]);
        }
    }
    check_batch_norm(dev, &[3, 5, 17, 19], true, true, 1e-5, 8);
}
backend_tests!(gpu elementwise_ops_work_in_chunks_when_the_binding_is_smaller_than_the_tensor);

/// Compares batch_norm of a random `shape` on `dev` with the reference.
fn check_batch_norm(dev: &Device, shape: &[usize], weight: bool, bias: bool, eps: f32, seed: u64) {
    let c = shape[1];
    let n: usize = shape.iter().product();
    let x_data = common::random(n, seed);
    let mean = common::random(c, seed + 1);
    let var: Vec<f32> = common::random(c, seed + 2)
        .iter()
        .map(|v| v + 1.5)
        .collect();
    let w = common::random(c, seed + 3);
    let b = common::random(c, seed + 4);
    let up = |d: &[f32], s: &[usize]| Tensor::from_slice(dev, d, s).unwrap();
    let (wt, bt) = (up(&w, &[c]), up(&b, &[c]));
    let y = wgcnn::batch_norm(
        &up(&x_data, shape),
        &up(&mean, &[c]),
        &up(&var, &[c]),
        weight.then_some(&wt),
        bias.then_some(&bt),
        eps,
    )
    .unwrap();
    assert_eq!(y.shape(), shape);
    let g = BatchNormGeometry::new(shape, [("", None); 4]).unwrap();
    let want = reference::batch_norm(
        &x_data,
        [&mean, &var],
        weight.then_some(&w[..]),
        bias.then_some(&b[..]),
        eps,
        &g,
    );
    common::assert_close(
        &y.to_vec().unwrap(),
        &want,
        1e-6,
        1e-5,
        &format!("batch_norm {shape:?} weight {weight} bias {bias} on {dev:?}"),
    );
}

fn batch_norm_matches_reference(dev: &Device) {
    for (i, shape) in [
        &[2, 3, 4, 5][..],
        &[4, 3],
        &[2, 3, 7],
        &[1, 5, 1, 1],
        &[3, 16, 9, 11],
        &[1, 1, 1, 1],
        &[2, 3, 2, 2, 2],
    ]
    .into_iter()
    .enumerate()
    {
        for (weight, bias) in [(true, true), (false, false), (true, false), (false, true)] {
            check_batch_norm(dev, shape, weight, bias, 1e-5, i as u64);
        }
    }
}
backend_tests!(batch_norm_matches_reference);

fn batch_norm_gives_hand_computed_values_and_pytorchs_errors(dev: &Device) {
    let up = |d: &[f32], s: &[usize]| Tensor::from_slice(dev, d, s).unwrap();
    // (x - mean) / sqrt(var + eps) * w + b, channels [0, 1] of [[1, 2], [3, 6]]
    let x = up(&[1.0, 2.0, 3.0, 6.0], &[2, 2]);
    let (mean, var) = (up(&[0.0, 2.0], &[2]), up(&[1.0, 4.0], &[2]));
    let (w, b) = (up(&[2.0, 1.0], &[2]), up(&[0.5, -1.0], &[2]));
    let y = wgcnn::batch_norm(&x, &mean, &var, Some(&w), Some(&b), 0.0).unwrap();
    common::assert_close(
        &y.to_vec().unwrap(),
        &[2.5, -1.0, 6.5, 1.0],
        1e-6,
        1e-6,
        "bn",
    );
    let y = wgcnn::batch_norm(&x, &mean, &var, None, None, 0.0).unwrap();
    common::assert_close(
        &y.to_vec().unwrap(),
        &[1.0, 0.0, 3.0, 2.0],
        1e-6,
        1e-6,
        "bn",
    );

    let bad = up(&[0.0; 3], &[3]);
    let e = wgcnn::batch_norm(&x, &bad, &var, None, None, 1e-5).unwrap_err();
    assert_eq!(
        e.to_string(),
        "batch_norm: running_mean should contain 2 elements not 3"
    );
    let e = wgcnn::batch_norm(&x, &mean, &var, Some(&bad), None, 1e-5).unwrap_err();
    assert_eq!(
        e.to_string(),
        "batch_norm: weight should contain 2 elements not 3"
    );
    let e = wgcnn::batch_norm(&up(&[1.0, 2.0], &[2]), &mean, &var, None, None, 1e-5).unwrap_err();
    assert!(e.to_string().contains("Dimension out of range"), "{e}");
}
backend_tests!(batch_norm_gives_hand_computed_values_and_pytorchs_errors);

#[test]
fn from_kwargs_parses_pytorchs_names_and_defaults() {
    use wgcnn::Op;
    use wgcnn::op::kwargs::Kwargs;
    let op = |name: &str, kw: serde_json::Value| {
        Op::from_kwargs(name, Kwargs(kw.as_object().unwrap()), &[2, 3, 4, 5])
    };
    let none = serde_json::json!({});
    assert_eq!(
        op("leaky_relu", none.clone()).unwrap(),
        Op::Unary(Unary::LeakyRelu {
            negative_slope: 0.01
        })
    );
    assert_eq!(
        op("LeakyReLU", serde_json::json!({"negative_slope": 0.2})).unwrap(),
        Op::Unary(Unary::LeakyRelu {
            negative_slope: 0.2
        })
    );
    assert_eq!(
        op(
            "hardtanh",
            serde_json::json!({"min_val": 0, "max_val": 6.0})
        )
        .unwrap(),
        Op::Unary(Unary::Clamp { min: 0.0, max: 6.0 })
    );
    assert_eq!(
        op("sigmoid", none.clone()).unwrap(),
        Op::Unary(Unary::Sigmoid)
    );
    assert_eq!(op("tanh", none.clone()).unwrap(), Op::Unary(Unary::Tanh));
    assert_eq!(
        op("hardswish", none.clone()).unwrap(),
        Op::Unary(Unary::HardSwish)
    );
    assert!(matches!(
        op("hardsigmoid", none.clone()).unwrap(),
        Op::Unary(Unary::HardSigmoid { .. })
    ));
    for (name, f) in ["add", "sub", "mul", "div"].into_iter().zip(BINARIES) {
        assert_eq!(op(name, none.clone()).unwrap(), Op::Binary(f));
        assert_eq!(
            op(name, none.clone()).unwrap().kind().inputs(),
            ["input", "other"]
        );
    }
    assert_eq!(
        op("softmax", serde_json::json!({"dim": -1})).unwrap(),
        Op::Softmax { dim: -1 }
    );
    // dim=None: PyTorch's implicit dim, 1 for a 4-D input
    assert_eq!(op("softmax", none.clone()).unwrap(), Op::Softmax { dim: 1 });
    assert_eq!(
        op(
            "batch_norm",
            serde_json::json!({"eps": 1e-3, "momentum": 0.1})
        )
        .unwrap(),
        Op::BatchNorm { eps: 1e-3 }
    );
    assert_eq!(
        op("batch_norm", none.clone()).unwrap().kind().inputs(),
        ["input", "running_mean", "running_var", "weight", "bias"]
    );
    let e = op("leaky_relu", serde_json::json!({"negative_slope": "x"})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "leaky_relu: leaky_relu(): argument 'negative_slope' must be float, not str"
    );
    assert!(op("batch_norm", serde_json::json!({"training": true})).is_err());
    assert!(op("add", serde_json::json!({"alpha": 2})).is_err());
    assert!(op("div", serde_json::json!({"rounding_mode": "floor"})).is_err());
    assert!(op("resize", none).is_err());
}
