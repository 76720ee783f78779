//! Polarity axes (safe/unsafe, before/after, increase/decrease, hyper-/hypo- …), negation cues and the
//! words that end a negation's scope.

/// Polarity axes: words with an opposite. Returns (axis, pole); both questions must name the same poles.
pub(crate) fn polarity(w: &str) -> Option<(&'static str, &'static str)> {
    Some(match w {
        "safe" | "safely" | "safety" | "harmless" => ("safety", "safe"),
        "unsafe" | "dangerous" | "harmful" | "hazardous" | "toxic" => ("safety", "unsafe"),
        "increase" | "increases" | "increased" | "increasing" | "raise" | "raises" | "raised"
        | "raising" | "elevated" | "elevate" | "elevation" | "high" | "higher" | "rise"
        | "rising" | "boost" => ("level", "up"),
        "decrease" | "decreases" | "decreased" | "decreasing" | "reduce" | "reduces"
        | "reduced" | "reducing" | "reduction" | "lower" | "lowered" | "lowering" | "low"
        | "dropped" | "fall" | "falling" | "diminished" => ("level", "down"),
        "maximum" | "max" | "maximal" | "highest" => ("extreme", "max"),
        "minimum" | "min" | "minimal" | "lowest" => ("extreme", "min"),
        "before" | "prior" | "pre" | "preceding" => ("order", "before"),
        "after" | "following" | "post" | "afterwards" => ("order", "after"),
        "more" | "greater" | "above" | "over" | "exceeding" | "exceed" | "exceeds" => {
            ("comparison", "more")
        }
        "less" | "fewer" | "below" | "under" | "beneath" => ("comparison", "less"),
        "start" | "starting" | "started" | "begin" | "beginning" | "initiate" | "initiating"
        | "initiation" | "commence" => ("start/stop", "start"),
        "stop" | "stopping" | "stopped" | "discontinue" | "discontinuing" | "discontinued"
        | "discontinuation" | "cease" | "quit" | "withdraw" | "withdrawal" | "halt" => {
            ("start/stop", "stop")
        }
        "positive" => ("test", "positive"),
        "negative" => ("test", "negative"),
        "benign" => ("malignancy", "benign"),
        "malignant" | "malignancy" => ("malignancy", "malignant"),
        "early" | "earlier" | "earliest" => ("time", "early"),
        "late" | "later" | "latest" | "delayed" => ("time", "late"),
        "upper" => ("vertical", "upper"),
        "inferior" | "bottom" => ("vertical", "lower"),
        "agonist" | "agonists" => ("receptor", "agonist"),
        "antagonist" | "antagonists" | "blocker" | "blockers" => ("receptor", "antagonist"),
        "inhibitor" | "inhibitors" | "inhibit" | "inhibits" => ("enzyme", "inhibit"),
        "inducer" | "inducers" | "induce" | "induces" => ("enzyme", "induce"),
        "indicated" | "indication" | "indications" => ("indication", "indicated"),
        "contraindicated" | "contraindication" | "contraindications" => {
            ("indication", "contraindicated")
        }
        "overdose" | "overdoses" | "overdosage" | "overdosed" => ("dose", "over"),
        "underdose" | "underdosing" | "missed" | "miss" | "forgot" | "forgotten" => {
            ("dose", "under")
        }
        "gain" | "gaining" => ("gain/loss", "gain"),
        "loss" | "losing" | "lose" => ("gain/loss", "loss"),
        "resistant" | "resistance" => ("susceptibility", "resistant"),
        "sensitive" | "susceptible" | "sensitivity" | "susceptibility" => {
            ("susceptibility", "sensitive")
        }
        "active" => ("activity", "active"),
        "inactive" | "latent" | "dormant" => ("activity", "inactive"),
        "hot" | "warm" => ("temperature", "hot"),
        "cold" | "cool" => ("temperature", "cold"),
        "systolic" => ("pressure", "systolic"),
        "diastolic" => ("pressure", "diastolic"),
        "inpatient" | "inpatients" | "admitted" | "hospitalised" | "hospitalized" => {
            ("setting", "inpatient")
        }
        "outpatient" | "outpatients" | "ambulatory" => ("setting", "outpatient"),
        "stable" => ("stability", "stable"),
        "unstable" => ("stability", "unstable"),
        "controlled" => ("control", "controlled"),
        "uncontrolled" | "poorly" => ("control", "uncontrolled"),
        "complicated" => ("complication", "complicated"),
        "uncomplicated" => ("complication", "uncomplicated"),
        "symptomatic" => ("symptoms", "symptomatic"),
        "asymptomatic" => ("symptoms", "asymptomatic"),
        "vaccinated" | "immunised" | "immunized" => ("vaccination", "vaccinated"),
        "unvaccinated" | "unimmunised" | "unimmunized" => ("vaccination", "unvaccinated"),
        "conscious" | "responsive" | "alert" => ("consciousness", "conscious"),
        "unconscious" | "unresponsive" | "comatose" => ("consciousness", "unconscious"),
        "primary" => ("order-of-disease", "primary"),
        "secondary" => ("order-of-disease", "secondary"),
        "allowed" | "permitted" | "ok" | "okay" | "acceptable" => ("permission", "allowed"),
        "avoid" | "avoided" | "forbidden" | "prohibited" => ("permission", "avoid"),
        "add" | "adding" | "added" | "combine" | "combined" | "combining" | "together" => {
            ("combination", "add")
        }
        "switch" | "switching" | "switched" | "replace" | "replacing" | "substitute"
        | "instead" => ("combination", "switch"),
        _ => return prefix_polarity(w),
    })
}

/// hyper-/hypo- words carry a direction (the word itself is still compared literally).
fn prefix_polarity(w: &str) -> Option<(&'static str, &'static str)> {
    if w.len() > 7 && w.starts_with("hyper") {
        Some(("hyper/hypo", "hyper"))
    } else if w.len() > 6 && w.starts_with("hypo") {
        Some(("hyper/hypo", "hypo"))
    } else {
        None
    }
}

/// Whether the polarity word is fully described by its pole (consumed) or must also be compared as a word.
pub(crate) fn polarity_consumes(w: &str) -> bool {
    prefix_polarity(w).is_none()
}

/// Negation cues → class ("not", "never").
pub(crate) fn negation_cue(w: &str) -> Option<&'static str> {
    Some(match w {
        "no" | "not" | "none" | "without" | "nor" | "neither" | "non" | "absent" | "absence"
        | "lack" | "lacks" | "lacking" | "deny" | "denies" | "denied" | "nothing" | "nobody" => {
            "not"
        }
        "never" => "never",
        _ => return None,
    })
}

/// Words that end a negation's scope.
pub(crate) fn is_scope_boundary(w: &str) -> bool {
    matches!(
        w,
        "and"
            | "but"
            | "or"
            | "although"
            | "though"
            | "while"
            | "whereas"
            | "because"
            | "since"
            | "if"
            | "when"
            | "then"
            | "so"
            | "yet"
            | "what"
            | "which"
            | "how"
            | "who"
            | "where"
            | "why"
            | "is"
            | "are"
    )
}
