//! The semantic index: normalised question embeddings in one flat row-major matrix, scanned brute force.
//!
//! Vectors are kept as int8 codes with one scale per row (384 bytes a question instead of 1,536): the scan
//! is memory-bound, so this makes it ~4× cheaper in time and memory; the cosine it returns is within ~0.002
//! of the exact one (unit test below), which only matters for ranking — the guards decide. A linear scan
//! is exact (no approximate-nearest-neighbour recall loss) and simple. Rows are filtered by namespace;
//! the question text is kept to run the guards, its parsed slots computed once, lazily, on first use.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::guard::Slots;

/// One indexed question.
#[derive(Debug)]
pub(crate) struct Row {
    pub id: [u8; 32],
    pub ns_id: [u8; 16],
    pub created_ms: u64,
    pub question: Arc<str>,
    pub slots: OnceLock<Arc<Slots>>,
}

#[derive(Debug)]
pub(crate) struct SemanticIndex {
    dim: usize,
    /// int8 codes, row-major (`rows.len() × dim`).
    codes: Vec<i8>,
    /// Per row: value of one code step.
    scales: Vec<f32>,
    /// Per row: namespace id, kept contiguous so the scan never dereferences a `Row`.
    ns: Vec<[u8; 16]>,
    rows: Vec<Arc<Row>>,
    pos: HashMap<[u8; 32], usize>,
    max_rows: usize,
}

/// A candidate above the threshold.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub row: Arc<Row>,
    pub cosine: f32,
}

impl SemanticIndex {
    pub(crate) fn new(dim: usize, max_rows: usize) -> Self {
        SemanticIndex {
            dim,
            codes: Vec::new(),
            scales: Vec::new(),
            ns: Vec::new(),
            rows: Vec::new(),
            pos: HashMap::new(),
            max_rows,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Adds (or replaces) a row; when full, the oldest row leaves the index (its entry stays exact-only).
    pub(crate) fn insert(&mut self, row: Row, vector: &[f32]) {
        if vector.len() != self.dim || self.max_rows == 0 {
            return;
        }
        self.remove(&row.id);
        if self.rows.len() >= self.max_rows
            && let Some(oldest) = self.rows.iter().min_by_key(|r| r.created_ms).map(|r| r.id)
        {
            self.remove(&oldest);
        }
        self.pos.insert(row.id, self.rows.len());
        self.ns.push(row.ns_id);
        self.rows.push(Arc::new(row));
        let max = vector.iter().fold(0f32, |m, x| m.max(x.abs())).max(1e-12);
        let step = max / 127.0;
        self.codes.extend(
            vector
                .iter()
                .map(|x| (x / step).round().clamp(-127.0, 127.0) as i8),
        );
        self.scales.push(step);
    }

    pub(crate) fn remove(&mut self, id: &[u8; 32]) {
        let Some(i) = self.pos.remove(id) else { return };
        let last = self.rows.len() - 1;
        self.rows.swap_remove(i);
        self.scales.swap_remove(i);
        self.ns.swap_remove(i);
        if i != last {
            let (head, tail) = self.codes.split_at_mut(last * self.dim);
            head[i * self.dim..(i + 1) * self.dim].copy_from_slice(&tail[..self.dim]);
            self.pos.insert(self.rows[i].id, i);
        }
        self.codes.truncate(last * self.dim);
    }

    pub(crate) fn clear(&mut self) {
        self.codes.clear();
        self.scales.clear();
        self.ns.clear();
        self.rows.clear();
        self.pos.clear();
    }

    /// Up to `k` rows of namespace `ns` with cosine ≥ `threshold`, best first (ties: older first, so the
    /// order is deterministic).
    pub(crate) fn search(
        &self,
        ns: &[u8; 16],
        query: &[f32],
        threshold: f32,
        k: usize,
    ) -> Vec<Candidate> {
        if query.len() != self.dim {
            return Vec::new();
        }
        let mut found: Vec<(usize, f32)> = Vec::new();
        for (i, (row_ns, codes)) in self
            .ns
            .iter()
            .zip(self.codes.chunks_exact(self.dim))
            .enumerate()
        {
            if row_ns != ns {
                continue;
            }
            let cos = dot_i8(codes, query) * self.scales[i];
            if cos >= threshold {
                found.push((i, cos));
            }
        }
        found.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then(self.rows[a.0].created_ms.cmp(&self.rows[b.0].created_ms))
        });
        found.truncate(k);
        found
            .into_iter()
            .map(|(i, cosine)| Candidate {
                row: Arc::clone(&self.rows[i]),
                cosine,
            })
            .collect()
    }
}

pub(crate) use crate::simd::{dot, dot_i8};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn row(id: u8, ns: u8, t: u64) -> Row {
        Row {
            id: [id; 32],
            ns_id: [ns; 16],
            created_ms: t,
            question: "q".into(),
            slots: OnceLock::new(),
        }
    }

    #[test]
    fn search_filters_namespace_threshold_and_orders() {
        let mut ix = SemanticIndex::new(2, 10);
        ix.insert(row(1, 0, 1), &[1.0, 0.0]);
        ix.insert(row(2, 0, 2), &[0.8, 0.6]);
        ix.insert(row(3, 1, 3), &[1.0, 0.0]);
        let c = ix.search(&[0; 16], &[1.0, 0.0], 0.7, 8);
        let ids: Vec<u8> = c.iter().map(|c| c.row.id[0]).collect();
        assert_eq!(ids, vec![1, 2]);
        assert!(ix.search(&[0; 16], &[1.0, 0.0], 0.9, 8).len() == 1);
    }

    #[test]
    fn remove_keeps_rows_and_vectors_aligned() {
        let mut ix = SemanticIndex::new(2, 10);
        ix.insert(row(1, 0, 1), &[1.0, 0.0]);
        ix.insert(row(2, 0, 2), &[0.0, 1.0]);
        ix.insert(row(3, 0, 3), &[0.6, 0.8]);
        ix.remove(&[1; 32]);
        let c = ix.search(&[0; 16], &[0.0, 1.0], 0.99, 8);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].row.id, [2; 32]);
        let c = ix.search(&[0; 16], &[0.6, 0.8], 0.99, 8);
        assert_eq!(c[0].row.id, [3; 32]);
    }

    #[test]
    fn full_index_drops_oldest() {
        let mut ix = SemanticIndex::new(1, 2);
        ix.insert(row(1, 0, 10), &[1.0]);
        ix.insert(row(2, 0, 5), &[1.0]);
        ix.insert(row(3, 0, 20), &[1.0]);
        assert_eq!(ix.len(), 2);
        let ids: Vec<u8> = ix
            .search(&[0; 16], &[1.0], 0.5, 8)
            .iter()
            .map(|c| c.row.id[0])
            .collect();
        assert!(!ids.contains(&2));
    }

    #[test]
    fn int8_cosines_stay_close_to_exact() {
        let dim = 384;
        let mut x: u64 = 99;
        let mut unit = || {
            let mut v: Vec<f32> = (0..dim)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 2001) as f32 / 1000.0 - 1.0
                })
                .collect();
            let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
            v.iter_mut().for_each(|a| *a /= n);
            v
        };
        let q = unit();
        let mut ix = SemanticIndex::new(dim, 100);
        let mut want = Vec::new();
        for i in 0..50u8 {
            // mix the query in so that cosines spread over [-1, 1]
            let r = unit();
            let w = f32::from(i) / 50.0;
            let mut v: Vec<f32> = q
                .iter()
                .zip(&r)
                .map(|(a, b)| w * a + (1.0 - w) * b)
                .collect();
            let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
            v.iter_mut().for_each(|a| *a /= n);
            want.push((i, dot(&v, &q)));
            ix.insert(row(i, 0, u64::from(i)), &v);
        }
        let got = ix.search(&[0; 16], &q, -2.0, 100);
        assert_eq!(got.len(), 50);
        for c in got {
            let exact = want.iter().find(|(i, _)| *i == c.row.id[0]).unwrap().1;
            assert!(
                (c.cosine - exact).abs() < 0.005,
                "int8 {} vs exact {exact}",
                c.cosine
            );
        }
    }
}
