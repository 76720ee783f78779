//! The template version: a SHA-256 over a canonical encoding of the validated config.
//!
//! Canonical means independent of formatting, comments and key order in the file, but sensitive to every
//! value: strings are length-prefixed (so "ab"+"c" differs from "a"+"bc"), floats are hashed by their
//! bit pattern, lists by length then items. The encoding order below is fixed; changing it changes every
//! cache key once, which is harmless (a cold cache), but it must not depend on anything like hash-map
//! iteration order.

use sha2::{Digest, Sha256};

use super::CategoryConfig;

/// Bumped if the encoding itself changes.
const ENCODING: &str = "medllm-classify/template-version/1";

pub(super) fn template_version(config: &CategoryConfig) -> String {
    let mut h = Hasher(Sha256::new());
    h.str(ENCODING);
    h.str(&config.version);
    let c = &config.classifier;
    h.str(c.default_category.as_str());
    h.f64(c.min_score);
    h.f64(c.emergency_min_score);
    h.f64(c.emergency_ratio);
    for cat in c.tie_order {
        h.str(cat.as_str());
    }
    h.u64(u64::from(c.negation_window));
    h.str(&config.base_prompt);
    h.str(&config.safety.emergency_line);
    h.u64(u64::from(config.safety.prepend_to_emergency));
    h.u64(u64::from(config.reasoning.extra_tokens));
    for spec in &config.categories {
        h.str(spec.category.as_str());
        h.str(&spec.suffix);
        h.u64(u64::from(spec.negatable));
        let p = &spec.params;
        h.u64(u64::from(p.max_tokens));
        h.f64(f64::from(p.temperature));
        h.f64(f64::from(p.top_p));
        h.u64(p.stop.len() as u64);
        for s in &p.stop {
            h.str(s);
        }
        h.u64(u64::from(p.priority));
        h.u64(spec.terms.len() as u64);
        for t in &spec.terms {
            h.str(&t.text);
            h.f64(t.weight);
        }
    }
    let digest = h.0.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

struct Hasher(Sha256);

impl Hasher {
    fn u64(&mut self, v: u64) {
        self.0.update(v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.update(s.as_bytes());
    }
}
