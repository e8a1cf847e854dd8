//! The picture tools bound their sizes: a huge `--scale`, a model asking for a huge
//! input picture, too little data for a picture, are typed errors (exit status 2 with a
//! message), never a panic or an abort.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use wgcnn::{Device, Error, Tensor};
use wgcnn_cli::picture;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wgcnn-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `wgcnn args`, which must fail as a reported error (status 2, not a panic's
/// 101 or an abort's signal), and returns its stderr.
fn wgcnn_fails(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wgcnn"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "wgcnn {args:?}: {:?}, stderr: {stderr}",
        out.status
    );
    assert!(stderr.starts_with("wgcnn: "), "{stderr}");
    stderr
}

fn backend_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = common::gpus().iter().map(|d| d.backend().name()).collect();
    names.push("cpu");
    names
}

#[test]
fn featuremaps_with_a_huge_scale_is_a_limit_error() {
    let dir = temp_dir("limits-featuremaps");
    let (model, digit) = (
        repo("models/digits.safetensors"),
        repo("assets/digit_3.png"),
    );
    let out = dir.join("grid.png");
    for backend in backend_names() {
        for scale in ["18446744073709551615", "1000000", "4294967296"] {
            let stderr = wgcnn_fails(&[
                "featuremaps",
                model.to_str().unwrap(),
                digit.to_str().unwrap(),
                "--layer",
                "1",
                "--out",
                out.to_str().unwrap(),
                "--scale",
                scale,
                "--backend",
                backend,
            ]);
            assert!(
                stderr.contains("featuremaps: picture pixels"),
                "--scale {scale} on {backend}: {stderr}"
            );
        }
        let stderr = wgcnn_fails(&[
            "featuremaps",
            model.to_str().unwrap(),
            digit.to_str().unwrap(),
            "--layer",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--scale",
            "0",
            "--backend",
            backend,
        ]);
        assert!(stderr.contains("scale must be at least 1"), "{stderr}");
        assert!(!out.exists(), "no picture for a failed call");
    }
}

/// `models/digits.safetensors` with its metadata `preprocess` replaced, at `dst`.
fn digits_with_preprocess(preprocess: &str, dst: &Path) {
    let bytes = std::fs::read(repo("models/digits.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    header["__metadata__"]["preprocess"] = serde_json::Value::String(preprocess.into());
    let text = header.to_string();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&bytes[8 + n..]);
    std::fs::write(dst, out).unwrap();
}

#[test]
fn infer_with_a_huge_or_malformed_preprocess_size_is_an_error() {
    let dir = temp_dir("limits-infer");
    let digit = repo("assets/digit_3.png");
    for (i, (preprocess, message)) in [
        (
            r#"{"channels": 1, "size": [100000, 100000]}"#,
            "preprocess: picture pixels of 10000000000 exceeds the limit",
        ),
        (
            r#"{"channels": 1, "size": [4294967297, 1]}"#,
            "size must be two positive ints",
        ),
        (
            r#"{"channels": 1, "size": [8.5, 8]}"#,
            "size must be two positive ints",
        ),
        (
            r#"{"channels": 1, "size": [0, 8]}"#,
            "size must be two positive ints",
        ),
        (r#"{"channels": 1, "size": [8]}"#, "size must be [h, w]"),
        (r#"{"channels": 2}"#, "channels must be 1 or 3"),
        (
            r#"{"channels": 1, "invert": "yes"}"#,
            "invert must be a bool",
        ),
        ("not json", "model metadata preprocess"),
    ]
    .into_iter()
    .enumerate()
    {
        let model = dir.join(format!("model{i}.safetensors"));
        digits_with_preprocess(preprocess, &model);
        for backend in backend_names() {
            let stderr = wgcnn_fails(&[
                "infer",
                model.to_str().unwrap(),
                digit.to_str().unwrap(),
                "--backend",
                backend,
            ]);
            assert!(
                stderr.contains(message),
                "{preprocess} on {backend}: {stderr}"
            );
        }
    }
    // the model's own preprocessing still reads the digit
    let model = dir.join("model-ok.safetensors");
    digits_with_preprocess(
        r#"{"channels": 1, "size": [8, 8], "scale": 1.0, "invert": true}"#,
        &model,
    );
    let out = Command::new(env!("CARGO_BIN_EXE_wgcnn"))
        .args(["infer", model.to_str().unwrap(), digit.to_str().unwrap()])
        .args(["--backend", "cpu"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(": 3 ("));
}

#[test]
fn save_image_checks_its_data_and_size() {
    let dir = temp_dir("limits-save");
    let png = dir.join("x.png");
    // too little data, for either channel count
    for channels in [1, 3] {
        match picture::save_image(&png, &[0.5; 5], channels, 2, 3) {
            Err(Error::Shape { .. }) => {}
            other => panic!("{channels} channels: {other:?}"),
        }
    }
    // too much data
    assert!(matches!(
        picture::save_image(&png, &[0.5; 7], 1, 2, 3),
        Err(Error::Shape { .. })
    ));
    // sizes whose product overflows, or past the picture limit
    for (h, w) in [(usize::MAX, 2), (1 << 32, 1 << 32), (1 << 20, 1 << 20)] {
        assert!(
            matches!(
                picture::save_image(&png, &[], 1, h, w),
                Err(Error::Limit { .. })
            ),
            "{h} x {w}"
        );
    }
    assert!(matches!(
        picture::save_image(&png, &[0.5; 6], 2, 1, 3),
        Err(Error::InvalidParam { .. })
    ));
    assert!(!png.exists());
    // the right amount writes the picture
    picture::save_image(&png, &[0.5; 18], 3, 2, 3).unwrap();
    assert_eq!(image::image_dimensions(&png).unwrap(), (3, 2));
}

#[test]
fn feature_grid_bounds_its_scale() {
    for dev in common::backends() {
        let maps = Tensor::from_slice(dev, &common::random(2 * 3 * 4, 1), &[1, 2, 3, 4]).unwrap();
        for scale in [usize::MAX, usize::MAX / 2, 1 << 32, 1_000_000] {
            match picture::feature_grid(&maps, scale) {
                Err(e @ Error::Limit { .. }) => {
                    assert!(e.to_string().starts_with("featuremaps:"), "{e}");
                }
                other => panic!("scale {scale} on {dev:?}: {other:?}"),
            }
        }
        assert!(matches!(
            picture::feature_grid(&maps, 0),
            Err(Error::InvalidParam { .. })
        ));
        // 2 tiles side by side: 1 + 2 * (4 * 2 + 1) wide, 1 + (3 * 2 + 1) high
        let (grid, gh, gw) = picture::feature_grid(&maps, 2).unwrap();
        assert_eq!((gh, gw), (8, 19));
        assert_eq!(grid.len(), gh * gw);
    }
    // a device-independent path: the CPU reference
    let maps = Tensor::zeros(&Device::cpu(), &[1, 1, 1, 1]).unwrap();
    assert!(picture::feature_grid(&maps, 1).is_ok());
}
