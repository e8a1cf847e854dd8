//! Benchmarks of the workloads in `benches/workloads.json`: each op (and network) with
//! its inputs already on the device, a warm-up, then timed runs that each end with the
//! device idle (submit and wait). Reports medians, minimums and throughput.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::device::Device;
use crate::error::{Error, Result};
use crate::ops::conv2d::{Conv2dParams, Padding};
use crate::ops::pool2d::{AvgPool2dParams, MaxPool2dParams};
use crate::ops::upsample2d::{InterpolateMode, InterpolateParams};
use crate::tensor::Tensor;

/// The benchmark shapes built into the binary (a copy of the shared workloads file).
pub const WORKLOADS_JSON: &str = include_str!("../benches/workloads.json");

/// One benchmark workload.
#[derive(Clone, Debug)]
pub struct Workload {
    pub name: String,
    pub kind: WorkloadKind,
}

/// What a workload runs.
#[derive(Clone, Debug)]
pub enum WorkloadKind {
    Conv2d {
        input: Vec<usize>,
        weight: Vec<usize>,
        bias: bool,
        params: Conv2dParams,
    },
    MaxPool2d {
        input: Vec<usize>,
        params: MaxPool2dParams,
    },
    AvgPool2d {
        input: Vec<usize>,
        params: AvgPool2dParams,
    },
    Interpolate {
        input: Vec<usize>,
        params: InterpolateParams,
    },
    Relu {
        input: Vec<usize>,
    },
    /// A network: layers written as PyTorch calls (`conv2d(1, 32, 3, padding=1)`,
    /// `relu`, `max_pool2d(2)`, `interpolate(scale_factor=2, mode=bilinear, ...)`).
    Network {
        input: Vec<usize>,
        layers: Vec<String>,
    },
    /// A section this build cannot run yet (kept so that the table says so).
    Other {
        section: String,
    },
}

fn dims(v: &Value, what: &str) -> Result<Vec<usize>> {
    v.as_array()
        .and_then(|a| a.iter().map(|d| d.as_u64().map(|d| d as usize)).collect())
        .ok_or_else(|| Error::Format(format!("workload {what}: expected a list of sizes")))
}

fn pair(v: &Value, default: i64) -> [i64; 2] {
    match v {
        Value::Array(a) if a.len() == 2 => [
            a[0].as_i64().unwrap_or(default),
            a[1].as_i64().unwrap_or(default),
        ],
        Value::Number(n) => [n.as_i64().unwrap_or(default); 2],
        _ => [default; 2],
    }
}

/// Parses a workloads file.
///
/// # Errors
/// [`Error::Format`] for malformed JSON.
pub fn parse_workloads(json: &str) -> Result<Vec<Workload>> {
    let root: Value =
        serde_json::from_str(json).map_err(|e| Error::Format(format!("workloads: {e}")))?;
    let mut out = Vec::new();
    for section in [
        "conv2d",
        "max_pool2d",
        "avg_pool2d",
        "interpolate",
        "relu",
        "networks",
    ] {
        let Some(items) = root.get(section).and_then(Value::as_array) else {
            continue;
        };
        for item in items {
            let name = item["name"]
                .as_str()
                .ok_or_else(|| Error::Format(format!("{section}: a workload has no name")))?
                .to_string();
            let kind = match section {
                "conv2d" => WorkloadKind::Conv2d {
                    input: dims(&item["input"], &name)?,
                    weight: dims(&item["weight"], &name)?,
                    bias: item["bias"].as_bool().unwrap_or(false),
                    params: Conv2dParams {
                        stride: pair(&item["stride"], 1),
                        padding: Padding::Explicit(pair(&item["padding"], 0)),
                        dilation: pair(&item["dilation"], 1),
                        groups: item["groups"].as_i64().unwrap_or(1),
                        ..Conv2dParams::default()
                    },
                },
                "max_pool2d" => WorkloadKind::MaxPool2d {
                    input: dims(&item["input"], &name)?,
                    params: MaxPool2dParams {
                        kernel_size: pair(&item["kernel_size"], 1),
                        stride: Some(pair(&item["stride"], 1)),
                        padding: pair(&item["padding"], 0),
                        dilation: pair(&item["dilation"], 1),
                        ceil_mode: item["ceil_mode"].as_bool().unwrap_or(false),
                    },
                },
                "avg_pool2d" => WorkloadKind::AvgPool2d {
                    input: dims(&item["input"], &name)?,
                    params: AvgPool2dParams {
                        kernel_size: pair(&item["kernel_size"], 1),
                        stride: Some(pair(&item["stride"], 1)),
                        padding: pair(&item["padding"], 0),
                        ceil_mode: item["ceil_mode"].as_bool().unwrap_or(false),
                        count_include_pad: item["count_include_pad"].as_bool().unwrap_or(true),
                        divisor_override: item["divisor_override"].as_i64(),
                    },
                },
                "interpolate" => {
                    let floats = |v: &Value| -> Option<[f64; 2]> {
                        match v {
                            Value::Array(a) if a.len() == 2 => {
                                Some([a[0].as_f64()?, a[1].as_f64()?])
                            }
                            Value::Number(n) => n.as_f64().map(|f| [f, f]),
                            _ => None,
                        }
                    };
                    WorkloadKind::Interpolate {
                        input: dims(&item["input"], &name)?,
                        params: InterpolateParams {
                            size: floats(&item["size"]).map(|s| s.map(|v| v as i64)),
                            scale_factor: floats(&item["scale_factor"]),
                            mode: InterpolateMode::parse(
                                item["mode"].as_str().unwrap_or("nearest"),
                            )?,
                            align_corners: item["align_corners"].as_bool(),
                            recompute_scale_factor: None,
                        },
                    }
                }
                "relu" => WorkloadKind::Relu {
                    input: dims(&item["input"], &name)?,
                },
                "networks" => WorkloadKind::Network {
                    input: dims(&item["input"], &name)?,
                    layers: item["layers"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|l| l.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                },
                other => WorkloadKind::Other {
                    section: other.to_string(),
                },
            };
            out.push(Workload { name, kind });
        }
    }
    Ok(out)
}

/// The figures of one workload on one device.
#[derive(Clone, Debug)]
pub struct BenchResult {
    pub workload: String,
    pub backend: String,
    pub adapter: String,
    pub runs: usize,
    pub median_ms: f64,
    pub min_ms: f64,
    /// GPU time from timestamp queries, where the adapter has them.
    pub gpu_ms: Option<f64>,
    pub gflops: Option<f64>,
    pub gbps: Option<f64>,
}

impl BenchResult {
    /// The `--json` line.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "workload": self.workload,
            "backend": self.backend,
            "adapter": self.adapter,
            "median_ms": self.median_ms,
            "min_ms": self.min_ms,
            "gpu_ms": self.gpu_ms,
            "gflops": self.gflops,
            "gbps": self.gbps,
        })
    }
}

/// How long to measure: at least `min_runs` runs and `min_time`, but stop after
/// `max_time` once `floor_runs` runs are in.
#[derive(Clone, Copy, Debug)]
pub struct BenchConfig {
    pub warmup: usize,
    pub min_runs: usize,
    pub min_time: Duration,
    pub max_time: Duration,
    pub floor_runs: usize,
    /// Runs timed with timestamp queries.
    pub gpu_runs: usize,
}

impl Default for BenchConfig {
    fn default() -> Self {
        Self {
            warmup: 2,
            min_runs: 10,
            min_time: Duration::from_secs(1),
            max_time: Duration::from_secs(15),
            floor_runs: 3,
            gpu_runs: 5,
        }
    }
}

/// A prepared workload: inputs on the device and a closure that runs it once.
struct Prepared<'a> {
    run: Box<dyn FnMut() -> Result<Tensor> + 'a>,
    flops: Option<f64>,
    bytes: Option<f64>,
}

fn ramp(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect()
}

/// A memory-bound op on one input: its throughput counts one read of the input and one
/// write of the output.
fn memory_bound<'a>(
    device: &'a Device,
    input: &[usize],
    output: &[usize],
    op: impl Fn(&Tensor) -> Result<Tensor> + 'a,
) -> Result<Prepared<'a>> {
    let n: usize = input.iter().product();
    let x = Tensor::from_slice(device, &ramp(n), input)?;
    Ok(Prepared {
        flops: None,
        bytes: Some(4.0 * (n + output.iter().product::<usize>()) as f64),
        run: Box::new(move || op(&x)),
    })
}

fn prepare<'a>(device: &'a Device, wl: &Workload) -> Result<Prepared<'a>> {
    match &wl.kind {
        WorkloadKind::Conv2d {
            input,
            weight,
            bias,
            params,
        } => {
            let geo = params.geometry(input, weight, bias.then_some(&weight[..1]))?;
            let x = Tensor::from_slice(device, &ramp(input.iter().product()), input)?;
            let w = Tensor::from_slice(device, &ramp(weight.iter().product()), weight)?;
            let b = match bias {
                true => Some(Tensor::from_slice(device, &ramp(weight[0]), &weight[..1])?),
                false => None,
            };
            let params = *params;
            Ok(Prepared {
                flops: Some(2.0 * geo.macs() as f64),
                bytes: None,
                run: Box::new(move || crate::conv2d(&x, &w, b.as_ref(), &params)),
            })
        }
        WorkloadKind::MaxPool2d { input, params } => {
            let (p, out) = (*params, params.geometry(input)?.output_shape());
            memory_bound(device, input, &out, move |x| crate::max_pool2d(x, &p))
        }
        WorkloadKind::AvgPool2d { input, params } => {
            let (p, out) = (*params, params.geometry(input)?.output_shape());
            memory_bound(device, input, &out, move |x| crate::avg_pool2d(x, &p))
        }
        WorkloadKind::Interpolate { input, params } => {
            let (p, out) = (*params, params.geometry(input)?.output_shape());
            memory_bound(device, input, &out, move |x| crate::interpolate(x, &p))
        }
        WorkloadKind::Relu { input } => memory_bound(device, input, input, crate::relu),
        WorkloadKind::Network { input, layers } => {
            let net = build_network(device, layers)?;
            let x = Tensor::from_slice(device, &ramp(input.iter().product()), input)?;
            Ok(Prepared {
                flops: Some(2.0 * net.macs(input)? as f64),
                bytes: None,
                run: Box::new(move || net.forward(&x)),
            })
        }
        WorkloadKind::Other { section } => Err(Error::Unsupported(format!(
            "{section} workloads are not in this build"
        ))),
    }
}

/// The workload's inputs (and weights) on `device`, and a closure that records one run
/// of it (the caller syncs).
///
/// # Errors
/// [`Error::Unsupported`] for a workload kind this build lacks; the op's errors.
pub fn prepare_workload<'a>(
    device: &'a Device,
    wl: &Workload,
) -> Result<Box<dyn FnMut() -> Result<Tensor> + 'a>> {
    Ok(prepare(device, wl)?.run)
}

/// The median of `values` (sorted in place).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Runs one workload on `device`.
///
/// # Errors
/// [`Error::Unsupported`] for a workload kind this build lacks; the op's errors.
pub fn run_workload(device: &Device, wl: &Workload, config: &BenchConfig) -> Result<BenchResult> {
    let mut prepared = prepare(device, wl)?;
    device.sync()?;
    for _ in 0..config.warmup {
        drop((prepared.run)()?);
        device.sync()?;
    }
    let mut times = Vec::new();
    let start = Instant::now();
    loop {
        let t0 = Instant::now();
        let out = (prepared.run)()?;
        device.sync()?;
        times.push(t0.elapsed().as_secs_f64() * 1e3);
        drop(out);
        let elapsed = start.elapsed();
        let enough = times.len() >= config.min_runs && elapsed >= config.min_time;
        let too_long = elapsed >= config.max_time && times.len() >= config.floor_runs;
        if enough || too_long {
            break;
        }
    }
    // GPU time from timestamp queries, in runs of their own (reading the queries back
    // costs wall time that the runs above should not carry)
    let mut gpu_times = Vec::new();
    for _ in 0..config.gpu_runs {
        match device.time_gpu(|| (prepared.run)())? {
            (out, Some(ms)) => {
                gpu_times.push(ms);
                drop(out);
            }
            (_, None) => break,
        }
    }
    let median_ms = median(&mut times);
    Ok(BenchResult {
        workload: wl.name.clone(),
        backend: device.backend().name().to_string(),
        adapter: device.name().to_string(),
        runs: times.len(),
        median_ms,
        min_ms: times.iter().copied().fold(f64::INFINITY, f64::min),
        gpu_ms: (!gpu_times.is_empty()).then(|| median(&mut gpu_times)),
        gflops: prepared.flops.map(|f| f / median_ms / 1e6),
        gbps: prepared.bytes.map(|b| b / median_ms / 1e6),
    })
}

/// Splits `name(a, b, k=v)` into the name and its arguments.
fn call_parts(text: &str) -> (String, Vec<String>) {
    let text = text.trim();
    match text.split_once('(') {
        None => (text.to_string(), Vec::new()),
        Some((name, rest)) => {
            let args = rest.trim_end_matches(')');
            let parts = args
                .split(',')
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect();
            (name.trim().to_string(), parts)
        }
    }
}

/// Builds a workload network with deterministic weights (a ramp scaled by the fan-in,
/// so activations stay in range through every layer).
///
/// # Errors
/// [`Error::Format`] for a layer this parser does not know.
pub fn build_network(device: &Device, layers: &[String]) -> Result<crate::nn::Sequential> {
    use crate::nn::{Conv2d, Layer, Sequential};
    let mut net = Sequential::new();
    for text in layers {
        let (name, args) = call_parts(text);
        let (positional, keywords): (Vec<&String>, Vec<&String>) =
            args.iter().partition(|a| !a.contains('='));
        let kw = |key: &str| {
            keywords.iter().find_map(|a| {
                let (k, v) = a.split_once('=')?;
                (k.trim() == key).then(|| v.trim().to_string())
            })
        };
        let int = |s: &str| {
            s.parse::<i64>().map_err(|_| {
                Error::Format(format!("workload layer '{text}': '{s}' is not an integer"))
            })
        };
        let layer = match name.as_str() {
            "conv2d" => {
                let [c_in, c_out, k] = match positional[..] {
                    [a, b, c] => [int(a)? as usize, int(b)? as usize, int(c)? as usize],
                    _ => {
                        return Err(Error::Format(format!(
                            "workload layer '{text}': expected conv2d(in, out, k)"
                        )));
                    }
                };
                let fan_in = (c_in * k * k) as f32;
                let w: Vec<f32> = ramp(c_out * c_in * k * k)
                    .into_iter()
                    .map(|v| v / fan_in.sqrt())
                    .collect();
                let b: Vec<f32> = ramp(c_out).into_iter().map(|v| v * 0.1).collect();
                let params = Conv2dParams::default()
                    .padding(kw("padding").map(|p| int(&p)).transpose()?.unwrap_or(0));
                Layer::Conv2d(Conv2d::new(
                    Tensor::from_slice(device, &w, &[c_out, c_in, k, k])?,
                    Some(Tensor::from_slice(device, &b, &[c_out])?),
                    params,
                )?)
            }
            "relu" => Layer::ReLU { inplace: true },
            "max_pool2d" => {
                let k = positional.first().map(|a| int(a)).transpose()?.unwrap_or(2);
                Layer::MaxPool2d(MaxPool2dParams::new(k))
            }
            "interpolate" => {
                let scale: f64 = kw("scale_factor")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(2.0);
                let mode = InterpolateMode::parse(
                    &kw("mode")
                        .unwrap_or_else(|| "nearest".into())
                        .replace(['"', '\''], ""),
                )?;
                let mut p = InterpolateParams::scale(scale, mode);
                if mode == InterpolateMode::Bilinear {
                    p.align_corners =
                        Some(kw("align_corners").is_some_and(|v| v == "True" || v == "true"));
                }
                Layer::Upsample(p)
            }
            other => {
                return Err(Error::Format(format!(
                    "workload layer '{other}' is not known"
                )));
            }
        };
        net = net.push(layer);
    }
    Ok(net)
}

/// Mirror of `RoofParams` in shaders/roofline.wgsl; keep field order in sync.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct RoofParams {
    count: u32,
    _pad: [u32; 3],
}

/// What an adapter can do at most, measured by the project's own kernels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Roofline {
    /// Peak FP32 rate, independent vec4 FMA chains (GFLOP/s, 2 per multiply-add).
    pub fma_gflops: f64,
    /// `copy_buffer_to_buffer` of 64 MiB, read + write counted (GB/s).
    pub copy_gbps: f64,
    /// A vec4-per-invocation copy shader, read + write counted (GB/s).
    pub shader_copy_gbps: f64,
    /// One tiny dispatch + submit + wait (microseconds).
    pub dispatch_us: f64,
    /// Each further tiny dispatch in the same pass (microseconds).
    pub extra_dispatch_us: f64,
}

impl Roofline {
    /// The `--json` line.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "roofline": true,
            "fma_gflops": self.fma_gflops,
            "copy_gbps": self.copy_gbps,
            "shader_copy_gbps": self.shader_copy_gbps,
            "dispatch_us": self.dispatch_us,
            "extra_dispatch_us": self.extra_dispatch_us,
        })
    }

    /// A result as a share of this roof: compute against the FMA peak, memory-bound
    /// ops against `copy_buffer_to_buffer`.
    pub fn percent(&self, r: &BenchResult) -> Option<f64> {
        match (r.gflops, r.gbps) {
            (Some(g), _) => Some(100.0 * g / self.fma_gflops),
            (None, Some(b)) => Some(100.0 * b / self.copy_gbps),
            _ => None,
        }
    }
}

/// The best of `runs` timings of `f` (each ending with the device idle), in seconds.
fn best_of(device: &Device, runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        device.sync()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// Measures the adapter's roof (see [`Roofline`]).
///
/// # Errors
/// [`Error::Unsupported`] on the CPU path; device errors.
pub fn roofline(device: &Device) -> Result<Roofline> {
    use crate::device::{Bind, DeviceKind};
    use crate::shaders::{Shader, Slot};
    let DeviceKind::Gpu(gpu) = device.kind() else {
        return Err(Error::Unsupported(
            "the roofline of the CPU reference path".into(),
        ));
    };
    const LAYOUT: &[(u32, Slot)] = &[(0, Slot::Read), (1, Slot::ReadWrite), (2, Slot::Uniform)];
    let bytes: u64 = 64 << 20;
    let elems = (bytes / 4) as usize;
    let a = Tensor::zeros(device, &[elems])?;
    let b = Tensor::zeros(device, &[elems])?;
    let (ab, bb) = (
        a.gpu_buffer().expect("non-empty"),
        b.gpu_buffer().expect("non-empty"),
    );

    // peak FMA rate: enough invocations to fill every core, steps to last ~50 ms
    let fma = gpu.pipeline(Shader::Roofline, "fma_peak", LAYOUT)?;
    let invocations: u64 = 64 * 1024;
    let run_fma = |steps: u32| -> Result<f64> {
        let p = RoofParams {
            count: steps,
            _pad: [0; 3],
        };
        best_of(device, 3, || {
            let binds = [Bind::at(0, ab, 0, 16), Bind::at(1, bb, 0, invocations * 16)];
            gpu.dispatch(
                &fma,
                &binds,
                bytemuck::bytes_of(&p),
                [(invocations / 64) as u32, 1, 1],
            )
        })
    };
    let probe = run_fma(64)?;
    let steps = ((0.05 / probe.max(1e-6)) * 64.0).clamp(64.0, 1e6) as u32;
    let t = run_fma(steps)?;
    let fma_gflops = invocations as f64 * f64::from(steps) * 64.0 / t / 1e9;

    // shader copy, vec4 per invocation
    let copy = gpu.pipeline(Shader::Roofline, "copy_vec4", LAYOUT)?;
    let n4 = bytes / 16;
    let p = RoofParams {
        count: n4 as u32,
        _pad: [0; 3],
    };
    let t = best_of(device, 5, || {
        let binds = [Bind::at(0, ab, 0, bytes), Bind::at(1, bb, 0, bytes)];
        gpu.dispatch(
            &copy,
            &binds,
            bytemuck::bytes_of(&p),
            gpu.grid(n4.div_ceil(256))?,
        )
    })?;
    let shader_copy_gbps = 2.0 * bytes as f64 / t / 1e9;

    // copy_buffer_to_buffer
    let t = best_of(device, 5, || gpu.copy(ab, 0, bb, 0, bytes))?;
    let copy_gbps = 2.0 * bytes as f64 / t / 1e9;

    // one tiny dispatch + submit + wait, and each further one in the same pass
    let tiny = RoofParams {
        count: 1,
        _pad: [0; 3],
    };
    let tiny_binds = || [Bind::at(0, ab, 0, 16), Bind::at(1, bb, 0, 16)];
    let one = best_of(device, 50, || {
        gpu.dispatch(&copy, &tiny_binds(), bytemuck::bytes_of(&tiny), [1, 1, 1])
    })?;
    let many = best_of(device, 10, || {
        for _ in 0..100 {
            gpu.dispatch(&copy, &tiny_binds(), bytemuck::bytes_of(&tiny), [1, 1, 1])?;
        }
        Ok(())
    })?;
    Ok(Roofline {
        fma_gflops,
        copy_gbps,
        shader_copy_gbps,
        dispatch_us: one * 1e6,
        extra_dispatch_us: (many - one) / 99.0 * 1e6,
    })
}
