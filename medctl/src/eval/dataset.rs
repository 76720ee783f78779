//! Multiple-choice evaluation sets: one JSON object per line with `question`, `options`
//! (letter → text), `answer` (a letter) and, for PubMedQA, `context` (see
//! `/work/shared/eval/README.md` for the files we use). Lines are kept in file order so a run
//! is deterministic and `--limit N` always means the same first N questions.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// One line as written in the file (extra fields are ignored).
#[derive(Debug, Deserialize)]
struct Line {
    id: Option<String>,
    question: String,
    options: BTreeMap<String, String>,
    answer: String,
    context: Option<String>,
}

/// One question, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The set it comes from (file name without extension).
    pub dataset: String,
    /// Its id (`line-N` when the file has none); unique within the set.
    pub id: String,
    /// The question stem.
    pub question: String,
    /// Options, letter → text.
    pub options: BTreeMap<String, String>,
    /// The correct letter.
    pub answer: String,
    /// A passage the question is about (PubMedQA's abstract without its conclusion).
    pub context: Option<String>,
}

/// The dataset name of a file: its name without `.jsonl`.
pub fn name_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Read the first `limit` questions of `path` (all when `None`). A malformed line, an answer
/// that is not one of the options, or a repeated id is an error naming the line: an evaluation
/// that silently skipped questions would report a wrong accuracy.
pub fn load(path: &Path, limit: Option<usize>) -> Result<Vec<Item>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&name_of(path), &text, limit).with_context(|| format!("in {}", path.display()))
}

/// [`load`] on text already read.
pub fn parse(dataset: &str, text: &str, limit: Option<usize>) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        if limit.is_some_and(|l| items.len() >= l) {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let l: Line = serde_json::from_str(line).with_context(|| format!("line {}", n + 1))?;
        let id = l.id.unwrap_or_else(|| format!("line-{}", n + 1));
        if !l.options.contains_key(&l.answer) {
            bail!(
                "line {}: the answer '{}' is not one of the options",
                n + 1,
                l.answer
            );
        }
        if !ids.insert(id.clone()) {
            bail!("line {}: id '{id}' appears twice", n + 1);
        }
        items.push(Item {
            dataset: dataset.to_string(),
            id,
            question: l.question,
            options: l.options,
            answer: l.answer,
            context: l.context.filter(|c| !c.trim().is_empty()),
        });
    }
    if items.is_empty() {
        bail!("no questions");
    }
    Ok(items)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    const TWO: &str = r#"{"id":"q1","question":"Q1?","options":{"A":"x","B":"y"},"answer":"B","source":"s"}

{"question":"Q2?","options":{"A":"yes","B":"no","C":"maybe"},"answer":"C","context":"An abstract."}
"#;

    #[test]
    fn parses_in_order_with_ids_context_and_limit() {
        let items = parse("set", TWO, None).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].id, "q1");
        assert_eq!(items[1].id, "line-3");
        assert_eq!(items[1].context.as_deref(), Some("An abstract."));
        assert_eq!(items[1].options.len(), 3);
        assert_eq!(parse("set", TWO, Some(1)).unwrap().len(), 1);
    }

    #[test]
    fn bad_lines_are_errors() {
        let bad_answer = r#"{"question":"Q","options":{"A":"x","B":"y"},"answer":"C"}"#;
        assert!(
            format!("{:#}", parse("s", bad_answer, None).unwrap_err())
                .contains("not one of the options")
        );
        let dup = r#"{"id":"a","question":"Q","options":{"A":"x","B":"y"},"answer":"A"}
{"id":"a","question":"Q","options":{"A":"x","B":"y"},"answer":"A"}"#;
        assert!(format!("{:#}", parse("s", dup, None).unwrap_err()).contains("twice"));
        assert!(parse("s", "{not json", None).is_err());
        assert!(parse("s", "", None).is_err());
    }

    #[test]
    fn the_shared_sets_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/eval");
        for (file, rows) in [
            ("medqa_usmle_4opt_dev273.jsonl", 273),
            ("pubmedqa_pqal_test.jsonl", 500),
            ("medmcqa_dev.jsonl", 4183),
        ] {
            let p = dir.join(file);
            if !p.exists() {
                eprintln!("SKIP: {} not found", p.display());
                continue;
            }
            let items = load(&p, None).unwrap();
            assert_eq!(items.len(), rows, "{file}");
            if file.starts_with("pubmedqa") {
                assert!(
                    items.iter().all(|i| i.context.is_some()),
                    "PubMedQA has contexts"
                );
            }
        }
    }
}
