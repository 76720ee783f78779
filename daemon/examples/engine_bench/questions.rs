//! The fixed question set for "seconds per question": the first N items of the MedQA (USMLE,
//! 4 options) file in `../shared/eval/`, formatted as a clinician would paste them (stem, then
//! the options one per line). The same texts go to our engine and to llama-server, so both
//! compute the same prompts; the answer length is capped (`--q-tokens`) and reported.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::Value;

/// Default location of the question file (the shared eval data beside the repository).
pub fn default_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/eval/medqa_usmle_4opt_dev273.jsonl")
}

/// The first `n` questions of `file`, each as "stem\nA. …\nB. …".
pub fn load(file: &std::path::Path, n: usize) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the question set {}", file.display()))?;
    let mut out = Vec::with_capacity(n);
    for line in text.lines().filter(|l| !l.trim().is_empty()).take(n) {
        let v: Value = serde_json::from_str(line)
            .with_context(|| format!("bad line in {}", file.display()))?;
        let mut q = v["question"]
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_string();
        if let Some(opts) = v["options"].as_object() {
            for (k, o) in opts {
                q.push_str(&format!("\n{k}. {}", o.as_str().unwrap_or_default()));
            }
        }
        out.push(q);
    }
    anyhow::ensure!(!out.is_empty(), "no questions in {}", file.display());
    Ok(out)
}

/// The prompt text our engine renders for a model without a chat template (gemma-3-270m is a
/// base model): `{system}\n\nQuestion: {question}\nAnswer:` (daemon/src/engine/llama.rs), and its
/// stop strings. llama-server gets exactly this text, so both compute the same tokens.
pub fn plain_prompt(system: &str, question: &str) -> String {
    format!("{system}\n\nQuestion: {question}\nAnswer:")
}

/// The stop strings of the plain format.
pub const PLAIN_STOPS: [&str; 2] = ["\nQuestion:", "\n\n\n"];
