//! Maintenance: the periodic sweep (TTL, hard maximum, dangling records, caps, file modes), clear, key
//! rotation, flush and the stats snapshot.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Accounting, AnswerCache, ClosedStore, SweepReport, lock, read};
use crate::error::{CacheError, Result};
use crate::stats::{CacheStats, add, get};
use crate::store::{
    self, DiskStore, META_KEY_ID, Op, PREFIX_ORDER, open_with_recovery, parse_order_key,
};

impl AnswerCache {
    /// Periodic maintenance (the daemon calls it every `sweep_interval`): removes expired entries (TTL
    /// and hard maximum), repairs dangling order records, enforces the caps, re-tightens file modes.
    pub fn sweep(&self) -> Result<SweepReport> {
        let now = self.clock.now_ms();
        let max = self.cfg.ttl_max.as_millis() as u64;
        let mut report = SweepReport::default();
        let mut removed = Vec::new();
        {
            let mut acct = lock(&self.write);
            let store = read(&self.store);
            let mut ops = Vec::new();
            for item in store.scan_prefix(&[PREFIX_ORDER]) {
                let (ok, ov) = item?;
                let Some((created, id)) = parse_order_key(&ok) else {
                    ops.push(Op::Delete(ok));
                    report.repaired += 1;
                    continue;
                };
                let expires = ov.get(..8).map(|b| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    u64::from_be_bytes(a)
                });
                let ek = store::entry_key(&id);
                let value = store.get(&ek)?;
                let expired =
                    expires.is_none_or(|e| now >= e) || now >= created.saturating_add(max);
                match value {
                    None => {
                        ops.push(Op::Delete(ok));
                        report.repaired += 1;
                    }
                    Some(v) if expired => {
                        ops.push(Op::Delete(ok));
                        ops.push(Op::Delete(ek));
                        acct.entries = acct.entries.saturating_sub(1);
                        acct.bytes = acct.bytes.saturating_sub(v.len() as u64);
                        report.expired += 1;
                        removed.push(id);
                    }
                    Some(_) => {}
                }
            }
            if !ops.is_empty() {
                store.apply(ops)?;
            }
            let mut l1 = lock(&self.l1);
            let mut index = self.index.write().unwrap_or_else(|p| p.into_inner());
            for id in &removed {
                l1.remove(id);
                index.remove(id);
            }
            drop(index);
            drop(l1);
            report.evicted = self.enforce_caps(&mut acct, &**store)?;
        }
        add(&self.counters.expired, report.expired);
        store::restrict_permissions_of(&self.cfg.dir);
        Ok(report)
    }

    /// Removes expired entries; returns how many.
    pub fn purge_expired(&self) -> Result<u64> {
        Ok(self.sweep()?.expired)
    }

    /// Removes every entry (memory and disk). Deleted bytes may linger in sled's files until it compacts
    /// them; they stay encrypted, and `rotate_key` makes them unreadable for good.
    pub fn clear(&self) -> Result<()> {
        let mut acct = lock(&self.write);
        let keys = Arc::clone(&read(&self.keys));
        let store = read(&self.store);
        store.clear()?;
        store.apply(vec![Op::Put(META_KEY_ID.to_vec(), keys.key_id.to_vec())])?;
        store.flush()?;
        *acct = Accounting::default();
        lock(&self.l1).clear();
        self.index
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(())
    }

    /// Replaces the key with a fresh random one and starts an empty store: everything written before is
    /// unreadable at once (old sled files are deleted; any copy of them stays ciphertext under a key that no
    /// longer exists). Fails with [`CacheError::KeyNotRotatable`] when the key is a systemd credential.
    pub fn rotate_key(&self) -> Result<()> {
        let mut acct = lock(&self.write);
        let new_keys = read(&self.keys).rotate()?;
        let mut store = self.store.write().unwrap_or_else(|p| p.into_inner());
        let old = std::mem::replace(&mut *store, Box::new(ClosedStore));
        drop(old);
        let dir: PathBuf = self.cfg.dir.clone();
        std::fs::remove_dir_all(&dir).map_err(|e| CacheError::io("remove old store", &dir, e))?;
        let (fresh, _) = open_with_recovery(&dir, self.cfg.l2_page_cache_bytes)?;
        fresh.apply(vec![Op::Put(
            META_KEY_ID.to_vec(),
            new_keys.key_id.to_vec(),
        )])?;
        fresh.flush()?;
        *store = Box::new(fresh);
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new_keys);
        *acct = Accounting::default();
        lock(&self.l1).clear();
        self.index
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        tracing::info!("cache: key rotated, store emptied");
        Ok(())
    }

    /// Makes every store so far durable (fsync). Entries stored before a successful flush survive a crash.
    pub fn flush(&self) -> Result<()> {
        read(&self.store).flush()
    }

    /// A snapshot of sizes and counters.
    pub fn stats(&self) -> CacheStats {
        let (l2_entries, l2_bytes) = {
            let acct = lock(&self.write);
            (acct.entries, acct.bytes)
        };
        let (l1_entries, l1_bytes, l1_evictions) = {
            let l1 = lock(&self.l1);
            (l1.len() as u64, l1.bytes(), l1.evictions)
        };
        let c = &self.counters;
        CacheStats {
            l1_entries,
            l1_bytes,
            l1_evictions,
            l2_entries,
            l2_bytes,
            l2_disk_bytes: read(&self.store).size_on_disk().unwrap_or(0),
            l2_evictions: get(&c.evictions_l2),
            semantic_entries: read(&self.index).len() as u64,
            semantic_disabled: self.matcher.disabled_reason().map(str::to_owned),
            hits_l1: get(&c.hits_l1),
            hits_l2: get(&c.hits_l2),
            hits_semantic: get(&c.hits_semantic),
            misses: get(&c.misses),
            semantic_vetoed: get(&c.semantic_vetoed),
            bypassed: get(&c.bypassed),
            stores: get(&c.stores),
            refused: get(&c.refused),
            expired: get(&c.expired),
            corrupt_deleted: get(&c.corrupt_deleted),
            recovered_store: self
                .recovery
                .moved_aside
                .as_ref()
                .map(|p| p.display().to_string()),
        }
    }
}
