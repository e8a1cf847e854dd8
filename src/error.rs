//! The crate's one error type. Every public call returns `Result<_, Error>`; user input
//! never panics. Messages follow PyTorch's wording where PyTorch has one.

/// Everything that can go wrong in wgcnn.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Tensor shapes disagree with each other or with the data.
    #[error("{op}: {message}")]
    Shape { op: &'static str, message: String },
    /// An operator parameter is out of its domain.
    #[error("{op}: {message}")]
    InvalidParam { op: &'static str, message: String },
    /// A request exceeds a limit: of the adapter (buffer size, binding size, ...), of
    /// the CPU reference path (elements of one tensor), or of a u32 that a kernel reads
    /// (a size or parameter PyTorch would accept). `op` names the operator (`tensor` for
    /// a tensor's own storage, `device` where the device layer cannot tell).
    #[error("{op}: {what} of {requested} exceeds the limit {limit}")]
    Limit {
        op: &'static str,
        what: &'static str,
        requested: u64,
        limit: u64,
    },
    /// No adapter matches the request (backend name, adapter-name filter).
    #[error("no adapter: {0}")]
    NoAdapter(String),
    /// The backend refused the device or reported an internal failure.
    #[error("backend error: {0}")]
    Backend(String),
    /// wgpu's validation rejected a command, buffer or pipeline.
    #[error("validation error: {0}")]
    Validation(String),
    /// A shader failed to compile or validate.
    #[error("shader {name}: {message}")]
    Shader { name: &'static str, message: String },
    /// The device ran out of memory.
    #[error("out of memory: {0}")]
    OutOfMemory(String),
    /// The device was lost (driver reset, removal). It cannot be used again.
    #[error("device lost: {0}")]
    DeviceLost(String),
    /// Tensors passed to one call live on different devices.
    #[error("{op}: tensors live on different devices")]
    DeviceMismatch { op: &'static str },
    /// An operator this build does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A model's weights disagree with its layers (PyTorch's `load_state_dict` words).
    #[error("Error(s) in loading state_dict for Sequential:\n\t{0}")]
    Weights(String),
    /// A fixture or model file is malformed.
    #[error("format error: {0}")]
    Format(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// An error with no message of its own (a limit, out of memory, a backend's),
    /// raised by one layer of a model: the layer named.
    #[error("{source} (layer {layer})")]
    InLayer {
        layer: String,
        #[source]
        source: Box<Error>,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::Shape`].
    pub fn shape(op: &'static str, message: impl Into<String>) -> Self {
        Error::Shape {
            op,
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::InvalidParam`].
    pub fn param(op: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidParam {
            op,
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::Limit`].
    pub fn limit(op: &'static str, what: &'static str, requested: u64, limit: u64) -> Self {
        Error::Limit {
            op,
            what,
            requested,
            limit,
        }
    }

    /// This error as raised while running `op`: a [`Error::Limit`] names `op` (the
    /// device layer and the kernels' scratch tensors cannot tell which op they serve).
    #[must_use]
    pub fn in_op(self, op: &'static str) -> Self {
        match self {
            Error::Limit {
                what,
                requested,
                limit,
                ..
            } => Error::Limit {
                op,
                what,
                requested,
                limit,
            },
            other => other,
        }
    }

    /// This error as raised by one part of a model: `place` (`layer 3`, `node 'conv1',
    /// Conv`) follows a message of the error's own (once); an error without a message of its own is [`Error::InLayer`] of `name`;
    /// a lost device is the device's, not the part's.
    #[must_use]
    pub fn at(self, name: &str, place: &str) -> Self {
        let suffix = format!(" ({place})");
        let tag = |m: String| if m.ends_with(&suffix) { m } else { m + &suffix };
        match self {
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
            e @ (Error::DeviceLost(_) | Error::InLayer { .. }) => e,
            other => Error::InLayer {
                layer: name.to_string(),
                source: Box::new(other),
            },
        }
    }

    /// Converts an error captured by a wgpu error scope.
    pub(crate) fn from_wgpu(err: wgpu::Error) -> Self {
        match err {
            wgpu::Error::OutOfMemory { .. } => Error::OutOfMemory(err.to_string()),
            wgpu::Error::Validation { description, .. } => Error::Validation(description),
            wgpu::Error::Internal { description, .. } => Error::Backend(description),
        }
    }
}
