//! Autotuning of conv2d lowerings on every adapter: the choice is one of the shape's
//! candidates and gives the reference's numbers, it is kept on disk and read back, a
//! corrupt, stale or impossible cache entry is never trusted, `refresh` tunes again,
//! and `off` (the default) times nothing.

#[macro_use]
mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;
use wgcnn::{
    Autotune, AutotuneCache, Conv2dParams, Device, DeviceOptions, Lowerings, Tensor, autotune_stats,
};

/// A cache folder of the test's own, empty.
fn cache_dir(name: &str, dev: &Device) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "wgcnn-autotune-{}-{name}-{}",
        std::process::id(),
        dev.backend().name()
    ));
    std::fs::remove_dir_all(&dir).ok();
    dir
}

fn tuned_device(dev: &Device, mode: Autotune, dir: &Path) -> Device {
    let options = DeviceOptions::default()
        .with(Lowerings {
            autotune: Some(mode),
            ..Lowerings::default()
        })
        .with(AutotuneCache(dir.to_path_buf()));
    common::reopen(dev, &options)
}

/// A 3x3 convolution on `dev`, checked against the CPU reference.
fn conv(dev: &Device, c_out: usize) {
    let (xs, ws) = ([1, 8, 20, 20], [c_out, 8, 3, 3]);
    let x = common::random(xs.iter().product(), 1);
    let w = common::random(ws.iter().product(), 2);
    let p = Conv2dParams::default().padding(1);
    let run = |d: &Device| {
        let tx = Tensor::from_slice(d, &x, &xs).unwrap();
        let tw = Tensor::from_slice(d, &w, &ws).unwrap();
        wgcnn::conv2d(&tx, &tw, None, &p).unwrap().to_vec().unwrap()
    };
    let want = run(&Device::cpu());
    common::assert_close(&run(dev), &want, 1e-4, 1e-5, "autotuned conv2d");
}

/// The cache file's entries for this release on the one adapter the test tunes (other
/// adapters' and releases' entries are kept, not read).
fn entries(dir: &Path) -> serde_json::Map<String, Value> {
    let doc: Value =
        serde_json::from_slice(&std::fs::read(dir.join("autotune.json")).unwrap()).unwrap();
    assert_eq!(doc["format"], "wgcnn-autotune");
    let adapters = doc["adapters"].as_object().unwrap();
    let ours: Vec<_> = adapters
        .iter()
        .filter(|(key, _)| key.ends_with(&format!("wgcnn {}", env!("CARGO_PKG_VERSION"))))
        .collect();
    assert_eq!(ours.len(), 1, "{adapters:?}");
    ours[0].1.as_object().unwrap().clone()
}

const NAMES: [&str; 10] = [
    "im2col-tiled",
    "im2col-register",
    "im2col-subgroup",
    "direct",
    "implicit",
    "packed",
    "winograd",
    "pointwise-tiled",
    "pointwise-register",
    "pointwise-subgroup",
];

fn a_shape_is_tuned_once_and_kept_on_disk(dev: &Device) {
    let _serial = common::serial();
    let dir = cache_dir("once", dev);
    let tuned = tuned_device(dev, Autotune::On, &dir);
    let before = autotune_stats();
    conv(&tuned, 16);
    conv(&tuned, 16);
    let after = autotune_stats();
    assert_eq!(after.tuned - before.tuned, 1, "one shape, tuned once");
    assert!(after.tuning_ms > before.tuning_ms);
    let shapes = entries(&dir);
    assert_eq!(shapes.len(), 1);
    let choice = shapes.values().next().unwrap().as_str().unwrap();
    assert!(NAMES.contains(&choice), "{choice}");
    std::fs::remove_dir_all(&dir).ok();
}
backend_tests!(gpu a_shape_is_tuned_once_and_kept_on_disk);

fn every_shape_a_rule_routes_is_tuned_once(dev: &Device) {
    // shapes whose hand rules pick a lowering of their own: a 1x1 and a 3x3 over a 7x7
    // map with many channels (and outputs enough not to be "a handful"), a depthwise
    // 3x3, a strided 3x3 (a choice kept must be found again, or every call would tune
    // anew)
    let shapes: [(&[usize], &[usize], Conv2dParams); 4] = [
        (&[1, 128, 7, 7], &[96, 128, 1, 1], Conv2dParams::default()),
        (
            &[1, 128, 7, 7],
            &[96, 128, 3, 3],
            Conv2dParams::default().padding(1),
        ),
        (
            &[1, 16, 14, 14],
            &[16, 1, 3, 3],
            Conv2dParams::default().padding(1).groups(16),
        ),
        (
            &[1, 128, 14, 14],
            &[32, 128, 3, 3],
            Conv2dParams::default().padding(1).stride(2),
        ),
    ];
    let _serial = common::serial();
    let dir = cache_dir("rules", dev);
    let tuned = tuned_device(dev, Autotune::On, &dir);
    let before = autotune_stats();
    for _ in 0..2 {
        for (i, (xs, ws, p)) in shapes.iter().enumerate() {
            let x = common::random(xs.iter().product(), 3 + i as u64);
            let w = common::random(ws.iter().product(), 4 + i as u64);
            let run = |d: &Device| {
                let tx = Tensor::from_slice(d, &x, xs).unwrap();
                let tw = Tensor::from_slice(d, &w, ws).unwrap();
                wgcnn::conv2d(&tx, &tw, None, p).unwrap().to_vec().unwrap()
            };
            let want = run(&Device::cpu());
            common::assert_close(&run(&tuned), &want, 1e-4, 1e-5, "autotuned conv2d");
        }
    }
    let after = autotune_stats();
    assert_eq!(
        after.tuned - before.tuned,
        4,
        "four shapes, each tuned once"
    );
    let kept = entries(&dir);
    assert_eq!(kept.len(), 4);
    for choice in kept.values() {
        assert!(NAMES.contains(&choice.as_str().unwrap()), "{choice}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
backend_tests!(gpu every_shape_a_rule_routes_is_tuned_once);

fn a_cache_file_is_read_and_never_trusted_blindly(dev: &Device) {
    let _serial = common::serial();
    let dir = cache_dir("read", dev);
    // a first process's tuning, written to disk
    conv(&tuned_device(dev, Autotune::On, &dir), 24);
    let file = dir.join("autotune.json");
    let written = std::fs::read_to_string(&file).unwrap();
    // the same file read by a fresh table: a new folder holding it
    let copy = cache_dir("read-copy", dev);
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::write(copy.join("autotune.json"), &written).unwrap();
    let before = autotune_stats();
    conv(&tuned_device(dev, Autotune::On, &copy), 24);
    let after = autotune_stats();
    assert_eq!(
        after.from_cache - before.from_cache,
        1,
        "read from the file"
    );
    assert_eq!(after.tuned, before.tuned, "not tuned again");
    // refresh: tuned again, the file kept valid
    conv(&tuned_device(dev, Autotune::Refresh, &copy), 24);
    assert_eq!(
        autotune_stats().tuned - after.tuned,
        1,
        "refresh tunes again"
    );
    assert_eq!(entries(&copy).len(), 1);
    // entries that cannot be trusted: a file that does not parse, another format
    // version, another release's adapter key, a lowering that is no candidate
    let shape = entries(&dir).keys().next().unwrap().clone();
    let doc: Value = serde_json::from_str(&written).unwrap();
    let adapter = doc["adapters"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let impossible = serde_json::json!({
        "format": "wgcnn-autotune", "version": 1,
        "adapters": { adapter.clone(): { shape.clone(): "pointwise-register" } }
    });
    let other_release = serde_json::json!({
        "format": "wgcnn-autotune", "version": 1,
        "adapters": { adapter.replace(env!("CARGO_PKG_VERSION"), "0.0.0-old"): { shape.clone(): "direct" } }
    });
    let other_version = serde_json::json!({
        "format": "wgcnn-autotune", "version": 99,
        "adapters": { adapter: { shape: "direct" } }
    });
    for (i, bad) in [
        "{ not json".to_string(),
        impossible.to_string(),
        other_release.to_string(),
        other_version.to_string(),
    ]
    .iter()
    .enumerate()
    {
        let bad_dir = cache_dir(&format!("bad{i}"), dev);
        std::fs::create_dir_all(&bad_dir).unwrap();
        std::fs::write(bad_dir.join("autotune.json"), bad).unwrap();
        let before = autotune_stats();
        conv(&tuned_device(dev, Autotune::On, &bad_dir), 24);
        let after = autotune_stats();
        assert_eq!(
            after.tuned - before.tuned,
            1,
            "case {i}: tuned, not trusted"
        );
        assert_eq!(after.from_cache, before.from_cache, "case {i}");
        let shapes = entries(&bad_dir);
        let choice = shapes.values().next().unwrap().as_str().unwrap();
        assert!(NAMES.contains(&choice), "case {i}: {choice}");
        std::fs::remove_dir_all(&bad_dir).ok();
    }
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&copy).ok();
}
backend_tests!(gpu a_cache_file_is_read_and_never_trusted_blindly);

fn off_times_nothing_and_writes_nothing(dev: &Device) {
    let _serial = common::serial();
    let dir = cache_dir("off", dev);
    let before = autotune_stats();
    conv(&tuned_device(dev, Autotune::Off, &dir), 8);
    let after = autotune_stats();
    assert_eq!(
        (after.tuned, after.from_cache),
        (before.tuned, before.from_cache)
    );
    assert!(!dir.exists());
}
backend_tests!(gpu off_times_nothing_and_writes_nothing);

#[test]
fn the_setting_parses_three_words() {
    assert_eq!(Autotune::parse("refresh").unwrap(), Autotune::Refresh);
    let e = Autotune::parse("sometimes").unwrap_err().to_string();
    assert!(e.contains("off, on or refresh"), "{e}");
}
