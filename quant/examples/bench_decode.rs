//! Load time, prompt and decode speed of several models — or of a base model with a LoRA adapter — measured
//! in one process, same threads, same prompt, interleaved over rounds so that a noisy shared machine hits
//! every variant alike. Prints medians and ratios against the first variant.
//!
//! ```text
//! cargo run --release -p medllm-quant --example bench_decode -- [OPTIONS] SPEC...
//!   SPEC      MODEL.gguf, or MODEL.gguf+ADAPTER.gguf[@SCALE] for adapter mode (scale 1 by default)
//!   --threads N         llama.cpp threads (default 2)
//!   --tokens N          tokens to decode (default 64)
//!   --prompt-tokens N   prompt length (default 64)
//!   --rounds N          rounds over all specs (default 3)
//!   --no-mmap           read the whole file at load (load time then includes reading it)
//! ```
//!
//! Uses the daemon's backend loader (a CPU variant that does not hit the AMX SIGILL on the dev VM).

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Instant;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::token::LlamaToken;

const TEXT: &str = "A 67 year old man with type 2 diabetes and chronic kidney disease presents with three days of \
    fever, productive cough and shortness of breath. His medications are metformin, lisinopril and \
    atorvastatin. On examination the temperature is 38.9 degrees, the pulse 112 per minute, the blood \
    pressure 98 over 60 and the oxygen saturation 89 percent on room air. Crackles are heard at the right \
    base. What are the first steps, which antibiotics are appropriate given his kidney function, and which \
    of his medications should be paused?";

#[derive(Debug, Clone)]
struct Spec {
    model: PathBuf,
    adapter: Option<(PathBuf, f32)>,
}

impl Spec {
    fn parse(s: &str) -> Result<Self, String> {
        let (model, adapter) = match s.split_once('+') {
            None => (s, None),
            Some((m, a)) => {
                let (path, scale) = match a.rsplit_once('@') {
                    Some((p, sc)) => (
                        p,
                        sc.parse::<f32>()
                            .map_err(|e| format!("scale in {s}: {e}"))?,
                    ),
                    None => (a, 1.0),
                };
                (m, Some((PathBuf::from(path), scale)))
            }
        };
        Ok(Self {
            model: PathBuf::from(model),
            adapter,
        })
    }

    fn label(&self) -> String {
        let name = |p: &PathBuf| {
            p.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        };
        match &self.adapter {
            None => name(&self.model),
            Some((a, s)) => format!("{} + {}@{s}", name(&self.model), name(a)),
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Sample {
    load_s: f64,
    prompt_tps: f64,
    decode_tps: f64,
}

struct Settings {
    threads: i32,
    tokens: usize,
    prompt_tokens: usize,
    rounds: usize,
    mmap: bool,
}

fn run_once(spec: &Spec, s: &Settings) -> Result<Sample, String> {
    let backend = medllmd::engine::llama::backend(None, None)
        .map_err(|e| e.to_string())?
        .0;
    let t0 = Instant::now();
    let params = LlamaModelParams::default().with_use_mmap(s.mmap);
    let mut model =
        LlamaModel::load_from_file(backend, &spec.model, &params).map_err(|e| e.to_string())?;
    let load_s = t0.elapsed().as_secs_f64();
    let mut adapter = match &spec.adapter {
        Some((p, scale)) => Some((
            model.lora_adapter_init(p).map_err(|e| e.to_string())?,
            *scale,
        )),
        None => None,
    };
    let model = model;
    let ctx_len = (s.prompt_tokens + s.tokens + 16) as u32;
    let cp = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(ctx_len))
        .with_n_batch(ctx_len)
        .with_n_threads(s.threads)
        .with_n_threads_batch(s.threads);
    let mut ctx = model.new_context(backend, cp).map_err(|e| e.to_string())?;
    if let Some((a, scale)) = adapter.as_mut() {
        ctx.lora_adapter_set(a, *scale).map_err(|e| e.to_string())?;
    }
    let mut prompt = model.vocab().tokenize(TEXT.as_bytes(), true, false);
    while prompt.len() < s.prompt_tokens {
        let more = model.vocab().tokenize(TEXT.as_bytes(), false, false);
        prompt.extend(more);
    }
    prompt.truncate(s.prompt_tokens);
    let mut batch = LlamaBatch::new(ctx_len as usize, 1);
    for (i, t) in prompt.iter().enumerate() {
        batch
            .add(*t, i as i32, &[0], i + 1 == prompt.len())
            .map_err(|e| e.to_string())?;
    }
    let t1 = Instant::now();
    ctx.decode(&mut batch).map_err(|e| e.to_string())?;
    let prompt_s = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    for pos in (prompt.len()..prompt.len() + s.tokens).map(|p| p as i32) {
        let logits = ctx.get_logits_ith(batch.n_tokens() - 1);
        let next = logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i as i32);
        batch.clear();
        batch
            .add(LlamaToken(next), pos, &[0], true)
            .map_err(|e| e.to_string())?;
        ctx.decode(&mut batch).map_err(|e| e.to_string())?;
    }
    let decode_s = t2.elapsed().as_secs_f64();
    Ok(Sample {
        load_s,
        prompt_tps: prompt.len() as f64 / prompt_s,
        decode_tps: s.tokens as f64 / decode_s,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut s = Settings {
        threads: 2,
        tokens: 64,
        prompt_tokens: 64,
        rounds: 3,
        mmap: true,
    };
    let mut specs = Vec::new();
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> usize {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match a.as_str() {
            "--threads" => s.threads = num("--threads") as i32,
            "--tokens" => s.tokens = num("--tokens"),
            "--prompt-tokens" => s.prompt_tokens = num("--prompt-tokens").max(1),
            "--rounds" => s.rounds = num("--rounds").max(1),
            "--no-mmap" => s.mmap = false,
            spec => specs.push(Spec::parse(spec).unwrap_or_else(|e| panic!("{e}"))),
        }
    }
    if specs.is_empty() {
        eprintln!(
            "usage: bench_decode [--threads N] [--tokens N] [--prompt-tokens N] [--rounds N] [--no-mmap] SPEC..."
        );
        std::process::exit(2);
    }
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); specs.len()];
    for round in 0..s.rounds {
        for (i, spec) in specs.iter().enumerate() {
            let sample = run_once(spec, &s).unwrap_or_else(|e| panic!("{}: {e}", spec.label()));
            eprintln!(
                "round {round}: {:<40} load {:>6.2} s  prompt {:>7.1} tok/s  decode {:>6.2} tok/s",
                spec.label(),
                sample.load_s,
                sample.prompt_tps,
                sample.decode_tps
            );
            samples[i].push(sample);
        }
    }
    println!(
        "\nmedians over {} rounds, {} threads, {} prompt tokens, {} decoded tokens, mmap {}",
        s.rounds, s.threads, s.prompt_tokens, s.tokens, s.mmap
    );
    println!(
        "{:<44} {:>10} {:>9} {:>12} {:>12} {:>9}",
        "variant", "file MiB", "load s", "prompt t/s", "decode t/s", "decode ×"
    );
    let base_decode = median(samples[0].iter().map(|x| x.decode_tps).collect());
    for (spec, v) in specs.iter().zip(&samples) {
        let file = std::fs::metadata(&spec.model).map_or(0, |m| m.len());
        let decode = median(v.iter().map(|x| x.decode_tps).collect());
        println!(
            "{:<44} {:>10.1} {:>9.2} {:>12.1} {:>12.2} {:>9.3}",
            spec.label(),
            file as f64 / 1048576.0,
            median(v.iter().map(|x| x.load_s).collect()),
            median(v.iter().map(|x| x.prompt_tps).collect()),
            decode,
            decode / base_decode
        );
    }
}
