//! Unit and frequency vocabularies: unit words with their dimension and scale to the base unit,
//! countable dose forms, period words, frequency abbreviations (`bid`, `q6h`), and the unit found at a
//! token position (`%`, `°c`, `per cent`, `mm hg`).

use super::text::{Kind, Tok};

pub(crate) const YEAR_S: f64 = 365.25 * 86400.0;

/// (dimension, scale to the base unit) of a unit word.
pub(crate) fn unit(w: &str) -> Option<(&'static str, f64)> {
    Some(match w {
        "kg" | "kgs" | "kilogram" | "kilograms" | "kilo" | "kilos" => ("mass", 1e6),
        "g" | "gm" | "gms" | "gram" | "grams" | "gramme" | "grammes" | "gr" => ("mass", 1e3),
        "mg" | "mgs" | "milligram" | "milligrams" | "milligramme" | "milligrammes" => ("mass", 1.0),
        "mcg" | "ug" | "microgram" | "micrograms" | "mcgs" => ("mass", 1e-3),
        "ng" | "nanogram" | "nanograms" => ("mass", 1e-6),
        "lb" | "lbs" | "pound" | "pounds" => ("mass", 453_592.37),
        "oz" | "ounce" | "ounces" => ("ounce", 1.0),
        "l" | "litre" | "litres" | "liter" | "liters" | "ltr" => ("volume", 1e3),
        "dl" | "decilitre" | "deciliter" => ("volume", 100.0),
        "ml" | "mls" | "millilitre" | "millilitres" | "milliliter" | "milliliters" | "cc" => {
            ("volume", 1.0)
        }
        "ul" | "microlitre" | "microliter" | "microlitres" | "microliters" => ("volume", 1e-3),
        "tsp" | "teaspoon" | "teaspoons" | "teaspoonful" | "teaspoonfuls" => ("teaspoon", 1.0),
        "tbsp" | "tablespoon" | "tablespoons" | "tablespoonful" => ("tablespoon", 1.0),
        "iu" | "unit" | "units" | "u" => ("iu", 1.0),
        "miu" | "mu" => ("iu", 1e-3),
        "mol" | "mole" | "moles" => ("mol", 1e3),
        "mmol" | "millimole" | "millimoles" => ("mol", 1.0),
        "umol" | "micromol" | "micromole" | "micromoles" => ("mol", 1e-3),
        "meq" | "milliequivalent" | "milliequivalents" => ("meq", 1.0),
        "percent" => ("%", 1.0),
        "sec" | "secs" | "second" | "seconds" => ("time", 1.0),
        "min" | "mins" | "minute" | "minutes" => ("time", 60.0),
        "h" | "hr" | "hrs" | "hour" | "hours" => ("time", 3600.0),
        "d" | "day" | "days" => ("time", 86400.0),
        "night" | "nights" => ("night", 1.0),
        "wk" | "wks" | "week" | "weeks" => ("time", 7.0 * 86400.0),
        "mo" | "mos" | "month" | "months" => ("time", YEAR_S / 12.0),
        "y" | "yr" | "yrs" | "year" | "years" => ("time", YEAR_S),
        "mm" | "millimetre" | "millimeter" | "millimetres" | "millimeters" => ("length", 1.0),
        "cm" | "centimetre" | "centimeter" | "centimetres" | "centimeters" => ("length", 10.0),
        "m" | "metre" | "meter" | "metres" | "meters" => ("length", 1000.0),
        "km" => ("length", 1e6),
        "inch" | "inches" => ("length", 25.4),
        "ft" | "feet" | "foot" => ("length", 304.8),
        "m2" | "sqm" => ("area", 1.0),
        "mmhg" => ("mmhg", 1.0),
        "kcal" | "calories" | "calorie" | "cal" => ("kcal", 1.0),
        "bpm" => ("per-minute", 1.0),
        "celsius" | "centigrade" => ("°c", 1.0),
        "fahrenheit" => ("°f", 1.0),
        "degree" | "degrees" => ("degree", 1.0),
        "x" | "times" | "time" => ("times", 1.0),
        _ => return count_noun(w).map(|n| (n, 1.0)),
    })
}

/// Countable things a dose can be measured in.
pub(crate) fn count_noun(w: &str) -> Option<&'static str> {
    Some(match w {
        "tablet" | "tablets" | "tab" | "tabs" | "pill" | "pills" => "count:tablet",
        "capsule" | "capsules" | "cap" => "count:capsule",
        "puff" | "puffs" => "count:puff",
        "drop" | "drops" | "gtt" | "gtts" => "count:drop",
        "spray" | "sprays" => "count:spray",
        "sachet" | "sachets" => "count:sachet",
        "patch" | "patches" => "count:patch",
        "dose" | "doses" => "count:dose",
        "injection" | "injections" | "shot" | "shots" => "count:injection",
        "vial" | "vials" | "ampoule" | "ampoules" | "ampule" | "ampules" => "count:vial",
        "suppository" | "suppositories" => "count:suppository",
        "breath" | "breaths" => "count:breath",
        "beat" | "beats" => "count:beat",
        "cigarette" | "cigarettes" => "count:cigarette",
        "drink" | "drinks" => "count:drink",
        "episode" | "episodes" => "count:episode",
        "stool" | "stools" => "count:stool",
        _ => return None,
    })
}

/// A period word for frequencies ("a day", "per week").
pub(crate) fn period(w: &str) -> Option<&'static str> {
    Some(match w {
        "min" | "minute" | "minutes" | "mins" => "minute",
        "h" | "hr" | "hrs" | "hour" | "hours" | "hourly" => "hour",
        "d" | "day" | "days" | "daily" | "24h" => "day",
        "night" | "nightly" => "night",
        "wk" | "week" | "weeks" | "weekly" => "week",
        "month" | "months" | "monthly" => "month",
        "year" | "years" | "yearly" | "annually" | "annual" => "year",
        _ => return None,
    })
}

/// Frequency abbreviations and adverbs standing alone.
pub(crate) fn named_frequency(w: &str) -> Option<&'static str> {
    Some(match w {
        "od" | "qd" | "daily" | "qday" => "1/day",
        "bid" | "bd" => "2/day",
        "tid" | "tds" => "3/day",
        "qid" | "qds" => "4/day",
        "qod" => "every 2 day",
        "qhs" | "nightly" => "1/night",
        "hourly" => "1/hour",
        "weekly" => "1/week",
        "fortnightly" => "every 2 week",
        "monthly" => "1/month",
        "yearly" | "annually" => "1/year",
        "prn" => "as needed",
        "stat" => "stat",
        _ => return None,
    })
}

/// `q6h`, `q8hr`, `q4`, `q2d`.
pub(crate) fn q_interval(w: &str) -> Option<String> {
    let rest = w.strip_prefix('q')?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    match &rest[digits.len()..] {
        "" | "h" | "hr" | "hrs" | "hourly" => Some(format!("every {n} hour")),
        "d" => Some(format!("every {n} day")),
        "w" | "wk" => Some(format!("every {n} week")),
        _ => None,
    }
}

pub(crate) fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A unit starting at token `j`: word units, `%`, `°c`/`°f`, `per cent`, `mm hg`.
pub(crate) fn unit_at(toks: &[Tok], j: usize) -> Option<(&'static str, f64, usize)> {
    let t = toks.get(j)?;
    match &t.kind {
        Kind::Symbol("%") => Some(("%", 1.0, 1)),
        Kind::Symbol("°c") => Some(("°c", 1.0, 1)),
        Kind::Symbol("°f") => Some(("°f", 1.0, 1)),
        Kind::Word(w) => {
            let next = toks.get(j + 1).and_then(|t| t.word());
            if w == "per" && next == Some("cent") {
                return Some(("%", 1.0, 2));
            }
            if w == "mm" && next == Some("hg") {
                return Some(("mmhg", 1.0, 2));
            }
            if (w == "fl" || w == "fluid") && matches!(next, Some("oz" | "ounce" | "ounces")) {
                return Some(("fluid ounce", 1.0, 2));
            }
            unit(w).map(|(d, s)| (d, s, 1))
        }
        _ => None,
    }
}
