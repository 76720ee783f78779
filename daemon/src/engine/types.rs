//! Wire-independent types that cross the boundary between tokio and the engine thread.
//!
//! This module owns the *vocabulary* of the engine: what a request asks for, what comes back on its
//! stream, and the typed errors. It knows nothing of llama.cpp or of D-Bus.

use std::time::Duration;

/// How to pick the next token. Validated once by [`SamplingParams::validate`] so the engine thread
/// never sees an out-of-range value.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingParams {
    /// 0 means greedy (argmax); the only fully deterministic setting without a seed.
    pub temperature: f32,
    /// 0 disables top-k.
    pub top_k: u32,
    /// 1.0 disables nucleus sampling.
    pub top_p: f32,
    /// 0.0 disables min-p.
    pub min_p: f32,
    /// 1.0 disables the repetition penalty.
    pub repeat_penalty: f32,
    /// How many recent tokens the repetition penalty looks at.
    pub repeat_last_n: u32,
    /// Seed for the sampler's RNG; `None` draws one (the answer is then not reproducible).
    pub seed: Option<u32>,
    /// Hard cap on generated tokens (including any reasoning block).
    pub max_tokens: u32,
    /// Generation stops *before* the first occurrence of any of these strings.
    pub stop: Vec<String>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 0.0,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            seed: None,
            max_tokens: 256,
            stop: Vec::new(),
        }
    }
}

/// Upper bounds that keep a single request from asking for something absurd.
pub const MAX_STOP_STRINGS: usize = 8;
/// Longest accepted stop string, in bytes.
pub const MAX_STOP_LEN: usize = 64;

impl SamplingParams {
    /// True when the same request always yields the same tokens (greedy, or a fixed seed).
    pub fn is_deterministic(&self) -> bool {
        self.temperature <= 0.0 || self.seed.is_some()
    }

    /// Check every field's range; the message names the field.
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |what: String| Err(EngineError::InvalidArgument(what));
        if !(0.0..=5.0).contains(&self.temperature) || self.temperature.is_nan() {
            return bad(format!(
                "temperature must be in 0..=5, got {}",
                self.temperature
            ));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad(format!("top_p must be in (0, 1], got {}", self.top_p));
        }
        if !(0.0..=1.0).contains(&self.min_p) || self.min_p.is_nan() {
            return bad(format!("min_p must be in 0..=1, got {}", self.min_p));
        }
        if !(self.repeat_penalty > 0.0 && self.repeat_penalty <= 5.0) {
            return bad(format!(
                "repeat_penalty must be in (0, 5], got {}",
                self.repeat_penalty
            ));
        }
        if self.max_tokens == 0 {
            return bad("max_tokens must be at least 1".into());
        }
        if self.stop.len() > MAX_STOP_STRINGS {
            return bad(format!("at most {MAX_STOP_STRINGS} stop strings"));
        }
        if self
            .stop
            .iter()
            .any(|s| s.is_empty() || s.len() > MAX_STOP_LEN)
        {
            return bad(format!("stop strings must be 1..={MAX_STOP_LEN} bytes"));
        }
        Ok(())
    }
}

/// One unit of work for the engine: a question already classified and templated.
#[derive(Debug, Clone)]
pub struct GenerateRequest {
    /// Which reserved template (system prompt) this request builds on; index into the engine's
    /// template list. Its KV prefix is reused when template reuse is on.
    pub template: usize,
    /// The user's text, inserted into the chat template as the user turn. Never parsed for
    /// special tokens, so a question cannot inject control tokens.
    pub question: String,
    /// How to sample.
    pub sampling: SamplingParams,
    /// Higher is admitted first (emergency questions jump the queue); ties are FIFO.
    pub priority: u8,
    /// When set, instead of generating, return log-probabilities of these continuations'
    /// first tokens after the prompt (used by `medctl eval`).
    pub score_candidates: Option<Vec<String>>,
    /// Record each generated token id and its top-1/top-2 logit margin (for numerics checks
    /// and benchmarks; costs one pass over the vocabulary per token).
    pub trace: bool,
}

/// Token accounting for one finished request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// Tokens of the full prompt (template + question + chat markup).
    pub prompt_tokens: u32,
    /// Prompt tokens whose KV was copied from the template sequence instead of computed.
    pub reused_prompt_tokens: u32,
    /// Prompt tokens actually run through the model (includes recomputation after preemption).
    pub computed_prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
}

/// Wall-clock breakdown of one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timings {
    /// Waiting in the queue before a sequence slot was assigned.
    pub queue: Duration,
    /// From submission to the first generated token (includes queue and prefill).
    pub time_to_first_token: Duration,
    /// From the first to the last generated token.
    pub decode: Duration,
    /// Generated tokens per second over `decode` (0 when fewer than 2 tokens).
    pub decode_tokens_per_s: f64,
    /// How many times the request was preempted and requeued (KV pressure).
    pub preemptions: u32,
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The model produced an end-of-generation token.
    EndOfText,
    /// `max_tokens` reached.
    Length,
    /// A stop string matched.
    Stop,
    /// A scoring request completed.
    Scored,
}

impl FinishReason {
    /// Stable lowercase name for logs and the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::EndOfText => "eos",
            FinishReason::Length => "length",
            FinishReason::Stop => "stop",
            FinishReason::Scored => "scored",
        }
    }
}

/// The summary sent as the last event of a successful request.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// Why it ended.
    pub finish: FinishReason,
    /// Token counts.
    pub usage: Usage,
    /// Timings.
    pub timings: Timings,
    /// For scoring requests: log-probability of each candidate, in request order.
    pub scores: Vec<f32>,
    /// With `trace`: generated token ids, in order.
    pub tokens: Vec<i32>,
    /// With `trace`: logit of the chosen token minus the best other logit, per generated token.
    /// Small values are near-ties, where tiny numeric differences may change a greedy choice.
    pub margins: Vec<f32>,
}

/// What a request's stream yields, in order: zero or more `Token`, then exactly one `Done` or
/// `Error`.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A chunk of answer text (one or more tokens, always whole UTF-8 characters).
    Token(String),
    /// Success; nothing follows.
    Done(Completion),
    /// Failure; nothing follows.
    Error(EngineError),
}

/// Errors a request can end with. Each maps to one D-Bus error name at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The queue is full; try again later.
    #[error("the engine is busy ({queued} requests queued); try again later")]
    Busy {
        /// Queue length at the time of refusal.
        queued: usize,
    },
    /// The prompt plus `max_tokens` can never fit the context.
    #[error("the prompt needs {needed} tokens of context but at most {available} are available")]
    PromptTooLong {
        /// Prompt tokens + max_tokens.
        needed: u32,
        /// Context available to one request.
        available: u32,
    },
    /// A parameter was out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The client cancelled, or went away.
    #[error("the request was cancelled")]
    Cancelled,
    /// The engine is shutting down or has stopped.
    #[error("the engine is not running")]
    NotRunning,
    /// llama.cpp reported an error we cannot recover from for this request.
    #[error("inference failed: {0}")]
    Internal(String),
}

/// Engine-wide counters, cheap to produce.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineStats {
    /// Sequences currently prefilling or generating.
    pub active: usize,
    /// Requests waiting for a slot.
    pub queued: usize,
    /// Sequence slots in use by requests (excludes the reserved template sequences).
    pub slots_in_use: usize,
    /// KV cells held by all sequences (templates included), counted by the engine.
    pub kv_cells_used: u32,
    /// Context size (KV cells available).
    pub kv_cells_total: u32,
    /// Requests completed since start.
    pub completed: u64,
    /// Requests that ended with an error or cancellation since start.
    pub failed: u64,
    /// Tokens generated since start.
    pub tokens_generated: u64,
    /// Prompt tokens computed since start.
    pub prompt_tokens_computed: u64,
    /// Prompt tokens served from template KV since start.
    pub prompt_tokens_reused: u64,
    /// Decode throughput over the last few seconds (all sequences).
    pub recent_tokens_per_s: f64,
    /// Preemptions since start.
    pub preemptions: u64,
    /// `decode` calls since start.
    pub steps: u64,
    /// Free request slots whose sequence still holds KV cells, as llama.cpp reports it. Always
    /// 0 unless there is a bug; exported so tests and admins can check.
    pub leaked_sequences: u32,
}
