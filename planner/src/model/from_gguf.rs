//! Building a [`ModelProfile`] from a GGUF header (medllm-gguf does the bounded parsing).
//!
//! Only the header is needed: the 7B fixture in `shared/fixtures` has no tensor data at all. Architectures
//! the memory model does not describe (recurrent state, encoder–decoder) are rejected here rather than
//! planned wrongly.

use super::{HyperParams, ModelProfile, TensorProfile, TensorRole, classify_tensor, swa_layers};
use crate::error::{PlanError, Result};
use medllm_gguf::{GgufHeader, SlidingWindowPattern};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Architectures whose memory is not a plain KV cache (recurrent state, encoder–decoder, MLA caches).
const UNSUPPORTED_ARCHS: &[&str] = &[
    "mamba",
    "mamba2",
    "rwkv6",
    "rwkv7",
    "arwkv7",
    "jamba",
    "falcon-h1",
    "t5",
    "t5encoder",
    "bert",
    "nomic-bert",
    "deepseek2",
    "lfm2",
    "granitehybrid",
    "nemotron_h",
    "qwen3next",
    "plamo2",
];

impl ModelProfile {
    /// Reads the header of a GGUF file and builds its profile.
    pub fn from_gguf_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let header =
            medllm_gguf::read_header_from_path(path).map_err(|e| PlanError::Gguf(e.to_string()))?;
        let fallback = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::from_gguf(&header, &fallback)
    }

    /// Builds the profile of a parsed header; `fallback_name` is used when `general.name` is absent.
    pub fn from_gguf(header: &GgufHeader, fallback_name: &str) -> Result<Self> {
        let hp = medllm_gguf::HyperParams::from_header(header)
            .map_err(|e| PlanError::Gguf(e.to_string()))?;
        let arch = hp.architecture.clone();
        if UNSUPPORTED_ARCHS.contains(&arch.as_str()) {
            return Err(PlanError::UnsupportedModel(format!(
                "architecture {arch} keeps state the memory model does not describe"
            )));
        }
        let n_layer = u32::try_from(hp.block_count)
            .ok()
            .filter(|&n| n > 0 && n <= 4096)
            .ok_or_else(|| {
                PlanError::UnsupportedModel(format!("block_count {}", hp.block_count))
            })?;
        let mut tensors = Vec::with_capacity(header.tensors().len() + 1);
        for t in header.tensors() {
            let dims = t.dims().to_vec();
            let (role, matmul) = classify_tensor(t.name(), &dims);
            tensors.push(TensorProfile {
                name: t.name().to_owned(),
                type_id: t.ggml_type().id(),
                type_name: t.ggml_type().name().to_owned(),
                dims,
                offset: header.tensor_file_offset(t),
                bytes: t.n_bytes(),
                role,
                matmul,
                duplicate: false,
            });
        }
        // Tied embeddings: llama.cpp creates the output from token_embd with TENSOR_DUPLICATED, placed with the
        // output layer (a second copy when that layer is on the GPU).
        if !tensors.iter().any(|t| t.role == TensorRole::Output) {
            if let Some(embd) = tensors
                .iter()
                .find(|t| t.role == TensorRole::TokenEmbd)
                .cloned()
            {
                tensors.push(TensorProfile {
                    role: TensorRole::Output,
                    matmul: true,
                    duplicate: true,
                    ..embd
                });
            }
        }
        let n_head = hp.head_count.max();
        let n_head_kv = hp.head_count_kv.max();
        let n_expert = hp.expert_count.unwrap_or(0);
        let n_ff = if n_expert > 0 {
            hp.expert_feed_forward_length
                .or(hp.feed_forward_length.as_ref().map(|f| f.max()))
                .unwrap_or(0)
        } else {
            hp.feed_forward_length.as_ref().map_or(0, |f| f.max())
        };
        let has = |frag: &str| {
            tensors
                .iter()
                .any(|t| t.name.starts_with("blk.0.") && t.name.contains(frag))
        };
        let hparams = HyperParams {
            n_layer,
            n_embd: hp.embedding_length,
            n_head,
            n_head_kv,
            head_dim_k: hp.key_length,
            head_dim_v: hp.value_length,
            n_ff,
            n_vocab: hp.vocab_size,
            n_ctx_train: hp.context_length,
            n_swa: hp.sliding_window.unwrap_or(0),
            n_expert,
            n_expert_used: hp.expert_used_count.unwrap_or(0),
            post_norms: has("post_attention_norm") || has("post_ffw_norm"),
            qk_norm: has("attn_q_norm"),
            ffn_gated: has("ffn_gate"),
        };
        let swa = match &hp.sliding_window_pattern {
            Some(SlidingWindowPattern::Layers(v)) if hparams.n_swa > 0 => (0..n_layer as usize)
                .map(|i| v.get(i).copied().unwrap_or(false))
                .collect(),
            Some(SlidingWindowPattern::Period(p)) => swa_layers(
                &arch,
                n_layer,
                hparams.n_swa,
                Some(u32::try_from(*p).unwrap_or(0)),
            ),
            _ => swa_layers(&arch, n_layer, hparams.n_swa, None),
        };
        let name = header
            .metadata()
            .get_str("general.name")
            .ok()
            .flatten()
            .map_or_else(|| fallback_name.to_owned(), str::to_owned);
        let file_type = hp
            .file_type
            .and_then(|f| f.name())
            .unwrap_or("unknown")
            .to_owned();
        let mut profile = ModelProfile {
            name,
            arch,
            file_type,
            identity: String::new(),
            hparams,
            tensors,
            layers: Vec::new(),
        };
        profile.rebuild_layers(&swa);
        // Per-layer KV widths where the file gives per-layer head counts.
        for (i, layer) in profile.layers.iter_mut().enumerate() {
            layer.n_embd_k_gqa = hp.k_width(i);
            layer.n_embd_v_gqa = hp.v_width(i);
        }
        if profile.layers.iter().all(|l| l.total_bytes() == 0) {
            return Err(PlanError::UnsupportedModel(
                "no `blk.N.*` layer tensors".to_owned(),
            ));
        }
        profile.identity = identity_of(&profile);
        Ok(profile)
    }
}

/// A short hex digest of what determines memory and speed: architecture, hyper-parameters and the tensor
/// table (names, types, shapes, offsets). Not a hash of the weights: reading 5 GB at start-up is not cheap,
/// and a re-quantized file always changes the table.
pub(crate) fn identity_of(profile: &ModelProfile) -> String {
    let mut h = Sha256::new();
    h.update(profile.arch.as_bytes());
    h.update(format!("{:?}", profile.hparams).as_bytes());
    for t in &profile.tensors {
        h.update(t.name.as_bytes());
        h.update(t.type_id.to_le_bytes());
        for d in &t.dims {
            h.update(d.to_le_bytes());
        }
        h.update(t.offset.to_le_bytes());
    }
    for l in &profile.layers {
        h.update([u8::from(l.is_swa)]);
    }
    let digest = h.finalize();
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}
