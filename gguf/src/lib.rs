//! Bounded GGUF reading and writing for medllm.
//!
//! GGUF is llama.cpp's model format: a header (magic, version, ordered key–value metadata, tensor infos)
//! followed by aligned tensor data. This crate reads the header only — planning a 5 GB model touches a few
//! MB — and treats every file as hostile: each count and length is checked against [`Limits`] and against the
//! bytes left in the file *before* anything is allocated, arithmetic is checked, and every parse error is a
//! typed [`GgufError`] carrying the byte offset. It never panics on input and never reads tensor data.
//!
//! On top of the raw header it answers the planner's questions: [`HyperParams`] (layers, heads, context,
//! vocabulary, experts…), [`ModelSummary`] (bytes per layer and group, globals, bytes per type) and the ggml
//! type table ([`GgmlType`]: block size, bytes per block). [`GgufWriter`] is the mirror of the reader:
//! `write_header(read_header(x))` reproduces the header bytes of `x` exactly, and new files are streamed
//! tensor by tensor.
//!
//! ```no_run
//! let header = medllm_gguf::read_header_from_path("model.gguf")?;
//! let hp = medllm_gguf::HyperParams::from_header(&header)?;
//! let summary = medllm_gguf::ModelSummary::from_header(&header);
//! println!("{} layers, {} bytes in layer 0", hp.block_count, summary.layers[0].total());
//! # Ok::<(), medllm_gguf::GgufError>(())
//! ```
//!
//! # Layout
//! - `error`: [`GgufError`], the one error type; parse errors carry byte offsets.
//! - `limits`: [`Limits`], the bounds checked before allocation.
//! - `value`: [`Value`], [`Array`], [`ValueType`], [`GgufString`]: metadata values.
//! - `metadata`: [`Metadata`], ordered entries with a lookup index and typed getters.
//! - `ggml_type`: [`GgmlType`], ggml's type table (checked against the vendored C source by a test).
//! - `file_type`: [`FileType`], llama.cpp's `general.file_type` names (`Q4_K_M`…).
//! - `tensor`: [`TensorInfo`], a validated tensor description with its byte size.
//! - `header`: [`GgufHeader`], layout (alignment, data offset, data length) and [`Completeness`].
//! - `source` (private): the bounded byte reader under the parser.
//! - `reader`: [`read_header`], [`read_header_from_path`], [`read_header_from_slice`].
//! - `writer`: [`write_header`], [`GgufWriter`] (streaming tensor data).
//! - `hparams`: [`HyperParams`], [`PerLayer`] and friends.
//! - `summary`: [`ModelSummary`], [`classify`], [`TensorGroup`].
#![deny(missing_docs)]

mod error;
mod file_type;
mod ggml_type;
mod header;
mod hparams;
mod limits;
mod metadata;
mod reader;
mod source;
mod summary;
mod tensor;
mod value;
mod writer;

pub use error::{GgufError, Result};
pub use file_type::{FILE_TYPES, FileType};
pub use ggml_type::GgmlType;
pub use header::{Completeness, GgufHeader, MAGIC, align_up};
pub use hparams::{HyperParams, PerLayer, RopeInfo, SlidingWindowPattern, VocabSource};
pub use limits::Limits;
pub use metadata::{DEFAULT_ALIGNMENT, KEY_ALIGNMENT, Metadata, MetadataEntry};
pub use reader::{read_header, read_header_from_path, read_header_from_slice};
pub use summary::{
    GlobalTensor, LayerBytes, ModelSummary, OutputProjection, TensorGroup, TypeBytes, classify,
};
pub use tensor::{MAX_DIMS, TensorInfo};
pub use value::{Array, GgufString, Value, ValueType};
pub use writer::{GgufWriter, write_header};
