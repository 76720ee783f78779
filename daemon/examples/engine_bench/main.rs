//! Engine benchmark: medllm's engine against llama.cpp's own tools, on the same model file and
//! thread count, measured in one run with repetitions interleaved (this machine is shared and
//! noisy, so ours and theirs see the same load).
//!
//! (a) single stream: prefill tokens/s of a ~512-token prompt and decode tokens/s over 128
//!     single-token steps, against `llama-bench -p 512 -n 128` (goal ≥ 0.97×);
//! (b) aggregate decode tokens/s with 1, 2, 4, 8 requests generating together, against
//!     `llama-batched-bench` S_TG at the same width (goal ≥ 1×);
//! (c) time to first token for a ~300-token system prompt and a ~40-token question, template
//!     KV reuse on against off (goal ≥ 3× faster).
//!
//! Only one engine lives at a time, as in the daemon (see `ours::Engine`). Each repetition runs
//! the engine without template reuse, then the daemon's configuration, then the tools.
//!
//! What each number measures is spelled out in `ours.rs`, `reference.rs` and
//! `docs/benchmarks.md`. Run (after `scripts/build-llama-tools.sh`):
//! ```text
//! CARGO_TARGET_DIR=$HOME/.cache/medllm-target cargo run --release -p medllmd \
//!     --example engine_bench -- --reps 5 --json /tmp/engine-bench.json
//! ```
//! Layout: `prompts` (texts, token calibration), `ours` (engine driver and metrics),
//! `reference` (llama.cpp tools), `report` (medians, ratios, Markdown, JSON).

mod charts;
mod memscale;
mod ours;
mod procs;
mod prompts;
mod questions;
mod reference;
mod report;
mod resources;
mod sections;
mod server;
mod worker;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use medllmd::engine::{EngineConfig, FlashAttention};

use ours::{Engine, request};
use reference::{RefSettings, Tools};
use report::{Better, Figure, Report};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Fa {
    Auto,
    On,
    Off,
}

/// Compare medllm's engine with llama.cpp's llama-bench and llama-batched-bench.
#[derive(Debug, Parser)]
pub(crate) struct Args {
    /// GGUF model (default: models/gemma-3-270m-q4_k_m.gguf in the repository).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Threads for ours and the tools (default: the engine's default, all cores).
    #[arg(long)]
    threads: Option<u32>,
    /// Repetitions per figure (medians are reported); warm-up runs come on top.
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Prompt tokens for the prefill measurement.
    #[arg(long, default_value_t = 512)]
    n_prompt: u32,
    /// Decode steps per request.
    #[arg(long, default_value_t = 128)]
    n_gen: u32,
    /// Concurrency widths for section (b).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    widths: Vec<u32>,
    /// Sections to run: a, b, c (issue 3: ratios against llama-bench / llama-batched-bench,
    /// TTFT with template reuse), r (resource table: every system in its own process, with
    /// ablations and llama-server), m (memory at 7B scale; needs --mem-model).
    #[arg(long, value_delimiter = ',', default_value = "a,b,c")]
    only: Vec<char>,
    /// Results directory: report.md, report.json and PNG charts.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Fixed question set (JSONL, MedQA format) for seconds per question (section r).
    #[arg(long)]
    question_file: Option<PathBuf>,
    /// Questions from that set (section r).
    #[arg(long, default_value_t = 8)]
    questions: usize,
    /// Answer cap per question, tokens (section r).
    #[arg(long, default_value_t = 64)]
    q_tokens: u32,
    /// The full-size model for section m (e.g. the synthetic 7B).
    #[arg(long)]
    mem_model: Option<PathBuf>,
    /// Context tokens per request to measure in section m.
    #[arg(long, value_delimiter = ',', default_value = "1024,2048,4096,8192")]
    mem_ctxs: Vec<u32>,
    /// max_parallel values to measure in section m (at 4,096 tokens per request).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    mem_parallels: Vec<u32>,
    /// Section m without mmap (weights read into llama.cpp's buffers; `[engine] use_mmap = false`,
    /// llama.cpp `-lm none`): no mapped file pages in the resident set.
    #[arg(long)]
    mem_no_mmap: bool,
    /// The paper's memory figure for the 7B model, GB.
    #[arg(long, default_value_t = 5.25)]
    paper_gb: f64,
    /// Internal: run one measured system in this process (see worker.rs).
    #[arg(long, hide = true)]
    worker: Option<String>,
    /// Internal (worker mem): context per request.
    #[arg(long, hide = true, default_value_t = 4096)]
    mem_ctx: u32,
    /// Internal (worker mem): max_parallel.
    #[arg(long, hide = true, default_value_t = 1)]
    mem_parallel: u32,
    /// Directory with llama-bench and llama-batched-bench (default: $LLAMA_TOOLS_BIN, then
    /// ~/.cache/medllm/llama-tools/build-0.3.36/bin).
    #[arg(long)]
    llama_tools: Option<PathBuf>,
    /// Measure our engine only.
    #[arg(long)]
    skip_reference: bool,
    /// Also write the report as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Engine setting overrides (default: the daemon's defaults, `EngineConfig::for_model`).
    #[arg(long)]
    n_ctx: Option<u32>,
    #[arg(long)]
    n_batch: Option<u32>,
    #[arg(long)]
    n_ubatch: Option<u32>,
    #[arg(long)]
    prefill_chunk: Option<usize>,
    #[arg(long, value_enum)]
    flash_attention: Option<Fa>,
    /// Force our CPU backend variant (the tools use the one they were built with).
    #[arg(long)]
    cpu_variant: Option<String>,
}

fn main() -> Result<()> {
    let started = std::time::Instant::now();
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let model = args.model.clone().unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/gemma-3-270m-q4_k_m.gguf")
    });
    anyhow::ensure!(
        model.is_file(),
        "{} not found (scripts/setup-models.sh)",
        model.display()
    );
    if let Some(variant) = &args.worker {
        return sections::worker(&args, variant, &model, started);
    }
    let tools = if args.skip_reference {
        None
    } else {
        Some(Tools::locate(args.llama_tools.as_deref())?)
    };
    let mut rep = Report::default();
    let load_start = loadavg();
    if args.only.iter().any(|c| "abc".contains(*c)) {
        engine_sections(&args, &model, tools.as_ref(), &mut rep)?;
    } else {
        rep.meta("model", model.display());
        rep.meta("CPU", cpu_model());
    }
    let extra = sections::run(&args, &model, tools.as_ref(), &mut rep)?;
    rep.meta(
        "load average before / after (1, 5, 15 min)",
        format!("{load_start} / {}", loadavg()),
    );
    let md = format!("{}{}", rep.markdown(), extra.markdown);
    print!("{md}");
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&rep.json())?;
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(dir) = &args.out {
        sections::write_out(dir, &md, &rep, &extra)?;
    }
    Ok(())
}

/// Sections a, b, c (issue 3's ratios), appended to `rep`.
fn engine_sections(
    args: &Args,
    model: &std::path::Path,
    tools: Option<&Tools>,
    rep: &mut Report,
) -> Result<()> {
    let cfg = engine_config(args, model);
    let mut off_cfg = cfg.clone();
    off_cfg.core.template_reuse = false;
    let rs = RefSettings {
        model: model.to_path_buf(),
        threads: cfg.threads,
        n_batch: cfg.n_batch,
        n_ubatch: cfg.n_ubatch,
        flash_attn: fa_name(cfg.flash_attention).into(),
        n_ctx: cfg.n_ctx,
    };

    // Calibration doubles as warm-up: every request shape below runs at least once first.
    eprintln!("calibrating prompts…");
    let off = Engine::start(off_cfg.clone()).context("engine (reuse off)")?;
    let (long_q, long_n) = prompts::long_question(&off, args.n_prompt)?;
    let ttft_prompt = prompts::prompt_tokens(&off, 0, prompts::QUESTION_TTFT)?;
    off.stop()?;
    let on = Engine::start(cfg.clone()).context("engine (reuse on)")?;
    let (dec_q, dec_prompt, dec_n) = prompts::decode_question(&on, args.n_gen + 1)?;
    let template0 = on.info.template_tokens.first().copied().unwrap_or(0);
    describe_run(rep, args, &cfg, &on, tools, model);
    on.stop()?;
    rep.meta(
        "prefill prompt (a)",
        format!("{long_n} tokens, all computed (reuse off)"),
    );
    rep.meta(
        "decode request (a, b)",
        format!(
            "{dec_prompt}-token prompt, {dec_n} tokens generated = {} decode steps",
            dec_n - 1
        ),
    );
    rep.meta(
        "TTFT prompt (c)",
        format!(
            "{ttft_prompt} tokens: template {template0} + question and markup {}",
            ttft_prompt as usize - template0
        ),
    );

    let has = |c: char| args.only.contains(&c);
    let mut f = Figures::new(args, long_n, dec_n - 1, tools);
    for r in 0..args.reps {
        eprintln!("repetition {}/{}…", r + 1, args.reps);
        // Phase 1: the engine without template reuse (prefill, TTFT without reuse).
        if has('a') || has('c') {
            let off = Engine::start(off_cfg.clone()).context("engine (reuse off)")?;
            off.run(vec![request(1, dec_q, 8)])?; // warm-up after load
            if has('a') {
                let p = off.run(vec![request(1, &long_q, 1)])?;
                f.prefill.ours.push(ours::prefill_tps(&p[0]));
            }
            if has('c') {
                for _ in 0..3 {
                    let b = off.run(vec![request(0, prompts::QUESTION_TTFT, 1)])?;
                    f.ttft
                        .reference
                        .push(ms(b[0].done.timings.time_to_first_token));
                }
            }
            off.stop()?;
        }
        // Phase 2: the daemon's configuration (decode, concurrency, TTFT with reuse).
        if has('a') || has('b') || has('c') {
            let on = Engine::start(cfg.clone()).context("engine (reuse on)")?;
            on.run(vec![request(1, dec_q, 8)])?; // warm-up after load
            if has('a') {
                let d = on.run(vec![request(1, dec_q, args.n_gen + 1)])?;
                f.decode.ours.push(ours::decode_tps(&d[0]));
            }
            if has('b') {
                for (i, &w) in args.widths.iter().enumerate() {
                    let reqs = (0..w).map(|_| request(1, dec_q, args.n_gen + 1)).collect();
                    let outs = on.run(reqs)?;
                    f.batched[i].ours.push(ours::aggregate_decode_tps(&outs));
                    f.end_to_end[i].push(ours::end_to_end_tps(&outs));
                }
            }
            if has('c') {
                for _ in 0..3 {
                    let a = on.run(vec![request(0, prompts::QUESTION_TTFT, 1)])?;
                    f.ttft.ours.push(ms(a[0].done.timings.time_to_first_token));
                    f.reused = a[0].done.usage.reused_prompt_tokens;
                }
            }
            on.stop()?;
        }
        // Phase 3: llama.cpp's tools, each its own process.
        if let Some(t) = tools {
            if has('a') {
                let lb = reference::llama_bench(t, &rs, long_n, args.n_gen)?;
                f.prefill.reference.push(lb.pp_tps);
                f.decode.reference.push(lb.tg_tps);
                f.llama_bench_build = format!("b{}-{}", lb.build_number, lb.build_commit);
            }
            if has('b') {
                let (rows, _) =
                    reference::batched_bench(t, &rs, dec_prompt, dec_n - 1, &args.widths)?;
                for (i, &w) in args.widths.iter().enumerate() {
                    if let Some(row) = rows.iter().find(|x| x.pl == w) {
                        f.batched[i].reference.push(row.speed_tg);
                    }
                }
            }
        }
    }
    f.finish(rep, args);
    Ok(())
}

/// The figures being filled, one sample per repetition.
struct Figures {
    prefill: Figure,
    decode: Figure,
    batched: Vec<Figure>,
    end_to_end: Vec<Vec<f64>>,
    ttft: Figure,
    reused: u32,
    llama_bench_build: String,
}

impl Figures {
    fn new(args: &Args, n_prompt: u32, steps: u32, tools: Option<&Tools>) -> Self {
        let fig = |id: String, name: String, unit, better, ol: &str, rl: String, goal| Figure {
            id,
            name,
            unit,
            better,
            ours_label: ol.into(),
            ours: Vec::new(),
            ref_label: if tools.is_some() {
                rl
            } else {
                "skipped".into()
            },
            reference: Vec::new(),
            goal,
        };
        let h = Better::Higher;
        Self {
            prefill: fig(
                "prefill_single".into(),
                format!("(a) prefill, {n_prompt}-token prompt"),
                "tok/s",
                h,
                "medllm",
                format!("llama-bench pp{n_prompt}"),
                0.97,
            ),
            decode: fig(
                "decode_single".into(),
                format!("(a) decode, {steps} steps, 1 stream"),
                "tok/s",
                h,
                "medllm",
                format!("llama-bench tg{}", args.n_gen),
                0.97,
            ),
            batched: args
                .widths
                .iter()
                .map(|w| {
                    fig(
                        format!("decode_aggregate_{w}"),
                        format!("(b) aggregate decode, {w} concurrent"),
                        "tok/s",
                        h,
                        "medllm",
                        format!("batched-bench S_TG pl={w}"),
                        1.0,
                    )
                })
                .collect(),
            end_to_end: args.widths.iter().map(|_| Vec::new()).collect(),
            ttft: Figure {
                ref_label: "reuse off".into(),
                ..fig(
                    "ttft_template_reuse".into(),
                    "(c) time to first token, ~300+40-token prompt".into(),
                    "ms",
                    Better::Lower,
                    "reuse on",
                    String::new(),
                    3.0,
                )
            },
            reused: 0,
            llama_bench_build: String::new(),
        }
    }

    fn finish(self, rep: &mut Report, args: &Args) {
        if !self.llama_bench_build.is_empty() {
            rep.meta("llama-bench reports build", self.llama_bench_build);
        }
        if args.only.contains(&'a') {
            rep.figures.push(self.prefill);
            rep.figures.push(self.decode);
        }
        if args.only.contains(&'b') {
            for (i, fig) in self.batched.into_iter().enumerate() {
                rep.notes.push(format!(
                    "{}: end to end (submission to last token, prefill included) {:.1} tok/s",
                    fig.name,
                    report::median(&self.end_to_end[i])
                ));
                rep.figures.push(fig);
            }
        }
        if args.only.contains(&'c') {
            rep.notes.push(format!(
                "(c) with reuse on, {} prompt tokens came from the template's KV",
                self.reused
            ));
            rep.figures.push(self.ttft);
        }
    }
}

/// The engine settings of sections a–c and of the resource table's default row.
pub(crate) fn engine_config(args: &Args, model: &std::path::Path) -> EngineConfig {
    let mut cfg = EngineConfig::for_model(model);
    if let Some(t) = args.threads {
        cfg.threads = t;
        cfg.threads_batch = t;
    }
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = args.$f { cfg.$f = v; } )* };
    }
    set!(n_ctx, n_batch, n_ubatch);
    if let Some(c) = args.prefill_chunk {
        cfg.core.prefill_chunk = c;
    }
    if let Some(fa) = args.flash_attention {
        cfg.flash_attention = match fa {
            Fa::Auto => FlashAttention::Auto,
            Fa::On => FlashAttention::On,
            Fa::Off => FlashAttention::Off,
        };
    }
    cfg.cpu_variant = args.cpu_variant.clone();
    cfg.core.max_parallel = args.widths.iter().copied().max().unwrap_or(1).max(1) as usize;
    cfg.max_queue = 16;
    cfg.templates = vec![prompts::SYSTEM_LONG.into(), prompts::SYSTEM_SHORT.into()];
    cfg
}

fn describe_run(
    rep: &mut Report,
    args: &Args,
    cfg: &EngineConfig,
    on: &Engine,
    tools: Option<&Tools>,
    model: &std::path::Path,
) {
    let v = |k: &str| {
        tools
            .and_then(|t| t.versions.get(k).cloned())
            .unwrap_or_else(|| "?".into())
    };
    let shown = std::fs::canonicalize(model).unwrap_or_else(|_| model.to_path_buf());
    rep.meta("model", shown.display());
    rep.meta("CPU", cpu_model());
    rep.meta("threads (ours and tools)", cfg.threads);
    rep.meta(
        "CPU variant: ours / tools",
        format!("{} / {}", on.info.backends.cpu_variant, v("cpu_variant")),
    );
    rep.meta(
        "llama.cpp ours",
        format!("llama-cpp-sys-2 0.1.161, ggml {}", ggml_version()),
    );
    rep.meta(
        "llama.cpp tools",
        format!(
            "llama-cpp-python {} → llama.cpp {}, ggml {}",
            v("llama_cpp_python"),
            v("theirs_llama_cpp_commit"),
            v("theirs_ggml")
        ),
    );
    rep.meta(
        "settings",
        format!(
            "n_ctx {}, n_batch {}, n_ubatch {}, flash attention {}, KV {}, prefill_chunk {}, max_parallel {}",
            cfg.n_ctx, cfg.n_batch, cfg.n_ubatch, fa_name(cfg.flash_attention), cfg.kv_type.as_str(),
            cfg.core.prefill_chunk, cfg.core.max_parallel
        ),
    );
    rep.meta(
        "repetitions",
        format!("{} (median), after warm-up", args.reps),
    );
    rep.meta("nice", nice());
}

pub(crate) fn fa_name(fa: FlashAttention) -> &'static str {
    match fa {
        FlashAttention::Auto => "auto",
        FlashAttention::On => "on",
        FlashAttention::Off => "off",
    }
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn ggml_version() -> String {
    // SAFETY: both return pointers to static NUL-terminated strings inside ggml.
    unsafe {
        let v = std::ffi::CStr::from_ptr(llama_cpp_sys_2::ggml_version());
        let c = std::ffi::CStr::from_ptr(llama_cpp_sys_2::ggml_commit());
        format!("{} (commit {})", v.to_string_lossy(), c.to_string_lossy())
    }
}

pub(crate) fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let name = info
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{name}, {cores} logical CPUs")
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn nice() -> String {
    // Field 19 of /proc/self/stat; the command name (field 2) may contain spaces, so count
    // from the closing parenthesis.
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.to_string()))
        .and_then(|r| r.split_whitespace().nth(16).map(str::to_string))
        .unwrap_or_else(|| "?".into())
}
