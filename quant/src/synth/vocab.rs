//! A small SentencePiece-style ("llama") vocabulary that llama.cpp's SPM tokenizer accepts.
//!
//! Layout (the one Llama-2's tokenizer has, so llama.cpp's defaults apply unchanged): `<unk>` = 0 (type
//! UNKNOWN), `<s>` = 1 and `</s>` = 2 (CONTROL), then the 256 byte tokens `<0x00>`…`<0xFF>` (type BYTE: any
//! text tokenizes, via byte fallback, and the newline token exists), then word pieces. The pieces are
//! generated, not learnt: `▁`, single characters, `▁` + letter, then letter pairs and triples with and without
//! the `▁` word prefix, until the requested size. Scores fall with the index, so SPM's merge loop prefers
//! the earlier (shorter) pieces deterministically. Nothing about the vocabulary is meaningful — it only has
//! to be valid and to make prompts a realistic number of tokens.

use medllm_gguf::{Array, GgufString, Metadata, Value};

use crate::error::{QuantError, Result};

/// llama.cpp's token types (`llama_token_type`).
const NORMAL: i32 = 1;
const UNKNOWN: i32 = 2;
const CONTROL: i32 = 3;
const BYTE: i32 = 6;

/// Tokens before the word pieces: 3 specials and 256 bytes.
pub const RESERVED: usize = 3 + 256;

/// SentencePiece's word-boundary marker.
const SPACE: &str = "\u{2581}";

/// The generated vocabulary, as the three parallel arrays GGUF stores.
#[derive(Clone, Debug, PartialEq)]
pub struct Vocab {
    /// Token texts.
    pub tokens: Vec<String>,
    /// SPM scores (higher merges first).
    pub scores: Vec<f32>,
    /// Token types.
    pub types: Vec<i32>,
}

impl Vocab {
    /// A vocabulary of exactly `n` tokens (`n` at least [`RESERVED`] + 1).
    pub fn spm(n: usize) -> Result<Self> {
        if n <= RESERVED {
            return Err(QuantError::Config(format!(
                "vocabulary size {n} must exceed {RESERVED} (3 special + 256 byte tokens)"
            )));
        }
        let mut v = Self {
            tokens: Vec::with_capacity(n),
            scores: Vec::with_capacity(n),
            types: Vec::with_capacity(n),
        };
        v.push("<unk>".into(), 0.0, UNKNOWN);
        v.push("<s>".into(), 0.0, CONTROL);
        v.push("</s>".into(), 0.0, CONTROL);
        for b in 0..=255u8 {
            v.push(format!("<0x{b:02X}>"), 0.0, BYTE);
        }
        for piece in pieces().take(n - RESERVED) {
            let score = -(v.tokens.len() as f32);
            v.push(piece, score, NORMAL);
        }
        if v.tokens.len() != n {
            return Err(QuantError::Config(format!(
                "vocabulary size {n} is larger than the generator can produce ({})",
                v.tokens.len()
            )));
        }
        Ok(v)
    }

    fn push(&mut self, t: String, score: f32, ty: i32) {
        self.tokens.push(t);
        self.scores.push(score);
        self.types.push(ty);
    }

    /// Appends the `tokenizer.ggml.*` keys llama.cpp reads for an SPM vocabulary.
    pub fn add_to(&self, meta: &mut Metadata) -> Result<()> {
        let entries = [
            ("tokenizer.ggml.model", Value::String("llama".into())),
            (
                "tokenizer.ggml.tokens",
                Value::Array(Array::String(
                    self.tokens
                        .iter()
                        .map(|t| GgufString::from(t.as_str()))
                        .collect(),
                )),
            ),
            (
                "tokenizer.ggml.scores",
                Value::Array(Array::F32(self.scores.clone())),
            ),
            (
                "tokenizer.ggml.token_type",
                Value::Array(Array::I32(self.types.clone())),
            ),
            ("tokenizer.ggml.unknown_token_id", Value::U32(0)),
            ("tokenizer.ggml.bos_token_id", Value::U32(1)),
            ("tokenizer.ggml.eos_token_id", Value::U32(2)),
            ("tokenizer.ggml.add_bos_token", Value::Bool(true)),
            ("tokenizer.ggml.add_eos_token", Value::Bool(false)),
        ];
        for (k, v) in entries {
            meta.push(k, v).map_err(QuantError::Header)?;
        }
        Ok(())
    }
}

/// The word pieces, in priority order; never repeats and never collides with the reserved tokens.
fn pieces() -> impl Iterator<Item = String> {
    const LOWER: &str = "etaoinshrdlcumwfgypbvkjxqz";
    let singles = std::iter::once(SPACE.to_owned())
        .chain(LOWER.chars().map(String::from))
        .chain(('A'..='Z').map(String::from))
        .chain(('0'..='9').map(String::from))
        .chain(".,;:!?'\"-()/%+=".chars().map(String::from));
    let words = LOWER.chars().map(|c| format!("{SPACE}{c}"));
    let pairs = LOWER
        .chars()
        .flat_map(|a| LOWER.chars().map(move |b| format!("{a}{b}")));
    let word_pairs = LOWER
        .chars()
        .flat_map(|a| LOWER.chars().map(move |b| format!("{SPACE}{a}{b}")));
    let triples = LOWER.chars().flat_map(|a| {
        LOWER
            .chars()
            .flat_map(move |b| LOWER.chars().map(move |c| format!("{a}{b}{c}")))
    });
    let word_triples = LOWER.chars().flat_map(|a| {
        LOWER
            .chars()
            .flat_map(move |b| LOWER.chars().map(move |c| format!("{SPACE}{a}{b}{c}")))
    });
    singles
        .chain(words)
        .chain(pairs)
        .chain(word_pairs)
        .chain(triples)
        .chain(word_triples)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn exact_size_unique_tokens_and_byte_tokens() {
        for n in [RESERVED + 1, 512, 32_000] {
            let v = Vocab::spm(n).unwrap();
            assert_eq!(v.tokens.len(), n);
            assert_eq!(v.scores.len(), n);
            assert_eq!(v.types.len(), n);
            let unique: HashSet<&String> = v.tokens.iter().collect();
            assert_eq!(unique.len(), n, "duplicate tokens at n = {n}");
        }
        let v = Vocab::spm(600).unwrap();
        assert_eq!(v.tokens[3 + 0x0A], "<0x0A>");
        assert_eq!(v.types[3 + 0x0A], BYTE);
        assert!(Vocab::spm(RESERVED).is_err());
        assert!(Vocab::spm(10_000_000).is_err());
    }
}
