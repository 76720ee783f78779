//! A full-size synthetic model from a real model's header: same metadata (tokenizer, hyper-parameters, file
//! type), same tensor names, shapes, types and data layout; the data is synthetic but every block is valid.
//!
//! This is how speed and memory are measured at the paper's 7B shapes on a machine that has only the 7B
//! model's 6 MB header: what llama.cpp's kernels cost depends on shapes and types, not on the values.
//!
//! With [`FromHeaderOptions::layers`] the model keeps only its first N blocks (the block count and any
//! per-layer arrays shrink with it): the same widths, vocabulary and types at a fraction of the size.

use std::path::Path;

use medllm_gguf::{Array, GgufHeader, Metadata, TensorInfo, Value};

use crate::error::{QuantError, Result};
use crate::model_file::ModelFile;
use crate::synth::fill::{self, Fill, GenerateOptions, WriteStats};

/// Settings for [`synth_from_header`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FromHeaderOptions {
    /// Seed and threads.
    pub generate: GenerateOptions,
    /// Keep only the first N transformer blocks (`None`: all of them).
    pub layers: Option<u64>,
}

/// Reads `header_path` (tensor data need not be present) and writes a synthetic model with its layout to
/// `out`.
pub fn synth_from_header(
    header_path: &Path,
    out: &Path,
    opts: FromHeaderOptions,
) -> Result<WriteStats> {
    let header = ModelFile::header_only(header_path)?;
    let header = match opts.layers {
        None => header,
        Some(n) => keep_layers(&header, n).map_err(|e| match e {
            QuantError::Config(reason) => QuantError::bad_input(header_path, reason),
            other => other,
        })?,
    };
    fill::write_model(header, out, opts.generate, Fill::for_tensor)
}

/// The header of the same model with only blocks `0..n` (the block count, per-layer arrays and the tensor
/// table are cut; data offsets are laid out afresh).
pub fn keep_layers(header: &GgufHeader, n: u64) -> Result<GgufHeader> {
    let arch = header
        .metadata()
        .require_str("general.architecture")
        .map_err(|e| QuantError::Config(e.to_string()))?
        .to_owned();
    let count_key = format!("{arch}.block_count");
    let old = header
        .metadata()
        .require_u64(&count_key)
        .map_err(|e| QuantError::Config(e.to_string()))?;
    if n == 0 || n > old {
        return Err(QuantError::Config(format!(
            "cannot keep {n} layers of a model with {old}"
        )));
    }
    let prefix = format!("{arch}.");
    let mut meta = Metadata::new();
    for e in header.metadata().entries() {
        let value = if e.key == count_key {
            same_int_type(&e.value, n)
        } else if e.key.starts_with(&prefix) {
            match &e.value {
                Value::Array(a) if a.len() as u64 == old => Value::Array(truncate(a, n as usize)),
                v => v.clone(),
            }
        } else {
            e.value.clone()
        };
        meta.push(e.key.clone(), value)
            .map_err(QuantError::Header)?;
    }
    let mut tensors: Vec<&TensorInfo> = header
        .tensors()
        .iter()
        .filter(|t| block_of(t.name()).is_none_or(|b| b < n))
        .collect();
    tensors.sort_by_key(|t| t.offset());
    let tensors = tensors
        .into_iter()
        .map(|t| {
            TensorInfo::new(t.name(), t.dims().to_vec(), t.ggml_type(), 0)
                .map_err(QuantError::Header)
        })
        .collect::<Result<Vec<_>>>()?;
    GgufHeader::new(header.version(), meta, tensors).map_err(QuantError::Header)
}

/// The block index of `blk.N.*` tensors.
pub fn block_of(name: &str) -> Option<u64> {
    name.strip_prefix("blk.")?.split('.').next()?.parse().ok()
}

fn same_int_type(v: &Value, n: u64) -> Value {
    match v {
        Value::U64(_) => Value::U64(n),
        Value::I32(_) => Value::I32(i32::try_from(n).unwrap_or(i32::MAX)),
        Value::I64(_) => Value::I64(i64::try_from(n).unwrap_or(i64::MAX)),
        _ => Value::U32(u32::try_from(n).unwrap_or(u32::MAX)),
    }
}

fn truncate(a: &Array, n: usize) -> Array {
    fn cut<T: Clone>(v: &[T], n: usize) -> Vec<T> {
        v.iter().take(n).cloned().collect()
    }
    match a {
        Array::U8(v) => Array::U8(cut(v, n)),
        Array::I8(v) => Array::I8(cut(v, n)),
        Array::U16(v) => Array::U16(cut(v, n)),
        Array::I16(v) => Array::I16(cut(v, n)),
        Array::U32(v) => Array::U32(cut(v, n)),
        Array::I32(v) => Array::I32(cut(v, n)),
        Array::F32(v) => Array::F32(cut(v, n)),
        Array::Bool(v) => Array::Bool(cut(v, n)),
        Array::String(v) => Array::String(cut(v, n)),
        Array::Array(v) => Array::Array(cut(v, n)),
        Array::U64(v) => Array::U64(cut(v, n)),
        Array::I64(v) => Array::I64(cut(v, n)),
        Array::F64(v) => Array::F64(cut(v, n)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::synth::llama::LlamaConfig;

    #[test]
    fn keep_layers_cuts_blocks_and_count() {
        let h = LlamaConfig::default().header().unwrap();
        let two = keep_layers(&h, 2).unwrap();
        assert_eq!(two.metadata().require_u64("llama.block_count").unwrap(), 2);
        assert!(two.tensor("blk.1.ffn_down.weight").is_some());
        assert!(two.tensor("blk.2.ffn_down.weight").is_none());
        assert!(two.tensor("output.weight").is_some());
        assert_eq!(two.tensors().len(), 2 + 2 * 9 + 1);
        assert!(keep_layers(&h, 0).is_err());
        assert!(keep_layers(&h, 5).is_err());
        assert_eq!(block_of("blk.12.attn_q.weight"), Some(12));
        assert_eq!(block_of("token_embd.weight"), None);
    }
}
