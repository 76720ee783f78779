//! medllm-cache: a two-level answer cache (memory → sled) with a medically safe semantic tier.
//!
//! A clinic asks the same questions again and again; a cached answer returns in milliseconds. But in
//! medicine a wrong hit is worse than a miss, so:
//! * the **exact tier** serves only the same question up to Unicode form, case, whitespace and punctuation;
//! * the **semantic tier** ranks earlier questions by embedding cosine (all-MiniLM-L6-v2, run in-process),
//!   and serves one only if deterministic **guards** find the same clinical slots in both questions —
//!   quantities with canonical units, ages, drugs (via a bundled dictionary), negation, polarity, population,
//!   route, frequency, laterality, site, type designators, word order and the remaining content words. Any
//!   parse doubt is a miss;
//! * only deterministic answers are cached, under a namespace of model hash, template version, category
//!   and generation parameters; questions that look like they carry patient identifiers are never cached;
//! * entries are encrypted at rest (XChaCha20-Poly1305, key outside the cache directory), sled keys are
//!   keyed hashes, and a corrupt store is moved aside instead of being served from.
//!
//! The crate is synchronous and `Send + Sync`; the daemon calls it from `spawn_blocking`.
//! See docs/cache.md for the design, the configuration keys and the measured figures.
//!
//! # Layout
//! * [`cache`] — [`AnswerCache`]: lookup (`mod.rs`), store and caps (`write`), sweep/clear/rotate/stats
//!   (`maintenance`), ids and the sealed value format (`value`).
//! * [`config`] — [`RawCacheConfig`] (the `[cache]` TOML table) → [`CacheConfig`].
//! * [`key`], [`admission`], [`pii`] — namespaces, what may be cached, the identifier detector.
//! * [`normalize`] — exact-tier normalisation.
//! * [`guard`] — slot extraction and comparison (the semantic tier's safety).
//! * [`embed`] — the [`Embedder`] trait and the pure-Rust MiniLM.
//! * [`explain`] — [`Matcher`] and [`Explanation`] (`medctl cache explain`).
//! * [`store`] — the [`DiskStore`] trait, sled, and the recovery wrapper.
//! * private: `crypto` (keys, AEAD), `record` (entry codec), `l1` (LRU), `index` (int8 vectors), `simd`
//!   (AVX-512/AVX2 kernels with run-time dispatch), `clock`, `stats`.

#![deny(missing_docs)]

pub mod admission;
pub mod cache;
mod clock;
pub mod config;
mod crypto;
pub mod embed;
pub mod error;
pub mod explain;
pub mod guard;
mod index;
pub mod key;
mod l1;
pub mod normalize;
pub mod pii;
mod record;
mod simd;
mod stats;
pub mod store;

pub use admission::{Admission, RefuseReason};
pub use cache::{
    AnswerCache, Hit, Level, LookupOutcome, OpenOptions, SweepReport, Tier, VetoedCandidate,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{CacheConfig, DEFAULT_SEMANTIC_THRESHOLD, RawCacheConfig};
pub use crypto::KeySource;
pub use embed::{Embedder, MiniLm};
pub use error::{CacheError, Result};
pub use explain::{Explanation, Matcher, Verdict};
pub use guard::{GuardKind, Slots, Veto};
pub use key::{CacheKey, Determinism};
pub use pii::{PiiKind, detect_pii};
pub use stats::CacheStats;
pub use store::{DiskStore, RecoveryReport};

/// Compile-time check that the cache can be shared between threads.
#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<AnswerCache>();
    is::<Matcher>();
}
