//! Whole networks built in Rust as [`Graph`]s, with deterministic pseudo-random weights:
//! `resnet18`, `mobilenet_v2` and `efficientnet_b0` as torchvision defines them, and the
//! `unet` of `scripts/export_onnx.py`, so that benchmarks and tests run whole networks
//! without a model file.
//!
//! Each graph has the nodes an ONNX export of the same architecture has: BatchNorm
//! after each convolution (with randomised statistics, folded into the convolution at
//! load as for a real export), ReLU6 as a clamp, SiLU as `x * sigmoid(x)`, squeeze and
//! excitation as a global average pool, two 1x1 convolutions and a product.
//! Dropout and stochastic depth are the identity in inference and are left out.
//!
//! Weights come from a small generator seeded by the seed and the tensor's name, so a
//! network is the same for a seed whatever builds it. Convolution weights are uniform
//! with He's variance (`2 / fan_in`), which keeps activations of the order of one
//! through every layer; linear layers and biases as PyTorch initialises them
//! (`U(-1/sqrt(fan_in), 1/sqrt(fan_in))`); BatchNorm as `scripts/export_onnx.py`
//! randomises it (mean and bias of standard deviation 0.1, variance in [0.5, 1.5],
//! weight 1 plus a standard deviation of 0.1).

use std::collections::HashMap;

use super::Model;
use super::graph::{AutoPad, Graph, GraphInput, HostValue, Node, NodeOp, ValueId};
use crate::device::Device;
use crate::error::{Error, Result};
use crate::op::conv2d::{Conv2dParams, Padding};
use crate::op::elementwise::{Binary, Unary};
use crate::op::interpolate::{InterpolateMode, InterpolateParams};
use crate::op::pool2d::MaxPool2dParams;

/// A network of the zoo: its name, the input it is benchmarked on, and its output for
/// that input.
#[derive(Clone, Copy, Debug)]
pub struct Network {
    pub name: &'static str,
    /// `[n, c, h, w]`. The graph declares the batch free and the rest fixed.
    pub input: [usize; 4],
    /// The output's shape for [`Network::input`].
    pub output: &'static [usize],
    build: fn(&mut Builder),
}

/// Every network of the zoo.
pub const NETWORKS: &[Network] = &[
    Network {
        name: "resnet18",
        input: [1, 3, 224, 224],
        output: &[1, 1000],
        build: resnet18,
    },
    Network {
        name: "mobilenet_v2",
        input: [1, 3, 224, 224],
        output: &[1, 1000],
        build: mobilenet_v2,
    },
    Network {
        name: "efficientnet_b0",
        input: [1, 3, 224, 224],
        output: &[1, 1000],
        build: efficientnet_b0,
    },
    Network {
        name: "unet",
        input: [1, 3, 256, 256],
        output: &[1, 2, 256, 256],
        build: unet,
    },
];

/// The names of [`NETWORKS`], in order.
pub const NAMES: &[&str] = &["resnet18", "mobilenet_v2", "efficientnet_b0", "unet"];

/// The network named `name`.
///
/// # Errors
/// [`Error::InvalidParam`] for a name the zoo lacks, listing the names it has.
pub fn network(name: &str) -> Result<&'static Network> {
    NETWORKS.iter().find(|n| n.name == name).ok_or_else(|| {
        Error::param(
            "zoo",
            format!("no network named '{name}' (known: {})", NAMES.join(", ")),
        )
    })
}

/// The graph of network `name` with weights drawn from `seed`.
///
/// # Errors
/// As [`network`].
pub fn build(name: &str, seed: u64) -> Result<Graph> {
    Ok(network(name)?.build(seed))
}

impl Network {
    /// The graph, with weights drawn from `seed`: one input `input`, one output
    /// `output`; BatchNorm not yet folded (as a model file gives it).
    pub fn build(&self, seed: u64) -> Graph {
        let mut b = Builder {
            graph: Graph::default(),
            seed,
            uses: HashMap::new(),
            x: 0,
        };
        let [_, c, h, w] = self.input;
        b.x = b.fresh("input");
        b.graph.inputs.push(GraphInput {
            value: b.x,
            shape: Some(vec![None, Some(c), Some(h), Some(w)]),
        });
        (self.build)(&mut b);
        let out = b.x;
        b.graph.names[out] = "output".into();
        b.graph.outputs.push(out);
        b.graph
    }
}

impl Model {
    /// Network `name` of the zoo (see [`NETWORKS`]) with weights drawn from `seed`,
    /// loaded onto `device` as a model file would be (BatchNorm folded, ReLU fused).
    ///
    /// # Errors
    /// As [`network`].
    pub fn zoo(name: &str, seed: u64, device: &Device) -> Result<Self> {
        let graph = build(name, seed)?;
        let metadata = HashMap::from([
            ("format".to_string(), "zoo".to_string()),
            ("network".to_string(), name.to_string()),
            ("seed".to_string(), seed.to_string()),
        ]);
        Ok(Self::new(graph, format!("zoo:{name}"), metadata, device))
    }
}

/// The generator of a tensor's values: splitmix64 seeded by the network's seed and
/// the tensor's name (FNV-1a), so each tensor's values are independent of the order
/// of construction.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, name: &str) -> Self {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        Self(seed ^ h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[-bound, bound)`.
    fn uniform(&mut self, bound: f32) -> f32 {
        let unit = (self.next() >> 40) as f32 / (1u64 << 24) as f32; // [0, 1)
        (2.0 * unit - 1.0) * bound
    }
}

/// How a convolution is made: PyTorch's `nn.Conv2d` arguments.
#[derive(Clone, Copy)]
struct Conv {
    c_in: usize,
    c_out: usize,
    k: usize,
    stride: i64,
    groups: usize,
    bias: bool,
}

impl Conv {
    /// A `k`x`k` convolution padded by `(k - 1) / 2`, no bias (as before a BatchNorm).
    fn new(c_in: usize, c_out: usize, k: usize) -> Self {
        Self {
            c_in,
            c_out,
            k,
            stride: 1,
            groups: 1,
            bias: false,
        }
    }
    fn stride(mut self, s: i64) -> Self {
        self.stride = s;
        self
    }
    fn depthwise(mut self) -> Self {
        self.groups = self.c_in;
        self
    }
    fn bias(mut self) -> Self {
        self.bias = true;
        self
    }
}

/// Builds a graph as a chain: `x` is the current value, and each layer replaces it.
struct Builder {
    graph: Graph,
    seed: u64,
    /// How often each node name has been used (repeated modules, as torchvision's
    /// `relu` called twice in a block, get `name:2`).
    uses: HashMap<String, usize>,
    x: ValueId,
}

impl Builder {
    fn fresh(&mut self, name: &str) -> ValueId {
        self.graph.names.push(name.to_string());
        self.graph.names.len() - 1
    }

    /// A node `name` of `op` on `inputs`; its output.
    fn node(&mut self, name: &str, op_type: &str, op: NodeOp, inputs: &[ValueId]) -> ValueId {
        let n = self.uses.entry(name.to_string()).or_default();
        *n += 1;
        let name = if *n == 1 {
            name.to_string()
        } else {
            format!("{name}:{n}")
        };
        let out = self.fresh(&name);
        self.graph.nodes.push(Node {
            name,
            op_type: op_type.to_string(),
            op,
            inputs: inputs.iter().map(|&v| Some(v)).collect(),
            outputs: vec![out],
        });
        out
    }

    /// A constant `name` of `shape` with values from `fill`.
    fn constant(
        &mut self,
        name: &str,
        shape: Vec<usize>,
        fill: impl Fn(&mut Rng) -> f32,
    ) -> ValueId {
        let mut rng = Rng::new(self.seed, name);
        let data = (0..shape.iter().product::<usize>())
            .map(|_| fill(&mut rng))
            .collect();
        let v = self.fresh(name);
        self.graph.constants.insert(v, HostValue::f32(shape, data));
        v
    }

    fn uniform(&mut self, name: &str, shape: Vec<usize>, bound: f32) -> ValueId {
        self.constant(name, shape, |r| r.uniform(bound))
    }

    /// `nn.Conv2d` on `x`, padding `(k - 1) / 2`.
    fn conv(&mut self, name: &str, c: Conv) -> ValueId {
        let fan_in = (c.c_in / c.groups * c.k * c.k) as f32;
        let shape = vec![c.c_out, c.c_in / c.groups, c.k, c.k];
        let mut inputs = vec![
            self.x,
            self.uniform(&format!("{name}.weight"), shape, (6.0 / fan_in).sqrt()),
        ];
        if c.bias {
            inputs.push(self.uniform(
                &format!("{name}.bias"),
                vec![c.c_out],
                fan_in.sqrt().recip(),
            ));
        }
        let p = (c.k as i64 - 1) / 2;
        let op = NodeOp::Conv {
            params: Conv2dParams {
                stride: [c.stride; 2],
                groups: c.groups as i64,
                padding: Padding::Explicit([p, p]),
                ..Conv2dParams::default()
            },
            pads: Some(AutoPad::both_sides([p, p])),
            relu: false,
        };
        self.x = self.node(name, "Conv", op, &inputs);
        self.x
    }

    /// `nn.BatchNorm2d(c)` in eval mode, its statistics randomised.
    fn batch_norm(&mut self, name: &str, c: usize) -> ValueId {
        // uniform of standard deviation `s`
        let sd = |s: f32| move |r: &mut Rng| r.uniform(s * 3f32.sqrt());
        let weight = self.constant(&format!("{name}.weight"), vec![c], |r| 1.0 + sd(0.1)(r));
        let bias = self.constant(&format!("{name}.bias"), vec![c], sd(0.1));
        let mean = self.constant(&format!("{name}.running_mean"), vec![c], sd(0.1));
        let var = self.constant(&format!("{name}.running_var"), vec![c], |r| {
            1.0 + r.uniform(0.5)
        });
        let op = NodeOp::BatchNorm { eps: 1e-5 };
        self.x = self.node(
            name,
            "BatchNormalization",
            op,
            &[self.x, weight, bias, mean, var],
        );
        self.x
    }

    fn unary(&mut self, name: &str, op_type: &str, u: Unary) -> ValueId {
        self.x = self.node(name, op_type, NodeOp::Unary(u), &[self.x]);
        self.x
    }

    fn relu(&mut self, name: &str) -> ValueId {
        self.unary(name, "Relu", Unary::Relu)
    }

    /// `nn.ReLU6`: a clamp to [0, 6], ONNX's Clip.
    fn relu6(&mut self, name: &str) -> ValueId {
        self.unary(name, "Clip", Unary::Clamp { min: 0.0, max: 6.0 })
    }

    /// `nn.SiLU`: `x * sigmoid(x)`, as exported.
    fn silu(&mut self, name: &str) -> ValueId {
        let x = self.x;
        let s = self.unary(&format!("{name}.sigmoid"), "Sigmoid", Unary::Sigmoid);
        self.x = self.binary(name, Binary::Mul, x, s);
        self.x
    }

    fn binary(&mut self, name: &str, f: Binary, a: ValueId, b: ValueId) -> ValueId {
        let op_type = match f {
            Binary::Add => "Add",
            Binary::Sub => "Sub",
            Binary::Mul => "Mul",
            Binary::Div => "Div",
        };
        self.x = self.node(name, op_type, NodeOp::Binary(f), &[a, b]);
        self.x
    }

    /// `nn.MaxPool2d(k, stride, padding)`.
    fn max_pool(&mut self, name: &str, k: i64, stride: i64, padding: i64) -> ValueId {
        let params = MaxPool2dParams::new(k).stride(stride).padding(padding);
        let op = NodeOp::MaxPool {
            params,
            pads: AutoPad::both_sides([padding, padding]),
        };
        self.x = self.node(name, "MaxPool", op, &[self.x]);
        self.x
    }

    /// `nn.AdaptiveAvgPool2d(1)` (ONNX's GlobalAveragePool).
    fn global_avg_pool(&mut self, name: &str) -> ValueId {
        let op = NodeOp::AdaptiveAvgPool {
            output_size: [Some(1), Some(1)],
        };
        self.x = self.node(name, "GlobalAveragePool", op, &[self.x]);
        self.x
    }

    /// `torch.flatten(x, 1)`, then `nn.Linear(c_in, c_out)`.
    fn classifier(&mut self, name: &str, c_in: usize, c_out: usize) -> ValueId {
        self.x = self.node("flatten", "Flatten", NodeOp::Flatten { axis: 1 }, &[self.x]);
        let bound = (c_in as f32).sqrt().recip();
        let w = self.uniform(&format!("{name}.weight"), vec![c_out, c_in], bound);
        let b = self.uniform(&format!("{name}.bias"), vec![c_out], bound);
        self.x = self.node(name, "Linear", NodeOp::Linear, &[self.x, w, b]);
        self.x
    }
}

/// torchvision's `resnet18`: BasicBlocks of [2, 2, 2, 2].
fn resnet18(b: &mut Builder) {
    b.conv("conv1", Conv::new(3, 64, 7).stride(2));
    b.batch_norm("bn1", 64);
    b.relu("relu");
    b.max_pool("maxpool", 3, 2, 1);
    let mut c_in = 64;
    for (layer, c) in [64, 128, 256, 512].into_iter().enumerate() {
        for block in 0..2 {
            let stride = if layer > 0 && block == 0 { 2 } else { 1 };
            let p = format!("layer{}.{block}", layer + 1);
            let identity = b.x;
            b.conv(&format!("{p}.conv1"), Conv::new(c_in, c, 3).stride(stride));
            b.batch_norm(&format!("{p}.bn1"), c);
            b.relu(&format!("{p}.relu"));
            b.conv(&format!("{p}.conv2"), Conv::new(c, c, 3));
            let y = b.batch_norm(&format!("{p}.bn2"), c);
            let skip = if stride != 1 || c_in != c {
                b.x = identity;
                b.conv(
                    &format!("{p}.downsample.0"),
                    Conv::new(c_in, c, 1).stride(stride),
                );
                b.batch_norm(&format!("{p}.downsample.1"), c)
            } else {
                identity
            };
            b.binary(&format!("{p}.add"), Binary::Add, y, skip);
            b.relu(&format!("{p}.relu"));
            c_in = c;
        }
    }
    b.global_avg_pool("avgpool");
    b.classifier("fc", 512, 1000);
}

/// torchvision's `mobilenet_v2` (width 1.0): inverted residuals with ReLU6.
fn mobilenet_v2(b: &mut Builder) {
    // (expansion t, channels c, repeats n, first stride s)
    const SETTINGS: [(usize, usize, usize, i64); 7] = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ];
    b.conv("features.0.0", Conv::new(3, 32, 3).stride(2));
    b.batch_norm("features.0.1", 32);
    b.relu6("features.0.2");
    let mut c_in = 32;
    let mut f = 1;
    for (t, c, n, s) in SETTINGS {
        for i in 0..n {
            let stride = if i == 0 { s } else { 1 };
            let p = format!("features.{f}.conv");
            let input = b.x;
            let hidden = c_in * t;
            let mut j = 0;
            if t != 1 {
                b.conv(&format!("{p}.0.0"), Conv::new(c_in, hidden, 1));
                b.batch_norm(&format!("{p}.0.1"), hidden);
                b.relu6(&format!("{p}.0.2"));
                j = 1;
            }
            b.conv(
                &format!("{p}.{j}.0"),
                Conv::new(hidden, hidden, 3).stride(stride).depthwise(),
            );
            b.batch_norm(&format!("{p}.{j}.1"), hidden);
            b.relu6(&format!("{p}.{j}.2"));
            b.conv(&format!("{p}.{}", j + 1), Conv::new(hidden, c, 1));
            let y = b.batch_norm(&format!("{p}.{}", j + 2), c);
            if stride == 1 && c_in == c {
                b.binary(&format!("features.{f}.add"), Binary::Add, input, y);
            }
            c_in = c;
            f += 1;
        }
    }
    b.conv(&format!("features.{f}.0"), Conv::new(320, 1280, 1));
    b.batch_norm(&format!("features.{f}.1"), 1280);
    b.relu6(&format!("features.{f}.2"));
    b.global_avg_pool("avgpool");
    b.classifier("classifier.1", 1280, 1000);
}

/// torchvision's `efficientnet_b0`: MBConv blocks with squeeze and excitation, SiLU.
fn efficientnet_b0(b: &mut Builder) {
    // (expand ratio, kernel, first stride, in, out, layers)
    const SETTINGS: [(usize, usize, i64, usize, usize, usize); 7] = [
        (1, 3, 1, 32, 16, 1),
        (6, 3, 2, 16, 24, 2),
        (6, 5, 2, 24, 40, 2),
        (6, 3, 2, 40, 80, 3),
        (6, 5, 1, 80, 112, 3),
        (6, 5, 2, 112, 192, 4),
        (6, 3, 1, 192, 320, 1),
    ];
    b.conv("features.0.0", Conv::new(3, 32, 3).stride(2));
    b.batch_norm("features.0.1", 32);
    b.silu("features.0.2");
    for (stage, (e, k, s, c_first, c_out, layers)) in SETTINGS.into_iter().enumerate() {
        for i in 0..layers {
            let (c_in, stride) = if i == 0 { (c_first, s) } else { (c_out, 1) };
            let p = format!("features.{}.{i}.block", stage + 1);
            let input = b.x;
            let expanded = c_in * e;
            let mut j = 0;
            if expanded != c_in {
                b.conv(&format!("{p}.0.0"), Conv::new(c_in, expanded, 1));
                b.batch_norm(&format!("{p}.0.1"), expanded);
                b.silu(&format!("{p}.0.2"));
                j = 1;
            }
            b.conv(
                &format!("{p}.{j}.0"),
                Conv::new(expanded, expanded, k).stride(stride).depthwise(),
            );
            b.batch_norm(&format!("{p}.{j}.1"), expanded);
            let x = b.silu(&format!("{p}.{j}.2"));
            // squeeze and excitation: squeeze channels from the block's input
            let se = format!("{p}.{}", j + 1);
            let squeeze = (c_in / 4).max(1);
            b.global_avg_pool(&format!("{se}.avgpool"));
            b.conv(&format!("{se}.fc1"), Conv::new(expanded, squeeze, 1).bias());
            b.silu(&format!("{se}.activation"));
            b.conv(&format!("{se}.fc2"), Conv::new(squeeze, expanded, 1).bias());
            let scale = b.unary(&format!("{se}.scale_activation"), "Sigmoid", Unary::Sigmoid);
            b.binary(&format!("{se}.mul"), Binary::Mul, scale, x);
            b.conv(&format!("{p}.{}.0", j + 2), Conv::new(expanded, c_out, 1));
            let y = b.batch_norm(&format!("{p}.{}.1", j + 2), c_out);
            if stride == 1 && c_in == c_out {
                b.binary(
                    &format!("features.{}.{i}.add", stage + 1),
                    Binary::Add,
                    y,
                    input,
                );
            }
        }
    }
    b.conv("features.8.0", Conv::new(320, 1280, 1));
    b.batch_norm("features.8.1", 1280);
    b.silu("features.8.2");
    b.global_avg_pool("avgpool");
    b.classifier("classifier.1", 1280, 1000);
}

/// The `UNet` of `scripts/export_onnx.py` (`c=16`, 3 channels in, 2 out): three
/// downsamplings; up-paths through a ConvTranspose2d, a bilinear and a nearest
/// upsampling, each concatenated with the encoder's feature map of its size.
fn unet(b: &mut Builder) {
    const C: usize = 16;
    // conv, BatchNorm, ReLU, twice
    fn block(b: &mut Builder, name: &str, c_in: usize, c_out: usize) -> ValueId {
        b.conv(&format!("{name}.0"), Conv::new(c_in, c_out, 3));
        b.batch_norm(&format!("{name}.1"), c_out);
        b.relu(&format!("{name}.2"));
        b.conv(&format!("{name}.3"), Conv::new(c_out, c_out, 3));
        b.batch_norm(&format!("{name}.4"), c_out);
        b.relu(&format!("{name}.5"))
    }
    fn concat(b: &mut Builder, name: &str, skip: ValueId) -> ValueId {
        let op = NodeOp::Concat { axis: 1 };
        b.x = b.node(name, "Concat", op, &[b.x, skip]);
        b.x
    }
    fn upsample(b: &mut Builder, name: &str, mode: InterpolateMode) {
        let mut params = InterpolateParams::scale(2.0, mode);
        if mode == InterpolateMode::Bilinear {
            params = params.align_corners(false);
        }
        b.x = b.node(name, "Upsample", NodeOp::Interpolate(params), &[b.x]);
    }
    let x1 = block(b, "e1", 3, C);
    b.max_pool("pool", 2, 2, 0);
    let x2 = block(b, "e2", C, 2 * C);
    b.max_pool("pool", 2, 2, 0);
    let x3 = block(b, "e3", 2 * C, 4 * C);
    b.max_pool("pool", 2, 2, 0);
    block(b, "mid", 4 * C, 8 * C);
    // nn.ConvTranspose2d(8c, 4c, 2, stride=2): weight [c_in, c_out, kh, kw]; PyTorch's
    // bias bound is 1/sqrt(c_out * kh * kw), its weight's fan is taken as the
    // convolution's, each output reading c_in inputs
    let w = b.uniform(
        "up3.weight",
        vec![8 * C, 4 * C, 2, 2],
        (6.0 / (8 * C) as f32).sqrt(),
    );
    let bias = b.uniform("up3.bias", vec![4 * C], ((4 * C * 4) as f32).sqrt().recip());
    let op = NodeOp::ConvTranspose {
        stride: [2, 2],
        dilation: [1, 1],
        group: 1,
        pads: AutoPad::Explicit([0; 4]),
        output_padding: [0, 0],
        output_shape: None,
    };
    b.x = b.node("up3", "ConvTranspose", op, &[b.x, w, bias]);
    concat(b, "cat3", x3);
    block(b, "d3", 8 * C, 4 * C);
    upsample(b, "up2.0", InterpolateMode::Bilinear);
    b.conv("up2.1", Conv::new(4 * C, 2 * C, 1).bias());
    concat(b, "cat2", x2);
    block(b, "d2", 4 * C, 2 * C);
    upsample(b, "up1.0", InterpolateMode::Nearest);
    b.conv("up1.1", Conv::new(2 * C, C, 1).bias());
    concat(b, "cat1", x1);
    block(b, "d1", 2 * C, C);
    b.conv("head", Conv::new(C, 2, 1).bias());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_list_the_networks() {
        let names: Vec<&str> = NETWORKS.iter().map(|n| n.name).collect();
        assert_eq!(names, NAMES);
    }

    #[test]
    fn weights_depend_on_seed_and_name_only() {
        let a = Rng::new(7, "fc.weight").next();
        assert_eq!(a, Rng::new(7, "fc.weight").next());
        assert_ne!(a, Rng::new(8, "fc.weight").next());
        assert_ne!(a, Rng::new(7, "fc.bias").next());
        let mut r = Rng::new(1, "x");
        assert!(
            (0..1000)
                .map(|_| r.uniform(0.5))
                .all(|v| (-0.5..0.5).contains(&v))
        );
    }
}
