//! ONNX models: every case of tests/onnx (single ops with each attribute, small graphs,
//! and whole exported models) loaded and run on every backend, against onnx.reference /
//! PyTorch in float64; and the executor's promises: one submit per forward, nothing
//! allocated by a loop of forwards after the first, one error listing every
//! unsupported op.

#[macro_use]
mod common;

use std::path::{Path, PathBuf};

use wgcnn::fixture::{Fixture, Verdict};
use wgcnn::{Device, Model, Tensor};

fn cases(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    paths.sort();
    paths
}

/// Cases wgcnn refuses with a clear error: a Cast of a tensor computed at run time to
/// a type other than a float (integer tensors are not run yet).
const REFUSED: &[(&str, &str)] = &[(
    "cast_float_int32_float",
    "a cast of a float tensor to INT32",
)];

/// Runs every case of `dir` on `dev`; fails listing each case that did not pass (or,
/// for the cases of [`REFUSED`], was not refused with its error).
fn run_all(dir: &str, dev: &Device) {
    // one_submit_no_allocations counts the shared device's submits
    let _serial = common::serial();
    let paths = cases(dir);
    assert!(paths.len() > 1, "no cases in {dir}");
    let mut failures = Vec::new();
    for path in &paths {
        let fx = Fixture::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome = fx.check(dev);
        if let Some((_, why)) = REFUSED.iter().find(|(name, _)| *name == fx.name) {
            if outcome.verdict != Verdict::Unsupported || !outcome.detail.contains(why) {
                failures.push(format!(
                    "{}: expected the error '{why}', got {}",
                    fx.name, outcome.detail
                ));
            }
            continue;
        }
        if outcome.verdict != Verdict::Pass {
            failures.push(format!("{}: {}", fx.name, outcome.detail));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed on {}:\n{}",
        failures.len(),
        paths.len(),
        dev.name(),
        failures.join("\n")
    );
}

fn per_op_cases(dev: &Device) {
    run_all("tests/onnx", dev);
}
backend_tests!(per_op_cases);

fn model_cases(dev: &Device) {
    run_all("tests/onnx/models", dev);
}
backend_tests!(model_cases);

fn model_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/onnx/models")
        .join(name)
}

fn case_input(name: &str, dev: &Device) -> Tensor {
    let fx = Fixture::load(&model_path(name)).expect("the case loads");
    let x = fx.tensor("input").expect("an input");
    Tensor::from_slice(dev, &x.data, &x.shape).expect("the input uploads")
}

/// The trained digits model classifies its held-out images as PyTorch does.
fn digits_accuracy(dev: &Device) {
    let _serial = common::serial();
    for exporter in ["dynamo", "script"] {
        let fx =
            Fixture::load(&model_path(&format!("digits.{exporter}.safetensors"))).expect("loads");
        let model = Model::load(&fx.model_path().expect("a model"), dev).expect("the model loads");
        let x = fx.tensor("input").expect("input");
        let y = model
            .forward(&Tensor::from_slice(dev, &x.data, &x.shape).expect("upload"))
            .expect("forward")
            .to_vec()
            .expect("read");
        let want = fx.tensor("expected").expect("expected");
        let classes = want.shape[1];
        let argmax = |v: &[f32]| -> Vec<usize> {
            v.chunks(classes)
                .map(|r| {
                    (0..classes)
                        .max_by(|&a, &b| r[a].total_cmp(&r[b]))
                        .expect("a class")
                })
                .collect()
        };
        assert_eq!(
            argmax(&y),
            argmax(&want.data),
            "{exporter}: predictions differ from PyTorch's"
        );
        let labels = fx.labels.as_ref().expect("labels");
        let correct = argmax(&y)
            .iter()
            .zip(&labels.data)
            .filter(|(p, l)| **p as i64 == **l)
            .count();
        assert!(
            correct * 10 >= labels.data.len() * 9,
            "{exporter}: {correct} of {} correct",
            labels.data.len()
        );
    }
}
backend_tests!(digits_accuracy);

/// A forward pass is one submit, and a loop of forwards creates no buffer after the
/// first.
fn one_submit_no_allocations(dev: &Device) {
    let _serial = common::serial();
    let model = Model::load(&model_path("unet_tiny.dynamo.onnx"), dev).expect("loads");
    let x = case_input("unet_tiny.dynamo.safetensors", dev);
    let first = model.forward(&x).expect("forward").to_vec().expect("read");
    let submits = dev.submit_count();
    let buffers = dev.buffers_created();
    for _ in 0..3 {
        let y = model.forward(&x).expect("forward");
        assert_eq!(y.to_vec().expect("read"), first, "forwards differ");
    }
    // each forward: its recorded work and one read back
    assert_eq!(
        dev.submit_count() - submits,
        3,
        "submits of 3 forwards with reads"
    );
    assert_eq!(
        dev.buffers_created(),
        buffers,
        "buffers created by later forwards"
    );
}
backend_tests!(gpu one_submit_no_allocations);

/// Unsupported ops fail at load, all of them in one error naming ops, nodes and the
/// opset: the error cases of tests/onnx, and a model with two unsupported op types.
#[test]
fn unsupported_ops_listed_at_once() {
    use wgcnn::model::onnx::proto;
    let dev = Device::cpu();
    let error_cases: Vec<PathBuf> = cases("tests/onnx")
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("error_"))
        })
        .collect();
    assert!(error_cases.len() >= 3, "the error cases of tests/onnx");
    for name in &error_cases {
        let fx = Fixture::load(name).expect("loads");
        let err = Model::load(&fx.model_path().expect("model"), &dev).expect_err("refused");
        let text = err.to_string();
        assert!(matches!(err, wgcnn::Error::Unsupported(_)), "{text}");
        assert!(text.contains("opset"), "{text}");
    }
    let node = |op: &str, name: &str, input: &str, output: &str| proto::NodeProto {
        input: vec![input.into()],
        output: vec![output.into()],
        name: name.into(),
        op_type: op.into(),
        ..Default::default()
    };
    let model = proto::ModelProto {
        ir_version: 8,
        opset_import: vec![proto::OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(proto::GraphProto {
            node: vec![
                node("Relu", "first", "x", "a"),
                node("GRU", "rnn", "a", "b"),
                node("Erf", "erf_1", "b", "c"),
                node("Erf", "erf_2", "c", "y"),
            ],
            input: vec![proto::ValueInfoProto {
                name: "x".into(),
                ..Default::default()
            }],
            output: vec![proto::ValueInfoProto {
                name: "y".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let bytes = prost::Message::encode_to_vec(&model);
    let err = Model::from_onnx("two.onnx", &bytes, None, &dev)
        .expect_err("refused")
        .to_string();
    for part in [
        "two.onnx",
        "opset 17",
        "2 op type(s)",
        "GRU (nodes rnn)",
        "Erf (nodes erf_1, erf_2)",
    ] {
        assert!(err.contains(part), "'{part}' missing from: {err}");
    }
}

/// Malformed files: a clear error naming the file, never a panic.
#[test]
fn malformed_files() {
    let dev = Device::cpu();
    let dir = std::env::temp_dir().join(format!("wgcnn-onnx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let good = std::fs::read(model_path("unet_tiny.script.onnx")).expect("reads");
    for (name, bytes) in [
        ("truncated.onnx", good[..good.len() / 2].to_vec()),
        ("garbage.onnx", vec![0xff; 100]),
        ("empty.onnx", Vec::new()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).expect("writes");
        let err = Model::load(&path, &dev).expect_err("refused").to_string();
        assert!(err.contains(name), "{name}: {err}");
    }
    let missing = Model::load(&dir.join("absent.onnx"), &dev)
        .expect_err("refused")
        .to_string();
    assert!(missing.contains("absent.onnx"), "{missing}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Initializers in an external data file beside the model (`torch.onnx.export`'s
/// default for large models) are read from it; a missing or short file is an error
/// naming it, and a location outside the model's folder is refused.
#[test]
fn external_data() {
    use wgcnn::model::onnx::proto;
    let dev = Device::cpu();
    let dir = std::env::temp_dir().join(format!("wgcnn-external-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let bias: Vec<f32> = vec![1.5, -2.0, 0.25];
    let mut data = vec![0u8; 8]; // the tensor at an offset
    data.extend(bias.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(dir.join("model.onnx.data"), &data).expect("writes");
    let model_with = |location: &str, length: usize| {
        let entry = |k: &str, v: String| proto::StringStringEntryProto {
            key: k.into(),
            value: v,
        };
        let info = |name: &str| proto::ValueInfoProto {
            name: name.into(),
            ..Default::default()
        };
        proto::ModelProto {
            ir_version: 8,
            opset_import: vec![proto::OperatorSetIdProto {
                domain: String::new(),
                version: 17,
            }],
            graph: Some(proto::GraphProto {
                node: vec![proto::NodeProto {
                    input: vec!["x".into(), "b".into()],
                    output: vec!["y".into()],
                    name: "add".into(),
                    op_type: "Add".into(),
                    ..Default::default()
                }],
                initializer: vec![proto::TensorProto {
                    dims: vec![3],
                    data_type: proto::data_type::FLOAT,
                    name: "b".into(),
                    data_location: proto::EXTERNAL,
                    external_data: vec![
                        entry("location", location.into()),
                        entry("offset", "8".into()),
                        entry("length", length.to_string()),
                    ],
                    ..Default::default()
                }],
                input: vec![info("x")],
                output: vec![info("y")],
                ..Default::default()
            }),
            ..Default::default()
        }
    };
    let write = |name: &str, m: &proto::ModelProto| {
        let path = dir.join(name);
        std::fs::write(&path, prost::Message::encode_to_vec(m)).expect("writes");
        path
    };
    let good = write("good.onnx", &model_with("model.onnx.data", 12));
    let model = Model::load(&good, &dev).expect("loads");
    let x = Tensor::from_slice(&dev, &[1.0, 1.0, 1.0], &[3]).expect("input");
    assert_eq!(
        model.forward(&x).expect("runs").to_vec().expect("read"),
        vec![2.5, -1.0, 1.25]
    );
    for (name, m, says) in [
        ("missing.onnx", model_with("absent.data", 12), "absent.data"),
        (
            "short.onnx",
            model_with("model.onnx.data", 16),
            "past the end",
        ),
        (
            "outside.onnx",
            model_with("../model.onnx.data", 12),
            "leaves the model's folder",
        ),
    ] {
        let err = Model::load(&write(name, &m), &dev)
            .expect_err("refused")
            .to_string();
        assert!(err.contains(says), "{name}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A new input shape re-plans the model (weights stay uploaded) and gives what the CPU
/// reference gives; a shape other than the one an ONNX model declares is refused,
/// naming the input.
fn new_input_shape(dev: &Device) {
    let _serial = common::serial();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/digits.safetensors");
    let model = Model::load(&path, dev).expect("loads");
    let reference = Model::load(&path, &Device::cpu()).expect("loads");
    for shape in [[1usize, 1, 8, 8], [5, 1, 8, 8], [1, 1, 8, 8]] {
        let n: usize = shape.iter().product();
        let data = common::random(n, n as u64);
        let x = Tensor::from_slice(dev, &data, &shape).expect("input");
        let y = model.forward(&x).expect("forward").to_vec().expect("read");
        let xr = Tensor::from_slice(&Device::cpu(), &data, &shape).expect("input");
        let want = reference
            .forward(&xr)
            .expect("forward")
            .to_vec()
            .expect("read");
        common::assert_close(&y, &want, 1e-5, 1e-4, &format!("{shape:?}"));
    }
    let unet = Model::load(&model_path("unet_tiny.script.onnx"), dev).expect("loads");
    let x = Tensor::zeros(dev, &[2, 3, 48, 64]).expect("input");
    let err = unet.forward(&x).expect_err("refused").to_string();
    assert!(
        err.contains("input 'input' has shape [1, 3, 32, 32], given [2, 3, 48, 64]"),
        "{err}"
    );
}
backend_tests!(gpu new_input_shape);
