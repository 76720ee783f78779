//! A synthetic llama-architecture model of any size: the header (hyper-parameters, tokenizer, tensor table)
//! from a [`LlamaConfig`]; the data from [`super::fill`].
//!
//! The tensor names and shapes are the ones `llama.cpp/src/models/llama.cpp` creates (ggml order, row length
//! first): `token_embd` [n_embd, n_vocab], per layer `attn_norm` [n_embd], `attn_q` [n_embd, n_head·d],
//! `attn_k`/`attn_v` [n_embd, n_head_kv·d], `attn_output` [n_head·d, n_embd], `ffn_norm` [n_embd],
//! `ffn_gate`/`ffn_up` [n_embd, n_ff], `ffn_down` [n_ff, n_embd]; then `output_norm` [n_embd] and, unless
//! tied to the embedding, `output` [n_embd, n_vocab].

use medllm_gguf::{FileType, GgmlType, GgufHeader, Metadata, TensorInfo, Value};

use crate::error::{QuantError, Result};
use crate::synth::vocab::Vocab;

/// The shape and types of a synthetic llama model.
#[derive(Clone, Debug, PartialEq)]
pub struct LlamaConfig {
    /// Model width.
    pub n_embd: u64,
    /// Transformer blocks.
    pub n_layer: u64,
    /// Attention heads.
    pub n_head: u64,
    /// Key/value heads (grouped-query attention when below `n_head`).
    pub n_head_kv: u64,
    /// Feed-forward width.
    pub n_ff: u64,
    /// Vocabulary size (SPM vocabulary, see [`Vocab::spm`]).
    pub n_vocab: u64,
    /// Training context length (what llama.cpp uses when asked for context 0).
    pub n_ctx: u64,
    /// Type of the attention matrices (q, k, v, output).
    pub attn_type: GgmlType,
    /// Type of the feed-forward matrices (gate, up, down).
    pub ffn_type: GgmlType,
    /// Type of the token embedding.
    pub embd_type: GgmlType,
    /// Type of the output projection (ignored when tied).
    pub output_type: GgmlType,
    /// Whether the output projection reuses the token embedding (no `output.weight`).
    pub tied_output: bool,
    /// `general.name`.
    pub name: String,
}

impl Default for LlamaConfig {
    /// A tiny model (about 4 M parameters, F32): loads in milliseconds, for tests.
    fn default() -> Self {
        Self {
            n_embd: 256,
            n_layer: 4,
            n_head: 4,
            n_head_kv: 2,
            n_ff: 768,
            n_vocab: 1024,
            n_ctx: 2048,
            attn_type: GgmlType::F32,
            ffn_type: GgmlType::F32,
            embd_type: GgmlType::F32,
            output_type: GgmlType::F32,
            tied_output: false,
            name: "medllm synthetic llama".into(),
        }
    }
}

impl LlamaConfig {
    /// Every weight matrix of one type (norms stay F32).
    pub fn with_weight_type(mut self, ty: GgmlType) -> Self {
        self.attn_type = ty;
        self.ffn_type = ty;
        self.embd_type = ty;
        self.output_type = ty;
        self
    }

    /// Head dimension (`n_embd / n_head`).
    pub fn head_dim(&self) -> u64 {
        self.n_embd / self.n_head.max(1)
    }

    fn check(&self) -> Result<()> {
        let bad = |m: String| Err(QuantError::Config(m));
        if self.n_embd == 0 || self.n_layer == 0 || self.n_ff == 0 || self.n_head == 0 {
            return bad("sizes must be positive".into());
        }
        if self.n_embd % self.n_head != 0 {
            return bad(format!(
                "n_embd {} is not a multiple of n_head {}",
                self.n_embd, self.n_head
            ));
        }
        if self.n_head_kv == 0 || self.n_head % self.n_head_kv != 0 {
            return bad(format!(
                "n_head {} is not a multiple of n_head_kv {}",
                self.n_head, self.n_head_kv
            ));
        }
        if self.head_dim() % 2 != 0 {
            return bad("the head dimension must be even (RoPE rotates pairs)".into());
        }
        Ok(())
    }

    /// The file's header: metadata (hyper-parameters, SPM tokenizer) and tensor table.
    pub fn header(&self) -> Result<GgufHeader> {
        self.check()?;
        let mut meta = Metadata::new();
        let mut put = |k: &str, v: Value| meta.push(k, v).map_err(QuantError::Header);
        let u32v = |x: u64| Value::U32(u32::try_from(x).unwrap_or(u32::MAX));
        put("general.architecture", Value::String("llama".into()))?;
        put("general.name", Value::String(self.name.as_str().into()))?;
        put(
            "general.file_type",
            Value::U32(file_type_for(self.ffn_type).0),
        )?;
        put("llama.context_length", u32v(self.n_ctx))?;
        put("llama.embedding_length", u32v(self.n_embd))?;
        put("llama.block_count", u32v(self.n_layer))?;
        put("llama.feed_forward_length", u32v(self.n_ff))?;
        put("llama.attention.head_count", u32v(self.n_head))?;
        put("llama.attention.head_count_kv", u32v(self.n_head_kv))?;
        put("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5))?;
        put("llama.rope.freq_base", Value::F32(10_000.0))?;
        put("llama.rope.dimension_count", u32v(self.head_dim()))?;
        put("llama.vocab_size", u32v(self.n_vocab))?;
        let vocab_len = usize::try_from(self.n_vocab)
            .map_err(|_| QuantError::Config("vocabulary too large".into()))?;
        Vocab::spm(vocab_len)?.add_to(&mut meta)?;
        GgufHeader::new(3, meta, self.tensors()?).map_err(QuantError::Header)
    }

    fn tensors(&self) -> Result<Vec<TensorInfo>> {
        let (e, d) = (self.n_embd, self.head_dim());
        let (q, kv) = (self.n_head * d, self.n_head_kv * d);
        let mut specs: Vec<(String, Vec<u64>, GgmlType)> = vec![(
            "token_embd.weight".into(),
            vec![e, self.n_vocab],
            self.embd_type,
        )];
        for i in 0..self.n_layer {
            let b = |s: &str| format!("blk.{i}.{s}.weight");
            specs.extend([
                (b("attn_norm"), vec![e], GgmlType::F32),
                (b("attn_q"), vec![e, q], self.attn_type),
                (b("attn_k"), vec![e, kv], self.attn_type),
                (b("attn_v"), vec![e, kv], self.attn_type),
                (b("attn_output"), vec![q, e], self.attn_type),
                (b("ffn_norm"), vec![e], GgmlType::F32),
                (b("ffn_gate"), vec![e, self.n_ff], self.ffn_type),
                (b("ffn_up"), vec![e, self.n_ff], self.ffn_type),
                (b("ffn_down"), vec![self.n_ff, e], self.ffn_type),
            ]);
        }
        specs.push(("output_norm.weight".into(), vec![e], GgmlType::F32));
        if !self.tied_output {
            specs.push((
                "output.weight".into(),
                vec![e, self.n_vocab],
                self.output_type,
            ));
        }
        specs
            .into_iter()
            .map(|(n, dims, ty)| TensorInfo::new(n, dims, ty, 0).map_err(QuantError::Header))
            .collect()
    }
}

/// The `general.file_type` that describes a model whose bulk is `ty` (llama.cpp's "mostly X" names).
pub fn file_type_for(ty: GgmlType) -> FileType {
    let name = match ty {
        GgmlType::F32 => "F32",
        GgmlType::F16 => "F16",
        GgmlType::BF16 => "BF16",
        GgmlType::Q4_0 => "Q4_0",
        GgmlType::Q4_1 => "Q4_1",
        GgmlType::Q5_0 => "Q5_0",
        GgmlType::Q5_1 => "Q5_1",
        GgmlType::Q8_0 => "Q8_0",
        GgmlType::Q2_K => "Q2_K",
        GgmlType::Q3_K => "Q3_K_M",
        GgmlType::Q4_K => "Q4_K_M",
        GgmlType::Q5_K => "Q5_K_M",
        GgmlType::Q6_K => "Q6_K",
        GgmlType::IQ4_NL => "IQ4_NL",
        GgmlType::IQ4_XS => "IQ4_XS",
        _ => "GUESSED",
    };
    FileType::from_name(name).unwrap_or(FileType(1024))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use medllm_gguf::{HyperParams, read_header_from_slice, write_header};

    use super::*;

    #[test]
    fn header_reads_back_with_the_configured_hyper_parameters() {
        let cfg = LlamaConfig::default();
        let h = cfg.header().unwrap();
        let mut bytes = Vec::new();
        write_header(&h, &mut bytes).unwrap();
        let back = read_header_from_slice(&bytes, &Default::default()).unwrap();
        let hp = HyperParams::from_header(&back).unwrap();
        assert_eq!(hp.block_count, 4);
        assert_eq!(hp.embedding_length, 256);
        assert_eq!(hp.vocab_size, 1024);
        assert_eq!(back.tensors().len(), 1 + 4 * 9 + 2);
        let q = back.tensor("blk.0.attn_k.weight").unwrap();
        assert_eq!(q.dims(), &[256, 128]);
        let tied = LlamaConfig {
            tied_output: true,
            ..LlamaConfig::default()
        };
        assert!(tied.header().unwrap().tensor("output.weight").is_none());
        let bad = LlamaConfig {
            n_head: 3,
            ..LlamaConfig::default()
        };
        assert!(bad.header().is_err());
    }
}
