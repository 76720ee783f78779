//! Detector for text that looks like it carries patient identifiers.
//!
//! Policy (see docs/cache.md): a question that trips any detector is **not cached at all** — neither on disk
//! nor in memory — and is not looked up either, so identifying text never enters the cache's data structures,
//! its embeddings or its logs. The detector errs on the side of flagging: a false positive only costs a
//! cache miss, a false negative would put an identifier on disk.
//!
//! Patterns work on the original text (capitalisation matters for names after titles).

use std::fmt;
use std::sync::OnceLock;

use regex_lite::Regex;

/// The kind of identifier found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    /// A personal name after a title ("Mr. Smith") or an introduction ("named Jane").
    Name,
    /// A full calendar date or a date-of-birth cue.
    Date,
    /// A telephone number.
    Phone,
    /// An e-mail address.
    Email,
    /// A long identification number (MRN, NHS number, SSN, ...) or an ID cue.
    IdNumber,
    /// A street address or postcode.
    Address,
}

impl fmt::Display for PiiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            PiiKind::Name => "name",
            PiiKind::Date => "date",
            PiiKind::Phone => "phone number",
            PiiKind::Email => "e-mail address",
            PiiKind::IdNumber => "identification number",
            PiiKind::Address => "address",
        };
        f.write_str(s)
    }
}

const MONTH: &str = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?";
const MONTH_WORDS: &[&str] = &[
    "jan",
    "january",
    "feb",
    "february",
    "mar",
    "march",
    "apr",
    "april",
    "may",
    "jun",
    "june",
    "jul",
    "july",
    "aug",
    "august",
    "sep",
    "sept",
    "september",
    "oct",
    "october",
    "nov",
    "november",
    "dec",
    "december",
];
const TITLES: &[&str] = &[
    "Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof", "Sir", "Mister", "Madam",
];
const STREETS: &[&str] = &[
    "Street",
    "St",
    "Road",
    "Rd",
    "Avenue",
    "Ave",
    "Lane",
    "Ln",
    "Drive",
    "Boulevard",
    "Blvd",
    "Way",
    "Court",
    "Ct",
    "Place",
    "Pl",
    "Terrace",
    "Close",
    "Crescent",
    "Highway",
    "Hwy",
    "Square",
    "Sq",
    "Gardens",
    "Row",
    "Parade",
];

/// When a pattern can possibly match: checked on cheap features first, so an ordinary question runs
/// only a few regexes (regex-lite has no literal prefilters of its own).
enum Gate {
    /// At least this many ASCII digits in the text.
    Digits(usize),
    /// An `@` in the text.
    At,
    /// One of these lower-case words.
    Words(&'static [&'static str]),
    /// One of these words, case as written.
    WordsCase(&'static [&'static str]),
    /// A street word and a digit.
    Street,
}

struct Features<'a> {
    digits: usize,
    at: bool,
    words: Vec<&'a str>,
}

impl Gate {
    fn open(&self, f: &Features<'_>) -> bool {
        match self {
            Gate::Digits(n) => f.digits >= *n,
            Gate::At => f.at,
            Gate::Words(list) => f
                .words
                .iter()
                .any(|w| list.iter().any(|l| w.eq_ignore_ascii_case(l))),
            Gate::WordsCase(list) => f.words.iter().any(|w| list.contains(w)),
            Gate::Street => f.digits >= 1 && f.words.iter().any(|w| STREETS.contains(w)),
        }
    }
}

struct Patterns {
    list: Vec<(PiiKind, Gate, Regex)>,
    digits_run: Regex,
    unit_after: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        use Gate::*;
        let src: Vec<(PiiKind, Gate, String)> = vec![
            (PiiKind::Name, WordsCase(TITLES), r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Mister|Madam)\.?\s+[A-Z][A-Za-z'\-]+".into()),
            (PiiKind::Name, Words(&["named", "called", "name"]), r"(?i:\b(?:named|called|name is|name's))\s+[A-Z][a-z]+".into()),
            (PiiKind::Name, Words(&["patient"]), r"(?i:\bpatient\s*:)\s*[A-Z][a-z]+".into()),
            (PiiKind::Date, Digits(4), r"\b\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})\b".into()),
            (PiiKind::Date, Digits(4), r"\b\d{4}[/.\-]\d{1,2}[/.\-]\d{1,2}\b".into()),
            (PiiKind::Date, Words(MONTH_WORDS), format!(r"(?i)\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH},?\s+\d{{4}}\b")),
            (PiiKind::Date, Words(MONTH_WORDS), format!(r"(?i)\b{MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b")),
            (PiiKind::Date, Words(&["dob", "d", "birth", "born"]), r"(?i)\b(?:dob|d\.o\.b\.?|date of birth|born on)\b".into()),
            (PiiKind::Email, At, r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}".into()),
            (
                PiiKind::Phone,
                Words(&["tel", "phone", "telephone", "mobile", "cell", "fax"]),
                r"(?i)\b(?:tel|phone|telephone|mobile|cell|fax)\b[^0-9]{0,6}\+?\d".into(),
            ),
            (PiiKind::Phone, Digits(7), r"\+\d{1,3}[\s.\-]?\(?\d{1,4}\)?(?:[\s.\-]?\d{2,4}){2,4}".into()),
            (PiiKind::Phone, Digits(10), r"\(\d{3}\)\s?\d{3}[\s.\-]?\d{4}\b".into()),
            (PiiKind::Phone, Digits(10), r"\b\d{3}[.\-]\d{3}[.\-]\d{4}\b".into()),
            (PiiKind::Phone, Digits(9), r"\b0\d{2,4}[\s\-]\d{3,4}[\s\-]?\d{3,4}\b".into()),
            (
                PiiKind::IdNumber,
                Words(&["mrn", "nhs", "ssn", "social", "patient", "record", "medical", "hospital", "chart", "id"]),
                r"(?i)\b(?:mrn|nhs\s*(?:no|number|#)|ssn|social security|patient\s*(?:id|number|no)|record\s*(?:number|no)|medical record|hospital\s*(?:number|no)|chart\s*(?:number|no)|id\s*[:#])".into(),
            ),
            (PiiKind::IdNumber, Digits(6), r"\b[A-Za-z]{1,3}\d{6,}\b".into()),
            (PiiKind::IdNumber, Digits(9), r"\b\d{3}[\s\-]\d{2}[\s\-]\d{4}\b".into()),
            (
                PiiKind::Address,
                Street,
                r"\b\d{1,5}[A-Za-z]?\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Boulevard|Blvd|Way|Court|Ct|Place|Pl|Terrace|Close|Crescent|Highway|Hwy|Square|Sq|Gardens|Row|Parade)\b".into(),
            ),
            (PiiKind::Address, Digits(2), r"\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b".into()),
            (PiiKind::Address, Digits(9), r"\b\d{5}-\d{4}\b".into()),
            (
                PiiKind::Address,
                Words(&["lives", "living", "address", "postcode", "zip"]),
                r"(?i)\b(?:lives at|living at|address is|home address|postcode|zip code)\b".into(),
            ),
        ];
        let list = src
            .into_iter()
            .filter_map(|(k, g, s)| match Regex::new(&s) {
                Ok(r) => Some((k, g, r)),
                Err(e) => {
                    // A broken pattern is a programming error caught by the unit tests below.
                    tracing::error!("PII pattern {s:?} does not compile: {e}");
                    None
                }
            })
            .collect();
        #[allow(clippy::unwrap_used)] // constant patterns, covered by tests
        Patterns {
            list,
            digits_run: Regex::new(r"\d{6,}").unwrap(),
            unit_after: Regex::new(r"(?i)^\s*(?:units?|iu|mg|mcg|µg|ug|g|ml|l|mmol|meq|copies|cells|/)").unwrap(),
        }
    })
}

/// Kinds of identifiers found in `text` (sorted, without duplicates; empty when none).
pub fn detect_pii(text: &str) -> Vec<PiiKind> {
    let p = patterns();
    let features = Features {
        digits: text.bytes().filter(u8::is_ascii_digit).count(),
        at: text.contains('@'),
        words: text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect(),
    };
    let mut found: Vec<PiiKind> = p
        .list
        .iter()
        .filter(|(_, g, r)| g.open(&features) && r.is_match(text))
        .map(|(k, _, _)| *k)
        .collect();
    // Long digit runs are ID numbers unless they are a quantity ("100000 units").
    if features.digits >= 6 {
        for m in p.digits_run.find_iter(text) {
            let glued_digit_before = text[..m.start()]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_digit());
            if !glued_digit_before && !p.unit_after.is_match(&text[m.end()..]) {
                found.push(PiiKind::IdNumber);
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn flags_identifiers() {
        let cases: &[(&str, PiiKind)] = &[
            ("Mr. Smith has chest pain, what should I do?", PiiKind::Name),
            ("Can Mrs Patel take ibuprofen?", PiiKind::Name),
            ("My patient named Jane has a rash", PiiKind::Name),
            ("Born 12/03/1985, is she due for a smear?", PiiKind::Date),
            ("Seen on 2024-03-05 with cough", PiiKind::Date),
            ("Patient born on 3 March 1960 with angina", PiiKind::Date),
            ("DOB March 3, 1960: dose of aspirin?", PiiKind::Date),
            ("Call me at 555-123-4567 about the dose", PiiKind::Phone),
            ("Phone: 020 7946 0958", PiiKind::Phone),
            ("Reach +44 20 7946 0958", PiiKind::Phone),
            ("Send results to jane.doe@example.org", PiiKind::Email),
            ("MRN 12345678 needs a refill", PiiKind::IdNumber),
            ("Patient 48213377 has a fever", PiiKind::IdNumber),
            (
                "NHS number 943 476 5919, can he take statins?",
                PiiKind::IdNumber,
            ),
            (
                "He lives at 221 Baker Street, dizzy spells",
                PiiKind::Address,
            ),
            ("Postcode SW1A 1AA", PiiKind::Address),
        ];
        for (text, kind) in cases {
            let found = detect_pii(text);
            assert!(
                found.contains(kind),
                "{text:?} should be flagged as {kind:?}, got {found:?}"
            );
        }
    }

    #[test]
    fn ordinary_medical_questions_pass() {
        for text in [
            "What is the usual adult dose of amoxicillin for acute otitis media?",
            "Is 500 mg of amoxicillin three times a day appropriate for an adult?",
            "Give 1 mg of adrenaline IV for cardiac arrest?",
            "Penicillin G 100000 units/kg for a neonate?",
            "Is a blood pressure of 150/95 high for a 70-year-old?",
            "Fever for 2 days in a child: when to see a doctor?",
            "When should Dr visits happen for type 2 diabetes?",
            "What is the schedule for the hepatitis B vaccine?",
            "Dose of vitamin D 1000 IU per day in pregnancy?",
            "What does an HbA1c of 7.5% mean?",
        ] {
            assert!(
                detect_pii(text).is_empty(),
                "{text:?} flagged: {:?}",
                detect_pii(text)
            );
        }
    }
}
