//! A plan: the graph resolved for given input shapes. Shape arithmetic (`Shape`,
//! `Gather`, `Concat` of shapes, ...) is folded on the host, attributes that ONNX gives
//! as tensors are read, every node becomes the kernels that run it, each with the shape
//! of its output, and each value's last reader is known so its buffer returns to the
//! pool right after.

use std::collections::HashMap;

use super::graph::{AutoPad, Graph, HostData, HostValue, Node, NodeOp, ValueId, ViewShape};
use crate::error::{Error, Result};
use crate::op::Op;
use crate::op::conv_transpose2d::ConvTranspose2dParams;
use crate::op::conv2d::Padding;
use crate::op::elementwise::{Binary, Unary};
use crate::op::resize::{ResizeMode, ResizeParams};

/// Slice's starts, ends, axes (when given) and steps.
type SliceBounds = (Vec<i64>, Vec<i64>, Option<Vec<i64>>, Vec<i64>);

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
    ConvTranspose(ConvTranspose2dParams),
    Resize(ResizeParams),
    Unary(Unary),
    Binary(Binary),
    Softmax(i64),
    /// `batch_norm(x, mean, var, weight, bias, eps)`.
    BatchNorm(f32),
    Permute(Vec<usize>),
    Slice {
        dim: usize,
        start: i64,
        end: i64,
        step: i64,
    },
    Cat(usize),
    /// The input under another shape: no copy when this step is its last reader.
    View,
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
}

/// The graph resolved for one set of input shapes.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub input_shapes: Vec<Vec<usize>>,
    pub steps: Vec<Step>,
    /// For each value a step reads, the index of the last step that reads it.
    pub last_use: HashMap<ValueId, usize>,
    /// Graph outputs known on the host (a model whose output is a constant).
    pub host_outputs: HashMap<ValueId, HostValue>,
    /// Every value's shape (including values folded on the host).
    pub shapes: HashMap<ValueId, Vec<usize>>,
    /// Values made by the planner, past the graph's.
    pub values: usize,
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

fn op_err(node: &Node, m: impl std::fmt::Display) -> Error {
    Error::Unsupported(format!("node '{}' ({}): {m}", node.name, node.op_type))
}

fn shape_err(node: &Node, m: impl std::fmt::Display) -> Error {
    Error::Format(format!("node '{}' ({}): {m}", node.name, node.op_type))
}

/// Elements of a shape, checked.
fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// `axis` of a tensor of `rank`, counting from the end when negative.
fn axis(node: &Node, axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if (0..r).contains(&a) {
        Ok(a as usize)
    } else {
        Err(shape_err(
            node,
            format!("axis {axis} is out of range for a tensor of rank {rank}"),
        ))
    }
}

/// Numpy's broadcast of two shapes, in PyTorch's words when they disagree.
pub fn broadcast(a: &[usize], b: &[usize]) -> std::result::Result<Vec<usize>, String> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(format!(
                "The size of tensor a ({da}) must match the size of tensor b ({db}) at non-singleton dimension {i}"
            ));
        };
    }
    Ok(out)
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Host elementwise arithmetic with broadcasting (shape arithmetic and constants).
fn host_binary(f: Binary, a: &HostValue, b: &HostValue) -> std::result::Result<HostValue, String> {
    let shape = broadcast(&a.shape, &b.shape)?;
    let n = numel(&shape).ok_or("too many elements")?;
    if n > 1 << 24 {
        return Err("a constant of over 2^24 elements".into());
    }
    let index = |src: &[usize], i: usize| -> usize {
        let st = strides(&shape);
        let ss = strides(src);
        let off = shape.len() - src.len();
        let mut j = 0;
        for d in 0..src.len() {
            let coord = (i / st[d + off]) % shape[d + off];
            if src[d] != 1 {
                j += coord * ss[d];
            }
        }
        j
    };
    if a.is_int() && b.is_int() {
        let (x, y) = (a.ints(), b.ints());
        let data = (0..n)
            .map(|i| {
                let (p, q) = (x[index(&a.shape, i)], y[index(&b.shape, i)]);
                match f {
                    Binary::Add => p.wrapping_add(q),
                    Binary::Sub => p.wrapping_sub(q),
                    Binary::Mul => p.wrapping_mul(q),
                    Binary::Div => {
                        if q == 0 {
                            0
                        } else {
                            p.wrapping_div(q)
                        }
                    }
                }
            })
            .collect();
        Ok(HostValue::i64(shape, data))
    } else {
        let (x, y) = (a.floats(), b.floats());
        let data = (0..n)
            .map(|i| {
                let (p, q) = (x[index(&a.shape, i)], y[index(&b.shape, i)]);
                match f {
                    Binary::Add => p + q,
                    Binary::Sub => p - q,
                    Binary::Mul => p * q,
                    Binary::Div => p / q,
                }
            })
            .collect();
        Ok(HostValue::f32(shape, data))
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

/// Numpy's slice bounds of one axis of `len`: the indices taken.
fn slice_range(start: i64, end: i64, step: i64, len: usize) -> Vec<usize> {
    let n = len as i64;
    let norm = |v: i64| if v < 0 { v.saturating_add(n) } else { v };
    let (s, e) = (norm(start), norm(end));
    let mut out = Vec::new();
    if step > 0 {
        let (s, e) = (s.clamp(0, n), e.clamp(0, n));
        let mut i = s;
        while i < e {
            out.push(i as usize);
            i += step;
        }
    } else if step < 0 {
        let (s, e) = (s.clamp(-1, n - 1), e.clamp(-1, n - 1));
        let mut i = s;
        while i > e {
            out.push(i as usize);
            i += step;
        }
    }
    out
}

/// The shape a Reshape to `target` gives `input` (`0` copies, `-1` is inferred).
fn reshape_target(
    node: &Node,
    input: &[usize],
    target: &[i64],
    allowzero: bool,
) -> Result<Vec<usize>> {
    let total = numel(input).ok_or_else(|| shape_err(node, "too many elements"))?;
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 if !allowzero => out.push(*input.get(i).ok_or_else(|| {
                shape_err(
                    node,
                    format!("shape {target:?} copies dimension {i} of {input:?}"),
                )
            })?),
            t if t >= 0 => out.push(usize::try_from(t).map_err(|_| shape_err(node, "size"))?),
            _ => {
                return Err(shape_err(
                    node,
                    format!("shape {target:?} is invalid for input of shape {input:?}"),
                ));
            }
        }
    }
    let known = numel(&out).ok_or_else(|| shape_err(node, "too many elements"))?;
    if let Some(i) = infer {
        if known == 0 || total % known != 0 {
            return Err(shape_err(
                node,
                format!("shape '{target:?}' is invalid for input of size {total}"),
            ));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(shape_err(
            node,
            format!("shape '{target:?}' is invalid for input of size {total}"),
        ));
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
                Val::Dev(_) => Err(op_err(
                    node,
                    format!("{what} computed at run time is not supported"),
                )),
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
    fn emit(
        &mut self,
        kernel: Kernel,
        args: Vec<Option<Arg>>,
        shape: Vec<usize>,
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
        });
        out
    }

    /// Adds an [`Op`] step, its output shape from the op's own checks.
    fn emit_op(&mut self, op: Op, args: Vec<Option<Arg>>, out: Option<ValueId>) -> Result<ValueId> {
        let shapes = args
            .iter()
            .map(|a| a.map(|a| self.arg_shape(a)).transpose())
            .collect::<Result<Vec<_>>>()?;
        let refs: Vec<Option<&[usize]>> = shapes.iter().map(|s| s.as_deref()).collect();
        let shape = op.check(&refs)?.output_shape();
        Ok(self.emit(Kernel::Op(op), args, shape, out))
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
        plan.steps = planner.steps;
        for (i, step) in plan.steps.iter().enumerate() {
            for a in step.args.iter().flatten() {
                if let Arg::Value(v) = a {
                    plan.last_use.insert(*v, i);
                }
            }
        }
        Ok(plan)
    }

    /// Multiply-adds of the plan's convolutions and matrix products.
    pub fn macs(&self, weight_shape: impl Fn(usize) -> Vec<usize>) -> u64 {
        let mut total: u64 = 0;
        for step in &self.steps {
            let shape_of = |a: &Option<Arg>| match a {
                Some(Arg::Value(v)) => self.shapes.get(v).cloned().unwrap_or_default(),
                Some(Arg::Weight(w)) => weight_shape(*w),
                None => Vec::new(),
            };
            let out = numel(&step.shape).unwrap_or(0) as u64;
            let macs = match &step.kernel {
                Kernel::Op(Op::Conv2d { .. }) | Kernel::ConvTranspose(_) => {
                    let w = shape_of(&step.args[1]);
                    let per = w.iter().skip(1).product::<usize>() as u64;
                    match &step.kernel {
                        Kernel::ConvTranspose(p) => {
                            // each input element meets c_out/groups * kh * kw weights
                            let x = shape_of(&step.args[0]);
                            let _ = p;
                            (numel(&x).unwrap_or(0) as u64).saturating_mul(per)
                        }
                        _ => out.saturating_mul(per),
                    }
                }
                Kernel::Op(Op::Linear) => {
                    let w = shape_of(&step.args[1]);
                    out.saturating_mul(w.get(1).copied().unwrap_or(0) as u64)
                }
                Kernel::Op(Op::Matmul) => {
                    let a = shape_of(&step.args[0]);
                    out.saturating_mul(a.get(1).copied().unwrap_or(0) as u64)
                }
                _ => 0,
            };
            total = total.saturating_add(macs);
        }
        total
    }
}

/// A node's error, naming the node where the error does not.
fn in_node(e: Error, node: &Node) -> Error {
    let tag = |m: String| {
        if m.contains(&format!("node '{}'", node.name)) {
            m
        } else {
            format!("{m} (node '{}', {})", node.name, node.op_type)
        }
    };
    match e {
        Error::Unsupported(m) => Error::Unsupported(tag(m)),
        Error::Format(m) => Error::Format(tag(m)),
        Error::Shape { op, message } => Error::Shape {
            op,
            message: tag(message),
        },
        Error::InvalidParam { op, message } => Error::InvalidParam {
            op,
            message: tag(message),
        },
        e @ Error::DeviceLost(_) => e,
        e @ Error::InLayer { .. } => e,
        other => Error::InLayer {
            layer: node.name.clone(),
            source: Box::new(other),
        },
    }
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
        node.input(0)
            .ok_or_else(|| shape_err(node, "input 0 is missing"))
    }

    fn out(&self, i: usize) -> Result<ValueId> {
        let node = self.node();
        node.outputs
            .get(i)
            .copied()
            .ok_or_else(|| shape_err(node, format!("output {i} is missing")))
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
                .ok_or_else(|| shape_err(node, format!("input {i} is missing")))
        };
        let one = |v: HostValue| Ok(Some(vec![v]));
        match &node.op {
            NodeOp::Identity => one(get(0)?.clone()),
            NodeOp::Cast { to } => {
                let x = get(0)?;
                use super::onnx::proto::data_type as t;
                match *to {
                    t::FLOAT | t::DOUBLE | t::FLOAT16 | t::BFLOAT16 => {
                        one(HostValue::f32(x.shape.clone(), x.floats()))
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
                    other => Err(op_err(node, format!("a cast to {}", t::name(other)))),
                }
            }
            NodeOp::Binary(f) => {
                one(host_binary(*f, get(0)?, get(1)?).map_err(|m| shape_err(node, m))?)
            }
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
                let shape = reshape_target(node, &x.shape, &get(1)?.ints(), *allowzero)?;
                one(x.clone().reshaped(shape))
            }
            NodeOp::Flatten { axis: a } => {
                let x = get(0)?;
                let a = if *a == x.shape.len() as i64 {
                    x.shape.len()
                } else {
                    axis(node, *a, x.shape.len().max(1))?
                };
                let shape = vec![x.shape[..a].iter().product(), x.shape[a..].iter().product()];
                one(x.clone().reshaped(shape))
            }
            NodeOp::Concat { axis: a } => {
                let parts: Vec<&HostValue> = inputs.iter().flatten().collect();
                let Some(first) = parts.first() else {
                    return Err(shape_err(node, "no inputs"));
                };
                let rank = first.shape.len();
                let a = axis(node, *a, rank.max(1))?;
                let mut shape = first.shape.clone();
                if rank == 0 {
                    return Err(shape_err(
                        node,
                        "zero-dimensional tensor cannot be concatenated",
                    ));
                }
                shape[a] = 0;
                for p in &parts {
                    if p.shape.len() != rank
                        || p.shape
                            .iter()
                            .enumerate()
                            .any(|(d, &s)| d != a && s != first.shape[d])
                    {
                        return Err(shape_err(
                            node,
                            format!(
                                "Sizes of tensors must match except in dimension {a}: {:?} and {:?}",
                                first.shape, p.shape
                            ),
                        ));
                    }
                    shape[a] += p.shape[a];
                }
                let outer: usize = shape[..a].iter().product();
                let ints = parts.iter().all(|p| p.is_int());
                let mut fl = Vec::new();
                let mut it = Vec::new();
                for o in 0..outer {
                    for p in &parts {
                        let chunk: usize = p.shape[a..].iter().product();
                        if ints {
                            it.extend_from_slice(&p.ints()[o * chunk..(o + 1) * chunk]);
                        } else {
                            fl.extend_from_slice(&p.floats()[o * chunk..(o + 1) * chunk]);
                        }
                    }
                }
                one(if ints {
                    HostValue::i64(shape, it)
                } else {
                    HostValue::f32(shape, fl)
                })
            }
            NodeOp::Gather { axis: a } => {
                let x = get(0)?;
                let idx = get(1)?;
                let a = axis(node, *a, x.shape.len())?;
                let len = x.shape[a];
                let ids = idx
                    .ints()
                    .iter()
                    .map(|&i| {
                        let j = if i < 0 { i + len as i64 } else { i };
                        usize::try_from(j).ok().filter(|&j| j < len).ok_or_else(|| {
                            shape_err(
                                node,
                                format!(
                                    "index {i} is out of bounds for dimension {a} with size {len}"
                                ),
                            )
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
                let x = get(0)?;
                let (dims, ranges) = self.slice_ranges(node, &x.shape)?;
                let mut shape = x.shape.clone();
                let mut picks: Vec<Vec<usize>> =
                    x.shape.iter().map(|&d| (0..d).collect()).collect();
                for (d, r) in dims.iter().zip(ranges) {
                    shape[*d] = r.len();
                    picks[*d] = r;
                }
                let st = strides(&x.shape);
                let ost = strides(&shape);
                one(host_take(x, shape.clone(), |i| {
                    (0..shape.len())
                        .map(|d| picks[d][(i / ost[d]) % shape[d]] * st[d])
                        .sum()
                }))
            }
            NodeOp::ConstantOfShape { value } => {
                let dims: Vec<usize> = get(0)?
                    .ints()
                    .iter()
                    .map(|&d| usize::try_from(d).map_err(|_| shape_err(node, "negative size")))
                    .collect::<Result<_>>()?;
                let n = numel(&dims)
                    .filter(|&n| n <= 1 << 24)
                    .ok_or_else(|| shape_err(node, "over 2^24 elements"))?;
                let _ = n;
                one(host_take(value, dims, |_| 0))
            }
            NodeOp::Range => {
                let (s, l, d) = (get(0)?, get(1)?, get(2)?);
                if s.is_int() {
                    let (s, l, d) = (s.ints()[0], l.ints()[0], d.ints()[0]);
                    if d == 0 {
                        return Err(shape_err(node, "delta is zero"));
                    }
                    let n = ((l - s) as f64 / d as f64).ceil().max(0.0) as usize;
                    if n > 1 << 24 {
                        return Err(shape_err(node, "over 2^24 elements"));
                    }
                    one(HostValue::i64(
                        vec![n],
                        (0..n as i64).map(|i| s + i * d).collect(),
                    ))
                } else {
                    let (s, l, d) = (s.floats()[0], l.floats()[0], d.floats()[0]);
                    let n = ((l - s) / d).ceil().max(0.0);
                    if n.is_nan() || n > (1 << 24) as f32 {
                        return Err(shape_err(node, "over 2^24 elements"));
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
                let perm = self.perm(node, perm.as_deref(), x.shape.len())?;
                let shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
                let st = strides(&x.shape);
                let ost = strides(&shape);
                one(host_take(x, shape.clone(), |i| {
                    (0..shape.len())
                        .map(|d| ((i / ost[d]) % shape[d]) * st[perm[d]])
                        .sum()
                }))
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
                let axes = axes.ok_or_else(|| shape_err(node, "no axes"))?;
                let rank = shape.len() + axes.len();
                let mut norm = axes
                    .iter()
                    .map(|&a| axis(node, a, rank))
                    .collect::<Result<Vec<_>>>()?;
                norm.sort_unstable();
                if norm.windows(2).any(|w| w[0] == w[1]) {
                    return Err(shape_err(node, format!("repeated axes {axes:?}")));
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
                        .map(|&a| axis(node, a, shape.len()))
                        .collect::<Result<Vec<_>>>()?;
                    for &a in &norm {
                        if shape[a] != 1 {
                            return Err(shape_err(
                                node,
                                format!(
                                    "cannot squeeze axis {a} of size {} in {shape:?}",
                                    shape[a]
                                ),
                            ));
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

    /// A permutation of `rank` axes (reversed when absent).
    fn perm(&self, node: &Node, perm: Option<&[i64]>, rank: usize) -> Result<Vec<usize>> {
        let perm: Vec<usize> = match perm {
            None => (0..rank).rev().collect(),
            Some(p) => p
                .iter()
                .map(|&a| axis(node, a, rank))
                .collect::<Result<_>>()?,
        };
        let mut seen = vec![false; rank];
        if perm.len() != rank || perm.iter().any(|&p| std::mem::replace(&mut seen[p], true)) {
            return Err(shape_err(
                node,
                format!("perm {perm:?} is not a permutation of {rank} axes"),
            ));
        }
        Ok(perm)
    }

    /// Slice's axes and, for each, the indices taken.
    fn slice_ranges(&self, node: &Node, shape: &[usize]) -> Result<(Vec<usize>, Vec<Vec<usize>>)> {
        let (starts, ends, axes, steps) = match &node.op {
            NodeOp::Slice { attrs: Some(a) } => {
                (a.starts.clone(), a.ends.clone(), a.axes.clone(), None)
            }
            _ => {
                let need = |i: usize, what: &str| -> Result<Vec<i64>> {
                    self.const_input(i, what)?
                        .map(HostValue::ints)
                        .ok_or_else(|| shape_err(node, format!("{what} are missing")))
                };
                let opt = |i: usize, what: &str| -> Result<Option<Vec<i64>>> {
                    Ok(self.const_input(i, what)?.map(HostValue::ints))
                };
                (
                    need(1, "starts")?,
                    need(2, "ends")?,
                    opt(3, "axes")?,
                    opt(4, "steps")?,
                )
            }
        };
        let axes: Vec<usize> = match axes {
            None => (0..starts.len()).collect(),
            Some(a) => a
                .iter()
                .map(|&a| axis(node, a, shape.len()))
                .collect::<Result<_>>()?,
        };
        let steps = steps.unwrap_or_else(|| vec![1; starts.len()]);
        if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
            return Err(shape_err(
                node,
                "starts, ends, axes and steps differ in length",
            ));
        }
        let mut ranges = Vec::new();
        for i in 0..axes.len() {
            if steps[i] == 0 {
                return Err(shape_err(node, "slice step cannot be zero"));
            }
            ranges.push(slice_range(starts[i], ends[i], steps[i], shape[axes[i]]));
        }
        Ok((axes, ranges))
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
                shape_err(
                    node,
                    format!("{what} expects a 4-D NCHW input, got shape {xs:?}"),
                )
            })
        };
        match &node.op {
            NodeOp::Conv { params, pads, relu } => {
                let mut params = *params;
                if let Some(pads) = pads {
                    let w =
                        self.shape(node.input(1).ok_or_else(|| shape_err(node, "no weight"))?)?;
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
                        relu: *relu,
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
                let ws = self.shape(node.input(1).ok_or_else(|| shape_err(node, "no weight"))?)?;
                let &[_, _, kh, kw] = ws.as_slice() else {
                    return Err(shape_err(node, format!("weight of shape {ws:?}")));
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
                    return Err(op_err(node, format!("negative pads {sides:?}")));
                }
                let params = ConvTranspose2dParams {
                    stride: *stride,
                    padding,
                    output_padding: *output_padding,
                    groups: *group,
                    dilation: *dilation,
                };
                let [n, _, _, _] = rank4("ConvTranspose")?;
                let c_out = ws[1]
                    .checked_mul(usize::try_from(*group).map_err(|_| shape_err(node, "group"))?)
                    .ok_or_else(|| shape_err(node, "channels"))?;
                let mut shape = vec![n, c_out];
                let mut wanted = vec![n, c_out];
                for d in 0..2 {
                    let full = stride[d] * (size[d] - 1) + ext(d) + output_padding[d];
                    for (list, cut) in [
                        (&mut shape, 2 * padding[d]),
                        (&mut wanted, sides[d] + sides[d + 2]),
                    ] {
                        let o = full - cut;
                        list.push(usize::try_from(o).map_err(|_| {
                            shape_err(node, format!("output size {o} is not positive"))
                        })?);
                    }
                }
                let args = vec![Some(Arg::Value(x)), self.arg(1)?, self.arg(2)?];
                if shape == wanted {
                    self.emit(Kernel::ConvTranspose(params), args, shape, Some(out));
                } else {
                    let mut cur =
                        self.emit(Kernel::ConvTranspose(params), args, shape.clone(), None);
                    for d in 0..2 {
                        if shape[d + 2] == wanted[d + 2] {
                            continue;
                        }
                        let start = sides[d] - padding[d];
                        shape[d + 2] = wanted[d + 2];
                        let last = shape == wanted;
                        let kernel = Kernel::Slice {
                            dim: d + 2,
                            start,
                            end: start + wanted[d + 2] as i64,
                            step: 1,
                        };
                        cur = self.emit(
                            kernel,
                            vec![Some(Arg::Value(cur))],
                            shape.clone(),
                            last.then_some(out),
                        );
                    }
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
                self.emit(Kernel::BatchNorm(*eps), args, xs, Some(out));
            }
            NodeOp::Unary(u) => {
                let kernel = if *u == Unary::Relu {
                    Kernel::Op(Op::Relu)
                } else {
                    Kernel::Unary(*u)
                };
                self.emit(kernel, vec![Some(Arg::Value(x))], xs, Some(out));
            }
            NodeOp::Clip => {
                let bound = |i: usize, default: f32| -> Result<f32> {
                    match self.const_input(i, "a Clip bound")? {
                        None => Ok(default),
                        Some(h) if h.len() == 1 => Ok(h.floats()[0]),
                        Some(h) => Err(shape_err(
                            node,
                            format!("a Clip bound of shape {:?}", h.shape),
                        )),
                    }
                };
                let u = Unary::Clamp {
                    min: bound(1, f32::NEG_INFINITY)?,
                    max: bound(2, f32::INFINITY)?,
                };
                self.emit(Kernel::Unary(u), vec![Some(Arg::Value(x))], xs, Some(out));
            }
            NodeOp::Binary(f) => {
                let b = node
                    .input(1)
                    .ok_or_else(|| shape_err(node, "input 1 is missing"))?;
                let shape = broadcast(&xs, &self.shape(b)?).map_err(|m| shape_err(node, m))?;
                let args = vec![self.arg(0)?, self.arg(1)?];
                self.emit(Kernel::Binary(*f), args, shape, Some(out));
            }
            NodeOp::Concat { axis: a } => {
                let a = axis(node, *a, xs.len())?;
                let mut shape = xs.clone();
                shape[a] = 0;
                let mut args = Vec::new();
                for v in node.inputs.iter().flatten() {
                    let s = self.shape(*v)?;
                    if s.len() != xs.len()
                        || s.iter().enumerate().any(|(d, &n)| d != a && n != xs[d])
                    {
                        return Err(shape_err(
                            node,
                            format!(
                                "Sizes of tensors must match except in dimension {a}: {xs:?} and {s:?}"
                            ),
                        ));
                    }
                    shape[a] += s[a];
                    args.push(Some(self.arg_of(*v)?));
                }
                self.emit(Kernel::Cat(a), args, shape, Some(out));
            }
            NodeOp::Split { axis: a, split } => {
                let a = axis(node, *a, xs.len())?;
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
                    return Err(shape_err(
                        node,
                        format!(
                            "split sizes {sizes:?} do not divide dimension {a} of size {len} into {k}"
                        ),
                    ));
                }
                let mut start = 0;
                for (i, &size) in sizes.iter().enumerate() {
                    let mut shape = xs.clone();
                    shape[a] = size;
                    let kernel = Kernel::Slice {
                        dim: a,
                        start: start as i64,
                        end: (start + size) as i64,
                        step: 1,
                    };
                    self.emit(
                        kernel,
                        vec![Some(Arg::Value(x))],
                        shape,
                        Some(node.outputs[i]),
                    );
                    start += size;
                }
            }
            NodeOp::Slice { .. } => {
                let (dims, ranges) = self.slice_ranges(node, &xs)?;
                let (starts, ends, _, steps) = self.slice_bounds(node)?;
                let mut cur = x;
                let mut shape = xs.clone();
                let changed: Vec<usize> = (0..dims.len())
                    .filter(|&i| ranges[i].len() != xs[dims[i]] || steps[i] != 1)
                    .collect();
                if changed.is_empty() {
                    self.emit(Kernel::View, vec![Some(Arg::Value(x))], shape, Some(out));
                    return Ok(());
                }
                for (j, &i) in changed.iter().enumerate() {
                    shape[dims[i]] = ranges[i].len();
                    let target = (j + 1 == changed.len()).then_some(out);
                    let kernel = Kernel::Slice {
                        dim: dims[i],
                        start: starts[i],
                        end: ends[i],
                        step: steps[i],
                    };
                    cur = self.emit(kernel, vec![Some(Arg::Value(cur))], shape.clone(), target);
                }
            }
            NodeOp::Transpose { perm } => {
                let perm = self.perm(node, perm.as_deref(), xs.len())?;
                let shape: Vec<usize> = perm.iter().map(|&p| xs[p]).collect();
                if perm.iter().enumerate().all(|(i, &p)| i == p) {
                    self.emit(Kernel::View, vec![Some(Arg::Value(x))], shape, Some(out));
                } else {
                    self.emit(
                        Kernel::Permute(perm),
                        vec![Some(Arg::Value(x))],
                        shape,
                        Some(out),
                    );
                }
            }
            NodeOp::Reshape { allowzero } => {
                let target = self
                    .const_input(1, "the target shape")?
                    .ok_or_else(|| shape_err(node, "no target shape"))?
                    .ints();
                let shape = reshape_target(node, &xs, &target, *allowzero)?;
                self.emit(Kernel::View, vec![Some(Arg::Value(x))], shape, Some(out));
            }
            NodeOp::View {
                shape: ViewShape::Flatten { start_dim, end_dim },
            } => {
                let shape = crate::nn::layer::flatten_shape(&xs, *start_dim, *end_dim)?;
                self.emit(Kernel::View, vec![Some(Arg::Value(x))], shape, Some(out));
            }
            NodeOp::Flatten { axis: a } => {
                let a = if *a == xs.len() as i64 {
                    xs.len()
                } else {
                    axis(node, *a, xs.len().max(1))?
                };
                let shape = vec![xs[..a].iter().product(), xs[a..].iter().product()];
                self.emit(Kernel::View, vec![Some(Arg::Value(x))], shape, Some(out));
            }
            NodeOp::Squeeze { axes } | NodeOp::Unsqueeze { axes } => {
                let axes = match axes {
                    Some(a) => Some(a.clone()),
                    None => self.const_input(1, "axes")?.map(HostValue::ints),
                };
                let shape = self.squeeze_shape(node, &xs, axes.as_deref())?;
                self.emit(Kernel::View, vec![Some(Arg::Value(x))], shape, Some(out));
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
                    self.emit(
                        Kernel::Binary(Binary::Mul),
                        vec![Some(Arg::Value(pooled)), Some(f)],
                        shape,
                        Some(out),
                    );
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
                        .map(|&v| axis(node, v, xs.len()))
                        .collect::<Result<_>>()?,
                    _ if *noop_with_empty_axes => {
                        self.emit(Kernel::View, vec![Some(Arg::Value(x))], xs, Some(out));
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
                    self.emit(Kernel::View, vec![Some(Arg::Value(x))], shape, Some(out));
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
                    self.emit(
                        Kernel::View,
                        vec![Some(Arg::Value(pooled))],
                        shape,
                        Some(out),
                    );
                } else {
                    // the reduced axes moved last, then one mean per row
                    let mut perm: Vec<usize> =
                        (0..xs.len()).filter(|d| !axes.contains(d)).collect();
                    let rows: usize = perm.iter().map(|&d| xs[d]).product();
                    perm.extend(axes.iter().copied());
                    let cols: usize = axes.iter().map(|&d| xs[d]).product();
                    let mut cur = x;
                    if perm.iter().enumerate().any(|(i, &p)| i != p) {
                        let moved: Vec<usize> = perm.iter().map(|&p| xs[p]).collect();
                        cur = self.emit(
                            Kernel::Permute(perm),
                            vec![Some(Arg::Value(cur))],
                            moved,
                            None,
                        );
                    }
                    let flat = self.emit(
                        Kernel::View,
                        vec![Some(Arg::Value(cur))],
                        vec![1, rows, 1, cols],
                        None,
                    );
                    let pooled = self.emit_op(
                        Op::AdaptiveAvgPool2d {
                            output_size: [Some(1), Some(1)],
                        },
                        vec![Some(Arg::Value(flat))],
                        None,
                    )?;
                    self.emit(
                        Kernel::View,
                        vec![Some(Arg::Value(pooled))],
                        shape,
                        Some(out),
                    );
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
                            return Err(op_err(
                                node,
                                format!(
                                    "sizes {s:?} for an input of {xs:?} (wgcnn resizes H and W)"
                                ),
                            ));
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
                            return Err(op_err(
                                node,
                                format!("scales {sc:?} (wgcnn resizes H and W by positive scales)"),
                            ));
                        }
                        let out = |len: usize, s: f32| (f64::from(len as f32 * s)).floor();
                        let size = [out(h, sc[2]), out(w, sc[3])];
                        if size.iter().any(|&v| v.is_nan() || v >= 2f64.powi(31)) {
                            return Err(shape_err(node, format!("an output size of {size:?}")));
                        }
                        ([size[0] as usize, size[1] as usize], [sc[2], sc[3]])
                    }
                    (None, None) => {
                        return Err(shape_err(node, "neither scales nor sizes are given"));
                    }
                };
                let params = ResizeParams {
                    mode: *mode,
                    coordinate: *coordinate,
                    nearest: *nearest,
                    size,
                    scale,
                };
                let _ = ResizeMode::Nearest;
                self.emit(
                    Kernel::Resize(params),
                    vec![Some(Arg::Value(x))],
                    vec![n, c, size[0], size[1]],
                    Some(out),
                );
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
                let d = axis(node, *a, xs.len().max(1))?;
                if *legacy && d + 1 != xs.len() {
                    let rows: usize = xs[..d].iter().product();
                    let cols: usize = xs[d..].iter().product();
                    let flat = self.emit(
                        Kernel::View,
                        vec![Some(Arg::Value(x))],
                        vec![rows, cols],
                        None,
                    );
                    let sm = self.emit(
                        Kernel::Softmax(1),
                        vec![Some(Arg::Value(flat))],
                        vec![rows, cols],
                        None,
                    );
                    self.emit(Kernel::View, vec![Some(Arg::Value(sm))], xs, Some(out));
                } else {
                    self.emit(
                        Kernel::Softmax(d as i64),
                        vec![Some(Arg::Value(x))],
                        xs,
                        Some(out),
                    );
                }
            }
            NodeOp::Identity => {
                self.emit(Kernel::View, vec![Some(Arg::Value(x))], xs, Some(out));
            }
            NodeOp::Cast { to } => {
                use super::onnx::proto::data_type as t;
                if *to != t::FLOAT {
                    return Err(op_err(
                        node,
                        format!("a cast of a float tensor to {}", t::name(*to)),
                    ));
                }
                self.emit(Kernel::View, vec![Some(Arg::Value(x))], xs, Some(out));
            }
            NodeOp::Gather { axis: a } => {
                let a = axis(node, *a, xs.len())?;
                let idx = self
                    .const_input(1, "indices")?
                    .ok_or_else(|| shape_err(node, "no indices"))?
                    .clone();
                let len = xs[a];
                let ids = idx
                    .ints()
                    .iter()
                    .map(|&i| {
                        let j = if i < 0 { i + len as i64 } else { i };
                        (0..len as i64).contains(&j).then_some(j).ok_or_else(|| {
                            shape_err(
                                node,
                                format!(
                                    "index {i} is out of bounds for dimension {a} with size {len}"
                                ),
                            )
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
                    let kernel = Kernel::Slice {
                        dim: a,
                        start: ids[i],
                        end: ids[j - 1] + 1,
                        step: 1,
                    };
                    parts.push(Some(Arg::Value(self.emit(
                        kernel,
                        vec![Some(Arg::Value(x))],
                        piece,
                        None,
                    ))));
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
                    self.emit(Kernel::Cat(a), parts, joined, None)
                };
                self.emit(Kernel::View, vec![Some(Arg::Value(y))], shape, Some(out));
            }
            NodeOp::Shape { .. } | NodeOp::ConstantOfShape { .. } | NodeOp::Range => {
                return Err(op_err(
                    node,
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
                let count = usize::try_from(count).map_err(|_| shape_err(self.node(), "pads"))?;
                let mut piece = shape.clone();
                piece[dim] = count;
                total += count;
                let n = numel(&piece).ok_or_else(|| shape_err(self.node(), "pads"))?;
                let key = format!("#fill{fill}{piece:?}");
                parts.push(Some(
                    self.weight(key, HostValue::f32(piece, vec![fill; n]))?,
                ));
            }
            shape[dim] = total;
            cur = self.emit(Kernel::Cat(dim), parts, shape.clone(), None);
        }
        Ok(cur)
    }

    /// Slice's starts, ends, axes and steps as given.
    fn slice_bounds(&self, node: &Node) -> Result<SliceBounds> {
        Ok(match &node.op {
            NodeOp::Slice { attrs: Some(a) } => (
                a.starts.clone(),
                a.ends.clone(),
                a.axes.clone(),
                vec![1; a.starts.len()],
            ),
            _ => {
                let get = |i: usize| -> Result<Option<Vec<i64>>> {
                    Ok(self.const_input(i, "slice bounds")?.map(HostValue::ints))
                };
                let starts = get(1)?.unwrap_or_default();
                let steps = get(4)?.unwrap_or_else(|| vec![1; starts.len()]);
                (starts, get(2)?.unwrap_or_default(), get(3)?, steps)
            }
        })
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
            return Err(shape_err(
                node,
                format!("Gemm's A has shape {a_shape:?}, expected 2-D"),
            ));
        }
        let mut a_arg = Arg::Value(a);
        if trans_a {
            a_shape.reverse();
            let t = self.emit(
                Kernel::Permute(vec![1, 0]),
                vec![Some(a_arg)],
                a_shape.clone(),
                None,
            );
            a_arg = Arg::Value(t);
        }
        let (m, k) = (a_shape[0], a_shape[1]);
        let b = node
            .input(1)
            .ok_or_else(|| shape_err(node, "B is missing"))?;
        let bs = self.shape(b)?;
        if bs.len() != 2 {
            return Err(shape_err(
                node,
                format!("Gemm's B has shape {bs:?}, expected 2-D"),
            ));
        }
        let (bk, n) = if trans_b {
            (bs[1], bs[0])
        } else {
            (bs[0], bs[1])
        };
        if bk != k {
            return Err(shape_err(
                node,
                format!("mat1 and mat2 shapes cannot be multiplied ({m}x{k} and {bk}x{n})"),
            ));
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
            let bf = bh.floats();
            let mut w = vec![0f32; n * k];
            for i in 0..n {
                for j in 0..k {
                    let v = if trans_b {
                        bf[i * k + j]
                    } else {
                        bf[j * n + i]
                    };
                    w[i * k + j] = alpha * v;
                }
            }
            let key = format!("{}#gemm_b{}", self.name(b), b);
            let w = self.weight(key, HostValue::f32(vec![n, k], w))?;
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
                let t = self.emit(
                    Kernel::Permute(vec![1, 0]),
                    vec![Some(b_arg)],
                    vec![k, n],
                    None,
                );
                b_arg = Arg::Value(t);
            }
            let mut p = self.emit_op(Op::Matmul, vec![Some(a_arg), Some(b_arg)], None)?;
            if alpha != 1.0 {
                let s = self.weight(
                    format!("#scalar{alpha}"),
                    HostValue::f32(vec![], vec![alpha]),
                )?;
                p = self.emit(
                    Kernel::Binary(Binary::Mul),
                    vec![Some(Arg::Value(p)), Some(s)],
                    vec![m, n],
                    None,
                );
            }
            if c.is_none() {
                self.emit(
                    Kernel::View,
                    vec![Some(Arg::Value(p))],
                    vec![m, n],
                    Some(out),
                );
                return Ok(());
            }
            p
        };
        if c.is_none() || (c_row && self.host(Some(b)).is_some()) {
            return Ok(());
        }
        let c = c.unwrap_or_default();
        let cs = c_shape.unwrap_or_default();
        let shape = broadcast(&[m, n], &cs).map_err(|e| shape_err(node, e))?;
        let mut c_arg = self.arg_of(c)?;
        if beta != 1.0 {
            let s = self.weight(format!("#scalar{beta}"), HostValue::f32(vec![], vec![beta]))?;
            let scaled = self.emit(
                Kernel::Binary(Binary::Mul),
                vec![Some(c_arg), Some(s)],
                cs,
                None,
            );
            c_arg = Arg::Value(scaled);
        }
        self.emit(
            Kernel::Binary(Binary::Add),
            vec![Some(Arg::Value(product)), Some(c_arg)],
            shape,
            Some(out),
        );
        Ok(())
    }

    fn plan_matmul(&mut self, node: &Node, a: ValueId, out: ValueId) -> Result<()> {
        let a_shape = self.shape(a)?;
        let b = node
            .input(1)
            .ok_or_else(|| shape_err(node, "input 1 is missing"))?;
        let bs = self.shape(b)?;
        if a_shape.is_empty() || bs.len() != 2 {
            return Err(op_err(
                node,
                format!(
                    "a product of {a_shape:?} and {bs:?} (wgcnn multiplies [..., m, k] by [k, n])"
                ),
            ));
        }
        let (k, n) = (bs[0], bs[1]);
        if a_shape[a_shape.len() - 1] != k {
            return Err(shape_err(
                node,
                format!("mat1 and mat2 shapes cannot be multiplied ({a_shape:?} and {bs:?})"),
            ));
        }
        let rows: usize = a_shape[..a_shape.len() - 1].iter().product();
        let mut shape = a_shape[..a_shape.len() - 1].to_vec();
        shape.push(n);
        let flat = if a_shape.len() == 2 {
            a
        } else {
            self.emit(Kernel::View, vec![Some(Arg::Value(a))], vec![rows, k], None)
        };
        let product = if let Some(bh) = self.host(Some(b)).cloned() {
            let bf = bh.floats();
            let mut w = vec![0f32; n * k];
            for i in 0..n {
                for j in 0..k {
                    w[i * k + j] = bf[j * n + i];
                }
            }
            let w = self.weight(
                format!("{}#matmul_t{}", self.name(b), b),
                HostValue::f32(vec![n, k], w),
            )?;
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
        self.emit(
            Kernel::View,
            vec![Some(Arg::Value(product))],
            shape,
            Some(out),
        );
        Ok(())
    }
}
