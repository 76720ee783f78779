//! Negation scopes: which tokens a negation word ("no", "denies", "without", ...) cancels.
//!
//! A small NegEx-style rule set, tuned for *safety* rather than recall: a missed negation leaves an
//! emergency cue counted (the question may be routed to the emergency prompt unnecessarily, which costs
//! little), while a wrong negation would hide a real emergency. So scopes are short and end early:
//!
//! * a trigger negates the tokens after it, up to `window` tokens away;
//! * the scope ends at a clause break (`, ; : . ! ?`, line break) and at the words
//!   `and but however although though yet except apart aside still` — "no fever and chest pain" keeps
//!   "chest pain"; "no chest pain or shortness of breath" negates both;
//! * a trigger followed by a word that describes a failing vital function or a non-negating idiom
//!   ("not breathing", "not responding", "no longer", "not sure", "doesn't stop", ...) is a
//!   *pseudo-trigger* and negates nothing;
//! * a trigger that is itself part of a matched keyword phrase ("no pulse", "not breathing") negates
//!   nothing: the phrase already describes the finding.
//!
//! Negation only applies to categories marked `negatable` in the config (emergency by default): "without
//! a prescription" is still a medication question.

use crate::text::{Token, stem};

/// Words that open a negation scope (matched on the lowercase word before stemming; apostrophes are
/// already removed, so "doesn't" is `doesnt`). "can't" and "won't" are deliberately absent: "can't
/// breathe" and "won't stop bleeding" describe emergencies.
const TRIGGERS: &[&str] = &[
    "no", "not", "without", "never", "denies", "denied", "deny", "denying", "none", "nor",
    "neither", "negative", "absent", "doesnt", "dont", "didnt", "isnt", "wasnt", "hasnt", "havent",
    "hadnt", "arent", "werent",
];

/// Words that, right after a trigger, make it a pseudo-trigger (see the module docs). Compared after
/// stemming, so "breathe", "breathing" and "breathes" all count.
const PSEUDO_FOLLOWERS: &[&str] = &[
    "only",
    "longer",
    "sure",
    "certain",
    "stop",
    "improve",
    "improvement",
    "better",
    "change",
    "help",
    "work",
    "respond",
    "responsive",
    "breathe",
    "wake",
    "move",
    "conscious",
    "alert",
    "able",
    "one",
];

/// Words that end a negation scope.
const TERMINATORS: &[&str] = &[
    "and", "but", "however", "although", "though", "yet", "except", "apart", "aside", "still",
];

/// For each token, the index of the trigger that negates it, if any.
///
/// `protected[i]` is true when token `i` is part of a matched keyword or phrase; such a token never acts
/// as a trigger. `window = 0` disables negation.
pub(crate) fn negated_by(tokens: &[Token], window: u32, protected: &[bool]) -> Vec<Option<usize>> {
    let mut out = vec![None; tokens.len()];
    let window = window as usize;
    if window == 0 {
        return out;
    }
    for (t, token) in tokens.iter().enumerate() {
        if !TRIGGERS.contains(&token.word.as_str()) || protected.get(t).copied().unwrap_or(false) {
            continue;
        }
        let next_is_pseudo = tokens.get(t + 1).is_some_and(|n| {
            n.clause == token.clause && PSEUDO_FOLLOWERS.iter().any(|w| stem(w) == n.stem)
        });
        if next_is_pseudo {
            continue;
        }
        for i in (t + 1)..tokens.len().min(t + 1 + window) {
            let tok = &tokens[i];
            if tok.clause != token.clause || TERMINATORS.contains(&tok.word.as_str()) {
                break;
            }
            // A later trigger takes over from here (it is found by the outer loop), which matters
            // only for reporting which word negated a term.
            out[i] = Some(t);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use crate::text::tokenize;

    /// The words of `text` that are negated.
    fn negated(text: &str) -> Vec<String> {
        let toks = tokenize(text);
        let protected = vec![false; toks.len()];
        negated_by(&toks, 5, &protected)
            .iter()
            .zip(&toks)
            .filter(|(n, _)| n.is_some())
            .map(|(_, t)| t.word.clone())
            .collect()
    }

    #[test]
    fn scope_covers_following_words_up_to_the_window() {
        assert_eq!(negated("no chest pain"), ["chest", "pain"]);
        assert_eq!(
            negated("denies chest pain or shortness of breath today"),
            ["chest", "pain", "or", "shortness", "of"]
        );
        assert_eq!(negated("Patient without fever"), ["fever"]);
    }

    #[test]
    fn scope_ends_at_clause_breaks_and_terminators() {
        assert_eq!(negated("no fever, chest pain"), ["fever"]);
        assert_eq!(negated("no fever and chest pain"), ["fever"]);
        assert_eq!(negated("no fever but crushing chest pain"), ["fever"]);
    }

    #[test]
    fn pseudo_triggers_negate_nothing() {
        assert!(negated("he is not breathing").is_empty());
        assert!(negated("she is not responding to voice").is_empty());
        assert!(negated("the bleeding doesn't stop").is_empty());
        assert!(negated("I'm not sure about the chest pain").is_empty());
        // "can't" is not a trigger at all.
        assert!(negated("can't breathe properly").is_empty());
    }

    #[test]
    fn protected_triggers_and_zero_window_negate_nothing() {
        let toks = tokenize("no pulse and no fever today");
        let mut protected = vec![false; toks.len()];
        protected[0] = true;
        protected[1] = true;
        let n = negated_by(&toks, 5, &protected);
        assert_eq!(n[1], None, "the phrase 'no pulse' protects its own 'no'");
        assert_eq!(n[4], Some(3), "the second 'no' is an ordinary trigger");
        assert_eq!(
            n[2], None,
            "'and' ends nothing here but is outside any scope"
        );
        assert!(negated_by(&toks, 0, &protected).iter().all(Option::is_none));
    }
}
