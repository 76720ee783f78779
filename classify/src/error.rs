//! The crate's one error type.
//!
//! Configuration errors always name the offending key (as a dotted path such as
//! `categories.emergency.params.temperature`) so an admin can fix `categories.toml` without reading code.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    /// The configuration file could not be read.
    #[error("cannot read category config {path}: {source}")]
    Io {
        /// The file we tried to read.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration is not valid TOML or does not have the expected shape (unknown or missing keys,
    /// wrong types). The message from the TOML parser names the key and the line.
    #[error("invalid category config ({origin}): {message}")]
    Parse {
        /// Where the text came from (a path, or "built-in").
        origin: String,
        /// The parser's message, including key and position.
        message: String,
    },
    /// The configuration parsed but a value is not acceptable.
    #[error("invalid category config: `{key}`: {message}")]
    Invalid {
        /// Dotted path of the offending key.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// A category name that is not one of the five.
    #[error(
        "unknown category `{0}` (expected one of: medication, diagnosis, treatment, prevention, emergency)"
    )]
    UnknownCategory(String),
}

impl ClassifyError {
    /// Shorthand for [`ClassifyError::Invalid`].
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = ClassifyError> = std::result::Result<T, E>;
