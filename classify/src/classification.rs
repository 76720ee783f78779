//! The result of classifying a question, with everything an admin needs to see *why*.
//!
//! [`Classification`] is plain data (serde both ways) so the daemon can log it, send it to `medctl
//! classify` as JSON, and the CLI can print it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::category::Category;

/// The outcome of [`crate::Classifier::classify`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// The category the question is answered in.
    pub category: Category,
    /// Sum of the weights of the keywords that fired, per category (negated cues excluded).
    pub scores: Scores,
    /// Every keyword or phrase that fired, in question order, including negated ones (weight not counted).
    pub matched: Vec<MatchedTerm>,
    /// 0..1: how clearly `category` beat the runner-up, discounted when the evidence is thin:
    /// `(winner − runner_up) / (winner + 1)`, clamped to 0..1. 0 for no signal, ties and safety-bias
    /// decisions where another category scored higher; 1 for an override.
    pub confidence: f64,
    /// Which rule decided.
    pub decision: Decision,
    /// One human-readable sentence explaining the decision, with the numbers.
    pub reason: String,
}

/// Which rule picked the category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum Decision {
    /// The highest score won outright.
    TopScore,
    /// Several categories shared the highest score; `classifier.tie_order` picked the first of them.
    Tie {
        /// The tied categories.
        tied: Vec<Category>,
    },
    /// Safety bias: emergency cues reached `emergency_min_score` and were close enough to the best
    /// score (`emergency_ratio`), so emergency was chosen over `top`.
    EmergencyBias {
        /// The category that had the highest score.
        top: Category,
    },
    /// Nothing (or too little) fired; `classifier.default_category` was used.
    NoSignal,
    /// The caller asked for a category; `classified` is what the classifier would have chosen.
    Override {
        /// The classifier's own choice.
        classified: Category,
    },
}

/// One keyword or phrase that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchedTerm {
    /// Category whose keyword list contains it.
    pub category: Category,
    /// The keyword as written in the config.
    pub term: String,
    /// Its weight (added to the score unless negated).
    pub weight: f64,
    /// Index of the first question token it matched.
    pub position: usize,
    /// The negation word that cancelled it ("no", "denies", ...), if any.
    pub negated_by: Option<String>,
}

impl MatchedTerm {
    /// Whether a negation word cancelled this cue.
    pub fn is_negated(&self) -> bool {
        self.negated_by.is_some()
    }
}

/// Per-category scores; serialised as a map from category name to score.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "BTreeMap<Category, f64>", into = "BTreeMap<Category, f64>")]
pub struct Scores([f64; 5]);

impl Scores {
    /// The score of one category.
    pub fn get(&self, category: Category) -> f64 {
        self.0[category.index()]
    }

    pub(crate) fn add(&mut self, category: Category, weight: f64) {
        self.0[category.index()] += weight;
    }

    /// `(category, score)` in [`Category::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Category, f64)> + '_ {
        Category::ALL.into_iter().map(|c| (c, self.get(c)))
    }

    /// Highest score of all categories except `except`.
    pub(crate) fn best_except(&self, except: Category) -> f64 {
        self.iter()
            .filter(|(c, _)| *c != except)
            .map(|(_, s)| s)
            .fold(0.0, f64::max)
    }
}

impl From<BTreeMap<Category, f64>> for Scores {
    fn from(map: BTreeMap<Category, f64>) -> Self {
        let mut s = Scores::default();
        for (c, v) in map {
            s.0[c.index()] = v;
        }
        s
    }
}

impl From<Scores> for BTreeMap<Category, f64> {
    fn from(s: Scores) -> Self {
        s.iter().collect()
    }
}

impl Classification {
    /// Replaces the category with `requested` (when `Some`), recording the classifier's own choice in
    /// [`Decision::Override`]; scores and matches are kept so the admin still sees what fired.
    /// `None` returns the classification unchanged.
    pub fn with_override(mut self, requested: Option<Category>) -> Self {
        let Some(requested) = requested else {
            return self;
        };
        let classified = self.category;
        self.reason = format!(
            "override: caller requested {requested} (classifier chose {classified}: {})",
            self.reason
        );
        self.category = requested;
        self.confidence = 1.0;
        self.decision = Decision::Override { classified };
        self
    }

    /// Whether the category was set by the caller rather than the classifier.
    pub fn is_overridden(&self) -> bool {
        matches!(self.decision, Decision::Override { .. })
    }
}

impl fmt::Display for Classification {
    /// A compact multi-line report for logs and `medctl classify`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "category: {} (confidence {:.2})",
            self.category, self.confidence
        )?;
        writeln!(f, "reason: {}", self.reason)?;
        let scores: Vec<String> = self
            .scores
            .iter()
            .map(|(c, s)| format!("{c}={s:.1}"))
            .collect();
        writeln!(f, "scores: {}", scores.join(" "))?;
        for m in &self.matched {
            match &m.negated_by {
                Some(neg) => writeln!(
                    f,
                    "  {:<10} {:>5.1}  {:?} (negated by {neg:?}, not counted)",
                    m.category, m.weight, m.term
                )?,
                None => writeln!(f, "  {:<10} {:>5.1}  {:?}", m.category, m.weight, m.term)?,
            }
        }
        Ok(())
    }
}
