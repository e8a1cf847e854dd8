//! ONNX model files: decoded with `prost` ([`proto`]), their initializers read (raw or
//! typed, from the file or an external data file), and their nodes turned into the
//! [`Graph`] the executor runs. Every unsupported op is reported at once.

pub mod proto;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use self::proto::{AttributeProto, NodeProto, TensorProto, attribute_type, data_type};
use super::graph::{AutoPad, Graph, GraphInput, HostValue, Node, NodeOp, SliceAttrs, ValueId};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::op::conv2d::{Conv2dParams, Padding};
use crate::op::elementwise::{Binary, Unary};
use crate::op::pool2d::{AvgPool2dParams, MaxPool2dParams};
use crate::op::resize::{CoordinateMode, NearestMode, ResizeMode};

/// The most elements one initializer may declare: 2^31 (8 GiB of f32).
const MAX_ELEMENTS: u128 = 1 << 31;

/// The IR versions read, and the default domain's opsets.
const IR_VERSIONS: std::ops::RangeInclusive<i64> = 3..=11;
const OPSETS: std::ops::RangeInclusive<i64> = 6..=22;

/// Every op type the executor runs.
pub const SUPPORTED: &[&str] = &[
    "Add",
    "AveragePool",
    "BatchNormalization",
    "Cast",
    "Clip",
    "Concat",
    "Constant",
    "ConstantOfShape",
    "Conv",
    "ConvTranspose",
    "Div",
    "Dropout",
    "Flatten",
    "Gather",
    "Gemm",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "HardSigmoid",
    "HardSwish",
    "Identity",
    "LeakyRelu",
    "MatMul",
    "MaxPool",
    "Mul",
    "Range",
    "ReduceMean",
    "Relu",
    "Reshape",
    "Resize",
    "Shape",
    "Sigmoid",
    "Slice",
    "Softmax",
    "Split",
    "Squeeze",
    "Sub",
    "Tanh",
    "Transpose",
    "Unsqueeze",
    "Upsample",
];

/// Parses the bytes of `file` (its name for messages; `dir` is where external data
/// files are looked for, `None` to refuse them).
///
/// # Errors
/// [`Error::Format`] naming the file for a malformed model; [`Error::Unsupported`]
/// listing every unsupported op with its nodes; [`Error::Io`] for an external data
/// file that cannot be read.
pub fn parse(
    file: &str,
    bytes: &[u8],
    dir: Option<&Path>,
) -> Result<(Graph, HashMap<String, String>)> {
    let model = proto::decode(bytes)
        .map_err(|e| Error::Format(format!("{file}: not an ONNX model ({e})")))?;
    let bad = |m: String| Error::Format(format!("{file}: {m}"));
    if !IR_VERSIONS.contains(&model.ir_version) {
        return Err(bad(format!(
            "IR version {} is not supported (supported: {}-{})",
            model.ir_version,
            IR_VERSIONS.start(),
            IR_VERSIONS.end()
        )));
    }
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .ok_or_else(|| bad("imports no opset of the default domain".into()))?;
    if !OPSETS.contains(&opset) {
        return Err(Error::Unsupported(format!(
            "{file}: opset {opset} (supported: {}-{})",
            OPSETS.start(),
            OPSETS.end()
        )));
    }
    let g = model
        .graph
        .as_ref()
        .ok_or_else(|| bad("has no graph".into()))?;

    // every unsupported op at once, with its nodes
    let mut unsupported: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, n) in g.node.iter().enumerate() {
        let default_domain = n.domain.is_empty() || n.domain == "ai.onnx";
        if !default_domain || !SUPPORTED.contains(&n.op_type.as_str()) {
            let op = if default_domain {
                n.op_type.clone()
            } else {
                format!("{}::{}", n.domain, n.op_type)
            };
            unsupported.entry(op).or_default().push(node_name(n, i));
        }
    }
    if !unsupported.is_empty() {
        let list: Vec<String> = unsupported
            .iter()
            .map(|(op, nodes)| {
                let shown: Vec<&str> = nodes.iter().take(5).map(String::as_str).collect();
                let more = if nodes.len() > 5 {
                    format!(" and {} more", nodes.len() - 5)
                } else {
                    String::new()
                };
                format!("{op} (nodes {}{more})", shown.join(", "))
            })
            .collect();
        return Err(Error::Unsupported(format!(
            "{file} (opset {opset}) uses {} op type(s) wgcnn does not run: {}",
            unsupported.len(),
            list.join("; ")
        )));
    }

    let mut graph = Graph {
        opset,
        ..Graph::default()
    };
    let mut index: HashMap<String, ValueId> = HashMap::new();
    for t in &g.initializer {
        let v = graph.value(&mut index, &t.name);
        let value =
            tensor(t, dir).map_err(|e| prefix(e, file, &format!("initializer '{}'", t.name)))?;
        graph.constants.insert(v, value);
    }
    for input in &g.input {
        let v = graph.value(&mut index, &input.name);
        if graph.constants.contains_key(&v) {
            continue; // an initializer listed as an input (IR < 4)
        }
        let tt = input.r#type.as_ref().and_then(|t| t.tensor_type.as_ref());
        // FLOAT inputs, or FLOAT16 ones (a model exported in half precision, which
        // then computes in f16); not both
        let dtype = match tt.map(|t| t.elem_type) {
            None | Some(data_type::FLOAT) => DType::F32,
            Some(data_type::FLOAT16) => DType::F16,
            Some(other) => {
                return Err(Error::Unsupported(format!(
                    "{file}: input '{}' is of type {}; wgcnn runs FLOAT and FLOAT16 inputs",
                    input.name,
                    data_type::name(other)
                )));
            }
        };
        if !graph.inputs.is_empty() && dtype != graph.precision {
            return Err(Error::Unsupported(format!(
                "{file}: input '{}' is of type {}, another input of {}: wgcnn runs a model \
                 in one float type",
                input.name,
                dtype.name(),
                graph.precision.name()
            )));
        }
        graph.precision = dtype;
        let shape = tt.and_then(|t| t.shape.as_ref()).map(|s| {
            s.dim
                .iter()
                .map(|d| d.dim_value.and_then(|v| usize::try_from(v).ok()))
                .collect()
        });
        graph.inputs.push(GraphInput { value: v, shape });
    }
    for (i, n) in g.node.iter().enumerate() {
        let name = node_name(n, i);
        let at = |m: String| Error::Format(format!("{file}: node '{name}' ({}): {m}", n.op_type));
        let attrs = Attrs::new(n).map_err(at)?;
        if n.op_type == "Constant" {
            let value =
                constant(&attrs, dir).map_err(|e| prefix(e, file, &format!("node '{name}'")))?;
            let out = n.output.first().ok_or_else(|| at("has no output".into()))?;
            let v = graph.value(&mut index, out);
            graph.constants.insert(v, value);
            continue;
        }
        let op = node_op(n, &attrs, opset).map_err(at)?;
        let inputs = n
            .input
            .iter()
            .map(|s| (!s.is_empty()).then(|| graph.value(&mut index, s)))
            .collect();
        let outputs = n
            .output
            .iter()
            .map(|s| graph.value(&mut index, s))
            .collect();
        graph.nodes.push(Node {
            name,
            op_type: n.op_type.clone(),
            op,
            inputs,
            outputs,
        });
    }
    for o in &g.output {
        let v = *index.get(&o.name).ok_or_else(|| {
            bad(format!(
                "graph output '{}' is not computed by any node",
                o.name
            ))
        })?;
        graph.outputs.push(v);
    }
    if graph.outputs.is_empty() {
        return Err(bad("the graph has no output".into()));
    }
    graph.sort().map_err(|e| prefix(e, file, "graph"))?;
    let mut metadata: HashMap<String, String> = model
        .metadata_props
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect();
    metadata.insert("format".into(), "onnx".into());
    metadata.insert("opset".into(), opset.to_string());
    metadata.insert("ir_version".into(), model.ir_version.to_string());
    if !model.producer_name.is_empty() {
        metadata.insert(
            "producer".into(),
            format!("{} {}", model.producer_name, model.producer_version)
                .trim()
                .to_string(),
        );
    }
    Ok((graph, metadata))
}

fn node_name(n: &NodeProto, i: usize) -> String {
    if n.name.is_empty() {
        format!("#{i} {}", n.op_type)
    } else {
        n.name.clone()
    }
}

/// `e` with the file and what raised it in front of its message.
fn prefix(e: Error, file: &str, what: &str) -> Error {
    match e {
        Error::Format(m) => Error::Format(format!("{file}: {what}: {m}")),
        Error::Unsupported(m) => Error::Unsupported(format!("{file}: {what}: {m}")),
        other => other,
    }
}

/// A node's attributes by name.
struct Attrs<'a> {
    map: HashMap<&'a str, &'a AttributeProto>,
}

impl<'a> Attrs<'a> {
    fn new(n: &'a NodeProto) -> std::result::Result<Self, String> {
        let mut map = HashMap::new();
        for a in &n.attribute {
            if !a.ref_attr_name.is_empty() {
                return Err(format!(
                    "attribute '{}' refers to a function's attribute",
                    a.name
                ));
            }
            map.insert(a.name.as_str(), a);
        }
        Ok(Self { map })
    }

    fn get(
        &self,
        name: &str,
        kind: i32,
    ) -> std::result::Result<Option<&'a AttributeProto>, String> {
        match self.map.get(name) {
            None => Ok(None),
            // a type of 0 is from writers older than the field: trust the name
            Some(a) if a.r#type == kind || a.r#type == 0 => Ok(Some(a)),
            Some(a) => Err(format!(
                "attribute '{name}' has type {}, expected {kind}",
                a.r#type
            )),
        }
    }

    fn int(&self, name: &str, default: i64) -> std::result::Result<i64, String> {
        Ok(self
            .get(name, attribute_type::INT)?
            .map_or(default, |a| a.i))
    }

    fn float(&self, name: &str, default: f32) -> std::result::Result<f32, String> {
        Ok(self
            .get(name, attribute_type::FLOAT)?
            .map_or(default, |a| a.f))
    }

    fn ints(&self, name: &str) -> std::result::Result<Option<Vec<i64>>, String> {
        Ok(self
            .get(name, attribute_type::INTS)?
            .map(|a| a.ints.clone()))
    }

    fn string(&self, name: &str, default: &str) -> std::result::Result<String, String> {
        Ok(self.get(name, attribute_type::STRING)?.map_or_else(
            || default.to_string(),
            |a| String::from_utf8_lossy(&a.s).into_owned(),
        ))
    }

    /// A pair attribute (`kernel_shape`, `strides`, `dilations`) of a 2-D op.
    fn pair(&self, name: &str, default: i64) -> std::result::Result<[i64; 2], String> {
        match self.ints(name)? {
            None => Ok([default; 2]),
            Some(v) if v.len() == 2 => Ok([v[0], v[1]]),
            Some(v) => Err(format!(
                "'{name}' has {} values; wgcnn runs 2-D (NCHW) ops",
                v.len()
            )),
        }
    }

    /// `pads` and `auto_pad`.
    fn pads(&self) -> std::result::Result<AutoPad, String> {
        match self.string("auto_pad", "NOTSET")?.as_str() {
            "NOTSET" => match self.ints("pads")? {
                None => Ok(AutoPad::Explicit([0; 4])),
                Some(p) if p.len() == 4 => {
                    if p.iter().any(|&v| v < 0) {
                        return Err(format!("negative pads {p:?}"));
                    }
                    Ok(AutoPad::Explicit([p[0], p[1], p[2], p[3]]))
                }
                Some(p) => Err(format!(
                    "'pads' has {} values; wgcnn runs 2-D (NCHW) ops",
                    p.len()
                )),
            },
            "VALID" => Ok(AutoPad::Explicit([0; 4])),
            "SAME_UPPER" => Ok(AutoPad::SameUpper),
            "SAME_LOWER" => Ok(AutoPad::SameLower),
            other => Err(format!("unknown auto_pad '{other}'")),
        }
    }
}

/// The parsed op of node `n`.
fn node_op(n: &NodeProto, a: &Attrs<'_>, opset: i64) -> std::result::Result<NodeOp, String> {
    let unary = |u| Ok(NodeOp::Unary(u));
    match n.op_type.as_str() {
        "Conv" => {
            let kernel = a.ints("kernel_shape")?;
            if kernel.as_ref().is_some_and(|k| k.len() != 2) {
                return Err("wgcnn runs 2-D convolutions (kernel_shape of 2 values)".into());
            }
            Ok(NodeOp::Conv {
                params: Conv2dParams {
                    stride: a.pair("strides", 1)?,
                    dilation: a.pair("dilations", 1)?,
                    groups: a.int("group", 1)?,
                    padding: Padding::Explicit([0, 0]),
                    ..Conv2dParams::default()
                },
                pads: Some(a.pads()?),
                relu: false,
            })
        }
        "ConvTranspose" => {
            let output_shape = match a.ints("output_shape")? {
                None => None,
                Some(v) if v.len() == 2 => Some([v[0], v[1]]),
                Some(v) => return Err(format!("output_shape has {} values", v.len())),
            };
            Ok(NodeOp::ConvTranspose {
                stride: a.pair("strides", 1)?,
                dilation: a.pair("dilations", 1)?,
                group: a.int("group", 1)?,
                pads: a.pads()?,
                output_padding: a.pair("output_padding", 0)?,
                output_shape,
            })
        }
        "BatchNormalization" => {
            if a.int("training_mode", 0)? != 0 {
                return Err("training_mode=1 is not inference".into());
            }
            if n.output.iter().skip(1).any(|o| !o.is_empty()) {
                return Err("running statistics outputs are training outputs".into());
            }
            Ok(NodeOp::BatchNorm {
                eps: a.float("epsilon", 1e-5)?,
            })
        }
        "Relu" => unary(Unary::Relu),
        "LeakyRelu" => unary(Unary::LeakyRelu {
            negative_slope: a.float("alpha", 0.01)?,
        }),
        "Sigmoid" => unary(Unary::Sigmoid),
        "Tanh" => unary(Unary::Tanh),
        "HardSwish" => unary(Unary::HardSwish),
        "HardSigmoid" => unary(Unary::HardSigmoid {
            alpha: a.float("alpha", 0.2)?,
            beta: a.float("beta", 0.5)?,
        }),
        "Clip" if opset < 11 => unary(Unary::Clamp {
            min: a.float("min", f32::NEG_INFINITY)?,
            max: a.float("max", f32::INFINITY)?,
        }),
        "Clip" => Ok(NodeOp::Clip),
        "Add" => Ok(NodeOp::Binary(Binary::Add)),
        "Sub" => Ok(NodeOp::Binary(Binary::Sub)),
        "Mul" => Ok(NodeOp::Binary(Binary::Mul)),
        "Div" => Ok(NodeOp::Binary(Binary::Div)),
        "Concat" => Ok(NodeOp::Concat {
            axis: a
                .get("axis", attribute_type::INT)?
                .map(|x| x.i)
                .ok_or("Concat needs 'axis'")?,
        }),
        "Split" => Ok(NodeOp::Split {
            axis: a.int("axis", 0)?,
            split: a.ints("split")?,
        }),
        "Slice" if opset < 10 => Ok(NodeOp::Slice {
            attrs: Some(SliceAttrs {
                starts: a.ints("starts")?.ok_or("Slice needs 'starts'")?,
                ends: a.ints("ends")?.ok_or("Slice needs 'ends'")?,
                axes: a.ints("axes")?,
            }),
        }),
        "Slice" => Ok(NodeOp::Slice { attrs: None }),
        "Transpose" => Ok(NodeOp::Transpose {
            perm: a.ints("perm")?,
        }),
        "Reshape" => Ok(NodeOp::Reshape {
            allowzero: a.int("allowzero", 0)? != 0,
        }),
        "Flatten" => Ok(NodeOp::Flatten {
            axis: a.int("axis", 1)?,
        }),
        "Squeeze" => Ok(NodeOp::Squeeze {
            axes: a.ints("axes")?,
        }),
        "Unsqueeze" => Ok(NodeOp::Unsqueeze {
            axes: a.ints("axes")?,
        }),
        "MaxPool" => {
            if n.output.get(1).is_some_and(|o| !o.is_empty()) {
                return Err("the Indices output is not supported".into());
            }
            if a.int("storage_order", 0)? != 0 {
                return Err("storage_order=1 is not supported".into());
            }
            let mut params = MaxPool2dParams::new(1);
            params.kernel_size = a.pair("kernel_shape", 0)?;
            params.stride = Some(a.pair("strides", 1)?);
            params.dilation = a.pair("dilations", 1)?;
            params.ceil_mode = a.int("ceil_mode", 0)? != 0;
            if a.ints("kernel_shape")?.is_none() {
                return Err("MaxPool needs 'kernel_shape'".into());
            }
            Ok(NodeOp::MaxPool {
                params,
                pads: a.pads()?,
            })
        }
        "AveragePool" => {
            if a.ints("kernel_shape")?.is_none() {
                return Err("AveragePool needs 'kernel_shape'".into());
            }
            if a.ints("dilations")?
                .is_some_and(|d| d.iter().any(|&v| v != 1))
            {
                return Err("dilations other than 1 are not supported by AveragePool".into());
            }
            let mut params = AvgPool2dParams::new(1);
            params.kernel_size = a.pair("kernel_shape", 0)?;
            params.stride = Some(a.pair("strides", 1)?);
            params.ceil_mode = a.int("ceil_mode", 0)? != 0;
            params.count_include_pad = a.int("count_include_pad", 0)? != 0;
            Ok(NodeOp::AveragePool {
                params,
                pads: a.pads()?,
            })
        }
        "GlobalAveragePool" => Ok(NodeOp::AdaptiveAvgPool {
            output_size: [Some(1), Some(1)],
        }),
        "GlobalMaxPool" => Ok(NodeOp::AdaptiveMaxPool {
            output_size: [Some(1), Some(1)],
        }),
        "ReduceMean" => Ok(NodeOp::ReduceMean {
            axes: a.ints("axes")?,
            keepdims: a.int("keepdims", 1)? != 0,
            noop_with_empty_axes: a.int("noop_with_empty_axes", 0)? != 0,
        }),
        "Resize" | "Upsample" => {
            let mode = match a.string("mode", "nearest")?.as_str() {
                "nearest" => ResizeMode::Nearest,
                "linear" | "bilinear" => ResizeMode::Linear,
                other => return Err(format!("mode '{other}' is not supported (nearest, linear)")),
            };
            let upsample = n.op_type == "Upsample";
            let coordinate = if upsample {
                CoordinateMode::Asymmetric
            } else {
                match a
                    .string("coordinate_transformation_mode", "half_pixel")?
                    .as_str()
                {
                    "half_pixel" => CoordinateMode::HalfPixel,
                    "pytorch_half_pixel" => CoordinateMode::PytorchHalfPixel,
                    "align_corners" => CoordinateMode::AlignCorners,
                    "asymmetric" => CoordinateMode::Asymmetric,
                    other => {
                        return Err(format!(
                            "coordinate_transformation_mode '{other}' is not supported"
                        ));
                    }
                }
            };
            let nearest = if upsample {
                NearestMode::Floor
            } else {
                match a.string("nearest_mode", "round_prefer_floor")?.as_str() {
                    "round_prefer_floor" => NearestMode::RoundPreferFloor,
                    "round_prefer_ceil" => NearestMode::RoundPreferCeil,
                    "floor" => NearestMode::Floor,
                    "ceil" => NearestMode::Ceil,
                    other => return Err(format!("nearest_mode '{other}' is not supported")),
                }
            };
            if a.int("antialias", 0)? != 0 {
                return Err("antialias=1 is not supported".into());
            }
            if a.ints("axes")?.is_some() {
                return Err("the 'axes' attribute is not supported".into());
            }
            if a.string("keep_aspect_ratio_policy", "stretch")? != "stretch" {
                return Err(
                    "keep_aspect_ratio_policy other than 'stretch' is not supported".into(),
                );
            }
            let (scales_at, sizes_at) = if upsample || opset < 11 {
                (1, None)
            } else {
                (2, Some(3))
            };
            if upsample && opset < 9 {
                return Err(
                    "Upsample before opset 9 (scales as an attribute) is not supported".into(),
                );
            }
            Ok(NodeOp::Resize {
                mode,
                coordinate,
                nearest,
                scales_at,
                sizes_at,
            })
        }
        "Gemm" => Ok(NodeOp::Gemm {
            alpha: a.float("alpha", 1.0)?,
            beta: a.float("beta", 1.0)?,
            trans_a: a.int("transA", 0)? != 0,
            trans_b: a.int("transB", 0)? != 0,
        }),
        "MatMul" => Ok(NodeOp::MatMul),
        "Softmax" => Ok(NodeOp::Softmax {
            axis: a.int("axis", if opset < 13 { 1 } else { -1 })?,
            legacy: opset < 13,
        }),
        "Identity" | "Dropout" => {
            if n.op_type == "Dropout" && n.output.get(1).is_some_and(|o| !o.is_empty()) {
                return Err("the mask output of Dropout is not supported".into());
            }
            Ok(NodeOp::Identity)
        }
        "Shape" => Ok(NodeOp::Shape {
            start: a.int("start", 0)?,
            end: a.get("end", attribute_type::INT)?.map(|x| x.i),
        }),
        "Gather" => Ok(NodeOp::Gather {
            axis: a.int("axis", 0)?,
        }),
        "Cast" => Ok(NodeOp::Cast {
            to: a.int("to", 0)? as i32,
        }),
        "ConstantOfShape" => {
            let value = match a.get("value", attribute_type::TENSOR)? {
                Some(t) => tensor(t.t.as_ref().ok_or("'value' holds no tensor")?, None)
                    .map_err(|e| e.to_string())?,
                None => HostValue::f32(vec![1], vec![0.0]),
            };
            if value.len() != 1 {
                return Err("'value' must hold one element".into());
            }
            Ok(NodeOp::ConstantOfShape { value })
        }
        "Range" => Ok(NodeOp::Range),
        other => Err(format!("op type '{other}' is not supported")),
    }
}

/// The value of a `Constant` node.
fn constant(a: &Attrs<'_>, dir: Option<&Path>) -> Result<HostValue> {
    let fmt = |m: &str| Error::Format(m.to_string());
    if let Some(t) = a
        .get("value", attribute_type::TENSOR)
        .map_err(|m| fmt(&m))?
    {
        return tensor(
            t.t.as_ref().ok_or_else(|| fmt("'value' holds no tensor"))?,
            dir,
        );
    }
    if let Some(x) = a
        .get("value_float", attribute_type::FLOAT)
        .map_err(|m| fmt(&m))?
    {
        return Ok(HostValue::f32(vec![], vec![x.f]));
    }
    if let Some(x) = a
        .get("value_floats", attribute_type::FLOATS)
        .map_err(|m| fmt(&m))?
    {
        return Ok(HostValue::f32(vec![x.floats.len()], x.floats.clone()));
    }
    if let Some(x) = a
        .get("value_int", attribute_type::INT)
        .map_err(|m| fmt(&m))?
    {
        return Ok(HostValue::i64(vec![], vec![x.i]));
    }
    if let Some(x) = a
        .get("value_ints", attribute_type::INTS)
        .map_err(|m| fmt(&m))?
    {
        return Ok(HostValue::i64(vec![x.ints.len()], x.ints.clone()));
    }
    Err(Error::Unsupported(
        "a Constant without value, value_float(s) or value_int(s)".into(),
    ))
}

/// A `TensorProto`'s value on the host: floats as f32, integers as i64.
///
/// # Errors
/// [`Error::Format`] for data that disagree with the dims or type; [`Error::Io`] for
/// an external file that cannot be read; [`Error::Unsupported`] for a data type that
/// is neither.
pub fn tensor(t: &TensorProto, dir: Option<&Path>) -> Result<HostValue> {
    let fmt = |m: String| Error::Format(m);
    let mut shape = Vec::with_capacity(t.dims.len());
    let mut count: u128 = 1;
    for &d in &t.dims {
        let d =
            usize::try_from(d).map_err(|_| fmt(format!("negative dimension in {:?}", t.dims)))?;
        count = count.saturating_mul(d as u128);
        shape.push(d);
    }
    if count > MAX_ELEMENTS {
        return Err(Error::limit(
            "onnx",
            "initializer elements",
            u64::try_from(count).unwrap_or(u64::MAX),
            MAX_ELEMENTS as u64,
        ));
    }
    let count = count as usize;
    let width = match t.data_type {
        data_type::FLOAT | data_type::INT32 | data_type::UINT32 => 4,
        data_type::DOUBLE | data_type::INT64 | data_type::UINT64 => 8,
        data_type::FLOAT16 | data_type::BFLOAT16 | data_type::INT16 | data_type::UINT16 => 2,
        data_type::INT8 | data_type::UINT8 | data_type::BOOL => 1,
        other => {
            return Err(Error::Unsupported(format!(
                "tensors of type {}",
                data_type::name(other)
            )));
        }
    };
    let external;
    let raw: Option<&[u8]> = if t.data_location == proto::EXTERNAL {
        external = external_data(t, dir, count.saturating_mul(width))?;
        Some(&external)
    } else if !t.raw_data.is_empty() {
        Some(&t.raw_data)
    } else {
        None
    };
    let check = |len: usize| -> Result<()> {
        if len == count {
            Ok(())
        } else {
            Err(fmt(format!(
                "holds {len} elements, its dims {:?} say {count}",
                t.dims
            )))
        }
    };
    let value = if let Some(raw) = raw {
        if raw.len() % width != 0 {
            return Err(fmt(format!(
                "raw data of {} bytes for {width}-byte elements",
                raw.len()
            )));
        }
        check(raw.len() / width)?;
        let chunks = raw.chunks_exact(width);
        match t.data_type {
            data_type::FLOAT => HostValue::f32(
                shape,
                chunks
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default()))
                    .collect(),
            ),
            data_type::DOUBLE => HostValue::f32(
                shape,
                chunks
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default()) as f32)
                    .collect(),
            ),
            data_type::FLOAT16 => HostValue::f32(
                shape,
                chunks
                    .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                    .collect(),
            ),
            data_type::BFLOAT16 => HostValue::f32(
                shape,
                chunks
                    .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                    .collect(),
            ),
            data_type::INT64 => HostValue::i64(
                shape,
                chunks
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default()))
                    .collect(),
            ),
            data_type::UINT64 => HostValue::i64(
                shape,
                chunks
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()) as i64)
                    .collect(),
            ),
            data_type::INT32 => HostValue::i64(
                shape,
                chunks
                    .map(|c| i64::from(i32::from_le_bytes(c.try_into().unwrap_or_default())))
                    .collect(),
            ),
            data_type::UINT32 => HostValue::i64(
                shape,
                chunks
                    .map(|c| i64::from(u32::from_le_bytes(c.try_into().unwrap_or_default())))
                    .collect(),
            ),
            data_type::INT16 => HostValue::i64(
                shape,
                chunks
                    .map(|c| i64::from(i16::from_le_bytes([c[0], c[1]])))
                    .collect(),
            ),
            data_type::UINT16 => HostValue::i64(
                shape,
                chunks
                    .map(|c| i64::from(u16::from_le_bytes([c[0], c[1]])))
                    .collect(),
            ),
            data_type::INT8 => {
                HostValue::i64(shape, chunks.map(|c| i64::from(c[0] as i8)).collect())
            }
            _ => HostValue::i64(shape, chunks.map(|c| i64::from(c[0])).collect()),
        }
    } else {
        match t.data_type {
            data_type::FLOAT => {
                check(t.float_data.len())?;
                HostValue::f32(shape, t.float_data.clone())
            }
            data_type::DOUBLE => {
                check(t.double_data.len())?;
                HostValue::f32(shape, t.double_data.iter().map(|&v| v as f32).collect())
            }
            // f16 and bf16 are stored as their bits in int32_data
            data_type::FLOAT16 => {
                check(t.int32_data.len())?;
                HostValue::f32(
                    shape,
                    t.int32_data
                        .iter()
                        .map(|&v| half::f16::from_bits(v as u16).to_f32())
                        .collect(),
                )
            }
            data_type::BFLOAT16 => {
                check(t.int32_data.len())?;
                HostValue::f32(
                    shape,
                    t.int32_data
                        .iter()
                        .map(|&v| half::bf16::from_bits(v as u16).to_f32())
                        .collect(),
                )
            }
            data_type::INT64 => {
                check(t.int64_data.len())?;
                HostValue::i64(shape, t.int64_data.clone())
            }
            data_type::UINT64 | data_type::UINT32 => {
                check(t.uint64_data.len())?;
                HostValue::i64(shape, t.uint64_data.iter().map(|&v| v as i64).collect())
            }
            _ => {
                check(t.int32_data.len())?;
                HostValue::i64(shape, t.int32_data.iter().map(|&v| i64::from(v)).collect())
            }
        }
    };
    Ok(value)
}

/// The bytes of an initializer stored in an external file (`location`, `offset`,
/// `length`), which must lie in `dir` (the model's folder).
fn external_data(t: &TensorProto, dir: Option<&Path>, expected: usize) -> Result<Vec<u8>> {
    let entry = |k: &str| {
        t.external_data
            .iter()
            .find(|e| e.key == k)
            .map(|e| e.value.as_str())
    };
    let location = entry("location")
        .ok_or_else(|| Error::Format("external data without a 'location'".into()))?;
    let dir = dir.ok_or_else(|| {
        Error::Format(format!(
            "its data are in an external file '{location}', and a model read from bytes has no folder"
        ))
    })?;
    let rel = Path::new(location);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(Error::Format(format!(
            "external data location '{location}' leaves the model's folder"
        )));
    }
    let path: PathBuf = dir.join(rel);
    let parse = |k: &str| -> Result<Option<u64>> {
        entry(k)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| Error::Format(format!("external data {k} '{v}' is not a number")))
            })
            .transpose()
    };
    let offset = parse("offset")?.unwrap_or(0);
    use std::io::{Read, Seek, SeekFrom};
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let mut f = std::fs::File::open(&path).map_err(io)?;
    let file_len = f.metadata().map_err(io)?.len();
    let length = parse("length")?.unwrap_or(expected as u64);
    if offset.checked_add(length).is_none_or(|end| end > file_len) {
        return Err(Error::Format(format!(
            "external data of {length} bytes at offset {offset} lie past the end of {} ({file_len} bytes)",
            path.display()
        )));
    }
    if length != expected as u64 {
        return Err(Error::Format(format!(
            "external data of {length} bytes where its dims and type say {expected}"
        )));
    }
    f.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut bytes = vec![0u8; length as usize];
    f.read_exact(&mut bytes).map_err(io)?;
    Ok(bytes)
}
