//! Merging a LoRA adapter into its base model: `W' = W + s·B·A` for every targeted tensor, with
//! `s = scale · alpha / r` exactly as llama.cpp applies the adapter at run time (see [`crate::lora`]).
//!
//! Targeted tensors are de-quantized with ggml's `to_float`, updated in f32, and written back as their own
//! type (re-quantized by `ggml_quantize_chunk`), or as F16/F32 on request; every other tensor is copied byte
//! for byte. Everything streams chunk by chunk, so merging into a 7B model needs a few MB of memory besides
//! the page cache.
//!
//! Why merge at all: the adapter's two extra small matrix products per projection cost decode time on every
//! token (the adapter-vs-merged figure in docs/adapters-and-quantization.md); a merged model costs nothing
//! extra but serves one specialty only.

use std::path::Path;
use std::time::Instant;

use medllm_gguf::{GgmlType, GgufHeader, TensorInfo, Value};

use crate::error::{QuantError, Result};
use crate::ggml;
use crate::lora::{LoraAdapter, LoraPair};
use crate::model_file::ModelFile;
use crate::output::Output;
use crate::stream::{self, Chunk, Threads};

/// The type merged tensors are written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MergedType {
    /// The base tensor's own type (re-quantized if it was quantized).
    #[default]
    Keep,
    /// F16.
    F16,
    /// F32 (exact: no rounding beyond f32 arithmetic).
    F32,
}

impl MergedType {
    /// Parses `keep`, `f16` or `f32`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "keep" => Ok(Self::Keep),
            "f16" => Ok(Self::F16),
            "f32" => Ok(Self::F32),
            _ => Err(QuantError::Config(format!(
                "merged type {s:?}: use keep, f16 or f32"
            ))),
        }
    }

    fn resolve(self, base: GgmlType) -> GgmlType {
        match self {
            Self::Keep => base,
            Self::F16 => GgmlType::F16,
            Self::F32 => GgmlType::F32,
        }
    }
}

/// Settings for [`merge`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MergeOptions {
    /// The user scale (llama.cpp's adapter scale; 1 = the adapter as trained).
    pub scale: f32,
    /// Type of the merged tensors.
    pub merged_type: MergedType,
    /// Worker threads.
    pub threads: Threads,
}

impl Default for MergeOptions {
    fn default() -> Self {
        Self {
            scale: 1.0,
            merged_type: MergedType::Keep,
            threads: Threads::default(),
        }
    }
}

/// What [`merge`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct MergeReport {
    /// Tensors updated with the adapter.
    pub merged: usize,
    /// Tensors copied byte for byte.
    pub copied: usize,
    /// Output file size.
    pub file_bytes: u64,
    /// Wall time.
    pub seconds: f64,
}

/// Merges `adapter` into `base` and writes the result to `out`.
pub fn merge(base: &Path, adapter: &Path, out: &Path, opts: MergeOptions) -> Result<MergeReport> {
    let started = Instant::now();
    if !opts.scale.is_finite() {
        return Err(QuantError::Config("the scale must be finite".into()));
    }
    let base = ModelFile::open(base)?;
    let adapter = LoraAdapter::open(adapter)?;
    adapter.check_against(base.header())?;
    let header = merged_header(&base, &adapter, opts)?;
    let mut output = Output::create(out, header)?;
    let (mut merged, mut copied) = (0, 0);
    loop {
        let w = output.writer()?;
        let Some(t_out) = w.next_tensor().cloned() else {
            break;
        };
        let t_in = base.header().tensor(t_out.name()).cloned().ok_or_else(|| {
            QuantError::Config(format!("{} vanished from the base header", t_out.name()))
        })?;
        match adapter.pairs().iter().find(|p| p.base == t_in.name()) {
            Some(pair) => {
                let update = Update::load(&adapter, pair, opts.scale)?;
                stream::write_tensor(w, &t_out, opts.threads, |c| {
                    merge_chunk(&base, &t_in, &t_out, &update, c)
                })?;
                merged += 1;
            }
            None => {
                w.copy_tensor(&mut base.tensor_reader(&t_in))
                    .map_err(|e| QuantError::gguf(base.path(), e))?;
                copied += 1;
            }
        }
    }
    Ok(MergeReport {
        merged,
        copied,
        file_bytes: output.commit()?,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The output header: the base's metadata plus two `medllm.merge.*` keys; tensors in the base's data order,
/// merged ones in their new type.
fn merged_header(
    base: &ModelFile,
    adapter: &LoraAdapter,
    opts: MergeOptions,
) -> Result<GgufHeader> {
    let mut meta = base.header().metadata().clone();
    let name = adapter
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    meta.set("medllm.merge.adapter", Value::String(name.into()));
    meta.set("medllm.merge.scale", Value::F32(opts.scale));
    let mut order: Vec<&TensorInfo> = base.header().tensors().iter().collect();
    order.sort_by_key(|t| t.offset());
    let tensors = order
        .into_iter()
        .map(|t| {
            let targeted = adapter.pairs().iter().any(|p| p.base == t.name());
            let ty = if targeted {
                let ty = opts.merged_type.resolve(t.ggml_type());
                if !ggml::can_dequantize(t.ggml_type()) {
                    return Err(QuantError::Unsupported {
                        tensor: t.name().to_owned(),
                        what: "dequantize",
                        ty: t.ggml_type(),
                    });
                }
                if !ggml::can_quantize(ty) || ggml::requires_imatrix(ty) {
                    return Err(QuantError::Unsupported {
                        tensor: format!("{} (try --type f16)", t.name()),
                        what: "quantize to",
                        ty,
                    });
                }
                ty
            } else {
                t.ggml_type()
            };
            TensorInfo::new(t.name(), t.dims().to_vec(), ty, 0).map_err(QuantError::Header)
        })
        .collect::<Result<Vec<_>>>()?;
    GgufHeader::new(base.header().version(), meta, tensors).map_err(QuantError::Header)
}

/// One pair's factors, ready to apply: `W'[o][i] = W[o][i] + s · Σ_r B[o][r] · A[r][i]`.
#[derive(Debug)]
struct Update {
    /// r rows of n_in.
    a: Vec<f32>,
    /// n_out rows of r.
    b: Vec<f32>,
    rank: usize,
    n_in: usize,
    s: f32,
}

impl Update {
    fn load(adapter: &LoraAdapter, pair: &LoraPair, scale: f32) -> Result<Self> {
        let (a, b) = adapter.factors(pair)?;
        let rank = usize::try_from(pair.rank()).unwrap_or(0);
        let n_in = pair.a.dims().first().copied().unwrap_or(0) as usize;
        if rank == 0 || a.len() != rank * n_in || b.len() % rank != 0 {
            return Err(QuantError::Shape {
                tensor: pair.base.clone(),
                reason: "LoRA factor sizes are inconsistent".into(),
            });
        }
        Ok(Self {
            a,
            b,
            rank,
            n_in,
            s: adapter.effective_scale(pair, scale),
        })
    }

    /// Adds the update to rows `[first, first + rows.len() / n_in)`.
    fn apply(&self, first: usize, rows: &mut [f32]) {
        for (k, row) in rows.chunks_exact_mut(self.n_in).enumerate() {
            let o = first + k;
            let b_row = &self.b[o * self.rank..(o + 1) * self.rank];
            for (r, &b) in b_row.iter().enumerate() {
                let coef = self.s * b;
                let a_row = &self.a[r * self.n_in..(r + 1) * self.n_in];
                for (w, &a) in row.iter_mut().zip(a_row) {
                    *w += coef * a;
                }
            }
        }
    }
}

/// One chunk of a merged tensor: read and de-quantize the base rows, add the update, quantize to the
/// output type.
fn merge_chunk(
    base: &ModelFile,
    t_in: &TensorInfo,
    t_out: &TensorInfo,
    update: &Update,
    c: Chunk,
) -> Result<Vec<u8>> {
    let mut rows = Vec::new();
    base.read_rows_f32(t_in, c.first_row, c.nrows, &mut rows)?;
    if c.row_len != update.n_in {
        return Err(QuantError::Shape {
            tensor: t_in.name().to_owned(),
            reason: format!("rows of {} but lora_a has {}", c.row_len, update.n_in),
        });
    }
    let first = usize::try_from(c.first_row).unwrap_or(usize::MAX);
    if (first + c.nrows) * update.rank > update.b.len() {
        return Err(QuantError::Shape {
            tensor: t_in.name().to_owned(),
            reason: "more rows than lora_b has".into(),
        });
    }
    update.apply(first, &mut rows);
    let mut out = Vec::new();
    ggml::quantize(
        t_out.ggml_type(),
        &rows,
        c.row_len,
        None,
        &mut out,
        t_out.name(),
    )?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn update_is_b_times_a_scaled() {
        // n_in = 3, rank = 2, n_out = 2.
        let u = Update {
            a: vec![1.0, 2.0, 3.0, 0.0, 1.0, 0.0],
            b: vec![1.0, 0.0, 2.0, -1.0],
            rank: 2,
            n_in: 3,
            s: 0.5,
        };
        let mut w = vec![0.0; 6];
        u.apply(0, &mut w);
        // Row 0: 0.5·(1·A0 + 0·A1) = [0.5, 1, 1.5]; row 1: 0.5·(2·A0 − A1) = [1, 1.5, 3].
        assert_eq!(w, vec![0.5, 1.0, 1.5, 1.0, 1.5, 3.0]);
        let mut second = vec![0.0; 3];
        u.apply(1, &mut second);
        assert_eq!(second, vec![1.0, 1.5, 3.0]);
        assert_eq!(MergedType::parse("F16").unwrap(), MergedType::F16);
        assert!(MergedType::parse("q4").is_err());
    }
}
