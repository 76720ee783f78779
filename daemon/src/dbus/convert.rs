//! Translation between the service's types and the wire types of `medllm-api`.
//!
//! The only place where service errors become D-Bus error names and where details, status and
//! classifications become `a{sv}`. Pure functions: no bus, no state.

use std::collections::HashMap;

use medllm_api::{AnswerDetails, ClassifyResult, DaemonStatus, Error};
use medllm_classify::{Classification, Decision, Templates};

use crate::engine::EngineStats;
use crate::service::{AskOptions, Details, ServiceError, StatusSnapshot};

/// A service error as the D-Bus error of the same name.
pub(crate) fn error(e: &ServiceError) -> Error {
    Error::from_name(e.name(), e.to_string()).unwrap_or_else(|| Error::Internal(e.to_string()))
}

/// Wire options → service options (`handle_token` is the transport's business and stays here).
pub(crate) fn options(o: &medllm_api::AskOptions) -> AskOptions {
    AskOptions {
        max_tokens: o.max_tokens,
        // f64 on the wire, f32 in the sampler; ranges are checked by the service.
        temperature: o.temperature.map(|t| t as f32),
        top_p: o.top_p.map(|p| p as f32),
        seed: o.seed,
        category: o.category.clone(),
        no_cache: o.no_cache,
        include_reasoning: o.include_reasoning,
    }
}

/// Answer details for `Ask`'s reply and `Finished`'s stats.
pub(crate) fn details(d: &Details, error: Option<&ServiceError>) -> AnswerDetails {
    let (similarity, cached_question) = match &d.cache {
        crate::service::CacheOutcome::Semantic {
            cosine,
            matched_question,
        } => (Some(f64::from(*cosine)), Some(matched_question.clone())),
        _ => (None, None),
    };
    AnswerDetails {
        category: Some(d.category.clone()),
        category_overridden: Some(d.category_overridden),
        prompt_tokens: Some(d.prompt_tokens),
        completion_tokens: Some(d.completion_tokens),
        reused_prefix_tokens: Some(d.reused_prefix_tokens),
        time_to_first_token_ms: Some(d.time_to_first_token.as_secs_f64() * 1000.0),
        total_time_ms: Some(d.total_time.as_secs_f64() * 1000.0),
        tokens_per_second: Some(d.tokens_per_second),
        cache: Some(d.cache.as_str().to_string()),
        // The matched question is another caller's text, but questions that look like they
        // carry patient identifiers are never cached, and the user needs it to judge the match.
        cache_similarity: similarity,
        cached_question,
        model_id: Some(d.model_id.clone()),
        finish_reason: Some(d.finish_reason.clone()),
        reasoning: d.reasoning.clone(),
        error: error.map(ToString::to_string),
    }
}

/// What `Status()` returns.
pub(crate) fn status(
    s: &StatusSnapshot,
    templates: &Templates,
    stats: Option<&EngineStats>,
    max_question_bytes: usize,
) -> DaemonStatus {
    let model = s.model.as_ref();
    let reason = match &s.state {
        crate::service::ServiceState::Degraded(r) | crate::service::ServiceState::Failed(r) => {
            Some(r.clone())
        }
        _ => None,
    };
    let by_category: HashMap<String, u64> = s
        .per_category
        .iter()
        .map(|(c, n)| (c.as_str().to_string(), *n))
        .collect();
    DaemonStatus {
        version: Some(env!("CARGO_PKG_VERSION").to_string()),
        state: Some(s.state.as_str().to_string()),
        state_reason: reason,
        uptime_seconds: Some(s.uptime.as_secs()),
        model_id: model.map(|m| m.id.clone()),
        model_name: model.map(|m| m.info.model.name.clone()),
        model_architecture: model.map(|m| m.info.model.architecture.clone()),
        model_parameters: model.map(|m| m.info.model.n_params),
        model_size_bytes: model.map(|m| m.info.model.size_bytes),
        model_load_seconds: model.map(|m| m.info.model.load_seconds),
        n_ctx: model.map(|m| m.info.n_ctx),
        n_ctx_train: model.map(|m| m.info.model.n_ctx_train),
        backend: model.map(|m| m.backend.clone()),
        mode: model.map(|m| m.mode.clone()),
        mode_explain: model.map(|m| m.mode_explain.clone()),
        active_requests: Some(clamp_u32(s.active)),
        queue_length: Some(clamp_u32(s.queued)),
        max_question_bytes: Some(clamp_u32(max_question_bytes)),
        requests_by_category: Some(by_category),
        template_version: Some(templates.template_version().to_string()),
        // The category templates only (the engine also holds the plain prompt of `Score`).
        template_tokens: model.map(|m| {
            m.info
                .template_tokens
                .iter()
                .take(medllm_classify::Category::ALL.len())
                .map(|&n| clamp_u32(n))
                .collect()
        }),
        requests_completed: stats.map(|x| x.completed),
        requests_failed: stats.map(|x| x.failed),
        tokens_generated: stats.map(|x| x.tokens_generated),
        prompt_tokens_computed: stats.map(|x| x.prompt_tokens_computed),
        prompt_tokens_reused: stats.map(|x| x.prompt_tokens_reused),
        recent_tokens_per_second: stats.map(|x| x.recent_tokens_per_s),
        preemptions: stats.map(|x| x.preemptions),
        kv_cells_used: stats.map(|x| x.kv_cells_used),
        kv_cells_total: stats.map(|x| x.kv_cells_total),
        ..DaemonStatus::default()
    }
}

/// What `Classify()` returns.
pub(crate) fn classification(c: &Classification, templates: &Templates) -> ClassifyResult {
    let (decision, classified) = match &c.decision {
        Decision::TopScore => ("top_score", c.category),
        Decision::Tie { .. } => ("tie", c.category),
        Decision::EmergencyBias { .. } => ("emergency_bias", c.category),
        Decision::NoSignal => ("no_signal", c.category),
        Decision::Override { classified } => ("override", *classified),
    };
    ClassifyResult {
        category: Some(c.category.as_str().to_string()),
        classified_category: Some(classified.as_str().to_string()),
        overridden: Some(c.is_overridden()),
        confidence: Some(c.confidence),
        decision: Some(decision.to_string()),
        scores: Some(
            c.scores
                .iter()
                .map(|(cat, s)| (cat.as_str().to_string(), s))
                .collect(),
        ),
        reason: Some(c.reason.clone()),
        matched_terms: Some(
            c.matched
                .iter()
                .map(|m| {
                    (
                        m.category.as_str().to_string(),
                        m.term.clone(),
                        m.weight,
                        clamp_u32(m.position),
                        m.negated_by.clone().unwrap_or_default(),
                    )
                })
                .collect(),
        ),
        system_prompt: Some(templates.system_prompt(c.category)),
        rendered_prompt: None,
        template_version: Some(templates.template_version().to_string()),
    }
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn every_service_error_keeps_its_name_on_the_wire() {
        let all = [
            ServiceError::NotReady("x".into()),
            ServiceError::Busy("x".into()),
            ServiceError::QuestionTooLarge { size: 9, limit: 8 },
            ServiceError::PromptTooLong("x".into()),
            ServiceError::InvalidArgument("x".into()),
            ServiceError::Cancelled,
            ServiceError::NotAuthorized("x".into()),
            ServiceError::Internal("x".into()),
        ];
        for e in all {
            let wire = error(&e);
            assert_eq!(wire.short_name(), Some(e.name()));
            assert_eq!(wire.message(), e.to_string());
        }
    }
}
