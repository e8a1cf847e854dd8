//! Benchmarks of the workloads in `benches/workloads.json`: each op (and network) with
//! its inputs already on the device, a warm-up, then timed runs that each end with the
//! device idle (submit and wait). Reports medians, minimums, every run's time, throughput,
//! and each workload's arithmetic and unavoidable traffic for a roofline. Workloads
//! are read with the op registry and keyword parser that fixtures and model files use
//! ([`Op::from_kwargs`]), networks through the model format ([`Sequential::from_layers`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::device::Device;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::nn::{Layer, Sequential};
use crate::op::kwargs::Kwargs;
use crate::op::{Op, OpKind};
use crate::tensor::Tensor;
use crate::tensor_file::HostTensor;

pub use crate::kernels::roofline::{Roofline, roofline};

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
    /// One op on inputs of these shapes (in [`OpKind::inputs`] order, `None` for an
    /// absent optional input).
    Op {
        op: Op,
        inputs: Vec<Option<Vec<usize>>>,
    },
    /// A network: layers written as PyTorch calls (`conv2d(1, 32, 3, padding=1)`,
    /// `relu`, `max_pool2d(2)`, `interpolate(scale_factor=2, mode=bilinear, ...)`).
    Network {
        input: Vec<usize>,
        layers: Vec<String>,
    },
    /// A whole network of the model zoo ([`crate::model::zoo`]), built with
    /// deterministic random weights and run as a graph model (BatchNorm folded, relu
    /// fused), on this input.
    Graph {
        network: &'static str,
        input: Vec<usize>,
    },
    /// A section this build cannot run yet (kept so that the table says so).
    Other { section: String },
}

impl WorkloadKind {
    /// The shape of the first input.
    pub fn input(&self) -> Option<&[usize]> {
        match self {
            WorkloadKind::Op { inputs, .. } => inputs.first().and_then(Option::as_deref),
            WorkloadKind::Network { input, .. } | WorkloadKind::Graph { input, .. } => Some(input),
            WorkloadKind::Other { .. } => None,
        }
    }
}

fn dims(v: &Value, what: &str) -> Result<Vec<usize>> {
    v.as_array()
        .and_then(|a| a.iter().map(|d| d.as_u64().map(|d| d as usize)).collect())
        .ok_or_else(|| Error::Format(format!("workload {what}: expected a list of sizes")))
}

/// The sections of a workloads file, in order; each op section is named as its op.
const SECTIONS: [&str; 6] = [
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "interpolate",
    "relu",
    "networks",
];

/// The workload `item` of the op section `section`: its tensors' shapes (`input`,
/// `weight`, and `bias: true` for a bias of `[c_out]`), the rest its keyword arguments.
fn op_workload(section: &str, name: &str, item: &Map<String, Value>) -> Result<WorkloadKind> {
    let field = |key: &str| item.get(key).unwrap_or(&Value::Null);
    let input = dims(field("input"), name)?;
    let op = Op::from_kwargs(section, Kwargs(item), &input)?;
    let inputs = match op.kind() {
        OpKind::Conv2d | OpKind::ConvTranspose2d | OpKind::Linear => {
            let weight = dims(field("weight"), name)?;
            // a weight of no dimensions has no c_out: its check names the weight
            let bias = (Kwargs(item).flag(op.name(), "bias")? == Some(true))
                .then(|| weight.first().map(|&c_out| vec![c_out]))
                .flatten();
            vec![Some(input), Some(weight), bias]
        }
        _ => vec![Some(input)],
    };
    Ok(WorkloadKind::Op { op, inputs })
}

/// The whole networks of the model zoo at batch 1 (`resnet18`, `mobilenet_v2`,
/// `efficientnet_b0` at 224 x 224, `unet` at 256 x 256), benchmarked after the
/// workloads file's own.
pub fn zoo_workloads() -> Vec<Workload> {
    crate::model::zoo::NETWORKS
        .iter()
        .map(|n| Workload {
            name: n.name.to_string(),
            kind: WorkloadKind::Graph {
                network: n.name,
                input: n.input.to_vec(),
            },
        })
        .collect()
}

/// Parses a workloads file.
///
/// # Errors
/// [`Error::Format`] for malformed JSON; the ops' parameter errors.
pub fn parse_workloads(json: &str) -> Result<Vec<Workload>> {
    let root: Value =
        serde_json::from_str(json).map_err(|e| Error::Format(format!("workloads: {e}")))?;
    let mut out = Vec::new();
    for section in SECTIONS {
        let Some(items) = root.get(section).and_then(Value::as_array) else {
            continue;
        };
        for item in items {
            let obj = item
                .as_object()
                .ok_or_else(|| Error::Format(format!("{section}: a workload is no object")))?;
            let name = item["name"]
                .as_str()
                .ok_or_else(|| Error::Format(format!("{section}: a workload has no name")))?
                .to_string();
            let kind = match section {
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
                _ if OpKind::from_name(section).is_some() => op_workload(section, &name, obj)?,
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
    /// Every timed run's wall time, in the order they ran (their spread is what a
    /// comparison of two reports measures changes against).
    pub times_ms: Vec<f64>,
    /// GPU time from timestamp queries, where the adapter has them.
    pub gpu_ms: Option<f64>,
    /// Multiply-adds (2 each) per second, for ops that have them.
    pub gflops: Option<f64>,
    /// One read of the input and one write of the output per second, for ops without
    /// multiply-adds.
    pub gbps: Option<f64>,
    /// The arithmetic of one run, for the roofline: 2 per multiply-add, or for an op
    /// without multiply-adds 1 per element it writes (a max, a mean, a blend).
    pub flops: f64,
    /// The memory traffic one run cannot avoid: every input and weight read once and
    /// the output written once (intermediates of a network not counted).
    pub bytes: f64,
}

impl BenchResult {
    /// Arithmetic intensity: [`BenchResult::flops`] per byte of [`BenchResult::bytes`].
    pub fn intensity(&self) -> f64 {
        self.flops / self.bytes
    }

    /// The achieved rate of [`BenchResult::flops`] at the median time, in GFLOP/s
    /// (the roofline's vertical axis).
    pub fn achieved_gflops(&self) -> f64 {
        self.flops / self.median_ms / 1e6
    }

    /// The `--json` line (and an entry of a saved report's `results`).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "workload": self.workload,
            "backend": self.backend,
            "adapter": self.adapter,
            "runs": self.runs,
            "median_ms": self.median_ms,
            "min_ms": self.min_ms,
            "times_ms": self.times_ms,
            "gpu_ms": self.gpu_ms,
            "gflops": self.gflops,
            "gbps": self.gbps,
            "flops": self.flops,
            "bytes": self.bytes,
            "intensity": self.intensity(),
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
    /// The type inputs, weights and activations are in. An f16 result's workload is
    /// named with `.f16` after it (`mnist_cnn.f16`), beside the f32 one.
    pub precision: DType,
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
            precision: DType::F32,
        }
    }
}

/// A prepared workload: inputs on the device and a closure that runs it once.
struct Prepared<'a> {
    run: Box<dyn FnMut() -> Result<Tensor> + 'a>,
    flops: Option<f64>,
    bytes: Option<f64>,
    /// Elements of every input and weight.
    read: usize,
}

fn ramp(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect()
}

fn prepare<'a>(device: &'a Device, wl: &Workload, precision: DType) -> Result<Prepared<'a>> {
    let input = |shape: &[usize]| -> Result<Tensor> {
        let n = device.check_tensor("tensor", shape)?;
        Tensor::from_slice_as(device, &ramp(n), shape, precision)
    };
    match &wl.kind {
        WorkloadKind::Op { op, inputs } => {
            let shapes: Vec<Option<&[usize]>> = inputs.iter().map(Option::as_deref).collect();
            let call = op.check(&shapes)?;
            let tensors: Vec<Option<Tensor>> = inputs
                .iter()
                .map(|s| s.as_ref().map(|s| input(s)).transpose())
                .collect::<Result<_>>()?;
            // compute-bound ops count their multiply-adds; the others one read of the
            // input and one write of the output
            let macs = call.macs();
            let moved = inputs[0]
                .as_ref()
                .map_or(0, |s| s.iter().product::<usize>())
                + device.check_tensor(op.name(), &call.output_shape())?;
            let read = inputs
                .iter()
                .flatten()
                .map(|s| s.iter().product::<usize>())
                .sum();
            let op = *op;
            Ok(Prepared {
                flops: (macs > 0).then_some(2.0 * macs as f64),
                bytes: (macs == 0).then_some((precision.size() * moved as u64) as f64),
                read,
                run: Box::new(move || {
                    let refs: Vec<Option<&Tensor>> = tensors.iter().map(Option::as_ref).collect();
                    crate::functional::run(&op, &refs).map(|(y, _)| y)
                }),
            })
        }
        WorkloadKind::Network {
            input: shape,
            layers,
        } => {
            let mut net = build_network(device, layers)?;
            net.to_dtype(precision)?;
            let x = input(shape)?;
            let weights: usize = net
                .layers()
                .iter()
                .flat_map(|(_, layer)| match layer {
                    Layer::Conv2d(c) => [Some(&c.weight), c.bias.as_ref()],
                    Layer::Linear(l) => [Some(&l.weight), l.bias.as_ref()],
                    _ => [None, None],
                })
                .flatten()
                .map(Tensor::numel)
                .sum();
            Ok(Prepared {
                flops: Some(2.0 * net.macs(shape)? as f64),
                bytes: None,
                read: x.numel() + weights,
                run: Box::new(move || net.forward(&x)),
            })
        }
        WorkloadKind::Graph {
            network,
            input: shape,
        } => {
            let model = crate::model::Model::zoo(network, 0, device)?.with_precision(precision);
            let x = input(shape)?;
            let steps = model.step_calls(std::slice::from_ref(shape))?;
            let weights = steps
                .iter()
                .flat_map(|s| s.weights.iter())
                .map(|shape| shape.iter().product::<usize>())
                .sum::<usize>();
            Ok(Prepared {
                flops: Some(2.0 * model.macs(std::slice::from_ref(shape))? as f64),
                bytes: None,
                read: x.numel() + weights,
                run: Box::new(move || model.forward(&x)),
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
    Ok(prepare(device, wl, DType::F32)?.run)
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
    let mut prepared = [prepare(device, wl, config.precision)?];
    let (mut times, written) = measure(&[device], &mut prepared, config)?;
    let [mut prepared] = prepared;
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
    let gpu_ms = (!gpu_times.is_empty()).then(|| median(&mut gpu_times));
    Ok(result(
        wl,
        device,
        &prepared,
        times.remove(0),
        written[0],
        gpu_ms,
        config.precision,
    ))
}

/// Runs one workload on several devices (the same adapter under other settings, say
/// autotuned and not) in alternation, a run on each in turn, so that the noise of a
/// shared machine falls on all of them alike; the medians as [`run_workload`] gives
/// them (without GPU time), in the devices' order.
///
/// # Errors
/// As [`run_workload`].
pub fn run_alternating(
    devices: &[&Device],
    wl: &Workload,
    config: &BenchConfig,
) -> Result<Vec<BenchResult>> {
    let mut prepared = devices
        .iter()
        .map(|d| prepare(d, wl, config.precision))
        .collect::<Result<Vec<_>>>()?;
    let (times, written) = measure(devices, &mut prepared, config)?;
    Ok(devices
        .iter()
        .zip(&prepared)
        .zip(times.into_iter().zip(written))
        .map(|((d, p), (t, w))| result(wl, d, p, t, w, None, config.precision))
        .collect())
}

/// The warm-up, then timed runs of each prepared workload in turn (one device: the
/// plain benchmark) until there are enough of them: every run's wall time per device,
/// and the elements each one's output holds.
fn measure(
    devices: &[&Device],
    prepared: &mut [Prepared<'_>],
    config: &BenchConfig,
) -> Result<(Vec<Vec<f64>>, Vec<usize>)> {
    for (p, d) in prepared.iter_mut().zip(devices) {
        d.sync()?;
        for _ in 0..config.warmup {
            drop((p.run)()?);
            d.sync()?;
        }
    }
    let mut times = vec![Vec::new(); devices.len()];
    let mut written = vec![0; devices.len()];
    let start = Instant::now();
    loop {
        for (i, (p, d)) in prepared.iter_mut().zip(devices).enumerate() {
            let t0 = Instant::now();
            let out = (p.run)()?;
            d.sync()?;
            times[i].push(t0.elapsed().as_secs_f64() * 1e3);
            written[i] = out.numel();
        }
        let (runs, elapsed) = (times[0].len(), start.elapsed());
        let enough = runs >= config.min_runs && elapsed >= config.min_time;
        if enough || (elapsed >= config.max_time && runs >= config.floor_runs) {
            return Ok((times, written));
        }
    }
}

/// The figures of a workload's timed runs on `device`.
fn result(
    wl: &Workload,
    device: &Device,
    p: &Prepared<'_>,
    times_ms: Vec<f64>,
    written: usize,
    gpu_ms: Option<f64>,
    precision: DType,
) -> BenchResult {
    let mut sorted = times_ms.clone();
    let median_ms = median(&mut sorted);
    BenchResult {
        workload: match precision {
            DType::F32 => wl.name.clone(),
            p => format!("{}.{}", wl.name, p.short_name()),
        },
        backend: device.backend().name().to_string(),
        adapter: device.name().to_string(),
        runs: times_ms.len(),
        median_ms,
        min_ms: sorted[0],
        times_ms,
        gpu_ms,
        gflops: p.flops.map(|f| f / median_ms / 1e6),
        gbps: p.bytes.map(|b| b / median_ms / 1e6),
        flops: p.flops.unwrap_or(written as f64),
        bytes: (precision.size() * (p.read + written) as u64) as f64,
    }
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

/// A Python literal of a call's argument as JSON: an int, a float, `True`/`False`, or a
/// string (quoted or not).
fn literal(text: &str) -> Value {
    let text = text.trim();
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(f) = text.parse::<f64>() {
        return Value::from(f);
    }
    match text {
        "True" | "true" => Value::Bool(true),
        "False" | "false" => Value::Bool(false),
        _ => Value::from(text.trim_matches(['"', '\''])),
    }
}

/// The positional parameters of a workload layer, by name: `conv2d(in, out, k)` as
/// `nn.Conv2d` takes them, a pool's kernel size.
fn positional_names(kind: OpKind) -> &'static [&'static str] {
    match kind {
        OpKind::Conv2d => &["in_channels", "out_channels", "kernel_size"],
        OpKind::MaxPool2d | OpKind::AvgPool2d => &["kernel_size"],
        _ => &[],
    }
}

/// Builds a workload network with deterministic weights (a ramp scaled by the fan-in,
/// so activations stay in range through every layer), through the model format: each
/// layer an entry of its layer list, each convolution's weights in its state_dict.
///
/// # Errors
/// [`Error::Format`] for a malformed layer; [`Error::Unsupported`] for one no op is.
pub fn build_network(device: &Device, layers: &[String]) -> Result<Sequential> {
    let mut specs = Vec::new();
    let mut weights = BTreeMap::new();
    for (i, text) in layers.iter().enumerate() {
        let (name, args) = call_parts(text);
        let kind = OpKind::from_name(&name)
            .ok_or_else(|| Error::Format(format!("workload layer '{name}' is not known")))?;
        let mut params = Map::new();
        let positional = args.iter().filter(|a| !a.contains('='));
        if positional.clone().count() > positional_names(kind).len() {
            return Err(Error::Format(format!(
                "workload layer '{text}': expected {name}({})",
                positional_names(kind).join(", ")
            )));
        }
        for (key, value) in positional_names(kind).iter().zip(positional) {
            params.insert((*key).to_string(), literal(value));
        }
        for arg in args.iter().filter(|a| a.contains('=')) {
            let (k, v) = arg.split_once('=').expect("contains '='");
            params.insert(k.trim().to_string(), literal(v));
        }
        if kind == OpKind::Conv2d {
            let size = |key: &str| {
                params.get(key).and_then(Value::as_u64).ok_or_else(|| {
                    Error::Format(format!(
                        "workload layer '{text}': expected conv2d(in, out, k)"
                    ))
                })
            };
            let [c_in, c_out, k] = [
                size("in_channels")?,
                size("out_channels")?,
                size("kernel_size")?,
            ]
            .map(|v| v as usize);
            let shape = [c_out, c_in, k, k];
            let n = device.check_tensor("conv2d", &shape)?;
            let fan_in = (n / c_out.max(1)) as f32;
            let w: Vec<f32> = ramp(n).into_iter().map(|v| v / fan_in.sqrt()).collect();
            let b: Vec<f32> = ramp(device.check_tensor("conv2d", &[c_out])?)
                .into_iter()
                .map(|v| v * 0.1)
                .collect();
            params.insert("bias".into(), Value::Bool(true));
            weights.insert(
                format!("{i}.weight"),
                HostTensor {
                    shape: shape.to_vec(),
                    data: w,
                },
            );
            weights.insert(
                format!("{i}.bias"),
                HostTensor {
                    shape: vec![c_out],
                    data: b,
                },
            );
        }
        specs.push(serde_json::json!({"op": kind.name(), "params": params}));
    }
    Sequential::from_layers(&specs, weights, device)
}

/// A result as a share of the adapter's roof: compute against the FMA peak, memory
/// bound ops against `copy_buffer_to_buffer`.
pub fn roof_share(roof: &Roofline, r: &BenchResult) -> Option<f64> {
    roof.share(r.gflops, r.gbps)
}

/// A whole network against its steps run one by one.
#[derive(Clone, Debug)]
pub struct StepSum {
    /// Kernel launches of one forward (views excluded).
    pub steps: usize,
    /// Each step's own result, in the order the forward runs them (named
    /// `network/index:op`).
    pub results: Vec<BenchResult>,
    /// The sum of every step's standalone median, in milliseconds: each step's op
    /// alone on inputs of its shapes (fused steps as fused, so this is the layers'
    /// time less the work fusion removed).
    pub sum_ms: f64,
}

/// Times every step of a [`WorkloadKind::Graph`] workload standalone (its op on inputs
/// of its shapes, as an op workload runs) and sums their medians.
///
/// # Errors
/// [`Error::Unsupported`] for a workload that is not a graph; the steps' errors.
pub fn run_steps(device: &Device, wl: &Workload, config: &BenchConfig) -> Result<StepSum> {
    let WorkloadKind::Graph { network, input } = &wl.kind else {
        return Err(Error::Unsupported(format!(
            "{} is not a whole network",
            wl.name
        )));
    };
    let model = crate::model::Model::zoo(network, 0, device)?;
    let steps = model.step_calls(std::slice::from_ref(input))?;
    let mut results = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        let alone = Workload {
            name: format!("{}/{i}:{}", wl.name, step.op.name()),
            kind: WorkloadKind::Op {
                op: step.op,
                inputs: step.inputs.clone(),
            },
        };
        results.push(run_workload(device, &alone, config)?);
    }
    Ok(StepSum {
        steps: steps.len(),
        sum_ms: results.iter().map(|r| r.median_ms).sum(),
        results,
    })
}
