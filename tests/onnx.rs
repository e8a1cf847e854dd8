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
/// a type other than float32 (half precision and integer tensors are not run yet).
const REFUSED: &[(&str, &str)] = &[
    (
        "cast_float_float16_float",
        "a cast of a float tensor to FLOAT16",
    ),
    (
        "cast_float_int32_float",
        "a cast of a float tensor to INT32",
    ),
];

/// Runs every case of `dir` on `dev`; fails listing each case that did not pass (or,
/// for the cases of [`REFUSED`], was not refused with its error).
fn run_all(dir: &str, dev: &Device) {
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
