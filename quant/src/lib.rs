//! medllm-quant: the model-file tools behind the paper's compression and dual-mode deployment —
//! synthetic models, LoRA adapters, merging an adapter into its base, and mixed-precision quantization.
//!
//! Every conversion of tensor data goes through ggml's own functions (linked via `llama-cpp-sys-2`, the
//! same build the daemon uses): `ggml_get_type_traits(t)->to_float` to de-quantize, `ggml_quantize_chunk`
//! to quantize, `ggml_validate_row_data` to check every block written, `ggml_row_size`/`ggml_blck_size` for
//! sizes. There are no hand-written quantization kernels, so a file written here holds exactly the blocks
//! llama.cpp expects. Files are read and written through `medllm-gguf`, tensor by tensor and chunk by
//! chunk: a 7B model never sits in memory.
//!
//! This crate links ggml but never creates a llama.cpp model or context; `medctl` (which must not link
//! llama.cpp) runs the `medllm-quant` binary for `medctl merge|quantize|synth`.
//!
//! ```no_run
//! use medllm_quant::{synth, lora, merge, recipe::Recipe, quantize};
//! let cfg = synth::LlamaConfig::default();
//! synth::synth_llama(&cfg, "base.gguf".as_ref(), Default::default())?;
//! let base = medllm_quant::ModelFile::open("base.gguf")?;
//! let adapter = lora::LoraConfig::new(lora::Targets::parse("attn,ffn")?);
//! lora::write_adapter(base.header(), &adapter, "a.gguf".as_ref())?;
//! merge::merge("base.gguf".as_ref(), "a.gguf".as_ref(), "merged.gguf".as_ref(), Default::default())?;
//! let recipe = Recipe::builtin("paper", base.header())?;
//! quantize::quantize("base.gguf".as_ref(), "q.gguf".as_ref(), &recipe, Default::default())?;
//! # Ok::<(), medllm_quant::QuantError>(())
//! ```
//!
//! # Layout
//! - `error`: [`QuantError`], the one error type.
//! - [`ggml`]: the bridge to ggml's type traits and quantization (the only `unsafe`).
//! - `model_file`: [`ModelFile`], a GGUF opened for positional reads of tensor rows; [`RowShape`].
//! - [`stream`]: chunked, multi-threaded, order-preserving tensor writing ([`Threads`]).
//! - `output`: writes to `<name>.partial` and renames when complete.
//! - `rng`: [`SplitMix64`], deterministic per-chunk streams.
//! - [`synth`]: synthetic llama models ([`synth::LlamaConfig`]) and models from a real header.
//! - [`lora`]: LoRA adapters in llama.cpp's format: [`lora::write_adapter`], [`lora::LoraAdapter`].
//! - [`merge`]: `W' = W + s·B·A` into a new model file.
//! - [`recipe`]: tensor-name patterns → types; built-ins `paper`, `q4_k_m`, `q8_0`, `f16`, `f32`.
//! - [`quantize`]: applies a recipe; [`quantize::QuantizeReport`] with bytes per type.
#![deny(missing_docs)]

mod error;
pub mod ggml;
pub mod lora;
pub mod merge;
mod model_file;
mod output;
pub mod quantize;
pub mod recipe;
mod rng;
pub mod stream;
pub mod synth;

pub use error::{QuantError, Result};
pub use model_file::{ModelFile, RowShape, TensorReader};
pub use rng::SplitMix64;
pub use stream::Threads;
