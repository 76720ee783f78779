//! Mixed-precision quantization: the paper recipe and a Q4_K_M-style recipe on an F16 synthetic model load
//! and answer in llama.cpp; types, sizes, metadata and untouched tensors are as the recipe says; the
//! `q4_k_m` built-in reproduces the real 7B Q4_K_M file's type for every tensor.

use medllm_gguf::{GgmlType, Value, read_header_from_path};
use medllm_quant::quantize::{self, QuantizeOptions};
use medllm_quant::recipe::{Reason, Recipe};
use medllm_quant::synth::{self, GenerateOptions, LlamaConfig};
use medllm_quant::{ModelFile, Threads};

use crate::common::{self, PROMPT};

/// A small F16 model whose rows all fit 256-element blocks, with one feed-forward width that does not
/// (n_ff = 800: `ffn_down` rows of 800 → Q4_K falls back to Q5_0).
fn f16_model(dir: &tempfile::TempDir, n_ff: u64) -> std::path::PathBuf {
    let p = common::path(dir, "f16.gguf");
    let cfg = LlamaConfig {
        n_ff,
        ..LlamaConfig::default()
    }
    .with_weight_type(GgmlType::F16);
    synth::synth_llama(
        &cfg,
        &p,
        GenerateOptions {
            seed: 5,
            threads: Threads(2),
        },
    )
    .unwrap();
    p
}

#[test]
fn paper_and_q4_k_m_recipes_load_answer_and_differ_as_designed() {
    let dir = common::tmp();
    let f16 = f16_model(&dir, 768);
    let (paper, q4km) = (
        common::path(&dir, "paper.gguf"),
        common::path(&dir, "q4km.gguf"),
    );
    let h = read_header_from_path(&f16).unwrap();
    let opts = QuantizeOptions {
        threads: Threads(2),
        allow_requantize: false,
    };
    let rp =
        quantize::quantize(&f16, &paper, &Recipe::builtin("paper", &h).unwrap(), opts).unwrap();
    let rq =
        quantize::quantize(&f16, &q4km, &Recipe::builtin("q4_k_m", &h).unwrap(), opts).unwrap();
    assert_eq!(rp.file_bytes_out, std::fs::metadata(&paper).unwrap().len());
    assert!(
        rq.file_bytes_out < rp.file_bytes_out,
        "attention at 8 bits must cost more than Q4_K_M"
    );
    assert!(rp.file_bytes_out < rp.file_bytes_in);

    let hp = read_header_from_path(&paper).unwrap();
    let ty = |h: &medllm_gguf::GgufHeader, n: &str| h.tensor(n).unwrap().ggml_type();
    for l in 0..4 {
        for s in ["attn_q", "attn_k", "attn_v", "attn_output"] {
            assert_eq!(ty(&hp, &format!("blk.{l}.{s}.weight")), GgmlType::Q8_0);
        }
        for s in ["ffn_gate", "ffn_up", "ffn_down"] {
            assert_eq!(ty(&hp, &format!("blk.{l}.{s}.weight")), GgmlType::Q4_K);
        }
        assert_eq!(ty(&hp, &format!("blk.{l}.attn_norm.weight")), GgmlType::F32);
    }
    assert_eq!(ty(&hp, "output.weight"), GgmlType::Q6_K);
    assert_eq!(ty(&hp, "token_embd.weight"), GgmlType::Q4_K);
    let m = hp.metadata();
    assert_eq!(
        m.get("general.file_type"),
        Some(&Value::U32(15)),
        "mostly Q4_K → Q4_K_M"
    );
    assert_eq!(m.get("general.quantization_version"), Some(&Value::U32(2)));
    assert_eq!(
        m.get("medllm.quantize.recipe").and_then(Value::as_str),
        Some("paper")
    );
    assert_eq!(
        m.get("tokenizer.ggml.model").and_then(Value::as_str),
        Some("llama")
    );
    // Q4_K_M: with 4 layers, use_more_bits picks layer 3 (last eighth) and 2 ((2 − 0) % 3 == 2) → Q6_K
    // attn_v/ffn_down there.
    let hq = read_header_from_path(&q4km).unwrap();
    assert_eq!(ty(&hq, "blk.2.attn_v.weight"), GgmlType::Q6_K);
    assert_eq!(ty(&hq, "blk.0.attn_v.weight"), GgmlType::Q4_K);
    assert_eq!(ty(&hq, "blk.1.ffn_down.weight"), GgmlType::Q4_K);
    assert_eq!(ty(&hq, "blk.3.ffn_down.weight"), GgmlType::Q6_K);
    assert_eq!(ty(&hq, "blk.1.attn_q.weight"), GgmlType::Q4_K);

    // Norms are copied byte for byte.
    let (src, out) = (
        ModelFile::open(&f16).unwrap(),
        ModelFile::open(&paper).unwrap(),
    );
    let norm = src.header().tensor("blk.2.ffn_norm.weight").unwrap();
    assert_eq!(
        src.read_tensor(norm).unwrap(),
        out.read_tensor(out.header().tensor(norm.name()).unwrap())
            .unwrap()
    );

    // 8-bit attention is measurably closer to the source than Q4_K_M's 4-bit; feed-forward is equal.
    let rmse = |file: &std::path::Path, name: &str| {
        let m = ModelFile::open(file).unwrap();
        let (x, y) = (
            src.read_f32(src.header().tensor(name).unwrap()).unwrap(),
            m.read_f32(m.header().tensor(name).unwrap()).unwrap(),
        );
        (x.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum::<f32>() / x.len() as f32).sqrt()
    };
    let (p_att, q_att) = (
        rmse(&paper, "blk.1.attn_q.weight"),
        rmse(&q4km, "blk.1.attn_q.weight"),
    );
    eprintln!("attn_q RMSE: paper {p_att:.2e}, q4_k_m {q_att:.2e}");
    assert!(p_att * 4.0 < q_att);
    assert_eq!(
        rmse(&paper, "blk.1.ffn_up.weight"),
        rmse(&q4km, "blk.1.ffn_up.weight")
    );

    let _g = common::llama_lock();
    let mut reference = common::load(&f16);
    let r = common::greedy(&mut reference, None, PROMPT, 6);
    for p in [&paper, &q4km] {
        let mut model = common::load(p);
        let t = common::greedy(&mut model, None, PROMPT, 6);
        let d = t.max_abs_diff(&r);
        eprintln!(
            "{}: max |Δlogit| vs F16 {d:.3}, tokens {:?} vs {:?}",
            p.display(),
            t.tokens,
            r.tokens
        );
        assert!(d > 0.0, "quantization changed nothing?");
    }
}

#[test]
fn incompatible_rows_fall_back_and_requantizing_needs_consent() {
    let dir = common::tmp();
    let f16 = f16_model(&dir, 800);
    let (a, b) = (common::path(&dir, "a.gguf"), common::path(&dir, "b.gguf"));
    let h = read_header_from_path(&f16).unwrap();
    let opts = QuantizeOptions::default();
    let r = quantize::quantize(&f16, &a, &Recipe::builtin("paper", &h).unwrap(), opts).unwrap();
    let falls: Vec<_> = r
        .fallbacks()
        .map(|t| (t.name.clone(), t.choice.ty))
        .collect();
    assert_eq!(falls.len(), 4, "{falls:?}");
    assert!(
        falls
            .iter()
            .all(|(n, ty)| n.ends_with("ffn_down.weight") && *ty == GgmlType::Q5_0)
    );
    // Q4_K input → paper: refused without consent, done with it.
    let err = quantize::quantize(&a, &b, &Recipe::builtin("q8_0", &h).unwrap(), opts).unwrap_err();
    assert!(err.to_string().contains("--allow-requantize"), "{err}");
    assert!(!b.exists());
    let consent = QuantizeOptions {
        allow_requantize: true,
        ..opts
    };
    quantize::quantize(&a, &b, &Recipe::builtin("q8_0", &h).unwrap(), consent).unwrap();
    let _g = common::llama_lock();
    let mut model = common::load(&b);
    common::greedy(&mut model, None, PROMPT, 2);
}

#[test]
fn q4_k_m_builtin_reproduces_the_real_7b_file() {
    let h = read_header_from_path(common::fixture_7b()).unwrap();
    let recipe = Recipe::builtin("q4_k_m", &h).unwrap();
    for t in h.tensors() {
        let c = recipe.choose(t);
        assert_eq!(
            c.ty,
            t.ggml_type(),
            "{}: recipe {:?}, file {}",
            t.name(),
            c,
            t.ggml_type()
        );
        if t.dims().len() == 1 {
            assert_eq!(c.reason, Reason::NotQuantizable);
        }
    }
    let paper = Recipe::builtin("paper", &h).unwrap();
    let (plan, _) = quantize::plan(&h, &paper).unwrap();
    let q8: u64 = plan
        .tensors
        .iter()
        .filter(|t| t.choice.ty == GgmlType::Q8_0)
        .map(|t| t.bytes_out)
        .sum();
    assert_eq!(
        plan.tensors
            .iter()
            .filter(|t| t.choice.ty == GgmlType::Q8_0)
            .count(),
        28 * 4
    );
    assert!(
        q8 > 0 && plan.file_bytes_out > plan.file_bytes_in,
        "8-bit attention is larger than Q4_K_M"
    );
}

#[test]
fn cli_dry_run_and_recipe_file() {
    let dir = common::tmp();
    let f16 = f16_model(&dir, 768);
    let recipe = common::path(&dir, "r.toml");
    std::fs::write(&recipe, "name = \"att8\"\ndefault = \"keep\"\n[[rules]]\nglob = \"blk.*.attn_*.weight\"\ntype = \"Q8_0\"\n").unwrap();
    let out = common::bin()
        .arg("quantize")
        .arg(&f16)
        .args(["--dry-run", "--tensors", "--recipe"])
        .arg(&recipe)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("recipe att8: would write"), "{text}");
    assert!(
        text.contains("blk.0.attn_q.weight") && text.contains("Q8_0"),
        "{text}"
    );
    let q = common::path(&dir, "q.gguf");
    let ok = common::bin()
        .arg("quantize")
        .arg(&f16)
        .arg("-o")
        .arg(&q)
        .arg("--recipe")
        .arg(&recipe)
        .status()
        .unwrap();
    assert!(ok.success());
    let h = read_header_from_path(&q).unwrap();
    assert_eq!(
        h.tensor("blk.1.attn_k.weight").unwrap().ggml_type(),
        GgmlType::Q8_0
    );
    assert_eq!(
        h.tensor("blk.1.ffn_up.weight").unwrap().ggml_type(),
        GgmlType::F16
    );
    let bad = common::bin()
        .arg("quantize")
        .arg(&f16)
        .args(["--dry-run", "--recipe", "nope"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("neither a built-in"));
}
