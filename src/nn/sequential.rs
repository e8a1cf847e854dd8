//! `nn.Sequential`: layers run in order into the device's pending encoder, so a forward
//! pass is one submit. Each intermediate is dropped (its buffer back to the pool) as
//! soon as the next layer has consumed it; a Conv2d followed by a ReLU runs as one
//! fused convolution unless a hook watches the convolution's own output.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

use serde_json::Value;

use crate::device::Device;
use crate::error::{Error, Result};
use crate::nn::layer::{Act, Layer};
use crate::tensor::Tensor;
use crate::tensor_file::{HostTensor, TensorFile};

/// A forward hook: called with the layer's name and output, as PyTorch's
/// `register_forward_hook`.
type Hook = Box<dyn FnMut(&str, &Tensor) + Send>;

/// The handle of a registered hook, for [`Sequential::remove_hook`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HookId(u64);

/// Layers applied in order, with PyTorch `state_dict` names.
///
/// Corresponds to `torch.nn.Sequential`.
pub struct Sequential {
    layers: Vec<(String, Layer)>,
    hooks: Mutex<Vec<(HookId, usize, Hook)>>,
    next_hook: u64,
    /// The model file's metadata (class names, preprocessing, ...), kept as read.
    pub metadata: HashMap<String, String>,
}

impl std::fmt::Debug for Sequential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequential")
            .field("layers", &self.layers)
            .finish_non_exhaustive()
    }
}

impl Default for Sequential {
    fn default() -> Self {
        Self::new()
    }
}

/// Keys of a fixture file that are not weights.
impl Sequential {
    /// An empty network.
    pub fn new() -> Self {
        Self {
            layers: Vec::new(),
            hooks: Mutex::new(Vec::new()),
            next_hook: 0,
            metadata: HashMap::new(),
        }
    }

    /// Appends a layer named by its index, as `nn.Sequential` names them.
    pub fn push(mut self, layer: Layer) -> Self {
        let name = self.layers.len().to_string();
        self.layers.push((name, layer));
        self
    }

    /// Appends a layer under `name` (its weights' prefix, e.g. `features.3`).
    pub fn push_named(mut self, name: &str, layer: Layer) -> Self {
        self.layers.push((name.to_string(), layer));
        self
    }

    /// Converts every weight to `dtype` on its device (as `model.half()` does in
    /// PyTorch): the network then takes inputs of `dtype` and computes in it.
    ///
    /// # Errors
    /// A device error.
    pub fn to_dtype(&mut self, dtype: crate::DType) -> Result<()> {
        for (_, layer) in &mut self.layers {
            let (weight, bias) = match layer {
                Layer::Conv2d(c) => (&mut c.weight, &mut c.bias),
                Layer::Linear(l) => (&mut l.weight, &mut l.bias),
                _ => continue,
            };
            *weight = weight.to_dtype(dtype)?;
            if let Some(b) = bias {
                *b = b.to_dtype(dtype)?;
            }
        }
        Ok(())
    }

    /// The layers with their names.
    pub fn layers(&self) -> &[(String, Layer)] {
        &self.layers
    }

    /// The index of the layer named `selector`, or at index `selector`.
    pub fn find(&self, selector: &str) -> Option<usize> {
        self.layers
            .iter()
            .position(|(n, _)| n == selector)
            .or_else(|| {
                selector
                    .parse::<usize>()
                    .ok()
                    .filter(|&i| i < self.layers.len())
            })
    }

    /// Builds a network from the model format's layer list (`[{"op", "params",
    /// "name"?}, ...]`), taking each layer's weights from `weights` by its name.
    ///
    /// # Errors
    /// [`Error::Weights`] listing every missing, unexpected or misshapen tensor, in
    /// PyTorch's words; [`Error::Format`] for a malformed list; parameter errors.
    pub fn from_layers(
        layers: &[Value],
        mut weights: BTreeMap<String, HostTensor>,
        device: &Device,
    ) -> Result<Self> {
        let mut net = Sequential::new();
        let mut problems = Vec::new();
        for (i, entry) in layers.iter().enumerate() {
            let op = entry
                .get("op")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::Format(format!("layer {i} has no 'op'")))?;
            let name = match entry.get("name") {
                None | Some(Value::Null) => i.to_string(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => {
                    return Err(Error::Format(format!(
                        "layer {i}: 'name' must be a string, got {other}"
                    )));
                }
            };
            let empty = serde_json::Map::new();
            let params = match entry.get("params") {
                None | Some(Value::Null) => &empty,
                Some(Value::Object(m)) => m,
                Some(other) => {
                    return Err(Error::Format(format!(
                        "layer {i} ({name}): 'params' must be a JSON object, got {other}"
                    )));
                }
            };
            let layer = Layer::from_spec(&name, op, params, &mut weights, device, &mut problems)
                .map_err(|e| annotate(e, &name))?;
            net.layers.push((name, layer));
        }
        let unexpected: Vec<String> = weights.keys().map(|k| format!("\"{k}\"")).collect();
        if !unexpected.is_empty() {
            problems.push(format!(
                "Unexpected key(s) in state_dict: {}.",
                unexpected.join(", ")
            ));
        }
        if problems.is_empty() {
            Ok(net)
        } else {
            Err(Error::Weights(problems.join("\n\t")))
        }
    }

    /// Reads a model file: a safetensors file whose metadata holds `op: sequential` and
    /// `params: {"layers": [...]}` and whose tensors are the `state_dict`.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Format`], and as [`Sequential::from_layers`].
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        Self::from_safetensors(&crate::tensor_file::read_bytes(path)?, device)
    }

    /// As [`Sequential::load`], from the file's bytes.
    ///
    /// # Errors
    /// As [`Sequential::load`].
    pub fn from_safetensors(bytes: &[u8], device: &Device) -> Result<Self> {
        let file = TensorFile::from_bytes("model", bytes)?;
        if let Some(key) = file.indices.keys().next() {
            return Err(Error::Format(format!(
                "model: tensor {key} is an integer tensor, not a weight"
            )));
        }
        let op = file.metadata.get("op").map_or("", String::as_str);
        if op != "sequential" {
            return Err(Error::Format(format!(
                "a model file has op 'sequential', this one '{op}'"
            )));
        }
        let params: Value = file
            .metadata
            .get("params")
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or(Value::Null);
        let layers = params
            .get("layers")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::Format("params has no 'layers' list".into()))?;
        let mut net = Self::from_layers(layers, file.tensors, device)?;
        net.metadata = file.metadata;
        Ok(net)
    }

    /// Replaces the weights with those of a safetensors `state_dict`, strictly: every
    /// weight must be there, with the shape it has now, and nothing else.
    ///
    /// Corresponds to `load_state_dict(strict=True)`.
    ///
    /// # Errors
    /// [`Error::Weights`] in PyTorch's words; [`Error::Format`].
    pub fn load_state_dict(&mut self, bytes: &[u8]) -> Result<()> {
        let file = TensorFile::from_bytes("state_dict", bytes)?;
        if let Some(key) = file.indices.keys().next() {
            return Err(Error::Format(format!(
                "state_dict: tensor {key} is an integer tensor, not a weight"
            )));
        }
        let mut given: BTreeMap<String, HostTensor> = file.tensors;
        let mut problems = Vec::new();
        let mut updates: Vec<(usize, &'static str, Tensor)> = Vec::new();
        for (i, (name, layer)) in self.layers.iter().enumerate() {
            let params: Vec<(&'static str, &Tensor)> = match layer {
                Layer::Conv2d(c) => std::iter::once(("weight", &c.weight))
                    .chain(c.bias.as_ref().map(|b| ("bias", b)))
                    .collect(),
                Layer::Linear(l) => std::iter::once(("weight", &l.weight))
                    .chain(l.bias.as_ref().map(|b| ("bias", b)))
                    .collect(),
                _ => Vec::new(),
            };
            for (suffix, current) in params {
                let key = format!("{name}.{suffix}");
                match given.remove(&key) {
                    None => problems.push(format!("Missing key(s) in state_dict: \"{key}\".")),
                    Some(t) if t.shape != current.shape() => problems.push(format!(
                        "size mismatch for {key}: copying a param with shape torch.Size({:?}) from checkpoint, the shape in current model is torch.Size({:?}).",
                        t.shape,
                        current.shape()
                    )),
                    Some(t) => updates.push((i, suffix, Tensor::from_slice(current.device(), &t.data, &t.shape)?)),
                }
            }
        }
        if !given.is_empty() {
            let keys: Vec<String> = given.keys().map(|k| format!("\"{k}\"")).collect();
            problems.push(format!(
                "Unexpected key(s) in state_dict: {}.",
                keys.join(", ")
            ));
        }
        if !problems.is_empty() {
            return Err(Error::Weights(problems.join("\n\t")));
        }
        for (i, suffix, t) in updates {
            match (&mut self.layers[i].1, suffix) {
                (Layer::Conv2d(c), "weight") => c.weight = t,
                (Layer::Conv2d(c), _) => c.bias = Some(t),
                (Layer::Linear(l), "weight") => l.weight = t,
                (Layer::Linear(l), _) => l.bias = Some(t),
                _ => {}
            }
        }
        Ok(())
    }

    /// Calls `hook(name, output)` after the layer `selector` (a name or an index) on
    /// every forward pass, as PyTorch's `register_forward_hook`. The output is the
    /// layer's own; a hook that reads it back submits the work recorded so far.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] when no layer matches.
    pub fn register_forward_hook(
        &mut self,
        selector: &str,
        hook: impl FnMut(&str, &Tensor) + Send + 'static,
    ) -> Result<HookId> {
        let index = self.find(selector).ok_or_else(|| {
            Error::param(
                "register_forward_hook",
                format!("no layer named or numbered '{selector}'"),
            )
        })?;
        let id = HookId(self.next_hook);
        self.next_hook += 1;
        self.hooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((id, index, Box::new(hook)));
        Ok(id)
    }

    /// Removes a hook; `false` if it was not registered.
    pub fn remove_hook(&mut self, id: HookId) -> bool {
        let mut hooks = self.hooks.lock().unwrap_or_else(|p| p.into_inner());
        let before = hooks.len();
        hooks.retain(|(h, _, _)| *h != id);
        hooks.len() != before
    }

    /// Runs the network on `x`.
    ///
    /// # Errors
    /// The first layer's error, naming the layer.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.run(x, &[]).map(|(y, _)| y)
    }

    /// Runs the network and also returns copies (on the device) of the outputs of the
    /// layers named in `selectors`, in their order.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for a selector that matches no layer; as
    /// [`Sequential::forward`].
    pub fn forward_capture(&self, x: &Tensor, selectors: &[&str]) -> Result<(Tensor, Vec<Tensor>)> {
        let wanted = selectors
            .iter()
            .map(|s| {
                self.find(s).ok_or_else(|| {
                    Error::param(
                        "forward_capture",
                        format!("no layer named or numbered '{s}'"),
                    )
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        self.run(x, &wanted)
    }

    fn run(&self, x: &Tensor, capture: &[usize]) -> Result<(Tensor, Vec<Tensor>)> {
        let mut hooks = self.hooks.lock().unwrap_or_else(|p| p.into_inner());
        let hooked: Vec<usize> = hooks.iter().map(|(_, l, _)| *l).collect();
        let watched = |i: usize| capture.contains(&i) || hooked.contains(&i);
        let mut captured: Vec<Option<Tensor>> = capture.iter().map(|_| None).collect();
        let mut current: Option<Tensor> = None;
        let mut i = 0;
        while i < self.layers.len() {
            let (name, layer) = &self.layers[i];
            let fuse = layer.is_conv()
                && !watched(i)
                && matches!(self.layers.get(i + 1), Some((_, Layer::ReLU { .. })));
            let input = match current.take() {
                Some(t) => Act::Owned(t),
                None => Act::Borrowed(x),
            };
            let out = layer.forward(input, fuse).map_err(|e| annotate(e, name))?;
            let last = if fuse { i + 1 } else { i };
            for j in i..=last {
                let layer_name = &self.layers[j].0;
                for (_, _, hook) in hooks.iter_mut().filter(|(_, l, _)| *l == j) {
                    hook(layer_name, &out);
                }
                for (slot, _) in captured.iter_mut().zip(capture).filter(|(_, c)| **c == j) {
                    *slot = Some(out.try_clone()?);
                }
            }
            current = Some(out);
            i = last + 1;
        }
        let out = match current {
            Some(t) => t,
            None => x.try_clone()?,
        };
        Ok((
            out,
            captured
                .into_iter()
                .map(|t| t.expect("every captured layer ran"))
                .collect(),
        ))
    }

    /// Multiply-adds of one forward pass on an input of `shape` (convolutions and
    /// linear layers), from the shapes each layer gives (`u64::MAX` past that).
    ///
    /// # Errors
    /// As [`Sequential::forward`].
    pub fn macs(&self, shape: &[usize]) -> Result<u64> {
        let mut total = 0;
        let mut shape = shape.to_vec();
        for (name, layer) in &self.layers {
            total = layer.macs(&shape).saturating_add(total);
            shape = self
                .layer_output_shape(layer, &shape)
                .map_err(|e| annotate(e, name))?;
        }
        Ok(total)
    }

    fn layer_output_shape(&self, layer: &Layer, shape: &[usize]) -> Result<Vec<usize>> {
        Ok(match layer {
            Layer::Conv2d(c) => c
                .params
                .geometry(shape, c.weight.shape(), None)?
                .output_shape(),
            Layer::MaxPool2d(p) => p.geometry(shape)?.output_shape(),
            Layer::AvgPool2d(p) => p.geometry(shape)?.output_shape(),
            Layer::AdaptiveAvgPool2d(s) => {
                crate::op::pool2d::AdaptiveGeometry::new("adaptive_avg_pool2d", shape, *s)?
                    .output_shape()
            }
            Layer::Upsample(p) => p.geometry(shape)?.output_shape(),
            Layer::Flatten { start_dim, end_dim } => {
                crate::nn::layer::flatten_shape(shape, *start_dim, *end_dim)?
            }
            Layer::Linear(l) => {
                let bias = l.bias.as_ref().map(Tensor::shape);
                let [n, _, m] = crate::op::linear::linear_dims(shape, l.weight.shape(), bias)?;
                vec![n, m]
            }
            Layer::ReLU { .. } | Layer::Identity => shape.to_vec(),
        })
    }
}

/// Names the layer that raised an op error.
fn annotate(e: Error, layer: &str) -> Error {
    e.at(layer, &format!("layer {layer}"))
}
