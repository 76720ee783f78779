//! Slot extraction: a question → the clinical facts the guards compare ([`Slots`]).
//!
//! Extractors run over *all* tokens (a qualifier inside a drug name still counts); a token that an
//! extractor fully describes is "consumed" so that the residual-term comparison does not count it twice
//! (`IV` and `intravenous` are the same route, not two different words).

use std::collections::{BTreeMap, BTreeSet};

use super::drugs::find_mentions;
use super::lexicon::{
    DRUG_SUFFIXES, drug_suffix_exception, is_intent_term, is_soft, modal, stem, synonym,
};
use super::polarity::{is_scope_boundary, negation_cue, polarity, polarity_consumes};
use super::qualifiers::{Family, qualifier, qualifier_bigram};
use super::quantity;
use super::text::{Kind, tokenize};

/// A number with its canonical unit (empty unit: a bare number).
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    /// Value in the base unit of its dimension (mg, ml, seconds, days for ages, ...).
    pub value: f64,
    /// Canonical dimension (`mass`, `mass/mass`, `volume`, `time`, `%`, `iu`, `count:tablet`, ...).
    pub unit: String,
    /// As written.
    pub text: String,
}

impl Quantity {
    pub(crate) fn same(&self, other: &Quantity) -> bool {
        self.unit == other.unit && {
            let (a, b) = (self.value, other.value);
            a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
        }
    }
}

/// Everything the guards compare about one question.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Slots {
    /// Quantities and bare numbers, in order of appearance.
    pub quantities: Vec<Quantity>,
    /// Ages (value in days).
    pub ages: Vec<Quantity>,
    /// Gestational ages (weeks).
    pub gestation: Vec<Quantity>,
    /// Frequencies and intervals, canonical (`3/day`, `every 6 hour`, `as needed`).
    pub frequencies: Vec<String>,
    /// Ordinals (`first`, `2nd`), in order.
    pub ordinals: Vec<u32>,
    /// Type designators (`type 2`, `hepatitis b`, `hiv 1`, `stage 3`).
    pub designators: Vec<String>,
    /// Drug ingredients (`|`-joined per mention), in order of first mention, without repeats.
    pub drugs: Vec<String>,
    /// Drug words as written (for messages).
    pub drug_surfaces: Vec<String>,
    /// Qualifier sets by family.
    pub qualifiers: BTreeMap<Family, BTreeSet<String>>,
    /// Routes in order of first mention ("IV to oral" is not "oral to IV").
    pub route_order: Vec<String>,
    /// Poles named on polarity axes (`safety:unsafe`, `order:before`).
    pub polarity: BTreeSet<String>,
    /// Negations: cue class and the terms in its scope.
    pub negations: Vec<(String, BTreeSet<String>)>,
    /// Remaining content words (synonyms merged, stemmed).
    pub terms: BTreeSet<String>,
    /// All terms in order of first appearance (compared only when `directional`).
    pub ordered: Vec<String>,
    /// The question contains a word that makes order matter ("A causes B", "X after Y", "A than B").
    pub directional: bool,
    /// Reasons to distrust the parse; any doubt makes the semantic tier refuse.
    pub doubts: Vec<String>,
}

/// Age bands added to the population set, so "4-year-old" and "child" agree.
fn age_band(days: f64) -> &'static str {
    let years = days / 365.25;
    if days < 28.0 {
        "neonate"
    } else if years < 1.0 {
        "infant"
    } else if years < 13.0 {
        "child"
    } else if years < 18.0 {
        "adolescent"
    } else if years < 65.0 {
        "adult"
    } else {
        "elderly"
    }
}

impl Slots {
    /// Parses a question.
    pub fn extract(question: &str) -> Slots {
        let toks = tokenize(question);
        let n = toks.len();
        let mut consumed = vec![false; n];
        let mut terms: Vec<Option<String>> = vec![None; n];
        let mut s = Slots::default();

        // drugs (dictionary, longest match)
        for m in find_mentions(&toks) {
            for &k in &m.tokens {
                consumed[k] = true;
                terms[k] = Some(format!("drug:{}", m.ingredients));
            }
            if !s.drugs.iter().any(|d| d == m.ingredients) {
                s.drugs.push(m.ingredients.to_owned());
                s.drug_surfaces.push(m.surface.clone());
            }
        }

        // numbers, units, ages, frequencies, designators, ordinals
        quantity::scan(&toks, &mut consumed, &mut terms, &mut s);
        for a in &s.ages {
            s.qualifiers
                .entry(Family::Population)
                .or_default()
                .insert(age_band(a.value).to_owned());
        }

        // qualifiers (bigrams first) and polarity
        let mut k = 0;
        while k < n {
            let Some(w) = toks[k].word() else {
                k += 1;
                continue;
            };
            if let Some((fam, canon)) = toks
                .get(k + 1)
                .and_then(|t| t.word())
                .and_then(|w2| qualifier_bigram(w, w2))
            {
                add_qualifier(&mut s, fam, canon);
                for j in [k, k + 1] {
                    consumed[j] = true;
                    terms[j].get_or_insert_with(|| format!("{}:{canon}", fam.name()));
                }
                k += 2;
                continue;
            }
            if let Some((fam, canon)) = qualifier(w) {
                add_qualifier(&mut s, fam, canon);
                consumed[k] = true;
                terms[k].get_or_insert_with(|| format!("{}:{canon}", fam.name()));
            }
            if let Some((axis, pole)) = polarity(w) {
                s.polarity.insert(format!("{axis}:{pole}"));
                if polarity_consumes(w) {
                    consumed[k] = true;
                    terms[k].get_or_insert_with(|| format!("pol:{axis}:{pole}"));
                }
            }
            k += 1;
        }

        // negation cues and their scope
        let mut k = 0;
        while k < n {
            let cue = toks[k].word().and_then(negation_cue);
            let Some(cue) = cue else {
                k += 1;
                continue;
            };
            consumed[k] = true;
            let mut scope = BTreeSet::new();
            let mut j = k + 1;
            while j < n && scope.len() < 6 {
                match &toks[j].kind {
                    Kind::Punct('.' | ',' | ';' | ':' | '?' | '!' | '(' | ')') => break,
                    Kind::Word(w) if is_scope_boundary(w) || negation_cue(w).is_some() => break,
                    Kind::Word(w) => {
                        if let Some(t) = &terms[j] {
                            scope.insert(t.clone());
                        } else if !is_soft(w) && modal(w).is_none() {
                            scope.insert(term_of(w));
                        }
                    }
                    _ => {
                        if let Some(t) = &terms[j] {
                            scope.insert(t.clone());
                        }
                    }
                }
                j += 1;
            }
            s.negations.push((cue.to_owned(), scope));
            k += 1;
        }
        s.negations.sort();

        // modal verbs count only in yes/no questions: a modal after a wh-word ("how should …") is empty
        let is_wh = |w: &str| {
            matches!(
                w,
                "what" | "which" | "how" | "when" | "why" | "where" | "who" | "whom" | "whose"
            )
        };
        let mut seen_wh = false;
        let acronyms = acronyms(question);

        // doubts (drug-like words not in the dictionary) and residual terms
        for (k, t) in toks.iter().enumerate() {
            if t.word().is_some_and(is_wh) {
                seen_wh = true;
            }
            if t.word().is_some_and(is_directional) {
                s.directional = true;
            }
            if consumed[k] {
                if let Some(term) = &terms[k] {
                    push_ordered(&mut s.ordered, term);
                }
                continue;
            }
            match &t.kind {
                Kind::Word(w) => {
                    if let Some(m) = modal(w) {
                        if !seen_wh {
                            s.terms.insert(format!("modal:{m}"));
                        }
                        continue;
                    }
                    if is_soft(w) && !acronyms.iter().any(|a| a == w) {
                        continue;
                    }
                    if w.chars().count() >= 6
                        && !drug_suffix_exception(w)
                        && DRUG_SUFFIXES.iter().any(|suf| w.ends_with(suf))
                    {
                        s.doubts.push(format!(
                            "{w:?} looks like a drug name but is not in the dictionary"
                        ));
                    }
                    let term = term_of(w);
                    push_ordered(&mut s.ordered, &term);
                    s.terms.insert(term);
                }
                Kind::Symbol(sym) => {
                    s.terms.insert((*sym).to_owned());
                }
                _ => {}
            }
        }
        s
    }
}

/// Words after which the order of the things named matters ("A causes B", "X after Y", "A than B",
/// "A increases the risk of B", "side effect of A", "a woman with epilepsy", "get pregnant").
#[rustfmt::skip]
const DIRECTIONAL: &[&str] = &[
    "cause", "causes", "caused", "causing", "lead", "leads", "led", "result", "results", "trigger", "triggers",
    "triggered", "worsen", "worsens", "affect", "affects", "predispose", "predisposes", "precede", "precedes",
    "than", "from", "into", "convert", "converts", "become", "becomes", "before", "after", "prior",
    "following", "then", "followed", "progress", "progresses", "transmit", "transmitted", "spread", "spreads",
    "instead", "rather", "over", "versus", "vs", "prefer", "preferred", "if", "because", "due", "unless",
    "increase", "increases", "increased", "increasing", "decrease", "decreases", "decreased", "raise",
    "raises", "reduce", "reduces", "lower", "lowers", "risk", "risks", "effect", "effects", "side", "adverse",
    "with", "get", "gets", "getting", "develop", "develops", "developing", "protect", "protects", "against",
    "take", "takes", "taking", "taken", "took", "safe", "unsafe", "contraindicated", "contraindication",
    "contraindications", "symptom", "symptoms", "sign", "signs", "complication", "complications",
    "indicate", "indicates", "indicator", "suggest", "suggests", "suggestive", "associated", "linked",
    "marker", "predict", "predicts", "predictor",
];

fn is_directional(w: &str) -> bool {
    DIRECTIONAL.contains(&w)
}

/// Words written in capitals inside a question that also has lower case ("ALL", "US", "AS", "HE") are
/// acronyms, never function words: "Treatment of ALL" is not "Treatment of all".
fn acronyms(question: &str) -> Vec<String> {
    if !question.chars().any(|c| c.is_lowercase()) {
        return Vec::new();
    }
    question
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2 && w.chars().all(|c| c.is_uppercase()))
        .map(str::to_lowercase)
        .collect()
}

/// Records a term for the word-order check. Intent words ("treat", "dose", "diagnose" …), polarity
/// poles, modal verbs, frequencies and the like move freely in paraphrases ("How is X treated?" = "What is
/// the treatment of X?"), so only the things named (entities) keep their order.
fn push_ordered(ordered: &mut Vec<String>, term: &str) {
    let movable = term.starts_with("pol:")
        || term.starts_with("modal:")
        || term.starts_with("freq:")
        || is_intent_term(term);
    if !movable && !ordered.iter().any(|t| t == term) {
        ordered.push(term.to_owned());
    }
}

fn add_qualifier(s: &mut Slots, fam: Family, canon: &str) {
    s.qualifiers
        .entry(fam)
        .or_default()
        .insert(canon.to_owned());
    if fam == Family::Route && !s.route_order.iter().any(|r| r == canon) {
        s.route_order.push(canon.to_owned());
    }
}

/// Canonical term of a free word: synonym class, else stem (synonym of the stem as a second chance).
fn term_of(w: &str) -> String {
    if let Some(c) = synonym(w) {
        return c.to_owned();
    }
    let st = stem(w);
    synonym(&st).map(str::to_owned).unwrap_or(st)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_canonical() {
        let a = Slots::extract("Is 0.5 g of epinephrine correct?");
        let b = Slots::extract("Is 500 mg of epinephrine correct?");
        assert_eq!(a.quantities.len(), 1);
        assert!(a.quantities[0].same(&b.quantities[0]));
        let c = Slots::extract("Is 0.5 mg of epinephrine correct?");
        assert!(!a.quantities[0].same(&c.quantities[0]));
    }

    #[test]
    fn ages_bands_and_frequencies() {
        let s = Slots::extract("Amoxicillin 250 mg three times a day for a 4-year-old?");
        assert_eq!(s.ages.len(), 1);
        assert!(s.qualifiers[&Family::Population].contains("child"));
        assert_eq!(s.frequencies, vec!["3/day".to_owned()]);
        assert_eq!(s.drugs, vec!["amoxicillin".to_owned()]);
        let t = Slots::extract("amoxicillin 250mg tid in a 4 yo");
        assert_eq!(t.frequencies, s.frequencies);
        assert!(t.ages[0].same(&s.ages[0]));
    }

    #[test]
    fn negation_scope() {
        let a = Slots::extract("fever and no stiff neck");
        let b = Slots::extract("no fever and a stiff neck");
        assert_ne!(a.negations, b.negations);
        let c = Slots::extract("fever but no stiff neck");
        assert_eq!(a.negations, c.negations);
    }

    #[test]
    fn designators() {
        assert_eq!(
            Slots::extract("HIV-2 infection").designators,
            vec!["hiv 2".to_owned()]
        );
        assert_eq!(
            Slots::extract("type II diabetes").designators,
            vec!["type 2".to_owned()]
        );
        assert_eq!(
            Slots::extract("hepatitis B vaccine").designators,
            vec!["hepatitis b".to_owned()]
        );
    }

    #[test]
    fn unknown_drug_like_words_are_doubts() {
        assert!(!Slots::extract("Is zorblumab safe?").doubts.is_empty());
        assert!(Slots::extract("Is cholesterol high?").doubts.is_empty());
        assert!(!Slots::extract("Give 5 gtx of it").doubts.is_empty());
    }
}
