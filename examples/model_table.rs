//! Runs every model case of a folder (scripts/export_onnx.py's output) on each backend
//! and prints a Markdown table: per architecture and exporter, the largest difference
//! from PyTorch's float64 answer relative to the answer's largest magnitude, and the
//! median milliseconds of a forward pass (upload excluded, read back included).
//!
//! `cargo run --release --example model_table -- target/onnx-models [runs]`

use std::path::PathBuf;
use std::time::Instant;

use wgcnn::fixture::Fixture;
use wgcnn::{BackendKind, Device, DeviceOptions, Model, Tensor};

fn main() -> wgcnn::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "target/onnx-models".into()));
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    let mut devices = Vec::new();
    for kind in [BackendKind::Vulkan, BackendKind::Gl] {
        if let Ok(d) = Device::new(&DeviceOptions::backend(kind)) {
            devices.push(d);
        }
    }
    devices.push(Device::cpu());
    let mut paths: Vec<PathBuf> = wgcnn::fixture::collect(&[dir])?;
    paths.sort();
    let names: Vec<String> = devices.iter().map(|d| d.backend().to_string()).collect();
    let mut header = String::from("| model | input |");
    let mut rule = String::from("| --- | --- |");
    for n in &names {
        header.push_str(&format!(" {n} rel. err | {n} ms |"));
        rule.push_str(" --- | --- |");
    }
    println!("{header}\n{rule}");
    for path in paths {
        let fx = Fixture::load(&path)?;
        if fx.op != "model" {
            continue;
        }
        let x = fx.tensor("input")?;
        let want = fx.tensor("expected")?;
        let scale = want
            .data
            .iter()
            .fold(0f64, |m, &v| m.max(f64::from(v).abs()));
        let mut row = format!("| {} | {:?} |", fx.name, x.shape);
        for dev in &devices {
            let model = Model::load(&fx.model_path()?, dev)?;
            let input = Tensor::from_slice(dev, &x.data, &x.shape)?;
            // the CPU reference is timed once: it is the oracle, not a backend to race
            let n = if dev.is_cpu() { 1 } else { runs };
            let mut got = model.forward(&input)?.to_vec()?;
            let mut times = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                got = model.forward(&input)?.to_vec()?;
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(f64::total_cmp);
            let err = got
                .iter()
                .zip(&want.data)
                .map(|(a, b)| (f64::from(*a) - f64::from(*b)).abs())
                .fold(0f64, f64::max);
            row.push_str(&format!(
                " {:.1e} | {:.1} |",
                err / scale.max(f64::MIN_POSITIVE),
                times[n / 2]
            ));
        }
        println!("{row}");
    }
    Ok(())
}
