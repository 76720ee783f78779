//! Loading and validating `categories.toml`: the shipped file, error messages, the template version.

use medllm_classify::{BUILTIN_TOML, Category, CategoryConfig, ClassifyError};

use crate::builtin;

/// Replaces exactly one occurrence of `from` in the built-in config text.
fn edited(from: &str, to: &str) -> String {
    assert_eq!(
        BUILTIN_TOML.matches(from).count(),
        1,
        "{from:?} must occur once"
    );
    BUILTIN_TOML.replacen(from, to, 1)
}

/// Replaces the first occurrence of `from` after the line `section` (a table header).
fn edited_in(section: &str, from: &str, to: &str) -> String {
    let start = BUILTIN_TOML.find(section).expect("section exists") + section.len();
    let at = start
        + BUILTIN_TOML[start..]
            .find(from)
            .expect("key exists in section");
    format!(
        "{}{to}{}",
        &BUILTIN_TOML[..at],
        &BUILTIN_TOML[at + from.len()..]
    )
}

fn error_of(text: &str) -> String {
    CategoryConfig::from_toml_str(text, "test")
        .expect_err("config should be rejected")
        .to_string()
}

#[test]
fn shipped_config_is_valid_and_complete() {
    let c = builtin();
    assert!(!c.version().is_empty());
    assert_eq!(c.template_version().len(), 32);
    for cat in Category::ALL {
        let spec = c.category(cat);
        assert_eq!(spec.category, cat);
        assert!(spec.terms.len() >= 10, "{cat} needs a real keyword list");
    }
    let emergency = c.category(Category::Emergency).params.priority;
    assert!(
        Category::ALL
            .into_iter()
            .filter(|&cat| cat != Category::Emergency)
            .all(|cat| c.category(cat).params.priority < emergency)
    );
    assert!(c.category(Category::Emergency).negatable);
    let on_disk = CategoryConfig::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/categories.toml"),
    )
    .unwrap();
    assert_eq!(on_disk.template_version(), c.template_version());
}

/// "Every key commented": each `key = value` line is directly preceded by a comment line.
#[test]
fn every_key_in_the_shipped_config_is_commented() {
    let lines: Vec<&str> = BUILTIN_TOML.lines().collect();
    let mut in_multiline = false;
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if in_multiline {
            in_multiline = !(t.ends_with("\"\"\"") || t.starts_with(']'));
            continue;
        }
        let is_key = t.split_once(" = ").is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        });
        if !is_key {
            continue;
        }
        in_multiline =
            (t.ends_with("\"\"\"") && t.matches("\"\"\"").count() == 1) || t.ends_with('[');
        let previous = lines[..i].iter().rev().find(|l| !l.trim().is_empty());
        assert!(
            previous.is_some_and(|p| p.trim_start().starts_with('#')),
            "line {}: `{t}` has no comment above it",
            i + 1
        );
    }
}

#[test]
fn unknown_keys_are_rejected_with_their_name() {
    let msg = error_of(&edited(
        "prepend_to_emergency = true",
        "prepend_to_emergency = true\nprepend_alwyas = true",
    ));
    assert!(msg.contains("prepend_alwyas"), "{msg}");
    let msg = error_of(&edited(
        "[categories.prevention]\n",
        "[categories.prevention]\nsufix = \"x\"\n",
    ));
    assert!(msg.contains("sufix"), "{msg}");
    let msg = error_of(&format!(
        "{BUILTIN_TOML}\n[categories.cosmetics]\nsuffix = \"x\"\n"
    ));
    assert!(msg.contains("cosmetics"), "{msg}");
}

#[test]
fn bad_values_are_rejected_naming_the_key() {
    let cases = [
        (
            edited_in(
                "[categories.medication.params]",
                "temperature = 0.0",
                "temperature = 5.0",
            ),
            "categories.medication.params.temperature",
        ),
        (
            edited_in(
                "[categories.treatment.params]",
                "top_p = 1.0",
                "top_p = 0.0",
            ),
            "categories.treatment.params.top_p",
        ),
        (
            edited_in(
                "[categories.treatment.params]",
                "stop = []",
                "stop = [\"\"]",
            ),
            "categories.treatment.params.stop[0]",
        ),
        (
            edited_in(
                "[categories.prevention.params]",
                "priority = 10",
                "priority = 200",
            ),
            "categories.prevention.params.priority",
        ),
        (
            edited(
                "default_category = \"diagnosis\"",
                "default_category = \"triage\"",
            ),
            "classifier.default_category",
        ),
        (
            edited(
                "tie_order = [\"emergency\", \"medication\", \"diagnosis\", \"treatment\", \"prevention\"]",
                "tie_order = [\"medication\", \"emergency\", \"diagnosis\", \"treatment\", \"prevention\"]",
            ),
            "classifier.tie_order",
        ),
        (
            edited(
                "tie_order = [\"emergency\", \"medication\", \"diagnosis\", \"treatment\", \"prevention\"]",
                "tie_order = [\"emergency\", \"medication\", \"diagnosis\", \"treatment\"]",
            ),
            "classifier.tie_order",
        ),
        (
            edited("emergency_ratio = 0.6", "emergency_ratio = 0.0"),
            "classifier.emergency_ratio",
        ),
        (
            edited("weight = 4.0", "weight = -1.0"),
            "categories.emergency.terms[0].weight",
        ),
        (
            edited(
                "\"not breathing\", ",
                "\"not breathing\", \"Not-Breathing\", ",
            ),
            "categories.emergency.terms[0].words",
        ),
        (
            edited_in(
                "[categories.emergency.params]",
                "max_tokens = 384",
                "max_tokens = 0",
            ),
            "categories.emergency.params.max_tokens",
        ),
        (
            edited(
                "emergency_line = \"If this is an emergency, call your local emergency number (e.g. 112 or 911) now.\"",
                "emergency_line = \"\"",
            ),
            "safety.emergency_line",
        ),
    ];
    for (text, key) in cases {
        match CategoryConfig::from_toml_str(&text, "test") {
            Err(e @ ClassifyError::Invalid { .. }) => {
                assert!(e.to_string().contains(key), "expected key {key} in: {e}")
            }
            other => panic!("expected Invalid naming {key}, got {other:?}"),
        }
    }
}

#[test]
fn missing_category_and_bad_toml_are_parse_errors() {
    let start = BUILTIN_TOML.find("[categories.prevention]").unwrap();
    let msg = error_of(&BUILTIN_TOML[..start]);
    assert!(msg.contains("prevention"), "{msg}");
    assert!(matches!(
        CategoryConfig::from_toml_str("version = ", "test"),
        Err(ClassifyError::Parse { .. })
    ));
    let missing = CategoryConfig::load(std::path::Path::new("/nonexistent/categories.toml"));
    assert!(matches!(missing, Err(ClassifyError::Io { .. })));
}

#[test]
fn integer_version_is_accepted() {
    let c =
        CategoryConfig::from_toml_str(&edited("version = \"2025-06-1\"", "version = 7"), "test")
            .unwrap();
    assert_eq!(c.version(), "7");
}

#[test]
fn template_version_changes_with_every_kind_of_edit_but_not_with_comments() {
    let base = builtin().template_version().to_owned();
    let version_of = |text: String| {
        CategoryConfig::from_toml_str(&text, "test")
            .unwrap()
            .template_version()
            .to_owned()
    };
    // Formatting and comments do not matter.
    assert_eq!(
        version_of(format!("# a new comment\n{BUILTIN_TOML}\n\n")),
        base
    );
    let edits = [
        edited("version = \"2025-06-1\"", "version = \"2025-06-2\""),
        edited("Answer concisely,", "Answer briefly,"),
        edited(
            "Start with the single most urgent action.",
            "Start with the most urgent action.",
        ),
        edited("priority = 30", "priority = 31"),
        edited_in(
            "[categories.treatment.params]",
            "stop = []",
            "stop = [\"\\n\\n\\n\"]",
        ),
        edited_in(
            "[categories.diagnosis.params]",
            "temperature = 0.0",
            "temperature = 0.1",
        ),
        edited("(e.g. 112 or 911) now.", "(112) now."),
        edited(
            "prepend_to_emergency = true",
            "prepend_to_emergency = false",
        ),
        edited("extra_tokens = 1024", "extra_tokens = 2048"),
        edited("\"anaphylaxis\", ", ""),
        edited("emergency_ratio = 0.6", "emergency_ratio = 0.61"),
    ];
    let mut seen = std::collections::HashSet::from([base.clone()]);
    for (i, text) in edits.into_iter().enumerate() {
        let v = version_of(text);
        assert!(
            seen.insert(v),
            "edit {i} did not change the template version"
        );
    }
}
