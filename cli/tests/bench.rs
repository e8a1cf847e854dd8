//! The benchmark: workloads parse with their names, `wgcnn bench --json` prints one
//! object per workload with the documented fields, GPU timestamps are read back, and
//! reports are saved (`--save`), compared (`--compare`) and drawn (`--plot`).

#[path = "../../tests/common/mod.rs"]
#[macro_use]
mod common;

use wgcnn::Device;

use std::path::PathBuf;
use std::process::{Command, Output};

#[test]
fn every_workload_parses_and_none_is_left_unsupported() {
    let all = wgcnn::bench::parse_workloads(wgcnn::bench::WORKLOADS_JSON).unwrap();
    let names: Vec<&str> = all.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names.len(), 19, "{names:?}");
    for name in [
        "seed_rgb",
        "depthwise",
        "maxpool_resnet",
        "bilinear_ac",
        "relu_16m",
        "mnist_cnn",
        "unet_block",
    ] {
        assert!(names.contains(&name), "{name}");
    }
    assert!(
        all.iter()
            .all(|w| !matches!(w.kind, wgcnn::bench::WorkloadKind::Other { .. }))
    );
}

#[test]
fn bench_json_has_one_object_per_workload() {
    let mut backends: Vec<&str> = common::gpus().iter().map(|d| d.backend().name()).collect();
    backends.push("cpu");
    for backend in backends {
        let out = Command::new(env!("CARGO_BIN_EXE_wgcnn"))
            .args([
                "bench",
                "--backend",
                backend,
                "--only",
                "seed_rgb,maxpool_2x2",
                "--json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{backend}");
        for (line, name) in lines.iter().zip(["seed_rgb", "maxpool_2x2"]) {
            assert_eq!(line["workload"], name);
            assert_eq!(line["backend"], backend);
            for key in ["adapter", "median_ms", "min_ms", "gpu_ms", "gflops", "gbps"] {
                assert!(line.get(key).is_some(), "{key} in {line}");
            }
            assert!(line["median_ms"].as_f64().unwrap() > 0.0);
        }
        assert!(
            lines[0]["gflops"].as_f64().unwrap() > 0.0,
            "conv reports GFLOP/s"
        );
        assert!(
            lines[1]["gbps"].as_f64().unwrap() > 0.0,
            "pooling reports GB/s"
        );
    }
}

fn gpu_time_comes_from_timestamp_queries(dev: &Device) {
    let x = wgcnn::Tensor::from_slice(dev, &common::random(1 << 16, 1), &[1 << 16]).unwrap();
    let (y, ms) = dev.time_gpu(|| wgcnn::relu(&x)).unwrap();
    assert_eq!(y.shape(), x.shape());
    if wgcnn::list_adapters()
        .iter()
        .any(|a| a.backend == dev.backend() && a.timestamps)
    {
        let ms = ms.expect("timestamps on an adapter that has them");
        assert!((0.0..10_000.0).contains(&ms), "{ms}");
    }
}
backend_tests!(gpu gpu_time_comes_from_timestamp_queries);

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wgcnn-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn wgcnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wgcnn"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn bench_save_writes_a_report_that_plot_draws() {
    // the best adapter (its roof measured for the chart), else the CPU path (no roof)
    let backend = common::gpus().first().map_or("cpu", |d| d.backend().name());
    let dir = scratch("bench-save");
    let (report, svg, png) = (dir.join("a.json"), dir.join("a.svg"), dir.join("a.png"));
    let path = |p: &PathBuf| p.to_str().unwrap().to_string();
    let out = wgcnn(&[
        "bench",
        "--backend",
        backend,
        "--only",
        "seed_rgb,maxpool_2x2",
        "--save",
        &path(&report),
        "--plot",
        &path(&svg),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(doc["format"], "wgcnn-bench");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["crate_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["backend"], backend);
    assert!(doc["adapter"].as_str().is_some_and(|a| !a.is_empty()));
    let date = doc["date"].as_str().unwrap();
    assert!(
        date.len() == 20 && date.starts_with("20") && &date[10..11] == "T" && date.ends_with('Z'),
        "{date}"
    );
    if backend == "cpu" {
        assert!(doc["roof"].is_null() && doc["driver"].is_null(), "{doc}");
    } else {
        assert!(doc["driver"].is_string(), "{doc}");
        assert!(doc["roof"]["fma_gflops"].as_f64().unwrap() > 0.0, "{doc}");
        assert!(doc["roof"]["copy_gbps"].as_f64().unwrap() > 0.0, "{doc}");
    }
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for (r, name) in results.iter().zip(["seed_rgb", "maxpool_2x2"]) {
        assert_eq!(r["workload"], name);
        let times = r["times_ms"].as_array().unwrap();
        assert_eq!(times.len() as u64, r["runs"].as_u64().unwrap());
        assert!(times.len() >= 3);
        let median = r["median_ms"].as_f64().unwrap();
        let min = r["min_ms"].as_f64().unwrap();
        assert!(0.0 < min && min <= median, "{r}");
        assert!(r.get("gpu_ms").is_some(), "{r}");
        let (flops, bytes) = (r["flops"].as_f64().unwrap(), r["bytes"].as_f64().unwrap());
        let intensity = r["intensity"].as_f64().unwrap();
        assert!(flops > 0.0 && bytes > 0.0, "{r}");
        assert!((intensity - flops / bytes).abs() < 1e-9 * intensity, "{r}");
    }
    // seed_rgb: 2 * 8*16*28*28 * 3*3*3 FLOP over input, weight, bias and output
    assert_eq!(results[0]["flops"], 2.0 * (8 * 16 * 28 * 28 * 27) as f64);
    let elems = 8 * 3 * 28 * 28 + 16 * 27 + 16 + 8 * 16 * 28 * 28;
    assert_eq!(results[0]["bytes"], 4.0 * elems as f64);

    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(
        chart.starts_with("<svg"),
        "{}",
        &chart[..chart.len().min(80)]
    );
    for label in ["seed_rgb", "maxpool_2x2", "arithmetic intensity", "GFLOP/s"] {
        assert!(chart.contains(label), "{label} in the SVG");
    }
    if backend != "cpu" {
        assert!(chart.contains("FP32 FMA peak"));
    }

    // the same chart as a PNG, from the saved report, without a device
    let out = wgcnn(&["bench", "--plot", &path(&png), "--from", &path(&report)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    let picture = image::load_from_memory(&bytes).unwrap();
    assert_eq!((picture.width(), picture.height()), (1000, 680));
    // text and points are drawn: more than a few distinct colours
    let rgb = picture.to_rgb8();
    let colours: std::collections::HashSet<[u8; 3]> = rgb.pixels().map(|p| p.0).collect();
    assert!(colours.len() > 50, "{} colours", colours.len());

    // any other extension is refused, naming the file
    let out = wgcnn(&["bench", "--plot", "chart.gif", "--from", &path(&report)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("chart.gif"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A report of `(workload, run times)`, as `--save` writes it.
fn report(results: &[(&str, &[f64])]) -> String {
    let results: Vec<serde_json::Value> = results
        .iter()
        .map(|(name, times)| {
            let mut sorted = times.to_vec();
            sorted.sort_by(f64::total_cmp);
            serde_json::json!({
                "workload": name, "runs": times.len(), "times_ms": times,
                "median_ms": sorted[sorted.len() / 2], "min_ms": sorted[0],
                "gpu_ms": null, "gflops": 1.0, "gbps": null,
                "flops": 1e6, "bytes": 1e5, "intensity": 10.0,
            })
        })
        .collect();
    serde_json::json!({
        "format": "wgcnn-bench", "version": 1, "crate_version": "0.1.0",
        "date": "2026-01-01T00:00:00Z", "adapter": "test adapter", "driver": null,
        "backend": "vulkan", "roof": null, "results": results,
    })
    .to_string()
}

#[test]
fn bench_compare_prints_ratios_and_the_geometric_mean() {
    let dir = scratch("bench-compare");
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    std::fs::write(
        &a,
        report(&[
            ("seed_rgb", &[1.0, 1.1, 1.2]),
            ("maxpool_2x2", &[0.5, 0.6, 0.7]),
            ("depthwise", &[3.0]),
        ]),
    )
    .unwrap();
    std::fs::write(
        &b,
        report(&[
            ("maxpool_2x2", &[0.55, 0.6, 0.65]),
            ("seed_rgb", &[2.0, 2.2, 2.4]),
            ("relu_16m", &[9.0]),
        ]),
    )
    .unwrap();
    // no device is opened: an unknown backend in the environment does not matter
    let out = Command::new(env!("CARGO_BIN_EXE_wgcnn"))
        .args([
            "bench",
            "--compare",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
        ])
        .env("WGCNN_BACKEND", "no-such-backend")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let line = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in\n{table}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        line("seed_rgb"),
        ["seed_rgb", "1.100", "2.200", "2.000", "slower"]
    );
    assert_eq!(
        line("maxpool_2x2"),
        ["maxpool_2x2", "0.600", "0.600", "1.000"]
    );
    assert!(
        table.contains("geometric mean of B/A over 2 workloads: 1.414"),
        "{table}"
    );
    assert!(table.contains("only in A: depthwise"), "{table}");
    assert!(table.contains("only in B: relu_16m"), "{table}");

    // B against A: the same change the other way
    let out = wgcnn(&[
        "bench",
        "--compare",
        b.to_str().unwrap(),
        a.to_str().unwrap(),
    ]);
    assert!(text(&out.stdout).contains("geometric mean of B/A over 2 workloads: 0.707"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bench_compare_refuses_what_is_not_a_report_naming_the_file() {
    let dir = scratch("bench-corrupt");
    let good = dir.join("good.json");
    let full = report(&[("seed_rgb", &[1.0])]);
    std::fs::write(&good, &full).unwrap();
    let cases: [(&str, Vec<u8>, &str); 5] = [
        (
            "garbage.json",
            vec![0xff, 0xfe, 0x00, 0x13, 0x37],
            "not UTF-8",
        ),
        (
            "truncated.json",
            full.as_bytes()[..full.len() / 2].to_vec(),
            "invalid JSON",
        ),
        (
            "other.json",
            br#"{"workload": "seed_rgb"}"#.to_vec(),
            "no \"format\"",
        ),
        (
            "no_times.json",
            full.replace("\"times_ms\":[1.0]", "\"times_ms\":\"1\"")
                .into_bytes(),
            "times_ms",
        ),
        ("missing.json", Vec::new(), "No such file"),
    ];
    for (name, bytes, reason) in cases {
        let bad = dir.join(name);
        if name != "missing.json" {
            std::fs::write(&bad, bytes).unwrap();
        }
        for args in [[&good, &bad], [&bad, &good]] {
            let out = wgcnn(&[
                "bench",
                "--compare",
                args[0].to_str().unwrap(),
                args[1].to_str().unwrap(),
            ]);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{name}: {err}");
            assert!(err.contains(bad.to_str().unwrap()), "{name}: {err}");
            assert!(err.contains(reason), "{name}: {err}");
            assert!(!err.contains("panicked"), "{name}: {err}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn whole_networks_run_with_their_steps_and_autotuned() {
    // the zoo's networks follow the workloads file's
    let names: Vec<String> = wgcnn::bench::zoo_workloads()
        .into_iter()
        .map(|w| w.name)
        .collect();
    assert_eq!(
        names,
        ["resnet18", "mobilenet_v2", "efficientnet_b0", "unet"]
    );
    let Some(gpu) = common::gpus().first().map(|d| d.backend().name()) else {
        assert!(
            std::env::var("WGCNN_REQUIRE_GPU").as_deref() != Ok("1"),
            "no GPU adapter"
        );
        return;
    };
    let cache = std::env::temp_dir().join(format!("wgcnn-bench-tune-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_wgcnn"))
        .args([
            "bench",
            "--backend",
            gpu,
            "--only",
            "unet",
            "--steps",
            "--autotune",
            "--json",
        ])
        .env("WGCNN_CACHE_DIR", &cache)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["workload"], "unet");
    assert_eq!(line["steps"], 26);
    for key in [
        "median_ms",
        "steps_sum_ms",
        "autotuned_median_ms",
        "alternating_hand_median_ms",
        "tuning_ms",
    ] {
        assert!(line[key].as_f64().unwrap() > 0.0, "{key}: {line}");
    }
    assert!(line["tuned_shapes"].as_u64().unwrap() >= 1, "{line}");
    assert!(cache.join("autotune.json").exists());
    std::fs::remove_dir_all(&cache).ok();
}
