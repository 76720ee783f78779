//! The semantic matcher (embedder + threshold + guards) and `explain`: would an answer cached for
//! question A be served for question B, and why (not)? Usable without a cache or a daemon, which is how
//! `medctl cache explain` runs.

use std::fmt;
use std::sync::Arc;

use crate::config::CacheConfig;
use crate::embed::{Embedder, MiniLm};
use crate::guard::{Slots, Veto, compare};
use crate::index::dot;
use crate::normalize::normalize_question;
use crate::pii::{PiiKind, detect_pii};

/// Embedder, threshold and guards: decides whether a cached question may serve an asked one.
#[derive(Debug, Clone)]
pub struct Matcher {
    embedder: Option<Arc<dyn Embedder>>,
    threshold: f32,
    disabled: Option<String>,
}

/// The outcome of [`Matcher::explain`].
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Same normalised text: the exact tier serves it.
    ExactHit,
    /// Cosine above the threshold and every guard agrees: the semantic tier serves it.
    SemanticHit,
    /// Cosine below the threshold.
    BelowThreshold,
    /// Cosine above the threshold but at least one guard vetoed.
    Vetoed,
    /// No embedder: only the exact tier works.
    SemanticDisabled(String),
    /// One of the questions carries patient identifiers and is never cached or looked up.
    NotCacheable(Vec<PiiKind>),
}

impl Verdict {
    /// Whether the cached answer would be served.
    pub fn is_hit(&self) -> bool {
        matches!(self, Verdict::ExactHit | Verdict::SemanticHit)
    }
}

/// Everything `medctl cache explain` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The question the answer was cached for.
    pub cached: String,
    /// The question being asked.
    pub incoming: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Embedding cosine, when the embedder ran.
    pub cosine: Option<f32>,
    /// The semantic threshold in force.
    pub threshold: f32,
    /// Every guard that objected (also listed when the cosine alone already decided).
    pub vetoes: Vec<Veto>,
}

impl Matcher {
    /// A matcher with the given embedder (None: semantic tier disabled) and cosine threshold.
    pub fn new(embedder: Option<Arc<dyn Embedder>>, threshold: f32) -> Self {
        let disabled = embedder
            .is_none()
            .then(|| "no embedder configured".to_owned());
        Matcher {
            embedder,
            threshold,
            disabled,
        }
    }

    /// Loads MiniLM from `cfg.embedder_dir` when `cfg.semantic` is on. A missing or broken model disables
    /// the semantic tier (reason logged and kept for stats); the exact tier keeps working.
    pub fn from_config(cfg: &CacheConfig) -> Self {
        if !cfg.semantic {
            return Matcher {
                embedder: None,
                threshold: cfg.semantic_threshold,
                disabled: Some("disabled in config".into()),
            };
        }
        match MiniLm::load(&cfg.embedder_dir) {
            Ok(m) => Matcher::new(Some(Arc::new(m)), cfg.semantic_threshold),
            Err(e) => {
                let reason = format!("embedding model unavailable: {e}");
                tracing::warn!("cache: semantic tier disabled, exact tier only ({reason})");
                Matcher {
                    embedder: None,
                    threshold: cfg.semantic_threshold,
                    disabled: Some(reason),
                }
            }
        }
    }

    /// The embedder, if the semantic tier is on.
    pub fn embedder(&self) -> Option<&Arc<dyn Embedder>> {
        self.embedder.as_ref()
    }

    /// Cosine threshold.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Why the semantic tier is off (None when on).
    pub fn disabled_reason(&self) -> Option<&str> {
        self.disabled.as_deref()
    }

    /// Would an answer cached for `cached` be served for `incoming`?
    pub fn explain(&self, cached: &str, incoming: &str) -> Explanation {
        let mut pii = detect_pii(cached);
        pii.extend(detect_pii(incoming));
        pii.sort();
        pii.dedup();
        let cosine =
            self.embedder
                .as_ref()
                .and_then(|e| match (e.embed(cached), e.embed(incoming)) {
                    (Ok(a), Ok(b)) => Some(dot(&a, &b)),
                    _ => None,
                });
        let vetoes = compare(&Slots::extract(cached), &Slots::extract(incoming));
        let verdict = if !pii.is_empty() {
            Verdict::NotCacheable(pii)
        } else if normalize_question(cached) == normalize_question(incoming) {
            Verdict::ExactHit
        } else if let Some(reason) = &self.disabled {
            Verdict::SemanticDisabled(reason.clone())
        } else {
            match cosine {
                None => Verdict::SemanticDisabled("embedding failed".into()),
                Some(c) if c < self.threshold => Verdict::BelowThreshold,
                Some(_) if !vetoes.is_empty() => Verdict::Vetoed,
                Some(_) => Verdict::SemanticHit,
            }
        };
        Explanation {
            cached: cached.to_owned(),
            incoming: incoming.to_owned(),
            verdict,
            cosine,
            threshold: self.threshold,
            vetoes,
        }
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = match &self.verdict {
            Verdict::ExactHit => "HIT (exact tier: same normalised question)".to_owned(),
            Verdict::SemanticHit => {
                "HIT (semantic tier: similar enough and every guard agrees)".to_owned()
            }
            Verdict::BelowThreshold => "MISS (cosine below the threshold)".to_owned(),
            Verdict::Vetoed => "MISS (vetoed by a guard)".to_owned(),
            Verdict::SemanticDisabled(r) => {
                format!("MISS (semantic tier off: {r}; exact tier only)")
            }
            Verdict::NotCacheable(k) => format!(
                "MISS (never cached: looks like patient identifiers: {})",
                k.iter()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        writeln!(f, "verdict:   {verdict}")?;
        writeln!(f, "cached:    {:?}", self.cached)?;
        writeln!(f, "asked:     {:?}", self.incoming)?;
        match self.cosine {
            Some(c) => writeln!(f, "cosine:    {c:.4} (threshold {:.2})", self.threshold)?,
            None => writeln!(f, "cosine:    n/a (threshold {:.2})", self.threshold)?,
        }
        if self.vetoes.is_empty() {
            write!(f, "guards:    all agree")
        } else {
            write!(f, "guards:")?;
            for v in &self.vetoes {
                write!(f, "\n  - {v}")?;
            }
            Ok(())
        }
    }
}
