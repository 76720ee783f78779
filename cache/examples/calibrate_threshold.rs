//! Threshold calibration for the semantic tier (figures in docs/cache.md):
//! `cargo run --release -p medllm-cache --example calibrate_threshold`
//!
//! For each candidate threshold it prints, with the real MiniLM: hits on the dev `hit` pairs and on our
//! paraphrase set (guards on), how many dev `miss` pairs and generated must-miss pairs score above the
//! threshold (what cosine alone would serve), and false hits with the guards on (must be 0).

#[path = "../tests/integration/mutations.rs"]
#[allow(dead_code)]
mod mutations;

use std::path::PathBuf;
use std::sync::Arc;

use medllm_cache::{Embedder, Matcher, MiniLm};

fn load(path: PathBuf) -> Vec<(String, String, bool)> {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            (
                v["a"].as_str().unwrap_or("").to_owned(),
                v["b"].as_str().unwrap_or("").to_owned(),
                v["expect"] == "hit",
            )
        })
        .collect()
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let model = MiniLm::load(&root.join("../models/all-MiniLM-L6-v2"))
        .expect("MiniLM (run scripts/setup-models.sh)");
    let embedder: Arc<dyn Embedder> = Arc::new(model);
    let dev = load(root.join("../../shared/eval/cache_pairs_dev.jsonl"));
    let own = load(root.join("tests/fixtures/paraphrase_pairs.jsonl"));
    let generated: Vec<(String, String, bool)> = mutations::deterministic(500)
        .into_iter()
        .map(|(a, b)| (a, b, false))
        .collect();
    // one explain per pair at threshold 0 gives cosine + guard verdict; thresholds are applied afterwards
    let probe = Matcher::new(Some(Arc::clone(&embedder)), 0.0);
    let score = |set: &[(String, String, bool)]| -> Vec<(f32, bool, bool)> {
        set.iter()
            .map(|(a, b, hit)| {
                let e = probe.explain(a, b);
                (e.cosine.unwrap_or(0.0), e.vetoes.is_empty(), *hit)
            })
            .collect()
    };
    let (dev_s, own_s, gen_s) = (score(&dev), score(&own), score(&generated));
    let min_hit =
        |s: &[(f32, bool, bool)]| s.iter().filter(|x| x.2).map(|x| x.0).fold(1.0f32, f32::min);
    println!(
        "cosine of hit pairs: dev min {:.3}, own paraphrases min {:.3}",
        min_hit(&dev_s),
        min_hit(&own_s)
    );
    println!(
        "threshold | dev hits | own hits | dev misses ≥ thr (cosine only) | generated ≥ thr | false hits (guards on)"
    );
    for t in [0.60f32, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95] {
        let hits = |s: &[(f32, bool, bool)]| s.iter().filter(|x| x.2 && x.0 >= t && x.1).count();
        let total = |s: &[(f32, bool, bool)]| s.iter().filter(|x| x.2).count();
        let above_miss = |s: &[(f32, bool, bool)]| s.iter().filter(|x| !x.2 && x.0 >= t).count();
        let false_hits =
            |s: &[(f32, bool, bool)]| s.iter().filter(|x| !x.2 && x.0 >= t && x.1).count();
        println!(
            "  {t:.2}    | {:>2}/{:<2}    | {:>2}/{:<2}    | {:>2}/{:<2}                          | {:>3}/{}         | {}",
            hits(&dev_s),
            total(&dev_s),
            hits(&own_s),
            total(&own_s),
            above_miss(&dev_s),
            dev_s.len() - total(&dev_s),
            above_miss(&gen_s),
            gen_s.len(),
            false_hits(&dev_s) + false_hits(&gen_s),
        );
    }
}
