//! L1: the in-memory tier, a least-recently-used map bounded by the bytes of text it holds.
//!
//! Holds decrypted entries (memory is not "at rest"); it is cleared with the store on `clear`/`rotate_key`.
//! Recency is a monotonically increasing tick; the `order` map finds the least recent entry in O(log n).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A decrypted entry as served from memory.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub question: String,
    pub answer: String,
    pub created_ms: u64,
    pub expires_ms: u64,
    pub ns_id: [u8; 16],
}

impl Entry {
    /// Bytes charged against the L1 budget (text plus bookkeeping overhead).
    pub(crate) fn cost(&self) -> u64 {
        (self.question.len() + self.answer.len() + 128) as u64
    }
}

#[derive(Debug)]
pub(crate) struct L1 {
    map: HashMap<[u8; 32], (Arc<Entry>, u64)>,
    order: BTreeMap<u64, [u8; 32]>,
    bytes: u64,
    max_bytes: u64,
    tick: u64,
    /// Entries pushed out to stay within `max_bytes`.
    pub evictions: u64,
}

impl L1 {
    pub(crate) fn new(max_bytes: u64) -> Self {
        L1 {
            map: HashMap::new(),
            order: BTreeMap::new(),
            bytes: 0,
            max_bytes,
            tick: 0,
            evictions: 0,
        }
    }

    /// Looks up and marks as most recently used.
    pub(crate) fn get(&mut self, id: &[u8; 32]) -> Option<Arc<Entry>> {
        self.tick += 1;
        let tick = self.tick;
        let (entry, old) = self.map.get_mut(id)?;
        self.order.remove(old);
        *old = tick;
        self.order.insert(tick, *id);
        Some(Arc::clone(entry))
    }

    /// Inserts (or replaces) and evicts least recently used entries beyond the budget. An entry larger
    /// than the whole budget is not kept.
    pub(crate) fn insert(&mut self, id: [u8; 32], entry: Arc<Entry>) {
        self.remove(&id);
        let cost = entry.cost();
        if cost > self.max_bytes {
            return;
        }
        self.tick += 1;
        self.order.insert(self.tick, id);
        self.map.insert(id, (entry, self.tick));
        self.bytes += cost;
        while self.bytes > self.max_bytes {
            let Some((_, victim)) = self.order.pop_first() else {
                break;
            };
            if let Some((e, _)) = self.map.remove(&victim) {
                self.bytes -= e.cost();
                self.evictions += 1;
            }
        }
    }

    pub(crate) fn remove(&mut self, id: &[u8; 32]) {
        if let Some((e, tick)) = self.map.remove(id) {
            self.order.remove(&tick);
            self.bytes -= e.cost();
        }
    }

    pub(crate) fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
        self.bytes = 0;
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entry(n: usize) -> Arc<Entry> {
        Arc::new(Entry {
            question: "q".repeat(n),
            answer: String::new(),
            created_ms: 0,
            expires_ms: 0,
            ns_id: [0; 16],
        })
    }

    #[test]
    fn evicts_least_recently_used_within_budget() {
        let mut l1 = L1::new(3 * 228);
        for i in 0..3u8 {
            l1.insert([i; 32], entry(100));
        }
        assert_eq!(l1.len(), 3);
        assert!(l1.get(&[0; 32]).is_some()); // 0 becomes most recent; 1 is now the oldest
        l1.insert([3; 32], entry(100));
        assert_eq!(l1.len(), 3);
        assert!(
            l1.get(&[1; 32]).is_none(),
            "least recently used must go first"
        );
        assert!(l1.get(&[0; 32]).is_some());
        assert!(l1.bytes() <= 3 * 228);
        assert_eq!(l1.evictions, 1);
    }

    #[test]
    fn oversized_entries_are_not_kept_and_replacement_keeps_accounting() {
        let mut l1 = L1::new(500);
        l1.insert([1; 32], entry(1000));
        assert_eq!(l1.len(), 0);
        l1.insert([2; 32], entry(10));
        l1.insert([2; 32], entry(20));
        assert_eq!(l1.bytes(), 148);
        l1.remove(&[2; 32]);
        assert_eq!(l1.bytes(), 0);
    }
}
