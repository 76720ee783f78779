//! The crate's one error type.
//!
//! Lookups never return errors (a cache that cannot answer is a miss); these errors come from opening the
//! cache, storing, maintenance and loading the embedder, where the caller must know what went wrong.

use std::path::PathBuf;

/// Everything that can go wrong in the cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// A configuration value is out of range or inconsistent (e.g. the key file inside the cache directory).
    #[error("invalid cache configuration: {0}")]
    Config(String),
    /// A filesystem operation on a path failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What we were doing ("create directory", "read key file", ...).
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The key file exists but is not usable (wrong length or format, or readable by others).
    #[error("cache key {path}: {reason}")]
    Key {
        /// The key file or credential.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },
    /// The key comes from a systemd credential, which this process cannot rewrite.
    #[error(
        "the cache key comes from the systemd credential {0:?}: rotate it with systemd-creds and restart \
         (the cache is cleared automatically when the key changes)"
    )]
    KeyNotRotatable(String),
    /// The disk store (sled) failed.
    #[error("disk store: {0}")]
    Store(String),
    /// A stored entry failed authentication or decoding; it is deleted, never served.
    #[error("corrupt entry: {0}")]
    Corrupt(String),
    /// The embedding model could not be loaded or run.
    #[error("embedder: {0}")]
    Embedder(String),
}

impl CacheError {
    /// Wraps an `io::Error` with the operation and path, so messages say what failed where.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CacheError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

impl From<sled::Error> for CacheError {
    fn from(e: sled::Error) -> Self {
        CacheError::Store(e.to_string())
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = CacheError> = std::result::Result<T, E>;
