//! Raw → validated conversion. Every error names the offending key as a dotted path.

use std::collections::HashMap;

use super::raw::{RawCategory, RawConfig, RawParams, RawVersion};
use super::{
    CategoryConfig, CategorySpec, ClassifierSettings, GenerationParams, ReasoningSettings,
    SafetySettings, Term, fingerprint,
};
use crate::category::Category;
use crate::error::{ClassifyError, Result};
use crate::text::tokenize;

/// Largest `max_tokens` we accept; far beyond any answer a small clinic model should write.
const MAX_TOKENS_LIMIT: u32 = 16_384;
/// Largest reasoning allowance.
const EXTRA_TOKENS_LIMIT: u32 = 32_768;
/// Longest phrase, in tokens; longer entries are almost certainly pasted sentences.
const MAX_PHRASE_TOKENS: usize = 8;
/// Largest keyword weight; keeps one keyword from silently dominating everything.
const MAX_WEIGHT: f64 = 100.0;
/// Longest negation window; beyond this a negation word reaches into unrelated text.
const MAX_NEGATION_WINDOW: u32 = 20;

pub(super) fn validate(raw: RawConfig) -> Result<CategoryConfig> {
    let version = match raw.version {
        RawVersion::Text(s) => s.trim().to_owned(),
        RawVersion::Number(n) => n.to_string(),
    };
    if version.is_empty() || version.chars().any(char::is_control) {
        return Err(ClassifyError::invalid(
            "version",
            "must be a non-empty single-line string or an integer",
        ));
    }

    let c = raw.classifier;
    let default_category = parse_category("classifier.default_category", &c.default_category)?;
    non_negative("classifier.min_score", c.min_score)?;
    non_negative("classifier.emergency_min_score", c.emergency_min_score)?;
    if !(c.emergency_ratio > 0.0 && c.emergency_ratio <= 1.0) {
        return Err(ClassifyError::invalid(
            "classifier.emergency_ratio",
            format!("must be in (0, 1], got {}", c.emergency_ratio),
        ));
    }
    let tie_order = tie_order(&c.tie_order)?;
    if c.negation_window > MAX_NEGATION_WINDOW {
        return Err(ClassifyError::invalid(
            "classifier.negation_window",
            format!("must be at most {MAX_NEGATION_WINDOW} tokens"),
        ));
    }
    let classifier = ClassifierSettings {
        default_category,
        min_score: c.min_score,
        emergency_min_score: c.emergency_min_score,
        emergency_ratio: c.emergency_ratio,
        tie_order,
        negation_window: c.negation_window,
    };

    let base_prompt = non_empty("prompts.base", &raw.prompts.base)?;

    let emergency_line = raw.safety.emergency_line.trim().to_owned();
    if emergency_line.contains('\n') {
        return Err(ClassifyError::invalid(
            "safety.emergency_line",
            "must be a single line",
        ));
    }
    if raw.safety.prepend_to_emergency && emergency_line.is_empty() {
        return Err(ClassifyError::invalid(
            "safety.emergency_line",
            "must not be empty while safety.prepend_to_emergency = true",
        ));
    }
    let safety = SafetySettings {
        emergency_line,
        prepend_to_emergency: raw.safety.prepend_to_emergency,
    };

    if raw.reasoning.extra_tokens > EXTRA_TOKENS_LIMIT {
        return Err(ClassifyError::invalid(
            "reasoning.extra_tokens",
            format!("must be at most {EXTRA_TOKENS_LIMIT}"),
        ));
    }
    let reasoning = ReasoningSettings {
        extra_tokens: raw.reasoning.extra_tokens,
    };

    let rc = raw.categories;
    let categories = [
        category(Category::Medication, rc.medication)?,
        category(Category::Diagnosis, rc.diagnosis)?,
        category(Category::Treatment, rc.treatment)?,
        category(Category::Prevention, rc.prevention)?,
        category(Category::Emergency, rc.emergency)?,
    ];
    let emergency_priority = categories[Category::Emergency.index()].params.priority;
    for spec in &categories {
        if spec.category != Category::Emergency && spec.params.priority >= emergency_priority {
            return Err(ClassifyError::invalid(
                format!("categories.{}.params.priority", spec.category),
                format!(
                    "is {} but must be lower than categories.emergency.params.priority ({emergency_priority}): \
                     emergency requests are always admitted first",
                    spec.params.priority
                ),
            ));
        }
    }

    let mut config = CategoryConfig {
        version,
        classifier,
        base_prompt,
        safety,
        reasoning,
        categories,
        template_version: String::new(),
    };
    config.template_version = fingerprint::template_version(&config);
    Ok(config)
}

fn category(category: Category, raw: RawCategory) -> Result<CategorySpec> {
    let key = format!("categories.{category}");
    let suffix = non_empty(&format!("{key}.suffix"), &raw.suffix)?;
    let params = params(&format!("{key}.params"), raw.params)?;
    let mut terms = Vec::new();
    // normalised form → (group index, text as written), to report duplicates by both spellings.
    let mut seen: HashMap<Vec<String>, String> = HashMap::new();
    for (g, group) in raw.terms.into_iter().enumerate() {
        let gkey = format!("{key}.terms[{g}]");
        if !(group.weight.is_finite() && group.weight > 0.0 && group.weight <= MAX_WEIGHT) {
            return Err(ClassifyError::invalid(
                format!("{gkey}.weight"),
                format!("must be > 0 and <= {MAX_WEIGHT}, got {}", group.weight),
            ));
        }
        for word in group.words {
            let stems: Vec<String> = tokenize(&word).into_iter().map(|t| t.stem).collect();
            if stems.is_empty() || stems.len() > MAX_PHRASE_TOKENS {
                return Err(ClassifyError::invalid(
                    format!("{gkey}.words"),
                    format!("entry {word:?} must contain 1 to {MAX_PHRASE_TOKENS} words"),
                ));
            }
            if let Some(previous) = seen.get(&stems) {
                return Err(ClassifyError::invalid(
                    format!("{gkey}.words"),
                    format!(
                        "entry {word:?} duplicates {previous:?} in {key} (both normalise to {:?})",
                        stems.join(" ")
                    ),
                ));
            }
            seen.insert(stems.clone(), word.clone());
            terms.push(Term {
                text: word,
                stems,
                weight: group.weight,
            });
        }
    }
    if terms.is_empty() {
        return Err(ClassifyError::invalid(
            format!("{key}.terms"),
            "needs at least one keyword",
        ));
    }
    Ok(CategorySpec {
        category,
        suffix,
        negatable: raw.negatable,
        params,
        terms,
    })
}

fn params(key: &str, raw: RawParams) -> Result<GenerationParams> {
    if raw.max_tokens == 0 || raw.max_tokens > MAX_TOKENS_LIMIT {
        return Err(ClassifyError::invalid(
            format!("{key}.max_tokens"),
            format!("must be 1..={MAX_TOKENS_LIMIT}, got {}", raw.max_tokens),
        ));
    }
    if !(raw.temperature.is_finite() && (0.0..=2.0).contains(&raw.temperature)) {
        return Err(ClassifyError::invalid(
            format!("{key}.temperature"),
            format!("must be in [0, 2], got {}", raw.temperature),
        ));
    }
    if !(raw.top_p.is_finite() && raw.top_p > 0.0 && raw.top_p <= 1.0) {
        return Err(ClassifyError::invalid(
            format!("{key}.top_p"),
            format!("must be in (0, 1], got {}", raw.top_p),
        ));
    }
    if let Some(i) = raw.stop.iter().position(String::is_empty) {
        return Err(ClassifyError::invalid(
            format!("{key}.stop[{i}]"),
            "stop strings must not be empty",
        ));
    }
    Ok(GenerationParams {
        max_tokens: raw.max_tokens,
        // Narrowing is exact enough: both are checked to be small ranges above.
        temperature: raw.temperature as f32,
        top_p: raw.top_p as f32,
        stop: raw.stop,
        priority: raw.priority,
    })
}

fn tie_order(names: &[String]) -> Result<[Category; 5]> {
    let key = "classifier.tie_order";
    let mut order = Vec::with_capacity(5);
    for name in names {
        let c = parse_category(key, name)?;
        if order.contains(&c) {
            return Err(ClassifyError::invalid(key, format!("lists {c} twice")));
        }
        order.push(c);
    }
    let order: [Category; 5] = order.try_into().map_err(|_| {
        ClassifyError::invalid(key, "must list each of the five categories exactly once")
    })?;
    if order[0] != Category::Emergency {
        return Err(ClassifyError::invalid(
            key,
            "must start with \"emergency\" (safety bias: an emergency tie is always an emergency)",
        ));
    }
    Ok(order)
}

fn parse_category(key: &str, name: &str) -> Result<Category> {
    name.parse()
        .map_err(|_| ClassifyError::invalid(key, format!("unknown category {name:?}")))
}

fn non_negative(key: &str, value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(ClassifyError::invalid(
            key,
            format!("must be a finite number >= 0, got {value}"),
        ))
    }
}

fn non_empty(key: &str, text: &str) -> Result<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        Err(ClassifyError::invalid(key, "must not be empty"))
    } else {
        Ok(trimmed.to_owned())
    }
}
