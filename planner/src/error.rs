//! The crate's one error type.
//!
//! Probing never fails (a machine without NVML is a CPU-only profile, see [`crate::probe`]); errors come from
//! reading files the caller named, from a model the planner cannot describe, and from requests that do not fit.

use std::path::PathBuf;

/// Everything that can go wrong while loading profiles or planning.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A file named by the caller could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A TOML host profile (or calibration cache) is malformed.
    #[error("{path}: invalid TOML: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A saved plan or profile in JSON is malformed.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// The GGUF header could not be read.
    #[error("GGUF: {0}")]
    Gguf(String),
    /// The model lacks something the memory model needs (e.g. `block_count`), or is of a kind the planner
    /// does not model (recurrent state, encoder–decoder).
    #[error("unsupported model: {0}")]
    UnsupportedModel(String),
    /// The request itself is inconsistent (e.g. zero context, `n_ubatch > n_batch`).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Nothing fits the memory budgets; `suggestions` say what would.
    #[error("{reason}{}", render_suggestions(.suggestions))]
    Infeasible {
        /// Why the smallest configuration does not fit (which budget, by how much).
        reason: String,
        /// Changes that would make a plan fit, most useful first (smaller context, q8_0 KV, smaller quant).
        suggestions: Vec<String>,
    },
    /// The ILP solver failed for a reason other than infeasibility (should not happen; reported, not hidden).
    #[error("solver: {0}")]
    Solver(String),
}

fn render_suggestions(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        return String::new();
    }
    let mut out = String::from("; would fit: ");
    out.push_str(&suggestions.join("; "));
    out
}

/// Shorthand used throughout the crate.
pub type Result<T, E = PlanError> = std::result::Result<T, E>;
