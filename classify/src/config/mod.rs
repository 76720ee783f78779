//! The validated category configuration (as used), built from the `raw` structs (as written).
//!
//! This module owns loading `categories.toml` (from a path or the compiled-in default) and every check on
//! its values. Everything downstream ([`crate::Classifier`], [`crate::Templates`]) takes a
//! [`CategoryConfig`] and can rely on it: all five categories present, weights positive, sampling
//! parameters in range, emergency has the highest priority.

mod fingerprint;
mod raw;
mod validate;

use std::path::Path;

use serde::Serialize;

use crate::category::Category;
use crate::error::{ClassifyError, Result};

/// The text of `configs/categories.toml` at build time: the default when no file is installed, so
/// tests and `medctl` work without `/etc`.
pub const BUILTIN_TOML: &str = include_str!("../../../configs/categories.toml");

/// A validated `categories.toml`. Only constructible through [`CategoryConfig::from_toml_str`],
/// [`CategoryConfig::load`] or [`CategoryConfig::builtin`], so its invariants always hold.
#[derive(Debug, Clone)]
pub struct CategoryConfig {
    version: String,
    classifier: ClassifierSettings,
    base_prompt: String,
    safety: SafetySettings,
    reasoning: ReasoningSettings,
    /// Indexed by [`Category::index`].
    categories: [CategorySpec; 5],
    /// Content hash of everything above; see [`CategoryConfig::template_version`].
    template_version: String,
}

/// `[classifier]`: how scores become a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierSettings {
    /// Used when nothing (or too little) fires.
    pub default_category: Category,
    /// A winning score below this counts as no signal.
    pub min_score: f64,
    /// Safety bias: emergency score needed before the bias applies.
    pub emergency_min_score: f64,
    /// Safety bias: emergency wins if its score is at least this fraction of the best score.
    pub emergency_ratio: f64,
    /// Tie-break order, first wins; a permutation of all five categories.
    pub tie_order: [Category; 5],
    /// Tokens after a negation word that it can cancel (0 disables negation handling).
    pub negation_window: u32,
}

/// `[safety]`: the emergency safety line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetySettings {
    /// One line telling the reader to call emergency services.
    pub emergency_line: String,
    /// Whether emergency answers start with `emergency_line`.
    pub prepend_to_emergency: bool,
}

/// `[reasoning]`: budget for models that think before answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReasoningSettings {
    /// Tokens added to `max_tokens` when the model writes a `<think>` block.
    pub extra_tokens: u32,
}

/// One category's prompt suffix, generation parameters and keywords.
#[derive(Debug, Clone, PartialEq)]
pub struct CategorySpec {
    /// Which category this is.
    pub category: Category,
    /// Appended to the base prompt (trimmed).
    pub suffix: String,
    /// Whether negation words cancel this category's cues.
    pub negatable: bool,
    /// Generation settings for this category's answers.
    pub params: GenerationParams,
    /// Keywords and phrases, in file order.
    pub terms: Vec<Term>,
}

/// Per-category generation parameters ("problem-adaptive" settings, issue 6 item 3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenerationParams {
    /// Maximum new tokens of the answer (reasoning models get extra, see [`ReasoningSettings`]).
    pub max_tokens: u32,
    /// Sampling temperature; 0 means greedy.
    pub temperature: f32,
    /// Nucleus sampling cut-off; 1 means off.
    pub top_p: f32,
    /// Extra stop strings.
    pub stop: Vec<String>,
    /// Scheduler priority, higher is admitted first; emergency is always the highest.
    pub priority: u8,
}

/// A keyword or phrase after normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// As written in the config (shown to admins).
    pub text: String,
    /// Normalised, stemmed tokens; one for a keyword, several for a phrase.
    pub stems: Vec<String>,
    /// Score added when it fires.
    pub weight: f64,
}

impl CategoryConfig {
    /// Parses and validates config text. `origin` (a path, or "built-in") only goes into error messages.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self> {
        let raw: raw::RawConfig = toml::from_str(text).map_err(|e| ClassifyError::Parse {
            origin: origin.to_owned(),
            message: e.to_string(),
        })?;
        validate::validate(raw)
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| ClassifyError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// The compiled-in default ([`BUILTIN_TOML`]). A test guarantees it validates; the `Result` is kept so
    /// that callers never panic on a bad build.
    pub fn builtin() -> Result<Self> {
        Self::from_toml_str(BUILTIN_TOML, "built-in configs/categories.toml")
    }

    /// The `version` value as written (an integer is shown in decimal).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// A stable hash (32 hex digits) of every value in the config: version, prompts, suffixes,
    /// parameters, safety line, keywords and classifier settings. Any edit changes it, so cache keys
    /// that include it never serve an answer produced under different templates.
    pub fn template_version(&self) -> &str {
        &self.template_version
    }

    /// `[classifier]` settings.
    pub fn classifier(&self) -> &ClassifierSettings {
        &self.classifier
    }

    /// The base system prompt (trimmed).
    pub fn base_prompt(&self) -> &str {
        &self.base_prompt
    }

    /// `[safety]` settings.
    pub fn safety(&self) -> &SafetySettings {
        &self.safety
    }

    /// `[reasoning]` settings.
    pub fn reasoning(&self) -> ReasoningSettings {
        self.reasoning
    }

    /// One category's suffix, parameters and keywords.
    pub fn category(&self, category: Category) -> &CategorySpec {
        &self.categories[category.index()]
    }

    /// All five categories in [`Category::ALL`] order.
    pub fn categories(&self) -> &[CategorySpec; 5] {
        &self.categories
    }
}
