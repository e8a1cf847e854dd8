//! The benchmark: workloads parse with their names, `wgcnn bench --json` prints one
//! object per workload with the documented fields, and GPU timestamps are read back.

#[path = "../../tests/common/mod.rs"]
#[macro_use]
mod common;

use wgcnn::Device;

use std::process::Command;

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
