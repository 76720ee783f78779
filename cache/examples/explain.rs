//! `cargo run --release -p medllm-cache --example explain -- "cached question" "asked question"`
//! prints what `medctl cache explain` will print. With `--pairs FILE.jsonl` it explains every pair of a
//! cache-pairs file (fields a, b, expect) and prints a summary.

use std::path::PathBuf;
use std::sync::Arc;

use medllm_cache::{DEFAULT_SEMANTIC_THRESHOLD, Matcher, MiniLm};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model = std::env::var_os("MEDLLM_EMBEDDER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/all-MiniLM-L6-v2")
        });
    let embedder = match MiniLm::load(&model) {
        Ok(m) => Some(Arc::new(m) as Arc<dyn medllm_cache::Embedder>),
        Err(e) => {
            eprintln!("semantic tier off: {e}");
            None
        }
    };
    let threshold = std::env::var("MEDLLM_THRESHOLD")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(DEFAULT_SEMANTIC_THRESHOLD);
    let matcher = Matcher::new(embedder, threshold);
    if args.len() == 2 && args[0] == "--pairs" {
        let text = std::fs::read_to_string(&args[1]).unwrap_or_else(|e| panic!("{}: {e}", args[1]));
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            let (a, b, expect) = (
                v["a"].as_str().unwrap_or(""),
                v["b"].as_str().unwrap_or(""),
                v["expect"].as_str().unwrap_or(""),
            );
            let e = matcher.explain(a, b);
            let ok = (expect == "hit") == e.verdict.is_hit();
            println!(
                "[{}] expect {expect} kind {}\n{e}\n",
                if ok { "ok" } else { "WRONG" },
                v["kind"].as_str().unwrap_or("-")
            );
        }
        return;
    }
    if args.len() != 2 {
        eprintln!(
            "usage: explain \"cached question\" \"asked question\" | explain --pairs FILE.jsonl"
        );
        std::process::exit(2);
    }
    println!("{}", matcher.explain(&args[0], &args[1]));
}
