//! Qualifier families (population, sex, route, form, timing, organ, laterality, body site, severity,
//! acuity): word → (family, canonical value). Each family is compared as a set between two questions.

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
