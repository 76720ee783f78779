//! System prompts, parameters, token budgets and the emergency safety line.

use medllm_classify::{
    BUILTIN_TOML, Category, CategoryConfig, ReasoningStyle, Templates, prepend_safety_line,
};

use crate::templates;

#[test]
fn system_prompt_is_base_blank_line_suffix() {
    let t = templates();
    let base = t.config().base_prompt();
    for c in Category::ALL {
        let p = t.system_prompt(c);
        let suffix = &t.config().category(c).suffix;
        assert_eq!(p, format!("{base}\n\n{suffix}"));
        assert_eq!(p, t.system_prompt(c), "must be stable (KV prefix reuse)");
    }
    let distinct: std::collections::HashSet<String> =
        Category::ALL.iter().map(|&c| t.system_prompt(c)).collect();
    assert_eq!(distinct.len(), 5);
}

#[test]
fn prompts_carry_the_required_instructions() {
    let t = templates();
    let base = t.config().base_prompt().to_lowercase();
    for needle in [
        "evidence-based",
        "never invent doses",
        "clinician",
        "concise",
    ] {
        assert!(base.contains(needle), "base prompt lacks {needle:?}");
    }
    let required: [(Category, &[&str]); 5] = [
        (
            Category::Emergency,
            &["emergency services", "numbered", "most urgent"],
        ),
        (
            Category::Medication,
            &["dose", "contraindications", "interactions", "pharmacist"],
        ),
        (Category::Diagnosis, &["differential", "red-flag", "tests"]),
        (Category::Treatment, &["first-line", "guideline"]),
        (
            Category::Prevention,
            &["screening", "vaccination", "lifestyle"],
        ),
    ];
    for (c, needles) in required {
        let p = t.system_prompt(c).to_lowercase();
        for n in needles {
            assert!(p.contains(n), "{c} prompt lacks {n:?}");
        }
    }
}

#[test]
fn token_budget_adds_reasoning_allowance() {
    let t = templates();
    let extra = t.config().reasoning().extra_tokens;
    assert!(extra > 0);
    for c in Category::ALL {
        let max = t.params(c).max_tokens;
        assert_eq!(t.token_budget(c, ReasoningStyle::None), max);
        assert_eq!(
            t.token_budget(
                c,
                ReasoningStyle::ThinkTags {
                    starts_inside: true
                }
            ),
            max + extra
        );
    }
    assert!(
        Category::ALL
            .into_iter()
            .all(|c| c == Category::Emergency || t.priority(c) < t.priority(Category::Emergency))
    );
}

#[test]
fn safety_line_is_prepended_once_and_only_to_emergency_answers() {
    let t = templates();
    let line = t.config().safety().emergency_line.clone();
    let answer = "1. Check responsiveness.\n2. Start chest compressions.";
    let once = t.apply_safety_line(Category::Emergency, answer);
    assert_eq!(once, format!("{line}\n\n{answer}"));
    assert_eq!(
        t.apply_safety_line(Category::Emergency, &once),
        once,
        "idempotent"
    );
    assert_eq!(
        t.apply_safety_line(Category::Emergency, &format!("\n  {once}")),
        format!("\n  {once}")
    );
    assert_eq!(
        t.safety_prefix(Category::Emergency),
        Some(format!("{line}\n\n"))
    );
    for c in Category::ALL
        .into_iter()
        .filter(|&c| c != Category::Emergency)
    {
        assert_eq!(t.apply_safety_line(c, answer), answer);
        assert_eq!(t.safety_prefix(c), None);
    }
    assert_eq!(prepend_safety_line(&line, ""), line);
}

#[test]
fn safety_line_can_be_switched_off() {
    let text = BUILTIN_TOML.replacen(
        "prepend_to_emergency = true",
        "prepend_to_emergency = false",
        1,
    );
    let t = Templates::new(CategoryConfig::from_toml_str(&text, "test").unwrap());
    assert_eq!(
        t.apply_safety_line(Category::Emergency, "Call for help."),
        "Call for help."
    );
    assert_eq!(t.safety_prefix(Category::Emergency), None);
}
