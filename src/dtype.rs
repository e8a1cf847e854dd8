//! Element types of tensors and of the kernels that read them.

/// The element type a tensor stores and a kernel is specialised for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    #[default]
    F32,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            DType::F32 => 4,
        }
    }

    /// PyTorch's name (`torch.float32`).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
        }
    }
}
