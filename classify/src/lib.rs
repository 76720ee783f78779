//! Question classification, prompt templates and reasoning-output handling for medllm.
//!
//! Pure library: no llama.cpp, no I/O except reading the config file. The daemon uses it on every
//! request (classify → system prompt + parameters → generate → split think block → safety line);
//! `medctl classify` uses it to show an admin why a question landed where it did.
//!
//! ```
//! use medllm_classify::{Category, CategoryConfig, Classifier, Templates};
//!
//! let config = CategoryConfig::builtin()?;
//! let classifier = Classifier::new(&config);
//! let templates = Templates::new(config);
//!
//! let c = classifier.classify("He collapsed and is not breathing, what do I do?");
//! assert_eq!(c.category, Category::Emergency);
//! let system = templates.system_prompt(c.category);
//! let answer = templates.apply_safety_line(c.category, "1. Start CPR.");
//! assert!(answer.starts_with("If this is an emergency"));
//! # Ok::<(), medllm_classify::ClassifyError>(())
//! ```
//!
//! # Layout
//! - [`category`]: the five [`Category`] values and their stable names.
//! - [`config`]: `categories.toml` raw → validated ([`CategoryConfig`]), the compiled-in default, the
//!   template version hash.
//! - `text`: NFKC/lowercase tokeniser and the light suffix stemmer (shared by questions and keywords).
//! - `negation`: which tokens a negation word cancels.
//! - [`classifier`]: keyword matching, scoring and the decision rules with the safety bias.
//! - [`classification`]: the result type ([`Classification`]) with scores, matches and reason.
//! - [`templates`]: system prompts, generation parameters, token budgets, emergency safety line.
//! - [`think`]: streaming `<think>…</think>` splitter; [`reasoning`]: detecting reasoning models.
//! - [`error`]: the crate's error type.

#![deny(missing_docs)]

pub mod category;
pub mod classification;
pub mod classifier;
pub mod config;
pub mod error;
mod negation;
pub mod reasoning;
pub mod templates;
mod text;
pub mod think;

pub use category::Category;
pub use classification::{Classification, Decision, MatchedTerm, Scores};
pub use classifier::Classifier;
pub use config::{
    BUILTIN_TOML, CategoryConfig, CategorySpec, ClassifierSettings, GenerationParams,
    ReasoningSettings, SafetySettings, Term,
};
pub use error::{ClassifyError, Result};
pub use reasoning::{ReasoningStyle, detect_reasoning};
pub use templates::{Templates, prepend_safety_line};
pub use think::{Segment, ThinkSplitter, join, split_complete};

/// Normalises text the way the classifier sees it (NFKC, lowercase, punctuation removed, stemmed),
/// words joined by spaces. For admins checking what a keyword or question becomes.
pub fn normalise(text: &str) -> String {
    text::normalised_form(text)
}
