//! The daemon's self-description: the `a{sv}` returned by `Status()` (for `medctl status`).
//!
//! Keys are grouped by what they describe. The daemon may add keys (plan summary, cache figures);
//! clients read the ones they know with [`DaemonStatus::from_dict`] and may show the rest as they
//! come.

use std::collections::HashMap;

use crate::dict::{Dict, get, get_str, put, put_str};

/// `s`: daemon version.
pub const VERSION: &str = "version";
/// `s`: `starting`, `loading`, `ready`, `degraded` or `failed`.
pub const STATE: &str = "state";
/// `s`: why the state is `degraded` or `failed` (absent otherwise).
pub const STATE_REASON: &str = "state_reason";
/// `t`: seconds since the daemon started.
pub const UPTIME_SECONDS: &str = "uptime_seconds";
/// `s`: `<name>@<12 hex digits of the file's sha256>`.
pub const MODEL_ID: &str = "model_id";
/// `s`: the model's `general.name`.
pub const MODEL_NAME: &str = "model_name";
/// `s`: the model's architecture (`gemma3`, `qwen2`, …).
pub const MODEL_ARCHITECTURE: &str = "model_architecture";
/// `t`: parameter count.
pub const MODEL_PARAMETERS: &str = "model_parameters";
/// `t`: weight bytes.
pub const MODEL_SIZE_BYTES: &str = "model_size_bytes";
/// `d`: seconds it took to load the weights.
pub const MODEL_LOAD_SECONDS: &str = "model_load_seconds";
/// `u`: KV cells of the context (shared by templates and requests).
pub const N_CTX: &str = "n_ctx";
/// `u`: context length the model was trained with.
pub const N_CTX_TRAIN: &str = "n_ctx_train";
/// `s`: `cpu` or the GPU backend in use.
pub const BACKEND: &str = "backend";
/// `s`: `base`, `adapter` or `merged`.
pub const MODE: &str = "mode";
/// `as`: why this mode (auto decision, config, administrator), the decision's terms, and what each
/// category runs (`medctl mode --explain`).
pub const MODE_EXPLAIN: &str = "mode_explain";
/// `u`: requests being served.
pub const ACTIVE_REQUESTS: &str = "active_requests";
/// `u`: requests waiting for a slot.
pub const QUEUE_LENGTH: &str = "queue_length";
/// `u`: longest accepted question in bytes.
pub const MAX_QUESTION_BYTES: &str = "max_question_bytes";
/// `a{st}`: requests accepted per category since start.
pub const REQUESTS_BY_CATEGORY: &str = "requests_by_category";
/// `s`: hash of the category templates in use.
pub const TEMPLATE_VERSION: &str = "template_version";
/// `au`: tokens of each category template's prefix, in category order.
pub const TEMPLATE_TOKENS: &str = "template_tokens";
/// `t`: requests completed since start.
pub const REQUESTS_COMPLETED: &str = "requests_completed";
/// `t`: requests that failed or were cancelled since start.
pub const REQUESTS_FAILED: &str = "requests_failed";
/// `t`: tokens generated since start.
pub const TOKENS_GENERATED: &str = "tokens_generated";
/// `t`: prompt tokens computed since start.
pub const PROMPT_TOKENS_COMPUTED: &str = "prompt_tokens_computed";
/// `t`: prompt tokens served from template KV since start.
pub const PROMPT_TOKENS_REUSED: &str = "prompt_tokens_reused";
/// `d`: decode throughput over the last few seconds, all requests together.
pub const RECENT_TOKENS_PER_SECOND: &str = "recent_tokens_per_second";
/// `t`: requests preempted under KV pressure since start.
pub const PREEMPTIONS: &str = "preemptions";
/// `u`: KV cells in use.
pub const KV_CELLS_USED: &str = "kv_cells_used";
/// `u`: KV cells in the context.
pub const KV_CELLS_TOTAL: &str = "kv_cells_total";

/// `s`: one line describing the placement plan in use (absent when the planner is off).
pub const PLAN: &str = "plan";
/// `s`: one line of answer-cache figures (absent when the cache is off).
pub const CACHE: &str = "cache";
/// `t`: answers stored in the cache (on disk).
pub const CACHE_ENTRIES: &str = "cache_entries";
/// `t`: exact-tier hits since start.
pub const CACHE_EXACT_HITS: &str = "cache_exact_hits";
/// `t`: semantic-tier hits since start.
pub const CACHE_SEMANTIC_HITS: &str = "cache_semantic_hits";
/// `t`: lookups that found nothing servable since start.
pub const CACHE_MISSES: &str = "cache_misses";

/// Typed view of `Status()`; fields are `None` when the daemon did not send them (e.g. no model
/// yet, or the engine did not answer in time).
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(missing_docs)] // each field is the key of the same name above
pub struct DaemonStatus {
    pub version: Option<String>,
    pub state: Option<String>,
    pub state_reason: Option<String>,
    pub uptime_seconds: Option<u64>,
    pub model_id: Option<String>,
    pub model_name: Option<String>,
    pub model_architecture: Option<String>,
    pub model_parameters: Option<u64>,
    pub model_size_bytes: Option<u64>,
    pub model_load_seconds: Option<f64>,
    pub n_ctx: Option<u32>,
    pub n_ctx_train: Option<u32>,
    pub backend: Option<String>,
    pub mode: Option<String>,
    pub mode_explain: Option<Vec<String>>,
    pub active_requests: Option<u32>,
    pub queue_length: Option<u32>,
    pub max_question_bytes: Option<u32>,
    pub requests_by_category: Option<HashMap<String, u64>>,
    pub template_version: Option<String>,
    pub template_tokens: Option<Vec<u32>>,
    pub requests_completed: Option<u64>,
    pub requests_failed: Option<u64>,
    pub tokens_generated: Option<u64>,
    pub prompt_tokens_computed: Option<u64>,
    pub prompt_tokens_reused: Option<u64>,
    pub recent_tokens_per_second: Option<f64>,
    pub preemptions: Option<u64>,
    pub kv_cells_used: Option<u32>,
    pub kv_cells_total: Option<u32>,
    pub plan: Option<String>,
    pub cache: Option<String>,
    pub cache_entries: Option<u64>,
    pub cache_exact_hits: Option<u64>,
    pub cache_semantic_hits: Option<u64>,
    pub cache_misses: Option<u64>,
}

/// All keys [`DaemonStatus`] knows, in display order.
pub const KNOWN_KEYS: [&str; 36] = [
    VERSION,
    STATE,
    STATE_REASON,
    UPTIME_SECONDS,
    MODEL_ID,
    MODEL_NAME,
    MODEL_ARCHITECTURE,
    MODEL_PARAMETERS,
    MODEL_SIZE_BYTES,
    MODEL_LOAD_SECONDS,
    N_CTX,
    N_CTX_TRAIN,
    BACKEND,
    MODE,
    MODE_EXPLAIN,
    ACTIVE_REQUESTS,
    QUEUE_LENGTH,
    MAX_QUESTION_BYTES,
    REQUESTS_BY_CATEGORY,
    TEMPLATE_VERSION,
    TEMPLATE_TOKENS,
    REQUESTS_COMPLETED,
    REQUESTS_FAILED,
    TOKENS_GENERATED,
    PROMPT_TOKENS_COMPUTED,
    PROMPT_TOKENS_REUSED,
    RECENT_TOKENS_PER_SECOND,
    PREEMPTIONS,
    KV_CELLS_USED,
    KV_CELLS_TOTAL,
    PLAN,
    CACHE,
    CACHE_ENTRIES,
    CACHE_EXACT_HITS,
    CACHE_SEMANTIC_HITS,
    CACHE_MISSES,
];

impl DaemonStatus {
    /// The wire form; `None` fields are left out.
    pub fn to_dict(&self) -> Dict {
        let mut d = Dict::new();
        for (k, v) in [
            (VERSION, &self.version),
            (STATE, &self.state),
            (STATE_REASON, &self.state_reason),
            (MODEL_ID, &self.model_id),
            (MODEL_NAME, &self.model_name),
            (MODEL_ARCHITECTURE, &self.model_architecture),
            (BACKEND, &self.backend),
            (MODE, &self.mode),
            (TEMPLATE_VERSION, &self.template_version),
            (PLAN, &self.plan),
            (CACHE, &self.cache),
        ] {
            if let Some(v) = v {
                put_str(&mut d, k, v.clone());
            }
        }
        for (k, v) in [
            (UPTIME_SECONDS, self.uptime_seconds),
            (MODEL_PARAMETERS, self.model_parameters),
            (MODEL_SIZE_BYTES, self.model_size_bytes),
            (REQUESTS_COMPLETED, self.requests_completed),
            (REQUESTS_FAILED, self.requests_failed),
            (TOKENS_GENERATED, self.tokens_generated),
            (PROMPT_TOKENS_COMPUTED, self.prompt_tokens_computed),
            (PROMPT_TOKENS_REUSED, self.prompt_tokens_reused),
            (PREEMPTIONS, self.preemptions),
            (CACHE_ENTRIES, self.cache_entries),
            (CACHE_EXACT_HITS, self.cache_exact_hits),
            (CACHE_SEMANTIC_HITS, self.cache_semantic_hits),
            (CACHE_MISSES, self.cache_misses),
        ] {
            if let Some(v) = v {
                put(&mut d, k, v);
            }
        }
        for (k, v) in [
            (N_CTX, self.n_ctx),
            (N_CTX_TRAIN, self.n_ctx_train),
            (ACTIVE_REQUESTS, self.active_requests),
            (QUEUE_LENGTH, self.queue_length),
            (MAX_QUESTION_BYTES, self.max_question_bytes),
            (KV_CELLS_USED, self.kv_cells_used),
            (KV_CELLS_TOTAL, self.kv_cells_total),
        ] {
            if let Some(v) = v {
                put(&mut d, k, v);
            }
        }
        for (k, v) in [
            (MODEL_LOAD_SECONDS, self.model_load_seconds),
            (RECENT_TOKENS_PER_SECOND, self.recent_tokens_per_second),
        ] {
            if let Some(v) = v {
                put(&mut d, k, v);
            }
        }
        if let Some(m) = &self.requests_by_category {
            put(&mut d, REQUESTS_BY_CATEGORY, m.clone());
        }
        if let Some(t) = &self.template_tokens {
            put(&mut d, TEMPLATE_TOKENS, t.clone());
        }
        if let Some(m) = &self.mode_explain {
            put(&mut d, MODE_EXPLAIN, m.clone());
        }
        d
    }

    /// Read leniently: unknown keys and keys of an unexpected type are ignored.
    pub fn from_dict(d: &Dict) -> Self {
        Self {
            version: get_str(d, VERSION),
            state: get_str(d, STATE),
            state_reason: get_str(d, STATE_REASON),
            uptime_seconds: get(d, UPTIME_SECONDS),
            model_id: get_str(d, MODEL_ID),
            model_name: get_str(d, MODEL_NAME),
            model_architecture: get_str(d, MODEL_ARCHITECTURE),
            model_parameters: get(d, MODEL_PARAMETERS),
            model_size_bytes: get(d, MODEL_SIZE_BYTES),
            model_load_seconds: get(d, MODEL_LOAD_SECONDS),
            n_ctx: get(d, N_CTX),
            n_ctx_train: get(d, N_CTX_TRAIN),
            backend: get_str(d, BACKEND),
            mode: get_str(d, MODE),
            mode_explain: get(d, MODE_EXPLAIN),
            active_requests: get(d, ACTIVE_REQUESTS),
            queue_length: get(d, QUEUE_LENGTH),
            max_question_bytes: get(d, MAX_QUESTION_BYTES),
            requests_by_category: get(d, REQUESTS_BY_CATEGORY),
            template_version: get_str(d, TEMPLATE_VERSION),
            template_tokens: get(d, TEMPLATE_TOKENS),
            requests_completed: get(d, REQUESTS_COMPLETED),
            requests_failed: get(d, REQUESTS_FAILED),
            tokens_generated: get(d, TOKENS_GENERATED),
            prompt_tokens_computed: get(d, PROMPT_TOKENS_COMPUTED),
            prompt_tokens_reused: get(d, PROMPT_TOKENS_REUSED),
            recent_tokens_per_second: get(d, RECENT_TOKENS_PER_SECOND),
            preemptions: get(d, PREEMPTIONS),
            kv_cells_used: get(d, KV_CELLS_USED),
            kv_cells_total: get(d, KV_CELLS_TOTAL),
            plan: get_str(d, PLAN),
            cache: get_str(d, CACHE),
            cache_entries: get(d, CACHE_ENTRIES),
            cache_exact_hits: get(d, CACHE_EXACT_HITS),
            cache_semantic_hits: get(d, CACHE_SEMANTIC_HITS),
            cache_misses: get(d, CACHE_MISSES),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_containers() {
        let s = DaemonStatus {
            version: Some("0.1.0".into()),
            state: Some("ready".into()),
            uptime_seconds: Some(12),
            n_ctx: Some(4096),
            model_load_seconds: Some(1.5),
            requests_by_category: Some(HashMap::from([("emergency".to_string(), 3u64)])),
            template_tokens: Some(vec![60, 61, 62, 63, 64]),
            ..Default::default()
        };
        let d = s.to_dict();
        assert_eq!(d.len(), 7);
        assert_eq!(DaemonStatus::from_dict(&d), s);
    }
}
