//! Writing: `store` (admission, write-through to disk and memory, index), removing one entry, and the
//! size caps (oldest first).

use std::sync::Arc;

use super::value::{entry_id, ns_id, open_value, seal_value};
use super::{Accounting, AnswerCache, lock, read};
use crate::admission::Admission;
use crate::error::Result;
use crate::index::Row;
use crate::key::CacheKey;
use crate::l1::Entry;
use crate::record::Record;
use crate::stats::{add, inc};
use crate::store::{self, DiskStore, Op, PREFIX_ORDER, parse_order_key};

impl AnswerCache {
    /// Removes an entry everywhere (disk, memory, index). `created_ms` locates its order record.
    pub(super) fn remove_entry(&self, id: &[u8; 32], created_ms: Option<u64>, expired: bool) {
        let mut acct = lock(&self.write);
        let store = read(&self.store);
        let k = store::entry_key(id);
        let len = store.get(&k).ok().flatten().map(|v| v.len() as u64);
        let mut ops = vec![Op::Delete(k)];
        if let Some(t) = created_ms {
            ops.push(Op::Delete(store::order_key(t, id)));
        }
        if store.apply(ops).is_ok()
            && let Some(len) = len
        {
            acct.entries = acct.entries.saturating_sub(1);
            acct.bytes = acct.bytes.saturating_sub(len);
            if expired {
                inc(&self.counters.expired);
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
    pub(super) fn enforce_caps(&self, acct: &mut Accounting, store: &dyn DiskStore) -> Result<u64> {
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
}
