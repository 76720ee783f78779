//! [`AnswerCache`]: the two tiers (L1 memory, L2 sled) behind one synchronous, thread-safe API.
//!
//! Request path: `lookup` (exact L1 → exact L2 → semantic candidates checked by the guards) and, after
//! generation, `store` (admission → write-through to L2 and L1 → index). Maintenance: `sweep` (TTL, caps,
//! orphans, permissions), `clear`, `rotate_key`, `flush`. Every method may be called from many threads;
//! the daemon calls them from `spawn_blocking`.
//!
//! Layout: this file (types, open, lookup), `write` (store, caps), `maintenance` (sweep, clear, rotate,
//! stats), `value` (ids and the sealed value format).
//!
//! Lock order (never reversed): `write` → `store` → `l1` → `index`. Lookups never hold `index` while
//! taking another lock.

use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use crate::admission::{self, Admission, AdmissionLimits, RefuseReason};
use crate::clock::{Clock, SystemClock};
use crate::config::CacheConfig;
use crate::crypto::{KeyLocation, KeyMaterial};
use crate::error::{CacheError, Result};
use crate::explain::{Explanation, Matcher};
use crate::guard::{Slots, Veto, compare};
use crate::index::{Row, SemanticIndex};
use crate::key::CacheKey;
use crate::l1::{Entry, L1};
use crate::stats::{Counters, inc};
use crate::store::{
    self, DiskStore, META_KEY_ID, Op, PREFIX_ENTRY, RecoveryReport, open_with_recovery,
};

mod maintenance;
mod value;
mod write;

use value::{entry_id, entry_id_of, ns_id, open_value};

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
    /// Cosine between the questions (semantic hits only; from the int8 index, within ~0.002 of exact).
    pub cosine: Option<f32>,
    /// When the answer was stored (unix ms).
    pub stored_at_ms: u64,
}

/// A lookup with its reasons (see [`AnswerCache::lookup_detailed`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LookupOutcome {
    /// The served answer, if any.
    pub hit: Option<Hit>,
    /// Why the cache was not consulted at all (sampling, PII, size).
    pub bypassed: Option<RefuseReason>,
    /// Semantic candidates above the threshold that a guard vetoed, best first.
    pub vetoed: Vec<VetoedCandidate>,
}

/// A semantic candidate the guards refused.
#[derive(Debug, Clone, PartialEq)]
pub struct VetoedCandidate {
    /// The cached question.
    pub cached_question: String,
    /// Its cosine (from the int8 index, within ~0.002 of the exact value).
    pub cosine: f32,
    /// What the guards objected to.
    pub vetoes: Vec<Veto>,
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
                    if let (Some(fp), Some((efp, vec))) = (fingerprint, &rec.embedding)
                        && fp == *efp
                    {
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
    /// problem is a miss (and a log line without question text).
    pub fn lookup(&self, key: &CacheKey, question: &str) -> Option<Hit> {
        self.lookup_detailed(key, question).hit
    }

    /// Like [`AnswerCache::lookup`], also saying why nothing was served: the admission refusal that
    /// bypassed the cache, or the semantic candidates the guards vetoed (for `medctl`-style diagnostics;
    /// contains question text, so do not log it).
    pub fn lookup_detailed(&self, key: &CacheKey, question: &str) -> LookupOutcome {
        let mut out = LookupOutcome::default();
        let adm = admission::check_question(key, question, self.limits());
        if let Admission::Refuse(reason) = adm {
            inc(&self.counters.bypassed);
            out.bypassed = Some(reason);
            return out;
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
            out.hit = Some(Hit {
                answer: e.answer.clone(),
                tier: Tier::Exact,
                level,
                matched_question: e.question.clone(),
                cosine: None,
                stored_at_ms: e.created_ms,
            });
            return out;
        }
        self.semantic_lookup(&keys, &ns_id, question, now, &mut out);
        inc(if out.hit.is_some() {
            &self.counters.hits_semantic
        } else {
            &self.counters.misses
        });
        out
    }

    fn semantic_lookup(
        &self,
        keys: &KeyMaterial,
        ns_id: &[u8; 16],
        question: &str,
        now: u64,
        out: &mut LookupOutcome,
    ) {
        let Some(embedder) = self.matcher.embedder() else {
            return;
        };
        let vector = match embedder.embed(question) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("cache: embedding failed, semantic tier skipped: {e}");
                return;
            }
        };
        let candidates = read(&self.index).search(
            ns_id,
            &vector,
            self.matcher.threshold(),
            self.cfg.semantic_top_k,
        );
        if candidates.is_empty() {
            return;
        }
        let asked = Slots::extract(question);
        for c in candidates {
            let cached = c
                .row
                .slots
                .get_or_init(|| Arc::new(Slots::extract(&c.row.question)));
            let vetoes = compare(cached, &asked);
            if !vetoes.is_empty() {
                inc(&self.counters.semantic_vetoed);
                out.vetoed.push(VetoedCandidate {
                    cached_question: c.row.question.to_string(),
                    cosine: c.cosine,
                    vetoes,
                });
                continue;
            }
            if let Some((e, level)) = self.fetch(keys, &c.row.id, now) {
                out.hit = Some(Hit {
                    answer: e.answer.clone(),
                    tier: Tier::Semantic,
                    level,
                    matched_question: e.question.clone(),
                    cosine: Some(c.cosine),
                    stored_at_ms: e.created_ms,
                });
                return;
            }
        }
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
    /// What opening the store had to repair.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }
}
