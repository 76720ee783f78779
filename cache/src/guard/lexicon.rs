//! Word lists of the guards: qualifier families, polarity axes, negation cues, synonyms, function words,
//! designators and drug-name suffixes. Pure tables; the logic lives in `slots`.
//!
//! Entries are deliberately conservative: a synonym merges two words only when swapping them can never
//! change the answer; anything not listed stays a word of its own and must match literally.

/// Qualifier families: each is compared as a set between the two questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// pregnant, breastfeeding, neonate, infant, child, adolescent, adult, elderly (+ bands from ages)
    Population,
    /// male / female
    Sex,
    /// oral, iv, im, sc, topical, inhaled, rectal, ...
    Route,
    /// tablet, syrup, cream, patch, ...
    Form,
    /// morning, night, preoperative, postpartum, ...
    Timing,
    /// renal / hepatic / cardiac organ involvement
    Organ,
    /// left / right / bilateral
    Laterality,
    /// body site (face, forearm, ...)
    Site,
    /// mild / moderate / severe
    Severity,
    /// acute / chronic / recurrent
    Acuity,
}

impl Family {
    /// Name used in vetoes.
    pub fn name(self) -> &'static str {
        match self {
            Family::Population => "population",
            Family::Sex => "sex",
            Family::Route => "route",
            Family::Form => "form",
            Family::Timing => "timing",
            Family::Organ => "renal/hepatic",
            Family::Laterality => "laterality",
            Family::Site => "body site",
            Family::Severity => "severity",
            Family::Acuity => "acuity",
        }
    }
}

/// Two-word qualifiers, checked before single words.
pub(crate) fn qualifier_bigram(a: &str, b: &str) -> Option<(Family, &'static str)> {
    use Family::*;
    Some(match (a, b) {
        ("by", "mouth") => (Route, "oral"),
        ("eye", "drop" | "drops" | "ointment") => (Route, "ophthalmic"),
        ("ear", "drop" | "drops") => (Route, "otic"),
        ("nasal", "spray") => (Route, "nasal"),
        ("breast", "feeding" | "fed" | "feed") => (Population, "breastfeeding"),
        ("older", "adult" | "adults" | "people" | "person" | "patient" | "patients") => {
            (Population, "elderly")
        }
        ("empty", "stomach") => (Timing, "fasting"),
        ("at", "night" | "bedtime") => (Timing, "night"),
        ("in", "morning") => (Timing, "morning"),
        _ => return None,
    })
}

/// Single-word qualifiers.
pub(crate) fn qualifier(w: &str) -> Option<(Family, &'static str)> {
    use Family::*;
    Some(match w {
        "pregnant" | "pregnancy" | "pregnancies" | "antenatal" | "prenatal" | "gestation"
        | "gestational" => (Population, "pregnant"),
        "breastfeeding" | "lactating" | "lactation" | "nursing" => (Population, "breastfeeding"),
        "neonate" | "neonates" | "newborn" | "newborns" | "neonatal" => (Population, "neonate"),
        "infant" | "infants" | "baby" | "babies" => (Population, "infant"),
        "child" | "children" | "kid" | "kids" | "paediatric" | "pediatric" | "paediatrics"
        | "pediatrics" | "toddler" | "toddlers" | "boy" | "boys" | "girl" | "girls"
        | "childhood" => (Population, "child"),
        "adolescent" | "adolescents" | "teen" | "teens" | "teenager" | "teenagers" | "teenage" => {
            (Population, "adolescent")
        }
        "adult" | "adults" => (Population, "adult"),
        "elderly" | "geriatric" | "geriatrics" | "senior" | "seniors" => (Population, "elderly"),
        "man" | "men" | "male" | "males" | "gentleman" => (Sex, "male"),
        "woman" | "women" | "female" | "females" | "lady" | "ladies" => (Sex, "female"),
        "oral" | "orally" | "po" => (Route, "oral"),
        "iv" | "intravenous" | "intravenously" => (Route, "iv"),
        "im" | "intramuscular" | "intramuscularly" => (Route, "im"),
        "sc" | "subcutaneous" | "subcutaneously" | "subcut" | "subq" | "sq" => (Route, "sc"),
        "intradermal" | "intradermally" => (Route, "intradermal"),
        "topical" | "topically" => (Route, "topical"),
        "inhaled" | "inhalation" | "inhaler" | "inhalers" | "nebulised" | "nebulized"
        | "nebuliser" | "nebulizer" | "nebulisation" | "nebulization" => (Route, "inhaled"),
        "rectal" | "rectally" | "pr" | "suppository" | "suppositories" => (Route, "rectal"),
        "sublingual" | "sublingually" | "sl" => (Route, "sublingual"),
        "buccal" => (Route, "buccal"),
        "intranasal" | "nasal" | "nasally" => (Route, "nasal"),
        "ophthalmic" => (Route, "ophthalmic"),
        "otic" => (Route, "otic"),
        "transdermal" => (Route, "transdermal"),
        "vaginal" | "vaginally" | "pessary" | "pessaries" => (Route, "vaginal"),
        "intrathecal" | "intrathecally" => (Route, "intrathecal"),
        "epidural" => (Route, "epidural"),
        "intraosseous" => (Route, "intraosseous"),
        "injection" | "injections" | "injected" | "inject" | "injectable" | "parenteral"
        | "parenterally" => (Route, "injection"),
        "infusion" | "infusions" | "infused" | "drip" => (Route, "infusion"),
        "tablet" | "tablets" | "tab" | "tabs" | "pill" | "pills" => (Form, "tablet"),
        "capsule" | "capsules" => (Form, "capsule"),
        "syrup" | "syrups" | "suspension" | "suspensions" | "liquid" | "elixir" | "solution" => {
            (Form, "liquid")
        }
        "cream" | "creams" => (Form, "cream"),
        "ointment" | "ointments" => (Form, "ointment"),
        "gel" | "gels" => (Form, "gel"),
        "lotion" | "lotions" => (Form, "lotion"),
        "patch" | "patches" => (Form, "patch"),
        "spray" | "sprays" => (Form, "spray"),
        "drop" | "drops" => (Form, "drops"),
        "powder" | "sachet" | "sachets" => (Form, "powder"),
        "chewable" => (Form, "chewable"),
        "extended" | "sustained" | "modified" | "er" | "xr" | "sr" | "xl" | "mr" => {
            (Form, "extended-release")
        }
        "morning" | "mornings" => (Timing, "morning"),
        "evening" | "evenings" => (Timing, "evening"),
        "night" | "nights" | "nightly" | "bedtime" | "nocturnal" | "overnight" => (Timing, "night"),
        "preoperative" | "preoperatively" | "presurgical" => (Timing, "preoperative"),
        "postoperative" | "postoperatively" | "postop" => (Timing, "postoperative"),
        "perioperative" => (Timing, "perioperative"),
        "postpartum" | "postnatal" => (Timing, "postpartum"),
        "intrapartum" | "labour" | "labor" => (Timing, "labour"),
        "fasting" | "fasted" => (Timing, "fasting"),
        "renal" | "kidney" | "kidneys" | "nephric" => (Organ, "renal"),
        "hepatic" | "liver" => (Organ, "hepatic"),
        "cardiac" | "heart" => (Organ, "cardiac"),
        "left" | "lt" => (Laterality, "left"),
        "right" | "rt" => (Laterality, "right"),
        "bilateral" | "bilaterally" => (Laterality, "bilateral"),
        "unilateral" | "unilaterally" => (Laterality, "unilateral"),
        "mild" | "mildly" => (Severity, "mild"),
        "moderate" | "moderately" => (Severity, "moderate"),
        "severe" | "severely" | "serious" => (Severity, "severe"),
        "critical" | "critically" => (Severity, "critical"),
        "acute" | "acutely" => (Acuity, "acute"),
        "subacute" => (Acuity, "subacute"),
        "chronic" | "chronically" => (Acuity, "chronic"),
        "recurrent" | "recurring" | "relapsing" => (Acuity, "recurrent"),
        _ => return site(w).map(|s| (Site, s)),
    })
}

/// Body sites (singular canonical form).
fn site(w: &str) -> Option<&'static str> {
    Some(match w {
        "head" | "heads" => "head",
        "scalp" => "scalp",
        "face" | "facial" | "faces" => "face",
        "forehead" => "forehead",
        "eye" | "eyes" | "ocular" => "eye",
        "eyelid" | "eyelids" => "eyelid",
        "ear" | "ears" | "aural" => "ear",
        "nose" | "nostril" | "nostrils" => "nose",
        "mouth" | "oral cavity" => "mouth",
        "lip" | "lips" => "lip",
        "tongue" => "tongue",
        "tooth" | "teeth" | "dental" => "tooth",
        "gum" | "gums" | "gingival" => "gum",
        "throat" | "pharynx" | "pharyngeal" => "throat",
        "neck" | "cervical" => "neck",
        "shoulder" | "shoulders" => "shoulder",
        "arm" | "arms" => "arm",
        "upper arm" => "upper arm",
        "elbow" | "elbows" => "elbow",
        "forearm" | "forearms" => "forearm",
        "wrist" | "wrists" => "wrist",
        "hand" | "hands" | "palm" | "palms" => "hand",
        "finger" | "fingers" | "thumb" | "thumbs" | "fingertip" => "finger",
        "nail" | "nails" | "fingernail" | "toenail" => "nail",
        "chest" | "thorax" | "thoracic" => "chest",
        "breast" | "breasts" => "breast",
        "back" | "spine" | "spinal" => "back",
        "abdomen" | "abdominal" | "belly" | "tummy" => "abdomen",
        "stomach" | "gastric" => "stomach",
        "groin" | "inguinal" => "groin",
        "genital" | "genitals" | "genitalia" | "penis" | "vulva" | "scrotum" => "genitals",
        "buttock" | "buttocks" | "gluteal" => "buttock",
        "hip" | "hips" => "hip",
        "thigh" | "thighs" => "thigh",
        "leg" | "legs" => "leg",
        "knee" | "knees" => "knee",
        "shin" | "shins" | "calf" | "calves" => "lower leg",
        "ankle" | "ankles" => "ankle",
        "foot" | "feet" | "sole" | "soles" => "foot",
        "toe" | "toes" => "toe",
        "heel" | "heels" => "heel",
        "skin" | "cutaneous" | "dermal" => "skin",
        "lung" | "lungs" | "pulmonary" => "lung",
        "brain" | "cerebral" => "brain",
        "bladder" => "bladder",
        "bowel" | "bowels" | "intestine" | "intestines" | "colon" => "bowel",
        "vagina" => "vagina",
        "uterus" | "womb" | "uterine" => "uterus",
        "joint" | "joints" => "joint",
        "bone" | "bones" => "bone",
        "muscle" | "muscles" | "muscular" => "muscle",
        _ => return None,
    })
}

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
pub(crate) fn is_soft(w: &str) -> bool {
    matches!(
        w,
        "a" | "an"
            | "the"
            | "of"
            | "for"
            | "in"
            | "on"
            | "at"
            | "to"
            | "from"
            | "by"
            | "with"
            | "into"
            | "onto"
            | "about"
            | "as"
            | "is"
            | "are"
            | "was"
            | "were"
            | "be"
            | "been"
            | "being"
            | "am"
            | "do"
            | "does"
            | "did"
            | "done"
            | "doing"
            | "i"
            | "you"
            | "we"
            | "they"
            | "he"
            | "she"
            | "it"
            | "me"
            | "my"
            | "your"
            | "our"
            | "their"
            | "his"
            | "her"
            | "its"
            | "him"
            | "them"
            | "us"
            | "this"
            | "that"
            | "these"
            | "those"
            | "there"
            | "here"
            | "what"
            | "which"
            | "how"
            | "whether"
            | "any"
            | "some"
            | "and"
            | "or"
            | "but"
            | "also"
            | "please"
            | "tell"
            | "know"
            | "want"
            | "like"
            | "usual"
            | "usually"
            | "typical"
            | "typically"
            | "common"
            | "commonly"
            | "normally"
            | "generally"
            | "general"
            | "standard"
            | "recommended"
            | "recommend"
            | "recommendation"
            | "recommendations"
            | "advised"
            | "given"
            | "give"
            | "giving"
            | "gives"
            | "get"
            | "gets"
            | "getting"
            | "have"
            | "has"
            | "had"
            | "having"
            | "take"
            | "takes"
            | "taking"
            | "taken"
            | "took"
            | "use"
            | "used"
            | "using"
            | "uses"
            | "patient"
            | "patients"
            | "person"
            | "people"
            | "someone"
            | "somebody"
            | "individual"
            | "individuals"
            | "likely"
            | "watch"
            | "look"
            | "looking"
            | "let"
            | "just"
            | "really"
            | "eg"
            | "ie"
            | "etc"
            | "exactly"
            | "correctly"
            | "properly"
            | "mean"
            | "means"
            | "meaning"
            | "else"
            | "other"
            | "others"
            | "same"
            | "such"
            | "very"
            | "would"
            | "will"
            | "shall"
            | "case"
            | "cases"
            | "situation"
            | "setting"
            | "context"
            | "regarding"
            | "concerning"
            | "appropriately"
            | "way"
            | "ways"
            | "kind"
            | "sort"
            | "thing"
            | "things"
            | "known"
            | "called"
            | "considered"
            | "currently"
            | "now"
            | "today"
            | "ever"
            | "still"
            | "already"
    )
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
