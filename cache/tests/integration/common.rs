//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use medllm_cache::{
    AnswerCache, CacheConfig, CacheKey, Clock, Determinism, Embedder, ManualClock, Matcher, MiniLm,
    OpenOptions, Result,
};

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn model_dir() -> PathBuf {
    manifest_dir().join("../models/all-MiniLM-L6-v2")
}

pub fn shared_dir() -> PathBuf {
    manifest_dir().join("../../shared")
}

/// The real embedder with a memo (tests embed the same sentences in both directions), loaded once per
/// test binary; None (with a printed reason) when the model is missing.
pub fn memo_minilm() -> Option<Arc<dyn Embedder>> {
    static M: OnceLock<Option<Arc<dyn Embedder>>> = OnceLock::new();
    M.get_or_init(|| {
        minilm().map(|m| {
            Arc::new(Memo {
                inner: m,
                seen: Default::default(),
            }) as Arc<dyn Embedder>
        })
    })
    .clone()
}

#[derive(Debug)]
struct Memo {
    inner: Arc<MiniLm>,
    seen: std::sync::Mutex<std::collections::HashMap<String, Vec<f32>>>,
}

impl Embedder for Memo {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn fingerprint(&self) -> u64 {
        self.inner.fingerprint()
    }
    fn embed(&self, text: &str) -> Result<Vec<f32>> {
        if let Some(v) = self.seen.lock().unwrap().get(text) {
            return Ok(v.clone());
        }
        let v = self.inner.embed(text)?;
        self.seen.lock().unwrap().insert(text.to_owned(), v.clone());
        Ok(v)
    }
}

/// How many generated pairs to push through the real embedder: fewer in unoptimised builds, where the
/// forward pass is ~50× slower (the project runs its tests with `--release`).
pub fn real_embedder_budget(release: usize) -> usize {
    if cfg!(debug_assertions) {
        release / 10
    } else {
        release
    }
}

/// The real embedder, loaded once per test binary; None (with a printed reason) when the model is missing.
pub fn minilm() -> Option<Arc<MiniLm>> {
    static M: OnceLock<Option<Arc<MiniLm>>> = OnceLock::new();
    M.get_or_init(|| match MiniLm::load(&model_dir()) {
        Ok(m) => Some(Arc::new(m)),
        Err(e) => {
            assert!(
                std::env::var_os("MEDLLM_TESTS_STRICT").is_none(),
                "MEDLLM_TESTS_STRICT: MiniLM not available at {} ({e})",
                model_dir().display()
            );
            eprintln!(
                "SKIP: MiniLM not available at {} ({e}); run scripts/setup-models.sh",
                model_dir().display()
            );
            None
        }
    })
    .clone()
}

/// A fake embedder: every text maps to the same unit vector, so every pair has cosine 1.0 and only the
/// guards stand between a cached answer and a wrong hit (the worst case for the guards).
#[derive(Debug)]
pub struct SameVector;

impl Embedder for SameVector {
    fn dim(&self) -> usize {
        4
    }
    fn fingerprint(&self) -> u64 {
        42
    }
    fn embed(&self, _text: &str) -> Result<Vec<f32>> {
        Ok(vec![0.5, 0.5, 0.5, 0.5])
    }
}

pub fn same_vector_matcher() -> Matcher {
    Matcher::new(Some(Arc::new(SameVector)), 0.8)
}

pub fn key() -> CacheKey {
    CacheKey {
        model_hash: "sha256:gemma-3-270m-q4_k_m".into(),
        template_version: "base-1/medication-1".into(),
        category: "medication".into(),
        params: "max_tokens=512;temperature=0;top_k=1".into(),
        determinism: Determinism::Greedy,
    }
}

pub fn config(dir: &Path) -> CacheConfig {
    CacheConfig::for_state_dir(dir).expect("valid config")
}

pub fn open(cfg: CacheConfig, matcher: Matcher, clock: Arc<dyn Clock>) -> AnswerCache {
    AnswerCache::open_with(cfg, OpenOptions { matcher, clock }).expect("cache opens")
}

pub fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(1_800_000_000_000))
}

/// Every regular file below `dir`.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Whether `needle` occurs in any file below `dir`.
pub fn bytes_occur_below(dir: &Path, needle: &[u8]) -> bool {
    files_below(dir).iter().any(|f| {
        std::fs::read(f)
            .map(|b| b.windows(needle.len()).any(|w| w == needle))
            .unwrap_or(false)
    })
}
