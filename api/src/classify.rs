//! The result of `Classify(question, category)`: why a question lands in a category, and the
//! system prompt it would be answered with (for `medctl classify`).

use std::collections::HashMap;

use crate::dict::{Dict, get, get_str, put, put_str};

/// `s`: the category used (the override when one was given).
pub const CATEGORY: &str = "category";
/// `s`: what the classifier chose on its own.
pub const CLASSIFIED_CATEGORY: &str = "classified_category";
/// `b`: whether the caller's category was used.
pub const OVERRIDDEN: &str = "overridden";
/// `d`: 0..1, how clearly the category won.
pub const CONFIDENCE: &str = "confidence";
/// `s`: which rule decided: `top_score`, `tie`, `emergency_bias`, `no_signal` or `override`.
pub const DECISION: &str = "decision";
/// `a{sd}`: score per category.
pub const SCORES: &str = "scores";
/// `s`: one sentence explaining the decision.
pub const REASON: &str = "reason";
/// `a(ssdus)`: keywords that fired: (category, term, weight, token position, negated by or "").
pub const MATCHED_TERMS: &str = "matched_terms";
/// `s`: the rendered system prompt for the category.
pub const SYSTEM_PROMPT: &str = "system_prompt";
/// `s`: the whole prompt the model would be fed for this question (the system prompt and the
/// question inside the model's chat template or the plain format); absent while no model is
/// loaded.
pub const RENDERED_PROMPT: &str = "rendered_prompt";
/// `s`: hash of the category templates in use.
pub const TEMPLATE_VERSION: &str = "template_version";

/// One matched keyword: (category, term, weight, position, negated_by or "").
pub type MatchedTermWire = (String, String, f64, u32, String);

/// Typed view of `Classify`.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(missing_docs)] // each field is the key of the same name above
pub struct ClassifyResult {
    pub category: Option<String>,
    pub classified_category: Option<String>,
    pub overridden: Option<bool>,
    pub confidence: Option<f64>,
    pub decision: Option<String>,
    pub scores: Option<HashMap<String, f64>>,
    pub reason: Option<String>,
    pub matched_terms: Option<Vec<MatchedTermWire>>,
    pub system_prompt: Option<String>,
    pub rendered_prompt: Option<String>,
    pub template_version: Option<String>,
}

impl ClassifyResult {
    /// The wire form; `None` fields are left out.
    pub fn to_dict(&self) -> Dict {
        let mut d = Dict::new();
        for (k, v) in [
            (CATEGORY, &self.category),
            (CLASSIFIED_CATEGORY, &self.classified_category),
            (DECISION, &self.decision),
            (REASON, &self.reason),
            (SYSTEM_PROMPT, &self.system_prompt),
            (RENDERED_PROMPT, &self.rendered_prompt),
            (TEMPLATE_VERSION, &self.template_version),
        ] {
            if let Some(v) = v {
                put_str(&mut d, k, v.clone());
            }
        }
        if let Some(b) = self.overridden {
            put(&mut d, OVERRIDDEN, b);
        }
        if let Some(c) = self.confidence {
            put(&mut d, CONFIDENCE, c);
        }
        if let Some(s) = &self.scores {
            put(&mut d, SCORES, s.clone());
        }
        if let Some(m) = &self.matched_terms {
            put(&mut d, MATCHED_TERMS, m.clone());
        }
        d
    }

    /// Read leniently.
    pub fn from_dict(d: &Dict) -> Self {
        Self {
            category: get_str(d, CATEGORY),
            classified_category: get_str(d, CLASSIFIED_CATEGORY),
            overridden: get(d, OVERRIDDEN),
            confidence: get(d, CONFIDENCE),
            decision: get_str(d, DECISION),
            scores: get(d, SCORES),
            reason: get_str(d, REASON),
            matched_terms: get(d, MATCHED_TERMS),
            system_prompt: get_str(d, SYSTEM_PROMPT),
            rendered_prompt: get_str(d, RENDERED_PROMPT),
            template_version: get_str(d, TEMPLATE_VERSION),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_structs() {
        let c = ClassifyResult {
            category: Some("medication".into()),
            overridden: Some(false),
            scores: Some(HashMap::from([("medication".to_string(), 2.5)])),
            matched_terms: Some(vec![(
                "medication".into(),
                "dose".into(),
                2.5,
                3,
                String::new(),
            )]),
            rendered_prompt: Some("system\n\nQuestion: q\nAnswer:".into()),
            ..Default::default()
        };
        assert_eq!(ClassifyResult::from_dict(&c.to_dict()), c);
    }
}
