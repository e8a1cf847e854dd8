//! The commands as a user meets them: `check` and `run` on folders with a bad file or
//! two files of one name, an adapter filter that matches nothing, `infer` on
//! safetensors inputs of other dtypes, no progress line in a pipe, and no word about a
//! display on a headless machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn wgcnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wgcnn"))
        .args(args)
        .output()
        .unwrap()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wgcnn-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn check_fails_when_the_adapter_filter_matches_nothing() {
    let out = wgcnn(&["check", "--backend", "all", "--adapter", "no-such-adapter"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no adapter matching 'no-such-adapter'"),
        "{err}"
    );
}

#[test]
fn check_names_an_unreadable_file_and_runs_the_others() {
    let dir = scratch("check");
    std::fs::write(dir.join("broken.safetensors"), b"not a safetensors file").unwrap();
    std::fs::copy(
        fixture("relu_4d.safetensors"),
        dir.join("relu_4d.safetensors"),
    )
    .unwrap();
    let out = wgcnn(&["check", dir.to_str().unwrap(), "--backend", "cpu"]);
    assert_eq!(out.status.code(), Some(1), "a bad file is a failure");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stderr.contains("broken.safetensors"), "{stderr}");
    assert!(
        stdout.contains("relu_4d") && stdout.contains("pass"),
        "{stdout}"
    );
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");
    // not a terminal: no progress line
    assert!(
        !stderr.contains('\r') && !stdout.contains('\r'),
        "{stderr:?}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn run_keeps_the_outputs_of_two_inputs_of_one_name() {
    let dir = scratch("run");
    for sub in ["a", "b"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::copy(
        fixture("relu_4d.safetensors"),
        dir.join("a/case.safetensors"),
    )
    .unwrap();
    std::fs::copy(
        fixture("max_pool2d_2x2.safetensors"),
        dir.join("b/case.safetensors"),
    )
    .unwrap();
    let out_dir = dir.join("out");
    let out = wgcnn(&[
        "run",
        "--backend",
        "cpu",
        "--out-dir",
        out_dir.to_str().unwrap(),
        dir.join("a").to_str().unwrap(),
        dir.join("b").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out_dir.join("case.safetensors").exists());
    assert!(out_dir.join("case-2.safetensors").exists());
    std::fs::remove_dir_all(dir).ok();
}

/// A safetensors file holding one tensor `input` of `dtype` with `bytes`.
fn safetensors_input(path: &Path, dtype: safetensors::Dtype, shape: &[usize], bytes: &[u8]) {
    let view = safetensors::tensor::TensorView::new(dtype, shape.to_vec(), bytes).unwrap();
    std::fs::write(
        path,
        safetensors::serialize([("input", view)], None).unwrap(),
    )
    .unwrap();
}

#[test]
fn infer_converts_float_inputs_and_rejects_integer_ones() {
    let dir = scratch("infer");
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/digits.safetensors");
    let shape = [1, 1, 8, 8];
    let halves: Vec<u16> = (0..64)
        .map(|i| half::f16::from_f32(i as f32 / 64.0).to_bits())
        .collect();
    let f16_input = dir.join("x16.safetensors");
    safetensors_input(
        &f16_input,
        safetensors::Dtype::F16,
        &shape,
        bytemuck::cast_slice(&halves),
    );
    let floats: Vec<f32> = (0..64).map(|i| i as f32 / 64.0).collect();
    let f32_input = dir.join("x32.safetensors");
    safetensors_input(
        &f32_input,
        safetensors::Dtype::F32,
        &shape,
        bytemuck::cast_slice(&floats),
    );
    let ints: Vec<i32> = (0..64).collect();
    let int_input = dir.join("xi.safetensors");
    safetensors_input(
        &int_input,
        safetensors::Dtype::I32,
        &shape,
        bytemuck::cast_slice(&ints),
    );
    let run = |input: &Path| {
        wgcnn(&[
            "infer",
            model.to_str().unwrap(),
            input.to_str().unwrap(),
            "--backend",
            "cpu",
        ])
    };
    let (a, b) = (run(&f16_input), run(&f32_input));
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    // the f16 input holds exactly the f32 one's values: the same predictions
    let tail = |o: &Output| {
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        text.split_once(": ")
            .map(|(_, t)| t.to_string())
            .unwrap_or(text)
    };
    assert_eq!(tail(&a), tail(&b));
    assert!(!String::from_utf8_lossy(&a.stdout).contains("NaN"));
    let c = run(&int_input);
    assert!(!c.status.success());
    let err = String::from_utf8_lossy(&c.stderr);
    assert!(
        err.contains("xi.safetensors") && err.contains("input"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn opening_devices_prints_nothing_about_a_display() {
    // a headless machine: no display server, no runtime folder
    let out = Command::new(env!("CARGO_BIN_EXE_wgcnn"))
        .arg("devices")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("XDG_RUNTIME_DIR"), "{err}");
}
