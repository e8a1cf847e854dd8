//! Limits and types on every backend: sizes no device holds are typed errors before
//! anything is allocated (never an abort or a panic), parameters that do not fit what
//! a kernel reads are rejected alike everywhere (never wrapped), and keyword arguments
//! of the wrong type are PyTorch's `TypeError`s (never coerced).

mod common;

use serde_json::{Value, json};
use wgcnn::fixture::Fixture;
use wgcnn::nn::{Layer, Linear, Sequential};
use wgcnn::op::Op;
use wgcnn::op::kwargs::Kwargs;
use wgcnn::{
    AvgPool2dParams, Conv2dParams, Device, Error, InterpolateMode, InterpolateParams,
    MaxPool2dParams, Padding, Tensor,
};

/// Asserts an `Error::Limit` whose message names `op`.
fn assert_limit<T: std::fmt::Debug>(result: wgcnn::Result<T>, op: &str, what: &str) {
    match result {
        Err(e @ Error::Limit { .. }) => {
            assert!(e.to_string().starts_with(&format!("{op}:")), "{what}: {e}");
        }
        other => panic!("{what}: expected a limit error naming {op}, got {other:?}"),
    }
}

/// Asserts an `Error::InvalidParam` that says `message`.
fn assert_param<T: std::fmt::Debug>(result: wgcnn::Result<T>, message: &str, what: &str) {
    match result {
        Err(e @ Error::InvalidParam { .. }) => {
            assert!(e.to_string().contains(message), "{what}: {e}");
        }
        other => panic!("{what}: expected an InvalidParam error '{message}', got {other:?}"),
    }
}

fn input(dev: &Device, shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_slice(dev, &common::random(n, 7), shape).unwrap()
}

// ---- 1. sizes: typed errors before any allocation ----

#[test]
fn zeros_past_every_limit_is_a_limit_error_not_an_abort() {
    let _serial = common::serial();
    for dev in common::backends() {
        for shape in [
            vec![1usize << 40],
            vec![1 << 62],
            vec![usize::MAX, 2],
            vec![1 << 20, 1 << 20, 1 << 20],
        ] {
            assert_limit(
                Tensor::zeros(dev, &shape),
                "tensor",
                &format!("zeros {shape:?} on {dev:?}"),
            );
        }
        // an empty tensor of any extent is still fine
        assert_eq!(Tensor::zeros(dev, &[0, usize::MAX]).unwrap().numel(), 0);
    }
    // the CPU path's own limit: 2^31 - 1 elements
    let cpu = Device::cpu();
    assert_limit(
        Tensor::zeros(&cpu, &[1 << 31]),
        "tensor",
        "zeros 2^31 on the CPU",
    );
    assert_limit(
        Tensor::from_slice(&cpu, &[], &[0]).and_then(|_| Tensor::zeros(&cpu, &[1 << 16, 1 << 16])),
        "tensor",
        "zeros 2^32 on the CPU",
    );
}

#[test]
fn zeros_on_a_reused_buffer_read_as_zeros() {
    let _serial = common::serial();
    for dev in common::backends() {
        for _ in 0..3 {
            // a buffer full of data goes back to the pool, then serves zeros
            let x = Tensor::from_slice(dev, &[7.0; 1000], &[1000]).unwrap();
            let y = wgcnn::relu(&x).unwrap();
            drop(x);
            let z = Tensor::zeros(dev, &[1000]).unwrap();
            let sum = wgcnn::relu(&z).unwrap();
            assert!(sum.to_vec().unwrap().iter().all(|&v| v == 0.0), "{dev:?}");
            assert!(y.to_vec().unwrap().iter().all(|&v| v == 7.0), "{dev:?}");
        }
    }
}

#[test]
fn conv2d_outputs_past_the_limits_are_limit_errors() {
    let _serial = common::serial();
    for dev in common::backends() {
        let x = input(dev, &[1, 1, 4, 4]);
        let w = input(dev, &[1, 1, 3, 3]);
        for padding in [
            [1i64 << 31, 0],
            [(1 << 30) - 1, (1 << 30) - 1],
            [0, 1 << 33],
        ] {
            let p = Conv2dParams {
                padding: Padding::Explicit(padding),
                ..Conv2dParams::default()
            };
            assert_limit(
                wgcnn::conv2d(&x, &w, None, &p),
                "conv2d",
                &format!("padding {padding:?} on {dev:?}"),
            );
        }
        // the device still works
        let y = wgcnn::conv2d(&x, &w, None, &Conv2dParams::default().padding(1)).unwrap();
        assert_eq!(y.shape(), [1, 1, 4, 4]);
    }
}

#[test]
fn adaptive_pools_past_the_limits_are_limit_errors() {
    let _serial = common::serial();
    for dev in common::backends() {
        let x = input(dev, &[1, 1, 4, 4]);
        for size in [
            [Some(1i64 << 31), Some(1)],
            [Some(1 << 40), None],
            [Some(i64::MAX), Some(i64::MAX)],
        ] {
            let what = format!("{size:?} on {dev:?}");
            assert_limit(
                wgcnn::adaptive_avg_pool2d(&x, size),
                "adaptive_avg_pool2d",
                &what,
            );
            assert_limit(
                wgcnn::adaptive_max_pool2d(&x, size),
                "adaptive_max_pool2d",
                &what,
            );
        }
        // a size that fits u32 but not the device
        assert_limit(
            wgcnn::adaptive_avg_pool2d(&x, [Some(1 << 20), Some(1 << 20)]),
            "adaptive_avg_pool2d",
            &format!("2^40 outputs on {dev:?}"),
        );
    }
}

#[test]
fn interpolate_outputs_past_the_limits_are_limit_errors() {
    let _serial = common::serial();
    for dev in common::backends() {
        let x = input(dev, &[1, 1, 4, 4]);
        for mode in [InterpolateMode::Nearest, InterpolateMode::Bilinear] {
            let cases = [
                InterpolateParams::size(1, 1 << 40, mode),
                InterpolateParams::size(1 << 31, 1 << 31, mode),
                InterpolateParams::size(i64::MAX, 1, mode),
                InterpolateParams {
                    scale_factor: Some([1.0, 3e9]),
                    ..InterpolateParams::scale(1.0, mode)
                },
                InterpolateParams {
                    scale_factor: Some([f64::INFINITY, 1.0]),
                    ..InterpolateParams::scale(1.0, mode)
                },
                // within u32 per axis, past the device in all
                InterpolateParams::size(1 << 20, 1 << 20, mode),
            ];
            for p in cases {
                assert_limit(
                    wgcnn::interpolate(&x, &p),
                    "interpolate",
                    &format!("{p:?} on {dev:?}"),
                );
            }
        }
    }
}

#[test]
fn adaptive_range_and_macs_do_not_panic_on_degenerate_input() {
    use wgcnn::reference::pool2d::adaptive_range;
    assert_eq!(adaptive_range(0, 4, 0), (0, 0));
    assert_eq!(adaptive_range(1, 4, 2), (2, 4));
    assert_eq!(
        adaptive_range(usize::MAX - 1, usize::MAX, usize::MAX),
        (usize::MAX - 1, usize::MAX)
    );
    for dev in common::backends() {
        let weight = input(dev, &[3, 4]);
        let net = Sequential::new().push(Layer::Linear(Linear { weight, bias: None }));
        assert!(matches!(net.macs(&[]), Err(Error::Shape { .. })), "{dev:?}");
        assert_eq!(net.macs(&[2, 4]).unwrap(), 24);
        let net = Sequential::new().push(Layer::Flatten {
            start_dim: 0,
            end_dim: -1,
        });
        assert!(net.macs(&[usize::MAX, usize::MAX]).is_err());
    }
}

// ---- 2. integers that do not fit: rejected alike on every backend ----

#[test]
fn a_divisor_override_past_i32_is_rejected_not_wrapped() {
    let _serial = common::serial();
    let data = common::random(16, 3);
    let want = wgcnn::reference::pool2d::avg_pool2d(
        &data,
        &AvgPool2dParams::new(2).geometry(&[1, 1, 4, 4]).unwrap(),
        true,
        Some(-3),
    );
    for dev in common::backends() {
        let x = Tensor::from_slice(dev, &data, &[1, 1, 4, 4]).unwrap();
        for d in [
            (1i64 << 32) + 2,
            1 << 31,
            -(1 << 31) - 1,
            i64::MIN,
            i64::MAX,
        ] {
            let p = AvgPool2dParams {
                divisor_override: Some(d),
                ..AvgPool2dParams::new(2)
            };
            assert_limit(
                wgcnn::avg_pool2d(&x, &p),
                "avg_pool2d",
                &format!("divisor {d} on {dev:?}"),
            );
        }
        // a negative divisor within i32 divides alike everywhere
        let p = AvgPool2dParams {
            divisor_override: Some(-3),
            ..AvgPool2dParams::new(2)
        };
        let got = wgcnn::avg_pool2d(&x, &p).unwrap().to_vec().unwrap();
        common::assert_close(&got, &want, 1e-6, 1e-5, &format!("divisor -3 on {dev:?}"));
    }
}

#[test]
fn conv2d_padding_past_half_of_i64_is_pytorchs_error() {
    let _serial = common::serial();
    for dev in common::backends() {
        let x = input(dev, &[1, 1, 4, 4]);
        let w = input(dev, &[1, 1, 3, 3]);
        for (padding, dim) in [([i64::MAX, 0], 0), ([0, (1 << 62) + 5], 1)] {
            let p = Conv2dParams {
                padding: Padding::Explicit(padding),
                ..Conv2dParams::default()
            };
            let v = padding[dim];
            assert_param(
                wgcnn::conv2d(&x, &w, None, &p),
                &format!(
                    "Given padding={v} at dimension {dim} , expected padding to be at most 4611686018427387903"
                ),
                &format!("{padding:?} on {dev:?}"),
            );
        }
        // at most half: accepted by PyTorch, too large for any device
        assert_limit(
            wgcnn::conv2d(&x, &w, None, &Conv2dParams::default().padding(i64::MAX / 2)),
            "conv2d",
            &format!("padding 2^62 - 1 on {dev:?}"),
        );
    }
}

#[test]
fn pooling_parameters_past_i32_are_pytorchs_integer_out_of_range() {
    let _serial = common::serial();
    for dev in common::backends() {
        let x = input(dev, &[1, 1, 4, 4]);
        let cases = [
            MaxPool2dParams::new((1 << 32) + 1).dilation(1 << 32),
            MaxPool2dParams::new(1).dilation(1 << 62),
            MaxPool2dParams::new(2).stride(1 << 32),
            MaxPool2dParams::new(2).padding(-(1 << 40)),
            MaxPool2dParams::new(i64::MIN),
        ];
        for p in cases {
            let what = format!("{p:?} on {dev:?}");
            assert_param(wgcnn::max_pool2d(&x, &p), "integer out of range", &what);
            assert_param(
                wgcnn::max_pool2d_with_indices(&x, &p),
                "integer out of range",
                &what,
            );
        }
        let p = AvgPool2dParams::new((1 << 32) + 1);
        assert_param(
            wgcnn::avg_pool2d(&x, &p),
            "integer out of range",
            &format!("avg kernel 2^32+1 on {dev:?}"),
        );
        // within i32 the arithmetic no longer wraps: PyTorch's own error
        let p = MaxPool2dParams::new(i32::MAX.into()).dilation(i32::MAX.into());
        assert!(
            matches!(wgcnn::max_pool2d(&x, &p), Err(Error::Shape { .. })),
            "{dev:?}"
        );
    }
}

#[test]
fn conv2d_parameters_past_u32_are_rejected_alike_on_every_backend() {
    let _serial = common::serial();
    for dev in common::backends() {
        let x = input(dev, &[1, 1, 4, 4]);
        let w1 = input(dev, &[1, 1, 1, 1]);
        let w3 = input(dev, &[1, 1, 3, 3]);
        // a 1x1 kernel reads no dilation, but a kernel's uniform holds it
        for p in [
            Conv2dParams::default().dilation(1 << 62),
            Conv2dParams::default().dilation(1 << 32),
            Conv2dParams::default().stride(1 << 32),
        ] {
            assert_limit(
                wgcnn::conv2d(&x, &w1, None, &p),
                "conv2d",
                &format!("{p:?} on {dev:?}"),
            );
        }
        // a dilated 3x3 kernel larger than any input: PyTorch's own error, no wrap
        for d in [1i64 << 62, i64::MAX] {
            let p = Conv2dParams::default().dilation(d);
            match wgcnn::conv2d(&x, &w3, None, &p) {
                Err(e @ Error::Shape { .. }) => assert!(
                    e.to_string()
                        .contains("Kernel size can't be greater than actual input size"),
                    "{e}"
                ),
                other => panic!("dilation {d} on {dev:?}: {other:?}"),
            }
        }
    }
}

// ---- 3. keyword arguments of the wrong type: PyTorch's TypeError ----

/// A fixture file's bytes: `op` with `params` (and `expect_error` when given) on an
/// input of `shape`.
fn fixture_bytes(op: &str, params: &Value, shape: &[usize], expect_error: Option<&str>) -> Vec<u8> {
    let n: usize = shape.iter().product();
    let mut metadata = json!({"op": op, "params": params.to_string()});
    if let Some(e) = expect_error {
        metadata["expect_error"] = json!(e);
    }
    let header = json!({
        "__metadata__": metadata,
        "input": {"dtype": "F32", "shape": shape, "data_offsets": [0, n * 4]},
    })
    .to_string();
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend(common::random(n, 5).iter().flat_map(|v| v.to_le_bytes()));
    bytes
}

/// Runs `op(params)` as a fixture on every backend and expects PyTorch's TypeError.
fn assert_type_error(op: &str, params: Value, message: &str) {
    let fx = Fixture::from_bytes("case", &fixture_bytes(op, &params, &[1, 1, 4, 4], None)).unwrap();
    for dev in common::backends() {
        assert_param(fx.run(dev), message, &format!("{op} {params} on {dev:?}"));
    }
}

#[test]
fn mistyped_keyword_arguments_are_pytorchs_type_errors() {
    let _serial = common::serial();
    let cases = [
        (
            "avg_pool2d",
            json!({"kernel_size": 2, "divisor_override": 2.5}),
            "avg_pool2d(): argument 'divisor_override' must be int, not float",
        ),
        (
            "avg_pool2d",
            json!({"kernel_size": 2, "divisor_override": 3.0}),
            "avg_pool2d(): argument 'divisor_override' must be int, not float",
        ),
        (
            "avg_pool2d",
            json!({"kernel_size": 2, "divisor_override": true}),
            "avg_pool2d(): argument 'divisor_override' must be int, not bool",
        ),
        (
            "avg_pool2d",
            json!({"kernel_size": 2, "ceil_mode": 1}),
            "avg_pool2d(): argument 'ceil_mode' must be bool, not int",
        ),
        (
            "avg_pool2d",
            json!({"kernel_size": 2, "count_include_pad": "false"}),
            "avg_pool2d(): argument 'count_include_pad' must be bool, not str",
        ),
        (
            "max_pool2d",
            json!({"kernel_size": 2.0}),
            "max_pool2d(): argument 'kernel_size' must be tuple of ints, not float",
        ),
        (
            "max_pool2d",
            json!({"kernel_size": [2, 1.5]}),
            "max_pool2d(): argument 'kernel_size' must be tuple of ints, but found element of type float at pos 1",
        ),
        (
            "max_pool2d",
            json!({"kernel_size": 2, "return_indices": "yes"}),
            "max_pool2d(): argument 'return_indices' must be bool, not str",
        ),
        (
            "conv2d",
            json!({"stride": [1, true]}),
            "conv2d(): argument 'stride' must be tuple of ints, but found element of type bool at pos 1",
        ),
        (
            "conv2d",
            json!({"groups": 1.0}),
            "conv2d(): argument 'groups' must be int, not float",
        ),
        (
            "conv2d",
            json!({"padding_mode": 0}),
            "conv2d(): argument 'padding_mode' must be str, not int",
        ),
        (
            "interpolate",
            json!({"size": [2.7, 3.9]}),
            "expected size to be one of int or Tuple[int] or Tuple[int, int] or Tuple[int, int, int], but got size with types [<class 'float'>, <class 'float'>]",
        ),
        (
            "interpolate",
            json!({"size": ["a", 3]}),
            "but got size with types [<class 'str'>, <class 'int'>]",
        ),
        (
            "interpolate",
            json!({"size": 3.0}),
            "but got size with types [<class 'float'>, <class 'float'>]",
        ),
        (
            "interpolate",
            json!({"scale_factor": [2, "2"]}),
            "interpolate(): argument 'scale_factor' must be tuple of floats, but found element of type str at pos 1",
        ),
        (
            "interpolate",
            json!({"scale_factor": 2, "mode": "bilinear", "align_corners": 0}),
            "interpolate(): argument 'align_corners' must be bool, not int",
        ),
        (
            "adaptive_avg_pool2d",
            json!({"output_size": [2.5, 3]}),
            "adaptive_avg_pool2d(): argument 'output_size' must be tuple of ints, but found element of type float at pos 0",
        ),
        (
            "adaptive_max_pool2d",
            json!({"output_size": 2.0}),
            "adaptive_max_pool2d(): argument 'output_size' must be tuple of ints, not float",
        ),
        (
            "relu",
            json!({"inplace": "true"}),
            "relu(): argument 'inplace' must be bool, not str",
        ),
    ];
    for (op, params, message) in cases {
        assert_type_error(op, params, message);
    }
}

#[test]
fn well_typed_keyword_arguments_still_parse() {
    let kw = json!({"size": [3, 5], "mode": "bilinear", "align_corners": null});
    let op = Op::from_kwargs(
        "interpolate",
        Kwargs(kw.as_object().unwrap()),
        &[1, 1, 4, 4],
    );
    assert!(
        matches!(op, Ok(Op::Interpolate(p)) if p.size == Some([3, 5])),
        "{op:?}"
    );
    let kw = json!({"scale_factor": [2, 1.5]});
    let op = Op::from_kwargs(
        "interpolate",
        Kwargs(kw.as_object().unwrap()),
        &[1, 1, 4, 4],
    );
    assert!(
        matches!(op, Ok(Op::Interpolate(p)) if p.scale_factor == Some([2.0, 1.5])),
        "{op:?}"
    );
    let kw = json!({"output_size": [null, 3]});
    let op = Op::from_kwargs("adaptive_avg_pool2d", Kwargs(kw.as_object().unwrap()), &[]);
    assert!(
        matches!(
            op,
            Ok(Op::AdaptiveAvgPool2d {
                output_size: [None, Some(3)]
            })
        ),
        "{op:?}"
    );
    let kw = json!({"kernel_size": [3], "stride": [], "divisor_override": null});
    let op = Op::from_kwargs("avg_pool2d", Kwargs(kw.as_object().unwrap()), &[]);
    assert!(
        matches!(op, Ok(Op::AvgPool2d(p)) if p.kernel_size == [3, 3] && p.stride.is_none()),
        "{op:?}"
    );
}

#[test]
fn a_model_layer_with_a_mistyped_argument_is_rejected() {
    for dev in common::backends() {
        let weight = wgcnn::fixture::HostTensor {
            shape: vec![2, 1, 3, 3],
            data: vec![0.5; 18],
        };
        let weights = |w: &wgcnn::fixture::HostTensor| {
            std::collections::BTreeMap::from([("0.weight".to_string(), w.clone())])
        };
        for (params, message) in [
            (
                json!({"in_channels": 1, "out_channels": 2, "kernel_size": 3.5}),
                "conv2d(): argument 'kernel_size' must be tuple of ints, not float",
            ),
            (
                json!({"in_channels": 1.0, "out_channels": 2, "kernel_size": 3}),
                "conv2d(): argument 'in_channels' must be int, not float",
            ),
            (
                json!({"in_channels": 1, "out_channels": 2, "kernel_size": 3, "bias": 0}),
                "conv2d(): argument 'bias' must be bool, not int",
            ),
        ] {
            let layers = [json!({"op": "Conv2d", "params": params})];
            assert_param(
                Sequential::from_layers(&layers, weights(&weight), dev),
                message,
                &format!("{params} on {dev:?}"),
            );
        }
        let layers = [json!({"op": "MaxPool2d", "params": {"kernel_size": 3.5}})];
        assert_param(
            Sequential::from_layers(&layers, Default::default(), dev),
            "max_pool2d(): argument 'kernel_size' must be tuple of ints, not float",
            "a pooling layer",
        );
        let layers = [json!({"op": "flatten", "params": {"start_dim": 1.0}})];
        assert_param(
            Sequential::from_layers(&layers, Default::default(), dev),
            "flatten(): argument 'start_dim' must be int, not float",
            "a flatten layer",
        );
        // well typed, it loads
        let layers = [
            json!({"op": "Conv2d", "params": {"in_channels": 1, "out_channels": 2, "kernel_size": 3}}),
        ];
        Sequential::from_layers(&layers, weights(&weight), dev).unwrap();
    }
}

#[test]
fn expect_error_is_exactly_true_or_false() {
    let params = json!({});
    for bad in ["TRUE", "True", "1", "yes", "", " true"] {
        let bytes = fixture_bytes("relu", &params, &[4], Some(bad));
        match Fixture::from_bytes("case", &bytes) {
            Err(Error::Format(msg)) => assert!(msg.contains("expect_error"), "{msg}"),
            other => panic!("expect_error {bad:?}: {other:?}"),
        }
    }
    for (good, want) in [("true", true), ("false", false)] {
        let fx =
            Fixture::from_bytes("case", &fixture_bytes("relu", &params, &[4], Some(good))).unwrap();
        assert_eq!(fx.expect_error, want);
    }
    let fx = Fixture::from_bytes("case", &fixture_bytes("relu", &params, &[4], None)).unwrap();
    assert!(!fx.expect_error);
}
