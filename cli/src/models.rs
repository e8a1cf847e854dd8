//! The model commands: `infer` (a model file on pictures or tensors), `inspect` (what
//! a model is and whether wgcnn runs it) and `compare` (a model on several backends
//! against the CPU reference, node by node).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wgcnn::model::graph::HostData;
use wgcnn::tensor_file::HostTensor;
use wgcnn::{Device, Error, Model, Result, Tensor};
use wgcnn_cli::picture::{self, IMAGENET, Preprocess};

/// How pictures become a model's input, when the model file does not say.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct PreprocessArgs {
    /// Resize pictures to N x N (or HxW) pixels.
    #[arg(long)]
    pub size: Option<String>,
    /// Per-channel mean subtracted after scaling to [0, 1]: `imagenet` (which also sets
    /// `--std`) or three numbers `r,g,b`.
    #[arg(long)]
    pub mean: Option<String>,
    /// Per-channel standard deviation divided by: three numbers `r,g,b`.
    #[arg(long)]
    pub std: Option<String>,
}

fn triple(flag: &str, text: &str) -> Result<[f32; 3]> {
    let values: Vec<f32> = text
        .split(',')
        .map(|v| v.trim().parse::<f32>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| {
            Error::param(
                "infer",
                format!("--{flag} takes three numbers r,g,b, got '{text}'"),
            )
        })?;
    match values.as_slice() {
        [r, g, b] if values.iter().all(|v| v.is_finite()) => Ok([*r, *g, *b]),
        _ => Err(Error::param(
            "infer",
            format!("--{flag} takes three finite numbers r,g,b, got '{text}'"),
        )),
    }
}

impl PreprocessArgs {
    /// The model's own preprocessing with these flags over it.
    fn apply(&self, mut p: Preprocess) -> Result<Preprocess> {
        if let Some(size) = &self.size {
            let parse = |v: &str| v.trim().parse::<u32>().ok().filter(|&v| v > 0);
            let pair = match size.split_once(['x', 'X']) {
                Some((h, w)) => parse(h).zip(parse(w)).map(|(h, w)| [h, w]),
                None => parse(size).map(|s| [s, s]),
            };
            let [h, w] = pair.ok_or_else(|| {
                Error::param(
                    "infer",
                    format!("--size takes N or HxW (positive), got '{size}'"),
                )
            })?;
            picture::check_picture("--size", h as usize, w as usize)?;
            p.size = Some([h, w]);
        }
        match self.mean.as_deref() {
            Some("imagenet") => (p.mean, p.std) = IMAGENET,
            Some(text) => p.mean = triple("mean", text)?,
            None => {}
        }
        if let Some(text) = &self.std {
            p.std = triple("std", text)?;
            if p.std.contains(&0.0) {
                return Err(Error::param("infer", "--std cannot hold a zero"));
            }
        }
        Ok(p)
    }
}

/// A model's input from a file: a safetensors tensor (`input`, or its one float
/// tensor), or a picture preprocessed as the model file and the flags say.
///
/// # Errors
/// The file's; a safetensors file without a clear input.
pub fn load_input(
    path: &Path,
    metadata: &std::collections::HashMap<String, String>,
    flags: &PreprocessArgs,
    device: &Device,
) -> Result<Tensor> {
    if path.extension().is_some_and(|e| e == "safetensors") {
        let file = wgcnn::tensor_file::TensorFile::read(path)?;
        let t = match file.tensors.get("input") {
            Some(t) => t,
            None if file.tensors.len() == 1 && file.indices.is_empty() => {
                file.tensors.values().next().expect("one tensor")
            }
            None => {
                return Err(Error::Format(format!(
                    "{}: no float tensor 'input' (and not exactly one float tensor)",
                    path.display()
                )));
            }
        };
        return Tensor::from_slice(device, &t.data, &t.shape);
    }
    flags
        .apply(Preprocess::from_metadata(metadata)?)?
        .load(path, device)
}

/// `wgcnn infer MODEL INPUT...`: the top classes of each input, or its outputs written
/// to a safetensors file (`--out FILE.safetensors`, one input) or a folder.
///
/// # Errors
/// The model's, an input's, or writing's.
/// How `wgcnn infer` runs and reports a model.
pub struct Run<'a> {
    /// Classes to print per input.
    pub top: usize,
    /// Where outputs are written instead (see `wgcnn infer --out`).
    pub out: Option<&'a Path>,
    /// The type the model computes in (default: its own).
    pub precision: Option<wgcnn::DType>,
}

pub fn infer(
    model_path: &Path,
    inputs: &[PathBuf],
    run: &Run<'_>,
    flags: &PreprocessArgs,
    device: &Device,
) -> Result<bool> {
    let (top, out) = (run.top, run.out);
    let mut model = Model::load(model_path, device)?;
    if let Some(p) = run.precision {
        model = model.with_precision(p);
    }
    let classes: Vec<String> = model
        .metadata
        .get("classes")
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    let to_file = out.is_some_and(|o| o.extension().is_some_and(|e| e == "safetensors"));
    if to_file && inputs.len() != 1 {
        return Err(Error::param(
            "infer",
            format!(
                "--out FILE.safetensors takes one input, {} given (give a folder for several)",
                inputs.len()
            ),
        ));
    }
    for path in inputs {
        let x = load_input(path, &model.metadata, flags, device)?;
        let ys = model.forward_all(&[&x])?;
        if let Some(out) = out {
            let written = write_outputs(out, path, to_file, &model.outputs(), &ys)?;
            println!("{} -> {}", path.display(), written.display());
            continue;
        }
        let y = &ys[0];
        let &[n, k] = y.shape() else {
            println!(
                "{}: output of shape {:?} (use --out FILE.safetensors to write it)",
                path.display(),
                y.shape()
            );
            continue;
        };
        let logits = y.to_vec()?;
        for i in 0..n {
            let row = &logits[i * k..(i + 1) * k];
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exp: Vec<f64> = row.iter().map(|&v| f64::from(v - max).exp()).collect();
            let sum: f64 = exp.iter().sum();
            let mut order: Vec<usize> = (0..k).collect();
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
            let label = if n > 1 {
                format!("{}[{i}]", path.display())
            } else {
                path.display().to_string()
            };
            let best: Vec<String> = order
                .iter()
                .take(top)
                .map(|&c| {
                    let name = classes.get(c).cloned().unwrap_or_else(|| c.to_string());
                    format!("{name} ({:.1}%)", 100.0 * exp[c] / sum)
                })
                .collect();
            println!("{label}: {}", best.join(", "));
        }
    }
    Ok(true)
}

/// Writes a forward pass's outputs: the first as `output`, and each under its graph
/// name when there are several; into `out` itself or `out/<input stem>.safetensors`.
fn write_outputs(
    out: &Path,
    input: &Path,
    to_file: bool,
    names: &[String],
    ys: &[Tensor],
) -> Result<PathBuf> {
    let target = if to_file {
        out.to_path_buf()
    } else {
        std::fs::create_dir_all(out).map_err(|source| Error::Io {
            path: out.display().to_string(),
            source,
        })?;
        let stem = input
            .file_stem()
            .map_or("output".into(), |s| s.to_string_lossy().into_owned());
        out.join(format!("{stem}.safetensors"))
    };
    let mut host: Vec<(String, HostTensor)> = Vec::new();
    for (i, (name, y)) in names.iter().zip(ys).enumerate() {
        let t = HostTensor {
            shape: y.shape().to_vec(),
            data: y.to_vec()?,
        };
        if i == 0 {
            host.push(("output".into(), t.clone()));
        }
        if ys.len() > 1 && name != "output" {
            host.push((name.clone(), t));
        }
    }
    let refs: Vec<(&str, &HostTensor)> = host.iter().map(|(k, t)| (k.as_str(), t)).collect();
    wgcnn::tensor_file::write(&target, &refs, &[])?;
    Ok(target)
}

/// The input shapes to plan with: `--shape` (`1,3,224,224`; one input), else the
/// declared shapes with an unnamed leading size taken as a batch of 1.
fn shapes_for(model: &Model, shape: Option<&str>) -> Result<Vec<Vec<usize>>> {
    if let Some(text) = shape {
        let dims = text
            .split(',')
            .map(|v| v.trim().parse::<usize>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| {
                Error::param(
                    "inspect",
                    format!("--shape takes sizes like 1,3,224,224, got '{text}'"),
                )
            })?;
        return Ok(vec![dims]);
    }
    model
        .inputs()
        .into_iter()
        .map(|(name, declared)| {
            let declared = declared.ok_or_else(|| {
                Error::param(
                    "inspect",
                    format!("input '{name}' declares no shape: give --shape"),
                )
            })?;
            declared
                .iter()
                .enumerate()
                .map(|(i, d)| match d {
                    Some(d) => Ok(*d),
                    None if i == 0 => Ok(1),
                    None => Err(Error::param(
                        "inspect",
                        format!("input '{name}' has a size set at run time: give --shape"),
                    )),
                })
                .collect()
        })
        .collect()
}

fn shape_text(shape: &Option<Vec<Option<usize>>>) -> String {
    match shape {
        None => "(no shape)".into(),
        Some(dims) => {
            let d: Vec<String> = dims
                .iter()
                .map(|d| d.map_or("?".into(), |d| d.to_string()))
                .collect();
            format!("[{}]", d.join(", "))
        }
    }
}

/// `wgcnn inspect MODEL`: format, inputs and outputs with shapes, op counts,
/// parameters, multiply-adds, and what wgcnn does not run.
///
/// # Errors
/// The file's, and a plan's for the shapes.
pub fn inspect(model_path: &Path, shape: Option<&str>) -> Result<bool> {
    let device = Device::cpu();
    let model = match Model::load(model_path, &device) {
        Ok(m) => m,
        Err(Error::Unsupported(message)) => {
            println!(
                "{}: wgcnn cannot run this model:\n  {message}",
                model_path.display()
            );
            return Ok(false);
        }
        Err(e) => return Err(e),
    };
    let md = &model.metadata;
    let get = |k: &str| md.get(k).cloned().unwrap_or_default();
    let format = if get("format") == "onnx" {
        format!(
            "ONNX, opset {}, IR version {}, from {}",
            get("opset"),
            get("ir_version"),
            get("producer")
        )
    } else {
        "Sequential safetensors".into()
    };
    println!("{}: {format}", model_path.display());
    let graph = model.graph();
    for (name, declared) in model.inputs() {
        println!("  input   {name} {}", shape_text(&declared));
    }
    let shapes = shapes_for(&model, shape)?;
    let plan = model.plan(&shapes)?;
    for o in &graph.outputs {
        let s = plan.shapes.get(o).cloned().unwrap_or_default();
        println!("  output  {} {s:?}", graph.names[*o]);
    }
    let mut ops: BTreeMap<&str, usize> = BTreeMap::new();
    for node in &graph.nodes {
        *ops.entry(node.op_type.as_str()).or_default() += 1;
    }
    let listed: Vec<String> = ops.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "  nodes   {} (BatchNormalization and Relu folded into convolutions): {}",
        graph.nodes.len(),
        listed.join(", ")
    );
    let params: usize = graph
        .constants
        .values()
        .filter(|c| matches!(c.data, HostData::F32(_)))
        .map(|c| c.len())
        .sum();
    println!("  params  {params} ({:.2} M)", params as f64 / 1e6);
    let macs = model.macs(&shapes)?;
    println!(
        "  MACs    {macs} ({:.3} G) at input {:?}; {} kernels per forward",
        macs as f64 / 1e9,
        shapes,
        plan.steps.len()
    );
    println!("  every op is supported");
    Ok(true)
}

/// `wgcnn compare MODEL INPUT --backends ...`: the model on each backend and on the
/// CPU reference, node by node: each node's largest absolute difference, and that
/// relative to the node's largest magnitude; the first node past `rtol` is named.
///
/// # Errors
/// The model's or an input's.
pub fn compare(
    model_path: &Path,
    input: &Path,
    devices: &[Device],
    flags: &PreprocessArgs,
    rtol: f64,
) -> Result<bool> {
    let reference = Device::cpu();
    let ref_model = Model::load(model_path, &reference)?;
    let x = load_input(input, &ref_model.metadata, flags, &reference)?;
    let (_, want) = ref_model.forward_traced(&[&x])?;
    let want: Vec<(String, String, Vec<usize>, Vec<f32>)> = want
        .into_iter()
        .map(|t| {
            Ok((
                t.node,
                t.op_type,
                t.tensor.shape().to_vec(),
                t.tensor.to_vec()?,
            ))
        })
        .collect::<Result<_>>()?;
    let host_x = x.to_vec()?;
    let mut columns: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let mut ok = true;
    for dev in devices.iter().filter(|d| !d.is_cpu()) {
        let model = Model::load(model_path, dev)?;
        let xd = Tensor::from_slice(dev, &host_x, x.shape())?;
        let (_, got) = model.forward_traced(&[&xd])?;
        let mut diffs = Vec::with_capacity(got.len());
        for (g, (_, _, _, w)) in got.iter().zip(&want) {
            let g = g.tensor.to_vec()?;
            let scale = w.iter().fold(0f64, |m, &v| m.max(f64::from(v).abs()));
            let abs = g
                .iter()
                .zip(w)
                .map(|(a, b)| {
                    let d = (f64::from(*a) - f64::from(*b)).abs();
                    if d.is_nan() && !(a.is_nan() && b.is_nan()) {
                        f64::INFINITY
                    } else if d.is_nan() {
                        0.0
                    } else {
                        d
                    }
                })
                .fold(0f64, f64::max);
            diffs.push((abs, if scale > 0.0 { abs / scale } else { abs }));
        }
        columns.push((format!("{} ({})", dev.backend(), dev.name()), diffs));
    }
    println!(
        "{}: {} kernels, compared with the CPU reference (rtol {rtol:e} of each node's largest magnitude)",
        model_path.display(),
        want.len()
    );
    for (name, _) in &columns {
        println!("  backend: {name}");
    }
    let header: Vec<String> = (0..columns.len())
        .map(|i| format!("{:>22}", format!("#{i} abs / rel")))
        .collect();
    println!(
        "{:<40} {:<18} {:<20} {}",
        "node",
        "op",
        "shape",
        header.join(" ")
    );
    let mut first: Vec<Option<String>> = vec![None; columns.len()];
    for (i, (node, op, shape, _)) in want.iter().enumerate() {
        // one row per node: its last kernel
        if want.get(i + 1).is_some_and(|n| &n.0 == node) {
            continue;
        }
        let cells: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(c, (_, d))| {
                let (abs, rel) = d[i];
                let bad = rel.is_nan() || rel > rtol;
                if bad && first[c].is_none() {
                    first[c] = Some(node.clone());
                }
                format!(
                    "{:>22}",
                    format!("{abs:.2e} / {rel:.1e}{}", if bad { " !" } else { "" })
                )
            })
            .collect();
        let node_name: String = node.chars().take(40).collect();
        println!(
            "{node_name:<40} {op:<18} {:<20} {}",
            format!("{shape:?}"),
            cells.join(" ")
        );
    }
    for ((name, _), f) in columns.iter().zip(&first) {
        match f {
            Some(node) => {
                ok = false;
                println!("{name}: first leaves the tolerance at node '{node}'");
            }
            None => println!("{name}: every node within the tolerance"),
        }
    }
    Ok(ok)
}
