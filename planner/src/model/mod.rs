//! The model profile: what a GGUF model asks of memory and bandwidth, per layer and per tensor group.
//!
//! A [`ModelProfile`] keeps every tensor (name, type, shape, file offset, bytes, role) because llama.cpp's
//! buffers are laid out per tensor (the mmap range, repacked CPU copies, CUDA row padding), plus a per-layer
//! summary by tensor group and the hyper-parameters the KV cache and the compute graph depend on. It is built
//! from a GGUF header ([`ModelProfile::from_gguf`]) or synthesised ([`synthetic`]) for tests and what-ifs.

mod classify;
mod from_gguf;
pub mod synthetic;

pub use classify::{classify_tensor, swa_layers};

use crate::ggml::KvType;
use serde::{Deserialize, Serialize};

/// The unit the planner places on a device: llama.cpp can move whole groups with a buffer-type override.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TensorGroup {
    /// Attention projections (q, k, v, output, fused qkv, MLA parts) and their biases.
    Attn,
    /// Dense FFN (up, gate, down).
    Ffn,
    /// Routed experts of a mixture-of-experts FFN.
    FfnExperts,
    /// Shared experts of a mixture-of-experts FFN.
    FfnSharedExperts,
    /// Norm weights (tiny; always with their layer).
    Norm,
    /// Anything else in a layer (router, rope factors, …); always with its layer.
    Other,
}

impl TensorGroup {
    /// All groups, in summary-array order.
    pub const ALL: [TensorGroup; 6] = [
        Self::Attn,
        Self::Ffn,
        Self::FfnExperts,
        Self::FfnSharedExperts,
        Self::Norm,
        Self::Other,
    ];

    /// Groups that a CPU override may move off an offloaded layer (FFN weights: big, and read once per token
    /// without touching the KV cache, so they cost least on the CPU).
    pub const OVERRIDABLE: [TensorGroup; 3] = [Self::Ffn, Self::FfnExperts, Self::FfnSharedExperts];

    /// Index into per-group arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The tensor-name fragment llama.cpp's override regex matches for this group (after `blk\.N\.`).
    pub fn name_pattern(self) -> &'static str {
        match self {
            Self::Attn => r"attn_",
            Self::Ffn => r"ffn_(up|gate|down|gate_up)\.",
            Self::FfnExperts => r"ffn_(up|gate|down|gate_up)_(ch)?exps",
            Self::FfnSharedExperts => r"ffn_(up|gate|down)_shexp",
            Self::Norm => r"norm",
            Self::Other => r".",
        }
    }

    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::Attn => "attn",
            Self::Ffn => "ffn",
            Self::FfnExperts => "ffn_exps",
            Self::FfnSharedExperts => "ffn_shexp",
            Self::Norm => "norm",
            Self::Other => "other",
        }
    }
}

/// Where a tensor sits in llama.cpp's layer structure (which decides its device).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TensorRole {
    /// `token_embd.weight`: the input layer, always on the CPU in llama.cpp.
    TokenEmbd,
    /// `output.weight`, or the token embedding reused as output (tied): follows the output layer.
    Output,
    /// `output_norm.*`: follows the output layer.
    OutputNorm,
    /// A tensor of repeating layer `layer`.
    Layer {
        /// Layer index.
        layer: u32,
        /// Its group.
        group: TensorGroup,
    },
    /// Anything outside the layers that llama.cpp keeps with the input (e.g. rope frequency tables).
    Global,
}

/// One weight tensor as llama.cpp will load it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TensorProfile {
    /// GGUF name (`blk.3.ffn_down.weight`).
    pub name: String,
    /// ggml type id.
    pub type_id: u32,
    /// ggml type name (`Q4_K`).
    pub type_name: String,
    /// Shape, `ne[0]` first.
    pub dims: Vec<u64>,
    /// Absolute offset of the data in the file (the mmap range is computed from these).
    pub offset: u64,
    /// Bytes of data (`ggml_nbytes`).
    pub bytes: u64,
    /// Role (decides the device).
    pub role: TensorRole,
    /// Used as the weight of a matrix multiplication (eligible for ggml's AMX/repacked CPU buffers).
    pub matmul: bool,
    /// The tied output: the same bytes as `token_embd.weight`, loaded a second time with the output layer.
    #[serde(default)]
    pub duplicate: bool,
}

impl TensorProfile {
    /// Elements in the tensor.
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }

    /// The layer, if it belongs to one.
    pub fn layer(&self) -> Option<u32> {
        match self.role {
            TensorRole::Layer { layer, .. } => Some(layer),
            _ => None,
        }
    }
}

/// Hyper-parameters the KV cache and compute graph depend on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HyperParams {
    /// Repeating layers.
    pub n_layer: u32,
    /// Hidden size.
    pub n_embd: u64,
    /// Attention (query) heads.
    pub n_head: u64,
    /// Key/value heads (grouped-query attention).
    pub n_head_kv: u64,
    /// Key head dimension.
    pub head_dim_k: u64,
    /// Value head dimension.
    pub head_dim_v: u64,
    /// FFN hidden size (per expert for MoE).
    pub n_ff: u64,
    /// Vocabulary size (the logits buffer is `n_vocab × n_outputs × 4` bytes).
    pub n_vocab: u64,
    /// Training context.
    pub n_ctx_train: u64,
    /// Sliding-window size of SWA layers (0: none).
    pub n_swa: u64,
    /// Routed experts (0: dense).
    pub n_expert: u64,
    /// Experts used per token.
    pub n_expert_used: u64,
    /// Gemma-style norms after attention and FFN (two more norm nodes per layer).
    pub post_norms: bool,
    /// Per-head q/k norms.
    pub qk_norm: bool,
    /// Gated FFN (up and gate in parallel; llama, qwen, gemma) rather than a plain MLP.
    pub ffn_gated: bool,
}

/// Per-layer summary derived from the tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerSummary {
    /// Layer index.
    pub index: u32,
    /// Bytes per [`TensorGroup`] (indexed by [`TensorGroup::index`]).
    pub group_bytes: [u64; 6],
    /// Matrix-multiply weight elements per group read per token (experts scaled by used/total).
    pub group_params: [u64; 6],
    /// Sliding-window layer (its KV is limited to the window).
    pub is_swa: bool,
    /// Key width per token: KV heads × key head dim.
    pub n_embd_k_gqa: u64,
    /// Value width per token: KV heads × value head dim.
    pub n_embd_v_gqa: u64,
}

impl LayerSummary {
    /// All weight bytes of the layer.
    pub fn total_bytes(&self) -> u64 {
        self.group_bytes.iter().sum()
    }

    /// Bytes of one group.
    pub fn bytes(&self, g: TensorGroup) -> u64 {
        self.group_bytes[g.index()]
    }

    /// KV-cache bytes one token occupies in this layer.
    pub fn kv_bytes_per_token(&self, k: KvType, v: KvType) -> u64 {
        k.row_bytes(self.n_embd_k_gqa) + v.row_bytes(self.n_embd_v_gqa)
    }
}

/// A model as the planner sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelProfile {
    /// `general.name` (or the file name).
    pub name: String,
    /// `general.architecture`.
    pub arch: String,
    /// The quantization mix (`Q4_K_M`), for explanations and suggestions.
    pub file_type: String,
    /// Stable identity: a digest of architecture, hyper-parameters and the tensor table (part of the plan
    /// fingerprint, so a different file of the same name re-plans).
    pub identity: String,
    /// Hyper-parameters.
    pub hparams: HyperParams,
    /// Every weight tensor llama.cpp creates, in file order (the tied output appended).
    pub tensors: Vec<TensorProfile>,
    /// Per-layer summaries.
    pub layers: Vec<LayerSummary>,
}

impl ModelProfile {
    /// All weight bytes llama.cpp loads (the tied output counted once: it shares the file bytes).
    pub fn weight_bytes(&self) -> u64 {
        self.tensors
            .iter()
            .filter(|t| !t.duplicate)
            .map(|t| t.bytes)
            .sum()
    }

    /// Bytes of the output layer's weights (output matrix and output norm).
    pub fn output_bytes(&self) -> u64 {
        self.tensors
            .iter()
            .filter(|t| matches!(t.role, TensorRole::Output | TensorRole::OutputNorm))
            .map(|t| t.bytes)
            .sum()
    }

    /// Matrix-multiply elements of the output projection (read per output token).
    pub fn output_params(&self) -> u64 {
        self.tensors
            .iter()
            .filter(|t| t.role == TensorRole::Output)
            .map(TensorProfile::n_elements)
            .sum()
    }

    /// Bytes of the input layer (token embedding and globals: always on the CPU).
    pub fn input_bytes(&self) -> u64 {
        self.tensors
            .iter()
            .filter(|t| {
                matches!(t.role, TensorRole::TokenEmbd | TensorRole::Global) && !t.duplicate
            })
            .map(|t| t.bytes)
            .sum()
    }

    /// KV bytes per token over all layers.
    pub fn kv_bytes_per_token(&self, k: KvType, v: KvType) -> u64 {
        self.layers.iter().map(|l| l.kv_bytes_per_token(k, v)).sum()
    }

    /// Recomputes [`ModelProfile::layers`] from the tensors (after editing tensors by hand).
    pub fn rebuild_layers(&mut self, swa: &[bool]) {
        let hp = &self.hparams;
        let n = hp.n_layer as usize;
        let expert_scale = |g: TensorGroup, elems: u64| -> u64 {
            if g == TensorGroup::FfnExperts && hp.n_expert > 0 {
                elems * hp.n_expert_used.max(1) / hp.n_expert
            } else {
                elems
            }
        };
        let mut layers: Vec<LayerSummary> = (0..n)
            .map(|i| LayerSummary {
                index: i as u32,
                group_bytes: [0; 6],
                group_params: [0; 6],
                is_swa: swa.get(i).copied().unwrap_or(false),
                n_embd_k_gqa: hp.n_head_kv * hp.head_dim_k,
                n_embd_v_gqa: hp.n_head_kv * hp.head_dim_v,
            })
            .collect();
        for t in &self.tensors {
            if let TensorRole::Layer { layer, group } = t.role {
                if let Some(l) = layers.get_mut(layer as usize) {
                    l.group_bytes[group.index()] += t.bytes;
                    if t.matmul {
                        l.group_params[group.index()] += expert_scale(group, t.n_elements());
                    }
                }
            }
        }
        self.layers = layers;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let m = |n: &str| classify_tensor(n, &[64, 64]);
        assert_eq!(m("token_embd.weight").0, TensorRole::TokenEmbd);
        assert_eq!(m("output.weight"), (TensorRole::Output, true));
        assert_eq!(m("output_norm.weight").0, TensorRole::OutputNorm);
        let g = |n: &str| match m(n).0 {
            TensorRole::Layer { group, .. } => group,
            other => panic!("{other:?}"),
        };
        assert_eq!(g("blk.3.attn_q.weight"), TensorGroup::Attn);
        assert_eq!(g("blk.3.attn_q_norm.weight"), TensorGroup::Norm);
        assert_eq!(g("blk.3.ffn_down.weight"), TensorGroup::Ffn);
        assert_eq!(g("blk.3.ffn_up_exps.weight"), TensorGroup::FfnExperts);
        assert_eq!(
            g("blk.3.ffn_down_shexp.weight"),
            TensorGroup::FfnSharedExperts
        );
        assert_eq!(g("blk.3.ffn_gate_inp.weight"), TensorGroup::Other);
        assert!(!classify_tensor("blk.0.attn_k.bias", &[512]).1);
        assert_eq!(
            m("blk.12.attn_k.weight").0.clone(),
            TensorRole::Layer {
                layer: 12,
                group: TensorGroup::Attn
            }
        );
    }

    #[test]
    fn gemma3_swa_pattern_matches_llama_cpp() {
        let swa = swa_layers("gemma3", 18, 512, None);
        let full: Vec<usize> = swa
            .iter()
            .enumerate()
            .filter(|(_, s)| !**s)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(full, vec![5, 11, 17]);
        assert!(swa_layers("qwen2", 28, 0, None).iter().all(|s| !s));
    }
}
