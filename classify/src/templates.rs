//! Prompt templates and per-category behaviour: system prompts, generation parameters, token budgets and
//! the emergency safety line.
//!
//! This module produces *text* only. Rendering through the model's chat template (so that each
//! category's system part becomes a stable token prefix for KV reuse) is the daemon's job; what this
//! module guarantees is that [`Templates::system_prompt`] is byte-for-byte stable for a given config,
//! and that [`Templates::template_version`] changes whenever any of it could change.

use crate::category::Category;
use crate::config::{CategoryConfig, GenerationParams};
use crate::error::Result;
use crate::reasoning::ReasoningStyle;

/// Separator between the base prompt and the category suffix.
const SUFFIX_SEPARATOR: &str = "\n\n";

/// The prompt side of a validated [`CategoryConfig`].
#[derive(Debug, Clone)]
pub struct Templates {
    config: CategoryConfig,
}

impl Templates {
    /// Wraps a validated config.
    pub fn new(config: CategoryConfig) -> Self {
        Self { config }
    }

    /// Templates from the compiled-in `configs/categories.toml`.
    pub fn builtin() -> Result<Self> {
        CategoryConfig::builtin().map(Self::new)
    }

    /// The underlying config (keywords, classifier settings, ...).
    pub fn config(&self) -> &CategoryConfig {
        &self.config
    }

    /// The `version` value as written in the config (for display).
    pub fn version(&self) -> &str {
        self.config.version()
    }

    /// Stable hash of the whole config (32 hex digits); put it into every cache key.
    pub fn template_version(&self) -> &str {
        self.config.template_version()
    }

    /// The full system prompt for a category: the base prompt, a blank line, the category suffix.
    pub fn system_prompt(&self, category: Category) -> String {
        let base = self.config.base_prompt();
        let suffix = &self.config.category(category).suffix;
        let mut prompt = String::with_capacity(base.len() + SUFFIX_SEPARATOR.len() + suffix.len());
        prompt.push_str(base);
        prompt.push_str(SUFFIX_SEPARATOR);
        prompt.push_str(suffix);
        prompt
    }

    /// Generation parameters for a category.
    pub fn params(&self, category: Category) -> &GenerationParams {
        &self.config.category(category).params
    }

    /// Scheduler priority of a category (higher first; emergency is always the highest).
    pub fn priority(&self, category: Category) -> u8 {
        self.params(category).priority
    }

    /// Maximum new tokens to allow for a request: the category's `max_tokens`, plus
    /// `[reasoning].extra_tokens` when the model thinks before answering (so the reasoning does not use
    /// up the answer's budget).
    pub fn token_budget(&self, category: Category, style: ReasoningStyle) -> u32 {
        let answer = self.params(category).max_tokens;
        match style {
            ReasoningStyle::None => answer,
            ReasoningStyle::ThinkTags { .. } => {
                answer.saturating_add(self.config.reasoning().extra_tokens)
            }
        }
    }

    /// The text to put before an answer in `category` (the safety line and a blank line), or `None` when
    /// the category is not emergency or the clinic switched the line off. For streaming: send this first.
    pub fn safety_prefix(&self, category: Category) -> Option<String> {
        let safety = self.config.safety();
        (category == Category::Emergency && safety.prepend_to_emergency)
            .then(|| format!("{}\n\n", safety.emergency_line))
    }

    /// The final answer as it should be delivered: for emergency answers (when enabled) the safety line
    /// is prepended, unless the answer already starts with it. Idempotent.
    pub fn apply_safety_line(&self, category: Category, answer: &str) -> String {
        let safety = self.config.safety();
        if category == Category::Emergency && safety.prepend_to_emergency {
            prepend_safety_line(&safety.emergency_line, answer)
        } else {
            answer.to_owned()
        }
    }
}

/// Puts `line` and a blank line before `answer`, unless `answer` (ignoring leading whitespace) already
/// starts with `line`. Applying it twice gives the same text as applying it once.
pub fn prepend_safety_line(line: &str, answer: &str) -> String {
    let line = line.trim();
    let body = answer.trim_start();
    if line.is_empty() || body.starts_with(line) {
        return answer.to_owned();
    }
    if body.is_empty() {
        return line.to_owned();
    }
    format!("{line}\n\n{body}")
}
