//! The journal that makes `medctl eval` resumable: one JSON line per scored question, appended
//! and flushed as soon as the daemon answers, next to the report (`<report>.journal.jsonl`).
//! A rerun of the same command reads it, skips what is done and scores only the rest, so an
//! interruption (Ctrl-C, a crash, a reboot) loses at most the question in flight.
//!
//! The first line is a [`Header`] naming the model, templates and method; a journal written under
//! other conditions is refused (mixing them would make the figures meaningless) unless the user
//! starts over with `--fresh`. A last line cut off by a crash is dropped on open.

use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// What a journal's results depend on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Format version of the journal.
    pub medctl_eval_journal: u32,
    /// The model that scored (`<name>@<hash>`).
    pub model_id: String,
    /// Hash of the category templates.
    pub template_version: String,
    /// `loglik` or `generate`.
    pub method: String,
}

/// One scored question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Dataset name.
    pub dataset: String,
    /// Question id within the dataset.
    pub id: String,
    /// `medical` or `plain`.
    pub prompt: String,
    /// The correct letter.
    pub answer: String,
    /// The chosen letter (`""`: none could be read from a generated answer, or an error).
    pub choice: String,
    /// `choice == answer`.
    pub correct: bool,
    /// Number of options (for the chance level).
    pub n_options: usize,
    /// Template category used (`""` with the plain prompt).
    pub category: String,
    /// What the classifier chose.
    pub classified_category: String,
    /// Per-letter log-likelihood (`loglik` method).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loglik: Option<BTreeMap<String, f64>>,
    /// The generated answer (`generate` method).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
    /// Why the daemon refused this question (counted as wrong).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Prompt tokens reused from the template's KV cache.
    pub reused_prefix_tokens: u32,
    /// Daemon-side time for this question, in milliseconds.
    pub ms: f64,
}

impl Record {
    /// The key that identifies a question under one prompt.
    pub fn key(&self) -> (String, String, String) {
        (self.dataset.clone(), self.id.clone(), self.prompt.clone())
    }
}

/// An open journal: the records already done and a writer for new ones.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    out: BufWriter<File>,
    /// Records read back at open, then every appended one.
    pub records: Vec<Record>,
    done: HashSet<(String, String, String)>,
}

/// The journal path for a report path (`r.json` → `r.journal.jsonl`).
pub fn path_for(report: &Path) -> PathBuf {
    report.with_extension("journal.jsonl")
}

impl Journal {
    /// Open (or create) the journal at `path` for `header`. `fresh` discards an existing one.
    pub fn open(path: &Path, header: &Header, fresh: bool) -> Result<Self> {
        let existing = if fresh || !path.exists() {
            None
        } else {
            Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
            )
        };
        let mut records = Vec::new();
        let keep = match existing.as_deref().filter(|t| !t.trim().is_empty()) {
            None => None,
            Some(text) => {
                // Only whole lines count: a line without its newline was cut off mid-write.
                let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
                let mut lines = whole.lines();
                let first = lines.next().unwrap_or_default();
                let found: Header = serde_json::from_str(first)
                    .with_context(|| format!("{} is not a medctl eval journal", path.display()))?;
                if found != *header {
                    bail!(
                        "{} was written for {} / templates {} / method {}, this run is {} / {} / {}; \
                         use --fresh to start over or --report to write elsewhere",
                        path.display(),
                        found.model_id,
                        found.template_version,
                        found.method,
                        header.model_id,
                        header.template_version,
                        header.method
                    );
                }
                for (n, line) in lines.enumerate() {
                    let r: Record = serde_json::from_str(line)
                        .with_context(|| format!("{} line {}", path.display(), n + 2))?;
                    records.push(r);
                }
                Some(whole.len())
            }
        };
        let file = match keep {
            Some(len) => {
                let f = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .with_context(|| format!("cannot open {}", path.display()))?;
                f.set_len(len as u64)
                    .with_context(|| format!("cannot truncate {}", path.display()))?;
                drop(f);
                OpenOptions::new().append(true).open(path)
            }
            None => File::create(path),
        }
        .with_context(|| format!("cannot write {}", path.display()))?;
        let mut out = BufWriter::new(file);
        if keep.is_none() {
            serde_json::to_writer(&mut out, header)?;
            out.write_all(b"\n")?;
            out.flush()?;
        }
        let done = records.iter().map(Record::key).collect();
        Ok(Self {
            path: path.to_path_buf(),
            out,
            records,
            done,
        })
    }

    /// Whether this question under this prompt is already scored.
    pub fn is_done(&self, dataset: &str, id: &str, prompt: &str) -> bool {
        self.done
            .contains(&(dataset.to_string(), id.to_string(), prompt.to_string()))
    }

    /// Append one record and flush it to the file before returning.
    pub fn append(&mut self, r: Record) -> Result<()> {
        serde_json::to_writer(&mut self.out, &r)?;
        self.out.write_all(b"\n")?;
        self.out
            .flush()
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        self.done.insert(r.key());
        self.records.push(r);
        Ok(())
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            medctl_eval_journal: 1,
            model_id: "m@1".into(),
            template_version: "t".into(),
            method: "loglik".into(),
        }
    }

    fn record(id: &str) -> Record {
        Record {
            dataset: "d".into(),
            id: id.into(),
            prompt: "medical".into(),
            answer: "A".into(),
            choice: "B".into(),
            correct: false,
            n_options: 4,
            category: "diagnosis".into(),
            classified_category: "diagnosis".into(),
            loglik: Some(BTreeMap::from([("A".into(), -1.0), ("B".into(), -0.5)])),
            generated: None,
            error: None,
            prompt_tokens: 10,
            reused_prefix_tokens: 5,
            ms: 1.0,
        }
    }

    #[test]
    fn resumes_drops_a_torn_line_and_refuses_another_run() {
        let dir = std::env::temp_dir().join(format!("medctl-journal-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("r.journal.jsonl");
        {
            let mut j = Journal::open(&p, &header(), false).unwrap();
            j.append(record("1")).unwrap();
            j.append(record("2")).unwrap();
        }
        // A crash in the middle of the third line.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"dataset":"d","id":"3","pro"#).unwrap();
        drop(f);
        let mut j = Journal::open(&p, &header(), false).unwrap();
        assert_eq!(j.records.len(), 2);
        assert!(
            j.is_done("d", "2", "medical")
                && !j.is_done("d", "2", "plain")
                && !j.is_done("d", "3", "medical")
        );
        j.append(record("3")).unwrap();
        drop(j);
        let j = Journal::open(&p, &header(), false).unwrap();
        assert_eq!(
            j.records.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["1", "2", "3"]
        );
        drop(j);

        let other = Header {
            method: "generate".into(),
            ..header()
        };
        let e = Journal::open(&p, &other, false).unwrap_err();
        assert!(format!("{e:#}").contains("--fresh"), "{e:#}");
        let j = Journal::open(&p, &other, true).unwrap();
        assert!(j.records.is_empty());
        drop(j);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn journal_sits_next_to_the_report() {
        assert_eq!(
            path_for(Path::new("/x/r.json")),
            Path::new("/x/r.journal.jsonl")
        );
    }
}
