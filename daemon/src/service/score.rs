//! Scoring a multiple-choice question through the production request path (`Score` on D-Bus,
//! `medctl eval`): the same classifier, category templates, prompt format, engine and KV prefix
//! reuse as [`Service::ask`], so an accuracy figure measures what clinics are served.
//!
//! Two prompts: `Medical` (classifier → category template, exactly as `ask`) and `Plain` (the
//! same prompt format with no system prompt; the engine holds it as one extra template sequence,
//! [`PLAIN_TEMPLATE`]) for the "templates vs plain prompt" ablation. Two methods: `Loglik` (the
//! first-token log-probability of each option letter after the prompt, one forward pass) and
//! `Generate` (a short greedy answer, letter parsed from it). Never touches the answer cache:
//! an evaluation must measure the model, and must not fill the cache with exam questions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use medllm_classify::{Category, Decision, ReasoningStyle};

use super::score_text::{candidate, ordered_options, parse_choice, question_text};
use super::types::{Caller, ServiceError};
use super::{InflightSlot, Service, map_engine_error, parse_category};
use crate::engine::{Event, GenerateRequest, SamplingParams};

/// Engine template index of the plain prompt: after the five category templates.
pub const PLAIN_TEMPLATE: usize = Category::ALL.len();

/// The system prompt of the plain prompt: none. The question still goes through the model's
/// prompt format (`Question: …\nAnswer:` for base models), so only the template differs.
pub const PLAIN_SYSTEM_PROMPT: &str = "";

/// Tokens the `Generate` method may produce unless the caller says otherwise: enough for
/// "B. <option text>", the letter is all we read.
pub const DEFAULT_GENERATE_TOKENS: u32 = 16;

/// Which prompt to score under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptStyle {
    /// Classifier and category template, as `Ask` (the default).
    Medical,
    /// No system prompt (ablation).
    Plain,
}

impl PromptStyle {
    /// `medical` or `plain`.
    pub fn as_str(self) -> &'static str {
        match self {
            PromptStyle::Medical => "medical",
            PromptStyle::Plain => "plain",
        }
    }
}

/// How the chosen option is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreMethod {
    /// Most likely option letter right after the prompt.
    Loglik,
    /// Greedy answer; the letter is parsed from it.
    Generate,
}

impl ScoreMethod {
    /// `loglik` or `generate`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScoreMethod::Loglik => "loglik",
            ScoreMethod::Generate => "generate",
        }
    }
}

/// One question to score.
#[derive(Debug, Clone)]
pub struct ScoreRequest {
    /// The question stem.
    pub question: String,
    /// A passage put before the question (PubMedQA's abstract).
    pub context: Option<String>,
    /// Options, letter → text (any order; scored in letter order).
    pub options: Vec<(String, String)>,
    /// Which prompt.
    pub prompt: PromptStyle,
    /// Which method.
    pub method: ScoreMethod,
    /// Category override (medical prompt only).
    pub category: Option<String>,
    /// Token cap of the generate method.
    pub max_tokens: Option<u32>,
}

/// The result of scoring one question.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreOutcome {
    /// The prompt used.
    pub prompt: PromptStyle,
    /// The method used.
    pub method: ScoreMethod,
    /// Option letters in order.
    pub letters: Vec<String>,
    /// Natural-log probability of each letter's continuation (`Loglik` only; empty otherwise).
    pub loglik: Vec<f64>,
    /// The continuation scored for each letter (`" A"` after the plain format's `Answer:`).
    pub candidates: Vec<String>,
    /// The chosen letter; `None` when a generated answer names no option.
    pub choice: Option<String>,
    /// The category whose template was used (`None` with the plain prompt).
    pub category: Option<Category>,
    /// What the classifier chose on its own.
    pub classified: Category,
    /// The question text given to the model.
    pub question_text: String,
    /// Tokens of the whole prompt.
    pub prompt_tokens: u32,
    /// Prompt tokens served from the template's KV cache.
    pub reused_prefix_tokens: u32,
    /// The generated answer (`Generate` only).
    pub generated: Option<String>,
    /// Submission to result.
    pub total_time: Duration,
    /// The model that scored.
    pub model_id: String,
    /// Hash of the category templates.
    pub template_version: String,
}

impl Service {
    /// Score one multiple-choice question (see the module docs). Errors as for
    /// [`Service::ask`]; malformed options are `InvalidArgument`.
    pub async fn score(
        &self,
        req: ScoreRequest,
        caller: &Caller,
    ) -> Result<ScoreOutcome, ServiceError> {
        let submitted = Instant::now();
        let (engine, model, style) = self.serving()?;
        let options = ordered_options(req.options).map_err(ServiceError::InvalidArgument)?;
        if req.question.trim().is_empty() {
            return Err(ServiceError::InvalidArgument(
                "the question is empty".into(),
            ));
        }
        let text = question_text(&req.question, req.context.as_deref(), &options);
        let limit = self.inner.cfg.max_question_bytes;
        if text.len() > limit {
            return Err(ServiceError::QuestionTooLarge {
                size: text.len(),
                limit,
            });
        }
        let requested = parse_category(req.category.as_deref())?;
        if requested.is_some() && req.prompt == PromptStyle::Plain {
            return Err(ServiceError::InvalidArgument(
                "option 'category' applies to the medical prompt only".into(),
            ));
        }
        let classification = self
            .inner
            .classifier
            .classify_with_override(&text, requested);
        let classified = match classification.decision {
            Decision::Override { classified } => classified,
            _ => classification.category,
        };
        let (template, category) = match req.prompt {
            PromptStyle::Medical => (
                classification.category.index(),
                Some(classification.category),
            ),
            PromptStyle::Plain => (PLAIN_TEMPLATE, None),
        };
        if template >= engine.n_templates() {
            return Err(ServiceError::NotReady(
                "the engine was started without the plain prompt template".into(),
            ));
        }
        let chat_format = model.info.model.chat_template.is_some();
        let letters: Vec<String> = options.iter().map(|(l, _)| l.clone()).collect();
        let candidates: Vec<String> = letters.iter().map(|l| candidate(l, chat_format)).collect();
        let sampling = match req.method {
            // One forward pass; no token is generated.
            ScoreMethod::Loglik => SamplingParams {
                max_tokens: 1,
                ..SamplingParams::default()
            },
            ScoreMethod::Generate => self.generate_sampling(category, style, req.max_tokens),
        };
        let priority = category.map_or(0, |c| self.inner.templates.priority(c));
        let _slot = InflightSlot::acquire(Arc::clone(&self.inner), &caller.unique_name)?;
        let mut stream = engine
            .submit(GenerateRequest {
                template,
                question: text.clone(),
                sampling,
                priority,
                score_candidates: (req.method == ScoreMethod::Loglik).then(|| candidates.clone()),
                trace: false,
            })
            .map_err(map_engine_error)?;
        let mut generated = String::new();
        let done = loop {
            match stream.next().await {
                Some(Event::Token(t)) => generated.push_str(&t),
                Some(Event::Done(c)) => break c,
                Some(Event::Error(e)) => return Err(map_engine_error(e)),
                None => {
                    return Err(ServiceError::Internal(
                        "the engine ended the request silently".into(),
                    ));
                }
            }
        };
        let (loglik, choice, generated) = match req.method {
            ScoreMethod::Loglik => {
                let loglik: Vec<f64> = done.scores.iter().map(|&s| f64::from(s)).collect();
                (loglik.clone(), Some(best_letter(&letters, &loglik)?), None)
            }
            ScoreMethod::Generate => (
                Vec::new(),
                parse_choice(&generated, &options),
                Some(generated),
            ),
        };
        Ok(ScoreOutcome {
            prompt: req.prompt,
            method: req.method,
            letters,
            loglik,
            candidates,
            choice,
            category,
            classified,
            question_text: text,
            prompt_tokens: done.usage.prompt_tokens,
            reused_prefix_tokens: done.usage.reused_prompt_tokens,
            generated,
            total_time: submitted.elapsed(),
            model_id: model.id,
            template_version: self.inner.templates.template_version().to_string(),
        })
    }

    /// Engine, model and reasoning style, or `NotReady`.
    fn serving(
        &self,
    ) -> Result<
        (
            crate::engine::EngineHandle,
            super::ModelIdentity,
            ReasoningStyle,
        ),
        ServiceError,
    > {
        let guard = self
            .inner
            .engine
            .read()
            .map_err(|_| ServiceError::Internal("engine lock poisoned".into()))?;
        match (&*guard, self.state()) {
            (Some((h, m, s)), st) if st.accepts_requests() => Ok((h.clone(), m.clone(), *s)),
            (_, st) => Err(ServiceError::NotReady(format!(
                "the service is {}",
                st.as_str()
            ))),
        }
    }

    /// Greedy sampling for the generate method; a reasoning model also gets its category's
    /// thinking budget, so the letter is not cut off by the thinking block.
    fn generate_sampling(
        &self,
        category: Option<Category>,
        style: ReasoningStyle,
        max_tokens: Option<u32>,
    ) -> SamplingParams {
        let answer = max_tokens.unwrap_or(DEFAULT_GENERATE_TOKENS);
        let c = category.unwrap_or(Category::Diagnosis);
        let extra =
            self.inner.templates.token_budget(c, style) - self.inner.templates.params(c).max_tokens;
        SamplingParams {
            temperature: 0.0,
            max_tokens: answer.saturating_add(extra),
            stop: category
                .map(|c| self.inner.templates.params(c).stop.clone())
                .unwrap_or_default(),
            ..SamplingParams::default()
        }
    }
}

/// The letter with the highest log-likelihood (the first on an exact tie). Refuses when every
/// letter scores the same: the tokenizer then split the letters and the first token carries no
/// information (scoring would silently always pick A).
fn best_letter(letters: &[String], loglik: &[f64]) -> Result<String, ServiceError> {
    if loglik.len() != letters.len() || loglik.iter().any(|x| x.is_nan()) {
        return Err(ServiceError::Internal(format!(
            "the engine returned {} scores for {} options",
            loglik.len(),
            letters.len()
        )));
    }
    if loglik.windows(2).all(|w| w[0] == w[1]) {
        return Err(ServiceError::Internal(
            "every option letter scores the same: this model's tokenizer does not keep option letters \
             as single tokens, so log-likelihood scoring cannot tell them apart (use method 'generate')"
                .into(),
        ));
    }
    let mut best = 0;
    for (i, x) in loglik.iter().enumerate() {
        if *x > loglik[best] {
            best = i;
        }
    }
    Ok(letters[best].clone())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn best_letter_picks_the_maximum_and_refuses_uninformative_scores() {
        let l: Vec<String> = ["A", "B", "C"].map(String::from).to_vec();
        assert_eq!(best_letter(&l, &[-3.0, -0.5, -1.0]).unwrap(), "B");
        assert_eq!(best_letter(&l, &[-1.0, -2.0, -1.0]).unwrap(), "A");
        assert!(best_letter(&l, &[-2.0, -2.0, -2.0]).is_err());
        assert!(best_letter(&l, &[-2.0, -1.0]).is_err());
        assert!(best_letter(&l, &[f64::NAN, -1.0, -2.0]).is_err());
    }
}
