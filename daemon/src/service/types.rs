//! The transport-independent request vocabulary of the daemon: what a caller asks, what it gets
//! back, and the typed errors. The D-Bus layer translates to and from these; nothing here knows
//! about D-Bus.

use std::time::Duration;

/// Who is asking (from the D-Bus message header; never from the message body).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// Unique bus name (`:1.42`); identifies the connection.
    pub unique_name: String,
    /// Unix user id of the peer, when the bus could tell.
    pub uid: Option<u32>,
    /// Process id of the peer, when the bus could tell.
    pub pid: Option<u32>,
}

/// Per-request options. Every field is optional; `None` means "the category's default".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AskOptions {
    /// Cap on generated tokens.
    pub max_tokens: Option<u32>,
    /// Sampling temperature (0 = greedy, deterministic, cacheable).
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    pub top_p: Option<f32>,
    /// Fixed seed (makes sampled answers reproducible and cacheable).
    pub seed: Option<u32>,
    /// Force a category instead of the classifier's choice.
    pub category: Option<String>,
    /// Neither read nor write the answer cache.
    pub no_cache: bool,
    /// Return the reasoning block of reasoning models (in details) and stream it.
    pub include_reasoning: bool,
}

/// Which cache tier served an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheOutcome {
    /// Computed by the model.
    Miss,
    /// Same normalised question.
    Exact,
    /// A guarded paraphrase match.
    Semantic {
        /// The cached question that matched.
        matched_question: String,
        /// Embedding cosine between the two questions.
        cosine: f32,
    },
    /// The cache was not consulted (no_cache, or disabled).
    Bypassed,
}

impl CacheOutcome {
    /// Stable name for the wire: `miss`, `exact`, `semantic`, `bypass`.
    pub fn as_str(&self) -> &'static str {
        match self {
            CacheOutcome::Miss => "miss",
            CacheOutcome::Exact => "exact",
            CacheOutcome::Semantic { .. } => "semantic",
            CacheOutcome::Bypassed => "bypass",
        }
    }
}

/// Everything a client may want to know about how an answer was produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Details {
    /// Category used for the template.
    pub category: String,
    /// True when the client forced the category.
    pub category_overridden: bool,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Generated tokens (answer and reasoning).
    pub completion_tokens: u32,
    /// Prompt tokens served from the template's KV instead of computed.
    pub reused_prefix_tokens: u32,
    /// Submission to first token (zero for cache hits).
    pub time_to_first_token: Duration,
    /// Submission to the final event.
    pub total_time: Duration,
    /// Decode speed.
    pub tokens_per_second: f64,
    /// Cache tier.
    pub cache: CacheOutcome,
    /// Model identity (name and short hash).
    pub model_id: String,
    /// `eos`, `length`, `stop`, `cached`, `cancelled`, `error`.
    pub finish_reason: String,
    /// Reasoning text of reasoning models, when the client asked for it.
    pub reasoning: Option<String>,
}

/// What an answer stream yields.
#[derive(Debug, Clone, PartialEq)]
pub enum AskEvent {
    /// Answer text, in order; coalesced chunks of one or more tokens.
    Chunk(String),
    /// Reasoning text (only when `include_reasoning`).
    Reasoning(String),
    /// The end. Nothing follows.
    Finished(Outcome),
}

/// The end of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `Ok(())` or why it failed.
    pub result: Result<(), ServiceError>,
    /// The whole answer text (what the chunks added up to, plus any safety line).
    pub answer: String,
    /// How it was produced.
    pub details: Details,
}

/// Errors with a stable name each (mapped 1:1 to `org.medllm.Daemon1.Error.*`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The model is still loading (or failed to).
    #[error("the service is not ready: {0}")]
    NotReady(String),
    /// Too many requests in flight (globally or for this caller).
    #[error("busy: {0}")]
    Busy(String),
    /// The question exceeds `MaxQuestionBytes`.
    #[error("the question is {size} bytes; the limit is {limit}")]
    QuestionTooLarge {
        /// Bytes received.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Prompt plus answer budget do not fit the model's context.
    #[error("{0}")]
    PromptTooLong(String),
    /// A bad option or an empty question.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Cancelled by the client or because it left the bus.
    #[error("cancelled")]
    Cancelled,
    /// The caller may not do this.
    #[error("not authorized: {0}")]
    NotAuthorized(String),
    /// Unexpected failure inside the service.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// The short stable name (`NotReady`, `Busy`, …) used for D-Bus error names and logs.
    pub fn name(&self) -> &'static str {
        match self {
            ServiceError::NotReady(_) => "NotReady",
            ServiceError::Busy(_) => "Busy",
            ServiceError::QuestionTooLarge { .. } => "QuestionTooLarge",
            ServiceError::PromptTooLong(_) => "PromptTooLong",
            ServiceError::InvalidArgument(_) => "InvalidArgument",
            ServiceError::Cancelled => "Cancelled",
            ServiceError::NotAuthorized(_) => "NotAuthorized",
            ServiceError::Internal(_) => "Internal",
        }
    }
}

/// The daemon's lifecycle state, as the `State` property shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceState {
    /// Reading config, probing the host.
    Starting,
    /// Loading the model and prefilling templates.
    Loading,
    /// Serving.
    Ready,
    /// Serving, but something the plan relied on changed (reason given).
    Degraded(String),
    /// The engine failed; requests get `NotReady`.
    Failed(String),
}

impl ServiceState {
    /// `starting|loading|ready|degraded|failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ServiceState::Starting => "starting",
            ServiceState::Loading => "loading",
            ServiceState::Ready => "ready",
            ServiceState::Degraded(_) => "degraded",
            ServiceState::Failed(_) => "failed",
        }
    }

    /// Whether requests are accepted.
    pub fn accepts_requests(&self) -> bool {
        matches!(self, ServiceState::Ready | ServiceState::Degraded(_))
    }
}
