//! Typed hyper-parameters for the planner, read from `general.*` and `<arch>.*` metadata.
//!
//! Integer keys are accepted in any integer type (writers disagree on `u32`/`i32`/`u64`). Keys llama.cpp
//! may store per layer (head counts, feed-forward length) are a [`PerLayer`]. Required keys that are absent
//! give [`GgufError::MissingKey`]; present keys of an unusable type give [`GgufError::BadValue`].

use crate::error::{GgufError, Result};
use crate::file_type::FileType;
use crate::header::GgufHeader;
use crate::metadata::Metadata;
use crate::value::{Array, Value};

/// A value that is either the same for every layer or given per layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PerLayer {
    /// One value for all layers.
    Uniform(u64),
    /// One value per layer (length = block count).
    Layers(Vec<u64>),
}

impl PerLayer {
    /// The value for layer `layer` (the last layer's value beyond the end, 0 for an empty list).
    pub fn get(&self, layer: usize) -> u64 {
        match self {
            Self::Uniform(v) => *v,
            Self::Layers(v) => v.get(layer).or(v.last()).copied().unwrap_or(0),
        }
    }

    /// The largest value over all layers.
    pub fn max(&self) -> u64 {
        match self {
            Self::Uniform(v) => *v,
            Self::Layers(v) => v.iter().copied().max().unwrap_or(0),
        }
    }

    /// Whether every layer has the same value.
    pub fn is_uniform(&self) -> bool {
        match self {
            Self::Uniform(_) => true,
            Self::Layers(v) => v.windows(2).all(|w| w[0] == w[1]),
        }
    }
}

/// Which layers use sliding-window attention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlidingWindowPattern {
    /// Every `n`-th layer is global, the others use the window (gemma3: 6).
    Period(u64),
    /// Per layer: `true` where the layer uses the window.
    Layers(Vec<bool>),
}

/// Rotary position embedding settings, where the file states them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RopeInfo {
    /// `<arch>.rope.freq_base`.
    pub freq_base: Option<f64>,
    /// `<arch>.rope.freq_base_swa` (base for sliding-window layers).
    pub freq_base_swa: Option<f64>,
    /// `<arch>.rope.dimension_count`.
    pub dimension_count: Option<u64>,
    /// `<arch>.rope.scaling.type` (e.g. `linear`, `yarn`).
    pub scaling_type: Option<String>,
    /// `<arch>.rope.scaling.factor`.
    pub scaling_factor: Option<f64>,
}

/// Where the vocabulary size was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VocabSource {
    /// Length of `tokenizer.ggml.tokens`.
    TokenList,
    /// `<arch>.vocab_size`.
    VocabSizeKey,
    /// Second dimension of `token_embd.weight`.
    EmbeddingTensor,
}

/// The hyper-parameters the planner needs.
#[derive(Clone, Debug, PartialEq)]
pub struct HyperParams {
    /// `general.architecture`, e.g. `qwen2`, `gemma3`.
    pub architecture: String,
    /// `<arch>.block_count`: number of transformer layers.
    pub block_count: u64,
    /// `<arch>.context_length`: the training context.
    pub context_length: u64,
    /// `<arch>.embedding_length`: the hidden size.
    pub embedding_length: u64,
    /// `<arch>.feed_forward_length`, if present.
    pub feed_forward_length: Option<PerLayer>,
    /// `<arch>.attention.head_count`.
    pub head_count: PerLayer,
    /// `<arch>.attention.head_count_kv` (defaults to the head count: no grouped-query attention).
    pub head_count_kv: PerLayer,
    /// `<arch>.attention.key_length` (defaults to embedding length / head count).
    pub key_length: u64,
    /// `<arch>.attention.value_length` (defaults to embedding length / head count).
    pub value_length: u64,
    /// Vocabulary size.
    pub vocab_size: u64,
    /// Where [`HyperParams::vocab_size`] came from.
    pub vocab_source: VocabSource,
    /// `<arch>.expert_count` (mixture-of-experts models).
    pub expert_count: Option<u64>,
    /// `<arch>.expert_used_count`: experts active per token.
    pub expert_used_count: Option<u64>,
    /// `<arch>.expert_shared_count`.
    pub expert_shared_count: Option<u64>,
    /// `<arch>.expert_feed_forward_length`.
    pub expert_feed_forward_length: Option<u64>,
    /// `<arch>.attention.sliding_window`: window size of sliding-window layers.
    pub sliding_window: Option<u64>,
    /// `<arch>.attention.sliding_window_pattern`, when the file states it (llama.cpp otherwise uses a
    /// per-architecture default, e.g. period 6 for gemma3).
    pub sliding_window_pattern: Option<SlidingWindowPattern>,
    /// Rotary embedding settings.
    pub rope: RopeInfo,
    /// `general.file_type`.
    pub file_type: Option<FileType>,
}

impl HyperParams {
    /// Reads the hyper-parameters from a header.
    pub fn from_header(header: &GgufHeader) -> Result<Self> {
        let m = header.metadata();
        let architecture = m.require_str("general.architecture")?.to_owned();
        let key = |suffix: &str| format!("{architecture}.{suffix}");
        let block_count = m.require_u64(&key("block_count"))?;
        let per_layer = |suffix: &str| per_layer(m, &key(suffix), block_count);
        let embedding_length = m.require_u64(&key("embedding_length"))?;
        let head_count =
            per_layer("attention.head_count")?.ok_or_else(|| GgufError::MissingKey {
                key: key("attention.head_count"),
            })?;
        let head_count_kv =
            per_layer("attention.head_count_kv")?.unwrap_or_else(|| head_count.clone());
        let default_head_dim = || {
            embedding_length
                .checked_div(head_count.max())
                .ok_or_else(|| GgufError::BadValue {
                    key: key("attention.head_count"),
                    reason: "is zero, so the head size cannot be derived".into(),
                })
        };
        let key_length = match m.get_u64(&key("attention.key_length"))? {
            Some(v) => v,
            None => default_head_dim()?,
        };
        let value_length = match m.get_u64(&key("attention.value_length"))? {
            Some(v) => v,
            None => default_head_dim()?,
        };
        let (vocab_size, vocab_source) = vocab(header, &key("vocab_size"))?;
        Ok(Self {
            block_count,
            context_length: m.require_u64(&key("context_length"))?,
            embedding_length,
            feed_forward_length: per_layer("feed_forward_length")?,
            head_count,
            head_count_kv,
            key_length,
            value_length,
            vocab_size,
            vocab_source,
            expert_count: m.get_u64(&key("expert_count"))?,
            expert_used_count: m.get_u64(&key("expert_used_count"))?,
            expert_shared_count: m.get_u64(&key("expert_shared_count"))?,
            expert_feed_forward_length: m.get_u64(&key("expert_feed_forward_length"))?,
            sliding_window: m.get_u64(&key("attention.sliding_window"))?,
            sliding_window_pattern: swa_pattern(m, &key("attention.sliding_window_pattern"))?,
            rope: RopeInfo {
                freq_base: m.get_f64(&key("rope.freq_base"))?,
                freq_base_swa: m.get_f64(&key("rope.freq_base_swa"))?,
                dimension_count: m.get_u64(&key("rope.dimension_count"))?,
                scaling_type: m.get_str(&key("rope.scaling.type"))?.map(str::to_owned),
                scaling_factor: m.get_f64(&key("rope.scaling.factor"))?,
            },
            file_type: m
                .get_u64("general.file_type")?
                .map(|v| FileType(u32::try_from(v).unwrap_or(u32::MAX))),
            architecture,
        })
    }

    /// Width of one layer's K cache row (key length × KV heads), as llama.cpp's `n_embd_k_gqa`.
    pub fn k_width(&self, layer: usize) -> u64 {
        self.key_length
            .saturating_mul(self.head_count_kv.get(layer))
    }

    /// Width of one layer's V cache row (value length × KV heads), as llama.cpp's `n_embd_v_gqa`.
    pub fn v_width(&self, layer: usize) -> u64 {
        self.value_length
            .saturating_mul(self.head_count_kv.get(layer))
    }
}

fn per_layer(m: &Metadata, key: &str, block_count: u64) -> Result<Option<PerLayer>> {
    let Some(value) = m.get(key) else {
        return Ok(None);
    };
    if let Some(v) = value.as_u64() {
        return Ok(Some(PerLayer::Uniform(v)));
    }
    let bad = |reason: String| GgufError::BadValue {
        key: key.to_owned(),
        reason,
    };
    let Value::Array(a) = value else {
        return Err(bad(format!(
            "expected an integer or an integer array, found {}",
            value.value_type().name()
        )));
    };
    if a.len() as u64 != block_count {
        return Err(bad(format!(
            "has {} entries for {block_count} layers",
            a.len()
        )));
    }
    let values = (0..a.len())
        .map(|i| {
            a.get_u64(i)
                .ok_or_else(|| bad(format!("entry {i} is not a non-negative integer")))
        })
        .collect::<Result<Vec<u64>>>()?;
    Ok(Some(PerLayer::Layers(values)))
}

fn swa_pattern(m: &Metadata, key: &str) -> Result<Option<SlidingWindowPattern>> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::Array(Array::Bool(v))) => Ok(Some(SlidingWindowPattern::Layers(v.clone()))),
        Some(v) => v
            .as_u64()
            .map(|n| Some(SlidingWindowPattern::Period(n)))
            .ok_or_else(|| {
                GgufError::wrong_type(key, "an integer or a bool array", v.value_type())
            }),
    }
}

fn vocab(header: &GgufHeader, size_key: &str) -> Result<(u64, VocabSource)> {
    let m = header.metadata();
    if let Some(v) = m.get("tokenizer.ggml.tokens") {
        return match v {
            Value::Array(a) => Ok((a.len() as u64, VocabSource::TokenList)),
            other => Err(GgufError::wrong_type(
                "tokenizer.ggml.tokens",
                "an array",
                other.value_type(),
            )),
        };
    }
    if let Some(n) = m.get_u64(size_key)? {
        return Ok((n, VocabSource::VocabSizeKey));
    }
    if let Some(&n) = header
        .tensor("token_embd.weight")
        .and_then(|t| t.dims().get(1))
    {
        return Ok((n, VocabSource::EmbeddingTensor));
    }
    Err(GgufError::MissingKey {
        key: "tokenizer.ggml.tokens".into(),
    })
}
