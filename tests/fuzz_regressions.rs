//! Inputs that the fuzz targets (`fuzz/`, see the README's "Fuzzing") found to panic,
//! abort or run without bound, kept as cases: each must now give a typed error (or a
//! result), never a panic. Overflow checks turn a wrap-around into a panic: run them
//! in a debug build too (`cargo test --test fuzz_regressions`).

use serde_json::Value;
use wgcnn::bench::{WorkloadKind, parse_workloads, prepare_workload};
use wgcnn::fixture::Fixture;
use wgcnn::nn::Sequential;
use wgcnn::op::kwargs::Kwargs;
use wgcnn::{Device, Error, Op};

/// A fixture file the fixture target found, run as the target runs it: parsed, then
/// its call on the CPU reference.
fn run_fixture(file: &str) -> wgcnn::Result<wgcnn::fixture::Outputs> {
    let path = format!(
        "{}/tests/fuzz_regressions/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Fixture::from_bytes(file, &bytes)?.run(&Device::cpu())
}

/// A model file the model target found, loaded on the CPU reference.
fn load_model(file: &str) -> Sequential {
    let path = format!(
        "{}/tests/fuzz_regressions/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    Sequential::load(std::path::Path::new(&path), &Device::cpu()).unwrap()
}

/// A JSON object of keyword arguments.
fn object(json: &str) -> serde_json::Map<String, Value> {
    match serde_json::from_str(json) {
        Ok(Value::Object(map)) => map,
        other => panic!("not a JSON object: {other:?}"),
    }
}

/// `conv2d` with the keyword arguments `json`, checked on `input [1, 2, 5, 5]` and
/// `weight [3, 2, 3, 3]`.
fn check_conv2d(json: &str) -> wgcnn::Result<wgcnn::op::Call> {
    let map = object(json);
    let op = Op::from_kwargs("conv2d", Kwargs(&map), &[1, 2, 5, 5])?;
    op.check(&[Some(&[1, 2, 5, 5]), Some(&[3, 2, 3, 3]), None])
}

/// kwargs target: a workload without `input` panicked indexing the JSON object.
#[test]
fn workload_without_input() {
    let err = parse_workloads(r#"{"conv2d": [{"name": "x"}]}"#).unwrap_err();
    assert!(
        matches!(&err, Error::Format(m) if m.contains("expected a list of sizes")),
        "{err}"
    );
}

/// A conv2d workload with a bias and a weight of no dimensions panicked taking the
/// weight's first size for the bias.
#[test]
fn workload_bias_of_empty_weight() {
    let workloads = parse_workloads(
        r#"{"conv2d": [{"name": "x", "input": [1, 1, 3, 3], "weight": [], "bias": true}]}"#,
    )
    .unwrap();
    let WorkloadKind::Op { inputs, .. } = &workloads[0].kind else {
        panic!("an op workload");
    };
    assert_eq!(inputs[2], None);
    let err = prepare_workload(&Device::cpu(), &workloads[0])
        .err()
        .unwrap();
    assert!(matches!(err, Error::Shape { op: "conv2d", .. }), "{err}");
}

/// kwargs target: a padding of 2^62 gave an output of 2^62 x 2^62 whose multiply-adds
/// overflowed (a panic with overflow checks, a wrapped count without).
#[test]
fn conv2d_macs_past_u64() {
    for json in [
        r#"{"padding": 4611686018427387904}"#,
        r#"{"padding": [6860184273879042]}"#,
    ] {
        // rejected (PyTorch's limit on padding, or a kernel's u32), or counted saturating
        match check_conv2d(json) {
            Ok(call) => {
                assert_eq!(call.macs(), u64::MAX, "{json}");
                assert_eq!(call.cost(), u64::MAX, "{json}");
            }
            Err(e) => assert!(
                matches!(e, Error::InvalidParam { .. } | Error::Limit { .. }),
                "{json}: {e:?}"
            ),
        }
    }
}

/// Next to the case above: padding and dilation up to i64::MAX made the padded size
/// `h + 2 * padding` and the kernel's extent `dilation * (k - 1)` wrap around usize.
#[test]
fn conv2d_sizes_past_usize() {
    for json in [
        r#"{"padding": 9223372036854775807}"#,
        r#"{"padding": [9223372036854775807, 0]}"#,
        r#"{"dilation": 9223372036854775807, "padding": "same"}"#,
    ] {
        let err = check_conv2d(json).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidParam { .. } | Error::Limit { .. }),
            "{json}: {err}"
        );
    }
    let err = check_conv2d(r#"{"dilation": 9223372036854775807}"#).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Shape { .. } | Error::InvalidParam { .. } | Error::Limit { .. }
        ),
        "{err}"
    );
    // the largest padding PyTorch takes: a geometry, or past a kernel's u32
    match check_conv2d(r#"{"padding": 4611686018427387903}"#) {
        Ok(call) => assert_eq!(call.output_shape()[2], 5 + 2 * 4611686018427387903 - 2),
        Err(e) => assert!(matches!(e, Error::Limit { .. }), "{e:?}"),
    }
}

/// kwargs target: pooling sizes at the ends of i64's range overflowed PyTorch's
/// output-size formula (`dilation * (kernel - 1)`, `input + 2 * pad`, the ceil-mode
/// correction), a panic with overflow checks and a wrapped size without.
#[test]
fn pool2d_sizes_at_i64_ends() {
    let cases: [(&str, Option<[usize; 4]>); 7] = [
        (r#"{"kernel_size": -9223372036854775808}"#, None),
        (
            r#"{"kernel_size": 9223372036854775807, "dilation": 2, "padding": 2}"#,
            None,
        ),
        (
            r#"{"kernel_size": 2, "dilation": 9223372036854775807}"#,
            None,
        ),
        (
            r#"{"kernel_size": 3, "stride": 9223372036854775807, "ceil_mode": true}"#,
            Some([1, 2, 1, 1]),
        ),
        (
            r#"{"kernel_size": 3, "stride": -9223372036854775808, "ceil_mode": true}"#,
            None,
        ),
        (
            r#"{"kernel_size": 2, "stride": 9223372036854775807, "padding": 1, "ceil_mode": true}"#,
            Some([1, 2, 1, 1]),
        ),
        (
            r#"{"kernel_size": 9223372036854775807, "padding": 4611686018427387903}"#,
            Some([1, 2, 1, 1]),
        ),
    ];
    for (json, want) in cases {
        let map = object(json);
        // (avg_pool2d takes no dilation)
        let names = match map.contains_key("dilation") {
            true => &["max_pool2d"][..],
            false => &["max_pool2d", "avg_pool2d"],
        };
        for name in names {
            let op = Op::from_kwargs(name, Kwargs(&map), &[1, 2, 5, 5]).unwrap();
            let got = op.check(&[Some(&[1, 2, 5, 5])]);
            // a shape, or PyTorch's error (its pools narrow parameters to int: "integer
            // out of range"), or a limit; never a panic
            match (want, got) {
                (Some(shape), Ok(call)) => assert_eq!(call.output_shape(), shape, "{name} {json}"),
                (
                    _,
                    Err(Error::InvalidParam { .. } | Error::Shape { .. } | Error::Limit { .. }),
                ) => {}
                (_, got) => panic!("{name} {json}: {got:?}"),
            }
        }
    }
}

/// fixture target: conv2d with padding="same" and dilation 2^62 has a padding of
/// 1.5 * 2^62 rows, and the CPU reference's padded coordinate overflowed isize. Every
/// tap lands in the padding: the output is zeros.
#[test]
fn conv2d_reference_padding_past_isize() {
    // zeros, or a dilation past a kernel's u32 rejected before the reference runs
    match run_fixture("fixture/conv2d_same_dilation_2e62.safetensors") {
        Ok(out) => {
            assert_eq!(out.output.shape, [1, 2, 11, 11]);
            assert!(out.output.data.iter().all(|&v| v == 0.0));
        }
        Err(e) => assert!(matches!(e, Error::Limit { .. }), "{e:?}"),
    }
}

/// The plane-wise maxima of a fixture's `[n, c, h, w]` input.
fn plane_maxima(file: &str) -> Vec<f32> {
    let path = format!(
        "{}/tests/fuzz_regressions/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let f = Fixture::load(std::path::Path::new(&path)).unwrap();
    let x = f.tensor("input").unwrap();
    let plane = x.shape[2] * x.shape[3];
    x.data
        .chunks(plane)
        .map(|p| p.iter().copied().fold(f32::NEG_INFINITY, f32::max))
        .collect()
}

/// Found with the fixture target's binary: max_pool2d with a kernel of 2e11 + 1 and a
/// padding of 1e11 on an 8x8 input stepped the CPU reference's window start over the
/// padding one dilation at a time (PyTorch's `while (start < 0) start += dilation`),
/// 1e11 steps per output cell.
#[test]
fn max_pool2d_reference_skips_padding_in_one_step() {
    let file = "fixture/max_pool2d_kernel_2e11.safetensors";
    // the plane maxima, or PyTorch's own error (it narrows pooling parameters to int)
    match run_fixture(file) {
        Ok(out) => {
            assert_eq!(out.output.shape, [2, 3, 1, 1]);
            assert_eq!(out.output.data, plane_maxima(file));
        }
        Err(e) => assert!(
            matches!(&e, Error::InvalidParam { message, .. } if message == "integer out of range"),
            "{e:?}"
        ),
    }
}

/// Next to it: avg_pool2d with a kernel of 2^62 and a padding of 2^61 counts 2^124
/// padded cells, which overflowed isize in the CPU reference.
#[test]
fn avg_pool2d_reference_count_past_isize() {
    match run_fixture("fixture/avg_pool2d_kernel_2e62.safetensors") {
        Ok(out) => {
            assert_eq!(out.output.shape, [2, 3, 1, 1]);
            assert!(out.output.data.iter().all(|v| v.abs() < 1e-30), "{out:?}");
        }
        Err(e) => assert!(
            matches!(&e, Error::InvalidParam { message, .. } if message == "integer out of range"),
            "{e:?}"
        ),
    }
}

/// model target: a convolution padded by 2^31 gives maps of 2^31 x 2^31, and
/// `Sequential::macs` overflowed multiplying them out in a flatten layer's shape.
#[test]
fn model_flatten_past_usize() {
    let net = load_model("model/flatten_past_usize.safetensors");
    // the flatten's shape error, or the convolution's limit before it (a padding past a
    // kernel's u32), naming its layer
    let err = net.macs(&[1, 1, 8, 8]).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Shape { op: "flatten", .. } | Error::InLayer { .. } | Error::Limit { .. }
        ),
        "{err}"
    );
}

/// model target: the same padding in a deeper network overflowed the sum of the
/// layers' multiply-adds.
#[test]
fn model_macs_past_u64() {
    let net = load_model("model/macs_past_u64.safetensors");
    assert_eq!(net.macs(&[1, 3, 8, 8]).unwrap(), u64::MAX);
}

/// Next to the model target's findings: a Linear layer whose weight has no dimensions
/// (the layer list giving no in_features and out_features to check it by) panicked
/// indexing the weight's shape in `Sequential::macs`; it is linear's shape error, as
/// in a forward pass.
#[test]
fn model_linear_weight_without_dimensions() {
    let net = load_model("model/linear_weight_scalar.safetensors");
    let err = net.macs(&[1, 3, 8, 8]).unwrap_err();
    assert!(matches!(err, Error::Shape { op: "linear", .. }), "{err}");
    let x = wgcnn::Tensor::zeros(&Device::cpu(), &[1, 3, 8, 8]).unwrap();
    let err = net.forward(&x).unwrap_err();
    assert!(matches!(err, Error::Shape { op: "linear", .. }), "{err}");
}

/// Outside the fuzz targets' bounds (they skip calls this large): interpolate to
/// 2^31 x 2^31 asks the CPU path for 2^62 floats, whose allocation panicked with
/// "capacity overflow" (and a merely huge one aborts the process).
#[test]
fn cpu_output_past_memory() {
    // past the CPU path's element limit (checked first), or refused by the allocator
    for err in [
        run_fixture("fixture/interpolate_size_2e31.safetensors").unwrap_err(),
        wgcnn::Tensor::zeros(&Device::cpu(), &[1 << 31, 1 << 31]).unwrap_err(),
    ] {
        assert!(
            matches!(err, Error::OutOfMemory(_) | Error::Limit { .. }),
            "{err}"
        );
    }
}
