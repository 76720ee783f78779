//! Classifies questions and prints why; a tuning aid until `medctl classify` exists.
//!
//! ```text
//! cargo run -p medllm-classify --example classify -- "What is the dose of amoxicillin?"
//! cargo run -p medllm-classify --example classify -- --config configs/categories.toml --jsonl FILE
//! ```
//! With `--jsonl FILE` (lines `{"question", "category"}`) it prints only the misclassified questions.

use std::path::PathBuf;

use medllm_classify::{Category, CategoryConfig, Classifier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).peekable();
    let mut config = None;
    let mut jsonl = None;
    let mut questions = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config = args.next().map(PathBuf::from),
            "--jsonl" => jsonl = args.next().map(PathBuf::from),
            _ => questions.push(arg),
        }
    }
    let config = match config {
        Some(path) => CategoryConfig::load(&path)?,
        None => CategoryConfig::builtin()?,
    };
    let classifier = Classifier::new(&config);
    if let Some(path) = jsonl {
        let (mut total, mut correct) = (0, 0);
        for line in std::fs::read_to_string(path)?
            .lines()
            .filter(|l| !l.trim().is_empty())
        {
            let v: serde_json::Value = serde_json::from_str(line)?;
            let q = v["question"].as_str().unwrap_or_default();
            let expected: Category = v["category"].as_str().unwrap_or_default().parse()?;
            let c = classifier.classify(q);
            total += 1;
            if c.category == expected {
                correct += 1;
            } else {
                println!("expected {expected}: {q}\n{c}");
            }
        }
        println!("{correct}/{total} correct");
    }
    for q in questions {
        println!("{q}\n{}", classifier.classify(&q));
    }
    Ok(())
}
