//! Text normalisation shared by questions and keywords: NFKC, lowercase, tokens, light stemming.
//!
//! Questions and config keywords go through exactly the same steps, so a keyword matches whenever the
//! question contains the same word in any inflection the stemmer folds together. The stemmer is
//! deliberately small and predictable (an admin can work out by hand what a keyword becomes) rather
//! than linguistically complete; derivational variants ("vaccine" / "vaccination") are listed
//! explicitly in the config instead.
//!
//! Steps:
//! 1. Unicode NFKC (full-width letters, ligatures and compatibility forms become plain letters),
//!    then lowercase.
//! 2. Apostrophes (`'`, `’`, `‘`, `ʼ`, `` ` ``) are deleted, so "can't" is the token `cant` and
//!    "child's" is `childs`.
//! 3. Every other non-alphanumeric character separates tokens; a boundary between digits and letters
//!    does too ("500mg" → `500`, `mg`).
//! 4. `, ; : . ! ?` and line breaks also start a new *clause* (not inside numbers such as "0.5"); phrases
//!    and negation scopes never cross a clause boundary.
//! 5. [`stem`] each token.

use unicode_normalization::UnicodeNormalization;

/// One normalised word of a question or keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Lowercase NFKC form without apostrophes, before stemming (negation words are matched on this).
    pub word: String,
    /// [`stem`] of `word`; keywords are matched on this.
    pub stem: String,
    /// Clause number, starting at 0; increases at `, ; : . ! ?` and line breaks.
    pub clause: u32,
}

/// Splits `text` into normalised, stemmed tokens (see the module docs for the exact steps).
pub fn tokenize(text: &str) -> Vec<Token> {
    let normalised: Vec<char> = text.nfkc().flat_map(char::to_lowercase).collect();
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut clause = 0u32;
    let mut pending_break = false;
    for (i, &c) in normalised.iter().enumerate() {
        if is_apostrophe(c) {
            continue;
        }
        if c.is_alphanumeric() {
            let digit_letter_boundary = current
                .chars()
                .last()
                .is_some_and(|prev| prev.is_numeric() != c.is_numeric());
            if digit_letter_boundary {
                push_token(&mut tokens, &mut current, clause);
            }
            if pending_break {
                push_token(&mut tokens, &mut current, clause);
                clause += 1;
                pending_break = false;
            }
            current.push(c);
            continue;
        }
        push_token(&mut tokens, &mut current, clause);
        if is_clause_break(c) && !is_inside_number(&normalised, i) {
            // Deferred so that trailing punctuation does not create an empty clause number gap that
            // matters; only a following word starts the new clause.
            pending_break = true;
        }
    }
    push_token(&mut tokens, &mut current, clause);
    tokens
}

/// The light suffix stripper applied to every token. Only ASCII alphabetic words longer than three
/// letters are changed; the result always keeps at least three letters. In order:
///
/// 1. plurals: `-ies` → `-y` (allergies → allergy), `-sses` → `-ss`, otherwise a final `-s` is removed
///    unless the word ends in `-ss`, `-us` or `-is` (loss, virus, diagnosis);
/// 2. `-ing` is removed when a vowel remains (bleeding → bleed, but not sting), otherwise `-ed` is
///    removed (dosed → dos) except after `e` (bleed, need); a doubled final consonant other than
///    l, s, z is then undoubled (stopping → stop);
/// 3. a final `-e` is removed (dose → dos, severe → sever), so dose / doses / dosing / dosed agree.
pub fn stem(word: &str) -> String {
    if word.len() <= 3 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return word.to_owned();
    }
    let mut s = word.to_owned();
    // 1. plurals
    if s.ends_with("ies") && s.len() > 4 {
        s.truncate(s.len() - 3);
        s.push('y');
    } else if s.ends_with("sses") {
        s.truncate(s.len() - 2);
    } else if s.ends_with('s') && !(s.ends_with("ss") || s.ends_with("us") || s.ends_with("is")) {
        s.truncate(s.len() - 1);
    }
    // 2. -ing / -ed
    let strip = if s.ends_with("ing") {
        3
    } else if s.ends_with("ed") && !s.ends_with("eed") {
        2
    } else {
        0
    };
    if strip > 0 {
        let base = &s[..s.len() - strip];
        if base.len() >= 3 && base.bytes().any(is_vowel) {
            s.truncate(s.len() - strip);
            undouble(&mut s);
        }
    }
    // 3. final e
    if s.len() > 3 && s.ends_with('e') {
        s.truncate(s.len() - 1);
    }
    s
}

/// The stems of `text` joined by single spaces; how a config keyword is displayed after normalisation.
pub fn normalised_form(text: &str) -> String {
    let stems: Vec<String> = tokenize(text).into_iter().map(|t| t.stem).collect();
    stems.join(" ")
}

fn push_token(tokens: &mut Vec<Token>, current: &mut String, clause: u32) {
    if current.is_empty() {
        return;
    }
    let word = std::mem::take(current);
    let stem = stem(&word);
    tokens.push(Token { word, stem, clause });
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`')
}

fn is_clause_break(c: char) -> bool {
    matches!(c, ',' | ';' | ':' | '.' | '!' | '?' | '\n' | '\r')
}

/// "0.5" and "1,000" do not break clauses.
fn is_inside_number(chars: &[char], i: usize) -> bool {
    let c = chars[i];
    if c != '.' && c != ',' {
        return false;
    }
    let before = i.checked_sub(1).and_then(|j| chars.get(j));
    let after = chars.get(i + 1);
    matches!((before, after), (Some(b), Some(a)) if b.is_numeric() && a.is_numeric())
}

fn is_vowel(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

fn undouble(s: &mut String) {
    let bytes = s.as_bytes();
    let n = bytes.len();
    // "stopp" → "stop", but "swell", "miss" and "fizz" keep their double letter.
    if n >= 2
        && bytes[n - 1] == bytes[n - 2]
        && !is_vowel(bytes[n - 1])
        && !matches!(bytes[n - 1], b'l' | b's' | b'z')
    {
        s.truncate(n - 1);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn stems(text: &str) -> Vec<String> {
        tokenize(text).into_iter().map(|t| t.stem).collect()
    }

    #[test]
    fn inflections_fold_together() {
        for group in [
            &["dose", "doses", "dosing", "dosed"][..],
            &["bleed", "bleeding", "bleeds"],
            &["vaccinate", "vaccinated", "vaccinates", "vaccinating"],
            &["allergy", "allergies"],
            &["rash", "rashes"],
            &["stop", "stopping", "stopped", "stops"],
            &["treat", "treated", "treating", "treats"],
            &["collapse", "collapsed", "collapses", "collapsing"],
        ] {
            let first = stem(group[0]);
            for w in group {
                assert_eq!(stem(w), first, "{w} should stem like {}", group[0]);
            }
        }
    }

    #[test]
    fn stemmer_leaves_protected_words_alone() {
        assert_eq!(stem("diagnosis"), "diagnosis");
        assert_eq!(stem("virus"), "virus");
        assert_eq!(stem("loss"), "loss");
        assert_eq!(stem("sting"), "sting");
        assert_eq!(stem("swelling"), "swell");
        assert_eq!(stem("need"), "need");
        assert_eq!(stem("mg"), "mg");
        assert_eq!(stem("über"), "über");
    }

    #[test]
    fn tokenizer_normalises_unicode_apostrophes_and_numbers() {
        // Full-width letters (NFKC), curly apostrophe, digit/letter split, decimal point kept in clause.
        let toks = tokenize("Ｃan’t take 0.5mg, NOW");
        let words: Vec<&str> = toks.iter().map(|t| t.word.as_str()).collect();
        assert_eq!(words, ["cant", "take", "0", "5", "mg", "now"]);
        let clauses: Vec<u32> = toks.iter().map(|t| t.clause).collect();
        assert_eq!(clauses, [0, 0, 0, 0, 0, 1]);
        assert_eq!(stems("First-line X-ray"), ["first", "lin", "x", "ray"]);
        assert_eq!(normalised_form("Side effects?"), "sid effect");
    }

    #[test]
    fn trailing_punctuation_does_not_open_empty_clauses() {
        let toks = tokenize("Chest pain!!! Help...");
        let clauses: Vec<u32> = toks.iter().map(|t| t.clause).collect();
        assert_eq!(clauses, [0, 0, 1]);
    }
}
