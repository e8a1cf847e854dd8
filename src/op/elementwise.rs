//! The elementwise ops' semantics: the unary activations ([`Unary`]), the binary
//! arithmetic ops ([`Binary`]) with numpy/PyTorch broadcasting ([`BroadcastGeometry`],
//! its errors in PyTorch's words), and each op's value on one element, which the CPU
//! reference computes and the kernels mirror.

use crate::error::{Error, Result};

/// The largest rank a broadcast binary op takes.
pub const MAX_BROADCAST_RANK: usize = 6;

/// A unary elementwise op. Every one propagates NaN (a NaN input gives NaN), as
/// PyTorch's do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unary {
    Relu,
    LeakyRelu {
        negative_slope: f32,
    },
    /// clamp(x, min, max) (ONNX Clip, PyTorch hardtanh / relu6); min may be -inf, max +inf
    Clamp {
        min: f32,
        max: f32,
    },
    Sigmoid,
    /// max(0, min(1, alpha * x + beta)) (ONNX HardSigmoid; PyTorch hardsigmoid is alpha=1/6, beta=0.5)
    HardSigmoid {
        alpha: f32,
        beta: f32,
    },
    /// x * relu6(x + 3) / 6
    HardSwish,
    Tanh,
}

impl Unary {
    /// Whether the op only selects among its input and its parameters (so results
    /// equal PyTorch's bit for bit): relu and clamp.
    pub fn is_exact(self) -> bool {
        matches!(self, Unary::Relu | Unary::Clamp { .. })
    }

    /// The op on one value, in f32 as PyTorch computes it where the order of
    /// operations decides the rounding (clamp, leaky_relu, hardsigmoid, hardswish),
    /// and in f64 rounded once where PyTorch calls a libm function (sigmoid, tanh).
    pub fn apply(self, x: f32) -> f32 {
        if x.is_nan() {
            return x;
        }
        match self {
            Unary::Relu => crate::reference::relu::relu_value(x),
            // PyTorch: x > 0 ? x : x * negative_slope
            Unary::LeakyRelu { negative_slope } => {
                if x > 0.0 {
                    x
                } else {
                    x * negative_slope
                }
            }
            Unary::Clamp { min, max } => clamp(x, min, max),
            Unary::Sigmoid => (1.0 / (1.0 + (-f64::from(x)).exp())) as f32,
            Unary::HardSigmoid { alpha, beta } => clamp(alpha * x + beta, 0.0, 1.0),
            // PyTorch: x * min(max(x + 3, 0), 6) / 6
            Unary::HardSwish => x * clamp(x + 3.0, 0.0, 6.0) / 6.0,
            Unary::Tanh => f64::from(x).tanh() as f32,
        }
    }
}

/// `min(max(x, min), max)` as `torch.clamp` computes it for a number `x`: a bound wins
/// only when strictly past it (so -0.0 stays -0.0 with `min = 0`), and `max` wins when
/// `min > max`.
pub fn clamp(x: f32, min: f32, max: f32) -> f32 {
    let low = if x < min { min } else { x };
    if low > max { max } else { low }
}

/// A binary elementwise op between two broadcast tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binary {
    Add,
    Sub,
    Mul,
    Div,
}

impl Binary {
    /// The op on one pair of values, in f32 (true division, as `torch.div`).
    pub fn apply(self, a: f32, b: f32) -> f32 {
        match self {
            Binary::Add => a + b,
            Binary::Sub => a - b,
            Binary::Mul => a * b,
            Binary::Div => a / b,
        }
    }

    /// The `torch` name.
    pub fn name(self) -> &'static str {
        match self {
            Binary::Add => "add",
            Binary::Sub => "sub",
            Binary::Mul => "mul",
            Binary::Div => "div",
        }
    }
}

/// The shape two tensors broadcast to (numpy's rules, as `torch.broadcast_shapes`):
/// aligned at their last dimension, each pair of sizes equal or one of them 1.
///
/// # Errors
/// [`Error::Shape`] in PyTorch's words for sizes that differ where neither is 1.
pub fn broadcast_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let rank = a.len().max(b.len());
    let size = |s: &[usize], d: usize| {
        // d counts from the front of the broadcast shape
        (d + s.len()).checked_sub(rank).map_or(1, |i| s[i])
    };
    (0..rank)
        .map(|d| match (size(a, d), size(b, d)) {
            (x, y) if x == y || y == 1 => Ok(x),
            (1, y) => Ok(y),
            (x, y) => Err(Error::shape(
                op,
                format!(
                    "The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton dimension {d}"
                ),
            )),
        })
        .collect()
}

/// A checked binary call: the output's shape and, for each input, its element
/// stride along each output dimension (0 where it is broadcast).
#[derive(Clone, Debug, PartialEq)]
pub struct BroadcastGeometry {
    /// The output's shape.
    pub shape: Vec<usize>,
    /// Strides of `a` and of `b` along `shape`.
    pub strides: [Vec<usize>; 2],
    /// Elements of `a` and of `b`.
    pub numel: [usize; 2],
}

impl BroadcastGeometry {
    /// Checks `a op b` as PyTorch does.
    ///
    /// # Errors
    /// PyTorch's broadcast error; [`Error::Unsupported`] past rank
    /// [`MAX_BROADCAST_RANK`]; [`Error::Limit`] for a size or an output past the u32 a
    /// kernel indexes with.
    pub fn new(op: &'static str, a: &[usize], b: &[usize]) -> Result<Self> {
        let shape = broadcast_shapes(op, a, b)?;
        if shape.len() > MAX_BROADCAST_RANK {
            return Err(Error::Unsupported(format!(
                "{op} of tensors of rank {} (at most {MAX_BROADCAST_RANK})",
                shape.len()
            )));
        }
        let numel = shape
            .iter()
            .try_fold(1u128, |n, &d| n.checked_mul(d as u128))
            .unwrap_or(u128::MAX);
        // the kernels index the output (and so each input) with a u32
        super::fit_u32(op, "elements", i128::try_from(numel).unwrap_or(i128::MAX))?;
        let strides = |s: &[usize]| -> Vec<usize> {
            let pad = shape.len() - s.len();
            let mut out = vec![0; shape.len()];
            let mut stride = 1;
            for i in (0..s.len()).rev() {
                out[pad + i] = if s[i] == 1 { 0 } else { stride };
                stride *= s[i];
            }
            out
        };
        Ok(Self {
            strides: [strides(a), strides(b)],
            numel: [a.iter().product(), b.iter().product()],
            shape,
        })
    }

    /// The output's elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the output is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The flat index into `a` and into `b` of output element `i`.
    pub fn source(&self, mut i: usize) -> [usize; 2] {
        let mut at = [0, 0];
        for d in (0..self.shape.len()).rev() {
            let c = i % self.shape[d];
            i /= self.shape[d];
            at[0] += c * self.strides[0][d];
            at[1] += c * self.strides[1][d];
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(
            broadcast_shapes("add", &[2, 3, 1, 1], &[2, 3, 4, 5]).unwrap(),
            [2, 3, 4, 5]
        );
        assert_eq!(
            broadcast_shapes("add", &[3, 1, 1], &[2, 3, 4, 5]).unwrap(),
            [2, 3, 4, 5]
        );
        assert_eq!(broadcast_shapes("add", &[], &[2, 3]).unwrap(), [2, 3]);
        assert_eq!(broadcast_shapes("add", &[1], &[]).unwrap(), [1]);
        assert_eq!(broadcast_shapes("add", &[4, 1], &[3]).unwrap(), [4, 3]);
        assert_eq!(broadcast_shapes("add", &[0], &[1]).unwrap(), [0]);
        let e = broadcast_shapes("add", &[2, 3], &[2, 4]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "add: The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1"
        );
    }

    #[test]
    fn broadcast_sources_walk_each_input() {
        let g = BroadcastGeometry::new("mul", &[2, 1], &[3]).unwrap();
        let got: Vec<[usize; 2]> = (0..6).map(|i| g.source(i)).collect();
        assert_eq!(got, [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]);
    }

    #[test]
    fn clamp_keeps_negative_zero_and_lets_max_win() {
        assert_eq!(clamp(-0.0, 0.0, 6.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(clamp(3.0, 5.0, 1.0), 1.0);
        assert_eq!(clamp(-7.0, f32::NEG_INFINITY, 6.0), -7.0);
        assert!(Unary::Clamp { min: 0.0, max: 6.0 }.apply(f32::NAN).is_nan());
    }
}
