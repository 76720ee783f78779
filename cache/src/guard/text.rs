//! The guards' tokenizer: question text → words, numbers, ordinals, punctuation, with spacing kept.
//!
//! It normalises what would otherwise make equal questions look different (Unicode forms, case, dashes,
//! quotes, `μg`, contractions, dotted abbreviations like `b.i.d.`, number words) and never drops anything
//! that can carry meaning: every number and every word reaches some guard.

use unicode_normalization::UnicodeNormalization;

/// Token kinds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// A run of letters and digits starting with a letter (`amoxicillin`, `b12`, `q6h`), or a symbol
    /// word (`+`, `<`, `>`, `=`).
    Word(String),
    /// A number (`500`, `0.5`, `1,000`, number words).
    Num(f64),
    /// `1st`, `second`, ...
    Ordinal(u32),
    /// `%`, `°c`, `°f`, `°`.
    Symbol(&'static str),
    /// Any other punctuation character.
    Punct(char),
}

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tok {
    pub kind: Kind,
    /// The text it came from (for messages).
    pub raw: String,
    /// Whitespace separated it from the previous token.
    pub space_before: bool,
}

impl Tok {
    pub(crate) fn word(&self) -> Option<&str> {
        match &self.kind {
            Kind::Word(w) => Some(w),
            _ => None,
        }
    }
    pub(crate) fn num(&self) -> Option<f64> {
        match self.kind {
            Kind::Num(v) => Some(v),
            _ => None,
        }
    }
    pub(crate) fn is_punct(&self, c: char) -> bool {
        self.kind == Kind::Punct(c)
    }
}

/// Tokenizes a question for the guards.
pub(crate) fn tokenize(question: &str) -> Vec<Tok> {
    let text = preprocess(question);
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut space = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            space = true;
            i += 1;
            continue;
        }
        let start = i;
        let starts_number = c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()));
        if starts_number {
            let (value, end) = read_number(&chars, i);
            i = end;
            // glued letters: ordinal suffix or a unit ("500mg") or something unknown
            let mut j = i;
            while j < chars.len() && chars[j].is_alphabetic() {
                j += 1;
            }
            let suffix: String = chars[i..j].iter().collect();
            let raw: String = chars[start..i].iter().collect();
            if matches!(suffix.as_str(), "st" | "nd" | "rd" | "th")
                && value.fract() == 0.0
                && value < 1000.0
            {
                toks.push(Tok {
                    kind: Kind::Ordinal(value as u32),
                    raw: format!("{raw}{suffix}"),
                    space_before: space,
                });
                i = j;
            } else {
                toks.push(Tok {
                    kind: Kind::Num(value),
                    raw,
                    space_before: space,
                });
            }
        } else if c.is_alphabetic() {
            while i < chars.len() && chars[i].is_alphanumeric() {
                i += 1;
            }
            let w: String = chars[start..i].iter().collect();
            toks.push(Tok {
                kind: Kind::Word(w.clone()),
                raw: w,
                space_before: space,
            });
        } else if c == '%' {
            i += 1;
            toks.push(Tok {
                kind: Kind::Symbol("%"),
                raw: "%".into(),
                space_before: space,
            });
        } else if c == '°' {
            i += 1;
            let sym = match chars.get(i) {
                Some('c') if !chars.get(i + 1).is_some_and(|n| n.is_alphanumeric()) => {
                    i += 1;
                    "°c"
                }
                Some('f') if !chars.get(i + 1).is_some_and(|n| n.is_alphanumeric()) => {
                    i += 1;
                    "°f"
                }
                _ => "°",
            };
            toks.push(Tok {
                kind: Kind::Symbol(sym),
                raw: sym.into(),
                space_before: space,
            });
        } else if matches!(c, '+' | '<' | '>' | '=' | '±' | '~' | '≤' | '≥' | '#' | '@') {
            i += 1;
            toks.push(Tok {
                kind: Kind::Word(c.to_string()),
                raw: c.to_string(),
                space_before: space,
            });
        } else {
            i += 1;
            toks.push(Tok {
                kind: Kind::Punct(c),
                raw: c.to_string(),
                space_before: space,
            });
        }
        space = false;
    }
    number_words(toks)
}

fn read_number(chars: &[char], mut i: usize) -> (f64, usize) {
    let mut s = String::new();
    while i < chars.len() && chars[i].is_ascii_digit() {
        s.push(chars[i]);
        i += 1;
    }
    // thousands groups: ",ddd" not followed by another digit
    while i + 3 < chars.len() + 1
        && chars.get(i) == Some(&',')
        && chars
            .get(i + 1..i + 4)
            .is_some_and(|g| g.iter().all(|d| d.is_ascii_digit()))
        && !chars.get(i + 4).is_some_and(|d| d.is_ascii_digit())
        && !s.is_empty()
    {
        s.extend(&chars[i + 1..i + 4]);
        i += 4;
    }
    if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
        s.push('.');
        i += 1;
        while i < chars.len() && chars[i].is_ascii_digit() {
            s.push(chars[i]);
            i += 1;
        }
    }
    let s = if s.starts_with('.') {
        format!("0{s}")
    } else {
        s
    };
    (s.parse::<f64>().unwrap_or(f64::NAN), i)
}

/// NFKC, lower case, unified dashes/quotes, micro signs, contractions, dotted abbreviations, `w/`, `w/o`.
fn preprocess(q: &str) -> String {
    let lower: String = q.nfkc().flat_map(char::to_lowercase).collect();
    let mut s = String::with_capacity(lower.len() + 8);
    let chars: Vec<char> = lower.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{fe63}' => s.push('-'),
            '\u{2018}' | '\u{2019}' | '\u{201b}' | '`' | '´' => s.push('\''),
            '\u{201c}' | '\u{201d}' | '\u{201e}' => s.push('"'),
            'μ' | 'µ' => s.push_str(if chars.get(i + 1) == Some(&'g') {
                "mc"
            } else {
                "u"
            }),
            '×' => s.push_str(" x "),
            '&' => s.push_str(" and "),
            _ => s.push(c),
        }
    }
    let s = s
        .replace("w/o ", " without ")
        .replace("w/ ", " with ")
        .replace("can't", "can not")
        .replace("cannot", "can not")
        .replace("won't", "will not")
        .replace("shan't", "shall not")
        .replace("n't", " not");
    let s = strip_apostrophes(&s);
    join_dotted_abbreviations(&s)
}

/// `'s`, `'re`, `'ve`, `'ll`, `'d`, `'m` after a letter are dropped (possessives and contractions carry
/// no clinical meaning once `n't` has been expanded); other apostrophes become spaces.
fn strip_apostrophes(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\'' {
            let after_letter = i > 0 && chars[i - 1].is_alphabetic();
            let mut j = i + 1;
            while j < chars.len() && chars[j].is_alphabetic() {
                j += 1;
            }
            let suffix: String = chars[i + 1..j].iter().collect();
            if after_letter && matches!(suffix.as_str(), "s" | "re" | "ve" | "ll" | "d" | "m") {
                i = j;
                continue;
            }
            out.push(' ');
            i += 1;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// `b.i.d.` → `bid`, `p.o.` → `po`, `e.g.` → `eg`: single letters joined by dots.
fn join_dotted_abbreviations(s: &str) -> String {
    let c: Vec<char> = s.chars().collect();
    let n = c.len();
    let single_letter =
        |j: usize| j < n && c[j].is_alphabetic() && (j + 1 == n || !c[j + 1].is_alphanumeric());
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < n {
        let boundary = i == 0 || !c[i - 1].is_alphanumeric();
        if boundary && single_letter(i) && c.get(i + 1) == Some(&'.') {
            let mut j = i;
            let mut letters = String::new();
            while single_letter(j) {
                letters.push(c[j]);
                if c.get(j + 1) == Some(&'.') {
                    j += 2;
                } else {
                    j += 1;
                    break;
                }
            }
            if letters.chars().count() >= 2 {
                out.push_str(&letters);
                i = j;
                continue;
            }
        }
        out.push(c[i]);
        i += 1;
    }
    out
}

const UNITS: &[(&str, u32)] = &[
    ("zero", 0),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
];
const TENS: &[(&str, u32)] = &[
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
];
const ORDINALS: &[(&str, u32)] = &[
    ("first", 1),
    ("second", 2),
    ("third", 3),
    ("fourth", 4),
    ("fifth", 5),
    ("sixth", 6),
    ("seventh", 7),
    ("eighth", 8),
    ("ninth", 9),
    ("tenth", 10),
    ("eleventh", 11),
    ("twelfth", 12),
];

fn lookup(table: &[(&str, u32)], w: &str) -> Option<u32> {
    table.iter().find(|(k, _)| *k == w).map(|(_, v)| *v)
}

/// Number words become numbers (`twenty-five` → 25, `a hundred` stays words except `hundred` → 100),
/// ordinal words become ordinals. `once`/`twice` stay words (frequency guard).
fn number_words(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        if let Some(w) = t.word() {
            if let Some(tens) = lookup(TENS, w) {
                // "twenty five" / "twenty-five"
                let (mut value, mut used) = (tens, 1);
                let next_word = |k: usize| toks.get(k).and_then(|t| t.word());
                if let Some(u) = next_word(i + 1)
                    .and_then(|w| lookup(UNITS, w))
                    .filter(|u| (1..10).contains(u))
                {
                    value += u;
                    used = 2;
                } else if toks
                    .get(i + 1)
                    .is_some_and(|t| t.is_punct('-') && !t.space_before)
                    && let Some(u) = next_word(i + 2)
                        .and_then(|w| lookup(UNITS, w))
                        .filter(|u| (1..10).contains(u))
                {
                    value += u;
                    used = 3;
                }
                let raw = toks[i..i + used]
                    .iter()
                    .map(|t| t.raw.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                out.push(Tok {
                    kind: Kind::Num(f64::from(value)),
                    raw,
                    space_before: t.space_before,
                });
                i += used;
                continue;
            }
            let as_num = lookup(UNITS, w).or(match w {
                "hundred" => Some(100),
                "thousand" => Some(1000),
                _ => None,
            });
            if let Some(v) = as_num {
                out.push(Tok {
                    kind: Kind::Num(f64::from(v)),
                    raw: t.raw.clone(),
                    space_before: t.space_before,
                });
                i += 1;
                continue;
            }
            if let Some(v) = lookup(ORDINALS, w) {
                out.push(Tok {
                    kind: Kind::Ordinal(v),
                    raw: t.raw.clone(),
                    space_before: t.space_before,
                });
                i += 1;
                continue;
            }
        }
        out.push(t.clone());
        i += 1;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn kinds(q: &str) -> Vec<Kind> {
        tokenize(q).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn numbers_units_and_ordinals() {
        assert_eq!(
            kinds("500mg 0.5 .5 1,000 2nd"),
            vec![
                Kind::Num(500.0),
                Kind::Word("mg".into()),
                Kind::Num(0.5),
                Kind::Num(0.5),
                Kind::Num(1000.0),
                Kind::Ordinal(2)
            ]
        );
        assert_eq!(kinds("twenty-five"), vec![Kind::Num(25.0)]);
        assert_eq!(
            kinds("three times"),
            vec![Kind::Num(3.0), Kind::Word("times".into())]
        );
        assert_eq!(kinds("second-degree")[0], Kind::Ordinal(2));
    }

    #[test]
    fn micro_sign_contractions_and_abbreviations() {
        assert_eq!(kinds("5 µg")[1], Kind::Word("mcg".into()));
        assert_eq!(kinds("5 μg")[1], Kind::Word("mcg".into()));
        let w: Vec<String> = tokenize("Doesn't it work? Can't. The patient's b.i.d. p.o. dose")
            .into_iter()
            .filter_map(|t| t.word().map(str::to_owned))
            .collect();
        assert_eq!(
            w,
            vec![
                "does", "not", "it", "work", "can", "not", "the", "patient", "bid", "po", "dose"
            ]
        );
        assert_eq!(kinds("w/o food")[0], Kind::Word("without".into()));
    }

    #[test]
    fn hyphen_spacing_is_recorded() {
        let t = tokenize("HIV-2 infection");
        assert_eq!(t[0].kind, Kind::Word("hiv".into()));
        assert!(t[1].is_punct('-') && !t[1].space_before);
        assert_eq!(t[2].kind, Kind::Num(2.0));
        assert!(!t[2].space_before);
    }
}
