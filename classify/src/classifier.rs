//! The keyword classifier: matching, negation, scoring and the decision rules.
//!
//! Decision, in this order (documented in docs/classification.md):
//! 1. the best score wins; if emergency is (one of) the best, emergency;
//! 2. **safety bias**: otherwise, if the emergency score is at least `emergency_min_score` and at least
//!    `emergency_ratio` × the best score, emergency;
//! 3. if the best score is below `min_score`: `default_category` (no signal);
//! 4. exact ties are broken by `tie_order`.
//!
//! Matching: every keyword (one stem) or phrase (a run of stems within one clause) is looked up at every
//! token position. A match contained in a longer match *of the same category* is dropped ("chest pain"
//! inside "crushing chest pain"), so a phrase and its parts are not counted twice. Each keyword counts
//! once per question however often it occurs; it counts if any occurrence is not negated.

use std::collections::HashMap;

use crate::category::Category;
use crate::classification::{Classification, Decision, MatchedTerm, Scores};
use crate::config::{CategoryConfig, ClassifierSettings};
use crate::negation::negated_by;
use crate::text::{Token, tokenize};

/// Classifies questions with the keywords and rules of one [`CategoryConfig`]. Cheap to share (`&self`
/// methods only); build it once at start-up.
#[derive(Debug, Clone)]
pub struct Classifier {
    settings: ClassifierSettings,
    terms: Vec<CompiledTerm>,
    /// First stem → indices into `terms`, so each token position only checks plausible terms.
    by_first_stem: HashMap<String, Vec<usize>>,
    /// Per category (by index): whether negation cancels its cues.
    negatable: [bool; 5],
}

#[derive(Debug, Clone)]
struct CompiledTerm {
    category: Category,
    text: String,
    stems: Vec<String>,
    weight: f64,
}

/// One place in the question where a term matched.
#[derive(Debug, Clone, Copy)]
struct Occurrence {
    term: usize,
    start: usize,
    end: usize,
}

impl Classifier {
    /// Compiles the keyword index of `config`.
    pub fn new(config: &CategoryConfig) -> Self {
        let mut terms = Vec::new();
        let mut by_first_stem: HashMap<String, Vec<usize>> = HashMap::new();
        let mut negatable = [false; 5];
        for spec in config.categories() {
            negatable[spec.category.index()] = spec.negatable;
            for t in &spec.terms {
                if let Some(first) = t.stems.first() {
                    by_first_stem
                        .entry(first.clone())
                        .or_default()
                        .push(terms.len());
                }
                terms.push(CompiledTerm {
                    category: spec.category,
                    text: t.text.clone(),
                    stems: t.stems.clone(),
                    weight: t.weight,
                });
            }
        }
        Self {
            settings: config.classifier().clone(),
            terms,
            by_first_stem,
            negatable,
        }
    }

    /// Classifies a question. Deterministic: the same question and config always give the same result.
    pub fn classify(&self, question: &str) -> Classification {
        let tokens = tokenize(question);
        let occurrences = self.find_occurrences(&tokens);
        let mut protected = vec![false; tokens.len()];
        for o in &occurrences {
            protected[o.start..o.end].fill(true);
        }
        let negations = negated_by(&tokens, self.settings.negation_window, &protected);

        // term index → (first occurrence, negated by), preferring a non-negated occurrence.
        let mut fired: Vec<(Occurrence, Option<usize>)> = Vec::new();
        let mut slot: HashMap<usize, usize> = HashMap::new();
        for o in occurrences {
            let term = &self.terms[o.term];
            let neg = if self.negatable[term.category.index()] {
                negations[o.start]
            } else {
                None
            };
            match slot.get(&o.term) {
                Some(&i) => {
                    if fired[i].1.is_some() && neg.is_none() {
                        fired[i] = (o, None);
                    }
                }
                None => {
                    slot.insert(o.term, fired.len());
                    fired.push((o, neg));
                }
            }
        }

        let mut scores = Scores::default();
        let mut matched = Vec::with_capacity(fired.len());
        for (o, neg) in fired {
            let term = &self.terms[o.term];
            if neg.is_none() {
                scores.add(term.category, term.weight);
            }
            matched.push(MatchedTerm {
                category: term.category,
                term: term.text.clone(),
                weight: term.weight,
                position: o.start,
                negated_by: neg.map(|t| tokens[t].word.clone()),
            });
        }
        matched.sort_by_key(|m| (m.position, m.category));
        self.decide(scores, matched)
    }

    /// [`Classifier::classify`], then [`Classification::with_override`]: the request's category wins
    /// when given, and the result records what the classifier would have chosen.
    pub fn classify_with_override(
        &self,
        question: &str,
        requested: Option<Category>,
    ) -> Classification {
        self.classify(question).with_override(requested)
    }

    /// All term occurrences, minus those contained in a longer occurrence of the same category.
    fn find_occurrences(&self, tokens: &[Token]) -> Vec<Occurrence> {
        let mut found = Vec::new();
        for start in 0..tokens.len() {
            let Some(candidates) = self.by_first_stem.get(&tokens[start].stem) else {
                continue;
            };
            for &term in candidates {
                let stems = &self.terms[term].stems;
                let end = start + stems.len();
                let Some(window) = tokens.get(start..end) else {
                    continue;
                };
                let same_clause = window.iter().all(|t| t.clause == tokens[start].clause);
                if same_clause && window.iter().zip(stems).all(|(t, s)| &t.stem == s) {
                    found.push(Occurrence { term, start, end });
                }
            }
        }
        let contained = |o: &Occurrence| {
            found.iter().any(|p| {
                self.terms[p.term].category == self.terms[o.term].category
                    && p.start <= o.start
                    && o.end <= p.end
                    && (p.end - p.start) > (o.end - o.start)
            })
        };
        found.iter().copied().filter(|o| !contained(o)).collect()
    }

    fn decide(&self, scores: Scores, matched: Vec<MatchedTerm>) -> Classification {
        let s = &self.settings;
        let best_score = scores.iter().map(|(_, v)| v).fold(0.0, f64::max);
        // Categories at the best score, in tie_order (which always starts with emergency).
        let tied: Vec<Category> = s
            .tie_order
            .iter()
            .copied()
            .filter(|&c| (scores.get(c) - best_score).abs() < 1e-9)
            .collect();
        let top = tied.first().copied().unwrap_or(s.default_category);
        let emergency = scores.get(Category::Emergency);
        let has_signal = best_score > 0.0 && best_score >= s.min_score;

        let (category, decision, reason) = if has_signal && top == Category::Emergency {
            let runner_up = scores.best_except(Category::Emergency);
            rule_top_or_tie(top, best_score, runner_up, &tied)
        } else if emergency > 0.0
            && emergency >= s.emergency_min_score
            && emergency >= s.emergency_ratio * best_score
        {
            (
                Category::Emergency,
                Decision::EmergencyBias { top },
                format!(
                    "safety bias: emergency score {emergency:.1} >= emergency_min_score {:.1} and >= \
                     emergency_ratio {:.2} x best score ({top} {best_score:.1})",
                    s.emergency_min_score, s.emergency_ratio
                ),
            )
        } else if !has_signal {
            (
                s.default_category,
                Decision::NoSignal,
                format!(
                    "no signal: best score {best_score:.1} < min_score {:.1}; default category {}",
                    s.min_score, s.default_category
                ),
            )
        } else {
            rule_top_or_tie(top, best_score, scores.best_except(top), &tied)
        };

        let confidence = if matches!(decision, Decision::NoSignal) {
            0.0
        } else {
            let winner = scores.get(category);
            ((winner - scores.best_except(category)) / (winner + 1.0)).clamp(0.0, 1.0)
        };
        Classification {
            category,
            scores,
            matched,
            confidence,
            decision,
            reason,
        }
    }
}

/// The outcome of rules 1 and 4: `top` won outright or through `tie_order`.
fn rule_top_or_tie(
    top: Category,
    best: f64,
    runner_up: f64,
    tied: &[Category],
) -> (Category, Decision, String) {
    if tied.len() > 1 {
        let names: Vec<&str> = tied.iter().map(|c| c.as_str()).collect();
        (
            top,
            Decision::Tie {
                tied: tied.to_vec(),
            },
            format!(
                "tie at {best:.1} between {}; tie_order picks {top}",
                names.join(", ")
            ),
        )
    } else {
        (
            top,
            Decision::TopScore,
            format!("highest score: {top} {best:.1} (next best {runner_up:.1})"),
        )
    }
}
