//! Synthetic models for tests and benchmarks: valid GGUF files that llama.cpp loads and runs, with
//! deterministic pseudo-random weights.
//!
//! - [`llama`]: a llama-architecture model of any size from a [`LlamaConfig`] (tokenizer included).
//! - [`from_header`]: a model with a real model's exact layout (e.g. the 7B fixture), optionally cut to N
//!   layers.
//! - [`fill`]: the values and the streaming, ggml-quantized writer both use.
//! - [`vocab`]: the generated SPM vocabulary.

pub mod fill;
pub mod from_header;
pub mod llama;
pub mod vocab;

use std::path::Path;

pub use fill::{Fill, GenerateOptions, WriteStats};
pub use from_header::{FromHeaderOptions, keep_layers, synth_from_header};
pub use llama::LlamaConfig;

use crate::error::Result;

/// Writes a synthetic llama model for `cfg` to `out`.
pub fn synth_llama(cfg: &LlamaConfig, out: &Path, opts: GenerateOptions) -> Result<WriteStats> {
    fill::write_model(cfg.header()?, out, opts, Fill::for_tensor)
}
