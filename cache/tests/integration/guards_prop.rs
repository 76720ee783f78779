//! Property tests of the guards with a fake embedder that gives every pair cosine 1.0, so only the
//! guards decide: thousands of generated one-slot mutations must all miss (both directions), while
//! harmless rewrites (case, punctuation, contractions) and equivalent units must still hit — otherwise a
//! guard that vetoes everything would pass. Plus a regression list of tricky pairs.

use proptest::prelude::*;

use crate::common::same_vector_matcher;
use crate::mutations::{TEMPLATES, pair};

proptest! {
    #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

    #[test]
    fn one_slot_mutations_never_hit(
        t in 0usize..TEMPLATES.len(),
        choices in proptest::collection::vec(0usize..1000, 5),
        slot in 0usize..8,
        alt in 0usize..1000,
        mode in 0usize..3,
    ) {
        let (a, b) = pair(t, &choices, slot, alt, mode);
        prop_assume!(a != b);
        let m = same_vector_matcher();
        let ab = m.explain(&a, &b);
        prop_assert!(!ab.verdict.is_hit(), "FALSE HIT:\n{}", ab);
        let ba = m.explain(&b, &a);
        prop_assert!(!ba.verdict.is_hit(), "FALSE HIT (reversed):\n{}", ba);
    }

    #[test]
    fn harmless_rewrites_still_hit(
        t in 0usize..TEMPLATES.len(),
        choices in proptest::collection::vec(0usize..1000, 5),
        style in 0usize..4,
    ) {
        let (a, _) = pair(t, &choices, 0, 0, 0);
        let b = match style {
            0 => a.to_uppercase(),
            1 => format!("  {}  ??", a.trim_end_matches('?')),
            2 => a.replace("What is", "What's").replace("Is ", "is "),
            _ => format!("Please tell me: {a}"),
        };
        let m = same_vector_matcher();
        let e = m.explain(&a, &b);
        prop_assert!(e.verdict.is_hit(), "harmless rewrite vetoed:\n{}", e);
    }
}

/// Pairs that must miss although they share almost every word.
const MUST_MISS: &[(&str, &str)] = &[
    (
        "fever and no stiff neck: cause?",
        "no fever and a stiff neck: cause?",
    ),
    (
        "How do I switch from IV to oral amoxicillin?",
        "How do I switch from oral to IV amoxicillin?",
    ),
    (
        "Switch from warfarin to apixaban: how?",
        "Switch from apixaban to warfarin: how?",
    ),
    (
        "Is paracetamol safe in pregnancy?",
        "Is paracetamol unsafe in pregnancy?",
    ),
    (
        "Is paracetamol safe in pregnancy?",
        "Is paracetamol not safe in pregnancy?",
    ),
    (
        "Take metformin before meals?",
        "Take metformin after meals?",
    ),
    ("Take metformin with food?", "Take metformin without food?"),
    (
        "Does amlodipine increase heart rate?",
        "Does amlodipine decrease heart rate?",
    ),
    (
        "Dose of ceftriaxone in renal impairment?",
        "Dose of ceftriaxone in hepatic impairment?",
    ),
    (
        "Pain in the left lower quadrant?",
        "Pain in the right lower quadrant?",
    ),
    (
        "Treatment of a second-degree burn?",
        "Treatment of a third-degree burn?",
    ),
    (
        "Stage II hypertension treatment?",
        "Stage III hypertension treatment?",
    ),
    (
        "Vitamin B12 deficiency treatment?",
        "Vitamin B6 deficiency treatment?",
    ),
    (
        "Hepatitis B vaccine schedule?",
        "Hepatitis vaccine schedule?",
    ),
    (
        "Is 5 mg/kg of gentamicin correct?",
        "Is 5 mg of gentamicin correct?",
    ),
    ("Give 5 ml/kg of saline?", "Give 5 ml of saline?"),
    (
        "Amoxicillin 500 mg every 8 hours?",
        "Amoxicillin 500 mg three times a day?",
    ),
    (
        "Amoxicillin 500 mg twice daily?",
        "Amoxicillin 500 mg daily?",
    ),
    (
        "Paracetamol 15 mg/kg every 6 hours in a 2-month-old?",
        "Paracetamol 15 mg/kg every 6 hours in a 2-year-old?",
    ),
    (
        "Is 1000 mg of paracetamol safe?",
        "Is 100 mg of paracetamol safe?",
    ),
    (
        "Is a temperature of 38.5 °C a fever?",
        "Is a temperature of 38.5 °F a fever?",
    ),
    (
        "Is zorbicillin safe for children?",
        "Is zorbamycin safe for children?",
    ),
    (
        "Can I give Celebrex for back pain?",
        "Can I give Celexa for back pain?",
    ),
    ("Maximum dose of ibuprofen?", "Minimum dose of ibuprofen?"),
    (
        "Should aspirin be stopped before surgery?",
        "Should aspirin be started before surgery?",
    ),
    (
        "Is HIV-positive status a contraindication?",
        "Is HIV-negative status a contraindication?",
    ),
    (
        "Can a 70-year-old man take sildenafil?",
        "Can a 70-year-old woman take sildenafil?",
    ),
    (
        "Treatment of acute bronchitis?",
        "Treatment of chronic bronchitis?",
    ),
    ("Management of mild croup?", "Management of severe croup?"),
    (
        "What is the dose of insulin at 32 weeks of pregnancy?",
        "What is the dose of insulin at 23 weeks of pregnancy?",
    ),
    (
        "Is 60s blood pressure normal?",
        "Is 70s blood pressure normal?",
    ),
    (
        "Does ciprofloxacin interact with Zorvex?",
        "Does ciprofloxacin interact with Zorvax?",
    ),
    (
        "How long to treat hyperthyroidism?",
        "How long to treat hypothyroidism?",
    ),
    (
        "Can ibuprofen be given to a child?",
        "Should ibuprofen be given to a child?",
    ),
    (
        "Is the temperature above 38 concerning?",
        "Is the temperature below 38 concerning?",
    ),
];

/// Pairs the guards must accept (cosine aside): equivalent units, brands, synonyms, word order.
const MUST_AGREE: &[(&str, &str)] = &[
    (
        "Is 0.5 g of amoxicillin safe?",
        "Is 500 mg of amoxicillin safe?",
    ),
    (
        "Is 1 year of follow-up enough?",
        "Is 12 months of follow-up enough?",
    ),
    (
        "Dose of Tylenol for fever in a child?",
        "Dose of paracetamol for fever in a child?",
    ),
    (
        "Can adrenaline be given IM?",
        "Can epinephrine be given intramuscularly?",
    ),
    (
        "amoxicillin 250 mg tid for a 4 yo",
        "amoxicillin 250mg three times a day for a 4-year-old",
    ),
    (
        "What is the treatment for scabies?",
        "How is scabies treated?",
    ),
    ("Fever and no stiff neck?", "Fever but no stiff neck?"),
    (
        "What are the side effects of amlodipine?",
        "What are the adverse effects of amlodipine?",
    ),
];

#[test]
fn regression_pairs_must_miss() {
    let m = same_vector_matcher();
    for (a, b) in MUST_MISS {
        for (x, y) in [(a, b), (b, a)] {
            let e = m.explain(x, y);
            assert!(!e.verdict.is_hit(), "FALSE HIT:\n{e}");
        }
    }
}

#[test]
fn regression_pairs_must_agree() {
    let m = same_vector_matcher();
    for (a, b) in MUST_AGREE {
        let e = m.explain(a, b);
        assert!(e.verdict.is_hit(), "guards should agree:\n{e}");
    }
}
