//! Filling a model's tensors with deterministic pseudo-random weights, quantized through ggml.
//!
//! Values are chosen so that a forward pass stays finite and non-degenerate (not so that the model says
//! anything): norm weights are 1, biases small, matrices uniform with standard deviation `1/sqrt(fan_in)`
//! (activations keep their scale through each projection), the token embedding has unit variance. Each
//! chunk of rows is generated as floats from its own seed, quantized to the tensor's type by
//! `ggml_quantize_chunk` and checked by `ggml_validate_row_data` — so every block is a valid block of its
//! type with finite scales, exactly as `llama-quantize` would have written it.

use std::path::Path;
use std::time::Instant;

use medllm_gguf::{GgmlType, GgufHeader, TensorInfo};

use crate::error::{QuantError, Result};
use crate::ggml;
use crate::output::Output;
use crate::rng::SplitMix64;
use crate::stream::{self, Chunk, Threads};

/// How to fill one tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fill {
    /// Every element the same value (norm weights).
    Const(f32),
    /// Uniform in `[-amplitude, amplitude)`.
    Uniform {
        /// Half-width of the interval.
        amplitude: f32,
    },
}

impl Fill {
    /// The default for a tensor, from its name and shape (see the module docs).
    pub fn for_tensor(t: &TensorInfo) -> Self {
        let name = t.name();
        let stem = name.strip_suffix(".weight").unwrap_or(name);
        if stem.ends_with("norm") {
            return Self::Const(1.0);
        }
        if t.dims().len() <= 1 {
            return Self::Uniform { amplitude: 0.02 };
        }
        if name == "token_embd.weight" {
            return Self::Uniform {
                amplitude: 3f32.sqrt(),
            };
        }
        let fan_in = t.dims().first().copied().unwrap_or(1).max(1) as f32;
        Self::Uniform {
            amplitude: (3.0 / fan_in).sqrt(),
        }
    }

    /// Writes the values of one chunk.
    fn generate(self, seed: u64, name: &str, chunk: Chunk, out: &mut [f32]) {
        match self {
            Self::Const(v) => out.fill(v),
            Self::Uniform { amplitude } => {
                SplitMix64::for_chunk(seed, name, chunk.index).fill_uniform(out, amplitude);
            }
        }
    }
}

/// Settings shared by the generators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Seed of every pseudo-random value in the file.
    pub seed: u64,
    /// Worker threads for generating and quantizing chunks.
    pub threads: Threads,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            threads: Threads::default(),
        }
    }
}

/// What a generator wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteStats {
    /// Bytes of the file.
    pub file_bytes: u64,
    /// Tensors written.
    pub tensors: usize,
    /// Sum of the tensors' element counts.
    pub parameters: u64,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// One chunk of synthetic data in the tensor's type: floats from the seed, quantized by ggml. Types that
/// need an importance matrix get a flat one (all columns equally important), which yields valid blocks.
pub fn synthetic_chunk(t: &TensorInfo, fill: Fill, seed: u64, chunk: Chunk) -> Result<Vec<u8>> {
    let ty = t.ggml_type();
    let mut floats = vec![0f32; chunk.nrows * chunk.row_len];
    fill.generate(seed, t.name(), chunk, &mut floats);
    let flat;
    let imatrix = if ggml::requires_imatrix(ty) {
        flat = vec![1f32; chunk.row_len];
        Some(flat.as_slice())
    } else {
        None
    };
    let mut out = Vec::new();
    ggml::quantize(ty, &floats, chunk.row_len, imatrix, &mut out, t.name())?;
    Ok(out)
}

/// Writes a complete model for `header` (kept as is: metadata, tensor names, shapes, types and layout) with
/// synthetic data, streaming chunk by chunk. `fill` chooses the values per tensor ([`Fill::for_tensor`] is
/// the default).
pub fn write_model(
    header: GgufHeader,
    out: &Path,
    opts: GenerateOptions,
    fill: impl Fn(&TensorInfo) -> Fill,
) -> Result<WriteStats> {
    let started = Instant::now();
    for t in header.tensors() {
        if !ggml::can_quantize(t.ggml_type()) {
            return Err(QuantError::Unsupported {
                tensor: t.name().to_owned(),
                what: "generate data for",
                ty: t.ggml_type(),
            });
        }
    }
    let (tensors, parameters) = (header.tensors().len(), header.parameter_count());
    let mut output = Output::create(out, header)?;
    loop {
        let w = output.writer()?;
        let Some(t) = w.next_tensor().cloned() else {
            break;
        };
        let f = fill(&t);
        stream::write_tensor(w, &t, opts.threads, |c| {
            synthetic_chunk(&t, f, opts.seed, c)
        })?;
    }
    let file_bytes = output.commit()?;
    Ok(WriteStats {
        file_bytes,
        tensors,
        parameters,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The largest |value| a chunk of `fill` can produce (for tests and sanity checks).
pub fn max_abs(fill: Fill) -> f32 {
    match fill {
        Fill::Const(v) => v.abs(),
        Fill::Uniform { amplitude } => amplitude,
    }
}

/// Whether a type can be filled by [`write_model`].
pub fn can_fill(ty: GgmlType) -> bool {
    ggml::can_quantize(ty)
}
