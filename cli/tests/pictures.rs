//! The picture tools: `wgcnn filter` and `wgcnn featuremaps` write pictures of the right
//! size whose pixels match the CPU reference, and `wgcnn infer` reads a digit right.

#[path = "../../tests/common/mod.rs"]
#[macro_use]
mod common;

use wgcnn::Device;

use std::path::{Path, PathBuf};
use std::process::Command;

fn asset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../assets")
        .join(name)
}

fn wgcnn(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wgcnn"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "wgcnn {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn backend_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = common::gpus().iter().map(|d| d.backend().name()).collect();
    names.push("cpu");
    names
}

/// Pixels of two pictures agree to one level (a float on a rounding edge).
fn assert_same_picture(a: &Path, b: &Path) {
    let (a, b) = (
        image::open(a).unwrap().to_rgb8(),
        image::open(b).unwrap().to_rgb8(),
    );
    assert_eq!(a.dimensions(), b.dimensions());
    let worst = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap();
    assert!(worst <= 1, "pixels differ by up to {worst}");
}

#[test]
fn filter_writes_the_kernel_applied_to_a_real_photo() {
    let dir = std::env::temp_dir().join(format!("wgcnn-filter-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = asset("china.jpg");
    let (w, h) = image::image_dimensions(&photo).unwrap();
    for kernel in ["edge", "sobel-x", "sobel-y", "sharpen", "blur", "emboss"] {
        let reference = dir.join(format!("{kernel}-cpu.png"));
        wgcnn(&[
            "filter",
            photo.to_str().unwrap(),
            "--kernel",
            kernel,
            "--out",
            reference.to_str().unwrap(),
            "--backend",
            "cpu",
        ]);
        assert_eq!(image::image_dimensions(&reference).unwrap(), (w, h));
        for backend in backend_names() {
            let out = dir.join(format!("{kernel}-{backend}.png"));
            wgcnn(&[
                "filter",
                photo.to_str().unwrap(),
                "--kernel",
                kernel,
                "--out",
                out.to_str().unwrap(),
                "--backend",
                backend,
            ]);
            assert_same_picture(&out, &reference);
        }
    }
    // a kernel from a file, on the grey picture
    let file = dir.join("box.txt");
    std::fs::write(&file, "1 1 1\n1 1 1\n1 1 1\n").unwrap();
    let out = dir.join("box.png");
    wgcnn(&[
        "filter",
        photo.to_str().unwrap(),
        "--kernel",
        file.to_str().unwrap(),
        "--grey",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(image::open(&out).unwrap().color(), image::ColorType::L8);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn filter_runs_a_12_megapixel_photo_on_the_gpu() {
    // 3 x 3000 x 4000 floats, 144 MB: larger than one storage binding (128 MiB)
    let dir = std::env::temp_dir().join(format!("wgcnn-large-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = dir.join("photo.png");
    image::RgbImage::from_fn(4000, 3000, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x * y) % 239) as u8])
    })
    .save(&photo)
    .unwrap();
    let reference = dir.join("blur-cpu.png");
    let run = |backend: &str, out: &Path| {
        let args = ["filter", photo.to_str().unwrap(), "--kernel", "blur"];
        wgcnn(
            &[
                &args[..],
                &["--out", out.to_str().unwrap(), "--backend", backend],
            ]
            .concat(),
        );
    };
    run("cpu", &reference);
    for backend in backend_names() {
        let out = dir.join(format!("blur-{backend}.png"));
        run(backend, &out);
        assert_same_picture(&out, &reference);
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn blur_of_a_flat_picture_is_the_same_flat_picture(dev: &Device) {
    // a 5x5 binomial kernel sums to 1: a constant image stays constant
    let x = wgcnn::Tensor::from_slice(dev, &[0.5; 3 * 9 * 7], &[1, 3, 9, 7]).unwrap();
    let (k, size) = wgcnn_cli::picture::filter_kernel("blur").unwrap();
    let y = wgcnn_cli::picture::apply_filter(&x, &k, size).unwrap();
    common::assert_close(
        &y.to_vec().unwrap(),
        &[0.5; 3 * 9 * 7],
        1e-6,
        0.0,
        &format!("{dev:?}"),
    );
}
backend_tests!(blur_of_a_flat_picture_is_the_same_flat_picture);

#[test]
fn featuremaps_draws_every_channel_of_a_layer() {
    let dir = std::env::temp_dir().join(format!("wgcnn-maps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/digits.safetensors");
    let digit = asset("digit_3.png");
    let reference = dir.join("cpu.png");
    let args = |out: &Path, backend: &'static str| -> Vec<String> {
        [
            "featuremaps",
            model.to_str().unwrap(),
            digit.to_str().unwrap(),
            "--layer",
            "4",
            "--scale",
            "2",
            "--out",
            out.to_str().unwrap(),
            "--backend",
            backend,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |v: Vec<String>| wgcnn(&v.iter().map(String::as_str).collect::<Vec<_>>());
    run(args(&reference, "cpu"));
    // layer 4: 32 channels of 14x14 -> a 6x6 grid of 28-pixel tiles with 1-pixel gaps
    assert_eq!(
        image::image_dimensions(&reference).unwrap(),
        (6 * 29 + 1, 6 * 29 + 1)
    );
    for backend in backend_names() {
        let out = dir.join(format!("{backend}.png"));
        run(args(&out, backend));
        assert_same_picture(&out, &reference);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn infer_reads_the_digits_in_the_pictures() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/digits.safetensors");
    for backend in backend_names() {
        for digit in ["3", "6", "7"] {
            let out = wgcnn(&[
                "infer",
                model.to_str().unwrap(),
                asset(&format!("digit_{digit}.png")).to_str().unwrap(),
                "--backend",
                backend,
            ]);
            let top = out.split(": ").nth(1).unwrap();
            assert!(top.starts_with(&format!("{digit} (")), "{backend}: {out}");
        }
    }
}
