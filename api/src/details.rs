//! How an answer was produced: the `a{sv}` returned by `Ask` and carried by `Finished`.
//!
//! The daemon fills an [`AnswerDetails`] and sends [`AnswerDetails::to_dict`]; clients read it
//! back with [`AnswerDetails::from_dict`], which ignores keys it does not know (newer daemons may
//! add some). Nothing here ever carries another caller's text.

use crate::dict::{Dict, get, get_str, put, put_str};

/// `s`: the category whose template answered (`medication`, `diagnosis`, …).
pub const CATEGORY: &str = "category";
/// `b`: true when the client forced the category with the `category` option.
pub const CATEGORY_OVERRIDDEN: &str = "category_overridden";
/// `u`: tokens of the whole prompt (template + question + chat markup).
pub const PROMPT_TOKENS: &str = "prompt_tokens";
/// `u`: tokens generated (answer and any reasoning).
pub const COMPLETION_TOKENS: &str = "completion_tokens";
/// `u`: prompt tokens served from the category template's KV cache instead of computed.
pub const REUSED_PREFIX_TOKENS: &str = "reused_prefix_tokens";
/// `d`: milliseconds from submission to the first generated token (0 for cache hits).
pub const TIME_TO_FIRST_TOKEN_MS: &str = "time_to_first_token_ms";
/// `d`: milliseconds from submission to the end.
pub const TOTAL_TIME_MS: &str = "total_time_ms";
/// `d`: decode speed of this request.
pub const TOKENS_PER_SECOND: &str = "tokens_per_second";
/// `s`: `miss`, `exact`, `semantic` or `bypass`.
pub const CACHE: &str = "cache";
/// `d`: embedding cosine of a semantic cache hit (only with `cache` = `semantic`).
pub const CACHE_SIMILARITY: &str = "cache_similarity";
/// `s`: the earlier question whose answer a semantic cache hit served (only with `cache` =
/// `semantic`), so the user can judge the match. Questions that look like they carry patient
/// identifiers are never cached, so this text never holds any.
pub const CACHED_QUESTION: &str = "cached_question";
/// `s`: the model that answered: `<name>@<12 hex digits of the file's sha256>`.
pub const MODEL_ID: &str = "model_id";
/// `s`: `eos`, `length`, `stop`, `cached`, `cancelled` or `error`.
pub const FINISH_REASON: &str = "finish_reason";
/// `s`: a reasoning model's thinking (only with the `include_reasoning` option).
pub const REASONING: &str = "reasoning";
/// `s`: why the request failed (only in `Finished` when `status` is not `ok`).
pub const ERROR: &str = "error";

/// The `status` argument of `Finished` for a successful request; otherwise it is the full error
/// name, e.g. `org.medllm.Daemon1.Error.Cancelled`.
pub const STATUS_OK: &str = "ok";

/// Typed answer details; every field is optional on the reading side.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnswerDetails {
    /// See [`CATEGORY`].
    pub category: Option<String>,
    /// See [`CATEGORY_OVERRIDDEN`].
    pub category_overridden: Option<bool>,
    /// See [`PROMPT_TOKENS`].
    pub prompt_tokens: Option<u32>,
    /// See [`COMPLETION_TOKENS`].
    pub completion_tokens: Option<u32>,
    /// See [`REUSED_PREFIX_TOKENS`].
    pub reused_prefix_tokens: Option<u32>,
    /// See [`TIME_TO_FIRST_TOKEN_MS`].
    pub time_to_first_token_ms: Option<f64>,
    /// See [`TOTAL_TIME_MS`].
    pub total_time_ms: Option<f64>,
    /// See [`TOKENS_PER_SECOND`].
    pub tokens_per_second: Option<f64>,
    /// See [`CACHE`].
    pub cache: Option<String>,
    /// See [`CACHE_SIMILARITY`].
    pub cache_similarity: Option<f64>,
    /// See [`CACHED_QUESTION`].
    pub cached_question: Option<String>,
    /// See [`MODEL_ID`].
    pub model_id: Option<String>,
    /// See [`FINISH_REASON`].
    pub finish_reason: Option<String>,
    /// See [`REASONING`].
    pub reasoning: Option<String>,
    /// See [`ERROR`].
    pub error: Option<String>,
}

impl AnswerDetails {
    /// The wire form; `None` fields are left out.
    pub fn to_dict(&self) -> Dict {
        let mut d = Dict::new();
        let strs = [
            (CATEGORY, &self.category),
            (CACHE, &self.cache),
            (CACHED_QUESTION, &self.cached_question),
            (MODEL_ID, &self.model_id),
            (FINISH_REASON, &self.finish_reason),
            (REASONING, &self.reasoning),
            (ERROR, &self.error),
        ];
        for (k, v) in strs {
            if let Some(v) = v {
                put_str(&mut d, k, v.clone());
            }
        }
        let u32s = [
            (PROMPT_TOKENS, self.prompt_tokens),
            (COMPLETION_TOKENS, self.completion_tokens),
            (REUSED_PREFIX_TOKENS, self.reused_prefix_tokens),
        ];
        for (k, v) in u32s {
            if let Some(v) = v {
                put(&mut d, k, v);
            }
        }
        let f64s = [
            (TIME_TO_FIRST_TOKEN_MS, self.time_to_first_token_ms),
            (TOTAL_TIME_MS, self.total_time_ms),
            (TOKENS_PER_SECOND, self.tokens_per_second),
            (CACHE_SIMILARITY, self.cache_similarity),
        ];
        for (k, v) in f64s {
            if let Some(v) = v {
                put(&mut d, k, v);
            }
        }
        if let Some(b) = self.category_overridden {
            put(&mut d, CATEGORY_OVERRIDDEN, b);
        }
        d
    }

    /// Read leniently: unknown keys and keys of an unexpected type are ignored.
    pub fn from_dict(d: &Dict) -> Self {
        Self {
            category: get_str(d, CATEGORY),
            category_overridden: get(d, CATEGORY_OVERRIDDEN),
            prompt_tokens: get(d, PROMPT_TOKENS),
            completion_tokens: get(d, COMPLETION_TOKENS),
            reused_prefix_tokens: get(d, REUSED_PREFIX_TOKENS),
            time_to_first_token_ms: get(d, TIME_TO_FIRST_TOKEN_MS),
            total_time_ms: get(d, TOTAL_TIME_MS),
            tokens_per_second: get(d, TOKENS_PER_SECOND),
            cache: get_str(d, CACHE),
            cache_similarity: get(d, CACHE_SIMILARITY),
            cached_question: get_str(d, CACHED_QUESTION),
            model_id: get_str(d, MODEL_ID),
            finish_reason: get_str(d, FINISH_REASON),
            reasoning: get_str(d, REASONING),
            error: get_str(d, ERROR),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_leniency() {
        let a = AnswerDetails {
            category: Some("emergency".into()),
            category_overridden: Some(false),
            prompt_tokens: Some(80),
            completion_tokens: Some(12),
            reused_prefix_tokens: Some(60),
            time_to_first_token_ms: Some(41.5),
            total_time_ms: Some(300.0),
            tokens_per_second: Some(40.0),
            cache: Some("miss".into()),
            cache_similarity: None,
            model_id: Some("m@0123456789ab".into()),
            finish_reason: Some("eos".into()),
            reasoning: None,
            error: None,
            cached_question: None,
        };
        let mut d = a.to_dict();
        assert_eq!(d.len(), 11);
        // A newer daemon's extra key and a key with an unexpected type are ignored.
        put(&mut d, "future_key", 1u8);
        put(&mut d, PROMPT_TOKENS, "eighty");
        let back = AnswerDetails::from_dict(&d);
        assert_eq!(back.prompt_tokens, None);
        assert_eq!(
            AnswerDetails {
                prompt_tokens: Some(80),
                ..back
            },
            a
        );
    }
}
