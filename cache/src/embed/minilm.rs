//! all-MiniLM-L6-v2 (BERT, 6 layers, 384 hidden, 12 heads) forward pass on the CPU.
//!
//! Weights are read once from `model.safetensors` (fp32) into plain vectors; Q, K and V are fused into one
//! [384×1152] matrix (stored transposed) so each layer does four dense products plus small per-head
//! attention products. Output:
//! mean of the last hidden states over all tokens (the attention mask is all ones for one sentence),
//! L2-normalised — exactly sentence-transformers' `Pooling(mean) + Normalize`.

use std::path::Path;

use safetensors::{Dtype, SafeTensors};
use sha2::{Digest, Sha256};

use super::Embedder;
use super::math::{attention_head, gelu, layer_norm, matmul_t, transpose};
use super::tokenizer::WordPiece;
use crate::error::{CacheError, Result};

const HIDDEN: usize = 384;
const HEADS: usize = 12;
const HEAD_DIM: usize = HIDDEN / HEADS;
const FFN: usize = 1536;
const LAYERS: usize = 6;
const MAX_POS: usize = 512;
const VOCAB: usize = 30522;
const EPS: f32 = 1e-12;
/// sentence-transformers' max_seq_length for this model.
const MAX_SEQ: usize = 256;

/// Dense weights are stored transposed ([in × out]) for `matmul_t`.
struct Layer {
    qkv_w: Vec<f32>,
    qkv_b: Vec<f32>,
    o_w: Vec<f32>,
    o_b: Vec<f32>,
    ln1_w: Vec<f32>,
    ln1_b: Vec<f32>,
    f1_w: Vec<f32>,
    f1_b: Vec<f32>,
    f2_w: Vec<f32>,
    f2_b: Vec<f32>,
    ln2_w: Vec<f32>,
    ln2_b: Vec<f32>,
}

/// The MiniLM sentence embedder.
pub struct MiniLm {
    tokenizer: WordPiece,
    word: Vec<f32>,
    pos: Vec<f32>,
    type0: Vec<f32>,
    ln_w: Vec<f32>,
    ln_b: Vec<f32>,
    layers: Vec<Layer>,
    fingerprint: u64,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm")
            .field("fingerprint", &format_args!("{:016x}", self.fingerprint))
            .finish()
    }
}

fn tensor(st: &SafeTensors<'_>, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    let t = st
        .tensor(name)
        .map_err(|e| CacheError::Embedder(format!("tensor {name}: {e}")))?;
    if t.dtype() != Dtype::F32 || t.shape() != shape {
        return Err(CacheError::Embedder(format!(
            "tensor {name}: expected F32 {shape:?}, found {:?} {:?}",
            t.dtype(),
            t.shape()
        )));
    }
    Ok(t.data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

impl MiniLm {
    /// Loads `model.safetensors` and `vocab.txt` from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let model_path = dir.join("model.safetensors");
        let bytes = std::fs::read(&model_path)
            .map_err(|e| CacheError::io("read embedding model", &model_path, e))?;
        let st = SafeTensors::deserialize(&bytes)
            .map_err(|e| CacheError::Embedder(format!("{}: {e}", model_path.display())))?;
        let tokenizer = WordPiece::load(&dir.join("vocab.txt"), MAX_SEQ)?;
        let mut layers = Vec::with_capacity(LAYERS);
        for l in 0..LAYERS {
            let p = |s: &str| format!("encoder.layer.{l}.{s}");
            let mut qkv_w = tensor(&st, &p("attention.self.query.weight"), &[HIDDEN, HIDDEN])?;
            qkv_w.extend(tensor(
                &st,
                &p("attention.self.key.weight"),
                &[HIDDEN, HIDDEN],
            )?);
            qkv_w.extend(tensor(
                &st,
                &p("attention.self.value.weight"),
                &[HIDDEN, HIDDEN],
            )?);
            let mut qkv_b = tensor(&st, &p("attention.self.query.bias"), &[HIDDEN])?;
            qkv_b.extend(tensor(&st, &p("attention.self.key.bias"), &[HIDDEN])?);
            qkv_b.extend(tensor(&st, &p("attention.self.value.bias"), &[HIDDEN])?);
            layers.push(Layer {
                qkv_w: transpose(&qkv_w, 3 * HIDDEN, HIDDEN),
                qkv_b,
                o_w: transpose(
                    &tensor(&st, &p("attention.output.dense.weight"), &[HIDDEN, HIDDEN])?,
                    HIDDEN,
                    HIDDEN,
                ),
                o_b: tensor(&st, &p("attention.output.dense.bias"), &[HIDDEN])?,
                ln1_w: tensor(&st, &p("attention.output.LayerNorm.weight"), &[HIDDEN])?,
                ln1_b: tensor(&st, &p("attention.output.LayerNorm.bias"), &[HIDDEN])?,
                f1_w: transpose(
                    &tensor(&st, &p("intermediate.dense.weight"), &[FFN, HIDDEN])?,
                    FFN,
                    HIDDEN,
                ),
                f1_b: tensor(&st, &p("intermediate.dense.bias"), &[FFN])?,
                f2_w: transpose(
                    &tensor(&st, &p("output.dense.weight"), &[HIDDEN, FFN])?,
                    HIDDEN,
                    FFN,
                ),
                f2_b: tensor(&st, &p("output.dense.bias"), &[HIDDEN])?,
                ln2_w: tensor(&st, &p("output.LayerNorm.weight"), &[HIDDEN])?,
                ln2_b: tensor(&st, &p("output.LayerNorm.bias"), &[HIDDEN])?,
            });
        }
        let type_all = tensor(&st, "embeddings.token_type_embeddings.weight", &[2, HIDDEN])?;
        // Fingerprint: header plus a 4 KiB sample of every MiB (cheap, changes with any re-training).
        let mut h = Sha256::new();
        h.update((bytes.len() as u64).to_le_bytes());
        for chunk in bytes.chunks(1 << 20) {
            h.update(&chunk[..chunk.len().min(4096)]);
        }
        let digest = h.finalize();
        let mut fp = [0u8; 8];
        fp.copy_from_slice(&digest[..8]);
        Ok(MiniLm {
            tokenizer,
            word: tensor(&st, "embeddings.word_embeddings.weight", &[VOCAB, HIDDEN])?,
            pos: tensor(
                &st,
                "embeddings.position_embeddings.weight",
                &[MAX_POS, HIDDEN],
            )?,
            type0: type_all[..HIDDEN].to_vec(),
            ln_w: tensor(&st, "embeddings.LayerNorm.weight", &[HIDDEN])?,
            ln_b: tensor(&st, "embeddings.LayerNorm.bias", &[HIDDEN])?,
            layers,
            fingerprint: u64::from_le_bytes(fp),
        })
    }

    /// The tokenizer (exposed for the golden test).
    pub fn tokenizer(&self) -> &WordPiece {
        &self.tokenizer
    }

    /// Runs the encoder on token ids and returns the pooled, normalised embedding.
    pub fn embed_ids(&self, ids: &[u32]) -> Vec<f32> {
        let t = ids.len().min(MAX_POS);
        let mut x = vec![0f32; t * HIDDEN];
        for (p, &id) in ids.iter().take(t).enumerate() {
            let id = (id as usize).min(VOCAB - 1);
            let row = &mut x[p * HIDDEN..(p + 1) * HIDDEN];
            let w = &self.word[id * HIDDEN..(id + 1) * HIDDEN];
            let pe = &self.pos[p * HIDDEN..(p + 1) * HIDDEN];
            for j in 0..HIDDEN {
                row[j] = w[j] + pe[j] + self.type0[j];
            }
        }
        layer_norm(&mut x, &self.ln_w, &self.ln_b, EPS);

        let mut qkv = vec![0f32; t * 3 * HIDDEN];
        let mut scores = vec![0f32; t * t];
        let mut head_out = vec![0f32; t * HEAD_DIM];
        let mut ctx = vec![0f32; t * HIDDEN];
        let mut attn = vec![0f32; t * HIDDEN];
        let mut ffn = vec![0f32; t * FFN];
        let scale = 1.0 / (HEAD_DIM as f32).sqrt();
        for layer in &self.layers {
            matmul_t(
                &x,
                t,
                HIDDEN,
                &layer.qkv_w,
                3 * HIDDEN,
                &layer.qkv_b,
                &mut qkv,
            );
            for h in 0..HEADS {
                let q = &qkv[h * HEAD_DIM..];
                let k = &qkv[HIDDEN + h * HEAD_DIM..];
                let v = &qkv[2 * HIDDEN + h * HEAD_DIM..];
                attention_head(
                    q,
                    k,
                    v,
                    3 * HIDDEN,
                    t,
                    HEAD_DIM,
                    scale,
                    &mut scores,
                    &mut head_out,
                );
                for p in 0..t {
                    ctx[p * HIDDEN + h * HEAD_DIM..p * HIDDEN + (h + 1) * HEAD_DIM]
                        .copy_from_slice(&head_out[p * HEAD_DIM..(p + 1) * HEAD_DIM]);
                }
            }
            matmul_t(&ctx, t, HIDDEN, &layer.o_w, HIDDEN, &layer.o_b, &mut attn);
            for (a, b) in x.iter_mut().zip(&attn) {
                *a += b;
            }
            layer_norm(&mut x, &layer.ln1_w, &layer.ln1_b, EPS);
            matmul_t(&x, t, HIDDEN, &layer.f1_w, FFN, &layer.f1_b, &mut ffn);
            gelu(&mut ffn);
            matmul_t(&ffn, t, FFN, &layer.f2_w, HIDDEN, &layer.f2_b, &mut attn);
            for (a, b) in x.iter_mut().zip(&attn) {
                *a += b;
            }
            layer_norm(&mut x, &layer.ln2_w, &layer.ln2_b, EPS);
        }
        let mut pooled = vec![0f32; HIDDEN];
        for row in x.chunks_exact(HIDDEN) {
            for (p, v) in pooled.iter_mut().zip(row) {
                *p += v;
            }
        }
        let norm = pooled.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        for p in &mut pooled {
            *p /= norm;
        }
        pooled
    }
}

impl Embedder for MiniLm {
    fn dim(&self) -> usize {
        HIDDEN
    }

    fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    fn embed(&self, text: &str) -> Result<Vec<f32>> {
        Ok(self.embed_ids(&self.tokenizer.encode(text)))
    }
}
