//! The graph IR every model file loads into (ONNX and the Sequential format alike):
//! named values, constants held on the host, and nodes in topological order whose
//! attributes are already parsed and checked. Shapes are not part of the graph: they
//! follow from an input shape when a [`super::plan::Plan`] is made.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::op::conv2d::Conv2dParams;
use crate::op::elementwise::{Binary, Unary};
use crate::op::interpolate::InterpolateParams;
use crate::op::pool2d::{AvgPool2dParams, MaxPool2dParams};
use crate::op::resize::{CoordinateMode, NearestMode, ResizeMode};

/// A value of the graph: an index into [`Graph::names`].
pub type ValueId = usize;

/// The data of a host tensor: floats, or integers (shapes, axes, indices).
#[derive(Clone, Debug, PartialEq)]
pub enum HostData {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

/// A tensor on the host: a constant of the graph, or a value folded at planning.
#[derive(Clone, Debug, PartialEq)]
pub struct HostValue {
    pub shape: Vec<usize>,
    pub data: HostData,
}

impl HostValue {
    /// A float tensor; `data` has the length `shape` says.
    pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> Self {
        Self {
            shape,
            data: HostData::F32(data),
        }
    }

    /// An integer tensor; `data` has the length `shape` says.
    pub fn i64(shape: Vec<usize>, data: Vec<i64>) -> Self {
        Self {
            shape,
            data: HostData::I64(data),
        }
    }

    /// Elements.
    pub fn len(&self) -> usize {
        match &self.data {
            HostData::F32(v) => v.len(),
            HostData::I64(v) => v.len(),
        }
    }

    /// No elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as integers (floats truncated toward zero, as a cast does).
    pub fn ints(&self) -> Vec<i64> {
        match &self.data {
            HostData::I64(v) => v.clone(),
            HostData::F32(v) => v.iter().map(|&x| x as i64).collect(),
        }
    }

    /// The values as floats.
    pub fn floats(&self) -> Vec<f32> {
        match &self.data {
            HostData::F32(v) => v.clone(),
            HostData::I64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// The values as f64 (for host arithmetic).
    pub fn f64s(&self) -> Vec<f64> {
        match &self.data {
            HostData::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            HostData::I64(v) => v.iter().map(|&x| x as f64).collect(),
        }
    }

    /// Whether the data are integers.
    pub fn is_int(&self) -> bool {
        matches!(self.data, HostData::I64(_))
    }

    /// The same data under another shape of as many elements.
    pub fn reshaped(mut self, shape: Vec<usize>) -> Self {
        self.shape = shape;
        self
    }
}

/// Padding of a convolution or pool as a model file gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoPad {
    /// The explicit pads, `[top, left, bottom, right]` as ONNX orders them.
    Explicit([i64; 4]),
    /// Output size `ceil(input / stride)`, the odd cell of padding at the end.
    SameUpper,
    /// As `SameUpper`, the odd cell at the beginning.
    SameLower,
}

impl AutoPad {
    /// `[pad_h, pad_w]` on both sides of each axis, as PyTorch pads.
    pub fn both_sides([h, w]: [i64; 2]) -> Self {
        AutoPad::Explicit([h, w, h, w])
    }

    /// `[top, left, bottom, right]` for an input of `size` (h, w).
    pub fn resolve(
        self,
        size: [usize; 2],
        kernel: [i64; 2],
        stride: [i64; 2],
        dilation: [i64; 2],
    ) -> [i64; 4] {
        match self {
            AutoPad::Explicit(p) => p,
            AutoPad::SameUpper | AutoPad::SameLower => {
                let mut pads = [0i64; 4];
                for d in 0..2 {
                    let n = size[d] as i64;
                    let s = stride[d].max(1);
                    let out = (n + s - 1) / s;
                    let ext = dilation[d] * (kernel[d] - 1) + 1;
                    let total = ((out - 1) * s + ext - n).max(0);
                    let small = total / 2;
                    let (begin, end) = if self == AutoPad::SameUpper {
                        (small, total - small)
                    } else {
                        (total - small, small)
                    };
                    pads[d] = begin;
                    pads[d + 2] = end;
                }
                pads
            }
        }
    }
}

/// What a node computes, its attributes parsed. Inputs that ONNX gives as tensors
/// (Reshape's shape, Resize's scales, Clip's bounds, ...) stay inputs: they are read
/// from constants when a plan is made.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeOp {
    /// Conv: inputs x, weight, bias?; `pads` resolved per input shape.
    Conv {
        params: Conv2dParams,
        pads: Option<AutoPad>,
        relu: bool,
    },
    /// ConvTranspose: inputs x, weight, bias?.
    ConvTranspose {
        stride: [i64; 2],
        dilation: [i64; 2],
        group: i64,
        pads: AutoPad,
        output_padding: [i64; 2],
        output_shape: Option<[i64; 2]>,
    },
    /// BatchNormalization in inference: inputs x, scale, bias, mean, var.
    BatchNorm {
        eps: f32,
    },
    Unary(Unary),
    /// Clip with bounds as inputs 1 and 2 (opset 11+), or folded into `Unary::Clamp`.
    Clip,
    Binary(Binary),
    Concat {
        axis: i64,
    },
    /// Split into `outputs` pieces: sizes from `split` (attribute), input 1, or equal.
    Split {
        axis: i64,
        split: Option<Vec<i64>>,
    },
    /// Slice: attribute form (opset < 10) in `attrs`, else from inputs 1-4.
    Slice {
        attrs: Option<SliceAttrs>,
    },
    Transpose {
        perm: Option<Vec<i64>>,
    },
    /// Reshape to input 1's shape (`0` copies a dimension unless `allowzero`).
    Reshape {
        allowzero: bool,
    },
    /// A reshape known without inputs (the Sequential format's flatten).
    View {
        shape: ViewShape,
    },
    Flatten {
        axis: i64,
    },
    /// Squeeze/Unsqueeze: axes by attribute (opset < 13) or input 1.
    Squeeze {
        axes: Option<Vec<i64>>,
    },
    Unsqueeze {
        axes: Option<Vec<i64>>,
    },
    MaxPool {
        params: MaxPool2dParams,
        pads: AutoPad,
    },
    AveragePool {
        params: AvgPool2dParams,
        pads: AutoPad,
    },
    /// adaptive pooling to `output_size` (`None` keeps a size): GlobalAveragePool is
    /// `[Some(1), Some(1)]`.
    AdaptiveAvgPool {
        output_size: [Option<i64>; 2],
    },
    AdaptiveMaxPool {
        output_size: [Option<i64>; 2],
    },
    ReduceMean {
        axes: Option<Vec<i64>>,
        keepdims: bool,
        noop_with_empty_axes: bool,
    },
    /// Resize (opset 10+: scales at input 1 (10) or 2, sizes at 3) and Upsample.
    Resize {
        mode: ResizeMode,
        coordinate: CoordinateMode,
        nearest: NearestMode,
        /// The input holding the scales, and the one holding the sizes.
        scales_at: usize,
        sizes_at: Option<usize>,
    },
    /// `interpolate` as the Sequential format's `Upsample` layer gives it.
    Interpolate(InterpolateParams),
    Gemm {
        alpha: f32,
        beta: f32,
        trans_a: bool,
        trans_b: bool,
    },
    MatMul,
    /// `linear(x, weight, bias)`: the Sequential format's Linear.
    Linear,
    Softmax {
        axis: i64,
        legacy: bool,
    },
    /// Identity, Dropout (inference).
    Identity,
    /// The shape of input 0, `[start, end)`.
    Shape {
        start: i64,
        end: Option<i64>,
    },
    Gather {
        axis: i64,
    },
    Cast {
        to: i32,
    },
    ConstantOfShape {
        value: HostValue,
    },
    Range,
}

/// The attribute form of Slice (opset 1-9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SliceAttrs {
    pub starts: Vec<i64>,
    pub ends: Vec<i64>,
    pub axes: Option<Vec<i64>>,
}

/// A shape given by a layer: `torch.flatten(start_dim, end_dim)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewShape {
    Flatten { start_dim: i64, end_dim: i64 },
}

/// One node: its name (for messages), the model file's op type, what it computes, and
/// its inputs (`None` for an absent optional input) and outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub name: String,
    pub op_type: String,
    pub op: NodeOp,
    pub inputs: Vec<Option<ValueId>>,
    pub outputs: Vec<ValueId>,
}

impl Node {
    /// Input `i`, when given.
    pub fn input(&self, i: usize) -> Option<ValueId> {
        self.inputs.get(i).copied().flatten()
    }
}

/// A graph input: its value and the shape the file declares (`None` for a size given
/// at run time).
#[derive(Clone, Debug, PartialEq)]
pub struct GraphInput {
    pub value: ValueId,
    pub shape: Option<Vec<Option<usize>>>,
}

/// A model as a graph.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Every value's name.
    pub names: Vec<String>,
    /// Nodes in topological order.
    pub nodes: Vec<Node>,
    /// Initializers and constants.
    pub constants: HashMap<ValueId, HostValue>,
    pub inputs: Vec<GraphInput>,
    pub outputs: Vec<ValueId>,
    /// The default domain's opset (0 for a format without one).
    pub opset: i64,
    /// The type of the graph's float inputs: the type a [`crate::Model`] computes in
    /// unless told otherwise (f16 for a model exported in half precision).
    pub precision: crate::DType,
}

impl Graph {
    /// The value named `name`, made if new.
    pub fn value(&mut self, index: &mut HashMap<String, ValueId>, name: &str) -> ValueId {
        if let Some(&v) = index.get(name) {
            return v;
        }
        self.names.push(name.to_string());
        let v = self.names.len() - 1;
        index.insert(name.to_string(), v);
        v
    }

    /// Orders the nodes so each comes after the producers of its inputs.
    ///
    /// # Errors
    /// [`Error::Format`] for a cycle, an input no node produces, or a value produced
    /// twice.
    pub fn sort(&mut self) -> Result<()> {
        let mut producer: HashMap<ValueId, usize> = HashMap::new();
        for (i, node) in self.nodes.iter().enumerate() {
            for &o in &node.outputs {
                if producer.insert(o, i).is_some()
                    || self.constants.contains_key(&o)
                    || self.inputs.iter().any(|g| g.value == o)
                {
                    return Err(Error::Format(format!(
                        "value '{}' is produced twice (node '{}')",
                        self.names[o], node.name
                    )));
                }
            }
        }
        let available = |v: ValueId| -> bool {
            self.constants.contains_key(&v) || self.inputs.iter().any(|g| g.value == v)
        };
        for node in &self.nodes {
            for v in node.inputs.iter().flatten() {
                if !available(*v) && !producer.contains_key(v) {
                    return Err(Error::Format(format!(
                        "node '{}' ({}) reads '{}', which no node, initializer or input gives",
                        node.name, node.op_type, self.names[*v]
                    )));
                }
            }
        }
        for &o in &self.outputs {
            if !available(o) && !producer.contains_key(&o) {
                return Err(Error::Format(format!(
                    "graph output '{}' is not computed by any node",
                    self.names[o]
                )));
            }
        }
        // Kahn's algorithm, stable: nodes already in order stay in order.
        let n = self.nodes.len();
        let mut pending = vec![0usize; n];
        let mut readers: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, node) in self.nodes.iter().enumerate() {
            for v in node.inputs.iter().flatten() {
                if let Some(&p) = producer.get(v) {
                    pending[i] += 1;
                    readers[p].push(i);
                }
            }
        }
        let mut ready: std::collections::BTreeSet<usize> =
            (0..n).filter(|&i| pending[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop_first() {
            order.push(i);
            for &r in &readers[i] {
                pending[r] -= 1;
                if pending[r] == 0 {
                    ready.insert(r);
                }
            }
        }
        if order.len() != n {
            let stuck = (0..n).find(|&i| pending[i] > 0).unwrap_or(0);
            return Err(Error::Format(format!(
                "the graph has a cycle through node '{}'",
                self.nodes[stuck].name
            )));
        }
        let mut nodes: Vec<Option<Node>> = std::mem::take(&mut self.nodes)
            .into_iter()
            .map(Some)
            .collect();
        self.nodes = order.into_iter().filter_map(|i| nodes[i].take()).collect();
        Ok(())
    }

    /// How many nodes read each value, plus one for each graph output it is.
    pub fn readers(&self) -> HashMap<ValueId, usize> {
        let mut count: HashMap<ValueId, usize> = HashMap::new();
        for node in &self.nodes {
            for v in node.inputs.iter().flatten() {
                *count.entry(*v).or_default() += 1;
            }
        }
        for &o in &self.outputs {
            *count.entry(o).or_default() += 1;
        }
        count
    }

    /// Folds each BatchNormalization whose input is a Conv's output read by it alone,
    /// with constant weights and statistics, into the Conv's weight and bias (as
    /// PyTorch's `fuse_conv_bn_eval` does, in f64). Then every Relu that follows a
    /// Conv read by it alone is fused into the Conv's epilogue.
    pub fn fuse(&mut self) {
        let mut removed = vec![false; self.nodes.len()];
        let readers = self.readers();
        let producer = self.producers(&removed);
        for b in 0..self.nodes.len() {
            let NodeOp::BatchNorm { eps } = self.nodes[b].op else {
                continue;
            };
            let Some(x) = self.nodes[b].input(0) else {
                continue;
            };
            let Some(&c) = producer.get(&x) else { continue };
            if removed[c]
                || readers.get(&x) != Some(&1)
                || !matches!(self.nodes[c].op, NodeOp::Conv { relu: false, .. })
            {
                continue;
            }
            if let Some((w, bias)) = self.folded_conv(c, b, eps) {
                let wname = format!("{}::folded_weight", self.nodes[c].name);
                let bname = format!("{}::folded_bias", self.nodes[c].name);
                let wid = self.fresh(&wname);
                let bid = self.fresh(&bname);
                self.constants.insert(wid, w);
                self.constants.insert(bid, bias);
                let out = self.nodes[b].outputs[0];
                let conv = &mut self.nodes[c];
                conv.inputs = vec![conv.inputs[0], Some(wid), Some(bid)];
                conv.outputs = vec![out];
                removed[b] = true;
            }
        }
        let readers = self.readers();
        let producer = self.producers(&removed);
        for (r, gone) in removed.clone().into_iter().enumerate() {
            if gone || self.nodes[r].op != NodeOp::Unary(Unary::Relu) {
                continue;
            }
            let Some(x) = self.nodes[r].input(0) else {
                continue;
            };
            let Some(&c) = producer.get(&x) else { continue };
            // (a graph output counts as a reader)
            if readers.get(&x) != Some(&1) {
                continue;
            }
            let out = self.nodes[r].outputs[0];
            if let NodeOp::Conv { relu, .. } = &mut self.nodes[c].op
                && !*relu
            {
                *relu = true;
                self.nodes[c].outputs = vec![out];
                removed[r] = true;
            }
        }
        let mut i = 0;
        self.nodes.retain(|_| {
            i += 1;
            !removed[i - 1]
        });
    }

    /// The node producing each value, among the nodes not `removed`.
    fn producers(&self, removed: &[bool]) -> HashMap<ValueId, usize> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| !removed[*i])
            .flat_map(|(i, n)| n.outputs.iter().map(move |&o| (o, i)))
            .collect()
    }

    fn fresh(&mut self, name: &str) -> ValueId {
        self.names.push(name.to_string());
        self.names.len() - 1
    }

    /// The weight and bias of Conv `c` with BatchNormalization `b` folded in, when
    /// every tensor is a constant of matching size.
    fn folded_conv(&self, c: usize, b: usize, eps: f32) -> Option<(HostValue, HostValue)> {
        let get = |node: usize, i: usize| -> Option<&HostValue> {
            self.nodes[node]
                .input(i)
                .and_then(|v| self.constants.get(&v))
        };
        let w = get(c, 1)?;
        let HostData::F32(wd) = &w.data else {
            return None;
        };
        let c_out = *w.shape.first()?;
        let per = wd.len().checked_div(c_out).unwrap_or(0);
        let bias = match self.nodes[c].input(2) {
            Some(_) => get(c, 2)?.f64s(),
            None => vec![0.0; c_out],
        };
        let [scale, shift, mean, var] =
            [1, 2, 3, 4].map(|i| get(b, i).map(HostValue::f64s).unwrap_or_default());
        if [&bias, &scale, &shift, &mean, &var]
            .iter()
            .any(|v| v.len() != c_out)
        {
            return None;
        }
        let mut weight = Vec::with_capacity(wd.len());
        let mut new_bias = Vec::with_capacity(c_out);
        for o in 0..c_out {
            let k = scale[o] / (var[o] + f64::from(eps)).sqrt();
            weight.extend(
                wd[o * per..(o + 1) * per]
                    .iter()
                    .map(|&v| (f64::from(v) * k) as f32),
            );
            new_bias.push(((bias[o] - mean[o]) * k + shift[o]) as f32);
        }
        Some((
            HostValue::f32(w.shape.clone(), weight),
            HostValue::f32(vec![c_out], new_bias),
        ))
    }
}
