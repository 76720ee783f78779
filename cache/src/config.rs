//! Cache configuration: [`RawCacheConfig`] as written in `medllmd.toml` under `[cache]` (serde, every key
//! optional with a default) and [`CacheConfig`], the validated form the cache uses.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{CacheError, Result};

/// The `[cache]` table as written (see docs/cache.md for every key).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCacheConfig {
    /// Master switch (the daemon skips the cache entirely when false).
    pub enabled: bool,
    /// L2 directory (sled), in the daemon's state directory; created 0700.
    pub dir: PathBuf,
    /// Key file used when no systemd credential is present; must be outside `dir`. Created 0600.
    pub key_file: PathBuf,
    /// Name of the systemd credential holding the key (`LoadCredential=`/`LoadCredentialEncrypted=`).
    pub credential: Option<String>,
    /// L1 (memory) budget in bytes of question + answer text.
    pub l1_max_bytes: u64,
    /// L2 size cap in bytes of stored (encrypted) entries; oldest entries go first.
    pub l2_max_bytes: u64,
    /// L2 cap in number of entries.
    pub l2_max_entries: u64,
    /// sled's page cache in bytes.
    pub l2_page_cache_bytes: u64,
    /// Time to live of a new entry, in seconds.
    pub ttl_default_secs: u64,
    /// Hard maximum age in seconds, enforced on every read even for entries stored with a longer TTL.
    pub ttl_max_secs: u64,
    /// How often the daemon should call `sweep()`, in seconds.
    pub sweep_interval_secs: u64,
    /// Enables the semantic tier (needs the embedding model).
    pub semantic: bool,
    /// Directory of all-MiniLM-L6-v2 (model.safetensors + vocab.txt).
    pub embedder_dir: PathBuf,
    /// Minimum cosine for a semantic candidate (guards must still agree).
    pub semantic_threshold: f32,
    /// How many candidates above the threshold are checked by the guards.
    pub semantic_top_k: usize,
    /// Maximum number of questions kept in the in-memory semantic index (older ones stay exact-only).
    pub semantic_max_entries: usize,
    /// Longest question accepted, in bytes.
    pub max_question_bytes: usize,
    /// Longest answer accepted, in bytes.
    pub max_answer_bytes: usize,
}

/// Default semantic threshold, calibrated on the cache pairs (docs/cache.md, "Calibration").
pub const DEFAULT_SEMANTIC_THRESHOLD: f32 = 0.70;

impl Default for RawCacheConfig {
    fn default() -> Self {
        RawCacheConfig {
            enabled: true,
            dir: PathBuf::from("/var/lib/medllm/cache"),
            key_file: PathBuf::from("/var/lib/medllm/keys/cache.key"),
            credential: Some("medllm-cache-key".into()),
            l1_max_bytes: 64 << 20,
            l2_max_bytes: 1 << 30,
            l2_max_entries: 200_000,
            l2_page_cache_bytes: 32 << 20,
            ttl_default_secs: 7 * 24 * 3600,
            ttl_max_secs: 30 * 24 * 3600,
            sweep_interval_secs: 300,
            semantic: true,
            embedder_dir: PathBuf::from("/usr/share/medllm/models/all-MiniLM-L6-v2"),
            semantic_threshold: DEFAULT_SEMANTIC_THRESHOLD,
            semantic_top_k: 8,
            semantic_max_entries: 100_000,
            max_question_bytes: 4096,
            max_answer_bytes: 64 << 10,
        }
    }
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Master switch.
    pub enabled: bool,
    /// L2 directory.
    pub dir: PathBuf,
    /// Key file (outside `dir`).
    pub key_file: PathBuf,
    /// systemd credential name.
    pub credential: Option<String>,
    /// `$CREDENTIALS_DIRECTORY` as seen when the config was validated (systemd sets it for the service).
    pub credentials_directory: Option<PathBuf>,
    /// L1 budget (bytes).
    pub l1_max_bytes: u64,
    /// L2 budget (bytes).
    pub l2_max_bytes: u64,
    /// L2 budget (entries).
    pub l2_max_entries: u64,
    /// sled page cache (bytes).
    pub l2_page_cache_bytes: u64,
    /// Default TTL.
    pub ttl_default: Duration,
    /// Hard maximum age.
    pub ttl_max: Duration,
    /// Sweep period for the daemon.
    pub sweep_interval: Duration,
    /// Semantic tier wanted.
    pub semantic: bool,
    /// Embedding model directory.
    pub embedder_dir: PathBuf,
    /// Cosine threshold.
    pub semantic_threshold: f32,
    /// Candidates checked by the guards.
    pub semantic_top_k: usize,
    /// Semantic index capacity.
    pub semantic_max_entries: usize,
    /// Question size limit.
    pub max_question_bytes: usize,
    /// Answer size limit.
    pub max_answer_bytes: usize,
}

impl RawCacheConfig {
    /// Checks ranges and relations and returns the validated config.
    pub fn validate(self) -> Result<CacheConfig> {
        let bad = |m: String| Err(CacheError::Config(m));
        if self.dir.as_os_str().is_empty() {
            return bad("cache.dir is empty".into());
        }
        if key_inside_dir(&self.key_file, &self.dir) {
            return bad(format!(
                "cache.key_file {} is inside cache.dir {}: the key must live outside the cache directory",
                self.key_file.display(),
                self.dir.display()
            ));
        }
        if self.ttl_default_secs == 0 || self.ttl_max_secs == 0 {
            return bad("cache.ttl_default_secs and cache.ttl_max_secs must be > 0".into());
        }
        if self.ttl_default_secs > self.ttl_max_secs {
            return bad(format!(
                "cache.ttl_default_secs ({}) exceeds cache.ttl_max_secs ({})",
                self.ttl_default_secs, self.ttl_max_secs
            ));
        }
        if !(0.5..=1.0).contains(&self.semantic_threshold) {
            return bad(format!(
                "cache.semantic_threshold {} must be within 0.5..=1.0",
                self.semantic_threshold
            ));
        }
        if self.semantic_top_k == 0 || self.semantic_top_k > 64 {
            return bad("cache.semantic_top_k must be within 1..=64".into());
        }
        if self.l2_max_entries == 0 || self.l2_max_bytes < 4096 {
            return bad("cache.l2_max_entries must be > 0 and cache.l2_max_bytes >= 4096".into());
        }
        if self.max_question_bytes == 0 || self.max_answer_bytes == 0 {
            return bad("cache.max_question_bytes and cache.max_answer_bytes must be > 0".into());
        }
        if self.sweep_interval_secs == 0 {
            return bad("cache.sweep_interval_secs must be > 0".into());
        }
        if let Some(c) = &self.credential
            && (c.is_empty() || c.contains('/'))
        {
            return bad(format!("cache.credential {c:?} must be a plain file name"));
        }
        Ok(CacheConfig {
            enabled: self.enabled,
            dir: self.dir,
            key_file: self.key_file,
            credential: self.credential,
            credentials_directory: std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from),
            l1_max_bytes: self.l1_max_bytes,
            l2_max_bytes: self.l2_max_bytes,
            l2_max_entries: self.l2_max_entries,
            l2_page_cache_bytes: self.l2_page_cache_bytes.max(1 << 20),
            ttl_default: Duration::from_secs(self.ttl_default_secs),
            ttl_max: Duration::from_secs(self.ttl_max_secs),
            sweep_interval: Duration::from_secs(self.sweep_interval_secs),
            semantic: self.semantic,
            embedder_dir: self.embedder_dir,
            semantic_threshold: self.semantic_threshold,
            semantic_top_k: self.semantic_top_k,
            semantic_max_entries: self.semantic_max_entries,
            max_question_bytes: self.max_question_bytes,
            max_answer_bytes: self.max_answer_bytes,
        })
    }
}

impl CacheConfig {
    /// Defaults with the store and key placed under `state_dir` (tests, tools): `state_dir/cache` and
    /// `state_dir/cache.key`, no credential.
    pub fn for_state_dir(state_dir: &Path) -> Result<CacheConfig> {
        let mut cfg = RawCacheConfig {
            dir: state_dir.join("cache"),
            key_file: state_dir.join("cache.key"),
            credential: None,
            ..RawCacheConfig::default()
        }
        .validate()?;
        cfg.credentials_directory = None;
        Ok(cfg)
    }
}

fn key_inside_dir(key: &Path, dir: &Path) -> bool {
    let norm = |p: &Path| -> PathBuf { p.components().collect() };
    norm(key).starts_with(norm(dir))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        RawCacheConfig::default().validate().unwrap();
    }

    #[test]
    fn key_inside_cache_dir_is_rejected() {
        let raw = RawCacheConfig {
            dir: "/var/lib/medllm/cache".into(),
            key_file: "/var/lib/medllm/cache/key".into(),
            ..RawCacheConfig::default()
        };
        assert!(matches!(raw.validate(), Err(CacheError::Config(_))));
    }

    #[test]
    fn ttl_default_above_max_is_rejected() {
        let raw = RawCacheConfig {
            ttl_default_secs: 100,
            ttl_max_secs: 10,
            ..RawCacheConfig::default()
        };
        assert!(raw.validate().is_err());
    }
}
