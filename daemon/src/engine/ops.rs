//! The seam between the scheduling loop and the model.
//!
//! [`ModelOps`] is everything the loop in `core.rs` needs from a model: render and tokenize a
//! prompt, run one batch, sample, and move KV cells between sequences. `llama.rs` implements it on
//! llama.cpp; `fake.rs` implements it with a deterministic toy so the scheduler's policy
//! (admission, fairness, preemption, cancellation, leak-freedom) is testable without a model.

use super::types::{EngineError, SamplingParams};

/// A token id, as llama.cpp numbers them.
pub type Token = i32;

/// One token of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchItem {
    /// The token.
    pub token: Token,
    /// Its position in its sequence.
    pub pos: u32,
    /// Which sequence (KV stream) it belongs to.
    pub seq: u32,
    /// Whether logits are needed for this position (last prompt token, or a generating token).
    pub logits: bool,
}

/// A prompt split at the point where the request-specific part begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// All prompt tokens.
    pub tokens: Vec<Token>,
    /// Leading tokens that depend only on the system prompt (the template part).
    pub template_len: usize,
    /// Stop strings the prompt format implies (added to the request's own).
    pub stop: Vec<String>,
}

/// Why a batch could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeFailure {
    /// No room in the KV cache for this batch: preempt someone and retry.
    NoKvSlot,
    /// Anything else; the requests in the batch fail.
    Other(String),
}

/// What the engine loop needs from a model. Implementations own the model and its context and
/// are used from exactly one thread.
pub trait ModelOps {
    /// Per-request sampler state (RNG, penalty history).
    type Sampler;

    /// KV cells in the context (shared by all sequences).
    fn n_ctx(&self) -> u32;
    /// Largest batch `decode` accepts.
    fn n_batch(&self) -> u32;
    /// Render the chat prompt for a system prompt and a question, and tokenize it. The question
    /// must be tokenized without parsing special tokens.
    fn render(&self, system: &str, question: &str) -> Result<Prompt, EngineError>;
    /// Tokenize plain text (no BOS, no special tokens); used for scoring candidates.
    fn tokenize_plain(&self, text: &str) -> Vec<Token>;
    /// Apply LoRA adapter `adapter` (index into the configured adapters) to the whole context,
    /// or none; replaces whatever was applied before.
    fn set_adapter(&mut self, adapter: Option<usize>) -> Result<(), DecodeFailure>;
    /// Run one batch through the model.
    fn decode(&mut self, batch: &[BatchItem]) -> Result<(), DecodeFailure>;
    /// A sampler for these parameters.
    fn new_sampler(&self, params: &SamplingParams) -> Self::Sampler;
    /// Sample (and accept) the next token from the logits of batch row `row`.
    fn sample(&mut self, sampler: &mut Self::Sampler, row: usize) -> Token;
    /// Log-probabilities of `tokens` under the logits of batch row `row`.
    fn logprobs(&self, row: usize, tokens: &[Token]) -> Vec<f32>;
    /// Logit of `token` minus the largest other logit, for batch row `row`.
    fn margin(&self, row: usize, token: Token) -> f32;
    /// Make positions `0..len` of sequence `src` also belong to `dst` (shares cells).
    fn seq_share_prefix(&mut self, src: u32, dst: u32, len: u32);
    /// Drop every cell of sequence `seq`.
    fn seq_clear(&mut self, seq: u32);
    /// True when `seq` holds no KV cells (leak checks).
    fn seq_is_empty(&self, seq: u32) -> bool;
    /// The bytes a token stands for (special tokens render as nothing).
    fn piece(&self, token: Token) -> Vec<u8>;
    /// End-of-generation token?
    fn is_eog(&self, token: Token) -> bool;
}
