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
}

impl Default for BenchConfig {
    fn default() -> Self {
        Self {
            warmup: 2,
            min_runs: 10,
            min_time: Duration::from_secs(1),
            max_time: Duration::from_secs(15),
            floor_runs: 3,
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
            let g = params.geometry(input)?;
            let x = Tensor::from_slice(device, &ramp(input.iter().product()), input)?;
            let params = *params;
            Ok(Prepared {
                flops: None,
                bytes: Some(
                    4.0 * (input.iter().product::<usize>()
                        + g.output_shape().iter().product::<usize>())
                        as f64,
                ),
                run: Box::new(move || crate::max_pool2d(&x, &params)),
            })
        }
        WorkloadKind::AvgPool2d { input, params } => {
            let g = params.geometry(input)?;
            let x = Tensor::from_slice(device, &ramp(input.iter().product()), input)?;
            let params = *params;
            Ok(Prepared {
                flops: None,
                bytes: Some(
                    4.0 * (input.iter().product::<usize>()
                        + g.output_shape().iter().product::<usize>())
                        as f64,
                ),
                run: Box::new(move || crate::avg_pool2d(&x, &params)),
            })
        }
        WorkloadKind::Interpolate { input, params } => {
            let g = params.geometry(input)?;
            let x = Tensor::from_slice(device, &ramp(input.iter().product()), input)?;
            let params = *params;
            Ok(Prepared {
                flops: None,
                bytes: Some(
                    4.0 * (input.iter().product::<usize>()
                        + g.output_shape().iter().product::<usize>())
                        as f64,
                ),
                run: Box::new(move || crate::interpolate(&x, &params)),
            })
        }
        WorkloadKind::Relu { input } => {
            let n: usize = input.iter().product();
            let x = Tensor::from_slice(device, &ramp(n), input)?;
            Ok(Prepared {
                flops: None,
                bytes: Some(2.0 * 4.0 * n as f64),
                run: Box::new(move || crate::relu(&x)),
            })
        }
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
    times.sort_by(f64::total_cmp);
    let median_ms = if times.len() % 2 == 1 {
        times[times.len() / 2]
    } else {
        (times[times.len() / 2 - 1] + times[times.len() / 2]) / 2.0
    };
    Ok(BenchResult {
        workload: wl.name.clone(),
        backend: device.backend().name().to_string(),
        adapter: device.name().to_string(),
        runs: times.len(),
        median_ms,
        min_ms: times[0],
        gpu_ms: None,
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
