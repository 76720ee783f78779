//! The Rust MiniLM against the reference implementation (sentence-transformers, see
//! tests/fixtures/make_golden.py): token ids exactly, embeddings element-wise, pair cosines within 0.01.

use serde_json::Value;

use crate::common::{manifest_dir, minilm};
use medllm_cache::Embedder;

fn golden() -> Value {
    let path = manifest_dir().join("tests/fixtures/golden_minilm.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("golden fixture"))
        .expect("golden json")
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn tokenizer_matches_reference_ids() {
    let Some(m) = minilm() else { return };
    let g = golden();
    let ids = g["token_ids"].as_object().expect("token_ids");
    assert!(ids.len() >= 20);
    for (sentence, want) in ids {
        let want: Vec<u32> = want
            .as_array()
            .expect("ids")
            .iter()
            .map(|v| v.as_u64().expect("id") as u32)
            .collect();
        assert_eq!(
            m.tokenizer().encode(sentence),
            want,
            "token ids of {sentence:?}"
        );
    }
}

#[test]
fn embeddings_match_reference_elementwise() {
    let Some(m) = minilm() else { return };
    let g = golden();
    for (sentence, want) in g["embeddings"].as_object().expect("embeddings") {
        let want: Vec<f32> = want
            .as_array()
            .expect("vector")
            .iter()
            .map(|v| v.as_f64().expect("f") as f32)
            .collect();
        let got = m.embed(sentence).expect("embed");
        assert_eq!(got.len(), want.len());
        let max_diff = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            max_diff < 1e-3,
            "{sentence:?}: max element difference {max_diff}"
        );
        assert!(
            cos(&got, &want) > 0.9999,
            "{sentence:?}: cosine to reference {}",
            cos(&got, &want)
        );
    }
}

#[test]
fn pair_cosines_match_reference_within_0_01() {
    let Some(m) = minilm() else { return };
    let g = golden();
    let pairs = g["pairs"].as_array().expect("pairs");
    assert!(pairs.len() >= 10);
    let mut worst = 0.0f32;
    for p in pairs {
        let (a, b) = (p["a"].as_str().expect("a"), p["b"].as_str().expect("b"));
        let want = p["cosine"].as_f64().expect("cosine") as f32;
        let got = cos(&m.embed(a).expect("embed"), &m.embed(b).expect("embed"));
        worst = worst.max((got - want).abs());
        assert!(
            (got - want).abs() <= 0.01,
            "{a:?} / {b:?}: got {got:.4}, reference {want:.4}"
        );
    }
    eprintln!(
        "golden: {} pairs, largest cosine deviation {worst:.2e}",
        pairs.len()
    );
}
