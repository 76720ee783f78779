//! The answer cache on the request path.
//!
//! Owns how a request maps to a cache namespace (model, template version, category, generation
//! parameters, determinism) and moves the cache's blocking work — embedding a question takes
//! ~15 ms, sled I/O may wait on the disk — off the async threads. It never logs question or answer
//! text (patient data).

use std::sync::Arc;
use std::time::Instant;

use medllm_cache::{AnswerCache, CacheKey, Determinism, Hit, Tier};
use medllm_classify::{Category, Templates};

use super::stream::empty_details;
use super::types::{CacheOutcome, Outcome};
use crate::engine::SamplingParams;

/// A request's cache namespace, ready for lookup and store.
#[derive(Clone)]
pub(crate) struct CacheContext {
    cache: Arc<AnswerCache>,
    key: CacheKey,
}

impl CacheContext {
    pub fn new(
        cache: Arc<AnswerCache>,
        model_id: &str,
        templates: &Templates,
        category: Category,
        sampling: &SamplingParams,
    ) -> Self {
        let determinism = if sampling.temperature <= 0.0 {
            Determinism::Greedy
        } else if let Some(seed) = sampling.seed {
            Determinism::FixedSeed(u64::from(seed))
        } else {
            Determinism::Sampled
        };
        // Every parameter that changes the answer, in a fixed order.
        let params = format!(
            "max_tokens={};temperature={};top_k={};top_p={};min_p={};repeat_penalty={};\
             repeat_last_n={};stop={:?}",
            sampling.max_tokens,
            sampling.temperature,
            sampling.top_k,
            sampling.top_p,
            sampling.min_p,
            sampling.repeat_penalty,
            sampling.repeat_last_n,
            sampling.stop,
        );
        Self {
            cache,
            key: CacheKey {
                model_hash: model_id.to_string(),
                template_version: templates.template_version().to_string(),
                category: category.as_str().to_string(),
                params,
                determinism,
            },
        }
    }

    /// Look the question up (exact, then guarded semantic). Any failure is a miss.
    pub async fn lookup(&self, question: &str) -> Option<Hit> {
        let cache = Arc::clone(&self.cache);
        let key = self.key.clone();
        let q = question.to_string();
        match tokio::task::spawn_blocking(move || cache.lookup(&key, &q)).await {
            Ok(hit) => hit,
            Err(e) => {
                tracing::warn!(error = %e, "cache lookup task failed; treating as a miss");
                None
            }
        }
    }

    /// Store an answer (off the async threads). Done before the client hears `Finished`, so a
    /// client that asks again at once gets the hit. Refusals (sampling, identifiers, size) are
    /// logged without the text.
    pub async fn store(self, question: String, answer: String) {
        let done =
            tokio::task::spawn_blocking(move || self.cache.store(&self.key, &question, &answer))
                .await;
        match done {
            Ok(Ok(adm)) if adm.is_admitted() => tracing::debug!("answer cached"),
            Ok(Ok(adm)) => tracing::info!(admission = ?adm, "answer not cached"),
            Ok(Err(e)) => tracing::warn!(error = %e, "storing the answer in the cache failed"),
            Err(e) => tracing::warn!(error = %e, "the cache store task failed"),
        }
    }
}

/// The outcome of a request served from the cache.
pub(crate) fn outcome_of(
    hit: Hit,
    model_id: &str,
    category: Category,
    overridden: bool,
    submitted: Instant,
) -> Outcome {
    let mut details = empty_details(model_id, category, overridden, "cached");
    details.cache = match hit.tier {
        Tier::Exact => CacheOutcome::Exact,
        Tier::Semantic => CacheOutcome::Semantic {
            matched_question: hit.matched_question.clone(),
            cosine: hit.cosine.unwrap_or(0.0),
        },
    };
    details.total_time = submitted.elapsed();
    details.time_to_first_token = details.total_time;
    Outcome {
        result: Ok(()),
        answer: hit.answer,
        details,
    }
}
