//! The `wgcnn` command line: a thin layer over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use wgcnn::fixture::{self, Fixture, Verdict};
use wgcnn::{BackendKind, Device, DeviceOptions};

#[derive(Parser)]
#[command(
    name = "wgcnn",
    version,
    about = "CNN primitives on any GPU through wgpu, checked against PyTorch"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List every adapter: backend, name, type, driver, limits and features.
    Devices,
    /// Run PyTorch fixtures on each chosen backend and judge them.
    Check {
        /// Fixture files or folders (default: the set built into this binary).
        paths: Vec<PathBuf>,
        /// all, vulkan, gl, metal, dx12 or cpu.
        #[arg(long, default_value = "all")]
        backend: String,
        /// Only adapters whose name contains this.
        #[arg(long)]
        adapter: Option<String>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Time every workload on one adapter (or the CPU reference).
    Bench {
        /// vulkan, gl, metal, dx12 or cpu (default: WGCNN_BACKEND, else the best adapter).
        #[arg(long)]
        backend: Option<String>,
        /// Only adapters whose name contains this.
        #[arg(long)]
        adapter: Option<String>,
        /// A workloads file (default: the one built into this binary).
        #[arg(long)]
        workloads: Option<PathBuf>,
        /// Only these workloads (comma-separated names).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// One JSON object per workload instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run each fixture's call and write its output (or error) to a folder.
    Run {
        /// Fixture files or folders.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// vulkan, gl, metal, dx12 or cpu (default: WGCNN_BACKEND, else the best adapter).
        #[arg(long)]
        backend: Option<String>,
        /// Only adapters whose name contains this.
        #[arg(long)]
        adapter: Option<String>,
        /// Where `<stem>.safetensors` or `<stem>.error` go.
        #[arg(long)]
        out_dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => default_job(),
        Some(Command::Devices) => {
            print_devices();
            Ok(true)
        }
        Some(Command::Check {
            paths,
            backend,
            adapter,
            json,
        }) => check(&paths, &backend, adapter, json),
        Some(Command::Bench {
            backend,
            adapter,
            workloads,
            only,
            json,
        }) => bench(backend, adapter, workloads, &only, json),
        Some(Command::Run {
            files,
            backend,
            adapter,
            out_dir,
        }) => run(&files, backend, adapter, &out_dir),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("wgcnn: {e}");
            ExitCode::from(2)
        }
    }
}

/// `wgcnn` with no arguments: the devices, then the built-in check on every backend.
fn default_job() -> wgcnn::Result<bool> {
    print_devices();
    println!();
    check(&[], "all", None, false)
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn print_devices() {
    let adapters = wgcnn::list_adapters();
    if adapters.is_empty() {
        println!("no GPU adapter found (the CPU reference backend is always available)");
    }
    for (i, a) in adapters.iter().enumerate() {
        println!("[{i}] {} ({}, {})", a.name, a.backend, a.device_type);
        println!("    driver:                {}", a.driver);
        println!(
            "    max storage binding:   {} MiB",
            a.max_storage_binding >> 20
        );
        println!("    max buffer:            {} MiB", a.max_buffer >> 20);
        println!("    workgroups per dim:    {}", a.max_workgroups_per_dim);
        println!(
            "    invocations/workgroup: {}",
            a.max_invocations_per_workgroup
        );
        println!(
            "    workgroup storage:     {} KiB",
            a.max_workgroup_storage >> 10
        );
        println!(
            "    f16: {}  subgroups: {}  timestamp queries: {}",
            yes_no(a.f16),
            yes_no(a.subgroups),
            yes_no(a.timestamps)
        );
    }
}

/// The devices `--backend` names: `all` is every adapter plus the CPU reference.
fn devices_for(backend: &str, adapter: Option<String>) -> wgcnn::Result<Vec<Device>> {
    if backend.eq_ignore_ascii_case("all") {
        let all = Device::all()?;
        return Ok(match adapter {
            None => all,
            Some(f) => all
                .into_iter()
                .filter(|d| d.name().to_lowercase().contains(&f.to_lowercase()))
                .collect(),
        });
    }
    let kind = BackendKind::parse(backend)?;
    Ok(vec![Device::new(&DeviceOptions {
        backend: Some(kind),
        adapter,
        ..DeviceOptions::default()
    })?])
}

fn load_all(paths: &[PathBuf]) -> wgcnn::Result<Vec<Fixture>> {
    if paths.is_empty() {
        return fixture::builtin();
    }
    fixture::collect(paths)?
        .iter()
        .map(|p| Fixture::load(p))
        .collect()
}

fn check(
    paths: &[PathBuf],
    backend: &str,
    adapter: Option<String>,
    json: bool,
) -> wgcnn::Result<bool> {
    let fixtures = load_all(paths)?;
    let devices = devices_for(backend, adapter)?;
    let total = fixtures.len() * devices.len();
    let width = fixtures
        .iter()
        .map(|f| f.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    if !json {
        println!(
            "{:<width$}  {:<8}  {:<12}  {:>12}  verdict",
            "case", "backend", "op", "max abs err"
        );
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for device in &devices {
        for fx in &fixtures {
            if !json {
                eprint!(
                    "\r[{}/{total}] {} on {}\x1b[K",
                    passed + failed + 1,
                    fx.name,
                    device.backend()
                );
            }
            let outcome = fx.check(device);
            let ok = outcome.verdict == Verdict::Pass;
            if ok {
                passed += 1;
            } else {
                failed += 1;
            }
            if json {
                let line = serde_json::json!({
                    "case": fx.name,
                    "backend": device.backend().name(),
                    "adapter": device.name(),
                    "op": fx.op,
                    "max_abs_err": if outcome.max_abs_err.is_finite() { serde_json::json!(outcome.max_abs_err) } else { serde_json::Value::Null },
                    "verdict": outcome.verdict.name(),
                    "detail": outcome.detail,
                });
                println!("{line}");
            } else {
                eprint!("\r\x1b[K");
                let detail = if ok || outcome.detail.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", outcome.detail)
                };
                println!(
                    "{:<width$}  {:<8}  {:<12}  {:>12.3e}  {}{detail}",
                    fx.name,
                    device.backend().name(),
                    fx.op,
                    outcome.max_abs_err,
                    outcome.verdict.name()
                );
            }
        }
    }
    if !json {
        let backends: Vec<&str> = devices.iter().map(|d| d.backend().name()).collect();
        println!(
            "\n{passed} passed, {failed} failed ({} fixtures on {})",
            fixtures.len(),
            backends.join(", ")
        );
    }
    Ok(failed == 0)
}

fn run(
    files: &[PathBuf],
    backend: Option<String>,
    adapter: Option<String>,
    out_dir: &std::path::Path,
) -> wgcnn::Result<bool> {
    let backend = backend.map(|b| BackendKind::parse(&b)).transpose()?;
    let device = Device::new(&DeviceOptions {
        backend,
        adapter,
        ..DeviceOptions::default()
    })?;
    std::fs::create_dir_all(out_dir).map_err(|source| wgcnn::Error::Io {
        path: out_dir.display().to_string(),
        source,
    })?;
    let paths = fixture::collect(files)?;
    let mut all_written = true;
    for path in &paths {
        let stem = path
            .file_stem()
            .map_or_else(|| "fixture".into(), |s| s.to_string_lossy().into_owned());
        let result = Fixture::load(path).and_then(|fx| fx.run(&device));
        match fixture::write_result(out_dir, &stem, &result) {
            Ok(written) => eprintln!("{} -> {}", path.display(), written.display()),
            Err(e) => {
                eprintln!("wgcnn: {e}");
                all_written = false;
            }
        }
    }
    Ok(all_written)
}

fn bench(
    backend: Option<String>,
    adapter: Option<String>,
    workloads: Option<PathBuf>,
    only: &[String],
    json: bool,
) -> wgcnn::Result<bool> {
    use wgcnn::bench::{self, BenchConfig};
    let text = match &workloads {
        Some(p) => std::fs::read_to_string(p).map_err(|source| wgcnn::Error::Io {
            path: p.display().to_string(),
            source,
        })?,
        None => bench::WORKLOADS_JSON.to_string(),
    };
    let mut all = bench::parse_workloads(&text)?;
    if !only.is_empty() {
        all.retain(|w| only.iter().any(|o| o == &w.name));
    }
    let backend = backend.map(|b| BackendKind::parse(&b)).transpose()?;
    let device = Device::new(&DeviceOptions {
        backend,
        adapter,
        ..DeviceOptions::default()
    })?;
    if !json {
        println!("{} ({})", device.name(), device.backend());
        println!(
            "{:<16} {:>6} {:>11} {:>11} {:>11} {:>9} {:>8}",
            "workload", "runs", "median ms", "min ms", "gpu ms", "GFLOP/s", "GB/s"
        );
    }
    let fmt = |v: Option<f64>, prec: usize| v.map_or("-".to_string(), |v| format!("{v:.prec$}"));
    let mut ok = true;
    for (i, wl) in all.iter().enumerate() {
        if !json {
            eprint!("\r[{}/{}] {}\x1b[K", i + 1, all.len(), wl.name);
        }
        match bench::run_workload(&device, wl, &BenchConfig::default()) {
            Ok(r) if json => println!("{}", r.to_json()),
            Ok(r) => {
                eprint!("\r\x1b[K");
                println!(
                    "{:<16} {:>6} {:>11.3} {:>11.3} {:>11} {:>9} {:>8}",
                    r.workload,
                    r.runs,
                    r.median_ms,
                    r.min_ms,
                    fmt(r.gpu_ms, 3),
                    fmt(r.gflops, 1),
                    fmt(r.gbps, 2)
                );
            }
            Err(wgcnn::Error::Unsupported(msg)) => {
                if !json {
                    eprint!("\r\x1b[K");
                    println!("{:<16} skipped: {msg}", wl.name);
                }
            }
            Err(e) => {
                ok = false;
                eprintln!("\r\x1b[K{}: {e}", wl.name);
            }
        }
    }
    Ok(ok)
}
