//! The disk tier behind a small trait, and its key layout.
//!
//! [`DiskStore`] is what the cache needs from a disk store: point reads, atomic batches, prefix scans,
//! flush, clear. [`SledStore`] implements it; [`open_with_recovery`] is the only way the cache opens one,
//! so a corrupt store is moved aside instead of being served from.
//!
//! Key layout (one sled tree; every key is either a keyed hash or a timestamp, never question text):
//! * `e` + 32-byte entry id → sealed [`crate::record::Record`] (`key id (8) || nonce || ciphertext || tag`)
//! * `o` + created ms (8, big-endian) + entry id → expiry ms (8, big-endian): age order for eviction/sweep
//! * `m` + name → metadata (the key id the store was written under)

mod recovery;
mod sled_store;

pub(crate) use recovery::restrict_permissions as restrict_permissions_of;
pub use recovery::{RecoveryReport, open_with_recovery};
pub use sled_store::SledStore;

use crate::error::Result;

/// One write of an atomic batch.
#[derive(Debug, Clone)]
pub enum Op {
    /// Insert or replace.
    Put(Vec<u8>, Vec<u8>),
    /// Remove (absent keys are fine).
    Delete(Vec<u8>),
}

/// A key/value pair from a scan, or the error that stopped it.
pub type ScanItem = Result<(Vec<u8>, Vec<u8>)>;

/// What the cache needs from its disk tier. Implementations must be safe to share between threads.
pub trait DiskStore: Send + Sync + std::fmt::Debug {
    /// Reads one value.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Applies all writes atomically (all or none survive a crash).
    fn apply(&self, ops: Vec<Op>) -> Result<()>;
    /// All pairs whose key starts with `prefix`, in key order.
    fn scan_prefix<'a>(&'a self, prefix: &[u8]) -> Box<dyn Iterator<Item = ScanItem> + 'a>;
    /// Makes every write applied so far durable (fsync).
    fn flush(&self) -> Result<()>;
    /// Removes everything.
    fn clear(&self) -> Result<()>;
    /// Bytes the store occupies on disk.
    fn size_on_disk(&self) -> Result<u64>;
}

pub(crate) const PREFIX_ENTRY: u8 = b'e';
pub(crate) const PREFIX_ORDER: u8 = b'o';
pub(crate) const META_KEY_ID: &[u8] = b"mkey_id";

pub(crate) fn entry_key(id: &[u8; 32]) -> Vec<u8> {
    let mut k = Vec::with_capacity(33);
    k.push(PREFIX_ENTRY);
    k.extend_from_slice(id);
    k
}

pub(crate) fn order_key(created_ms: u64, id: &[u8; 32]) -> Vec<u8> {
    let mut k = Vec::with_capacity(41);
    k.push(PREFIX_ORDER);
    k.extend_from_slice(&created_ms.to_be_bytes());
    k.extend_from_slice(id);
    k
}

/// Splits an order key back into (created ms, entry id).
pub(crate) fn parse_order_key(k: &[u8]) -> Option<(u64, [u8; 32])> {
    if k.len() != 41 || k[0] != PREFIX_ORDER {
        return None;
    }
    let mut t = [0u8; 8];
    t.copy_from_slice(&k[1..9]);
    let mut id = [0u8; 32];
    id.copy_from_slice(&k[9..41]);
    Some((u64::from_be_bytes(t), id))
}
