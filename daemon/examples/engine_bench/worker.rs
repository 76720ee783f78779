//! One measured system in its own process: this benchmark re-executes itself with `--worker
//! VARIANT`, so that each engine configuration's peak RSS (`VmHWM`) is its own and no OpenMP
//! thread team of an earlier engine lingers (see `ours::Engine`).
//!
//! Protocol on stdout: the line `READY` when the engine has loaded the model and prefilled its
//! templates (the parent times spawn → `READY` as load time), then one JSON line with the
//! figures. Everything else goes to stderr.

use std::time::Instant;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::ours::{self, Engine, request};
use crate::{procs, prompts};

/// Figures of one worker run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorkerResult {
    /// The variant (`default`, `reuse-off`, `fa-off`, `parallel-1`, `mem`).
    pub variant: String,
    /// Process start → engine ready, measured inside the worker, seconds.
    pub ready_s: f64,
    /// Time to first token of the ~300+40-token prompt (median of 3), ms.
    pub ttft_ms: f64,
    /// Prompt tokens that came from the template's KV in that request.
    pub ttft_reused_tokens: u32,
    /// Wall time of each fixed-set question (submission to last token), seconds.
    pub question_s: Vec<f64>,
    /// Tokens generated for each question.
    pub question_tokens: Vec<u32>,
    /// Single-stream decode, tokens/s.
    pub decode_tps: f64,
    /// (width, aggregate decode tok/s from first to last token, end-to-end generated tok/s).
    pub widths: Vec<(u32, f64, f64)>,
    /// RSS right after the engine was ready, KiB.
    pub rss_ready_kib: u64,
    /// Peak RSS at the end, KiB.
    pub peak_rss_kib: u64,
    /// Settings actually used (n_ctx, max_parallel, flash attention …), for the report.
    pub settings: String,
    /// `mem` only: the planner's predicted RAM for these settings, bytes (0 otherwise).
    pub predicted_ram: u64,
    /// `mem` only: predicted RAM without the planner's fixed daemon overhead, bytes.
    pub predicted_ram_no_overhead: u64,
}

/// What the worker runs besides loading.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Fixed question set.
    pub questions: Vec<String>,
    /// Answer cap per question.
    pub q_tokens: u32,
    /// Decode steps per request for decode figures.
    pub n_gen: u32,
    /// Concurrency widths.
    pub widths: Vec<u32>,
    /// Memory mode: only a short prompt and a few tokens.
    pub memory_only: bool,
}

/// Run the workload on an engine with `cfg`, print `READY` and then the JSON line.
pub fn run(
    variant: &str,
    cfg: medllmd::engine::EngineConfig,
    work: &Workload,
    started: Instant,
    predicted: (u64, u64),
) -> Result<()> {
    let settings = format!(
        "n_ctx {}, n_batch {}, n_ubatch {}, flash attention {:?}, KV {}, max_parallel {}, template reuse {}, threads {}",
        cfg.n_ctx,
        cfg.n_batch,
        cfg.n_ubatch,
        cfg.flash_attention,
        cfg.kv_type.as_str(),
        cfg.core.max_parallel,
        cfg.core.template_reuse,
        cfg.threads
    );
    let engine = Engine::start(cfg)?;
    let mut r = WorkerResult {
        variant: variant.to_string(),
        ready_s: started.elapsed().as_secs_f64(),
        rss_ready_kib: procs::self_rss_kib(),
        settings,
        predicted_ram: predicted.0,
        predicted_ram_no_overhead: predicted.1,
        ..WorkerResult::default()
    };
    println!("READY");
    if work.memory_only {
        // A short prompt and a few tokens: enough to touch every weight and the compute buffers.
        let out = engine.run(vec![request(0, "The patient has a fever and a cough.", 4)])?;
        r.question_tokens = vec![out[0].done.usage.completion_tokens];
        r.question_s = vec![out[0].done.timings.time_to_first_token.as_secs_f64()];
        r.peak_rss_kib = procs::self_peak_kib();
        println!("{}", serde_json::to_string(&r)?);
        return engine.stop();
    }
    engine.run(vec![request(1, prompts::DECODE_CANDIDATES[0], 8)])?; // warm-up after load
    let mut ttft = Vec::new();
    for _ in 0..3 {
        let a = engine.run(vec![request(0, prompts::QUESTION_TTFT, 1)])?;
        ttft.push(a[0].done.timings.time_to_first_token.as_secs_f64() * 1000.0);
        r.ttft_reused_tokens = a[0].done.usage.reused_prompt_tokens;
    }
    r.ttft_ms = crate::report::median(&ttft);
    for q in &work.questions {
        let t = Instant::now();
        let out = engine.run(vec![request(0, q, work.q_tokens)])?;
        r.question_s.push(t.elapsed().as_secs_f64());
        r.question_tokens.push(out[0].done.usage.completion_tokens);
    }
    let (dec_q, _, _) = prompts::decode_question(&engine, work.n_gen + 1)?;
    let d = engine.run(vec![request(1, dec_q, work.n_gen + 1)])?;
    r.decode_tps = ours::decode_tps(&d[0]);
    for &w in &work.widths {
        let reqs = (0..w).map(|_| request(1, dec_q, work.n_gen + 1)).collect();
        let outs = engine.run(reqs)?;
        r.widths.push((
            w,
            ours::aggregate_decode_tps(&outs),
            ours::end_to_end_tps(&outs),
        ));
    }
    r.peak_rss_kib = procs::self_peak_kib();
    println!("{}", serde_json::to_string(&r)?);
    engine.stop()
}
