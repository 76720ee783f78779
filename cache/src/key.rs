//! What an answer was produced *under*: the cache key's namespace.
//!
//! The same question asked of another model file, another template or other generation parameters is a
//! different question for the cache; so every entry is filed under the caller's [`CacheKey`] and a lookup
//! only ever sees entries of the same namespace (both tiers). The question text itself is not part of the
//! key struct: it is normalised and hashed separately (see `normalize`).

use std::fmt;

/// How the answer was generated; only deterministic generation is cacheable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Determinism {
    /// Greedy decoding (temperature 0 / top-k 1): the same prompt always gives the same answer.
    Greedy,
    /// Sampling with a fixed seed: reproducible, but only for that seed, so the seed joins the namespace.
    FixedSeed(u64),
    /// Sampling with a fresh seed: another run could answer differently, so it is never cached.
    Sampled,
}

/// The namespace an answer belongs to. Every field is opaque text chosen by the caller; any change is a miss.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// Hash of the model file (e.g. sha256 of the GGUF): another model is another cache.
    pub model_hash: String,
    /// Version of the base prompt + category template (bump it when a template changes).
    pub template_version: String,
    /// Question category from the classifier (medication, diagnosis, ...).
    pub category: String,
    /// Canonical generation parameters (e.g. `"max_tokens=512;temperature=0;top_k=1"`), built by the caller
    /// in a fixed order so that equal settings give equal strings.
    pub params: String,
    /// How the answer is generated (decides admission; a fixed seed is part of the namespace).
    pub determinism: Determinism,
}

impl CacheKey {
    /// The unambiguous byte form that is hashed (with the secret MAC key) into the namespace id.
    ///
    /// Fields are length-prefixed so that no two different keys can produce the same bytes.
    pub(crate) fn namespace_bytes(&self) -> Vec<u8> {
        let det = match self.determinism {
            Determinism::Greedy => "greedy".to_owned(),
            Determinism::FixedSeed(s) => format!("seed:{s}"),
            Determinism::Sampled => "sampled".to_owned(),
        };
        let mut out = Vec::with_capacity(128);
        for field in [
            &self.model_hash,
            &self.template_version,
            &self.category,
            &self.params,
            &det,
        ] {
            out.extend_from_slice(&(field.len() as u64).to_le_bytes());
            out.extend_from_slice(field.as_bytes());
        }
        out
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "model={} template={} category={} params={} determinism={:?}",
            self.model_hash, self.template_version, self.category, self.params, self.determinism
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key() -> CacheKey {
        CacheKey {
            model_hash: "abc".into(),
            template_version: "1".into(),
            category: "medication".into(),
            params: "t=0".into(),
            determinism: Determinism::Greedy,
        }
    }

    #[test]
    fn every_field_changes_the_namespace() {
        let base = key().namespace_bytes();
        let mut k = key();
        k.model_hash = "abd".into();
        assert_ne!(k.namespace_bytes(), base);
        let mut k = key();
        k.template_version = "2".into();
        assert_ne!(k.namespace_bytes(), base);
        let mut k = key();
        k.category = "diagnosis".into();
        assert_ne!(k.namespace_bytes(), base);
        let mut k = key();
        k.params = "t=0.1".into();
        assert_ne!(k.namespace_bytes(), base);
        let mut k = key();
        k.determinism = Determinism::FixedSeed(7);
        assert_ne!(k.namespace_bytes(), base);
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        let mut a = key();
        a.model_hash = "ab".into();
        a.template_version = "c1".into();
        let mut b = key();
        b.model_hash = "abc".into();
        b.template_version = "1".into();
        assert_ne!(a.namespace_bytes(), b.namespace_bytes());
    }
}
