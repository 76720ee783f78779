//! The configuration exactly as written in `categories.toml`.
//!
//! These structs only describe the file's shape; every field is checked and converted in
//! [`super::validate`]. `deny_unknown_fields` everywhere: a misspelt key is an error, not a silently
//! ignored setting.

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub version: RawVersion,
    pub classifier: RawClassifier,
    pub prompts: RawPrompts,
    pub safety: RawSafety,
    pub reasoning: RawReasoning,
    pub categories: RawCategories,
}

/// `version = "2025-06"` or `version = 3`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawVersion {
    Text(String),
    Number(i64),
}

/// `[classifier]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClassifier {
    pub default_category: String,
    pub min_score: f64,
    pub emergency_min_score: f64,
    pub emergency_ratio: f64,
    pub tie_order: Vec<String>,
    pub negation_window: u32,
}

/// `[prompts]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrompts {
    pub base: String,
}

/// `[safety]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSafety {
    pub emergency_line: String,
    pub prepend_to_emergency: bool,
}

/// `[reasoning]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReasoning {
    pub extra_tokens: u32,
}

/// `[categories.*]`: exactly the five categories, each required.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCategories {
    pub medication: RawCategory,
    pub diagnosis: RawCategory,
    pub treatment: RawCategory,
    pub prevention: RawCategory,
    pub emergency: RawCategory,
}

/// One `[categories.X]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCategory {
    pub suffix: String,
    pub negatable: bool,
    pub params: RawParams,
    pub terms: Vec<RawTermGroup>,
}

/// `[categories.X.params]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawParams {
    pub max_tokens: u32,
    pub temperature: f64,
    pub top_p: f64,
    pub stop: Vec<String>,
    pub priority: u8,
}

/// One `[[categories.X.terms]]` group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTermGroup {
    pub weight: f64,
    pub words: Vec<String>,
}
