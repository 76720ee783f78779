//! `Score` on the wire: [`medllm_api::ScoreOptions`] → [`ScoreRequest`], and
//! [`ScoreOutcome`] → [`ScoreResult`]. Translation only; the work is in `service::score`.

use std::collections::HashMap;

use medllm_api::{ScoreOptions, ScoreResult};

use crate::service::{PromptStyle, ScoreMethod, ScoreOutcome, ScoreRequest};

/// The service request for a `Score` call (option values were validated by the api crate).
pub(crate) fn request(
    question: String,
    options: HashMap<String, String>,
    o: ScoreOptions,
) -> ScoreRequest {
    ScoreRequest {
        question,
        context: o.context,
        options: options.into_iter().collect(),
        prompt: match o.prompt.as_deref() {
            Some("plain") => PromptStyle::Plain,
            _ => PromptStyle::Medical,
        },
        method: match o.method.as_deref() {
            Some("generate") => ScoreMethod::Generate,
            _ => ScoreMethod::Loglik,
        },
        category: o.category,
        max_tokens: o.max_tokens,
    }
}

/// The reply of a `Score` call.
pub(crate) fn result(o: &ScoreOutcome) -> ScoreResult {
    let loglik = (!o.loglik.is_empty()).then(|| {
        o.letters
            .iter()
            .cloned()
            .zip(o.loglik.iter().copied())
            .collect()
    });
    ScoreResult {
        choice: Some(o.choice.clone().unwrap_or_default()),
        letters: Some(o.letters.clone()),
        loglik,
        candidates: Some(o.candidates.clone()),
        category: Some(
            o.category
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
        ),
        classified_category: Some(o.classified.as_str().to_string()),
        prompt: Some(o.prompt.as_str().to_string()),
        method: Some(o.method.as_str().to_string()),
        question_text: Some(o.question_text.clone()),
        prompt_tokens: Some(o.prompt_tokens),
        reused_prefix_tokens: Some(o.reused_prefix_tokens),
        generated: o.generated.clone(),
        total_time_ms: Some(o.total_time.as_secs_f64() * 1000.0),
        model_id: Some(o.model_id.clone()),
        template_version: Some(o.template_version.clone()),
    }
}
