//! Numbers in context: quantities with canonical units, ages, gestation, frequencies and intervals, type
//! designators, ordinals — and the doubts (a number glued to an unknown unit).
//!
//! Every number token ends up in exactly one of these slots, so no number can be silently ignored.
//! Canonical units make `0.5 g` equal `500 mg` and `1 year` equal `12 months`, but nothing else is merged:
//! `every 8 hours` is not `three times a day` (fail closed).

use super::Slots;
use super::lexicon::{is_letter_designator, is_number_designator, is_soft, roman};
use super::qualifiers::qualifier;
use super::text::{Kind, Tok};
use super::units::{YEAR_S, fmt_num, named_frequency, period, q_interval, unit, unit_at};

/// Scans all number-bearing constructions, filling `slots` and marking consumed tokens.
pub(crate) fn scan(
    toks: &[Tok],
    consumed: &mut [bool],
    terms: &mut [Option<String>],
    slots: &mut Slots,
) {
    let word = |k: usize| toks.get(k).and_then(|t| t.word());
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        // ---- words that are frequencies on their own
        if let Some(w) = t.word() {
            // roman numeral or letter after a designator word: "type II", "hepatitis B"
            if i > 0
                && let Some(prev) = word(i - 1)
            {
                if is_number_designator(prev)
                    && let Some(r) = roman(w)
                {
                    let d = format!("{prev} {r}");
                    mark(consumed, terms, i..i + 1, &format!("designator:{d}"));
                    slots.designators.push(d);
                    i += 1;
                    continue;
                }
                if is_letter_designator(prev) && w.chars().count() == 1 && w != "i" {
                    let d = format!("{prev} {w}");
                    mark(consumed, terms, i..i + 1, &format!("designator:{d}"));
                    slots.designators.push(d);
                    i += 1;
                    continue;
                }
            }
            if consumed[i] {
                i += 1;
                continue;
            }
            let freq = named_frequency(w)
                .map(str::to_owned)
                .or_else(|| q_interval(w));
            if let Some(f) = freq {
                mark(consumed, terms, i..i + 1, &format!("freq:{f}"));
                slots.frequencies.push(f);
                i += 1;
                continue;
            }
            if let Some(n) = match w {
                "once" => Some(1.0),
                "twice" => Some(2.0),
                "thrice" => Some(3.0),
                _ => None,
            } {
                let (f, used) = times_per(toks, i + 1, n);
                mark(consumed, terms, i..i + 1 + used, &format!("freq:{f}"));
                slots.frequencies.push(f);
                i += 1 + used;
                continue;
            }
            if w == "every"
                && let Some((f, used)) = every(toks, i + 1)
            {
                mark(consumed, terms, i..i + 1 + used, &format!("freq:{f}"));
                slots.frequencies.push(f);
                i += 1 + used;
                continue;
            }
            if matches!(w, "as" | "when" | "if")
                && matches!(
                    word(i + 1),
                    Some("needed" | "required" | "necessary" | "directed")
                )
            {
                let f = if word(i + 1) == Some("directed") {
                    "as directed"
                } else {
                    "as needed"
                };
                mark(consumed, terms, i..i + 2, &format!("freq:{f}"));
                slots.frequencies.push(f.into());
                i += 2;
                continue;
            }
            if (matches!(w, "per" | "each") || (w == "a" && i > 0 && consumed[i - 1]))
                && let Some(p) = word(i + 1).and_then(period)
            {
                let f = format!("1/{p}");
                mark(consumed, terms, i..i + 2, &format!("freq:{f}"));
                slots.frequencies.push(f);
                i += 2;
                continue;
            }
            i += 1;
            continue;
        }
        if let Kind::Ordinal(n) = t.kind {
            mark(consumed, terms, i..i + 1, &format!("ordinal:{n}"));
            slots.ordinals.push(n);
            i += 1;
            continue;
        }
        if let Kind::Num(v) = t.kind {
            if !v.is_finite() {
                slots.doubts.push(format!("unreadable number {:?}", t.raw));
                consumed[i] = true;
                i += 1;
                continue;
            }
            i = number(toks, i, v, consumed, terms, slots);
            continue;
        }
        i += 1;
    }
}

/// Handles the number at `i`; returns the next index.
fn number(
    toks: &[Tok],
    i: usize,
    v: f64,
    consumed: &mut [bool],
    terms: &mut [Option<String>],
    slots: &mut Slots,
) -> usize {
    let word = |k: usize| toks.get(k).and_then(|t| t.word());
    // skip a glued hyphen: "4-year-old"
    let after = |k: usize| {
        if toks.get(k).is_some_and(|t| t.is_punct('-')) {
            k + 1
        } else {
            k
        }
    };

    // ---- "aged 4", "age 70"
    let prev = if i > 0 { word(i - 1) } else { None };
    if matches!(prev, Some("aged" | "age" | "ages")) {
        let j = after(i + 1);
        let (scale, used) = match word(j).and_then(unit) {
            Some(("time", s)) => (s, j + 1 - i),
            _ => (YEAR_S, 1),
        };
        let mut end = i + used;
        if word(end) == Some("old") {
            end += 1;
        }
        push_age(slots, v * scale / 86400.0, &span_text(toks, i - 1, end));
        mark(consumed, terms, i - 1..end, "age");
        return end;
    }
    // ---- "4-year-old", "4 years old", "4 yo", "4 y/o", "6-month-old"
    let j = after(i + 1);
    if let Some(("time", scale)) = word(j).and_then(unit) {
        let k = after(j + 1);
        if word(k) == Some("old") {
            push_age(slots, v * scale / 86400.0, &span_text(toks, i, k + 1));
            mark(consumed, terms, i..k + 1, "age");
            return k + 1;
        }
    }
    if matches!(word(j), Some("yo" | "yro" | "yoa")) {
        push_age(slots, v * YEAR_S / 86400.0, &span_text(toks, i, j + 1));
        mark(consumed, terms, i..j + 1, "age");
        return j + 1;
    }
    if word(j) == Some("y")
        && toks.get(j + 1).is_some_and(|t| t.is_punct('/'))
        && word(j + 2) == Some("o")
    {
        push_age(slots, v * YEAR_S / 86400.0, &span_text(toks, i, j + 3));
        mark(consumed, terms, i..j + 3, "age");
        return j + 3;
    }
    // ---- gestation: "32 weeks gestation", "32 weeks pregnant", "32 weeks of pregnancy"
    if matches!(word(j), Some("week" | "weeks" | "wk" | "wks")) {
        let mut k = j + 1;
        if word(k) == Some("of") {
            k += 1;
        }
        if matches!(
            word(k),
            Some("gestation" | "gestational" | "pregnant" | "pregnancy" | "ga")
        ) {
            slots.gestation.push(super::Quantity {
                value: v,
                unit: "weeks".into(),
                text: span_text(toks, i, j + 1),
            });
            mark(consumed, terms, i..j + 1, "gestation");
            return j + 1;
        }
    }
    // ---- frequency: "3 times a day", "2x daily"
    if matches!(word(j), Some("times" | "time" | "x")) && j == i + 1 {
        let (f, used) = times_per(toks, j + 1, v);
        if !f.starts_with("times:") {
            mark(consumed, terms, i..j + 1 + used, &format!("freq:{f}"));
            slots.frequencies.push(f);
            return j + 1 + used;
        }
    }
    // ---- quantity with unit (glued or spaced)
    if let Some((dim, scale, len)) = unit_at(toks, j) {
        let mut value = v * scale;
        let mut unit_s = dim.to_owned();
        let mut end = j + len;
        // compound denominators: mg/kg, mg per kg; time denominators become a frequency (rate)
        for _ in 0..2 {
            let sep = toks.get(end).is_some_and(|t| t.is_punct('/')) || word(end) == Some("per");
            if !sep {
                break;
            }
            let Some(dw) = word(end + 1) else { break };
            if let Some(p) = period(dw) {
                let f = format!("1/{p}");
                mark(consumed, terms, end..end + 2, &format!("freq:{f}"));
                slots.frequencies.push(f);
                break;
            }
            match unit(dw) {
                Some((d2, s2)) => {
                    value /= s2;
                    unit_s = format!("{unit_s}/{d2}");
                    end += 2;
                }
                None if dw == "m2" => {
                    unit_s = format!("{unit_s}/area");
                    end += 2;
                }
                None => break,
            }
        }
        let text = span_text(toks, i, end);
        mark(
            consumed,
            terms,
            i..end,
            &format!("qty:{}{}", fmt_num(value), unit_s),
        );
        slots.quantities.push(super::Quantity {
            value,
            unit: unit_s,
            text,
        });
        return end;
    }
    // ---- a number glued to letters that are no unit ("60s", "5tsps"): doubt
    if let Some(w) = word(i + 1)
        && !toks[i + 1].space_before
    {
        slots
            .doubts
            .push(format!("unknown unit {w:?} after {}", toks[i].raw));
        mark(consumed, terms, i..i + 2, "doubt");
        return i + 2;
    }
    // ---- designator: "type 2", "HIV-1", "stage 3"
    let designator_word = if i > 0 && toks[i - 1].is_punct('-') && !toks[i].space_before && i > 1 {
        word(i - 2).filter(|w| !toks[i - 1].space_before && w.chars().any(char::is_alphabetic))
    } else {
        prev.filter(|w| is_number_designator(w))
    };
    if let Some(dw) = designator_word {
        let d = format!("{dw} {}", fmt_num(v));
        mark(consumed, terms, i..i + 1, &format!("designator:{d}"));
        slots.designators.push(d);
        return i + 1;
    }
    // ---- a short unknown word after a number looks like a unit we do not know: doubt
    if let Some(w) = word(i + 1) {
        let known = is_soft(w)
            || qualifier(w).is_some()
            || period(w).is_some()
            || super::polarity::polarity(w).is_some();
        if w.chars().count() <= 3 && !known && w.chars().all(char::is_alphabetic) {
            slots
                .doubts
                .push(format!("unknown unit {w:?} after {}", toks[i].raw));
            mark(consumed, terms, i..i + 2, "doubt");
            return i + 2;
        }
    }
    // ---- bare number
    mark(consumed, terms, i..i + 1, &format!("num:{}", fmt_num(v)));
    slots.quantities.push(super::Quantity {
        value: v,
        unit: String::new(),
        text: toks[i].raw.clone(),
    });
    i + 1
}

/// After "once"/"twice"/"3 times": an optional "a/per/each/every" and a period.
fn times_per(toks: &[Tok], k: usize, n: f64) -> (String, usize) {
    let word = |k: usize| toks.get(k).and_then(|t| t.word());
    if let Some(p) = word(k).and_then(period) {
        return (format!("{}/{p}", fmt_num(n)), 1);
    }
    let sep = matches!(word(k), Some("a" | "per" | "each" | "every" | "an"))
        || toks.get(k).is_some_and(|t| t.is_punct('/'));
    if sep && let Some(p) = word(k + 1).and_then(period) {
        return (format!("{}/{p}", fmt_num(n)), 2);
    }
    (format!("times:{}", fmt_num(n)), 0)
}

/// After "every": "every 6 hours", "every other day", "every day", "every morning".
fn every(toks: &[Tok], k: usize) -> Option<(String, usize)> {
    let word = |k: usize| toks.get(k).and_then(|t| t.word());
    if matches!(word(k), Some("other" | "second"))
        || toks.get(k).is_some_and(|t| t.kind == Kind::Ordinal(2))
    {
        let p = word(k + 1).and_then(period)?;
        return Some((format!("every 2 {p}"), 2));
    }
    if let Some(n) = toks.get(k).and_then(|t| t.num()) {
        let p = word(k + 1).and_then(period)?;
        return Some((format!("every {} {p}", fmt_num(n)), 2));
    }
    if let Some(p) = word(k).and_then(period) {
        return Some((format!("1/{p}"), 1));
    }
    match word(k) {
        Some("morning" | "evening") => Some((format!("1/{}", word(k)?), 1)),
        _ => None,
    }
}

fn push_age(slots: &mut Slots, days: f64, text: &str) {
    slots.ages.push(super::Quantity {
        value: days,
        unit: "days".into(),
        text: text.to_owned(),
    });
}

fn span_text(toks: &[Tok], from: usize, to: usize) -> String {
    let mut s = String::new();
    for (n, t) in toks[from..to.min(toks.len())].iter().enumerate() {
        if n > 0 && t.space_before {
            s.push(' ');
        }
        s.push_str(&t.raw);
    }
    s
}

fn mark(
    consumed: &mut [bool],
    terms: &mut [Option<String>],
    range: std::ops::Range<usize>,
    term: &str,
) {
    for k in range {
        if k < consumed.len() {
            consumed[k] = true;
            if terms[k].is_none() {
                terms[k] = Some(term.to_owned());
            }
        }
    }
}
