//! The Sequential safetensors format as a [`Graph`]: a chain of nodes, one per layer,
//! named as the layers are.

use std::collections::HashMap;

use super::graph::{AutoPad, Graph, GraphInput, HostValue, Node, NodeOp, ViewShape};
use crate::device::Device;
use crate::error::Result;
use crate::nn::{Layer, Sequential};
use crate::op::elementwise::Unary;
use crate::tensor::Tensor;

/// The graph of a Sequential model file's bytes, and its metadata.
///
/// # Errors
/// As [`Sequential::from_safetensors`].
pub fn graph(name: &str, bytes: &[u8]) -> Result<(Graph, HashMap<String, String>)> {
    let net = Sequential::from_safetensors(bytes, &Device::cpu()).map_err(|e| match e {
        crate::Error::Format(m) => crate::Error::Format(format!("{name}: {m}")),
        other => other,
    })?;
    let mut graph = Graph::default();
    let mut index = HashMap::new();
    let input = graph.value(&mut index, "input");
    graph.inputs.push(GraphInput {
        value: input,
        shape: None,
    });
    let mut current = input;
    let host =
        |t: &Tensor| -> Result<HostValue> { Ok(HostValue::f32(t.shape().to_vec(), t.to_vec()?)) };
    for (layer_name, layer) in net.layers() {
        let out = graph.value(&mut index, layer_name);
        let mut inputs = vec![Some(current)];
        let mut constant = |graph: &mut Graph, suffix: &str, t: &Tensor| -> Result<usize> {
            let v = graph.value(&mut index, &format!("{layer_name}.{suffix}"));
            graph.constants.insert(v, host(t)?);
            Ok(v)
        };
        let (op_type, op) = match layer {
            Layer::Conv2d(c) => {
                inputs.push(Some(constant(&mut graph, "weight", &c.weight)?));
                if let Some(b) = &c.bias {
                    inputs.push(Some(constant(&mut graph, "bias", b)?));
                }
                (
                    "Conv2d",
                    NodeOp::Conv {
                        params: c.params,
                        pads: None,
                        relu: false,
                    },
                )
            }
            Layer::Linear(l) => {
                inputs.push(Some(constant(&mut graph, "weight", &l.weight)?));
                if let Some(b) = &l.bias {
                    inputs.push(Some(constant(&mut graph, "bias", b)?));
                }
                ("Linear", NodeOp::Linear)
            }
            Layer::ReLU { .. } => ("ReLU", NodeOp::Unary(Unary::Relu)),
            Layer::MaxPool2d(p) => (
                "MaxPool2d",
                NodeOp::MaxPool {
                    params: *p,
                    pads: AutoPad::both_sides(p.padding),
                },
            ),
            Layer::AvgPool2d(p) => (
                "AvgPool2d",
                NodeOp::AveragePool {
                    params: *p,
                    pads: AutoPad::both_sides(p.padding),
                },
            ),
            Layer::AdaptiveAvgPool2d(s) => (
                "AdaptiveAvgPool2d",
                NodeOp::AdaptiveAvgPool { output_size: *s },
            ),
            Layer::Upsample(p) => ("Upsample", NodeOp::Interpolate(*p)),
            Layer::Flatten { start_dim, end_dim } => (
                "Flatten",
                NodeOp::View {
                    shape: ViewShape::Flatten {
                        start_dim: *start_dim,
                        end_dim: *end_dim,
                    },
                },
            ),
            Layer::Identity => ("Identity", NodeOp::Identity),
        };
        graph.nodes.push(Node {
            name: layer_name.clone(),
            op_type: op_type.to_string(),
            op,
            inputs,
            outputs: vec![out],
        });
        current = out;
    }
    graph.outputs.push(current);
    Ok((graph, net.metadata.clone()))
}
