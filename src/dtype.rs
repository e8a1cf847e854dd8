//! Element types of tensors and of the kernels that read them.

/// The element type a tensor stores and a kernel is specialised for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// IEEE binary32, PyTorch's `torch.float32`.
    #[default]
    F32,
    /// IEEE binary16, PyTorch's `torch.float16` (`half`). On a GPU two share a u32,
    /// the first in its low half: the bytes of an `array<f16>`, which kernels read as
    /// that where the adapter has `SHADER_F16` and unpack from `u32` elsewhere.
    F16,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            DType::F32 => 4,
            DType::F16 => 2,
        }
    }

    /// Bytes that hold `n` elements on a GPU: f16 rounded up to whole u32 words.
    pub fn bytes(self, n: u64) -> u64 {
        match self {
            DType::F32 => n * 4,
            DType::F16 => n.div_ceil(2) * 4,
        }
    }

    /// PyTorch's name (`torch.float32`).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F16 => "float16",
        }
    }

    /// `v` rounded to the nearest value of this type (ties to even, as `half` and
    /// PyTorch's `.half()` round), held as f32.
    pub fn round(self, v: f32) -> f32 {
        match self {
            DType::F32 => v,
            DType::F16 => half::f16::from_f32(v).to_f32(),
        }
    }

    /// The short name (`f32`, `f16`), as `--precision` takes it.
    pub fn short_name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
        }
    }

    /// `f32`/`float32` or `f16`/`float16`/`half`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidParam`] for another name.
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" | "float32" | "float" => Ok(DType::F32),
            "f16" | "float16" | "half" => Ok(DType::F16),
            _ => Err(crate::Error::param(
                "precision",
                format!("unknown precision '{s}': expected f32 or f16"),
            )),
        }
    }

    /// The C++ type PyTorch names in its messages (`expected scalar type Float but
    /// found Half`).
    pub fn scalar_name(self) -> &'static str {
        match self {
            DType::F32 => "Float",
            DType::F16 => "Half",
        }
    }
}

/// How a kernel holds the elements of one call: f32, or f16 either loaded as `f16`
/// (where the device has `SHADER_F16`) or unpacked from the u32 that holds two of them
/// (on the bits, as every WGSL implementation can). Both f16 forms are the same
/// bytes, so a tensor does not know which one its kernels use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Elem {
    /// `array<f32>`.
    #[default]
    F32,
    /// `array<f16>`, converted to f32 on load and back on store (`SHADER_F16`).
    F16,
    /// f16 two to a u32, converted on the bits (`shaders/lib/half.wgsl`).
    F16Packed,
}

impl Elem {
    /// Every form.
    pub const ALL: [Elem; 3] = [Elem::F32, Elem::F16, Elem::F16Packed];

    /// The element type a tensor of this form stores.
    pub fn dtype(self) -> DType {
        match self {
            Elem::F32 => DType::F32,
            Elem::F16 | Elem::F16Packed => DType::F16,
        }
    }

    /// Bytes that hold `n` elements.
    pub(crate) fn bytes(self, n: u64) -> u64 {
        self.dtype().bytes(n)
    }

    /// The suffix of a shader's label in this form (`relu.f16.wgsl`).
    pub fn suffix(self) -> &'static str {
        match self {
            Elem::F32 => "",
            Elem::F16 => ".f16",
            Elem::F16Packed => ".f16packed",
        }
    }
}
