//! Synthetic model profiles: a llama-shaped tensor table from a handful of numbers.
//!
//! For the solve-time benchmark (an 80-layer, 70B-like model nobody wants to download), for unit tests that
//! must not depend on files, and for what-if questions ("would a 14B fit?"). The layout follows what
//! llama.cpp's quantizer produces for a `Q4_K_M` llama: Q4_K matrices, Q6_K `attn_v`/`ffn_down` and output,
//! F32 norms, tensors packed at 32-byte alignment.

use super::{HyperParams, ModelProfile, TensorProfile, classify_tensor, swa_layers};
use crate::ggml::{block_info, type_id};

/// The numbers a synthetic profile is built from.
#[derive(Clone, Debug)]
pub struct SyntheticSpec {
    /// Display name.
    pub name: String,
    /// Architecture (`llama`, `qwen2`, `gemma3`).
    pub arch: String,
    /// Repeating layers.
    pub n_layer: u32,
    /// Hidden size.
    pub n_embd: u64,
    /// Query heads.
    pub n_head: u64,
    /// KV heads.
    pub n_head_kv: u64,
    /// Head dimension (keys and values).
    pub head_dim: u64,
    /// FFN hidden size.
    pub n_ff: u64,
    /// Vocabulary.
    pub n_vocab: u64,
    /// Training context.
    pub n_ctx_train: u64,
    /// Type of most matrices.
    pub matrix_type: u32,
    /// Type of `attn_v` and `ffn_down` on the layers where Q4_K_M spends more bits.
    pub sensitive_type: u32,
    /// Type of the token embedding.
    pub embd_type: u32,
    /// Type of the output matrix (ignored when tied).
    pub output_type: u32,
    /// The output reuses the token embedding.
    pub tied_output: bool,
    /// Sliding window (0: none).
    pub n_swa: u64,
}

impl SyntheticSpec {
    /// A Llama-3-70B-shaped `Q4_K_M` model: 80 layers, GQA 64/8, 128k vocabulary.
    pub fn llama_70b_q4_k_m() -> Self {
        Self {
            name: "synthetic llama 70B Q4_K_M".to_owned(),
            arch: "llama".to_owned(),
            n_layer: 80,
            n_embd: 8192,
            n_head: 64,
            n_head_kv: 8,
            head_dim: 128,
            n_ff: 28672,
            n_vocab: 128_256,
            n_ctx_train: 131_072,
            matrix_type: type_id::Q4_K,
            sensitive_type: type_id::Q6_K,
            embd_type: type_id::Q4_K,
            output_type: type_id::Q6_K,
            tied_output: false,
            n_swa: 0,
        }
    }

    /// A Qwen2-7B-shaped `Q4_K_M` model (28 layers): the same shape as the 7B header fixture.
    pub fn qwen2_7b_q4_k_m() -> Self {
        Self {
            name: "synthetic qwen2 7B Q4_K_M".to_owned(),
            arch: "qwen2".to_owned(),
            n_layer: 28,
            n_embd: 3584,
            n_head: 28,
            n_head_kv: 4,
            head_dim: 128,
            n_ff: 18944,
            n_vocab: 152_064,
            n_ctx_train: 131_072,
            ..Self::llama_70b_q4_k_m()
        }
    }

    /// Builds the profile.
    pub fn build(&self) -> ModelProfile {
        let mut tensors = Vec::new();
        let mut offset = 0u64;
        let mut push = |name: String, dims: Vec<u64>, ty: u32| {
            let (block, size) = block_info(ty).unwrap_or((1, 4));
            let n: u64 = dims.iter().product();
            let bytes = n.div_ceil(block) * size;
            let (role, matmul) = classify_tensor(&name, &dims);
            let name_for_type = block_info(ty).map_or("F32", |_| type_name(ty));
            tensors.push(TensorProfile {
                name,
                type_id: ty,
                type_name: name_for_type.to_owned(),
                dims,
                offset,
                bytes,
                role,
                matmul,
                duplicate: false,
            });
            offset += bytes.div_ceil(32) * 32;
        };
        let (e, hd, f) = (self.n_embd, self.head_dim, self.n_ff);
        let q = self.n_head * hd;
        let kv = self.n_head_kv * hd;
        if !self.tied_output {
            push(
                "output.weight".into(),
                vec![e, self.n_vocab],
                self.output_type,
            );
        }
        push("output_norm.weight".into(), vec![e], type_id::F32);
        push(
            "token_embd.weight".into(),
            vec![e, self.n_vocab],
            self.embd_type,
        );
        let n = self.n_layer;
        for il in 0..n {
            let b = |s: &str| format!("blk.{il}.{s}");
            // llama.cpp's Q4_K_M gives attn_v/ffn_down more bits on the first and last eighth of the layers and
            // on every third layer between (`use_more_bits`).
            let more_bits = il < n / 8 || il >= 7 * n / 8 || (il - n / 8) % 3 == 2;
            let sensitive = if more_bits {
                self.sensitive_type
            } else {
                self.matrix_type
            };
            push(b("attn_k.weight"), vec![e, kv], self.matrix_type);
            push(b("attn_norm.weight"), vec![e], type_id::F32);
            push(b("attn_output.weight"), vec![q, e], self.matrix_type);
            push(b("attn_q.weight"), vec![e, q], self.matrix_type);
            push(b("attn_v.weight"), vec![e, kv], sensitive);
            push(b("ffn_down.weight"), vec![f, e], sensitive);
            push(b("ffn_gate.weight"), vec![e, f], self.matrix_type);
            push(b("ffn_norm.weight"), vec![e], type_id::F32);
            push(b("ffn_up.weight"), vec![e, f], self.matrix_type);
        }
        if self.tied_output {
            if let Some(embd) = tensors
                .iter()
                .find(|t| t.name == "token_embd.weight")
                .cloned()
            {
                tensors.push(TensorProfile {
                    role: super::TensorRole::Output,
                    matmul: true,
                    duplicate: true,
                    ..embd
                });
            }
        }
        let hparams = HyperParams {
            n_layer: self.n_layer,
            n_embd: e,
            n_head: self.n_head,
            n_head_kv: self.n_head_kv,
            head_dim_k: hd,
            head_dim_v: hd,
            n_ff: f,
            n_vocab: self.n_vocab,
            n_ctx_train: self.n_ctx_train,
            n_swa: self.n_swa,
            n_expert: 0,
            n_expert_used: 0,
            post_norms: self.arch.starts_with("gemma"),
            qk_norm: self.arch == "gemma3",
            ffn_gated: true,
        };
        let swa = swa_layers(&self.arch, self.n_layer, self.n_swa, None);
        let mut profile = ModelProfile {
            name: self.name.clone(),
            arch: self.arch.clone(),
            file_type: "Q4_K_M".to_owned(),
            identity: String::new(),
            hparams,
            tensors,
            layers: Vec::new(),
        };
        profile.rebuild_layers(&swa);
        profile.identity = super::from_gguf::identity_of(&profile);
        profile
    }
}

fn type_name(id: u32) -> &'static str {
    match id {
        type_id::F32 => "F32",
        type_id::F16 => "F16",
        type_id::Q4_0 => "Q4_0",
        type_id::Q8_0 => "Q8_0",
        type_id::Q4_K => "Q4_K",
        type_id::Q5_K => "Q5_K",
        type_id::Q6_K => "Q6_K",
        type_id::Q3_K => "Q3_K",
        type_id::Q2_K => "Q2_K",
        _ => "?",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn seventy_b_is_about_forty_gb() {
        let m = SyntheticSpec::llama_70b_q4_k_m().build();
        assert_eq!(m.layers.len(), 80);
        let gib = m.weight_bytes() as f64 / (1u64 << 30) as f64;
        // Published Llama-3-70B Q4_K_M files are ~39.6 GiB.
        assert!((37.0..42.0).contains(&gib), "{gib}");
        // GQA 8 × 128 × f16 × (K+V) = 4 KiB per token per layer.
        assert_eq!(
            m.layers[0].kv_bytes_per_token(crate::KvType::F16, crate::KvType::F16),
            4096
        );
    }
}
