//! [`QuantError`], the crate's one error type.
//!
//! Every operation here reads or writes multi-GB files, so errors name the file or tensor involved: an admin
//! who sees "blk.3.ffn_down.weight: row length 11008 is not a multiple of the Q4_K block size 256" can act on
//! it, one who sees "invalid argument" cannot. Wrapped errors are `source()`s, not repeated in the message:
//! print the chain (`{:#}` with anyhow) to see "model.gguf: cannot open file: No such file or directory".

use std::path::PathBuf;

use medllm_gguf::{GgmlType, GgufError};

/// Result alias for this crate.
pub type Result<T, E = QuantError> = std::result::Result<T, E>;

/// What went wrong while generating, merging or quantizing a model.
#[derive(Debug, thiserror::Error)]
pub enum QuantError {
    /// A file could not be opened, created, read or written (the cause is the error's `source()`).
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A GGUF header could not be read or written (the cause is the error's `source()`).
    #[error("{path}")]
    Gguf {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: GgufError,
    },
    /// A header could not be built (layout, duplicate names, sizes).
    #[error("building the GGUF header")]
    Header(#[source] GgufError),
    /// The input file is not what the operation needs (missing tensor data, wrong kind of file, missing keys).
    #[error("{path}: {reason}")]
    BadInput {
        /// The file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// ggml cannot convert this type in the asked direction (e.g. no `to_float`, or quantizing needs an
    /// importance matrix that we do not have).
    #[error("{tensor}: ggml cannot {what} {ty}")]
    Unsupported {
        /// The tensor (or a description of the data).
        tensor: String,
        /// `dequantize` or `quantize to`.
        what: &'static str,
        /// The type.
        ty: GgmlType,
    },
    /// A shape does not fit: row length not a whole number of blocks, adapter shape not matching the base.
    #[error("{tensor}: {reason}")]
    Shape {
        /// The tensor.
        tensor: String,
        /// What does not fit.
        reason: String,
    },
    /// ggml's `ggml_validate_row_data` rejected freshly quantized data (NaN/inf scales): never written.
    #[error("{tensor}: ggml rejected the {ty} data it produced (non-finite values in the input?)")]
    InvalidBlocks {
        /// The tensor.
        tensor: String,
        /// The type.
        ty: GgmlType,
    },
    /// A LoRA adapter does not belong to this base model or is not a LoRA adapter.
    #[error("adapter {path}: {reason}")]
    Adapter {
        /// The adapter file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A quantization recipe is invalid (bad pattern, unknown type name, unknown built-in).
    #[error("recipe {name}: {reason}")]
    Recipe {
        /// The recipe's name or file.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A generator setting is out of range (e.g. a head count that does not divide the width).
    #[error("invalid setting: {0}")]
    Config(String),
    /// A worker thread panicked (a bug; the output file is incomplete).
    #[error("a worker thread panicked while processing {0}")]
    Worker(String),
}

impl QuantError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A GGUF error on `path`.
    pub(crate) fn gguf(path: impl Into<PathBuf>, source: GgufError) -> Self {
        Self::Gguf {
            path: path.into(),
            source,
        }
    }

    /// A bad-input error on `path`.
    pub(crate) fn bad_input(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::BadInput {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
