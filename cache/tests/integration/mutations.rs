//! Generated must-miss pairs: a question template with slots, and a second question that differs in
//! exactly one clinically meaningful slot (dose, dose ×10, unit, drug look-alike, age, weight, route,
//! frequency, population, laterality, site, polarity, negation, type designator, ordinal, duration,
//! gestation, drug order). Every value in a pool differs clinically from every other value in that pool.

const DOSE: &[&str] = &[
    "1", "2", "4", "5", "8", "10", "12.5", "20", "25", "40", "50", "100", "250", "500", "875",
    "1000", "0.5", "0.25", "1.5",
];
const UNIT: &[&str] = &[
    "mg", "mcg", "g", "ng", "units", "mmol", "ml", "mg/kg", "mcg/kg", "%",
];
const DRUG: &[&str] = &[
    "hydroxyzine",
    "hydralazine",
    "prednisone",
    "prednisolone",
    "metformin",
    "metoprolol",
    "clarithromycin",
    "azithromycin",
    "erythromycin",
    "heparin",
    "warfarin",
    "tramadol",
    "trazodone",
    "clonidine",
    "clonazepam",
    "quinine",
    "quinidine",
    "glipizide",
    "glyburide",
    "amiodarone",
    "amlodipine",
    "Celebrex",
    "Celexa",
    "escitalopram",
    "cefuroxime",
    "cefotaxime",
    "ceftriaxone",
    "penicillin",
    "penicillamine",
    "hydrocodone",
    "oxycodone",
    "morphine",
    "dopamine",
    "dobutamine",
    "ephedrine",
    "epinephrine",
    "norepinephrine",
    "Tylenol",
    "ibuprofen",
    "aspirin",
    "Zantac",
    "Zyrtec",
    "Lamictal",
    "Lamisil",
    "chlorpromazine",
    "chlorpropamide",
    "vinblastine",
    "vincristine",
    "doxorubicin",
    "daunorubicin",
    "methotrexate",
    "metolazone",
    "losartan",
    "valsartan",
    "lisinopril",
    "enalapril",
    "atenolol",
    "propranolol",
    "simvastatin",
    "atorvastatin",
    "omeprazole",
    "esomeprazole",
    "fluconazole",
    "itraconazole",
    "acyclovir",
    "valacyclovir",
    "oseltamivir",
    "artemether-lumefantrine",
    "amoxicillin",
    "co-amoxiclav",
    "insulin glargine",
    "insulin",
];
const AGE: &[&str] = &[
    "2", "4", "6", "10", "14", "16", "25", "40", "65", "70", "80",
];
const WEIGHT: &[&str] = &["5", "10", "15", "20", "35", "50", "70"];
const ROUTE: &[&str] = &[
    "orally",
    "intravenously",
    "intramuscularly",
    "subcutaneously",
    "topically",
    "rectally",
    "by inhalation",
    "sublingually",
];
const FREQ: &[&str] = &[
    "once daily",
    "twice daily",
    "three times a day",
    "four times a day",
    "every 6 hours",
    "every 8 hours",
    "every 12 hours",
    "weekly",
    "as needed",
    "every other day",
];
const POP: &[&str] = &[
    "a pregnant woman",
    "a breastfeeding mother",
    "a child",
    "an infant",
    "an elderly patient",
    "a newborn",
    "an adult",
    "a teenager",
    "a patient with renal impairment",
    "a patient with liver failure",
];
const LAT: &[&str] = &["left", "right"];
const SITE: &[&str] = &[
    "face", "forearm", "hand", "foot", "chest", "back", "scalp", "knee", "eye", "ear",
];
const ORD: &[&str] = &["first", "second", "third"];
const MEAL: &[&str] = &["before", "after", "with", "without", "between"];
const UPDOWN: &[&str] = &["increase", "decrease"];
const CONDITION: &[&str] = &[
    "type 1 diabetes",
    "type 2 diabetes",
    "hepatitis A",
    "hepatitis B",
    "hepatitis C",
    "HIV-1 infection",
    "HIV-2 infection",
    "hyperkalemia",
    "hypokalemia",
    "hypertension",
    "hypotension",
    "hyperthyroidism",
    "hypothyroidism",
    "stage 2 hypertension",
    "stage 1 hypertension",
    "acute otitis media",
    "chronic otitis media",
    "mild asthma",
    "severe asthma",
];
const WITH: &[&str] = &["with", "without"];
const AND_NO: &[&str] = &["and", "and no"];
const SAFE: &[&str] = &["safe", "unsafe"];
const NOT: &[&str] = &["", "not "];
const DURATION: &[&str] = &[
    "2 days", "2 weeks", "5 days", "3 months", "10 days", "1 week", "6 hours",
];
const HOURS: &[&str] = &["4", "6", "8", "12", "24"];
const EXTREME: &[&str] = &["maximum", "minimum"];
const STARTSTOP: &[&str] = &["started", "stopped"];
const GEST: &[&str] = &["12", "20", "28", "32", "36", "40"];
const SYMPTOM: &[&str] = &[
    "neck stiffness",
    "rash",
    "vomiting",
    "diarrhoea",
    "chest pain",
    "headache",
];
const EMERGENCY: &[&str] = &[
    "anaphylaxis",
    "cardiac arrest",
    "status epilepticus",
    "sepsis",
    "croup",
];

/// A template with `{0}`, `{1}`, ... and the pool of each slot.
pub struct Template {
    pub text: &'static str,
    pub slots: &'static [&'static [&'static str]],
}

pub const TEMPLATES: &[Template] = &[
    Template {
        text: "Is {0} {1} of {2} {3} safe for {4}?",
        slots: &[DOSE, UNIT, DRUG, FREQ, POP],
    },
    Template {
        text: "What is the dose of {0} for a {1}-year-old weighing {2} kg?",
        slots: &[DRUG, AGE, WEIGHT],
    },
    Template {
        text: "Can {0} be given {1} to {2}?",
        slots: &[DRUG, ROUTE, POP],
    },
    Template {
        text: "How should a {0}-degree burn on the {1} {2} be managed?",
        slots: &[ORD, LAT, SITE],
    },
    Template {
        text: "Should {0} be taken {1} meals?",
        slots: &[DRUG, MEAL],
    },
    Template {
        text: "Does {0} {1} blood pressure in {2}?",
        slots: &[DRUG, UPDOWN, POP],
    },
    Template {
        text: "What is the treatment of {0} in {1}?",
        slots: &[CONDITION, POP],
    },
    Template {
        text: "A patient has a fever {0} {1}. What is the likely cause?",
        slots: &[AND_NO, SYMPTOM],
    },
    Template {
        text: "Symptoms of appendicitis {0} {1}?",
        slots: &[WITH, SYMPTOM],
    },
    Template {
        text: "Fever for {0} in {1}: when to see a doctor?",
        slots: &[DURATION, POP],
    },
    Template {
        text: "Is {0} mg/kg of {1} every {2} hours correct for a {3} kg child?",
        slots: &[DOSE, DRUG, HOURS, WEIGHT],
    },
    Template {
        text: "Is {0} {1} in {2}?",
        slots: &[DRUG, SAFE, POP],
    },
    Template {
        text: "Is {0} {1}safe in {2}?",
        slots: &[DRUG, NOT, POP],
    },
    Template {
        text: "What is the {0} daily dose of {1} for {2}?",
        slots: &[EXTREME, DRUG, POP],
    },
    Template {
        text: "Should {0} be {1} before surgery in {2}?",
        slots: &[DRUG, STARTSTOP, POP],
    },
    Template {
        text: "Apply {0} cream to the {1} {2} {3}?",
        slots: &[DRUG, LAT, SITE, FREQ],
    },
    Template {
        text: "How do I switch a patient from {0} to {1}?",
        slots: &[DRUG, DRUG],
    },
    Template {
        text: "Give {0} {1} of {2} {3} for {4}?",
        slots: &[DOSE, UNIT, DRUG, ROUTE, EMERGENCY],
    },
    Template {
        text: "Is a {0} course of {1} enough for {2}?",
        slots: &[DURATION, DRUG, CONDITION],
    },
    Template {
        text: "Is {0} {1} {2} safe at {3} weeks of pregnancy?",
        slots: &[DRUG, DOSE, UNIT, GEST],
    },
    Template {
        text: "What is the dose of {0} for {1} with {2}?",
        slots: &[DRUG, POP, CONDITION],
    },
    Template {
        text: "How often should {0} be given {1} in {2}?",
        slots: &[DRUG, ROUTE, CONDITION],
    },
];

fn render(t: &Template, values: &[&str]) -> String {
    let mut s = t.text.to_owned();
    for (i, v) in values.iter().enumerate() {
        s = s.replace(&format!("{{{i}}}"), v);
    }
    s
}

fn times_ten(v: &str) -> Option<String> {
    let x: f64 = v.parse().ok()?;
    let y = x * 10.0;
    Some(if y.fract() == 0.0 {
        format!("{}", y as i64)
    } else {
        format!("{y}")
    })
}

/// One must-miss pair from choices (any numbers; reduced modulo the pool sizes).
/// `mode`: 0 = another value from the pool, 1 = dose ×10 (numeric slots), 2 = swap two drugs (order).
pub fn pair(
    template: usize,
    choices: &[usize],
    slot: usize,
    alt: usize,
    mode: usize,
) -> (String, String) {
    let t = &TEMPLATES[template % TEMPLATES.len()];
    let n = t.slots.len();
    let mut a: Vec<String> = t
        .slots
        .iter()
        .enumerate()
        .map(|(i, pool)| pool[choices.get(i).copied().unwrap_or(i) % pool.len()].to_owned())
        .collect();
    // two drug slots must differ to start with
    for i in 0..n {
        for j in 0..i {
            if t.slots[i] == DRUG && t.slots[j] == DRUG && a[i] == a[j] {
                let k = (DRUG.iter().position(|d| *d == a[i]).unwrap_or(0) + 1) % DRUG.len();
                a[i] = DRUG[k].to_owned();
            }
        }
    }
    let mut b = a.clone();
    let slot = slot % n;
    let drug_slots: Vec<usize> = (0..n).filter(|&i| t.slots[i] == DRUG).collect();
    match mode % 3 {
        1 if t.slots[slot] == DOSE || t.slots[slot] == WEIGHT || t.slots[slot] == AGE => {
            b[slot] = times_ten(&a[slot]).unwrap_or_else(|| "999".into());
        }
        2 if drug_slots.len() >= 2 => {
            b.swap(drug_slots[0], drug_slots[1]);
        }
        _ => {
            let pool = t.slots[slot];
            let cur = pool.iter().position(|v| *v == a[slot]).unwrap_or(0);
            let next = (cur + 1 + alt % (pool.len() - 1)) % pool.len();
            b[slot] = pool[next].to_owned();
        }
    }
    let ar: Vec<&str> = a.iter().map(String::as_str).collect();
    let br: Vec<&str> = b.iter().map(String::as_str).collect();
    (render(t, &ar), render(t, &br))
}

/// A deterministic list of `n` generated pairs (for the real-embedder run).
pub fn deterministic(n: usize) -> Vec<(String, String)> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as usize
    };
    (0..n)
        .map(|_| {
            let t = next();
            let choices: Vec<usize> = (0..5).map(|_| next()).collect();
            pair(t, &choices, next(), next(), next())
        })
        .collect()
}
