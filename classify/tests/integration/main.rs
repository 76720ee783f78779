//! Integration tests for medllm-classify (one test binary, one module per concern).

#![allow(clippy::unwrap_used)] // tests may unwrap

mod accuracy;
mod config;
mod regression;
mod templates;
mod think;

use medllm_classify::{CategoryConfig, Classifier, Templates};

/// The compiled-in config; every test starts from it.
pub fn builtin() -> CategoryConfig {
    CategoryConfig::builtin().unwrap()
}

/// Classifier over the compiled-in config.
pub fn classifier() -> Classifier {
    Classifier::new(&builtin())
}

/// Templates over the compiled-in config.
pub fn templates() -> Templates {
    Templates::new(builtin())
}
