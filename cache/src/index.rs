//! The semantic index: normalised question embeddings in one flat row-major matrix, scanned brute force.
//!
//! At ~100k questions × 384 dimensions a linear scan is a few milliseconds, simpler and exact compared to an
//! approximate-nearest-neighbour structure. Rows are filtered by namespace; the question text is kept to run
//! the guards, and its parsed slots are computed once, lazily, on first use as a candidate.

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
    vectors: Vec<f32>,
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
            vectors: Vec::new(),
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
        self.rows.push(Arc::new(row));
        self.vectors.extend_from_slice(vector);
    }

    pub(crate) fn remove(&mut self, id: &[u8; 32]) {
        let Some(i) = self.pos.remove(id) else { return };
        let last = self.rows.len() - 1;
        self.rows.swap_remove(i);
        if i != last {
            let (head, tail) = self.vectors.split_at_mut(last * self.dim);
            head[i * self.dim..(i + 1) * self.dim].copy_from_slice(&tail[..self.dim]);
            self.pos.insert(self.rows[i].id, i);
        }
        self.vectors.truncate(last * self.dim);
    }

    pub(crate) fn clear(&mut self) {
        self.vectors.clear();
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
        for (i, row) in self.rows.iter().enumerate() {
            if &row.ns_id != ns {
                continue;
            }
            let v = &self.vectors[i * self.dim..(i + 1) * self.dim];
            let cos = dot(v, query);
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

pub(crate) use crate::simd::dot;

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
}
