//! The `wgcnn` command line: a thin layer over the library.

mod models;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use wgcnn::fixture::{self, Fixture, Verdict};
use wgcnn::{BackendKind, Device, DeviceOptions};

use wgcnn_cli::report::{self, Report, ReportError};
use wgcnn_cli::{builtin, picture, plot};

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

/// Which device a command runs on.
#[derive(clap::Args)]
struct DeviceArgs {
    /// vulkan, gl, metal, dx12 or cpu (default: WGCNN_BACKEND, else the best adapter).
    #[arg(long)]
    backend: Option<String>,
    /// Only adapters whose name contains this.
    #[arg(long)]
    adapter: Option<String>,
}

impl DeviceArgs {
    fn open(self) -> wgcnn::Result<Device> {
        Device::new(&self.options()?)
    }

    fn options(self) -> wgcnn::Result<DeviceOptions> {
        Ok(DeviceOptions {
            backend: self.backend.map(|b| BackendKind::parse(&b)).transpose()?,
            adapter: self.adapter,
            ..DeviceOptions::default()
        })
    }
}

/// `wgcnn bench`: what to time, and what to do with the results.
#[derive(clap::Args)]
struct BenchArgs {
    /// vulkan, gl, metal, dx12 or cpu (default: WGCNN_BACKEND, else the best adapter).
    #[arg(long)]
    backend: Option<String>,
    /// Only adapters whose name contains this.
    #[arg(long)]
    adapter: Option<String>,
    /// A workloads file (default: the one built into this binary).
    #[arg(long)]
    workloads: Option<PathBuf>,
    /// Only these workloads (comma-separated names); with --compare or --from, only
    /// these of the reports.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// One JSON object per workload instead of a table.
    #[arg(long)]
    json: bool,
    /// Measure the adapter's roof first (FMA peak, copy bandwidth, dispatch cost)
    /// and show each workload as a share of it.
    #[arg(long)]
    roofline: bool,
    /// Also write the results as one JSON report: adapter, driver, backend, crate
    /// version, date, the roof (null unless measured) and every run's time.
    #[arg(long, value_name = "FILE.json")]
    save: Option<PathBuf>,
    /// Also draw the roofline chart (PNG or SVG, by extension): one point per
    /// workload under the measured roofs. Measures the roof, as --roofline does.
    #[arg(long, value_name = "FILE.png|svg")]
    plot: Option<PathBuf>,
    /// Draw --plot from a saved report instead of running the workloads.
    #[arg(long, value_name = "FILE.json", requires = "plot",
          conflicts_with_all = ["save", "roofline", "json", "backend", "adapter", "workloads"])]
    from: Option<PathBuf>,
    /// Compare two saved reports instead of running: each workload's median in both,
    /// the ratio B/A, whether the change is beyond both reports' spread of runs, and the
    /// geometric mean of the ratios.
    #[arg(long, num_args = 2, value_names = ["A.json", "B.json"],
          conflicts_with_all = ["save", "plot", "from", "roofline", "json", "backend", "adapter", "workloads"])]
    compare: Vec<PathBuf>,
    /// Also run each workload autotuned (WGCNN_AUTOTUNE=on on a second device of the
    /// adapter) and with the hand rules, a run of each in turn: both medians, their
    /// ratio, and the time the first run spent tuning.
    #[arg(long)]
    autotune: bool,
    /// For whole networks, also time every step alone (its op on inputs of its
    /// shapes) and show the sum of their medians beside the network's median.
    #[arg(long)]
    steps: bool,
    /// The types to time each workload in (comma-separated: f32, f16): inputs,
    /// weights and activations all of it. f16 rows are named `<workload>.f16`.
    #[arg(long, default_value = "f32", value_delimiter = ',')]
    precision: Vec<String>,
}

/// What `wgcnn bench` fails with.
#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error(transparent)]
    Wgcnn(#[from] wgcnn::Error),
    #[error(transparent)]
    Report(#[from] ReportError),
}

#[derive(Subcommand)]
enum Command {
    /// List every adapter: backend, name, type, driver, limits and features.
    Devices,
    /// Write every WGSL source as the devices compile it (the declarations the crate
    /// writes in Rust, then the file) into a folder, for another WGSL compiler.
    Shaders {
        /// The folder (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
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
        /// Run every case in this type: f32 cases in f16 have their inputs rounded to
        /// f16 and are judged against their answer rounded to f16 (exactly for the
        /// selection ops). Default: each case's own (f16 for a half-precision case).
        #[arg(long)]
        precision: Option<String>,
    },
    /// Time every workload on one adapter (or the CPU reference); save, compare and
    /// draw the results.
    Bench(BenchArgs),
    /// Run a model file (ONNX, or the Sequential format) on images or safetensors
    /// inputs and print the top classes, or write the outputs.
    Infer {
        /// A model file: `.onnx` (torch.onnx.export), or scripts/export.py's format.
        model: PathBuf,
        /// Images (PNG/JPEG) or safetensors files holding a tensor `input`.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// How many classes to print per input.
        #[arg(long, default_value_t = 3)]
        top: usize,
        /// Write the outputs instead: to FILE.safetensors (the first output as tensor
        /// `output`, and each output under its name when there are several), or to
        /// `DIR/<input stem>.safetensors`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The type the model computes in: f32, or f16 (weights converted once at
        /// load, activations f16 through the network, sums in f32). Default: its
        /// inputs' type (f16 for an ONNX model exported in half, else f32).
        #[arg(long)]
        precision: Option<String>,
        #[command(flatten)]
        preprocess: models::PreprocessArgs,
        #[command(flatten)]
        device: DeviceArgs,
    },
    /// Describe a model file: inputs, outputs, op counts, parameters, multiply-adds,
    /// and every op wgcnn does not run.
    Inspect {
        /// A model file (`.onnx` or the Sequential format).
        model: PathBuf,
        /// The input shape to plan with (`1,3,224,224`); default: the declared one,
        /// with a batch of 1.
        #[arg(long)]
        shape: Option<String>,
    },
    /// Run a model on each backend and on the CPU reference and print, node by node,
    /// the largest absolute and relative difference, and the first node where a
    /// backend leaves the tolerance.
    Compare {
        /// A model file (`.onnx` or the Sequential format).
        model: PathBuf,
        /// An image or a safetensors file holding a tensor `input`.
        input: PathBuf,
        /// The backends to compare (comma-separated: vulkan, gl, metal, dx12; `all`).
        #[arg(long, default_value = "all", value_delimiter = ',')]
        backends: Vec<String>,
        /// The tolerance, relative to each node's largest magnitude.
        #[arg(long, default_value_t = 1e-4)]
        rtol: f64,
        #[command(flatten)]
        preprocess: models::PreprocessArgs,
    },
    /// Apply a classic filter kernel to a picture with wgcnn's conv2d.
    Filter {
        /// A PNG or JPEG picture.
        image: PathBuf,
        /// edge, sobel-x, sobel-y, sharpen, blur, emboss, or a file of k*k numbers.
        #[arg(long)]
        kernel: String,
        /// The filtered picture (PNG or JPEG, by extension).
        #[arg(long)]
        out: PathBuf,
        /// Filter the grey picture instead of each colour channel.
        #[arg(long)]
        grey: bool,
        #[command(flatten)]
        device: DeviceArgs,
    },
    /// Draw one layer's channels as a grid of tiles, each normalised on its own.
    Featuremaps {
        /// A model file (scripts/export.py).
        model: PathBuf,
        /// An image (PNG/JPEG) or a safetensors file holding a tensor `input`.
        input: PathBuf,
        /// The layer, by name or index.
        #[arg(long)]
        layer: String,
        /// The grid picture (PNG).
        #[arg(long)]
        out: PathBuf,
        /// Enlarge each tile this many times (default: to at least 48 pixels).
        #[arg(long)]
        scale: Option<usize>,
        #[command(flatten)]
        device: DeviceArgs,
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
        /// Run every call in this type (as `wgcnn check --precision`).
        #[arg(long)]
        precision: Option<String>,
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
        Some(Command::Shaders { out }) => write_shaders(&out),
        Some(Command::Check {
            paths,
            backend,
            adapter,
            json,
            precision,
        }) => parse_precision(precision.as_deref())
            .and_then(|p| check(&paths, (&backend, adapter), json, p)),
        Some(Command::Bench(args)) => return exit_code(bench(args)),
        Some(Command::Infer {
            model,
            inputs,
            top,
            out,
            precision,
            preprocess,
            device,
        }) => parse_precision(precision.as_deref()).and_then(|precision| {
            let d = device.open()?;
            let run = models::Run {
                top,
                out: out.as_deref(),
                precision,
            };
            models::infer(&model, &inputs, &run, &preprocess, &d)
        }),
        Some(Command::Inspect { model, shape }) => models::inspect(&model, shape.as_deref()),
        Some(Command::Compare {
            model,
            input,
            backends,
            rtol,
            preprocess,
        }) => compare_devices(&backends)
            .and_then(|devices| models::compare(&model, &input, &devices, &preprocess, rtol)),
        Some(Command::Filter {
            image,
            kernel,
            out,
            grey,
            device,
        }) => filter(&image, &kernel, &out, grey, device),
        Some(Command::Featuremaps {
            model,
            input,
            layer,
            out,
            scale,
            device,
        }) => featuremaps(&model, &input, &layer, &out, scale, device),
        Some(Command::Run {
            files,
            backend,
            adapter,
            out_dir,
            precision,
        }) => parse_precision(precision.as_deref())
            .and_then(|p| run(&files, DeviceArgs { backend, adapter }, &out_dir, p)),
    };
    exit_code(result)
}

/// 0 for success, 1 for a failed check, 2 for an error (printed).
fn exit_code(result: Result<bool, impl std::fmt::Display>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("wgcnn: {e}");
            ExitCode::from(2)
        }
    }
}

/// `wgcnn shaders --out DIR`: `DIR/<file>.wgsl` for every shader in every element
/// form (`<file>.f16.wgsl`, `<file>.f16packed.wgsl`), as compiled.
fn write_shaders(out: &std::path::Path) -> wgcnn::Result<bool> {
    use wgcnn::kernels::shaders::Shader;
    let io = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| wgcnn::Error::Io { path, source }
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    for &shader in Shader::ALL {
        for elem in wgcnn::dtype::Elem::ALL {
            let path = out.join(shader.label_for(elem));
            std::fs::write(&path, shader.source_for(elem)).map_err(io(&path))?;
            println!("{}", path.display());
        }
    }
    Ok(true)
}

/// `wgcnn` with no arguments: the devices, then the built-in check on every backend.
fn default_job() -> wgcnn::Result<bool> {
    print_devices();
    println!();
    check(&[], ("all", None), false, None)
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
        return match adapter {
            None => Ok(all),
            Some(f) => {
                let chosen: Vec<Device> = all
                    .into_iter()
                    .filter(|d| d.name().to_lowercase().contains(&f.to_lowercase()))
                    .collect();
                if chosen.is_empty() {
                    return Err(wgcnn::Error::NoAdapter(format!(
                        "no adapter matching '{f}' (wgcnn devices lists them)"
                    )));
                }
                Ok(chosen)
            }
        };
    }
    let kind = BackendKind::parse(backend)?;
    Ok(vec![Device::new(&DeviceOptions {
        backend: Some(kind),
        adapter,
        ..DeviceOptions::default()
    })?])
}

/// The fixtures of `paths` (the built-in set when none), each file read on its own: a
/// file that cannot be read is an error naming it, and the others still run.
fn load_all(paths: &[PathBuf]) -> wgcnn::Result<Vec<Result<Fixture, String>>> {
    if paths.is_empty() {
        return Ok(builtin::fixtures()?.into_iter().map(Ok).collect());
    }
    Ok(fixture::collect(paths)?
        .iter()
        .map(|p| Fixture::load(p).map_err(|e| format!("{}: {e}", p.display())))
        .collect())
}

/// A progress line on stderr, when stderr is a terminal (never in a pipe or a log).
fn progress(line: std::fmt::Arguments<'_>) {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        eprint!("\r{line}\x1b[K");
    }
}

/// Clears the progress line.
fn clear_progress() {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[K");
    }
}

/// `--precision`'s type, if given.
fn parse_precision(p: Option<&str>) -> wgcnn::Result<Option<wgcnn::DType>> {
    p.map(wgcnn::DType::parse).transpose()
}

fn check(
    paths: &[PathBuf],
    (backend, adapter): (&str, Option<String>),
    json: bool,
    precision: Option<wgcnn::DType>,
) -> wgcnn::Result<bool> {
    let (fixtures, unreadable): (Vec<_>, Vec<_>) =
        load_all(paths)?.into_iter().partition(Result::is_ok);
    let fixtures: Vec<Fixture> = fixtures
        .into_iter()
        .flatten()
        .map(|f| match precision {
            Some(p) => f.in_precision(p),
            None => f,
        })
        .collect();
    for e in unreadable.iter().filter_map(|r| r.as_ref().err()) {
        eprintln!("wgcnn: {e}");
    }
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
                progress(format_args!(
                    "[{}/{total}] {} on {}",
                    passed + failed + 1,
                    fx.name,
                    device.backend()
                ));
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
                clear_progress();
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
    // a file that could not be read fails on every device it would have run on
    failed += unreadable.len() * devices.len();
    if !json {
        let backends: Vec<&str> = devices.iter().map(|d| d.backend().name()).collect();
        println!(
            "\n{passed} passed, {failed} failed ({} fixtures on {})",
            fixtures.len() + unreadable.len(),
            backends.join(", ")
        );
    }
    Ok(failed == 0 && total > 0)
}

fn run(
    files: &[PathBuf],
    device: DeviceArgs,
    out_dir: &std::path::Path,
    precision: Option<wgcnn::DType>,
) -> wgcnn::Result<bool> {
    let device = device.open()?;
    std::fs::create_dir_all(out_dir).map_err(|source| wgcnn::Error::Io {
        path: out_dir.display().to_string(),
        source,
    })?;
    let paths = fixture::collect(files)?;
    let mut all_written = true;
    let mut stems = std::collections::HashSet::new();
    for path in &paths {
        let base = path
            .file_stem()
            .map_or_else(|| "fixture".into(), |s| s.to_string_lossy().into_owned());
        // two inputs of one name (from two folders) write two outputs: `a`, `a-2`
        let stem = (1..)
            .map(|i| match i {
                1 => base.clone(),
                i => format!("{base}-{i}"),
            })
            .find(|s| stems.insert(s.clone()))
            .expect("some suffix is free");
        let result = Fixture::load(path).and_then(|fx| match precision {
            Some(p) => fx.in_precision(p).run(&device),
            None => fx.run(&device),
        });
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

/// A saved report, keeping only the workloads of `--only` (all when empty).
fn load_report(path: &std::path::Path, only: &[String]) -> Result<Report, ReportError> {
    let mut r = Report::load(path)?;
    if !only.is_empty() {
        r.results.retain(|x| only.contains(&x.workload));
    }
    Ok(r)
}

fn bench(args: BenchArgs) -> Result<bool, BenchError> {
    use wgcnn::bench::{self, BenchConfig};
    if let [a, b] = &args.compare[..] {
        let (a, b) = (load_report(a, &args.only)?, load_report(b, &args.only)?);
        print!("{}", report::compare(&a, &b).table(&a, &b));
        return Ok(true);
    }
    if let (Some(from), Some(out)) = (&args.from, &args.plot) {
        plot::plot(&load_report(from, &args.only)?, out)?;
        eprintln!("wgcnn: {} -> {}", from.display(), out.display());
        return Ok(true);
    }
    let json = args.json;
    let text = match &args.workloads {
        Some(p) => std::fs::read_to_string(p).map_err(|source| wgcnn::Error::Io {
            path: p.display().to_string(),
            source,
        })?,
        None => bench::WORKLOADS_JSON.to_string(),
    };
    let mut all = bench::parse_workloads(&text)?;
    if args.workloads.is_none() {
        all.extend(bench::zoo_workloads());
    }
    if !args.only.is_empty() {
        all.retain(|w| args.only.iter().any(|o| o == &w.name));
    }
    let options = DeviceArgs {
        backend: args.backend,
        adapter: args.adapter,
    }
    .options()?;
    // with --autotune, the hand rules on one device and autotuning on another
    let lowerings = |autotune| wgcnn::Lowerings {
        autotune: Some(autotune),
        ..wgcnn::Lowerings::default()
    };
    let device = if args.autotune {
        Device::new(&options.clone().with(lowerings(wgcnn::Autotune::Off)))?
    } else {
        Device::new(&options)?
    };
    let tuned = if args.autotune {
        Some(Device::new(&options.with(lowerings(wgcnn::Autotune::On)))?)
    } else {
        None
    };
    let roof = if args.roofline || args.plot.is_some() {
        if !json {
            progress(format_args!("measuring the roofline..."));
        }
        match bench::roofline(&device) {
            Ok(r) => {
                print_roof(&device, &r, json);
                Some(r)
            }
            // the CPU path has no roof: its chart shows the points alone
            Err(wgcnn::Error::Unsupported(_)) if !args.roofline => {
                clear_progress();
                None
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    if !json {
        if roof.is_none() {
            println!("{} ({})", device.name(), device.backend());
        }
        println!(
            "{:<16} {:>6} {:>11} {:>11} {:>11} {:>9} {:>8}{}",
            "workload",
            "runs",
            "median ms",
            "min ms",
            "gpu ms",
            "GFLOP/s",
            "GB/s",
            if roof.is_some() { "   % roof" } else { "" }
        );
    }
    let fmt = |v: Option<f64>, prec: usize| v.map_or("-".to_string(), |v| format!("{v:.prec$}"));
    let mut ok = true;
    let mut results = Vec::new();
    let precisions = args
        .precision
        .iter()
        .map(|p| wgcnn::DType::parse(p))
        .collect::<wgcnn::Result<Vec<_>>>()?;
    let runs: Vec<(&bench::Workload, wgcnn::DType)> = all
        .iter()
        .flat_map(|wl| precisions.iter().map(move |&p| (wl, p)))
        .collect();
    for (i, &(wl, precision)) in runs.iter().enumerate() {
        if !json {
            progress(format_args!("[{}/{}] {}", i + 1, runs.len(), wl.name));
        }
        let config = BenchConfig {
            precision,
            ..BenchConfig::default()
        };
        let result = bench::run_workload(&device, wl, &config).and_then(|r| {
            // the step sums and autotuned figures are of f32
            let extra = match precision {
                wgcnn::DType::F32 => extra_figures(args.steps, tuned.as_ref(), &device, wl)?,
                _ => Extra::default(),
            };
            Ok((r, extra))
        });
        match result {
            Ok((r, extra)) if json => {
                let mut line = r.to_json();
                if let Some(roof) = &roof {
                    line["percent_of_roof"] = serde_json::json!(wgcnn::bench::roof_share(roof, &r));
                }
                if let (serde_json::Value::Object(line), serde_json::Value::Object(extra)) =
                    (&mut line, extra.to_json())
                {
                    line.extend(extra);
                }
                println!("{line}");
                results.push(r);
            }
            Ok((r, extra)) => {
                clear_progress();
                let percent = roof.as_ref().map_or(String::new(), |roof| {
                    format!(" {:>8}", fmt(wgcnn::bench::roof_share(roof, &r), 1))
                });
                println!(
                    "{:<16} {:>6} {:>11.3} {:>11.3} {:>11} {:>9} {:>8}{percent}",
                    r.workload,
                    r.runs,
                    r.median_ms,
                    r.min_ms,
                    fmt(r.gpu_ms, 3),
                    fmt(r.gflops, 1),
                    fmt(r.gbps, 2)
                );
                extra.print(&r);
                results.push(r);
            }
            Err(wgcnn::Error::Unsupported(msg)) => {
                if !json {
                    clear_progress();
                    println!("{:<16} skipped: {msg}", wl.name);
                }
            }
            Err(e) => {
                ok = false;
                clear_progress();
                eprintln!("{}: {e}", wl.name);
            }
        }
    }
    if args.save.is_some() || args.plot.is_some() {
        let driver = wgcnn::list_adapters()
            .into_iter()
            .find(|a| a.backend == device.backend() && a.name == device.name())
            .map(|a| a.driver);
        let report = Report {
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            date: report::utc_now(),
            adapter: device.name().to_string(),
            driver,
            backend: device.backend().name().to_string(),
            roof,
            results,
        };
        if let Some(path) = &args.save {
            report.save(path)?;
            eprintln!("wgcnn: report saved to {}", path.display());
        }
        if let Some(path) = &args.plot {
            plot::plot(&report, path)?;
            eprintln!("wgcnn: roofline chart written to {}", path.display());
        }
    }
    Ok(ok)
}

/// The figures `--steps` and `--autotune` add to a workload's row.
#[derive(Default)]
struct Extra {
    /// Steps of a whole network and the sum of their standalone medians.
    steps: Option<wgcnn::bench::StepSum>,
    /// The hand rules' and the autotuned medians, run in alternation, and the
    /// milliseconds and shapes tuning took.
    tuned: Option<(f64, f64, f64, u64)>,
}

impl Extra {
    fn print(&self, r: &wgcnn::bench::BenchResult) {
        if let Some(s) = &self.steps {
            println!(
                "  {} steps alone: {:.3} ms summed; the network takes {:.2}x that",
                s.steps,
                s.sum_ms,
                r.median_ms / s.sum_ms
            );
            let mut slowest: Vec<_> = s.results.iter().collect();
            slowest.sort_by(|a, b| b.median_ms.total_cmp(&a.median_ms));
            for step in slowest.iter().take(8) {
                let rate = match (step.gflops, step.gbps) {
                    (Some(g), _) => format!("{g:.1} GFLOP/s"),
                    (None, Some(b)) => format!("{b:.2} GB/s"),
                    (None, None) => String::new(),
                };
                println!(
                    "    {:<28} {:>9.3} ms  {:>5.1}%  {rate}",
                    step.workload,
                    step.median_ms,
                    100.0 * step.median_ms / s.sum_ms
                );
            }
        }
        if let Some((hand, median, tuning, shapes)) = self.tuned {
            println!(
                "  in alternation: hand rules {hand:.3} ms, autotuned {median:.3} ms ({:.2}x); \
                 tuning {shapes} shape(s) took {tuning:.0} ms",
                median / hand
            );
        }
    }

    fn to_json(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        if let Some(s) = &self.steps {
            out.insert("steps".into(), s.steps.into());
            out.insert("steps_sum_ms".into(), s.sum_ms.into());
            let each: Vec<serde_json::Value> = s
                .results
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "step": r.workload,
                        "median_ms": r.median_ms,
                        "gflops": r.gflops,
                        "gbps": r.gbps,
                    })
                })
                .collect();
            out.insert("step_results".into(), each.into());
        }
        if let Some((hand, median, tuning, shapes)) = self.tuned {
            out.insert("alternating_hand_median_ms".into(), hand.into());
            out.insert("autotuned_median_ms".into(), median.into());
            out.insert("tuning_ms".into(), tuning.into());
            out.insert("tuned_shapes".into(), shapes.into());
        }
        serde_json::Value::Object(out)
    }
}

/// Runs what `--steps` (`steps`) and `--autotune` (a `tuned` device) add for one
/// workload.
fn extra_figures(
    steps: bool,
    tuned: Option<&Device>,
    device: &Device,
    wl: &wgcnn::bench::Workload,
) -> wgcnn::Result<Extra> {
    use wgcnn::bench::{self, BenchConfig, WorkloadKind};
    let mut extra = Extra::default();
    if steps && matches!(wl.kind, WorkloadKind::Graph { .. }) {
        let quick = BenchConfig {
            warmup: 1,
            min_runs: 5,
            min_time: std::time::Duration::ZERO,
            max_time: std::time::Duration::from_secs(2),
            floor_runs: 3,
            gpu_runs: 0,
            precision: wgcnn::DType::F32,
        };
        extra.steps = Some(bench::run_steps(device, wl, &quick)?);
    }
    if let Some(tuned) = tuned {
        let before = wgcnn::autotune_stats();
        let pair = bench::run_alternating(&[device, tuned], wl, &BenchConfig::default())?;
        let after = wgcnn::autotune_stats();
        extra.tuned = Some((
            pair[0].median_ms,
            pair[1].median_ms,
            after.tuning_ms - before.tuning_ms,
            after.tuned - before.tuned,
        ));
    }
    Ok(extra)
}

/// The roof: one `--json` line, or its lines above the table.
fn print_roof(device: &Device, r: &wgcnn::bench::Roofline, json: bool) {
    if json {
        println!("{}", r.to_json());
        return;
    }
    clear_progress();
    println!("{} ({})", device.name(), device.backend());
    println!(
        "  FP32 FMA peak (vec4 chains):          {:8.1} GFLOP/s",
        r.fma_gflops
    );
    println!(
        "  copy_buffer_to_buffer (read + write): {:8.2} GB/s",
        r.copy_gbps
    );
    println!(
        "  vec4 copy shader (read + write):      {:8.2} GB/s",
        r.shader_copy_gbps
    );
    println!(
        "  dispatch + submit + wait:             {:8.1} us",
        r.dispatch_us
    );
    println!(
        "  each further dispatch in the pass:    {:8.1} us",
        r.extra_dispatch_us
    );
    println!();
}

/// An input file as a model's input: an image (preprocessed as the model asks) or a
/// safetensors file's tensor `input` (or its only tensor).
/// The devices of `wgcnn compare --backends`.
fn compare_devices(backends: &[String]) -> wgcnn::Result<Vec<Device>> {
    let mut devices = Vec::new();
    for b in backends {
        devices.extend(devices_for(b, None)?);
    }
    Ok(devices)
}

fn filter(
    image: &std::path::Path,
    kernel: &str,
    out: &std::path::Path,
    grey: bool,
    device: DeviceArgs,
) -> wgcnn::Result<bool> {
    let device = device.open()?;
    let channels = if grey { 1 } else { 3 };
    let (data, shape) = picture::load_image(image, channels, None)?;
    let (k, size) = picture::filter_kernel(kernel)?;
    let x = wgcnn::Tensor::from_slice(&device, &data, &shape)?;
    let y = picture::apply_filter(&x, &k, size)?;
    picture::save_image(out, &y.to_vec()?, channels, shape[2], shape[3])?;
    println!(
        "{} ({}x{}, {kernel}, on {}) -> {}",
        image.display(),
        shape[3],
        shape[2],
        device.backend(),
        out.display()
    );
    Ok(true)
}

fn featuremaps(
    model_path: &std::path::Path,
    input: &std::path::Path,
    layer: &str,
    out: &std::path::Path,
    scale: Option<usize>,
    device: DeviceArgs,
) -> wgcnn::Result<bool> {
    let device = device.open()?;
    let model = wgcnn::nn::Sequential::load(model_path, &device)?;
    let mut x = models::load_input(
        input,
        &model.metadata,
        &models::PreprocessArgs::default(),
        &device,
    )?;
    if x.shape().len() == 4 && x.shape()[0] > 1 {
        // one image: the first of the batch
        let s = x.shape().to_vec();
        let first = x.to_vec()?[..s[1] * s[2] * s[3]].to_vec();
        x = wgcnn::Tensor::from_slice(&device, &first, &[1, s[1], s[2], s[3]])?;
    }
    let (_, maps) = model.forward_capture(&x, &[layer])?;
    let maps = &maps[0];
    let h = maps
        .shape()
        .get(maps.shape().len().saturating_sub(2))
        .copied()
        .unwrap_or(1)
        .max(1);
    let scale = scale.unwrap_or_else(|| 48usize.div_ceil(h).max(1));
    let (grid, gh, gw) = picture::feature_grid(maps, scale)?;
    picture::save_image(out, &grid, 1, gh, gw)?;
    println!(
        "layer {layer} {:?} -> {} ({gw}x{gh})",
        maps.shape(),
        out.display()
    );
    Ok(true)
}
