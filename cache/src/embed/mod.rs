//! Sentence embeddings for the semantic tier.
//!
//! [`Embedder`] is the seam: the cache holds an `Arc<dyn Embedder>`, tests may plug in a fake. The real one
//! is [`MiniLm`], all-MiniLM-L6-v2 run in-process on the CPU in pure Rust (our WordPiece tokenizer, our
//! 6-layer BERT forward pass on run-time-dispatched AVX-512/AVX2 kernels, mean pooling, L2 normalisation); golden cosines from
//! the reference sentence-transformers implementation are reproduced in tests/golden.rs.

mod math;
mod minilm;
mod tokenizer;

pub use minilm::MiniLm;
pub use tokenizer::WordPiece;

use crate::error::Result;

/// Turns a question into a unit-length vector; cosine similarity is then a dot product.
pub trait Embedder: Send + Sync + std::fmt::Debug {
    /// Dimension of the vectors.
    fn dim(&self) -> usize;
    /// A fingerprint of the model (stored with each embedding; vectors from another model are not reused).
    fn fingerprint(&self) -> u64;
    /// The L2-normalised embedding of `text`.
    fn embed(&self, text: &str) -> Result<Vec<f32>>;
}
