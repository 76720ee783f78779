//! BERT uncased tokenization (the `BertTokenizer` of all-MiniLM-L6-v2): basic tokenizer (clean text, CJK
//! spacing, lower case, accent stripping, punctuation split) then greedy longest-match WordPiece over
//! `vocab.txt`. Written out rather than pulling the `tokenizers` crate: it is ~150 lines against a large
//! dependency tree, and the golden test checks our ids against the reference tokenizer's exactly.

use std::collections::HashMap;
use std::path::Path;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::error::{CacheError, Result};
use crate::normalize::is_punctuation;

/// The WordPiece vocabulary and special ids.
#[derive(Debug)]
pub struct WordPiece {
    vocab: HashMap<String, u32>,
    unk: u32,
    cls: u32,
    sep: u32,
    /// Longest sequence (with [CLS] and [SEP]) the model is run on; sentence-transformers uses 256.
    max_len: usize,
}

const MAX_WORD_CHARS: usize = 100;

impl WordPiece {
    /// Loads `vocab.txt` (one token per line, id = line number).
    pub fn load(vocab_path: &Path, max_len: usize) -> Result<Self> {
        let text = std::fs::read_to_string(vocab_path)
            .map_err(|e| CacheError::io("read vocabulary", vocab_path, e))?;
        let vocab: HashMap<String, u32> = text
            .lines()
            .enumerate()
            .map(|(i, l)| (l.to_owned(), i as u32))
            .collect();
        let id = |t: &str| {
            vocab
                .get(t)
                .copied()
                .ok_or_else(|| CacheError::Embedder(format!("vocabulary lacks {t}")))
        };
        Ok(WordPiece {
            unk: id("[UNK]")?,
            cls: id("[CLS]")?,
            sep: id("[SEP]")?,
            vocab,
            max_len: max_len.max(3),
        })
    }

    /// Token ids of `text`, with [CLS] … [SEP], truncated to the maximum length.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = vec![self.cls];
        'outer: for word in basic_tokenize(text) {
            for id in self.wordpiece(&word) {
                if ids.len() >= self.max_len - 1 {
                    break 'outer;
                }
                ids.push(id);
            }
        }
        ids.push(self.sep);
        ids
    }

    fn wordpiece(&self, word: &str) -> Vec<u32> {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() > MAX_WORD_CHARS {
            return vec![self.unk];
        }
        let mut out = Vec::new();
        let mut start = 0;
        while start < chars.len() {
            let mut end = chars.len();
            let mut found = None;
            while start < end {
                let piece: String = chars[start..end].iter().collect();
                let key = if start > 0 {
                    format!("##{piece}")
                } else {
                    piece
                };
                if let Some(&id) = self.vocab.get(&key) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => {
                    out.push(id);
                    start = end;
                }
                None => return vec![self.unk],
            }
        }
        out
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F | 0x2B740..=0x2B81F
        | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

/// BERT's punctuation: all non-alphanumeric ASCII printable characters, plus Unicode punctuation.
fn is_bert_punct(c: char) -> bool {
    let cp = c as u32;
    (33..=47).contains(&cp)
        || (58..=64).contains(&cp)
        || (91..=96).contains(&cp)
        || (123..=126).contains(&cp)
        || (!c.is_ascii() && is_punctuation(c))
}

/// Whitespace split after cleaning, lower-casing, accent stripping and punctuation splitting.
fn basic_tokenize(text: &str) -> Vec<String> {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' {
            continue;
        }
        if c.is_whitespace() {
            cleaned.push(' ');
        } else if c.is_control() {
            continue;
        } else if is_cjk(c) {
            cleaned.push(' ');
            cleaned.push(c);
            cleaned.push(' ');
        } else {
            cleaned.push(c);
        }
    }
    let mut out = Vec::new();
    for word in cleaned.split_whitespace() {
        let lowered: String = word
            .to_lowercase()
            .nfd()
            .filter(|c| !is_combining_mark(*c))
            .collect();
        let mut cur = String::new();
        for c in lowered.chars() {
            if is_bert_punct(c) {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(c.to_string());
            } else {
                cur.push(c);
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn basic_tokenizer_splits_and_strips() {
        assert_eq!(
            basic_tokenize("Café-au-lait, OK?"),
            vec!["cafe", "-", "au", "-", "lait", ",", "ok", "?"]
        );
        assert_eq!(basic_tokenize("5 µg/kg"), vec!["5", "µg", "/", "kg"]);
    }
}
