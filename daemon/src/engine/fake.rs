//! A deterministic toy model for testing the scheduling loop without llama.cpp.
//!
//! Tokens are bytes (0..=255), 256 is end-of-text, 257 is BOS. The "model" predicts the next byte
//! from a hash of everything in the sequence so far, so an answer depends on the whole KV content
//! of its sequence: a scheduler bug that feeds a token at the wrong position, to the wrong
//! sequence, or skips one changes the answer or trips the position check. KV cells are counted
//! for real, shared prefixes included, so leaks and capacity pressure are observable.

use std::collections::HashMap;

use super::ops::{BatchItem, DecodeFailure, ModelOps, Prompt, Token};
use super::types::{EngineError, SamplingParams};

pub const EOT: Token = 256;
pub const BOS: Token = 257;

/// Per-sequence KV: tokens by position, plus how many leading cells are shared with another
/// sequence (not counted against capacity twice).
#[derive(Debug, Default, Clone)]
struct SeqKv {
    tokens: Vec<Token>,
    shared: usize,
}

/// See the module docs.
#[derive(Debug)]
pub struct FakeModel {
    n_ctx: u32,
    n_batch: u32,
    seqs: HashMap<u32, SeqKv>,
    /// (seq, pos) of each row of the last batch.
    rows: Vec<(u32, usize)>,
    /// Every decode call's size, for fairness assertions.
    pub batch_sizes: Vec<usize>,
    /// Every token fed, in decode order, for admission-order assertions (what the client sees
    /// first depends on how its task is polled; what the model was fed first does not).
    pub fed: Vec<Token>,
    /// Cells that actually fit (may be below `n_ctx` to simulate fragmentation).
    kv_capacity: usize,
    /// The adapter applied now, and the adapter each sequence's cells were computed with.
    adapter: Option<usize>,
    seq_adapter: HashMap<u32, Option<usize>>,
    /// Answer lengths are bounded by ending when the hash hits this modulus.
    eot_every: u64,
}

impl FakeModel {
    pub fn new(n_ctx: u32, n_batch: u32) -> Self {
        Self {
            n_ctx,
            n_batch,
            seqs: HashMap::new(),
            rows: Vec::new(),
            batch_sizes: Vec::new(),
            fed: Vec::new(),
            kv_capacity: n_ctx as usize,
            adapter: None,
            seq_adapter: HashMap::new(),
            eot_every: 23,
        }
    }

    /// Never emit end-of-text: answers run to `max_tokens` (for cancellation tests).
    pub fn never_end(mut self) -> Self {
        self.eot_every = u64::MAX;
        self
    }

    /// Pretend only `cells` KV cells fit, while still reporting the full `n_ctx`.
    pub fn squeeze_capacity(&mut self, cells: usize) {
        self.kv_capacity = cells;
    }

    /// Cells in use, shared cells counted once.
    pub fn cells_used(&self) -> usize {
        self.seqs.values().map(|s| s.tokens.len() - s.shared).sum()
    }

    fn next_token(&self, seq: u32, pos: usize) -> Token {
        let toks = &self.seqs[&seq].tokens[..=pos];
        // FNV-1a over the sequence content.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325
            ^ self
                .seq_adapter
                .get(&seq)
                .copied()
                .flatten()
                .map_or(0, |a| a as u64 + 1);
        for &t in toks {
            h ^= t as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        if h % self.eot_every == 0 {
            EOT
        } else {
            (b'a' + (h % 26) as u8) as Token
        }
    }
}

impl ModelOps for FakeModel {
    type Sampler = ();

    fn n_ctx(&self) -> u32 {
        self.n_ctx
    }

    fn n_batch(&self) -> u32 {
        self.n_batch
    }

    fn render(&self, system: &str, question: &str) -> Result<Prompt, EngineError> {
        let mut tokens = vec![BOS];
        tokens.extend(system.bytes().map(Token::from));
        tokens.push(b'|' as Token);
        let template_len = tokens.len();
        tokens.extend(question.bytes().map(Token::from));
        tokens.push(b'>' as Token);
        Ok(Prompt {
            tokens,
            template_len,
            stop: Vec::new(),
        })
    }

    fn tokenize_plain(&self, text: &str) -> Vec<Token> {
        text.bytes().map(Token::from).collect()
    }

    fn decode(&mut self, batch: &[BatchItem]) -> Result<(), DecodeFailure> {
        if batch.is_empty() || batch.len() > self.n_batch as usize {
            return Err(DecodeFailure::Other(format!(
                "bad batch size {}",
                batch.len()
            )));
        }
        let new_cells = batch.len();
        if self.cells_used() + new_cells > self.kv_capacity {
            return Err(DecodeFailure::NoKvSlot);
        }
        self.batch_sizes.push(batch.len());
        self.rows.clear();
        for item in batch {
            // A sequence's cells must all come from one adapter (no mixing within a sequence).
            let tag = *self.seq_adapter.entry(item.seq).or_insert(self.adapter);
            if tag != self.adapter {
                return Err(DecodeFailure::Other(format!(
                    "seq {} computed with adapter {tag:?}, now fed with {:?}",
                    item.seq, self.adapter
                )));
            }
            let kv = self.seqs.entry(item.seq).or_default();
            let pos = item.pos as usize;
            // The scheduler must append at exactly the next position of the sequence.
            if pos != kv.tokens.len() {
                return Err(DecodeFailure::Other(format!(
                    "seq {} expected pos {}, got {}",
                    item.seq,
                    kv.tokens.len(),
                    pos
                )));
            }
            kv.tokens.push(item.token);
            self.fed.push(item.token);
            if item.logits {
                self.rows.push((item.seq, pos));
            } else {
                self.rows.push((u32::MAX, 0));
            }
        }
        Ok(())
    }

    fn set_adapter(&mut self, adapter: Option<usize>) -> Result<(), DecodeFailure> {
        self.adapter = adapter;
        Ok(())
    }

    fn new_sampler(&self, _params: &SamplingParams) {}

    fn sample(&mut self, _sampler: &mut (), row: usize) -> Token {
        let (seq, pos) = self.rows[row];
        assert_ne!(seq, u32::MAX, "sampled a row without logits");
        self.next_token(seq, pos)
    }

    fn logprobs(&self, row: usize, tokens: &[Token]) -> Vec<f32> {
        let (seq, pos) = self.rows[row];
        let best = self.next_token(seq, pos);
        tokens
            .iter()
            .map(|&t| {
                if t == best {
                    -0.1
                } else {
                    -5.0 - (t as f32) / 1000.0
                }
            })
            .collect()
    }

    fn margin(&self, _row: usize, _token: Token) -> f32 {
        // The toy model has no near-ties.
        10.0
    }

    fn seq_share_prefix(&mut self, src: u32, dst: u32, len: u32) {
        let prefix: Vec<Token> = self.seqs.get(&src).map_or(Vec::new(), |s| {
            s.tokens[..(len as usize).min(s.tokens.len())].to_vec()
        });
        let kv = self.seqs.entry(dst).or_default();
        assert!(
            kv.tokens.is_empty(),
            "sharing into a non-empty sequence {dst}"
        );
        kv.shared = prefix.len();
        kv.tokens = prefix;
        let tag = self.seq_adapter.get(&src).copied().flatten();
        self.seq_adapter.insert(dst, tag);
    }

    fn seq_clear(&mut self, seq: u32) {
        self.seqs.remove(&seq);
        self.seq_adapter.remove(&seq);
    }

    fn seq_is_empty(&self, seq: u32) -> bool {
        self.seqs.get(&seq).is_none_or(|s| s.tokens.is_empty())
    }

    fn piece(&self, token: Token) -> Vec<u8> {
        u8::try_from(token).map(|b| vec![b]).unwrap_or_default()
    }

    fn is_eog(&self, token: Token) -> bool {
        token == EOT
    }
}
