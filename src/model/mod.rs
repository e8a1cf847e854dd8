//! Whole models from files: ONNX (`.onnx`, exported by `torch.onnx.export`) and the
//! Sequential safetensors format load into one [`graph::Graph`], which one executor
//! runs. [`Model::load`] is the entry point for every model file; [`Model::zoo`] builds
//! whole networks ([`zoo`]) with random weights, without a file.
//!
//! At load, BatchNormalization is folded into the Conv before it and ReLU into the
//! Conv's epilogue; at the first forward on an input shape a [`plan::Plan`] is made
//! (shapes folded on the host, each node's kernels chosen) and kept, weights are
//! uploaded once, and the forward pass records into the device's pending encoder, so
//! it is one submit; each intermediate's buffer returns to the pool after its last
//! reader.

pub mod graph;
pub mod onnx;
pub mod plan;
mod sequential;
pub mod zoo;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use self::graph::{Graph, HostValue, ValueId};
use self::plan::{Arg, Kernel, Plan, Weights};
use crate::device::{Device, DeviceKind};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::functional;
use crate::op::Op;
use crate::tensor::Tensor;

/// The weights of a model on its device, each uploaded once and known by key.
struct Store {
    device: Device,
    /// The type weights are stored in, and activations computed in.
    dtype: DType,
    tensors: Vec<Tensor>,
    keys: HashMap<String, usize>,
}

impl Weights for Store {
    fn weight(
        &mut self,
        key: &str,
        make: &mut dyn FnMut() -> Result<HostValue>,
    ) -> Result<(usize, Vec<usize>)> {
        if let Some(&i) = self.keys.get(key) {
            return Ok((i, self.tensors[i].shape().to_vec()));
        }
        let value = make()?;
        // converted once, here, rounded to nearest as PyTorch's .half() does
        let t = Tensor::from_slice_as(&self.device, &value.floats(), &value.shape, self.dtype)?;
        self.tensors.push(t);
        let i = self.tensors.len() - 1;
        self.keys.insert(key.to_string(), i);
        Ok((i, value.shape))
    }

    fn precision(&self) -> DType {
        self.dtype
    }
}

/// A model loaded from a file onto a device.
pub struct Model {
    graph: Graph,
    store: Mutex<Store>,
    plan: Mutex<Option<Arc<Plan>>>,
    /// The file's name, for messages.
    pub source: String,
    /// Metadata the file carries (ONNX `metadata_props`, the Sequential format's
    /// `__metadata__`).
    pub metadata: HashMap<String, String>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("source", &self.source)
            .field("nodes", &self.graph.nodes.len())
            .finish_non_exhaustive()
    }
}

/// One kernel launch of a plan, as [`Model::step_calls`] lists it.
#[derive(Clone, Debug)]
pub struct StepCall {
    pub op: crate::op::Op,
    /// The shapes of its inputs, in the op's order (`None` for an absent one).
    pub inputs: Vec<Option<Vec<usize>>>,
    /// The shapes of those inputs that are weights.
    pub weights: Vec<Vec<usize>>,
}

/// One node's output as a forward pass with [`Model::forward_traced`] recorded it.
#[derive(Debug)]
pub struct Traced {
    /// The node's name and op type.
    pub node: String,
    pub op_type: String,
    /// The value's name.
    pub value: String,
    pub tensor: Tensor,
}

impl Model {
    /// Loads a model file: ONNX (by its `.onnx` extension, or any file that is not a
    /// safetensors file) or the Sequential safetensors format. External data of an
    /// ONNX model are read from the model's folder.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file; [`Error::Format`] and [`Error::Unsupported`]
    /// naming the file and the node.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let bytes = crate::tensor_file::read_bytes(path)?;
        let name = path.display().to_string();
        let dir = path.parent().map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        });
        if is_safetensors(&bytes) && path.extension().is_none_or(|e| e != "onnx") {
            let (graph, metadata) = sequential::graph(&name, &bytes)?;
            return Ok(Self::new(graph, name, metadata, device));
        }
        Self::from_onnx(&name, &bytes, dir, device)
    }

    /// An ONNX model from its bytes; `dir` is where external data are read from.
    ///
    /// # Errors
    /// As [`Model::load`].
    pub fn from_onnx(
        name: &str,
        bytes: &[u8],
        dir: Option<&Path>,
        device: &Device,
    ) -> Result<Self> {
        let (graph, metadata) = onnx::parse(name, bytes, dir)?;
        Ok(Self::new(graph, name.to_string(), metadata, device))
    }

    /// A model of the Sequential format from its bytes.
    ///
    /// # Errors
    /// As [`Model::load`].
    pub fn from_sequential(name: &str, bytes: &[u8], device: &Device) -> Result<Self> {
        let (graph, metadata) = sequential::graph(name, bytes)?;
        Ok(Self::new(graph, name.to_string(), metadata, device))
    }

    fn new(
        mut graph: Graph,
        source: String,
        metadata: HashMap<String, String>,
        device: &Device,
    ) -> Self {
        graph.fuse();
        Self {
            store: Mutex::new(Store {
                device: device.clone(),
                dtype: graph.precision,
                tensors: Vec::new(),
                keys: HashMap::new(),
            }),
            graph,
            plan: Mutex::new(None),
            source,
            metadata,
        }
    }

    /// This model computing in `dtype`: its weights stored in it (converted once, as
    /// they are first uploaded) and its activations computed in it, as PyTorch's
    /// `model.half()` does (f16 values, sums in f32 rounded once). Inputs of another
    /// type are converted on the device; outputs are of `dtype`. A model computes in
    /// its graph inputs' type by default: f16 for an ONNX model exported in half.
    pub fn with_precision(self, dtype: DType) -> Self {
        let mut store = self.store.into_inner().unwrap_or_else(|p| p.into_inner());
        if store.dtype != dtype {
            store.dtype = dtype;
            store.tensors.clear();
            store.keys.clear();
        }
        Self {
            store: Mutex::new(store),
            plan: Mutex::new(None),
            ..self
        }
    }

    /// The type this model computes in (see [`Model::with_precision`]).
    pub fn precision(&self) -> DType {
        self.store.lock().unwrap_or_else(|p| p.into_inner()).dtype
    }

    /// The graph, after folding and fusion.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The inputs' names and declared shapes (`None` for a size set at run time).
    pub fn inputs(&self) -> Vec<(String, Option<Vec<Option<usize>>>)> {
        self.graph
            .inputs
            .iter()
            .map(|i| (self.graph.names[i.value].clone(), i.shape.clone()))
            .collect()
    }

    /// The outputs' names.
    pub fn outputs(&self) -> Vec<String> {
        self.graph
            .outputs
            .iter()
            .map(|&o| self.graph.names[o].clone())
            .collect()
    }

    /// The plan for inputs of `shapes`, made on first use and kept until the shapes
    /// change.
    ///
    /// # Errors
    /// A node's error for these shapes.
    pub fn plan(&self, shapes: &[Vec<usize>]) -> Result<Arc<Plan>> {
        let mut cached = self.plan.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(plan) = cached.as_ref()
            && plan.input_shapes == shapes
        {
            return Ok(plan.clone());
        }
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let plan = Arc::new(Plan::new(&self.graph, shapes, &mut *store)?);
        *cached = Some(plan.clone());
        Ok(plan)
    }

    /// Multiply-adds of a forward pass on inputs of `shapes`.
    ///
    /// # Errors
    /// As [`Model::plan`].
    pub fn macs(&self, shapes: &[Vec<usize>]) -> Result<u64> {
        Ok(self.plan(shapes)?.macs())
    }

    /// The op of every kernel launch of a forward pass on inputs of `shapes`, with the
    /// shapes of its inputs (views, which launch nothing, left out): what a benchmark
    /// runs to time the steps one by one.
    ///
    /// # Errors
    /// As [`Model::plan`].
    pub fn step_calls(&self, shapes: &[Vec<usize>]) -> Result<Vec<StepCall>> {
        let plan = self.plan(shapes)?;
        let store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let mut calls = Vec::new();
        for step in &plan.steps {
            let Kernel::Op(op) = &step.kernel else {
                continue;
            };
            let mut weights = Vec::new();
            let inputs = step
                .args
                .iter()
                .map(|a| match *a {
                    None => Ok(None),
                    Some(Arg::Weight(w)) => {
                        let shape = store.tensors[w].shape().to_vec();
                        weights.push(shape.clone());
                        Ok(Some(shape))
                    }
                    Some(Arg::Value(v)) => plan
                        .shapes
                        .get(&v)
                        .cloned()
                        .map(Some)
                        .ok_or_else(|| Error::Format(format!("value {v} has no shape"))),
                })
                .collect::<Result<Vec<_>>>()?;
            calls.push(StepCall {
                op: *op,
                inputs,
                weights,
            });
        }
        Ok(calls)
    }

    /// Runs the model on its one input; the first output.
    ///
    /// # Errors
    /// [`Error::Shape`] for an input the model does not take; a node's error, naming it.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut outputs = self.forward_all(&[x])?;
        Ok(outputs.swap_remove(0))
    }

    /// Runs the model on its inputs (in the graph's order); every output, in order.
    ///
    /// # Errors
    /// As [`Model::forward`].
    pub fn forward_all(&self, inputs: &[&Tensor]) -> Result<Vec<Tensor>> {
        self.execute(inputs, false).map(|(o, _)| o)
    }

    /// As [`Model::forward_all`], also keeping every step's output (for comparing
    /// backends node by node).
    ///
    /// # Errors
    /// As [`Model::forward`].
    pub fn forward_traced(&self, inputs: &[&Tensor]) -> Result<(Vec<Tensor>, Vec<Traced>)> {
        self.execute(inputs, true)
    }

    fn execute(&self, inputs: &[&Tensor], keep: bool) -> Result<(Vec<Tensor>, Vec<Traced>)> {
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape().to_vec()).collect();
        let plan = self.plan(&shapes)?;
        let store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let device = &store.device;
        if inputs.iter().any(|t| t.device() != device) {
            return Err(Error::DeviceMismatch { op: "model" });
        }
        // inputs of another type than the model's, converted on the device
        let converted: Vec<Option<Tensor>> = inputs
            .iter()
            .map(|t| {
                (t.dtype() != store.dtype)
                    .then(|| t.to_dtype(store.dtype))
                    .transpose()
            })
            .collect::<Result<_>>()?;
        let graph_input: HashMap<ValueId, &Tensor> = self
            .graph
            .inputs
            .iter()
            .zip(inputs.iter().zip(&converted))
            .map(|(i, (t, c))| (i.value, c.as_ref().unwrap_or(t)))
            .collect();
        let mut vals: HashMap<ValueId, Tensor> = HashMap::new();
        // a value dies at its last reader, unless every value is kept
        let dies = |v: ValueId, i: usize| !keep && plan.last_use.get(&v) == Some(&i);
        // the outputs of concatenations whose parts are written in place, from the
        // first part computed until the concatenation's step
        let mut wholes: HashMap<ValueId, Tensor> = HashMap::new();
        let placed = placed_concatenations(&plan, &store);
        for (i, step) in plan.steps.iter().enumerate() {
            let node = &self.graph.nodes[step.node];
            let part = plan.parts.get(&step.out).filter(|p| placed.contains(&p.of));
            if let Some(part) = part
                && !wholes.contains_key(&part.of)
            {
                let shape = plan.shapes.get(&part.of).ok_or_else(|| {
                    Error::Format(format!("concatenation {} has no shape", part.of))
                })?;
                wholes.insert(part.of, Tensor::uninit_as(device, shape, store.dtype)?);
            }
            let whole = wholes.remove(&step.out);
            let y = match (&step.kernel, step.args.first()) {
                // a view of a value that dies here: the same buffer, no copy
                (Kernel::View, Some(&Some(Arg::Value(v))))
                    if dies(v, i) && vals.contains_key(&v) =>
                {
                    vals.remove(&v).map(|t| t.reshape(&step.shape))
                }
                _ => None,
            };
            let y = match y {
                Some(y) => y?,
                None => {
                    let get = |a: Arg| -> Result<&Tensor> {
                        match a {
                            Arg::Weight(w) => Ok(&store.tensors[w]),
                            Arg::Value(v) => graph_input
                                .get(&v)
                                .copied()
                                .or_else(|| vals.get(&v))
                                .ok_or_else(|| Error::Format(format!("value {v} is not computed"))),
                        }
                    };
                    let args = step
                        .args
                        .iter()
                        .map(|a| a.map(get).transpose())
                        .collect::<Result<Vec<Option<&Tensor>>>>()?;
                    let view = part.and_then(|p| wholes.get(&p.of)?.view(p.offset, &step.shape));
                    match (view, &step.kernel, whole) {
                        // a part of a concatenation, computed straight into its place
                        (Some(view), Kernel::Op(op), _)
                            if functional::run_into(op, &args, &view)
                                .map_err(|e| plan::in_node(e, node))? =>
                        {
                            view
                        }
                        // the concatenation: only the parts not already in place
                        (_, Kernel::Op(Op::Cat { .. }), Some(whole)) => {
                            concat_rest(&args, &whole).map_err(|e| plan::in_node(e, node))?;
                            whole
                        }
                        _ => run_step(&step.kernel, &args, &step.shape)
                            .map_err(|e| plan::in_node(e, node))?,
                    }
                }
            };
            vals.insert(step.out, y);
            for a in step.args.iter().flatten() {
                if let Arg::Value(v) = a
                    && dies(*v, i)
                {
                    vals.remove(v);
                }
            }
        }
        let mut result = Vec::with_capacity(self.graph.outputs.len());
        let outputs = &self.graph.outputs;
        for (k, o) in outputs.iter().enumerate() {
            // an output moves out of the values unless they are kept or it is given again
            let again = keep || outputs[k + 1..].contains(o);
            let t = if let Some(h) = plan.host_outputs.get(o) {
                Tensor::from_slice_as(device, &h.floats(), &h.shape, store.dtype)?
            } else if let Some(t) = graph_input.get(o) {
                t.try_clone()?
            } else if let Some(t) = vals.get(o).filter(|t| again || t.is_view()) {
                // (a view into a concatenation's buffer is copied out: outputs share no
                // storage, and a small one does not hold a large buffer)
                t.try_clone()?
            } else if let Some(t) = vals.remove(o) {
                t
            } else {
                return Err(Error::Format(format!(
                    "output '{}' was not computed",
                    self.graph.names[*o]
                )));
            };
            result.push(t);
        }
        // every step's output, kept above, moves into the trace
        let traced = if keep {
            plan.steps
                .iter()
                .enumerate()
                .filter_map(|(i, step)| {
                    let node = &self.graph.nodes[step.node];
                    vals.remove(&step.out).map(|tensor| Traced {
                        node: node.name.clone(),
                        op_type: node.op_type.clone(),
                        value: self
                            .graph
                            .names
                            .get(step.out)
                            .cloned()
                            .unwrap_or_else(|| format!("{}::{i}", node.name)),
                        tensor,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok((result, traced))
    }
}

/// Copies into `whole`, a concatenation's output, each of its parts that was not
/// computed in place (a graph input, a view, a part whose offset the device cannot bind
/// at, or one whose producer read the same buffer).
fn concat_rest(parts: &[Option<&Tensor>], whole: &Tensor) -> Result<()> {
    functional::check_dtypes("cat", parts)?;
    let mut offset = 0usize;
    for part in parts.iter().flatten() {
        if !part.is_view_of(whole, offset) {
            part.copy_into(whole, offset)?;
        }
        offset = offset
            .checked_add(part.numel())
            .ok_or_else(|| Error::Format("a concatenation's size overflows".into()))?;
    }
    Ok(())
}

/// The concatenations whose parts are computed in place (see `plan::concat_parts`):
/// on a GPU; in f16, those whose parts are all whole u32 words (an even count), so that
/// no word holds two parts and the parts not placed copy as whole words.
fn placed_concatenations(plan: &Plan, store: &Store) -> HashSet<ValueId> {
    if !matches!(store.device.kind(), DeviceKind::Gpu(_)) {
        return HashSet::new();
    }
    let words = |a: &Option<Arg>| match a {
        Some(Arg::Value(v)) => plan
            .shapes
            .get(v)
            .and_then(|s| crate::tensor::numel(s))
            .is_some_and(|n| n.is_multiple_of(2)),
        Some(Arg::Weight(w)) => store.tensors[*w].numel().is_multiple_of(2),
        None => false,
    };
    let wholes: HashSet<ValueId> = plan.parts.values().map(|p| p.of).collect();
    plan.steps
        .iter()
        .filter(|s| wholes.contains(&s.out))
        .filter(|s| store.dtype == DType::F32 || s.args.iter().all(words))
        .map(|s| s.out)
        .collect()
}

/// Runs one kernel.
fn run_step(kernel: &Kernel, args: &[Option<&Tensor>], shape: &[usize]) -> Result<Tensor> {
    match kernel {
        Kernel::Op(op) => functional::run(op, args).map(|(y, _)| y),
        Kernel::View => match args.first().copied().flatten() {
            Some(x) => x.try_clone()?.reshape(shape),
            None => Err(Error::Format("a view of nothing".into())),
        },
        Kernel::Convert(dtype) => match args.first().copied().flatten() {
            Some(x) => x.to_dtype(*dtype),
            None => Err(Error::Format("a cast of nothing".into())),
        },
    }
}

/// Whether `bytes` begin as a safetensors file does (an 8-byte header length, then a
/// JSON object).
fn is_safetensors(bytes: &[u8]) -> bool {
    bytes.len() >= 9 && bytes[8] == b'{'
}
