//! The bundled drug dictionary (brand/synonym → generic ingredients) and drug-mention matching.
//!
//! Data: `cache/data/drug_dictionary.tsv` (generated from the MIT-licensed PyPI package
//! drug-named-entity-recognition, see cache/data/README.md) plus `drug_dictionary_extra.tsv` (ours), both
//! embedded at compile time and parsed once, zero-copy, on first use.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::text::{Kind, Tok};

const MAIN: &str = include_str!("../../data/drug_dictionary.tsv");
const EXTRA: &str = include_str!("../../data/drug_dictionary_extra.tsv");
/// Longest surface form, in words, that we try to match.
const MAX_WORDS: usize = 6;

/// Surface form (space-joined words) → ingredients joined by `|`.
#[derive(Debug)]
pub(crate) struct DrugDictionary {
    map: HashMap<&'static str, &'static str>,
}

/// The dictionary, parsed on first use.
pub(crate) fn dictionary() -> &'static DrugDictionary {
    static D: OnceLock<DrugDictionary> = OnceLock::new();
    D.get_or_init(|| {
        let mut map = HashMap::with_capacity(70_000);
        for text in [MAIN, EXTRA] {
            for line in text.lines() {
                if line.starts_with('#') || line.trim().is_empty() {
                    continue;
                }
                if let Some((variant, ingredients)) = line.split_once('\t') {
                    map.insert(variant, ingredients);
                }
            }
        }
        DrugDictionary { map }
    })
}

impl DrugDictionary {
    /// Ingredients of a surface form (space-joined lower-case words), if it is a known drug.
    pub(crate) fn lookup(&self, form: &str) -> Option<&'static str> {
        self.map.get(form).copied()
    }

    /// Number of surface forms.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// A drug found in the question.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mention {
    /// Token indices covered (words and the hyphens between them).
    pub tokens: Vec<usize>,
    /// Ingredients joined by `|` (sorted as in the dictionary).
    pub ingredients: &'static str,
    /// The words as written.
    pub surface: String,
}

/// Longest-match scan: at each word, the longest run of up to six words (joined by spaces or glued
/// hyphens) that is a dictionary form.
pub(crate) fn find_mentions(toks: &[Tok]) -> Vec<Mention> {
    let dict = dictionary();
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if !matches!(toks[i].kind, Kind::Word(_)) {
            i += 1;
            continue;
        }
        // collect up to MAX_WORDS following words
        let mut words: Vec<(usize, &str)> = Vec::new();
        let mut covered: Vec<Vec<usize>> = Vec::new();
        let mut k = i;
        let mut span = Vec::new();
        while words.len() < MAX_WORDS && k < toks.len() {
            match &toks[k].kind {
                Kind::Word(w) => {
                    span.push(k);
                    words.push((k, w.as_str()));
                    covered.push(span.clone());
                    k += 1;
                }
                Kind::Punct('-') if !toks[k].space_before && !words.is_empty() => {
                    if matches!(toks.get(k + 1).map(|t| &t.kind), Some(Kind::Word(_)))
                        && !toks[k + 1].space_before
                    {
                        span.push(k);
                        k += 1;
                    } else {
                        break;
                    }
                }
                _ => break,
            }
        }
        let mut matched = None;
        for n in (1..=words.len()).rev() {
            let form = words[..n]
                .iter()
                .map(|(_, w)| *w)
                .collect::<Vec<_>>()
                .join(" ");
            if let Some(ing) = dict.lookup(&form) {
                matched = Some((n, ing, form));
                break;
            }
        }
        match matched {
            Some((n, ingredients, surface)) => {
                let tokens = covered[n - 1].clone();
                i = tokens.last().map_or(i + 1, |l| l + 1);
                out.push(Mention {
                    tokens,
                    ingredients,
                    surface,
                });
            }
            None => i += 1,
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::text::tokenize;
    use super::*;

    fn ingredients(q: &str) -> Vec<&'static str> {
        find_mentions(&tokenize(q))
            .into_iter()
            .map(|m| m.ingredients)
            .collect()
    }

    #[test]
    fn brands_map_to_generics() {
        assert_eq!(ingredients("Is Tylenol safe?"), vec!["acetaminophen"]);
        assert_eq!(ingredients("paracetamol dose"), vec!["acetaminophen"]);
        assert_eq!(ingredients("adrenaline 1 mg"), vec!["epinephrine"]);
        assert_eq!(
            ingredients("Coartem for malaria"),
            vec!["artemether|lumefantrine"]
        );
    }

    #[test]
    fn look_alikes_differ() {
        assert_ne!(ingredients("hydroxyzine"), ingredients("hydralazine"));
        assert_ne!(ingredients("prednisone"), ingredients("prednisolone"));
        assert_ne!(ingredients("clarithromycin"), ingredients("azithromycin"));
        assert_ne!(ingredients("metformin"), ingredients("metoprolol"));
    }

    #[test]
    fn hyphenated_combinations_split() {
        assert_eq!(
            ingredients("artemether-lumefantrine"),
            vec!["artemether", "lumefantrine"]
        );
        assert_eq!(
            ingredients("hepatitis B vaccine"),
            vec!["hepatitis b vaccine"]
        );
        assert!(dictionary().len() > 60_000);
    }
}
