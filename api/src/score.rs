//! `Score(question, options, opts)`: answer a multiple-choice question the way the service would
//! answer it, and say how likely each option letter is (the evaluation path of `medctl eval`).
//!
//! The daemon builds the same prompt as for `Ask` (classifier → category template, the model's
//! prompt format) with the options appended as `A. …` lines, or, with `prompt` = `plain`, the
//! same format without any medical system prompt (the ablation). [`ScoreOptions`] is parsed
//! strictly like [`crate::AskOptions`]; [`ScoreResult`] is read leniently.

use std::collections::HashMap;

use zbus::zvariant::Value;

use crate::Error;
use crate::dict::{Dict, get, get_str, put, put_str, take_strict};

/// Option `s`: `medical` (default: classifier and category template) or `plain` (no system prompt).
pub const OPT_PROMPT: &str = "prompt";
/// Option `s`: `loglik` (default: likelihood of each option letter) or `generate` (greedy
/// answer, letter parsed from it).
pub const OPT_METHOD: &str = "method";
/// Option `s`: force a category (medical prompt only).
pub const OPT_CATEGORY: &str = "category";
/// Option `s`: a passage the question is about (PubMedQA's abstract), put before the question.
pub const OPT_CONTEXT: &str = "context";
/// Option `u`: tokens the `generate` method may produce (default 16).
pub const OPT_MAX_TOKENS: &str = "max_tokens";

/// Every option key with its D-Bus type, in documentation order.
pub const OPTIONS: [(&str, &str); 5] = [
    (OPT_PROMPT, "s"),
    (OPT_METHOD, "s"),
    (OPT_CATEGORY, "s"),
    (OPT_CONTEXT, "s"),
    (OPT_MAX_TOKENS, "u"),
];

/// Values of the `prompt` option.
pub const PROMPTS: [&str; 2] = ["medical", "plain"];
/// Values of the `method` option.
pub const METHODS: [&str; 2] = ["loglik", "generate"];

/// Reply `s`: the option letter the model chose (`""` when a generated answer names none).
pub const CHOICE: &str = "choice";
/// Reply `as`: the option letters, in order.
pub const LETTERS: &str = "letters";
/// Reply `a{sd}`: natural-log probability that the answer starts with each letter.
pub const LOGLIK: &str = "loglik";
/// Reply `as`: the continuations whose first-token probabilities make up each letter's
/// likelihood (e.g. `" A"` and `"A"`).
pub const CANDIDATES: &str = "candidates";
/// Reply `s`: the category whose template was used (`""` with the plain prompt).
pub const CATEGORY: &str = "category";
/// Reply `s`: what the classifier chose on its own.
pub const CLASSIFIED_CATEGORY: &str = "classified_category";
/// Reply `s`: `medical` or `plain`.
pub const PROMPT: &str = "prompt";
/// Reply `s`: `loglik` or `generate`.
pub const METHOD: &str = "method";
/// Reply `s`: the question text as sent to the model (question, options, context).
pub const QUESTION_TEXT: &str = "question_text";
/// Reply `u`: tokens of the whole prompt.
pub const PROMPT_TOKENS: &str = "prompt_tokens";
/// Reply `u`: prompt tokens served from the template's KV cache.
pub const REUSED_PREFIX_TOKENS: &str = "reused_prefix_tokens";
/// Reply `s`: the generated answer (`generate` method only).
pub const GENERATED: &str = "generated";
/// Reply `d`: milliseconds from submission to the reply.
pub const TOTAL_TIME_MS: &str = "total_time_ms";
/// Reply `s`: the model, as the `ModelId` property.
pub const MODEL_ID: &str = "model_id";
/// Reply `s`: hash of the category templates in use.
pub const TEMPLATE_VERSION: &str = "template_version";

/// Options of `Score`; `None` means the default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreOptions {
    /// `medical` or `plain`.
    pub prompt: Option<String>,
    /// `loglik` or `generate`.
    pub method: Option<String>,
    /// Category override.
    pub category: Option<String>,
    /// Passage put before the question.
    pub context: Option<String>,
    /// Token cap of the `generate` method.
    pub max_tokens: Option<u32>,
}

impl ScoreOptions {
    /// The wire form; unset keys are left out.
    pub fn to_dict(&self) -> Dict {
        let mut d = Dict::new();
        for (k, v) in [
            (OPT_PROMPT, &self.prompt),
            (OPT_METHOD, &self.method),
            (OPT_CATEGORY, &self.category),
            (OPT_CONTEXT, &self.context),
        ] {
            if let Some(v) = v {
                put_str(&mut d, k, v.clone());
            }
        }
        if let Some(n) = self.max_tokens {
            put(&mut d, OPT_MAX_TOKENS, n);
        }
        d
    }

    /// Parse strictly: unknown keys, wrong types and unknown `prompt`/`method` values are
    /// `InvalidArgument` naming the key (checked in sorted key order, so errors are stable).
    pub fn from_owned(d: &Dict) -> Result<Self, Error> {
        let mut entries: Vec<(&str, &Value<'_>)> =
            d.iter().map(|(k, v)| (k.as_str(), &**v)).collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut o = ScoreOptions::default();
        for (key, v) in entries {
            match key {
                OPT_PROMPT => {
                    o.prompt = Some(one_of(key, take_strict(key, v, "s", "string")?, &PROMPTS)?)
                }
                OPT_METHOD => {
                    o.method = Some(one_of(key, take_strict(key, v, "s", "string")?, &METHODS)?)
                }
                OPT_CATEGORY => {
                    let s: &str = take_strict(key, v, "s", "string")?;
                    o.category = Some(s.to_string());
                }
                OPT_CONTEXT => {
                    let s: &str = take_strict(key, v, "s", "string")?;
                    o.context = Some(s.to_string());
                }
                OPT_MAX_TOKENS => {
                    let n: u32 = take_strict(key, v, "u", "uint32")?;
                    if n == 0 {
                        return Err(Error::InvalidArgument(
                            "option 'max_tokens' must be at least 1".into(),
                        ));
                    }
                    o.max_tokens = Some(n);
                }
                other => {
                    let known: Vec<&str> = OPTIONS.iter().map(|(k, _)| *k).collect();
                    return Err(Error::InvalidArgument(format!(
                        "unknown option '{}' (known: {})",
                        other.escape_debug(),
                        known.join(", ")
                    )));
                }
            }
        }
        Ok(o)
    }
}

fn one_of(key: &str, value: &str, valid: &[&str]) -> Result<String, Error> {
    if valid.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(Error::InvalidArgument(format!(
            "option '{key}' must be one of {}, got '{}'",
            valid.join(", "),
            value.escape_debug()
        )))
    }
}

/// Typed view of the `Score` reply; every field is optional on the reading side.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(missing_docs)] // each field is the key of the same name above
pub struct ScoreResult {
    pub choice: Option<String>,
    pub letters: Option<Vec<String>>,
    pub loglik: Option<HashMap<String, f64>>,
    pub candidates: Option<Vec<String>>,
    pub category: Option<String>,
    pub classified_category: Option<String>,
    pub prompt: Option<String>,
    pub method: Option<String>,
    pub question_text: Option<String>,
    pub prompt_tokens: Option<u32>,
    pub reused_prefix_tokens: Option<u32>,
    pub generated: Option<String>,
    pub total_time_ms: Option<f64>,
    pub model_id: Option<String>,
    pub template_version: Option<String>,
}

impl ScoreResult {
    /// The wire form; `None` fields are left out.
    pub fn to_dict(&self) -> Dict {
        let mut d = Dict::new();
        for (k, v) in [
            (CHOICE, &self.choice),
            (CATEGORY, &self.category),
            (CLASSIFIED_CATEGORY, &self.classified_category),
            (PROMPT, &self.prompt),
            (METHOD, &self.method),
            (QUESTION_TEXT, &self.question_text),
            (GENERATED, &self.generated),
            (MODEL_ID, &self.model_id),
            (TEMPLATE_VERSION, &self.template_version),
        ] {
            if let Some(v) = v {
                put_str(&mut d, k, v.clone());
            }
        }
        if let Some(v) = &self.letters {
            put(&mut d, LETTERS, v.clone());
        }
        if let Some(v) = &self.candidates {
            put(&mut d, CANDIDATES, v.clone());
        }
        if let Some(v) = &self.loglik {
            put(&mut d, LOGLIK, v.clone());
        }
        if let Some(v) = self.prompt_tokens {
            put(&mut d, PROMPT_TOKENS, v);
        }
        if let Some(v) = self.reused_prefix_tokens {
            put(&mut d, REUSED_PREFIX_TOKENS, v);
        }
        if let Some(v) = self.total_time_ms {
            put(&mut d, TOTAL_TIME_MS, v);
        }
        d
    }

    /// Read leniently (unknown keys and keys of another type are skipped).
    pub fn from_dict(d: &Dict) -> Self {
        Self {
            choice: get_str(d, CHOICE),
            letters: get(d, LETTERS),
            loglik: get(d, LOGLIK),
            candidates: get(d, CANDIDATES),
            category: get_str(d, CATEGORY),
            classified_category: get_str(d, CLASSIFIED_CATEGORY),
            prompt: get_str(d, PROMPT),
            method: get_str(d, METHOD),
            question_text: get_str(d, QUESTION_TEXT),
            prompt_tokens: get(d, PROMPT_TOKENS),
            reused_prefix_tokens: get(d, REUSED_PREFIX_TOKENS),
            generated: get_str(d, GENERATED),
            total_time_ms: get(d, TOTAL_TIME_MS),
            model_id: get_str(d, MODEL_ID),
            template_version: get_str(d, TEMPLATE_VERSION),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use zbus::zvariant::OwnedValue;

    #[test]
    fn options_round_trip_and_reject_bad_values() {
        let o = ScoreOptions {
            prompt: Some("plain".into()),
            method: Some("generate".into()),
            category: Some("diagnosis".into()),
            context: Some("An abstract.".into()),
            max_tokens: Some(8),
        };
        assert_eq!(ScoreOptions::from_owned(&o.to_dict()).unwrap(), o);
        let mut d = Dict::new();
        put_str(&mut d, OPT_PROMPT, "fancy");
        let e = ScoreOptions::from_owned(&d).unwrap_err();
        assert!(
            matches!(e, Error::InvalidArgument(ref m) if m.contains("'prompt'") && m.contains("plain")),
            "{e}"
        );
        let mut d = Dict::new();
        d.insert("temperature".into(), OwnedValue::from(0.0f64));
        assert!(
            matches!(ScoreOptions::from_owned(&d), Err(Error::InvalidArgument(m)) if m.contains("temperature"))
        );
        let mut d = Dict::new();
        put(&mut d, OPT_MAX_TOKENS, 0u32);
        assert!(ScoreOptions::from_owned(&d).is_err());
    }

    #[test]
    fn result_round_trips() {
        let r = ScoreResult {
            choice: Some("B".into()),
            letters: Some(vec!["A".into(), "B".into()]),
            loglik: Some(HashMap::from([("A".into(), -2.5), ("B".into(), -0.5)])),
            candidates: Some(vec![" A".into(), "A".into(), " B".into(), "B".into()]),
            category: Some("diagnosis".into()),
            classified_category: Some("diagnosis".into()),
            prompt: Some("medical".into()),
            method: Some("loglik".into()),
            question_text: Some("Q?\nA. x\nB. y".into()),
            prompt_tokens: Some(80),
            reused_prefix_tokens: Some(60),
            generated: None,
            total_time_ms: Some(12.5),
            model_id: Some("m@0123".into()),
            template_version: Some("v1".into()),
        };
        assert_eq!(ScoreResult::from_dict(&r.to_dict()), r);
    }
}
