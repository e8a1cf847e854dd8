//! The model commands on the committed ONNX models: `infer` (classes, `--out` file),
//! `inspect` (shapes, counts, the unsupported ops) and `compare` (every node of every
//! backend against the CPU reference).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn wgcnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wgcnn"))
        .args(args)
        .output()
        .expect("wgcnn runs")
}

fn onnx(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/onnx")
        .join(name)
        .display()
        .to_string()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn infer_prints_the_classes_pytorch_gives() {
    for backend in ["vulkan", "gl", "cpu"] {
        let out = wgcnn(&[
            "infer",
            &onnx("models/digits.dynamo.onnx"),
            &onnx("models/digits.dynamo.safetensors"),
            "--backend",
            backend,
        ]);
        let printed = text(&out);
        assert!(out.status.success(), "{printed}");
        // the first held-out digits, as PyTorch classifies them
        assert!(printed.contains("[0]: 7 ("), "{printed}");
        assert!(printed.contains("[1]: 6 ("), "{printed}");
        assert_eq!(
            printed.lines().filter(|l| l.contains("]: ")).count(),
            32,
            "{printed}"
        );
    }
}

#[test]
fn infer_writes_the_output_tensor() {
    let dir = std::env::temp_dir().join(format!("wgcnn-infer-onnx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let target: PathBuf = dir.join("y.safetensors");
    let out = wgcnn(&[
        "infer",
        &onnx("models/unet_tiny.script.onnx"),
        &onnx("models/unet_tiny.script.safetensors"),
        "--out",
        &target.display().to_string(),
        "--backend",
        "gl",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let file = wgcnn::tensor_file::TensorFile::read(&target).expect("the output file");
    let y = file.tensors.get("output").expect("tensor output");
    let fx = wgcnn::fixture::Fixture::load(Path::new(&onnx("models/unet_tiny.script.safetensors")))
        .expect("the case");
    let want = fx.tensor("expected").expect("expected");
    assert_eq!(y.shape, want.shape);
    let worst = y
        .data
        .iter()
        .zip(&want.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-4, "{worst}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn inspect_describes_a_model() {
    let out = wgcnn(&["inspect", &onnx("models/unet_tiny.dynamo.onnx")]);
    let printed = text(&out);
    assert!(out.status.success(), "{printed}");
    for part in [
        "ONNX, opset 20",
        "input   input [1, 3, 32, 32]",
        "output",
        "ConvTranspose",
        "params",
        "MACs",
        "every op is supported",
    ] {
        assert!(printed.contains(part), "'{part}' missing from:\n{printed}");
    }
}

#[test]
fn inspect_lists_what_it_cannot_run() {
    let out = wgcnn(&["inspect", &onnx("error_lstm.onnx")]);
    let printed = text(&out);
    assert!(!out.status.success(), "{printed}");
    assert!(
        printed.contains("LSTM") && printed.contains("opset 17"),
        "{printed}"
    );
}

#[test]
fn compare_finds_every_node_within_tolerance() {
    let out = wgcnn(&[
        "compare",
        &onnx("models/unet_tiny.script.onnx"),
        &onnx("models/unet_tiny.script.safetensors"),
        "--backends",
        "vulkan,gl",
    ]);
    let printed = text(&out);
    assert!(out.status.success(), "{printed}");
    assert!(printed.contains("/up3/ConvTranspose"), "{printed}");
    assert_eq!(
        printed.matches("every node within the tolerance").count(),
        2,
        "{printed}"
    );
}

#[test]
fn compare_names_the_first_node_past_a_tolerance() {
    // a tolerance no float computation meets: the first node is named
    let out = wgcnn(&[
        "compare",
        &onnx("models/unet_tiny.script.onnx"),
        &onnx("models/unet_tiny.script.safetensors"),
        "--backends",
        "vulkan",
        "--rtol",
        "0",
    ]);
    let printed = text(&out);
    assert!(!out.status.success(), "{printed}");
    assert!(
        printed.contains("first leaves the tolerance at node '/e1/e1.0/Conv'"),
        "{printed}"
    );
}
