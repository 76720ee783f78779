//! LoRA adapters and merging: llama.cpp loads our adapters, they change the logits, a mismatched base is
//! refused, and the merged model gives the same greedy tokens and logits as base + adapter.

use medllm_gguf::{GgmlType, Value, read_header_from_path};
use medllm_quant::lora::{self, LoraAdapter, LoraConfig, Targets};
use medllm_quant::merge::{self, MergeOptions, MergedType};
use medllm_quant::synth::{self, GenerateOptions, LlamaConfig};
use medllm_quant::{ModelFile, Threads};

use crate::common::{self, PROMPT, Run};

/// Steps of greedy decoding compared between adapter mode and merged mode.
const STEPS: usize = 16;

/// Adapter mode vs merged mode with F32 weights, F32 KV cache and no flash attention (no f16 rounding of
/// activations anywhere): measured max |Δlogit| 1.6e-6 over 16 steps × 1024 logits (logits spread about ±5,
/// the adapter itself moves them by up to 5.0). The bound leaves ~60× for other CPUs' summation orders.
const F32_TOLERANCE: f32 = 1e-4;

/// The same with the daemon's settings (F16 KV cache, flash attention, which rounds Q/K/V to f16): a 1e-7
/// difference can flip an f16 rounding, so the gap grows to a measured 1.2e-3; bound 1e-2. Tokens equal.
const F16_KV_TOLERANCE: f32 = 1e-2;

fn write_base(dir: &tempfile::TempDir, cfg: &LlamaConfig) -> std::path::PathBuf {
    let p = common::path(dir, "base.gguf");
    synth::synth_llama(
        cfg,
        &p,
        GenerateOptions {
            seed: 11,
            threads: Threads(2),
        },
    )
    .unwrap();
    p
}

fn write_adapter(
    dir: &tempfile::TempDir,
    base: &std::path::Path,
    name: &str,
    targets: &str,
) -> std::path::PathBuf {
    let p = common::path(dir, name);
    let h = read_header_from_path(base).unwrap();
    lora::write_adapter(&h, &LoraConfig::new(Targets::parse(targets).unwrap()), &p).unwrap();
    p
}

#[test]
fn adapter_file_follows_llama_cpp_conventions() {
    let dir = common::tmp();
    let base = write_base(&dir, &LlamaConfig::default());
    let a = write_adapter(&dir, &base, "a.gguf", "attn,ffn");
    let h = read_header_from_path(&a).unwrap();
    let m = h.metadata();
    assert_eq!(
        m.get("general.type").and_then(Value::as_str),
        Some("adapter")
    );
    assert_eq!(m.get("adapter.type").and_then(Value::as_str), Some("lora"));
    assert_eq!(
        m.get("general.architecture").and_then(Value::as_str),
        Some("llama")
    );
    assert_eq!(
        m.get("adapter.lora.alpha"),
        Some(&Value::F32(16.0)),
        "alpha must be an f32"
    );
    // 4 layers × (q, k, v, output, gate, up, down) pairs.
    assert_eq!(h.tensors().len(), 4 * 7 * 2);
    let bh = read_header_from_path(&base).unwrap();
    let w = bh.tensor("blk.2.ffn_down.weight").unwrap();
    let (ta, tb) = (
        h.tensor("blk.2.ffn_down.weight.lora_a").unwrap(),
        h.tensor("blk.2.ffn_down.weight.lora_b").unwrap(),
    );
    assert_eq!(ta.dims(), &[w.dims()[0], 8], "lora_a is [n_in, r]");
    assert_eq!(tb.dims(), &[8, w.dims()[1]], "lora_b is [r, n_out]");
    let opened = LoraAdapter::open(&a).unwrap();
    assert_eq!(opened.pairs().len(), 28);
    opened.check_against(&bh).unwrap();
    assert_eq!(opened.effective_scale(&opened.pairs()[0], 1.0), 2.0);
    // Against a model of another width, our check and llama.cpp both refuse it.
    let other = common::path(&dir, "other.gguf");
    let wide = LlamaConfig {
        n_embd: 512,
        ..LlamaConfig::default()
    };
    synth::synth_llama(&wide, &other, GenerateOptions::default()).unwrap();
    assert!(
        opened
            .check_against(&read_header_from_path(&other).unwrap())
            .is_err()
    );
    let _g = common::llama_lock();
    let mut wrong = common::load(&other);
    assert!(
        wrong.lora_adapter_init(&a).is_err(),
        "llama.cpp accepted an adapter for another shape"
    );
}

#[test]
fn adapter_changes_logits_and_merged_mode_matches_adapter_mode() {
    let dir = common::tmp();
    let base = write_base(&dir, &LlamaConfig::default());
    let adapter = write_adapter(&dir, &base, "a.gguf", "attn,ffn");
    let merged = common::path(&dir, "merged.gguf");
    let opts = MergeOptions {
        threads: Threads(2),
        ..MergeOptions::default()
    };
    let r = merge::merge(&base, &adapter, &merged, opts).unwrap();
    assert_eq!((r.merged, r.copied), (28, 1 + 4 * 2 + 2));

    let _g = common::llama_lock();
    let mut base_model = common::load(&base);
    let mut merged_model = common::load(&merged);
    // F32 KV cache: the comparison is then exact up to f32 summation order.
    let exact = |a| Run {
        adapter: a,
        kv_f32: true,
    };
    let plain = common::greedy_with(&mut base_model, exact(None), PROMPT, STEPS);
    let with_adapter =
        common::greedy_with(&mut base_model, exact(Some((&adapter, 1.0))), PROMPT, STEPS);
    let merged_trace = common::greedy_with(&mut merged_model, exact(None), PROMPT, STEPS);
    let effect = plain.max_abs_diff(&with_adapter);
    let diff = with_adapter.max_abs_diff(&merged_trace);
    // The daemon's setting (F16 KV cache) for the record: the cache rounds K/V to f16 in both modes.
    let f16_adapter = common::greedy(&mut base_model, Some((&adapter, 1.0)), PROMPT, STEPS);
    let f16_merged = common::greedy(&mut merged_model, None, PROMPT, STEPS);
    let diff_f16 = f16_adapter.max_abs_diff(&f16_merged);
    eprintln!(
        "adapter effect: max |Δlogit| {effect:.4}; adapter vs merged (F32 weights): max |Δlogit| {diff:.3e} \
         with an F32 KV cache, {diff_f16:.3e} with F16; tokens equal: {}",
        f16_adapter.tokens == f16_merged.tokens
    );
    assert!(
        effect > 0.05,
        "the adapter barely changed the logits ({effect})"
    );
    assert_eq!(
        with_adapter.tokens, merged_trace.tokens,
        "greedy tokens differ"
    );
    assert!(
        diff < F32_TOLERANCE,
        "adapter vs merged logits differ by {diff}"
    );
    assert!(effect > 100.0 * diff);
    assert_eq!(
        f16_adapter.tokens, f16_merged.tokens,
        "greedy tokens differ (F16 KV cache)"
    );
    assert!(
        diff_f16 < F16_KV_TOLERANCE,
        "adapter vs merged logits differ by {diff_f16} (F16 KV cache)"
    );
    // Scale 0 is the base model.
    let off = common::greedy_with(&mut base_model, exact(Some((&adapter, 0.0))), PROMPT, STEPS);
    assert!(off.max_abs_diff(&plain) < F32_TOLERANCE);
}

#[test]
fn merge_copies_untargeted_tensors_byte_for_byte() {
    let dir = common::tmp();
    let cfg = LlamaConfig {
        attn_type: GgmlType::Q8_0,
        ffn_type: GgmlType::Q4_K,
        ..LlamaConfig::default()
    };
    let base = write_base(&dir, &cfg);
    let adapter = write_adapter(&dir, &base, "a.gguf", "attn_v,ffn_down");
    let merged = common::path(&dir, "merged.gguf");
    let r = merge::merge(&base, &adapter, &merged, MergeOptions::default()).unwrap();
    assert_eq!(r.merged, 8);
    let (b, m) = (
        ModelFile::open(&base).unwrap(),
        ModelFile::open(&merged).unwrap(),
    );
    assert_eq!(
        m.header().metadata().get("medllm.merge.scale"),
        Some(&Value::F32(1.0))
    );
    for t in b.header().tensors() {
        let tm = m.header().tensor(t.name()).unwrap();
        assert_eq!(tm.ggml_type(), t.ggml_type(), "keep must keep {}", t.name());
        let same = b.read_tensor(t).unwrap() == m.read_tensor(tm).unwrap();
        let targeted = t.name().contains("attn_v.") || t.name().contains("ffn_down.");
        assert_eq!(same, !targeted, "{}", t.name());
    }
}

/// Merging into quantized tensors re-quantizes them (keep) or widens them (f16): both load and stay close
/// to adapter mode; the figures are printed, the bounds are loose (Q8_0/Q4_K rounding).
#[test]
fn merged_quantized_and_f16_models_stay_close_to_adapter_mode() {
    let dir = common::tmp();
    let cfg = LlamaConfig {
        attn_type: GgmlType::Q8_0,
        ffn_type: GgmlType::Q8_0,
        ..LlamaConfig::default()
    };
    let base = write_base(&dir, &cfg);
    let adapter = write_adapter(&dir, &base, "a.gguf", "attn,ffn");
    let (keep, f16) = (
        common::path(&dir, "keep.gguf"),
        common::path(&dir, "f16.gguf"),
    );
    merge::merge(&base, &adapter, &keep, MergeOptions::default()).unwrap();
    let f16_opts = MergeOptions {
        merged_type: MergedType::F16,
        ..MergeOptions::default()
    };
    merge::merge(&base, &adapter, &f16, f16_opts).unwrap();
    assert_eq!(
        read_header_from_path(&f16)
            .unwrap()
            .tensor("blk.0.attn_q.weight")
            .unwrap()
            .ggml_type(),
        GgmlType::F16
    );
    let _g = common::llama_lock();
    let mut base_model = common::load(&base);
    let plain = common::greedy(&mut base_model, None, PROMPT, 4);
    let reference = common::greedy(&mut base_model, Some((&adapter, 1.0)), PROMPT, 4);
    let effect = plain.max_abs_diff(&reference);
    for (name, p) in [("Q8_0 keep", &keep), ("F16", &f16)] {
        let mut m = common::load(p);
        let d = common::greedy(&mut m, None, PROMPT, 4).max_abs_diff(&reference);
        eprintln!("{name}: adapter vs merged max |Δlogit| {d:.4} (adapter effect {effect:.4})");
        assert!(
            d < effect,
            "{name}: merged is further from adapter mode than the adapter's own effect"
        );
    }
}
