//! Synthetic models: llama.cpp loads and runs them, every block is valid, generation is deterministic, and a
//! model made from a real header keeps that header byte for byte.

use std::io::Read;

use medllm_gguf::{GgmlType, read_header_from_path};
use medllm_quant::synth::{self, FromHeaderOptions, GenerateOptions, LlamaConfig, fill};
use medllm_quant::{ModelFile, RowShape, Threads, ggml, stream};

use crate::common::{self, PROMPT};

/// Every tensor of `path` validates with ggml and de-quantizes to finite values.
fn assert_all_blocks_valid(path: &std::path::Path) {
    let m = ModelFile::open(path).unwrap();
    for t in m.header().tensors() {
        let bytes = m.read_tensor(t).unwrap();
        assert!(
            ggml::validate(t.ggml_type(), &bytes),
            "{} fails ggml validation",
            t.name()
        );
        let floats = m.read_f32(t).unwrap();
        assert!(floats.iter().all(|x| x.is_finite()), "{}", t.name());
        assert!(
            floats.iter().any(|&x| x != 0.0),
            "{} is all zeros",
            t.name()
        );
    }
}

#[test]
fn small_llama_loads_decodes_and_is_deterministic() {
    let dir = common::tmp();
    let (a, b, c) = (
        common::path(&dir, "a.gguf"),
        common::path(&dir, "b.gguf"),
        common::path(&dir, "c.gguf"),
    );
    let cfg = LlamaConfig::default();
    let opts = GenerateOptions {
        seed: 7,
        threads: Threads(2),
    };
    let stats = synth::synth_llama(&cfg, &a, opts).unwrap();
    assert_eq!(stats.file_bytes, std::fs::metadata(&a).unwrap().len());
    // Same seed on one thread: the same bytes (chunk seeds do not depend on the thread count).
    synth::synth_llama(
        &cfg,
        &b,
        GenerateOptions {
            threads: Threads(1),
            ..opts
        },
    )
    .unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    synth::synth_llama(&cfg, &c, GenerateOptions { seed: 8, ..opts }).unwrap();
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
    assert_all_blocks_valid(&a);

    let _g = common::llama_lock();
    let mut model = common::load(&a);
    assert_eq!(model.n_vocab(), 1024);
    let t = common::greedy(&mut model, None, PROMPT, 8);
    assert_eq!(t.tokens.len(), 8);
    assert!(t.tokens.iter().all(|&x| (0..1024).contains(&x)));
    let first = &t.logits[0];
    let mean = first.iter().sum::<f32>() / first.len() as f32;
    let var = first.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / first.len() as f32;
    assert!(
        var > 1e-4,
        "logits are flat (variance {var}): the forward pass degenerated"
    );
    // The other seed is another model: other logits.
    let mut other = common::load(&c);
    assert!(common::greedy(&mut other, None, PROMPT, 1).max_abs_diff(&t) > 1e-3);
}

#[test]
fn quantized_small_llama_through_the_cli_loads_and_decodes() {
    let dir = common::tmp();
    let out = common::path(&dir, "q.gguf");
    let status = common::bin()
        .args([
            "synth",
            "--type",
            "Q4_K",
            "--attn-type",
            "Q8_0",
            "--tied",
            "--vocab",
            "2048",
            "--seed",
            "3",
            "-o",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let h = read_header_from_path(&out).unwrap();
    assert_eq!(
        h.tensor("blk.0.attn_v.weight").unwrap().ggml_type(),
        GgmlType::Q8_0
    );
    assert_eq!(
        h.tensor("blk.3.ffn_down.weight").unwrap().ggml_type(),
        GgmlType::Q4_K
    );
    assert!(h.tensor("output.weight").is_none());
    assert_all_blocks_valid(&out);
    let _g = common::llama_lock();
    let mut model = common::load(&out);
    let t = common::greedy(&mut model, None, PROMPT, 4);
    assert_eq!(t.tokens.len(), 4);
}

#[test]
fn from_header_keeps_the_header_byte_for_byte_and_loads() {
    let dir = common::tmp();
    let (src, copy) = (
        common::path(&dir, "src.gguf"),
        common::path(&dir, "copy.gguf"),
    );
    let cfg = LlamaConfig {
        attn_type: GgmlType::Q8_0,
        ffn_type: GgmlType::Q4_K,
        output_type: GgmlType::Q6_K,
        embd_type: GgmlType::Q4_K,
        ..LlamaConfig::default()
    };
    synth::synth_llama(&cfg, &src, GenerateOptions::default()).unwrap();
    let opts = FromHeaderOptions {
        generate: GenerateOptions {
            seed: 99,
            threads: Threads(2),
        },
        layers: None,
    };
    synth::synth_from_header(&src, &copy, opts).unwrap();
    let h = read_header_from_path(&src).unwrap();
    let n = h.data_offset() as usize;
    let mut head = vec![0u8; n];
    std::fs::File::open(&copy)
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    assert_eq!(
        head,
        std::fs::read(&src).unwrap()[..n],
        "header bytes differ"
    );
    assert_eq!(
        std::fs::metadata(&copy).unwrap().len(),
        std::fs::metadata(&src).unwrap().len()
    );
    assert_ne!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(&src).unwrap(),
        "other seed, same data?"
    );
    assert_all_blocks_valid(&copy);
    let _g = common::llama_lock();
    let mut model = common::load(&copy);
    common::greedy(&mut model, None, PROMPT, 2);
}

/// The 7B fixture's real types and shapes (Q4_K, Q6_K, F32; widths 3584, 18944, 152064 rows): the first chunk
/// of every tensor shape/type pair is generated, quantized by ggml and validated. Cheap; the full 4.7 GB
/// model is `seven_b_from_header_loads_and_decodes` (ignored).
#[test]
fn seven_b_shapes_give_valid_blocks() {
    let h = read_header_from_path(common::fixture_7b()).unwrap();
    let mut seen = std::collections::HashSet::new();
    for t in h.tensors() {
        if !seen.insert((t.dims().to_vec(), t.ggml_type())) {
            continue;
        }
        let first = stream::chunks(t).unwrap()[0];
        let bytes = fill::synthetic_chunk(t, fill::Fill::for_tensor(t), 1, first).unwrap();
        let shape = RowShape::of(t).unwrap();
        assert_eq!(bytes.len(), first.nrows * shape.row_bytes, "{}", t.name());
        assert!(ggml::validate(t.ggml_type(), &bytes), "{}", t.name());
        let mut back = vec![0f32; first.nrows * first.row_len];
        ggml::dequantize(t.ggml_type(), &bytes, &mut back, t.name()).unwrap();
        assert!(back.iter().all(|x| x.is_finite()));
    }
    let types: std::collections::BTreeSet<GgmlType> = seen.iter().map(|(_, t)| *t).collect();
    assert_eq!(
        types.into_iter().collect::<Vec<_>>(),
        vec![GgmlType::F32, GgmlType::Q4_K, GgmlType::Q6_K]
    );
}

/// The whole 7B-shaped model (4.7 GB on disk, about 5 GB of RAM to run, minutes to generate):
/// `cargo test --release -p medllm-quant --test it -- --ignored seven_b --nocapture`.
/// Set MEDLLM_7B_OUT to keep the file (e.g. for `bench_decode`).
#[test]
#[ignore = "writes 4.7 GB and needs ~5 GB RAM; run by hand"]
fn seven_b_from_header_loads_and_decodes() {
    let dir = common::tmp();
    let out = std::env::var_os("MEDLLM_7B_OUT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| common::path(&dir, "7b.gguf"));
    let stats = synth::synth_from_header(&common::fixture_7b(), &out, FromHeaderOptions::default())
        .unwrap();
    eprintln!(
        "7B synthetic: {} bytes in {:.1} s",
        stats.file_bytes, stats.seconds
    );
    let h = read_header_from_path(&out).unwrap();
    let fixture = read_header_from_path(common::fixture_7b()).unwrap();
    assert_eq!(h.tensors(), fixture.tensors());
    assert_eq!(h.metadata(), fixture.metadata());
    let _g = common::llama_lock();
    let started = std::time::Instant::now();
    let mut model = common::load(&out);
    eprintln!("loaded in {:.1} s", started.elapsed().as_secs_f64());
    let started = std::time::Instant::now();
    let t = common::greedy(&mut model, None, "The patient has a fever and a cough.", 4);
    eprintln!(
        "prompt + 4 tokens in {:.1} s: {:?}",
        started.elapsed().as_secs_f64(),
        t.tokens
    );
}
