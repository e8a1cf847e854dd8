//! Modules named as `torch.nn`'s, composed in a [`Sequential`] that runs a whole
//! network as one submit, loads PyTorch `state_dict` weights from safetensors, and
//! lets a caller look at any layer's output through forward hooks.

mod conv2d;
pub(crate) mod layer;
mod sequential;

pub use conv2d::Conv2d;
pub use layer::{Layer, Linear};
pub use sequential::{HookId, Sequential};
