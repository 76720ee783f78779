//! Classifier behaviour that must not regress: negation, safety bias, ties, defaults, overrides,
//! normalisation, reporting.

use medllm_classify::{
    BUILTIN_TOML, Category, CategoryConfig, Classification, Classifier, Decision,
};

use crate::classifier;

fn class(q: &str) -> Classification {
    classifier().classify(q)
}

#[test]
fn negated_emergency_cues_do_not_count() {
    let c = class("No chest pain, but a dry cough for three weeks. What could cause it?");
    assert_eq!(c.category, Category::Diagnosis, "{c}");
    assert_eq!(c.scores.get(Category::Emergency), 0.0, "{c}");
    let chest = c
        .matched
        .iter()
        .find(|m| m.term == "chest pain")
        .expect("reported");
    assert_eq!(chest.negated_by.as_deref(), Some("no"));
    assert!(chest.is_negated());

    let c = class("Patient denies chest pain or shortness of breath. Which vaccines does he need?");
    assert_eq!(c.category, Category::Prevention, "{c}");
    assert_eq!(c.scores.get(Category::Emergency), 0.0, "{c}");
}

#[test]
fn negation_does_not_hide_real_emergencies() {
    for q in [
        "He is not breathing and has no pulse",
        "She can't breathe after a bee sting",
        "The bleeding won't stop after a deep cut",
        "No fever, but crushing chest pain for 20 minutes",
        "No fever and severe chest pain now",
        "My father is not responding and his face is drooping",
    ] {
        let c = class(q);
        assert_eq!(c.category, Category::Emergency, "{q}\n{c}");
    }
    // A non-negatable category is not affected by negation words.
    let c = class("Can I buy amoxicillin without a prescription?");
    assert_eq!(c.category, Category::Medication, "{c}");
    assert!(c.matched.iter().all(|m| !m.is_negated()));
}

#[test]
fn safety_bias_routes_ambiguous_emergency_questions_to_emergency() {
    // Both a treatment question and an emergency; emergency is close enough to win by the bias.
    let c = class("How should anaphylaxis be treated?");
    assert_eq!(c.category, Category::Emergency, "{c}");
    assert!(c.scores.get(Category::Treatment) > 0.0);
    // A prevention question that mentions a serious condition stays prevention: one weak emergency cue
    // is below emergency_min_score.
    let c = class("How can I reduce my risk of a stroke?");
    assert_eq!(c.category, Category::Prevention, "{c}");
    assert!(c.scores.get(Category::Emergency) > 0.0, "{c}");
}

#[test]
fn safety_bias_decision_is_reported() {
    let c = class("What is the likely diagnosis for sudden chest pain?");
    assert_eq!(c.category, Category::Emergency, "{c}");
    assert_eq!(
        c.decision,
        Decision::EmergencyBias {
            top: Category::Diagnosis
        }
    );
    assert!(c.scores.get(Category::Diagnosis) > c.scores.get(Category::Emergency));
    assert_eq!(c.confidence, 0.0);
    assert!(c.reason.contains("safety bias"), "{}", c.reason);
}

#[test]
fn no_signal_falls_back_to_the_default_category() {
    let config = CategoryConfig::builtin().unwrap();
    let c = class("Tell me about it.");
    assert_eq!(c.category, config.classifier().default_category);
    assert_eq!(c.decision, Decision::NoSignal);
    assert_eq!(c.confidence, 0.0);
    assert!(c.matched.is_empty());
    assert_eq!(class("").decision, Decision::NoSignal);
}

#[test]
fn ties_follow_tie_order() {
    // One 3-point medication word and one 3-point treatment word.
    let c = class("dose treatment");
    assert_eq!(
        c.scores.get(Category::Medication),
        c.scores.get(Category::Treatment)
    );
    assert_eq!(c.category, Category::Medication);
    assert_eq!(
        c.decision,
        Decision::Tie {
            tied: vec![Category::Medication, Category::Treatment]
        }
    );
    // Changing tie_order changes the winner.
    let text = BUILTIN_TOML.replacen(
        "tie_order = [\"emergency\", \"medication\", \"diagnosis\", \"treatment\", \"prevention\"]",
        "tie_order = [\"emergency\", \"treatment\", \"diagnosis\", \"medication\", \"prevention\"]",
        1,
    );
    let other = Classifier::new(&CategoryConfig::from_toml_str(&text, "test").unwrap());
    assert_eq!(
        other.classify("dose treatment").category,
        Category::Treatment
    );
}

#[test]
fn override_replaces_the_category_and_records_the_original() {
    let c = classifier()
        .classify_with_override("What is the dose of ibuprofen?", Some(Category::Treatment));
    assert_eq!(c.category, Category::Treatment);
    assert_eq!(
        c.decision,
        Decision::Override {
            classified: Category::Medication
        }
    );
    assert!(c.is_overridden());
    assert!(c.scores.get(Category::Medication) > 0.0, "scores are kept");
    assert!(c.reason.contains("override"));
    let none = classifier().classify_with_override("What is the dose of ibuprofen?", None);
    assert_eq!(none.category, Category::Medication);
    assert!(!none.is_overridden());
}

#[test]
fn normalisation_makes_spelling_variants_match() {
    let plain = class("What is the maximum dose of paracetamol?");
    for q in [
        "WHAT IS THE MAXIMUM DOSE OF PARACETAMOL???",
        "What is the maximum-dose of paracetamol",
        "Ｗhat is the ｍaximum ｄose of paracetamol?", // full-width letters (NFKC)
        "what's the maximum doses of paracetamol",
    ] {
        let c = class(q);
        assert_eq!(c.category, Category::Medication, "{q}");
        assert_eq!(
            c.scores.get(Category::Medication),
            plain.scores.get(Category::Medication),
            "{q}\n{c}"
        );
    }
}

#[test]
fn keywords_count_once_and_phrases_do_not_double_count_their_parts() {
    let once = class("dose");
    let thrice = class("dose dose dose");
    assert_eq!(once.scores, thrice.scores);
    // "crushing chest pain" contains the emergency phrase "chest pain"; only the longer one counts.
    let c = class("crushing chest pain");
    let emergency: Vec<&str> = c
        .matched
        .iter()
        .filter(|m| m.category == Category::Emergency)
        .map(|m| m.term.as_str())
        .collect();
    assert_eq!(emergency, ["crushing chest pain"]);
    // A negated occurrence does not stop a later plain one from counting.
    let c = class("No chest pain yesterday; today chest pain again");
    assert!(c.scores.get(Category::Emergency) > 0.0, "{c}");
}

#[test]
fn classification_is_serialisable_and_printable() {
    let c = class("A child swallowed tablets an hour ago, what do I do?");
    let json = serde_json::to_string(&c).unwrap();
    assert!(json.contains("\"emergency\""), "{json}");
    let back: Classification = serde_json::from_str(&json).unwrap();
    assert_eq!(back, c);
    let text = c.to_string();
    assert!(text.contains("category: emergency"), "{text}");
    assert!(text.contains("scores:"), "{text}");
}
