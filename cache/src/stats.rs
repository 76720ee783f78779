//! Counters and the stats snapshot (`medctl cache stats` prints its `Display`).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters (relaxed atomics: figures for humans, not for synchronisation).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub hits_l1: AtomicU64,
    pub hits_l2: AtomicU64,
    pub hits_semantic: AtomicU64,
    pub misses: AtomicU64,
    pub bypassed: AtomicU64,
    pub stores: AtomicU64,
    pub refused: AtomicU64,
    pub evictions_l2: AtomicU64,
    pub expired: AtomicU64,
    pub corrupt_deleted: AtomicU64,
    pub semantic_vetoed: AtomicU64,
}

pub(crate) fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

pub(crate) fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// A snapshot of the cache's state and counters since it was opened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CacheStats {
    /// Entries in memory.
    pub l1_entries: u64,
    /// Bytes of text in memory.
    pub l1_bytes: u64,
    /// Entries dropped from memory to stay within the L1 budget.
    pub l1_evictions: u64,
    /// Entries on disk.
    pub l2_entries: u64,
    /// Bytes of encrypted entries on disk.
    pub l2_bytes: u64,
    /// What sled occupies on disk (includes not yet compacted space).
    pub l2_disk_bytes: u64,
    /// Entries removed from disk by the size caps (oldest first).
    pub l2_evictions: u64,
    /// Questions in the semantic index.
    pub semantic_entries: u64,
    /// Why the semantic tier is off (None: it is on).
    pub semantic_disabled: Option<String>,
    /// Exact hits served from memory.
    pub hits_l1: u64,
    /// Exact hits served from disk.
    pub hits_l2: u64,
    /// Semantic hits (guards agreed).
    pub hits_semantic: u64,
    /// Lookups that found nothing servable.
    pub misses: u64,
    /// Semantic candidates above the threshold that a guard vetoed.
    pub semantic_vetoed: u64,
    /// Lookups skipped (non-deterministic request, PII in the question, ...).
    pub bypassed: u64,
    /// Answers stored.
    pub stores: u64,
    /// Answers refused by admission.
    pub refused: u64,
    /// Entries removed because they expired.
    pub expired: u64,
    /// Entries deleted because they failed authentication or decoding.
    pub corrupt_deleted: u64,
    /// Where a corrupt store was moved at open, if that happened.
    pub recovered_store: Option<String>,
}

impl fmt::Display for CacheStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lookups = self.hits_l1 + self.hits_l2 + self.hits_semantic + self.misses;
        let hits = lookups - self.misses;
        let rate = if lookups > 0 {
            100.0 * hits as f64 / lookups as f64
        } else {
            0.0
        };
        writeln!(
            f,
            "memory (L1):   {} entries, {} bytes, {} evicted",
            self.l1_entries, self.l1_bytes, self.l1_evictions
        )?;
        writeln!(
            f,
            "disk (L2):     {} entries, {} bytes encrypted, {} bytes on disk, {} evicted",
            self.l2_entries, self.l2_bytes, self.l2_disk_bytes, self.l2_evictions
        )?;
        match &self.semantic_disabled {
            None => writeln!(
                f,
                "semantic tier: on, {} questions indexed",
                self.semantic_entries
            )?,
            Some(r) => writeln!(f, "semantic tier: off ({r})")?,
        }
        writeln!(
            f,
            "lookups:       {lookups} ({rate:.1}% hit): exact L1 {}, exact L2 {}, semantic {}, miss {} ({} vetoed candidates), bypassed {}",
            self.hits_l1,
            self.hits_l2,
            self.hits_semantic,
            self.misses,
            self.semantic_vetoed,
            self.bypassed
        )?;
        writeln!(
            f,
            "stores:        {} stored, {} refused",
            self.stores, self.refused
        )?;
        write!(
            f,
            "maintenance:   {} expired, {} corrupt entries deleted",
            self.expired, self.corrupt_deleted
        )?;
        if let Some(p) = &self.recovered_store {
            write!(f, "\nrecovery:      a corrupt store was moved to {p}")?;
        }
        Ok(())
    }
}
