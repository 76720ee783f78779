//! [`AnswerCache`]: the two tiers (L1 memory, L2 sled) behind one synchronous, thread-safe API.
//!
//! Request path: `lookup` (exact L1 → exact L2 → semantic candidates checked by the guards) and, after
//! generation, `store` (admission → write-through to L2 and L1 → index). Maintenance: `sweep` (TTL, caps,
//! orphans, permissions), `clear`, `rotate_key`, `flush`. Every method may be called from many threads;
//! the daemon calls them from `spawn_blocking`.
//!
//! Lock order (never reversed): `write` → `store` → `l1` → `index`. Lookups never hold `index` while
//! taking another lock.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use crate::admission::{self, Admission, AdmissionLimits};
use crate::clock::{Clock, SystemClock};
use crate::config::CacheConfig;
use crate::crypto::{KeyLocation, KeyMaterial};
use crate::error::{CacheError, Result};
use crate::explain::{Explanation, Matcher};
use crate::guard::{Slots, compare};
use crate::index::{Row, SemanticIndex};
use crate::key::CacheKey;
use crate::l1::{Entry, L1};
use crate::normalize::normalize_question;
use crate::record::Record;
use crate::stats::{CacheStats, Counters, add, get, inc};
use crate::store::{
    self, DiskStore, META_KEY_ID, Op, PREFIX_ENTRY, PREFIX_ORDER, RecoveryReport,
    open_with_recovery, parse_order_key,
};

const VALUE_VERSION: u8 = 1;

/// Which tier served a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Same normalised question.
    Exact,
    /// A similar question whose clinical slots all agree.
    Semantic,
}

/// Where the entry was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Memory.
    L1,
    /// Disk.
    L2,
}

/// A servable cached answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The cached answer.
    pub answer: String,
    /// Exact or semantic.
    pub tier: Tier,
    /// Memory or disk.
    pub level: Level,
    /// The question the answer was generated for (show it to the user on semantic hits).
    pub matched_question: String,
    /// Cosine between the questions (semantic hits only).
    pub cosine: Option<f32>,
    /// When the answer was stored (unix ms).
    pub stored_at_ms: u64,
}

/// What `sweep` removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Expired entries (TTL or hard maximum).
    pub expired: u64,
    /// Entries removed by the size caps.
    pub evicted: u64,
    /// Dangling order records or unreadable entries removed.
    pub repaired: u64,
}

/// Options for [`AnswerCache::open_with`].
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Embedder + threshold (e.g. `Matcher::from_config`, or a fake in tests).
    pub matcher: Matcher,
    /// Time source.
    pub clock: Arc<dyn Clock>,
}

#[derive(Debug, Default)]
struct Accounting {
    entries: u64,
    bytes: u64,
}

/// The two-level answer cache.
#[derive(Debug)]
pub struct AnswerCache {
    cfg: CacheConfig,
    keys: RwLock<Arc<KeyMaterial>>,
    store: RwLock<Box<dyn DiskStore>>,
    /// Serialises writers (store, evict, sweep, clear, rotate) and guards the L2 accounting.
    write: Mutex<Accounting>,
    l1: Mutex<L1>,
    index: RwLock<SemanticIndex>,
    matcher: Matcher,
    clock: Arc<dyn Clock>,
    counters: Counters,
    recovery: RecoveryReport,
}

/// Placeholder while the store is swapped during key rotation.
#[derive(Debug)]
struct ClosedStore;

impl DiskStore for ClosedStore {
    fn get(&self, _: &[u8]) -> Result<Option<Vec<u8>>> {
        Err(CacheError::Store("store closed".into()))
    }
    fn apply(&self, _: Vec<Op>) -> Result<()> {
        Err(CacheError::Store("store closed".into()))
    }
    fn scan_prefix<'a>(&'a self, _: &[u8]) -> Box<dyn Iterator<Item = store::ScanItem> + 'a> {
        Box::new(std::iter::empty())
    }
    fn flush(&self) -> Result<()> {
        Ok(())
    }
    fn clear(&self) -> Result<()> {
        Ok(())
    }
    fn size_on_disk(&self) -> Result<u64> {
        Ok(0)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn read<T: ?Sized>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|p| p.into_inner())
}

impl AnswerCache {
    /// Opens the cache: key (credential or key file), store (with recovery), embedder (from the config;
    /// missing model → exact tier only), then reloads the semantic index from disk.
    pub fn open(cfg: CacheConfig) -> Result<Self> {
        let matcher = Matcher::from_config(&cfg);
        Self::open_with(
            cfg,
            OpenOptions {
                matcher,
                clock: Arc::new(SystemClock),
            },
        )
    }

    /// Opens with an explicit matcher and clock.
    pub fn open_with(cfg: CacheConfig, opts: OpenOptions) -> Result<Self> {
        let keys = KeyMaterial::load(&KeyLocation {
            key_file: cfg.key_file.clone(),
            credential: cfg.credential.clone(),
            credentials_directory: cfg.credentials_directory.clone(),
        })?;
        let (disk, recovery) = open_with_recovery(&cfg.dir, cfg.l2_page_cache_bytes)?;
        let dim = opts.matcher.embedder().map_or(0, |e| e.dim());
        let cache = AnswerCache {
            l1: Mutex::new(L1::new(cfg.l1_max_bytes)),
            index: RwLock::new(SemanticIndex::new(dim, cfg.semantic_max_entries)),
            keys: RwLock::new(Arc::new(keys)),
            store: RwLock::new(Box::new(disk)),
            write: Mutex::new(Accounting::default()),
            matcher: opts.matcher,
            clock: opts.clock,
            counters: Counters::default(),
            recovery,
            cfg,
        };
        cache.check_key_id()?;
        cache.reload()?;
        Ok(cache)
    }

    /// A store written under another key (credential changed, key file replaced) cannot be read: clear it.
    fn check_key_id(&self) -> Result<()> {
        let keys = Arc::clone(&read(&self.keys));
        let store = read(&self.store);
        match store.get(META_KEY_ID)? {
            Some(id) if id == keys.key_id => Ok(()),
            Some(_) => {
                tracing::warn!("cache: store was written under another key; clearing it");
                store.clear()?;
                store.apply(vec![Op::Put(META_KEY_ID.to_vec(), keys.key_id.to_vec())])?;
                store.flush()
            }
            None => {
                store.apply(vec![Op::Put(META_KEY_ID.to_vec(), keys.key_id.to_vec())])?;
                store.flush()
            }
        }
    }

    /// Scans every entry once: deletes unreadable and expired ones, counts the rest, rebuilds the index.
    fn reload(&self) -> Result<()> {
        let keys = Arc::clone(&read(&self.keys));
        let now = self.clock.now_ms();
        let fingerprint = self.matcher.embedder().map(|e| e.fingerprint());
        let mut acct = lock(&self.write);
        let store = read(&self.store);
        let mut deletes = Vec::new();
        let mut index = self.index.write().unwrap_or_else(|p| p.into_inner());
        for item in store.scan_prefix(&[PREFIX_ENTRY]) {
            let (k, v) = item?;
            let Some(id) = entry_id_of(&k) else {
                deletes.push(Op::Delete(k));
                continue;
            };
            match open_value(&keys, &k, &v) {
                Err(e) => {
                    tracing::warn!("cache: deleting unreadable entry: {e}");
                    inc(&self.counters.corrupt_deleted);
                    deletes.push(Op::Delete(k));
                }
                Ok(rec) if !self.live(rec.created_ms, rec.expires_ms, now) => {
                    inc(&self.counters.expired);
                    deletes.push(Op::Delete(k));
                    deletes.push(Op::Delete(store::order_key(rec.created_ms, &id)));
                }
                Ok(rec) => {
                    acct.entries += 1;
                    acct.bytes += v.len() as u64;
                    if let (Some(fp), Some((efp, vec))) = (fingerprint, &rec.embedding) {
                        if fp == *efp {
                            index.insert(
                                Row {
                                    id,
                                    ns_id: rec.ns_id,
                                    created_ms: rec.created_ms,
                                    question: rec.question.as_str().into(),
                                    slots: Default::default(),
                                },
                                vec,
                            );
                        }
                    }
                }
            }
        }
        drop(index);
        if !deletes.is_empty() {
            store.apply(deletes)?;
        }
        Ok(())
    }

    fn live(&self, created_ms: u64, expires_ms: u64, now: u64) -> bool {
        let max = self.cfg.ttl_max.as_millis() as u64;
        now < expires_ms && now < created_ms.saturating_add(max)
    }

    fn limits(&self) -> AdmissionLimits {
        AdmissionLimits {
            max_question_bytes: self.cfg.max_question_bytes,
            max_answer_bytes: self.cfg.max_answer_bytes,
        }
    }

    /// Whether an answer would be admitted (the same check `store` applies).
    pub fn admission(&self, key: &CacheKey, question: &str, answer: &str) -> Admission {
        admission::check(key, question, answer, self.limits())
    }

    /// Looks a question up: exact tier (memory, then disk), then the semantic tier. Never fails: any
    /// problem is a miss (and a log line).
    pub fn lookup(&self, key: &CacheKey, question: &str) -> Option<Hit> {
        if !admission::check_question(key, question, self.limits()).is_admitted() {
            inc(&self.counters.bypassed);
            return None;
        }
        let keys = Arc::clone(&read(&self.keys));
        let ns = key.namespace_bytes();
        let ns_id = ns_id(&keys, &ns);
        let id = entry_id(&keys, &ns, question);
        let now = self.clock.now_ms();
        if let Some((e, level)) = self.fetch(&keys, &id, now) {
            inc(if level == Level::L1 {
                &self.counters.hits_l1
            } else {
                &self.counters.hits_l2
            });
            return Some(Hit {
                answer: e.answer.clone(),
                tier: Tier::Exact,
                level,
                matched_question: e.question.clone(),
                cosine: None,
                stored_at_ms: e.created_ms,
            });
        }
        if let Some(hit) = self.semantic_lookup(&keys, &ns_id, question, now) {
            inc(&self.counters.hits_semantic);
            return Some(hit);
        }
        inc(&self.counters.misses);
        None
    }

    fn semantic_lookup(
        &self,
        keys: &KeyMaterial,
        ns_id: &[u8; 16],
        question: &str,
        now: u64,
    ) -> Option<Hit> {
        let embedder = self.matcher.embedder()?;
        let vector = match embedder.embed(question) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("cache: embedding failed, semantic tier skipped: {e}");
                return None;
            }
        };
        let candidates = read(&self.index).search(
            ns_id,
            &vector,
            self.matcher.threshold(),
            self.cfg.semantic_top_k,
        );
        if candidates.is_empty() {
            return None;
        }
        let asked = Slots::extract(question);
        for c in candidates {
            let cached = c
                .row
                .slots
                .get_or_init(|| Arc::new(Slots::extract(&c.row.question)));
            if !compare(cached, &asked).is_empty() {
                inc(&self.counters.semantic_vetoed);
                continue;
            }
            if let Some((e, level)) = self.fetch(keys, &c.row.id, now) {
                return Some(Hit {
                    answer: e.answer.clone(),
                    tier: Tier::Semantic,
                    level,
                    matched_question: e.question.clone(),
                    cosine: Some(c.cosine),
                    stored_at_ms: e.created_ms,
                });
            }
        }
        None
    }

    /// Reads an entry (L1, else L2 with promotion). Expired or unreadable entries are removed, never served.
    fn fetch(&self, keys: &KeyMaterial, id: &[u8; 32], now: u64) -> Option<(Arc<Entry>, Level)> {
        let cached = lock(&self.l1).get(id);
        if let Some(e) = cached {
            if self.live(e.created_ms, e.expires_ms, now) {
                return Some((e, Level::L1));
            }
            self.remove_entry(id, Some(e.created_ms), true);
            return None;
        }
        let k = store::entry_key(id);
        let value = match read(&self.store).get(&k) {
            Ok(v) => v?,
            Err(e) => {
                tracing::warn!("cache: disk read failed: {e}");
                return None;
            }
        };
        match open_value(keys, &k, &value) {
            Ok(rec) => {
                if !self.live(rec.created_ms, rec.expires_ms, now) {
                    self.remove_entry(id, Some(rec.created_ms), true);
                    return None;
                }
                let e = Arc::new(Entry {
                    question: rec.question,
                    answer: rec.answer,
                    created_ms: rec.created_ms,
                    expires_ms: rec.expires_ms,
                    ns_id: rec.ns_id,
                });
                lock(&self.l1).insert(*id, Arc::clone(&e));
                Some((e, Level::L2))
            }
            Err(e) => {
                tracing::warn!("cache: deleting unreadable entry: {e}");
                inc(&self.counters.corrupt_deleted);
                self.remove_entry(id, None, false);
                None
            }
        }
    }

    /// Removes an entry everywhere (disk, memory, index). `created_ms` locates its order record.
    fn remove_entry(&self, id: &[u8; 32], created_ms: Option<u64>, expired: bool) {
        let mut acct = lock(&self.write);
        let store = read(&self.store);
        let k = store::entry_key(id);
        let len = store.get(&k).ok().flatten().map(|v| v.len() as u64);
        let mut ops = vec![Op::Delete(k)];
        if let Some(t) = created_ms {
            ops.push(Op::Delete(store::order_key(t, id)));
        }
        if store.apply(ops).is_ok() {
            if let Some(len) = len {
                acct.entries = acct.entries.saturating_sub(1);
                acct.bytes = acct.bytes.saturating_sub(len);
                if expired {
                    inc(&self.counters.expired);
                }
            }
        }
        drop(store);
        lock(&self.l1).remove(id);
        self.index
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// Stores an answer if admissible (the returned [`Admission`] says why not otherwise). Writes through
    /// to disk (durable at the next `flush`, or within sled's 500 ms flush interval) and to memory.
    pub fn store(&self, key: &CacheKey, question: &str, answer: &str) -> Result<Admission> {
        let adm = self.admission(key, question, answer);
        if !adm.is_admitted() {
            inc(&self.counters.refused);
            return Ok(adm);
        }
        let keys = Arc::clone(&read(&self.keys));
        let ns = key.namespace_bytes();
        let ns_id = ns_id(&keys, &ns);
        let id = entry_id(&keys, &ns, question);
        let now = self.clock.now_ms();
        let expires_ms =
            now.saturating_add(self.cfg.ttl_default.min(self.cfg.ttl_max).as_millis() as u64);
        let embedding = self
            .matcher
            .embedder()
            .and_then(|e| match e.embed(question) {
                Ok(v) => Some((e.fingerprint(), v)),
                Err(err) => {
                    tracing::warn!(
                        "cache: embedding failed, stored for the exact tier only: {err}"
                    );
                    None
                }
            });
        let rec = Record {
            created_ms: now,
            expires_ms,
            ns_id,
            question: question.to_owned(),
            answer: answer.to_owned(),
            embedding,
        };
        let k = store::entry_key(&id);
        let value = seal_value(&keys, &k, &rec.encode())?;
        {
            let mut acct = lock(&self.write);
            let store = read(&self.store);
            let mut ops = Vec::with_capacity(3);
            if let Some(old) = store.get(&k)? {
                acct.entries = acct.entries.saturating_sub(1);
                acct.bytes = acct.bytes.saturating_sub(old.len() as u64);
                if let Ok(old_rec) = open_value(&keys, &k, &old) {
                    ops.push(Op::Delete(store::order_key(old_rec.created_ms, &id)));
                }
            }
            let value_len = value.len() as u64;
            ops.push(Op::Put(k, value));
            ops.push(Op::Put(
                store::order_key(now, &id),
                expires_ms.to_be_bytes().to_vec(),
            ));
            store.apply(ops)?;
            acct.entries += 1;
            acct.bytes += value_len;
            lock(&self.l1).insert(
                id,
                Arc::new(Entry {
                    question: rec.question.clone(),
                    answer: rec.answer,
                    created_ms: now,
                    expires_ms,
                    ns_id,
                }),
            );
            if let Some((_, v)) = &rec.embedding {
                let row = Row {
                    id,
                    ns_id,
                    created_ms: now,
                    question: rec.question.as_str().into(),
                    slots: Default::default(),
                };
                self.index
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(row, v);
            }
            self.enforce_caps(&mut acct, &**store)?;
        }
        inc(&self.counters.stores);
        Ok(Admission::Admit)
    }

    /// Evicts oldest entries until both caps hold. Caller holds `write` and a `store` read guard.
    fn enforce_caps(&self, acct: &mut Accounting, store: &dyn DiskStore) -> Result<u64> {
        let mut evicted = 0;
        if acct.entries <= self.cfg.l2_max_entries && acct.bytes <= self.cfg.l2_max_bytes {
            return Ok(0);
        }
        let mut victims = Vec::new();
        let (mut entries, mut bytes) = (acct.entries, acct.bytes);
        for item in store.scan_prefix(&[PREFIX_ORDER]) {
            if entries <= self.cfg.l2_max_entries && bytes <= self.cfg.l2_max_bytes {
                break;
            }
            let (ok, _) = item?;
            let Some((_, id)) = parse_order_key(&ok) else {
                continue;
            };
            let ek = store::entry_key(&id);
            if let Some(v) = store.get(&ek)? {
                entries = entries.saturating_sub(1);
                bytes = bytes.saturating_sub(v.len() as u64);
                evicted += 1;
            }
            victims.push((ok, ek, id));
        }
        let mut ops = Vec::with_capacity(victims.len() * 2);
        for (ok, ek, _) in &victims {
            ops.push(Op::Delete(ok.clone()));
            ops.push(Op::Delete(ek.clone()));
        }
        store.apply(ops)?;
        acct.entries = entries;
        acct.bytes = bytes;
        add(&self.counters.evictions_l2, evicted);
        let mut l1 = lock(&self.l1);
        let mut index = self.index.write().unwrap_or_else(|p| p.into_inner());
        for (_, _, id) in &victims {
            l1.remove(id);
            index.remove(id);
        }
        Ok(evicted)
    }

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

    /// Would an answer cached for `cached` be served for `incoming`? (Pure: touches no entries.)
    pub fn explain(&self, cached: &str, incoming: &str) -> Explanation {
        self.matcher.explain(cached, incoming)
    }

    /// The matcher (embedder, threshold) in use.
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// The validated configuration.
    pub fn config(&self) -> &CacheConfig {
        &self.cfg
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

    /// What opening the store had to repair.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }
}

fn ns_id(keys: &KeyMaterial, ns: &[u8]) -> [u8; 16] {
    let h = keys.keyed_hash(b"namespace", &[ns]);
    let mut out = [0u8; 16];
    out.copy_from_slice(&h[..16]);
    out
}

fn entry_id(keys: &KeyMaterial, ns: &[u8], question: &str) -> [u8; 32] {
    keys.keyed_hash(b"entry", &[ns, normalize_question(question).as_bytes()])
}

fn entry_id_of(k: &[u8]) -> Option<[u8; 32]> {
    if k.len() != 33 || k[0] != PREFIX_ENTRY {
        return None;
    }
    let mut id = [0u8; 32];
    id.copy_from_slice(&k[1..]);
    Some(id)
}

/// `version || key id || seal(plain, aad = sled key || key id)`.
fn seal_value(keys: &KeyMaterial, sled_key: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
    let mut aad = sled_key.to_vec();
    aad.extend_from_slice(&keys.key_id);
    let sealed = keys.seal(plain, &aad)?;
    let mut v = Vec::with_capacity(9 + sealed.len());
    v.push(VALUE_VERSION);
    v.extend_from_slice(&keys.key_id);
    v.extend_from_slice(&sealed);
    Ok(v)
}

fn open_value(keys: &KeyMaterial, sled_key: &[u8], value: &[u8]) -> Result<Record> {
    if value.len() < 9 || value[0] != VALUE_VERSION {
        return Err(CacheError::Corrupt("bad value header".into()));
    }
    if value[1..9] != keys.key_id {
        return Err(CacheError::Corrupt("written under another key".into()));
    }
    let mut aad = sled_key.to_vec();
    aad.extend_from_slice(&keys.key_id);
    Record::decode(&keys.open(&value[9..], &aad)?)
}
