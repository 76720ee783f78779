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

struct Patterns {
    list: Vec<(PiiKind, Regex)>,
    digits_run: Regex,
    unit_after: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let src: Vec<(PiiKind, String)> = vec![
            (
                PiiKind::Name,
                r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Mister|Madam|Mrs)\.?\s+[A-Z][A-Za-z'\-]+".into(),
            ),
            (PiiKind::Name, r"(?i:\b(?:named|called|name is|name's))\s+[A-Z][a-z]+".into()),
            (PiiKind::Name, r"(?i:\bpatient\s*:)\s*[A-Z][a-z]+".into()),
            (PiiKind::Date, r"\b\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})\b".into()),
            (PiiKind::Date, r"\b\d{4}[/.\-]\d{1,2}[/.\-]\d{1,2}\b".into()),
            (PiiKind::Date, format!(r"(?i)\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH},?\s+\d{{4}}\b")),
            (PiiKind::Date, format!(r"(?i)\b{MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b")),
            (PiiKind::Date, r"(?i)\b(?:dob|d\.o\.b\.?|date of birth|born on)\b".into()),
            (PiiKind::Email, r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}".into()),
            (PiiKind::Phone, r"(?i)\b(?:tel|phone|telephone|mobile|cell|fax)\b[^0-9]{0,6}\+?\d".into()),
            (PiiKind::Phone, r"\+\d{1,3}[\s.\-]?\(?\d{1,4}\)?(?:[\s.\-]?\d{2,4}){2,4}".into()),
            (PiiKind::Phone, r"\(\d{3}\)\s?\d{3}[\s.\-]?\d{4}\b".into()),
            (PiiKind::Phone, r"\b\d{3}[.\-]\d{3}[.\-]\d{4}\b".into()),
            (PiiKind::Phone, r"\b0\d{2,4}[\s\-]\d{3,4}[\s\-]?\d{3,4}\b".into()),
            (
                PiiKind::IdNumber,
                r"(?i)\b(?:mrn|nhs\s*(?:no|number|#)|ssn|social security|patient\s*(?:id|number|no)|record\s*(?:number|no)|medical record|hospital\s*(?:number|no)|chart\s*(?:number|no)|id\s*[:#])".into(),
            ),
            (PiiKind::IdNumber, r"\b[A-Za-z]{1,3}\d{6,}\b".into()),
            (PiiKind::IdNumber, r"\b\d{3}[\s\-]\d{2}[\s\-]\d{4}\b".into()),
            (
                PiiKind::Address,
                r"\b\d{1,5}[A-Za-z]?\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Boulevard|Blvd|Way|Court|Ct|Place|Pl|Terrace|Close|Crescent|Highway|Hwy|Square|Sq|Gardens|Row|Parade)\b".into(),
            ),
            (PiiKind::Address, r"\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b".into()),
            (PiiKind::Address, r"\b\d{5}-\d{4}\b".into()),
            (PiiKind::Address, r"(?i)\b(?:lives at|living at|address is|home address|postcode|zip code)\b".into()),
        ];
        let list = src
            .into_iter()
            .filter_map(|(k, s)| match Regex::new(&s) {
                Ok(r) => Some((k, r)),
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
    let mut found: Vec<PiiKind> = p
        .list
        .iter()
        .filter(|(_, r)| r.is_match(text))
        .map(|(k, _)| *k)
        .collect();
    // Long digit runs are ID numbers unless they are a quantity ("100000 units").
    for m in p.digits_run.find_iter(text) {
        let glued_digit_before = text[..m.start()]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_digit());
        if !glued_digit_before && !p.unit_after.is_match(&text[m.end()..]) {
            found.push(PiiKind::IdNumber);
        }
    }
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
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
