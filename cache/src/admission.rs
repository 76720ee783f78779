//! Whether an answer may be cached, and if not, why.
//!
//! The daemon asks before storing (and the cache checks again inside `store`): only deterministic answers,
//! of bounded size, for questions without patient identifiers. `no_cache` per request is the caller's
//! business: it simply does not call the cache.

use std::fmt;

use crate::key::{CacheKey, Determinism};
use crate::pii::{PiiKind, detect_pii};

/// Verdict of the admission check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The answer may be cached.
    Admit,
    /// The answer must not be cached, for this reason.
    Refuse(RefuseReason),
}

/// Why an answer is not cacheable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefuseReason {
    /// Sampled with a fresh seed: another run could answer differently.
    NonDeterministic,
    /// The question looks like it carries patient identifiers (never cached anywhere).
    ContainsPii(Vec<PiiKind>),
    /// Empty question or answer (nothing worth serving).
    Empty,
    /// Question or answer longer than the configured limit.
    TooLarge {
        /// Which part is too long ("question" or "answer").
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
}

impl Admission {
    /// True for [`Admission::Admit`].
    pub fn is_admitted(&self) -> bool {
        matches!(self, Admission::Admit)
    }
}

impl fmt::Display for RefuseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefuseReason::NonDeterministic => {
                f.write_str("answer is not deterministic (sampled without a fixed seed)")
            }
            RefuseReason::ContainsPii(kinds) => {
                let names: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
                write!(
                    f,
                    "question looks like it contains patient identifiers ({})",
                    names.join(", ")
                )
            }
            RefuseReason::Empty => f.write_str("empty question or answer"),
            RefuseReason::TooLarge { what, len, limit } => {
                write!(f, "{what} is {len} bytes, limit {limit}")
            }
        }
    }
}

impl fmt::Display for Admission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Admission::Admit => f.write_str("cacheable"),
            Admission::Refuse(r) => write!(f, "not cacheable: {r}"),
        }
    }
}

/// Size limits for admission (from the validated config).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdmissionLimits {
    pub max_question_bytes: usize,
    pub max_answer_bytes: usize,
}

/// Checks a question alone (used before a lookup: PII questions bypass the cache entirely).
pub(crate) fn check_question(key: &CacheKey, question: &str, limits: AdmissionLimits) -> Admission {
    if key.determinism == Determinism::Sampled {
        return Admission::Refuse(RefuseReason::NonDeterministic);
    }
    if question.trim().is_empty() {
        return Admission::Refuse(RefuseReason::Empty);
    }
    if question.len() > limits.max_question_bytes {
        return Admission::Refuse(RefuseReason::TooLarge {
            what: "question",
            len: question.len(),
            limit: limits.max_question_bytes,
        });
    }
    let pii = detect_pii(question);
    if !pii.is_empty() {
        return Admission::Refuse(RefuseReason::ContainsPii(pii));
    }
    Admission::Admit
}

/// Checks a question and its answer before storing.
pub(crate) fn check(
    key: &CacheKey,
    question: &str,
    answer: &str,
    limits: AdmissionLimits,
) -> Admission {
    let q = check_question(key, question, limits);
    if !q.is_admitted() {
        return q;
    }
    if answer.trim().is_empty() {
        return Admission::Refuse(RefuseReason::Empty);
    }
    if answer.len() > limits.max_answer_bytes {
        return Admission::Refuse(RefuseReason::TooLarge {
            what: "answer",
            len: answer.len(),
            limit: limits.max_answer_bytes,
        });
    }
    Admission::Admit
}
