//! Word lists of the guards: designators, drug-name suffixes, function ("soft") words, modal verbs,
//! synonyms and the stemmer. Pure tables; the logic lives in `slots` (qualifier families are in
//! `qualifiers`, polarity and negation in `polarity`).
//!
//! Entries are deliberately conservative: a synonym merges two words only when swapping them can never
//! change the answer; anything not listed stays a word of its own and must match literally.

/// Words followed by a type number: `type 2`, `stage III`, `grade 1`, `HIV-1`.
pub(crate) fn is_number_designator(w: &str) -> bool {
    matches!(
        w,
        "type"
            | "types"
            | "stage"
            | "stages"
            | "grade"
            | "grades"
            | "class"
            | "phase"
            | "factor"
            | "schedule"
            | "degree"
            | "level"
            | "category"
            | "step"
            | "tier"
            | "gravida"
            | "para"
            | "zone"
            | "cycle"
            | "day"
            | "week"
            | "dose"
            | "hiv"
            | "htlv"
            | "hsv"
            | "covid"
            | "hpv"
            | "dengue"
            | "cd"
            | "il"
    )
}

/// Words followed by a type letter: `hepatitis B`, `vitamin D`, `group A`.
pub(crate) fn is_letter_designator(w: &str) -> bool {
    matches!(
        w,
        "hepatitis"
            | "hep"
            | "vitamin"
            | "vit"
            | "group"
            | "type"
            | "class"
            | "factor"
            | "influenza"
            | "flu"
            | "strep"
            | "streptococcus"
            | "category"
            | "schedule"
            | "plan"
            | "blood"
            | "serotype"
            | "grade"
            | "zone"
            | "list"
    )
}

/// Roman numerals used after designators (i..xii).
pub(crate) fn roman(w: &str) -> Option<u32> {
    Some(match w {
        "i" => 1,
        "ii" => 2,
        "iii" => 3,
        "iv" => 4,
        "v" => 5,
        "vi" => 6,
        "vii" => 7,
        "viii" => 8,
        "ix" => 9,
        "x" => 10,
        "xi" => 11,
        "xii" => 12,
        _ => return None,
    })
}

/// Endings of drug names (INN stems). A word with one of these that is not in the drug dictionary is a
/// doubt: it may be a drug we cannot tell apart from its look-alike, so the semantic tier refuses it.
pub(crate) const DRUG_SUFFIXES: &[&str] = &[
    "mab",
    "pril",
    "olol",
    "alol",
    "ilol",
    "statin",
    "cillin",
    "mycin",
    "micin",
    "azole",
    "vir",
    "tide",
    "sartan",
    "dipine",
    "prazole",
    "floxacin",
    "cycline",
    "parin",
    "xaban",
    "gatran",
    "gliptin",
    "gliflozin",
    "glitazone",
    "tinib",
    "lukast",
    "triptan",
    "setron",
    "azepam",
    "azolam",
    "oxetine",
    "afil",
    "dronate",
    "sone",
    "olone",
    "profen",
    "fenac",
    "caine",
    "barbital",
    "terol",
    "tidine",
    "zosin",
    "semide",
    "thiazide",
    "platin",
    "rubicin",
    "taxel",
    "vudine",
    "citabine",
    "trexate",
    "triptyline",
    "pramine",
    "peridol",
    "fungin",
    "grel",
    "relin",
    "pressin",
    "tocin",
    "dronate",
    "lamide",
    "zepam",
    "oxacin",
    "conazole",
];

/// Ordinary words that happen to end like a drug name.
pub(crate) fn drug_suffix_exception(w: &str) -> bool {
    matches!(
        w,
        "cholesterol" | "april" | "peptide" | "peptides" | "nucleotide" | "nucleotides" | "riptide"
    )
}

/// Function words and words that never change what is being asked ("what", "the", "usually", "patient").
#[rustfmt::skip]
const SOFT: &[&str] = &[
    "a", "an", "the", "of", "for", "in", "on", "at", "to", "from", "by", "with", "into", "onto", "about",
    "as", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "done", "doing", "i",
    "you", "we", "they", "he", "she", "it", "me", "my", "your", "our", "their", "his", "her", "its", "him",
    "them", "us", "this", "that", "these", "those", "there", "here", "what", "which", "how", "whether", "any",
    "some", "and", "but", "also", "please", "tell", "know", "want", "like", "usual", "usually",
    "typical", "typically", "common", "commonly", "normally", "generally", "general", "standard",
    "recommended", "recommend", "recommendation", "recommendations", "advised", "given", "give", "giving",
    "gives", "get", "gets", "getting", "have", "has", "had", "having", "take", "takes", "taking", "taken",
    "took", "use", "used", "using", "uses", "patient", "patients", "person", "people", "someone", "somebody",
    "individual", "individuals", "likely", "watch", "look", "looking", "let", "just", "really", "eg", "ie",
    "etc", "exactly", "correctly", "properly", "mean", "means", "meaning", "else", "other", "others", "same",
    "such", "very", "would", "will", "shall", "case", "cases", "situation", "setting", "context", "regarding",
    "concerning", "appropriately", "way", "ways", "kind", "sort", "thing", "things", "known", "called",
    "considered", "currently", "now", "today", "ever", "still", "already", "during", "while",
];

/// Whether `w` is one of the soft words above.
pub(crate) fn is_soft(w: &str) -> bool {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    SET.get_or_init(|| SOFT.iter().copied().collect())
        .contains(w)
}

/// Modal verbs: ignored in wh-questions ("How should X be treated?" = "What is the treatment for X?"),
/// compared in yes/no questions ("Can I give X?" is not "Should I give X?").
pub(crate) fn modal(w: &str) -> Option<&'static str> {
    Some(match w {
        "can" | "could" | "may" | "might" => "can",
        "should" | "ought" | "must" | "need" | "needs" | "needed" => "should",
        _ => return None,
    })
}

/// Words that change nothing *between each other*: merged to one canonical term before comparison.
pub(crate) fn synonym(w: &str) -> Option<&'static str> {
    Some(match w {
        "treat" | "treats" | "treated" | "treating" | "treatment" | "treatments" | "therapy"
        | "therapies" | "manage" | "manages" | "managed" | "managing" | "management"
        | "therapeutic" => "treat",
        "sign" | "signs" | "symptom" | "symptoms" | "indicate" | "indicates" | "indicating"
        | "indicative" | "suggest" | "suggests" | "suggesting" | "suggestive" | "feature"
        | "features" | "presentation" | "manifestation" | "manifestations" | "signify"
        | "signifies" => "sign",
        "diagnose" | "diagnosed" | "diagnoses" | "diagnosing" | "diagnosis" | "diagnostic" => {
            "diagnose"
        }
        "adverse" | "side" | "unwanted" => "adverse",
        "effect" | "effects" => "effect",
        "dose" | "doses" | "dosage" | "dosages" | "dosing" | "dosed" => "dose",
        "cause" | "causes" | "caused" | "causing" | "etiology" | "aetiology" | "reason"
        | "reasons" => "cause",
        "prevent" | "prevents" | "prevented" | "preventing" | "prevention" | "prophylaxis"
        | "prophylactic" | "preventive" | "preventative" => "prevent",
        "exam" | "exams" | "examination" | "examinations" | "examine" | "examined"
        | "examining" => "exam",
        "often" | "frequently" => "often",
        "medication" | "medications" | "medicine" | "medicines" | "drug" | "drugs" | "med"
        | "meds" => "medicine",
        "interact" | "interacts" | "interacting" | "interaction" | "interactions" => "interact",
        "fever" | "fevers" | "pyrexia" | "febrile" => "fever",
        "prefer" | "preferred" | "preferable" | "best" | "choice" => "preferred",
        "appropriate" | "correct" | "suitable" | "proper" | "reasonable" | "adequate" => {
            "appropriate"
        }
        "change" | "changes" | "changed" | "alteration" | "alterations" => "change",
        "schedule" | "schedules" | "timetable" => "schedule",
        "test" | "tests" | "testing" | "tested" => "test",
        "doctor" | "doctors" | "physician" | "clinician" | "gp" => "doctor",
        "vomit" | "vomits" | "vomiting" | "vomited" | "emesis" => "vomit",
        "work" | "works" | "working" | "act" | "acts" => "work",
        "check" | "checks" | "checked" | "checking" | "measure" | "measures" | "measured"
        | "measuring" | "monitor" | "monitors" | "monitored" | "monitoring" => "monitor",
        "transmit" | "transmits" | "transmitted" | "transmitting" | "transmission" | "spread"
        | "spreads" | "spreading" => "transmit",
        _ => return None,
    })
}

/// Canonical terms of `synonym` that name an intent (what is asked), not a thing.
pub(crate) fn is_intent_term(t: &str) -> bool {
    matches!(
        t,
        "treat"
            | "sign"
            | "diagnose"
            | "adverse"
            | "effect"
            | "dose"
            | "cause"
            | "prevent"
            | "exam"
            | "often"
            | "medicine"
            | "interact"
            | "preferred"
            | "appropriate"
            | "change"
            | "test"
            | "monitor"
            | "transmit"
            | "work"
    )
}

/// Light stemmer (plural, -ed, -ing, -ly): both questions are stemmed the same way, so the only risk is
/// merging two different words, which the rules below keep to trivial inflections.
pub(crate) fn stem(w: &str) -> String {
    let n = w.len();
    if !w.is_ascii() || n <= 3 {
        return w.to_owned();
    }
    if n > 4 && w.ends_with("ies") {
        return format!("{}y", &w[..n - 3]);
    }
    if n > 4
        && (w.ends_with("sses") || w.ends_with("xes") || w.ends_with("ches") || w.ends_with("shes"))
    {
        return w[..n - 2].to_owned();
    }
    if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") && n > 4 {
        return w[..n - 1].to_owned();
    }
    if n > 6 && w.ends_with("ing") {
        return w[..n - 3].to_owned();
    }
    if n > 5 && w.ends_with("ed") {
        return w[..n - 2].to_owned();
    }
    if n > 6 && w.ends_with("ly") {
        return w[..n - 2].to_owned();
    }
    w.to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stemming_is_light() {
        assert_eq!(stem("patients"), "patient");
        assert_eq!(stem("infections"), "infection");
        assert_eq!(stem("diabetes"), "diabete");
        assert_eq!(stem("virus"), "virus");
        assert_eq!(stem("stiff"), "stiff");
        assert_eq!(stem("bleeding"), "bleed");
    }

    #[test]
    fn tables_do_not_contradict() {
        use super::super::polarity::{polarity, polarity_consumes};
        // a word is either soft or meaningful, never both
        for w in [
            "treat", "safe", "child", "iv", "left", "not", "face", "type", "severe", "before",
        ] {
            assert!(!is_soft(w), "{w} must not be soft");
        }
        assert_eq!(polarity("hyperkalemia"), Some(("hyper/hypo", "hyper")));
        assert_eq!(polarity("hypokalemia"), Some(("hyper/hypo", "hypo")));
        assert!(!polarity_consumes("hyperkalemia"));
    }
}
