//! Exact-tier normalisation: questions that differ only in Unicode form, case, whitespace or punctuation
//! map to the same text (and so the same key).
//!
//! It must never merge questions that mean different things, so punctuation that belongs to a number
//! (`0.5`, `1,000`, `150/95`, `12:30`) is kept, and symbols (`%`, `+`, `°`, `µ`) are kept; only sentence
//! punctuation, quotes, brackets and hyphens between words become spaces.

use unicode_normalization::UnicodeNormalization;

/// Returns the canonical form used for the exact-tier key.
pub fn normalize_question(question: &str) -> String {
    let chars: Vec<char> = question.nfkc().flat_map(char::to_lowercase).collect();
    let mut out = String::with_capacity(chars.len());
    let mut pending_space = false;
    for (i, &c) in chars.iter().enumerate() {
        let keep = if c.is_alphanumeric() {
            true
        } else if c.is_whitespace() {
            false
        } else if is_punctuation(c) {
            // keep number-internal separators: digit, sep, digit
            let prev_digit = i > 0 && chars[i - 1].is_ascii_digit();
            let next_digit = chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
            let sign = c == '-' && next_digit && (i == 0 || !chars[i - 1].is_alphanumeric());
            (matches!(c, '.' | ',' | '/' | ':') && prev_digit && next_digit) || sign
        } else {
            true // symbols: %, +, °, <, >, =, ...
        };
        if keep {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        } else {
            pending_space = true;
        }
    }
    out
}

/// Punctuation in the sense of Unicode's P* categories, for the characters questions actually contain
/// (ASCII punctuation, general punctuation, quotes, dashes, CJK and full-width forms).
pub(crate) fn is_punctuation(c: char) -> bool {
    if c.is_ascii() {
        return matches!(
            c,
            '!' | '"'
                | '#'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | ','
                | '-'
                | '.'
                | '/'
                | ':'
                | ';'
                | '?'
                | '@'
                | '['
                | '\\'
                | ']'
                | '_'
                | '{'
                | '}'
        );
    }
    matches!(c as u32,
        0x00A1 | 0x00A7 | 0x00AB | 0x00B6 | 0x00B7 | 0x00BB | 0x00BF
        | 0x2010..=0x2027 | 0x2030..=0x2043 | 0x2045..=0x2051 | 0x2053..=0x205E
        | 0x2E00..=0x2E4F | 0x3001..=0x3003 | 0x3008..=0x3011 | 0x3014..=0x301F
        | 0xFE10..=0xFE19 | 0xFE30..=0xFE52 | 0xFE54..=0xFE61 | 0xFF01..=0xFF03 | 0xFF05..=0xFF0A
        | 0xFF0C..=0xFF0F | 0xFF1A | 0xFF1B | 0xFF1F | 0xFF20 | 0xFF3B..=0xFF3D | 0xFF3F | 0xFF5B | 0xFF5D)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn case_space_punctuation_and_unicode_forms_merge() {
        let a = normalize_question("what is the treatment for scabies");
        assert_eq!(a, normalize_question("What is the treatment for scabies?"));
        assert_eq!(
            a,
            normalize_question("  WHAT  is the\ttreatment for scabies ?! ")
        );
        assert_eq!(
            a,
            normalize_question("What is the “treatment” for scabies…")
        );
        // full-width letters are NFKC-equivalent to ASCII
        assert_eq!(
            normalize_question("ＩＶ dose"),
            normalize_question("IV dose")
        );
        assert_eq!(
            normalize_question("4-year-old"),
            normalize_question("4 year old")
        );
    }

    #[test]
    fn numbers_keep_their_punctuation() {
        assert_ne!(normalize_question("0.5 mg"), normalize_question("05 mg"));
        assert_ne!(normalize_question("0.5 mg"), normalize_question("0 5 mg"));
        assert_ne!(
            normalize_question("1,000 units"),
            normalize_question("1 000 units")
        );
        assert_ne!(
            normalize_question("BP 150/95"),
            normalize_question("BP 150 95")
        );
        assert_eq!(normalize_question("Is 0.5 mg safe?"), "is 0.5 mg safe");
        assert_ne!(
            normalize_question("at -5 °C"),
            normalize_question("at 5 °C")
        );
        assert_eq!(normalize_question("5-10 mg"), "5 10 mg");
    }

    #[test]
    fn symbols_are_kept() {
        assert_ne!(
            normalize_question("HIV+ patient"),
            normalize_question("HIV patient")
        );
        assert_ne!(
            normalize_question("5% dextrose"),
            normalize_question("5 dextrose")
        );
        assert_ne!(
            normalize_question("temp > 38"),
            normalize_question("temp < 38")
        );
    }
}
