//! Acceptance on the project's labelled pairs (`../shared/eval/cache_pairs_dev.jsonl`) with the real
//! embedder: 0 false hits on `miss` pairs (gating, both directions, through `explain` and through a real
//! cache), the hit rate on `hit` pairs reported (aim ≥ 80 %). Plus a few hundred generated must-miss pairs
//! through the real embedder, and the hit rate on our own paraphrase set.

use serde_json::Value;

use crate::common::{
    config, key, manifest_dir, manual_clock, memo_minilm, open, real_embedder_budget, shared_dir,
};
use crate::mutations;
use medllm_cache::{DEFAULT_SEMANTIC_THRESHOLD, Matcher, Tier};

fn pairs(path: &std::path::Path) -> Vec<(String, String, String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json line");
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            (s("a"), s("b"), s("expect"), s("kind"))
        })
        .collect()
}

fn real_matcher() -> Option<Matcher> {
    Some(Matcher::new(
        Some(memo_minilm()?),
        DEFAULT_SEMANTIC_THRESHOLD,
    ))
}

#[test]
fn dev_pairs_zero_false_hits_and_hit_rate() {
    let Some(matcher) = real_matcher() else {
        return;
    };
    let all = pairs(&shared_dir().join("eval/cache_pairs_dev.jsonl"));
    assert!(all.len() >= 30, "dev pairs file too small");
    let (mut hits, mut hit_total, mut misses) = (0, 0, 0);
    for (a, b, expect, kind) in &all {
        let ab = matcher.explain(a, b);
        let ba = matcher.explain(b, a);
        match expect.as_str() {
            "miss" => {
                misses += 1;
                assert!(!ab.verdict.is_hit(), "FALSE HIT ({kind}):\n{ab}");
                assert!(!ba.verdict.is_hit(), "FALSE HIT ({kind}, reversed):\n{ba}");
            }
            "hit" => {
                hit_total += 1;
                if ab.verdict.is_hit() {
                    hits += 1;
                } else {
                    eprintln!("missed paraphrase ({kind}):\n{ab}\n");
                }
            }
            other => panic!("unknown label {other}"),
        }
    }
    let rate = hits as f64 / hit_total as f64;
    eprintln!(
        "cache_pairs_dev: {misses} miss pairs, 0 false hits; hit rate {hits}/{hit_total} = {:.0}% (threshold {DEFAULT_SEMANTIC_THRESHOLD})",
        100.0 * rate
    );
    assert!(rate >= 0.8, "hit rate {rate:.2} below the 80% aim");
}

#[test]
fn dev_pairs_through_a_real_cache() {
    let Some(matcher) = real_matcher() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = open(config(tmp.path()), matcher, manual_clock());
    let all = pairs(&shared_dir().join("eval/cache_pairs_dev.jsonl"));
    let k = key();
    // store every A, then ask every B: a miss pair must never get A's answer
    for (i, (a, _, _, _)) in all.iter().enumerate() {
        cache
            .store(&k, a, &format!("answer #{i} for: {a}"))
            .expect("store");
    }
    let mut semantic_hits = 0;
    for (i, (a, b, expect, kind)) in all.iter().enumerate() {
        let hit = cache.lookup(&k, b);
        if expect == "miss" {
            if let Some(h) = &hit {
                assert!(
                    h.matched_question != *a,
                    "FALSE HIT ({kind}): {b:?} served the answer cached for {a:?}"
                );
            }
        } else if let Some(h) = hit {
            assert_eq!(
                h.answer,
                format!("answer #{i} for: {a}"),
                "a hit must serve the matching entry"
            );
            if h.tier == Tier::Semantic {
                semantic_hits += 1;
                assert!(h.cosine.is_some_and(|c| c >= DEFAULT_SEMANTIC_THRESHOLD));
            }
        }
    }
    eprintln!("through the cache: {semantic_hits} semantic hits on the dev hit pairs");
    assert!(semantic_hits > 0);
}

#[test]
fn generated_must_miss_pairs_with_the_real_embedder() {
    let Some(matcher) = real_matcher() else {
        return;
    };
    let n = real_embedder_budget(300);
    let mut above = 0;
    for (a, b) in mutations::deterministic(n) {
        let e = matcher.explain(&a, &b);
        assert!(!e.verdict.is_hit(), "FALSE HIT on a generated pair:\n{e}");
        if e.cosine.is_some_and(|c| c >= DEFAULT_SEMANTIC_THRESHOLD) {
            above += 1;
        }
    }
    eprintln!(
        "generated: {n} must-miss pairs through MiniLM, {above} above the cosine threshold, 0 false hits"
    );
    assert!(
        above > n / 2,
        "the generated pairs should mostly be near-duplicates the embedder cannot tell apart"
    );
}

/// 90 hand-written near-duplicates that must miss (role swaps, one-word changes, polarity, negation,
/// rates, conjunctions …), written while hunting for false hits; through the real embedder, both ways.
#[test]
fn adversarial_pairs_never_hit() {
    let Some(matcher) = real_matcher() else {
        return;
    };
    let all = pairs(&manifest_dir().join("tests/fixtures/adversarial_pairs.jsonl"));
    assert!(all.len() >= 90);
    for (a, b, expect, kind) in &all {
        assert_eq!(expect, "miss");
        for (x, y) in [(a, b), (b, a)] {
            let e = matcher.explain(x, y);
            assert!(!e.verdict.is_hit(), "FALSE HIT ({kind}):\n{e}");
        }
    }
}

#[test]
fn own_paraphrase_set_hit_rate() {
    let Some(matcher) = real_matcher() else {
        return;
    };
    let all = pairs(&manifest_dir().join("tests/fixtures/paraphrase_pairs.jsonl"));
    let mut hits = 0;
    for (a, b, _, _) in &all {
        let e = matcher.explain(a, b);
        if e.verdict.is_hit() {
            hits += 1;
        } else {
            eprintln!("paraphrase missed:\n{e}\n");
        }
    }
    eprintln!(
        "own paraphrase set: hit rate {hits}/{} = {:.0}%",
        all.len(),
        100.0 * hits as f64 / all.len() as f64
    );
    assert!(hits > 0);
}
