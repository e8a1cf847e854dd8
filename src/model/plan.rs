//! A plan: the graph resolved for given input shapes. Shape arithmetic (`Shape`,
//! `Gather`, `Concat` of shapes, ...) is folded on the host, attributes that ONNX gives
//! as tensors are read, every node becomes the kernels that run it, each with the shape
//! of its output, and each value's last reader is known so its buffer returns to the
//! pool right after.

use std::collections::HashMap;

use super::graph::{AutoPad, Graph, HostData, HostValue, Node, NodeOp, ValueId, ViewShape};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::op::conv_transpose2d::ConvTranspose2dParams;
use crate::op::conv2d::{Activation, Epilogue, Padding};
use crate::op::copy::{Permutation, SliceParams};
use crate::op::elementwise::{Binary, BroadcastGeometry, Unary};
use crate::op::resize::ResizeParams;
use crate::op::{Call, Op};
use crate::reference::copy as host_copy;

/// Where a kernel's input comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// A value computed by an earlier step (or a graph input).
    Value(ValueId),
    /// A weight uploaded once, by its index in the model's weights.
    Weight(usize),
}

/// What one step runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Kernel {
    /// An op of [`crate::op`] through [`crate::functional::run`], inputs in its order.
    Op(Op),
    /// The input under another shape: no copy when this step is its last reader.
    View,
    /// The input converted to this type ([`crate::Tensor::to_dtype`]): an ONNX `Cast`
    /// to FLOAT16 in an f32 model, as a conversion to f16 and one back.
    Convert(DType),
}

/// One kernel launch of a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The graph node it belongs to.
    pub node: usize,
    pub kernel: Kernel,
    pub args: Vec<Option<Arg>>,
    pub out: ValueId,
    pub shape: Vec<usize>,
    /// Multiply-adds of the step (its call's).
    pub macs: u64,
}

/// Where a plan gets the host data of a weight: the model's store, which uploads each
/// once and knows it by key across plans.
pub trait Weights {
    /// The index and shape of the weight `key`, uploading `make()` the first time.
    ///
    /// # Errors
    /// The upload's.
    fn weight(
        &mut self,
        key: &str,
        make: &mut dyn FnMut() -> Result<HostValue>,
    ) -> Result<(usize, Vec<usize>)>;

    /// The type the weights are stored and activations computed in.
    fn precision(&self) -> DType {
        DType::F32
    }
}

/// The graph resolved for one set of input shapes.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub input_shapes: Vec<Vec<usize>>,
    pub steps: Vec<Step>,
    /// For each value a step reads, the index of the last step that reads it (none
    /// for a graph output, which outlives the steps).
    pub last_use: HashMap<ValueId, usize>,
    /// Graph outputs known on the host (a model whose output is a constant).
    pub host_outputs: HashMap<ValueId, HostValue>,
    /// Every value's shape (including values folded on the host).
    pub shapes: HashMap<ValueId, Vec<usize>>,
    /// Values whose producing step writes them straight into their part of a
    /// concatenation's output, so that the concatenation copies nothing for them.
    pub parts: HashMap<ValueId, Part>,
    /// Values made by the planner, past the graph's.
    pub values: usize,
}

/// Where a value is stored in place: elements `[offset, offset + numel)` of the
/// concatenation `of`, which is contiguous there (every dimension before the
/// concatenated one is 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    pub of: ValueId,
    pub offset: usize,
}

/// A value while planning.
#[derive(Clone, Debug)]
enum Val {
    Host(HostValue),
    Dev(Vec<usize>),
}

struct Planner<'a> {
    graph: &'a Graph,
    weights: &'a mut dyn Weights,
    vals: HashMap<ValueId, Val>,
    steps: Vec<Step>,
    next: ValueId,
    node: usize,
    weight_shapes: HashMap<usize, Vec<usize>>,
}

/// What the executor does not run (the node is named by [`Plan::new`]).
fn op_err(m: impl std::fmt::Display) -> Error {
    Error::Unsupported(m.to_string())
}

/// Shapes or attributes that disagree (the node is named by [`Plan::new`]).
fn shape_err(m: impl std::fmt::Display) -> Error {
    Error::Format(m.to_string())
}

/// Elements of a shape, checked.
fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// `axis` of a tensor of `rank`, counting from the end when negative.
fn axis(axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if (0..r).contains(&a) {
        Ok(a as usize)
    } else {
        Err(shape_err(format!(
            "axis {axis} is out of range for a tensor of rank {rank}"
        )))
    }
}

/// Host arithmetic with broadcasting (shape arithmetic and constants): integers as
/// ONNX computes them on int64 (wrapping; a division by zero gives 0), floats as the
/// op's own [`Binary::apply`].
fn host_binary(f: Binary, a: &HostValue, b: &HostValue) -> Result<HostValue> {
    let g = BroadcastGeometry::new(f.name(), &a.shape, &b.shape)?;
    if g.len() > 1 << 24 {
        return Err(shape_err("a constant of over 2^24 elements"));
    }
    Ok(if a.is_int() && b.is_int() {
        let (x, y) = (a.ints(), b.ints());
        let data = (0..g.len())
            .map(|i| {
                let [i, j] = g.source(i);
                let (p, q) = (x[i], y[j]);
                match f {
                    Binary::Add => p.wrapping_add(q),
                    Binary::Sub => p.wrapping_sub(q),
                    Binary::Mul => p.wrapping_mul(q),
                    Binary::Div if q == 0 => 0,
                    Binary::Div => p.wrapping_div(q),
                }
            })
            .collect();
        HostValue::i64(g.shape, data)
    } else {
        let (x, y) = (a.floats(), b.floats());
        let data = (0..g.len())
            .map(|i| {
                let [i, j] = g.source(i);
                f.apply(x[i], y[j])
            })
            .collect();
        HostValue::f32(g.shape, data)
    })
}

/// `linear`'s weight `[n, k]` for a product by the constant `b`: `b` itself when it
/// is `[n, k]` already (`transposed`), else `b [k, n]` transposed; times `alpha`.
fn linear_weight(b: &HostValue, [k, n]: [usize; 2], transposed: bool, alpha: f32) -> HostValue {
    let bf = b.floats();
    let mut w = vec![0f32; n * k];
    for i in 0..n {
        for j in 0..k {
            let v = if transposed {
                bf[i * k + j]
            } else {
                bf[j * n + i]
            };
            w[i * k + j] = alpha * v;
        }
    }
    HostValue::f32(vec![n, k], w)
}

/// A copy op (permute, slice, cat) of host values, checked as the op checks it and
/// run by the CPU reference on the values' own type (integers stay exact).
fn host_copy_op(op: Op, parts: &[&HostValue]) -> Result<HostValue> {
    fn run<T: Copy + Default>(call: &Call, data: &[&[T]]) -> Option<Vec<T>> {
        match call {
            Call::Permute(g) => Some(host_copy::permute(data[0], g)),
            Call::Slice(g) => Some(host_copy::slice(data[0], g)),
            Call::Cat(g) => Some(host_copy::cat(data, g)),
            _ => None,
        }
    }
    let shapes: Vec<Option<&[usize]>> = parts.iter().map(|p| Some(p.shape.as_slice())).collect();
    let call = op.check(&shapes)?;
    let shape = call.output_shape();
    let not_copy = || op_err(format!("{} folded on the host", op.name()));
    if parts.iter().all(|p| p.is_int()) {
        let data: Vec<Vec<i64>> = parts.iter().map(|p| p.ints()).collect();
        let refs: Vec<&[i64]> = data.iter().map(Vec::as_slice).collect();
        Ok(HostValue::i64(
            shape,
            run(&call, &refs).ok_or_else(not_copy)?,
        ))
    } else {
        let data: Vec<Vec<f32>> = parts.iter().map(|p| p.floats()).collect();
        let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        Ok(HostValue::f32(
            shape,
            run(&call, &refs).ok_or_else(not_copy)?,
        ))
    }
}

/// Host gather along `axis` of the flat data: the elements `index(i)` of `src`.
fn host_take(src: &HostValue, shape: Vec<usize>, index: impl Fn(usize) -> usize) -> HostValue {
    let n = numel(&shape).unwrap_or(0);
    match &src.data {
        HostData::F32(v) => HostValue::f32(shape, (0..n).map(|i| v[index(i)]).collect()),
        HostData::I64(v) => HostValue::i64(shape, (0..n).map(|i| v[index(i)]).collect()),
    }
}

/// The shape a Reshape to `target` gives `input` (`0` copies, `-1` is inferred).
fn reshape_target(input: &[usize], target: &[i64], allowzero: bool) -> Result<Vec<usize>> {
    let total = numel(input).ok_or_else(|| shape_err("too many elements"))?;
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 if !allowzero => out.push(*input.get(i).ok_or_else(|| {
                shape_err(format!(
                    "shape {target:?} copies dimension {i} of {input:?}"
                ))
            })?),
            t if t >= 0 => out.push(usize::try_from(t).map_err(|_| shape_err("size"))?),
            _ => {
                return Err(shape_err(format!(
                    "shape {target:?} is invalid for input of shape {input:?}"
                )));
            }
        }
    }
    let known = numel(&out).ok_or_else(|| shape_err("too many elements"))?;
    if let Some(i) = infer {
        if known == 0 || total % known != 0 {
            return Err(shape_err(format!(
                "shape '{target:?}' is invalid for input of size {total}"
            )));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(shape_err(format!(
            "shape '{target:?}' is invalid for input of size {total}"
        )));
    }
    Ok(out)
}

impl Planner<'_> {
    fn node(&self) -> &Node {
        &self.graph.nodes[self.node]
    }

    fn val(&self, v: ValueId) -> Result<&Val> {
        self.vals.get(&v).ok_or_else(|| {
            Error::Format(format!(
                "value '{}' read before it is computed",
                self.name(v)
            ))
        })
    }

    fn name(&self, v: ValueId) -> String {
        self.graph
            .names
            .get(v)
            .cloned()
            .unwrap_or_else(|| format!("%{v}"))
    }

    fn shape(&self, v: ValueId) -> Result<Vec<usize>> {
        Ok(match self.val(v)? {
            Val::Host(h) => h.shape.clone(),
            Val::Dev(s) => s.clone(),
        })
    }

    fn host(&self, v: Option<ValueId>) -> Option<&HostValue> {
        match v.and_then(|v| self.vals.get(&v)) {
            Some(Val::Host(h)) => Some(h),
            _ => None,
        }
    }

    /// Input `i` as host data, which this op needs at planning.
    fn const_input(&self, i: usize, what: &str) -> Result<Option<&HostValue>> {
        let node = self.node();
        match node.input(i) {
            None => Ok(None),
            Some(v) => match self.val(v)? {
                Val::Host(h) => Ok(Some(h)),
                Val::Dev(_) => Err(op_err(format!(
                    "{what} computed at run time is not supported"
                ))),
            },
        }
    }

    /// Input `i` for a kernel: a device value, or a host constant uploaded once.
    fn arg(&mut self, i: usize) -> Result<Option<Arg>> {
        let Some(v) = self.node().input(i) else {
            return Ok(None);
        };
        self.arg_of(v).map(Some)
    }

    fn arg_of(&mut self, v: ValueId) -> Result<Arg> {
        match self.val(v)?.clone() {
            Val::Dev(_) => Ok(Arg::Value(v)),
            Val::Host(h) => {
                let key = format!("{}#{}", self.name(v), v);
                let (i, shape) = self.weights.weight(&key, &mut || Ok(h.clone()))?;
                self.weight_shapes.insert(i, shape);
                Ok(Arg::Weight(i))
            }
        }
    }

    /// A weight made from host data at planning, known by `key`.
    fn weight(&mut self, key: String, value: HostValue) -> Result<Arg> {
        let mut value = Some(value);
        let (i, shape) = self.weights.weight(&key, &mut || {
            value
                .take()
                .ok_or_else(|| Error::Format("a weight made twice".into()))
        })?;
        self.weight_shapes.insert(i, shape);
        Ok(Arg::Weight(i))
    }

    fn fresh(&mut self) -> ValueId {
        self.next += 1;
        self.next - 1
    }

    /// Adds a step writing `out` (a fresh value when `None`); returns it.
    fn push(
        &mut self,
        kernel: Kernel,
        args: Vec<Option<Arg>>,
        shape: Vec<usize>,
        macs: u64,
        out: Option<ValueId>,
    ) -> ValueId {
        let out = out.unwrap_or_else(|| self.fresh());
        self.vals.insert(out, Val::Dev(shape.clone()));
        self.steps.push(Step {
            node: self.node,
            kernel,
            args,
            out,
            shape,
            macs,
        });
        out
    }

    /// Adds a step showing `x` under `shape` (no copy where `x` dies there).
    fn view(&mut self, x: ValueId, shape: Vec<usize>, out: Option<ValueId>) -> ValueId {
        self.push(Kernel::View, vec![Some(Arg::Value(x))], shape, 0, out)
    }

    /// Adds an [`Op`] step, its output shape and multiply-adds from the op's own
    /// checks.
    fn emit_op(&mut self, op: Op, args: Vec<Option<Arg>>, out: Option<ValueId>) -> Result<ValueId> {
        let call = self.check(&op, &args)?;
        Ok(self.push(Kernel::Op(op), args, call.output_shape(), call.macs(), out))
    }

    /// The call `op` makes on `args`, checked as the op checks it.
    fn check(&self, op: &Op, args: &[Option<Arg>]) -> Result<Call> {
        let shapes = args
            .iter()
            .map(|a| a.map(|a| self.arg_shape(a)).transpose())
            .collect::<Result<Vec<_>>>()?;
        let refs: Vec<Option<&[usize]>> = shapes.iter().map(|s| s.as_deref()).collect();
        op.check(&refs)
    }

    fn arg_shape(&self, a: Arg) -> Result<Vec<usize>> {
        match a {
            Arg::Value(v) => self.shape(v),
            Arg::Weight(i) => self
                .weight_shapes
                .get(&i)
                .cloned()
                .ok_or_else(|| Error::Format("a weight of unknown shape".into())),
        }
    }
}

impl Plan {
    /// Plans `graph` for inputs of `shapes` (one per graph input, in order).
    ///
    /// # Errors
    /// A node's error (shapes that disagree, an attribute given at run time that must
    /// be a constant), naming the node.
    pub fn new(graph: &Graph, shapes: &[Vec<usize>], weights: &mut dyn Weights) -> Result<Plan> {
        if shapes.len() != graph.inputs.len() {
            return Err(Error::Shape {
                op: "model",
                message: format!(
                    "the model takes {} input(s), {} given",
                    graph.inputs.len(),
                    shapes.len()
                ),
            });
        }
        let mut vals = HashMap::new();
        for (input, shape) in graph.inputs.iter().zip(shapes) {
            if let Some(declared) = &input.shape {
                let fits = declared.len() == shape.len()
                    && declared
                        .iter()
                        .zip(shape)
                        .all(|(d, s)| d.is_none_or(|d| d == *s));
                if !fits {
                    let shown: Vec<String> = declared
                        .iter()
                        .map(|d| d.map_or("?".to_string(), |d| d.to_string()))
                        .collect();
                    return Err(Error::Shape {
                        op: "model",
                        message: format!(
                            "input '{}' has shape [{}], given {shape:?}",
                            graph.names[input.value],
                            shown.join(", ")
                        ),
                    });
                }
            }
            vals.insert(input.value, Val::Dev(shape.clone()));
        }
        for (&v, c) in &graph.constants {
            vals.insert(v, Val::Host(c.clone()));
        }
        let mut planner = Planner {
            graph,
            weights,
            vals,
            steps: Vec::new(),
            next: graph.names.len(),
            node: 0,
            weight_shapes: HashMap::new(),
        };
        for i in 0..graph.nodes.len() {
            planner.node = i;
            planner
                .plan_node()
                .map_err(|e| in_node(e, &graph.nodes[i]))?;
        }
        let mut plan = Plan {
            input_shapes: shapes.to_vec(),
            values: planner.next,
            ..Plan::default()
        };
        for &o in &graph.outputs {
            if let Some(Val::Host(h)) = planner.vals.get(&o) {
                plan.host_outputs.insert(o, h.clone());
            }
        }
        for (&v, val) in &planner.vals {
            plan.shapes.insert(
                v,
                match val {
                    Val::Host(h) => h.shape.clone(),
                    Val::Dev(s) => s.clone(),
                },
            );
        }
        plan.steps = fuse_epilogues(planner.steps, &graph.outputs);
        plan.steps = fold_channel_scales(
            plan.steps,
            &graph.outputs,
            &mut plan.shapes,
            &planner.weight_shapes,
        );
        for (i, step) in plan.steps.iter().enumerate() {
            for a in step.args.iter().flatten() {
                if let Arg::Value(v) = a
                    && !graph.outputs.contains(v)
                {
                    plan.last_use.insert(*v, i);
                }
            }
        }
        plan.parts = concat_parts(&plan, &graph.outputs);
        Ok(plan)
    }

    /// Multiply-adds of the plan's convolutions and matrix products.
    pub fn macs(&self) -> u64 {
        self.steps.iter().fold(0, |n, s| n.saturating_add(s.macs))
    }
}

/// A node's error, naming the node.
pub(crate) fn in_node(e: Error, node: &Node) -> Error {
    e.at(
        &node.name,
        &format!("node '{}', {}", node.name, node.op_type),
    )
}

impl Planner<'_> {
    /// Host values of every input, when all are known (absent ones `None`).
    fn all_host(&self) -> Option<Vec<Option<HostValue>>> {
        let node = self.node();
        let mut out = Vec::with_capacity(node.inputs.len());
        for v in &node.inputs {
            match v {
                None => out.push(None),
                Some(v) => match self.vals.get(v) {
                    Some(Val::Host(h)) => out.push(Some(h.clone())),
                    _ => return None,
                },
            }
        }
        Some(out)
    }

    fn set_host(&mut self, out: ValueId, value: HostValue) {
        self.vals.insert(out, Val::Host(value));
    }

    fn x(&self) -> Result<ValueId> {
        let node = self.node();
        node.input(0).ok_or_else(|| shape_err("input 0 is missing"))
    }

    fn out(&self, i: usize) -> Result<ValueId> {
        let node = self.node();
        node.outputs
            .get(i)
            .copied()
            .ok_or_else(|| shape_err(format!("output {i} is missing")))
    }

    fn plan_node(&mut self) -> Result<()> {
        let node = self.node().clone();
        // fold on the host what is known there
        if let NodeOp::Shape { start, end } = node.op {
            let shape = self.shape(self.x()?)?;
            let r = shape.len() as i64;
            let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
            let (s, e) = (clamp(start), clamp(end.unwrap_or(r)));
            let dims: Vec<i64> = shape[s..e.max(s)].iter().map(|&d| d as i64).collect();
            self.set_host(self.out(0)?, HostValue::i64(vec![dims.len()], dims));
            return Ok(());
        }
        if let Some(inputs) = self.all_host()
            && let Some(values) = self.fold(&node, &inputs)?
        {
            for (o, v) in node.outputs.iter().zip(values) {
                self.set_host(*o, v);
            }
            return Ok(());
        }
        self.plan_device(&node)
    }

    /// The node's outputs computed on the host, or `None` for an op not folded there.
    fn fold(&self, node: &Node, inputs: &[Option<HostValue>]) -> Result<Option<Vec<HostValue>>> {
        let get = |i: usize| -> Result<&HostValue> {
            inputs
                .get(i)
                .and_then(Option::as_ref)
                .ok_or_else(|| shape_err(format!("input {i} is missing")))
        };
        let one = |v: HostValue| Ok(Some(vec![v]));
        match &node.op {
            NodeOp::Identity => one(get(0)?.clone()),
            NodeOp::Cast { to } => {
                let x = get(0)?;
                use super::onnx::proto::data_type as t;
                match *to {
                    t::FLOAT | t::DOUBLE | t::FLOAT16 | t::BFLOAT16 => {
                        // the values rounded to a narrower type, held as f32
                        let round: fn(f32) -> f32 = match *to {
                            t::FLOAT16 => |v| DType::F16.round(v),
                            t::BFLOAT16 => |v| half::bf16::from_f32(v).to_f32(),
                            _ => |v| v,
                        };
                        let values = x.floats().into_iter().map(round).collect();
                        one(HostValue::f32(x.shape.clone(), values))
                    }
                    t::INT64
                    | t::INT32
                    | t::INT16
                    | t::INT8
                    | t::UINT8
                    | t::UINT16
                    | t::UINT32
                    | t::UINT64
                    | t::BOOL => one(HostValue::i64(x.shape.clone(), x.ints())),
                    other => Err(op_err(format!("a cast to {}", t::name(other)))),
                }
            }
            NodeOp::Binary(f) => one(host_binary(*f, get(0)?, get(1)?)?),
            NodeOp::Unsqueeze { axes } | NodeOp::Squeeze { axes } => {
                let x = get(0)?;
                let axes = match axes {
                    Some(a) => Some(a.clone()),
                    None => inputs.get(1).and_then(Option::as_ref).map(HostValue::ints),
                };
                let shape = self.squeeze_shape(node, &x.shape, axes.as_deref())?;
                one(x.clone().reshaped(shape))
            }
            NodeOp::Reshape { allowzero } => {
                let x = get(0)?;
                let shape = reshape_target(&x.shape, &get(1)?.ints(), *allowzero)?;
                one(x.clone().reshaped(shape))
            }
            NodeOp::Flatten { axis: a } => {
                let x = get(0)?;
                let a = if *a == x.shape.len() as i64 {
                    x.shape.len()
                } else {
                    axis(*a, x.shape.len().max(1))?
                };
                let shape = vec![x.shape[..a].iter().product(), x.shape[a..].iter().product()];
                one(x.clone().reshaped(shape))
            }
            NodeOp::Concat { axis: a } => {
                let parts: Vec<&HostValue> = inputs.iter().flatten().collect();
                one(host_copy_op(Op::Cat { dim: *a }, &parts)?)
            }
            NodeOp::Gather { axis: a } => {
                let x = get(0)?;
                let idx = get(1)?;
                let a = axis(*a, x.shape.len())?;
                let len = x.shape[a];
                let ids = idx
                    .ints()
                    .iter()
                    .map(|&i| {
                        let j = if i < 0 { i + len as i64 } else { i };
                        usize::try_from(j).ok().filter(|&j| j < len).ok_or_else(|| {
                            shape_err(format!(
                                "index {i} is out of bounds for dimension {a} with size {len}"
                            ))
                        })
                    })
                    .collect::<Result<Vec<usize>>>()?;
                let mut shape = x.shape[..a].to_vec();
                shape.extend_from_slice(&idx.shape);
                shape.extend_from_slice(&x.shape[a + 1..]);
                let inner: usize = x.shape[a + 1..].iter().product();
                let k = ids.len();
                one(host_take(x, shape, |i| {
                    let (o, rest) = (i / (k * inner), i % (k * inner));
                    let (j, r) = (rest / inner.max(1), rest % inner.max(1));
                    (o * len + ids[j]) * inner + r
                }))
            }
            NodeOp::Slice { .. } => {
                let mut cur = get(0)?.clone();
                for spec in self.slice_specs(node, cur.shape.len())? {
                    cur = host_copy_op(Op::Slice(spec), &[&cur])?;
                }
                one(cur)
            }
            NodeOp::ConstantOfShape { value } => {
                let dims: Vec<usize> = get(0)?
                    .ints()
                    .iter()
                    .map(|&d| usize::try_from(d).map_err(|_| shape_err("negative size")))
                    .collect::<Result<_>>()?;
                if numel(&dims).is_none_or(|n| n > 1 << 24) {
                    return Err(shape_err("over 2^24 elements"));
                }
                one(host_take(value, dims, |_| 0))
            }
            NodeOp::Range => {
                let (s, l, d) = (get(0)?, get(1)?, get(2)?);
                if s.is_int() {
                    let (s, l, d) = (s.ints()[0], l.ints()[0], d.ints()[0]);
                    if d == 0 {
                        return Err(shape_err("delta is zero"));
                    }
                    let n = ((l - s) as f64 / d as f64).ceil().max(0.0) as usize;
                    if n > 1 << 24 {
                        return Err(shape_err("over 2^24 elements"));
                    }
                    one(HostValue::i64(
                        vec![n],
                        (0..n as i64).map(|i| s + i * d).collect(),
                    ))
                } else {
                    let (s, l, d) = (s.floats()[0], l.floats()[0], d.floats()[0]);
                    let n = ((l - s) / d).ceil().max(0.0);
                    if n.is_nan() || n > (1 << 24) as f32 {
                        return Err(shape_err("over 2^24 elements"));
                    }
                    let n = n as usize;
                    one(HostValue::f32(
                        vec![n],
                        (0..n).map(|i| s + i as f32 * d).collect(),
                    ))
                }
            }
            NodeOp::Transpose { perm } => {
                let x = get(0)?;
                let perm = self.perm(perm.as_deref(), x.shape.len())?;
                one(host_copy_op(Op::Permute(perm), &[x])?)
            }
            _ => Ok(None),
        }
    }

    /// The shape Squeeze (`node.op`) or Unsqueeze gives `shape` with `axes`.
    fn squeeze_shape(
        &self,
        node: &Node,
        shape: &[usize],
        axes: Option<&[i64]>,
    ) -> Result<Vec<usize>> {
        match node.op {
            NodeOp::Unsqueeze { .. } => {
                let axes = axes.ok_or_else(|| shape_err("no axes"))?;
                let rank = shape.len() + axes.len();
                let mut norm = axes
                    .iter()
                    .map(|&a| axis(a, rank))
                    .collect::<Result<Vec<_>>>()?;
                norm.sort_unstable();
                if norm.windows(2).any(|w| w[0] == w[1]) {
                    return Err(shape_err(format!("repeated axes {axes:?}")));
                }
                let mut out = Vec::with_capacity(rank);
                let mut src = shape.iter();
                for d in 0..rank {
                    if norm.contains(&d) {
                        out.push(1);
                    } else {
                        out.push(*src.next().unwrap_or(&1));
                    }
                }
                Ok(out)
            }
            _ => match axes {
                None => Ok(shape.iter().copied().filter(|&d| d != 1).collect()),
                Some(axes) => {
                    let norm = axes
                        .iter()
                        .map(|&a| axis(a, shape.len()))
                        .collect::<Result<Vec<_>>>()?;
                    for &a in &norm {
                        if shape[a] != 1 {
                            return Err(shape_err(format!(
                                "cannot squeeze axis {a} of size {} in {shape:?}",
                                shape[a]
                            )));
                        }
                    }
                    Ok(shape
                        .iter()
                        .enumerate()
                        .filter(|(d, _)| !norm.contains(d))
                        .map(|(_, &s)| s)
                        .collect())
                }
            },
        }
    }

    /// Transpose's permutation of `rank` axes (reversed when absent).
    fn perm(&self, perm: Option<&[i64]>, rank: usize) -> Result<Permutation> {
        match perm {
            Some(dims) => Permutation::new(dims),
            None => Permutation::new(&(0..rank as i64).rev().collect::<Vec<_>>()),
        }
    }

    /// Slice's slices, one per axis it names, from its attributes (opset < 10) or its
    /// constant inputs.
    fn slice_specs(&self, node: &Node, rank: usize) -> Result<Vec<SliceParams>> {
        let (starts, ends, axes, steps) = match &node.op {
            NodeOp::Slice { attrs: Some(a) } => {
                (a.starts.clone(), a.ends.clone(), a.axes.clone(), None)
            }
            _ => {
                let given = |i: usize, what: &str| -> Result<Option<Vec<i64>>> {
                    Ok(self.const_input(i, what)?.map(HostValue::ints))
                };
                let starts = given(1, "starts")?.ok_or_else(|| shape_err("starts are missing"))?;
                let ends = given(2, "ends")?.ok_or_else(|| shape_err("ends are missing"))?;
                (starts, ends, given(3, "axes")?, given(4, "steps")?)
            }
        };
        let axes = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
        let steps = steps.unwrap_or_else(|| vec![1; starts.len()]);
        if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
            return Err(shape_err("starts, ends, axes and steps differ in length"));
        }
        (0..starts.len())
            .map(|i| {
                Ok(SliceParams {
                    dim: axis(axes[i], rank)? as i64,
                    start: starts[i],
                    end: ends[i],
                    step: steps[i],
                })
            })
            .collect()
    }
}

impl Planner<'_> {
    /// Plans a node whose inputs are not all on the host: its kernels.
    fn plan_device(&mut self, node: &Node) -> Result<()> {
        let x = self.x()?;
        let xs = self.shape(x)?;
        let out = self.out(0)?;
        let rank4 = |what: &str| -> Result<[usize; 4]> {
            <[usize; 4]>::try_from(xs.as_slice()).map_err(|_| {
                shape_err(format!("{what} expects a 4-D NCHW input, got shape {xs:?}"))
            })
        };
        match &node.op {
            NodeOp::Conv { params, pads, relu } => {
                let mut params = *params;
                if let Some(pads) = pads {
                    let w = self.shape(node.input(1).ok_or_else(|| shape_err("no weight"))?)?;
                    let [_, _, h, wd] = rank4("Conv")?;
                    let kernel = [
                        w.get(2).copied().unwrap_or(1) as i64,
                        w.get(3).copied().unwrap_or(1) as i64,
                    ];
                    let [t, l, b, r] =
                        pads.resolve([h, wd], kernel, params.stride, params.dilation);
                    params.padding = if t == b && l == r {
                        Padding::Explicit([t, l])
                    } else {
                        Padding::Sides([t, b, l, r])
                    };
                }
                let args = vec![Some(Arg::Value(x)), self.arg(1)?, self.arg(2)?];
                self.emit_op(
                    Op::Conv2d {
                        params,
                        epilogue: Epilogue::relu(*relu),
                    },
                    args,
                    Some(out),
                )?;
            }
            NodeOp::ConvTranspose {
                stride,
                dilation,
                group,
                pads,
                output_padding,
                output_shape,
            } => {
                let [_, _, h, wd] = rank4("ConvTranspose")?;
                let ws = self.shape(node.input(1).ok_or_else(|| shape_err("no weight"))?)?;
                let &[_, _, kh, kw] = ws.as_slice() else {
                    return Err(shape_err(format!("weight of shape {ws:?}")));
                };
                let size = [h as i64, wd as i64];
                let kernel = [kh as i64, kw as i64];
                let ext = |d: usize| dilation[d] * (kernel[d] - 1) + 1;
                let mut sides = [0i64; 4];
                for d in 0..2 {
                    let full = stride[d] * (size[d] - 1) + output_padding[d] + ext(d);
                    let (begin, end) = match (output_shape, pads) {
                        (Some(o), pads) => {
                            let total = full - o[d];
                            if *pads == AutoPad::SameUpper {
                                (total / 2, total - total / 2)
                            } else {
                                (total - total / 2, total / 2)
                            }
                        }
                        (None, AutoPad::Explicit(p)) => (p[d], p[d + 2]),
                        (None, same) => {
                            let total = (full - size[d] * stride[d]).max(0);
                            if *same == AutoPad::SameUpper {
                                (total / 2, total - total / 2)
                            } else {
                                (total - total / 2, total / 2)
                            }
                        }
                    };
                    sides[d] = begin;
                    sides[d + 2] = end;
                }
                // PyTorch's form pads both sides alike: the smaller padding of each
                // axis, then the rows and columns ONNX's larger side drops sliced off
                let padding = [sides[0].min(sides[2]), sides[1].min(sides[3])];
                if sides.iter().any(|&p| p < 0) {
                    return Err(op_err(format!("negative pads {sides:?}")));
                }
                let params = ConvTranspose2dParams {
                    stride: *stride,
                    padding,
                    output_padding: *output_padding,
                    groups: *group,
                    dilation: *dilation,
                };
                // the rows and columns ONNX's larger padding drops, per axis
                let crop = [
                    sides[0] + sides[2] - 2 * padding[0],
                    sides[1] + sides[3] - 2 * padding[1],
                ];
                let op = Op::ConvTranspose2d(params);
                let args = vec![Some(Arg::Value(x)), self.arg(1)?, self.arg(2)?];
                if crop == [0, 0] {
                    self.emit_op(op, args, Some(out))?;
                    return Ok(());
                }
                let mut cur = self.emit_op(op, args, None)?;
                let cuts: Vec<usize> = (0..2).filter(|&d| crop[d] > 0).collect();
                for (j, &d) in cuts.iter().enumerate() {
                    let len = self.shape(cur)?[d + 2] as i64 - crop[d];
                    if len <= 0 {
                        return Err(shape_err(format!("output size {len} is not positive")));
                    }
                    let start = sides[d] - padding[d];
                    let spec = SliceParams {
                        dim: d as i64 + 2,
                        start,
                        end: start + len,
                        step: 1,
                    };
                    let target = (j + 1 == cuts.len()).then_some(out);
                    cur = self.emit_op(Op::Slice(spec), vec![Some(Arg::Value(cur))], target)?;
                }
            }
            NodeOp::BatchNorm { eps } => {
                let args = vec![
                    Some(Arg::Value(x)),
                    self.arg(3)?,
                    self.arg(4)?,
                    self.arg(1)?,
                    self.arg(2)?,
                ];
                self.emit_op(Op::BatchNorm { eps: *eps }, args, Some(out))?;
            }
            NodeOp::Unary(u) => {
                self.emit_op(Op::Unary(*u), vec![Some(Arg::Value(x))], Some(out))?;
            }
            NodeOp::Clip => {
                let bound = |i: usize, default: f32| -> Result<f32> {
                    match self.const_input(i, "a Clip bound")? {
                        None => Ok(default),
                        Some(h) if h.len() == 1 => Ok(h.floats()[0]),
                        Some(h) => Err(shape_err(format!("a Clip bound of shape {:?}", h.shape))),
                    }
                };
                let u = Unary::Clamp {
                    min: bound(1, f32::NEG_INFINITY)?,
                    max: bound(2, f32::INFINITY)?,
                };
                self.emit_op(Op::Unary(u), vec![Some(Arg::Value(x))], Some(out))?;
            }
            NodeOp::Binary(f) => {
                let args = vec![self.arg(0)?, self.arg(1)?];
                self.emit_op(Op::Binary(*f), args, Some(out))?;
            }
            NodeOp::Concat { axis: a } => {
                let args = node
                    .inputs
                    .iter()
                    .flatten()
                    .map(|&v| self.arg_of(v).map(Some))
                    .collect::<Result<Vec<_>>>()?;
                self.emit_op(Op::Cat { dim: *a }, args, Some(out))?;
            }
            NodeOp::Split { axis: a, split } => {
                let a = axis(*a, xs.len())?;
                let len = xs[a];
                let k = node.outputs.len();
                let sizes: Vec<usize> = match split {
                    Some(s) => s.iter().map(|&v| v.max(0) as usize).collect(),
                    None => match self.const_input(1, "split sizes")? {
                        Some(h) => h.ints().iter().map(|&v| v.max(0) as usize).collect(),
                        None => {
                            let each = len.div_ceil(k.max(1));
                            (0..k)
                                .map(|i| each.min(len.saturating_sub(i * each)))
                                .collect()
                        }
                    },
                };
                if sizes.len() != k || sizes.iter().sum::<usize>() != len {
                    return Err(shape_err(format!(
                        "split sizes {sizes:?} do not divide dimension {a} of size {len} into {k}"
                    )));
                }
                let mut start = 0;
                for (i, &size) in sizes.iter().enumerate() {
                    let mut shape = xs.clone();
                    shape[a] = size;
                    let kernel = SliceParams {
                        dim: a as i64,
                        start: start as i64,
                        end: (start + size) as i64,
                        step: 1,
                    };
                    self.emit_op(
                        Op::Slice(kernel),
                        vec![Some(Arg::Value(x))],
                        Some(node.outputs[i]),
                    )?;
                    start += size;
                }
            }
            NodeOp::Slice { .. } => {
                // one copy per axis the slice changes; none, a view
                let mut cur = x;
                let mut shape = xs.clone();
                let mut copies = Vec::new();
                for spec in self.slice_specs(node, xs.len())? {
                    let g = spec.geometry(&shape)?;
                    if g.len != shape[g.dim] || g.step != 1 {
                        shape = g.output_shape();
                        copies.push(spec);
                    }
                }
                if copies.is_empty() {
                    self.view(x, shape, Some(out));
                }
                let last = copies.len();
                for (j, spec) in copies.into_iter().enumerate() {
                    let target = (j + 1 == last).then_some(out);
                    cur = self.emit_op(Op::Slice(spec), vec![Some(Arg::Value(cur))], target)?;
                }
            }
            NodeOp::Transpose { perm } => {
                let perm = self.perm(perm.as_deref(), xs.len())?;
                let g = perm.geometry(&xs)?;
                if g.dims.iter().enumerate().all(|(i, &d)| i == d) {
                    self.view(x, xs, Some(out));
                } else {
                    self.emit_op(Op::Permute(perm), vec![Some(Arg::Value(x))], Some(out))?;
                }
            }
            NodeOp::Reshape { allowzero } => {
                let target = self
                    .const_input(1, "the target shape")?
                    .ok_or_else(|| shape_err("no target shape"))?
                    .ints();
                let shape = reshape_target(&xs, &target, *allowzero)?;
                self.view(x, shape, Some(out));
            }
            NodeOp::View {
                shape: ViewShape::Flatten { start_dim, end_dim },
            } => {
                let shape = crate::nn::layer::flatten_shape(&xs, *start_dim, *end_dim)?;
                self.view(x, shape, Some(out));
            }
            NodeOp::Flatten { axis: a } => {
                let a = if *a == xs.len() as i64 {
                    xs.len()
                } else {
                    axis(*a, xs.len().max(1))?
                };
                let shape = vec![xs[..a].iter().product(), xs[a..].iter().product()];
                self.view(x, shape, Some(out));
            }
            NodeOp::Squeeze { axes } | NodeOp::Unsqueeze { axes } => {
                let axes = match axes {
                    Some(a) => Some(a.clone()),
                    None => self.const_input(1, "axes")?.map(HostValue::ints),
                };
                let shape = self.squeeze_shape(node, &xs, axes.as_deref())?;
                self.view(x, shape, Some(out));
            }
            NodeOp::MaxPool { params, pads } => {
                let [_, _, h, w] = rank4(&node.op_type)?;
                let stride = params.stride.unwrap_or(params.kernel_size);
                let sides = pads.resolve([h, w], params.kernel_size, stride, params.dilation);
                let mut p = *params;
                let input = self.pool_input(x, &xs, sides, f32::NEG_INFINITY, &mut p.padding)?;
                let op = Op::MaxPool2d {
                    params: p,
                    return_indices: false,
                };
                self.emit_op(op, vec![Some(Arg::Value(input))], Some(out))?;
            }
            NodeOp::AveragePool { params, pads } => {
                let [_, _, h, w] = rank4(&node.op_type)?;
                let stride = params.stride.unwrap_or(params.kernel_size);
                let sides = pads.resolve([h, w], params.kernel_size, stride, [1, 1]);
                let mut p = *params;
                let input = self.pool_input(x, &xs, sides, 0.0, &mut p.padding)?;
                let explicit = p.padding == [0, 0] && sides != [0; 4];
                if !explicit || p.count_include_pad {
                    // padding the pool sees is PyTorch's, or zeros it counts as ONNX does
                    self.emit_op(Op::AvgPool2d(p), vec![Some(Arg::Value(input))], Some(out))?;
                } else {
                    // zeros it must not count: the mean over the whole window, scaled by
                    // the window's area over its cells inside the input
                    p.count_include_pad = true;
                    let pooled =
                        self.emit_op(Op::AvgPool2d(p), vec![Some(Arg::Value(input))], None)?;
                    let shape = self.shape(pooled)?;
                    let (oh, ow) = (shape[2], shape[3]);
                    let [kh, kw] = p.kernel_size.map(|k| k.max(1) as usize);
                    let [sh, sw] = stride.map(|s| s.max(1) as usize);
                    let inside = |o: usize, s: usize, k: usize, before: i64, len: usize| -> usize {
                        let start = (o * s) as i64 - before;
                        let (lo, hi) = (start.max(0), (start + k as i64).min(len as i64));
                        (hi - lo).max(0) as usize
                    };
                    let mut factor = Vec::with_capacity(oh * ow);
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let cells =
                                inside(oy, sh, kh, sides[0], h) * inside(ox, sw, kw, sides[1], w);
                            factor.push(if cells == 0 {
                                0.0
                            } else {
                                (kh * kw) as f32 / cells as f32
                            });
                        }
                    }
                    let key = format!(
                        "#pool_count{:?}{:?}{:?}{:?}",
                        [h, w, oh, ow],
                        sides,
                        p.kernel_size,
                        stride
                    );
                    let f = self.weight(key, HostValue::f32(vec![1, 1, oh, ow], factor))?;
                    self.emit_op(
                        Op::Binary(Binary::Mul),
                        vec![Some(Arg::Value(pooled)), Some(f)],
                        Some(out),
                    )?;
                }
            }
            NodeOp::AdaptiveAvgPool { output_size } => {
                self.emit_op(
                    Op::AdaptiveAvgPool2d {
                        output_size: *output_size,
                    },
                    vec![Some(Arg::Value(x))],
                    Some(out),
                )?;
            }
            NodeOp::AdaptiveMaxPool { output_size } => {
                self.emit_op(
                    Op::AdaptiveMaxPool2d {
                        output_size: *output_size,
                        return_indices: false,
                    },
                    vec![Some(Arg::Value(x))],
                    Some(out),
                )?;
            }
            NodeOp::ReduceMean {
                axes,
                keepdims,
                noop_with_empty_axes,
            } => {
                let axes = match axes {
                    Some(a) => Some(a.clone()),
                    None => self.const_input(1, "axes")?.map(HostValue::ints),
                };
                let axes: Vec<usize> = match axes {
                    Some(a) if !a.is_empty() => a
                        .iter()
                        .map(|&v| axis(v, xs.len()))
                        .collect::<Result<_>>()?,
                    _ if *noop_with_empty_axes => {
                        self.view(x, xs, Some(out));
                        return Ok(());
                    }
                    _ => (0..xs.len()).collect(),
                };
                let kept: Vec<usize> = xs
                    .iter()
                    .enumerate()
                    .map(|(d, &s)| if axes.contains(&d) { 1 } else { s })
                    .collect();
                let dropped: Vec<usize> = xs
                    .iter()
                    .enumerate()
                    .filter(|(d, _)| !axes.contains(d))
                    .map(|(_, &s)| s)
                    .collect();
                let shape = if *keepdims { kept } else { dropped };
                let trivial = axes.iter().all(|&a| xs[a] == 1);
                if trivial {
                    self.view(x, shape, Some(out));
                } else if xs.len() == 4 && axes.iter().all(|&a| a >= 2 || xs[a] == 1) {
                    let pooled = self.emit_op(
                        Op::AdaptiveAvgPool2d {
                            output_size: [
                                Some(if axes.contains(&2) { 1 } else { xs[2] as i64 }),
                                Some(if axes.contains(&3) { 1 } else { xs[3] as i64 }),
                            ],
                        },
                        vec![Some(Arg::Value(x))],
                        None,
                    )?;
                    self.view(pooled, shape, Some(out));
                } else {
                    // the reduced axes moved last, then one mean per row
                    let mut perm: Vec<i64> = (0..xs.len())
                        .filter(|d| !axes.contains(d))
                        .map(|d| d as i64)
                        .collect();
                    let rows: usize = perm.iter().map(|&d| xs[d as usize]).product();
                    perm.extend(axes.iter().map(|&d| d as i64));
                    let cols: usize = axes.iter().map(|&d| xs[d]).product();
                    let mut cur = x;
                    if perm.iter().enumerate().any(|(i, &p)| i as i64 != p) {
                        let op = Op::Permute(Permutation::new(&perm)?);
                        cur = self.emit_op(op, vec![Some(Arg::Value(cur))], None)?;
                    }
                    let flat = self.view(cur, vec![1, rows, 1, cols], None);
                    let pooled = self.emit_op(
                        Op::AdaptiveAvgPool2d {
                            output_size: [Some(1), Some(1)],
                        },
                        vec![Some(Arg::Value(flat))],
                        None,
                    )?;
                    self.view(pooled, shape, Some(out));
                }
            }
            NodeOp::Resize {
                mode,
                coordinate,
                nearest,
                scales_at,
                sizes_at,
            } => {
                let [n, c, h, w] = rank4(&node.op_type)?;
                let sizes = match sizes_at {
                    Some(i) => self
                        .const_input(*i, "sizes")?
                        .filter(|v| !v.is_empty())
                        .map(HostValue::ints),
                    None => None,
                };
                let scales = self
                    .const_input(*scales_at, "scales")?
                    .filter(|v| !v.is_empty())
                    .map(HostValue::floats);
                let (size, scale) = match (sizes, scales) {
                    (Some(s), _) => {
                        if s.len() != 4
                            || s[0] != n as i64
                            || s[1] != c as i64
                            || s[2] < 0
                            || s[3] < 0
                        {
                            return Err(op_err(format!(
                                "sizes {s:?} for an input of {xs:?} (wgcnn resizes H and W)"
                            )));
                        }
                        let size = [s[2] as usize, s[3] as usize];
                        (size, [size[0] as f32 / h as f32, size[1] as f32 / w as f32])
                    }
                    (None, Some(sc)) => {
                        if sc.len() != 4
                            || sc[0] != 1.0
                            || sc[1] != 1.0
                            || !(sc[2] > 0.0 && sc[3] > 0.0)
                        {
                            return Err(op_err(format!(
                                "scales {sc:?} (wgcnn resizes H and W by positive scales)"
                            )));
                        }
                        let out = |len: usize, s: f32| (f64::from(len as f32 * s)).floor();
                        let size = [out(h, sc[2]), out(w, sc[3])];
                        if size.iter().any(|&v| v.is_nan() || v >= 2f64.powi(31)) {
                            return Err(shape_err(format!("an output size of {size:?}")));
                        }
                        ([size[0] as usize, size[1] as usize], [sc[2], sc[3]])
                    }
                    (None, None) => {
                        return Err(shape_err("neither scales nor sizes are given"));
                    }
                };
                let params = ResizeParams {
                    mode: *mode,
                    coordinate: *coordinate,
                    nearest: *nearest,
                    size,
                    scale,
                };
                self.emit_op(Op::Resize(params), vec![Some(Arg::Value(x))], Some(out))?;
            }
            NodeOp::Interpolate(params) => {
                self.emit_op(
                    Op::Interpolate(*params),
                    vec![Some(Arg::Value(x))],
                    Some(out),
                )?;
            }
            NodeOp::Gemm {
                alpha,
                beta,
                trans_a,
                trans_b,
            } => self.plan_gemm(node, x, out, *alpha, *beta, *trans_a, *trans_b)?,
            NodeOp::MatMul => self.plan_matmul(node, x, out)?,
            NodeOp::Linear => {
                let args = vec![Some(Arg::Value(x)), self.arg(1)?, self.arg(2)?];
                self.emit_op(Op::Linear, args, Some(out))?;
            }
            NodeOp::Softmax { axis: a, legacy } => {
                let d = axis(*a, xs.len().max(1))?;
                if *legacy && d + 1 != xs.len() {
                    let rows: usize = xs[..d].iter().product();
                    let cols: usize = xs[d..].iter().product();
                    let flat = self.view(x, vec![rows, cols], None);
                    let sm =
                        self.emit_op(Op::Softmax { dim: 1 }, vec![Some(Arg::Value(flat))], None)?;
                    self.view(sm, xs, Some(out));
                } else {
                    self.emit_op(
                        Op::Softmax { dim: d as i64 },
                        vec![Some(Arg::Value(x))],
                        Some(out),
                    )?;
                }
            }
            NodeOp::Identity => {
                self.view(x, xs, Some(out));
            }
            NodeOp::Cast { to } => {
                use super::onnx::proto::data_type as t;
                // every value of a model is of its precision: a cast to FLOAT is a view,
                // and one to FLOAT16 rounds the values to f16 (in an f16 model they are
                // already), held in the model's type
                match *to {
                    t::FLOAT => {
                        self.view(x, xs, Some(out));
                    }
                    t::FLOAT16 if self.weights.precision() == DType::F16 => {
                        self.view(x, xs, Some(out));
                    }
                    t::FLOAT16 => {
                        let arg = vec![Some(Arg::Value(x))];
                        let h = self.push(Kernel::Convert(DType::F16), arg, xs.clone(), 0, None);
                        let back = Kernel::Convert(self.weights.precision());
                        self.push(back, vec![Some(Arg::Value(h))], xs, 0, Some(out));
                    }
                    _ => {
                        return Err(op_err(format!(
                            "a cast of a float tensor to {}",
                            t::name(*to)
                        )));
                    }
                }
            }
            NodeOp::Gather { axis: a } => {
                let a = axis(*a, xs.len())?;
                let idx = self
                    .const_input(1, "indices")?
                    .ok_or_else(|| shape_err("no indices"))?
                    .clone();
                let len = xs[a];
                let ids = idx
                    .ints()
                    .iter()
                    .map(|&i| {
                        let j = if i < 0 { i + len as i64 } else { i };
                        (0..len as i64).contains(&j).then_some(j).ok_or_else(|| {
                            shape_err(format!(
                                "index {i} is out of bounds for dimension {a} with size {len}"
                            ))
                        })
                    })
                    .collect::<Result<Vec<i64>>>()?;
                let mut shape = xs[..a].to_vec();
                shape.extend_from_slice(&idx.shape);
                shape.extend_from_slice(&xs[a + 1..]);
                let mut parts = Vec::new();
                let mut i = 0;
                while i < ids.len() {
                    // a run of consecutive indices is one slice
                    let mut j = i + 1;
                    while j < ids.len() && ids[j] == ids[j - 1] + 1 {
                        j += 1;
                    }
                    let mut piece = xs.clone();
                    piece[a] = j - i;
                    let kernel = SliceParams {
                        dim: a as i64,
                        start: ids[i],
                        end: ids[j - 1] + 1,
                        step: 1,
                    };
                    parts.push(Some(Arg::Value(self.emit_op(
                        Op::Slice(kernel),
                        vec![Some(Arg::Value(x))],
                        None,
                    )?)));
                    i = j;
                }
                let mut joined = xs.clone();
                joined[a] = ids.len();
                let y = if parts.len() == 1 {
                    match parts[0] {
                        Some(Arg::Value(v)) => v,
                        _ => x,
                    }
                } else {
                    self.emit_op(Op::Cat { dim: a as i64 }, parts, None)?
                };
                self.view(y, shape, Some(out));
            }
            NodeOp::Shape { .. } | NodeOp::ConstantOfShape { .. } | NodeOp::Range => {
                return Err(op_err(
                    "this op on a tensor computed at run time (wgcnn folds it on shapes and constants)",
                ));
            }
        }
        Ok(())
    }

    /// A pool's input and padding for ONNX's `[top, left, bottom, right]` pads:
    /// PyTorch's own padding where both sides of each axis agree, else the input padded
    /// with `fill` rows and columns and no padding left to the pool.
    fn pool_input(
        &mut self,
        x: ValueId,
        xs: &[usize],
        [t, l, b, r]: [i64; 4],
        fill: f32,
        padding: &mut [i64; 2],
    ) -> Result<ValueId> {
        if t == b && l == r {
            *padding = [t, l];
            return Ok(x);
        }
        *padding = [0, 0];
        let mut cur = x;
        let mut shape = xs.to_vec();
        for (dim, before, after) in [(2usize, t, b), (3, l, r)] {
            if before == 0 && after == 0 {
                continue;
            }
            let mut parts = Vec::new();
            let mut total = shape[dim];
            for (count, is_input) in [(before, false), (0, true), (after, false)] {
                if is_input {
                    parts.push(Some(Arg::Value(cur)));
                    continue;
                }
                if count <= 0 {
                    continue;
                }
                let count = usize::try_from(count).map_err(|_| shape_err("pads"))?;
                let mut piece = shape.clone();
                piece[dim] = count;
                total += count;
                let n = numel(&piece).ok_or_else(|| shape_err("pads"))?;
                let key = format!("#fill{fill}{piece:?}");
                parts.push(Some(
                    self.weight(key, HostValue::f32(piece, vec![fill; n]))?,
                ));
            }
            shape[dim] = total;
            cur = self.emit_op(Op::Cat { dim: dim as i64 }, parts, None)?;
        }
        Ok(cur)
    }

    #[allow(clippy::too_many_arguments)]
    fn plan_gemm(
        &mut self,
        node: &Node,
        a: ValueId,
        out: ValueId,
        alpha: f32,
        beta: f32,
        trans_a: bool,
        trans_b: bool,
    ) -> Result<()> {
        let mut a_shape = self.shape(a)?;
        if a_shape.len() != 2 {
            return Err(shape_err(format!(
                "Gemm's A has shape {a_shape:?}, expected 2-D"
            )));
        }
        let mut a_arg = Arg::Value(a);
        if trans_a {
            a_shape.reverse();
            let t = self.emit_op(
                Op::Permute(Permutation::new(&[1, 0])?),
                vec![Some(a_arg)],
                None,
            )?;
            a_arg = Arg::Value(t);
        }
        let (m, k) = (a_shape[0], a_shape[1]);
        let b = node.input(1).ok_or_else(|| shape_err("B is missing"))?;
        let bs = self.shape(b)?;
        if bs.len() != 2 {
            return Err(shape_err(format!(
                "Gemm's B has shape {bs:?}, expected 2-D"
            )));
        }
        let (bk, n) = if trans_b {
            (bs[1], bs[0])
        } else {
            (bs[0], bs[1])
        };
        if bk != k {
            return Err(shape_err(format!(
                "mat1 and mat2 shapes cannot be multiplied ({m}x{k} and {bk}x{n})"
            )));
        }
        let c = node.input(2);
        let c_host = self.host(c).cloned();
        let c_shape = c.map(|c| self.shape(c)).transpose()?;
        // a bias of n values (or one) joins the product; any other C is added after
        let c_row = c_shape.as_ref().is_some_and(|s| {
            c_host.is_some()
                && (numel(s) == Some(n) || numel(s) == Some(1))
                && s.last().is_none_or(|&l| l == n || l == 1)
                && s.len() <= 2
                && (s.len() < 2 || s[0] == 1)
        });
        let product = if let Some(bh) = self.host(Some(b)).cloned() {
            // linear(x, W, b) with W [n, k] = alpha * (B or B^T)
            let key = format!("{}#{b}#linear{trans_b}{alpha}", self.name(b));
            let w = self.weight(key, linear_weight(&bh, [k, n], trans_b, alpha))?;
            let bias = if c_row {
                let ch = c_host
                    .clone()
                    .unwrap_or_else(|| HostValue::f32(vec![1], vec![0.0]));
                let cf = ch.floats();
                let bias: Vec<f32> = (0..n)
                    .map(|i| beta * cf[if cf.len() == 1 { 0 } else { i }])
                    .collect();
                let key = format!("{}#gemm_c{}", self.name(c.unwrap_or(b)), c.unwrap_or(b));
                Some(self.weight(key, HostValue::f32(vec![n], bias))?)
            } else {
                None
            };
            let target = (c.is_none() || c_row).then_some(out);
            self.emit_op(Op::Linear, vec![Some(a_arg), Some(w), bias], target)?
        } else {
            let mut b_arg = Arg::Value(b);
            if trans_b {
                let t = self.emit_op(
                    Op::Permute(Permutation::new(&[1, 0])?),
                    vec![Some(b_arg)],
                    None,
                )?;
                b_arg = Arg::Value(t);
            }
            let mut p = self.emit_op(Op::Matmul, vec![Some(a_arg), Some(b_arg)], None)?;
            if alpha != 1.0 {
                let s = self.weight(
                    format!("#scalar{alpha}"),
                    HostValue::f32(vec![], vec![alpha]),
                )?;
                p = self.emit_op(
                    Op::Binary(Binary::Mul),
                    vec![Some(Arg::Value(p)), Some(s)],
                    None,
                )?;
            }
            if c.is_none() {
                self.view(p, vec![m, n], Some(out));
                return Ok(());
            }
            p
        };
        if c.is_none() || (c_row && self.host(Some(b)).is_some()) {
            return Ok(());
        }
        let c = c.unwrap_or_default();
        let mut c_arg = self.arg_of(c)?;
        if beta != 1.0 {
            let s = self.weight(format!("#scalar{beta}"), HostValue::f32(vec![], vec![beta]))?;
            let scaled = self.emit_op(Op::Binary(Binary::Mul), vec![Some(c_arg), Some(s)], None)?;
            c_arg = Arg::Value(scaled);
        }
        self.emit_op(
            Op::Binary(Binary::Add),
            vec![Some(Arg::Value(product)), Some(c_arg)],
            Some(out),
        )?;
        Ok(())
    }

    fn plan_matmul(&mut self, node: &Node, a: ValueId, out: ValueId) -> Result<()> {
        let a_shape = self.shape(a)?;
        let b = node
            .input(1)
            .ok_or_else(|| shape_err("input 1 is missing"))?;
        let bs = self.shape(b)?;
        if a_shape.is_empty() || bs.len() != 2 {
            return Err(op_err(format!(
                "a product of {a_shape:?} and {bs:?} (wgcnn multiplies [..., m, k] by [k, n])"
            )));
        }
        let (k, n) = (bs[0], bs[1]);
        if a_shape[a_shape.len() - 1] != k {
            return Err(shape_err(format!(
                "mat1 and mat2 shapes cannot be multiplied ({a_shape:?} and {bs:?})"
            )));
        }
        let rows: usize = a_shape[..a_shape.len() - 1].iter().product();
        let mut shape = a_shape[..a_shape.len() - 1].to_vec();
        shape.push(n);
        let flat = if a_shape.len() == 2 {
            a
        } else {
            self.view(a, vec![rows, k], None)
        };
        let product = if let Some(bh) = self.host(Some(b)).cloned() {
            let key = format!("{}#{b}#linear{}{}", self.name(b), false, 1.0f32);
            let w = self.weight(key, linear_weight(&bh, [k, n], false, 1.0))?;
            self.emit_op(
                Op::Linear,
                vec![Some(Arg::Value(flat)), Some(w), None],
                None,
            )?
        } else {
            self.emit_op(
                Op::Matmul,
                vec![Some(Arg::Value(flat)), Some(Arg::Value(b))],
                None,
            )?
        };
        self.view(product, shape, Some(out));
        Ok(())
    }
}

/// Folds into a convolution's epilogue what a network does to its output alone: a
/// residual `Add` of a tensor of the same shape (the convolution moves to the `Add`'s
/// place, after the other operand is computed), then relu, relu6 (`Clip(0, 6)`),
/// hardswish, or silu (`Mul(x, Sigmoid(x))`). A value also read elsewhere, or a graph
/// output, is left alone; so is a broadcast `Add`. The fused kernel rounds each step
/// as the separate ops do, so the numbers do not change.
fn fuse_epilogues(steps: Vec<Step>, outputs: &[ValueId]) -> Vec<Step> {
    let readers = readers(&steps, outputs);
    let mut steps: Vec<Option<Step>> = steps.into_iter().map(Some).collect();
    // the step that computes each value, and which of them are convolutions
    let mut producer: HashMap<ValueId, usize> = HashMap::new();
    let mut conv_of: HashMap<ValueId, usize> = HashMap::new();
    let value = |a: &Option<Arg>| match a {
        Some(Arg::Value(v)) => Some(*v),
        _ => None,
    };
    for i in 0..steps.len() {
        let Some(step) = steps[i].clone() else {
            continue;
        };
        producer.insert(step.out, i);
        let Kernel::Op(op) = step.kernel else {
            continue;
        };
        if let Op::Conv2d { .. } = op {
            conv_of.insert(step.out, i);
            continue;
        }
        let only_reader = |v: ValueId| readers.get(&v) == Some(&1);
        // a convolution computing `v`, read by this step alone, whose epilogue has
        // room for `what` (an activation comes last)
        let open = |v: ValueId, steps: &[Option<Step>], activation: bool| {
            let j = *conv_of.get(&v)?;
            let Some(Kernel::Op(Op::Conv2d { epilogue, .. })) =
                steps[j].as_ref().map(|s| &s.kernel)
            else {
                return None;
            };
            let free = epilogue.activation.is_none() && (activation || !epilogue.residual);
            free.then_some(j)
        };
        let activation = match op {
            Op::Relu | Op::Unary(Unary::Relu) => Some(Activation::Relu),
            Op::Unary(Unary::Clamp { min, max }) if min == 0.0 && max == 6.0 => {
                Some(Activation::Relu6)
            }
            Op::Unary(Unary::HardSwish) => Some(Activation::HardSwish),
            _ => None,
        };
        let fused = match (op, activation) {
            (_, Some(a)) => value(&step.args[0])
                .filter(|&v| only_reader(v))
                .and_then(|v| open(v, &steps, true))
                .map(|j| (j, Some(a), None, Vec::new())),
            (Op::Binary(Binary::Add), None) => {
                let (a, b) = (value(&step.args[0]), value(&step.args[1]));
                [(a, b), (b, a)].into_iter().find_map(|(c, other)| {
                    let (c, other) = (c?, other?);
                    let j = open(c, &steps, false).filter(|_| only_reader(c))?;
                    let conv = steps[j].as_ref()?;
                    // the same shape: no broadcast
                    (conv.shape == step.shape && c != other).then_some((
                        j,
                        None,
                        Some(other),
                        Vec::new(),
                    ))
                })
            }
            // Mul(x, Sigmoid(x)) of a convolution's x, read by these two alone
            (Op::Binary(Binary::Mul), None) => {
                let (a, b) = (value(&step.args[0]), value(&step.args[1]));
                [(a, b), (b, a)].into_iter().find_map(|(x, s)| {
                    let (x, s) = (x?, s?);
                    let k = *producer.get(&s)?;
                    let sigmoid = steps[k].as_ref()?;
                    if sigmoid.kernel != Kernel::Op(Op::Unary(Unary::Sigmoid))
                        || value(&sigmoid.args[0]) != Some(x)
                    {
                        return None;
                    }
                    let twice = readers.get(&x) == Some(&2) && only_reader(s);
                    let j = open(x, &steps, true).filter(|_| twice)?;
                    Some((j, Some(Activation::Silu), None, vec![k]))
                })
            }
            _ => None,
        };
        let Some((j, a, residual, also)) = fused else {
            continue;
        };
        let mut conv = steps[j].take().expect("an open convolution");
        if let Kernel::Op(Op::Conv2d { epilogue, .. }) = &mut conv.kernel {
            if let Some(r) = residual {
                epilogue.residual = true;
                conv.args.resize(3, None);
                conv.args.push(Some(Arg::Value(r)));
            }
            epilogue.activation = epilogue.activation.or(a);
        }
        conv.out = step.out;
        conv.shape = step.shape.clone();
        for k in also {
            steps[k] = None;
        }
        conv_of.insert(step.out, i);
        // the fused convolution runs here, once every operand is computed
        steps[i] = Some(conv);
    }
    steps.into_iter().flatten().collect()
}

/// How many times each value is read: by the steps' arguments, and once more if it is a
/// graph output.
fn readers(steps: &[Step], outputs: &[ValueId]) -> HashMap<ValueId, usize> {
    let mut readers: HashMap<ValueId, usize> = HashMap::new();
    for v in steps
        .iter()
        .flat_map(|s| s.args.iter().flatten())
        .filter_map(|a| match a {
            Arg::Value(v) => Some(*v),
            Arg::Weight(_) => None,
        })
        .chain(outputs.iter().copied())
    {
        *readers.entry(v).or_default() += 1;
    }
    readers
}

/// Folds the channel scaling of a squeeze-and-excitation block into the convolution
/// that reads it. Where `y = Mul(x, s)` (either order), with `x` of shape `[1, C, H, W]`
/// and `s` of `[1, C, 1, 1]`, is read only by a convolution of one group (as its
/// input, its weight `W` a model weight), the `Mul` scales the weight instead,
/// `W'[o, c, ..] = W[o, c, ..] * s[c]` (the same broadcast multiply, on `W`), and the
/// convolution reads `x` with `W'`: `conv(x * s, W) = conv(x, W * s)` for every padding
/// mode, since a padded zero scales to zero and a reflected, replicated or wrapped value
/// keeps its channel. The multiply then runs over the weight rather than the map, so
/// this is done where the weight is the smaller (an early layer's map is large, a late
/// layer's weight can be larger than its map), and at batch 1, where one scale vector
/// serves the whole call. The products round differently (`(x * s) * w` against
/// `x * (w * s)`), within the convolution's tolerance.
fn fold_channel_scales(
    mut steps: Vec<Step>,
    outputs: &[ValueId],
    shapes: &mut HashMap<ValueId, Vec<usize>>,
    weight_shapes: &HashMap<usize, Vec<usize>>,
) -> Vec<Step> {
    let readers = readers(&steps, outputs);
    // the one step that reads each value read once
    let mut reader: HashMap<ValueId, usize> = HashMap::new();
    for (j, step) in steps.iter().enumerate() {
        for a in step.args.iter().flatten() {
            if let Arg::Value(v) = a {
                reader.insert(*v, j);
            }
        }
    }
    for i in 0..steps.len() {
        let step = &steps[i];
        if step.kernel != Kernel::Op(Op::Binary(Binary::Mul)) || readers.get(&step.out) != Some(&1)
        {
            continue;
        }
        let [Some(Arg::Value(a)), Some(Arg::Value(b))] = step.args[..] else {
            continue;
        };
        let y = step.out;
        let Some(&j) = reader.get(&y) else {
            continue;
        };
        let conv = &steps[j];
        let Kernel::Op(Op::Conv2d { params, .. }) = &conv.kernel else {
            continue;
        };
        // the convolution's input, one group, its weight a model weight
        let (Some(Arg::Value(input)), Some(Arg::Weight(w))) = (conv.args[0], conv.args[1]) else {
            continue;
        };
        let Some(ws) = weight_shapes.get(&w).filter(|ws| ws.len() == 4) else {
            continue;
        };
        if input != y || params.groups != 1 {
            continue;
        }
        let found = [(a, b), (b, a)].into_iter().find(|&(x, s)| {
            let (Some(xs), Some(ss)) = (shapes.get(&x), shapes.get(&s)) else {
                return false;
            };
            xs.len() == 4
                && xs[0] == 1
                && ss[..] == [1, xs[1], 1, 1]
                && numel(ws).zip(numel(xs)).is_some_and(|(nw, nx)| nw < nx)
        });
        let Some((x, s)) = found else {
            continue;
        };
        if ws[1] != shapes[&x][1] {
            continue;
        }
        let ws = ws.clone();
        steps[i].args = vec![Some(Arg::Weight(w)), Some(Arg::Value(s))];
        steps[i].shape = ws.clone();
        shapes.insert(y, ws);
        steps[j].args[0] = Some(Arg::Value(x));
        steps[j].args[1] = Some(Arg::Value(y));
    }
    steps
}

/// The values written straight into their part of a concatenation. A part qualifies
/// where the concatenation's parts are contiguous in its output (every dimension before
/// the concatenated one is 1, as at batch 1 along channels) and one earlier step
/// computes it (an op, not a view or another concatenation), and it is neither a graph
/// output, nor a part of an earlier concatenation, nor given twice.
///
/// Placing parts saves their copies and their own buffers, but the output's buffer then
/// lives from the first placed part's step rather than from the concatenation's: a
/// UNet's skip connection, computed long before its concatenation, would hold the whole
/// output through the network below it. So the parts placed are the latest computed
/// ones, as many as leave the most elements live at once (each value from its step to
/// its last reader) over the steps they change no higher. The peak is compared over
/// those steps, not the whole plan, since a step's scratch (an im2col, a band) is not
/// counted and may make any of them the real peak.
///
/// The executor checks the rest on the device: a byte offset it can bind at, and a
/// producer that reads none of the same buffer (which one dispatch cannot both read and
/// write); where either fails, the part is computed apart and copied as before.
fn concat_parts(plan: &Plan, outputs: &[ValueId]) -> HashMap<ValueId, Part> {
    let steps = &plan.steps;
    let end = steps.len();
    let size = |v: &ValueId| plan.shapes.get(v).and_then(|s| numel(s)).unwrap_or(0) as i64;
    // each step's value lives from its step to its last reader (graph outputs: to the end)
    let born: HashMap<ValueId, usize> = steps.iter().enumerate().map(|(i, s)| (s.out, i)).collect();
    let dies = |v: &ValueId| match plan.last_use.get(v) {
        Some(&i) => i,
        None if outputs.contains(v) => end,
        None => born.get(v).copied().unwrap_or(end),
    };
    let mut live = vec![0i64; end + 1];
    let add = |live: &mut Vec<i64>, from: usize, to: usize, n: i64| {
        for l in &mut live[from..=to.max(from).min(end)] {
            *l += n;
        }
    };
    for step in steps {
        add(&mut live, born[&step.out], dies(&step.out), size(&step.out));
    }
    let mut parts = HashMap::new();
    for (j, step) in steps.iter().enumerate() {
        let Kernel::Op(Op::Cat { dim }) = step.kernel else {
            continue;
        };
        let Ok(d) = crate::op::copy::wrap_dim("cat", dim, step.shape.len()) else {
            continue;
        };
        if step.shape[..d].iter().any(|&n| n != 1) {
            continue;
        }
        let values: Vec<Option<ValueId>> = step
            .args
            .iter()
            .map(|a| match a {
                Some(Arg::Value(v)) => Some(*v),
                _ => None,
            })
            .collect();
        // the candidates, with their offsets, in the order they are computed
        let mut candidates = Vec::new();
        let mut offset = 0usize;
        for v in &values {
            let Some(n) = v.and_then(|v| plan.shapes.get(&v)).and_then(|s| numel(s)) else {
                // a part of unknown size: the offsets after it are unknown
                break;
            };
            let placed = v.filter(|v| {
                let once = values.iter().filter(|&&u| u == Some(*v)).count() == 1;
                let computed = born.get(v).is_some_and(|&i| match &steps[i].kernel {
                    Kernel::Op(op) => !matches!(op, Op::Cat { .. }),
                    Kernel::View | Kernel::Convert(_) => false,
                });
                n > 0 && once && computed && !outputs.contains(v) && !parts.contains_key(v)
            });
            if let Some(v) = placed {
                candidates.push((born[&v], v, offset));
            }
            offset = offset.saturating_add(n);
        }
        candidates.sort_unstable();
        // place the candidates from the k-th on: the elements live at each step then,
        // and the steps where that differs
        let whole = size(&step.out);
        let with = |k: usize| -> (Vec<i64>, usize, usize) {
            let mut l = live.clone();
            let Some(&(first, ..)) = candidates.get(k) else {
                return (l, j, j);
            };
            let last = candidates[k..]
                .iter()
                .map(|(_, v, _)| dies(v))
                .fold(dies(&step.out), usize::max);
            for (_, v, _) in &candidates[k..] {
                add(&mut l, born[v], dies(v), -size(v));
            }
            add(&mut l, j, dies(&step.out), -whole);
            add(&mut l, first, last, whole);
            (l, first, last)
        };
        let peak = |l: &[i64], from: usize, to: usize| l[from..=to].iter().copied().max();
        // the most parts that leave the peak of those steps no higher (placing none
        // always does)
        let Some((k, placed)) = (0..=candidates.len()).find_map(|k| {
            let (l, from, to) = with(k);
            (peak(&l, from, to) <= peak(&live, from, to)).then_some((k, l))
        }) else {
            continue;
        };
        live = placed;
        for &(_, v, offset) in &candidates[k..] {
            parts.insert(
                v,
                Part {
                    of: step.out,
                    offset,
                },
            );
        }
    }
    parts
}
