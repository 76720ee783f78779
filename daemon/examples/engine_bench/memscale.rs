//! Section `m`: memory at the paper's scale. On a full-size model (the synthetic 7B from
//! `medllm-quant synth --from-header`, same shapes and types as DeepSeek-R1-Distill-Qwen-7B
//! Q4_K_M), for each (context per request, max_parallel) point:
//! - the planner's plan for this host with that workload, as the daemon makes it
//!   (`daemon/src/planning.rs`: 5 template sequences of 200 tokens + parallel × context);
//! - our engine configured from that plan, in its own process: load, one short prompt, 4 tokens,
//!   then its peak RSS (`VmHWM`);
//! - llama.cpp's `llama-batched-bench` in its own process with the same n_ctx, batch sizes,
//!   flash attention, unified KV and threads, prefilling 16 tokens per sequence and generating 4
//!   (`-npl` = max_parallel), peak RSS by `wait4`; and `llama-server` at the first point.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use medllm_planner::{ModelProfile, PlanOptions, PlanRequest, Workload};
use medllmd::engine::{EngineConfig, FlashAttention, KvType};
use serde::Serialize;

use crate::procs::{self, mib};
use crate::reference::{RefSettings, Tools};
use crate::server;
use crate::worker::WorkerResult;

/// One measured point.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// Tokens one request may hold.
    pub ctx_per_request: u32,
    /// Concurrent requests.
    pub parallel: u32,
    /// Total context the plan chose (templates + parallel × ctx, padded).
    pub n_ctx: u32,
    /// Planner's predicted RAM, MiB (with its fixed daemon overhead).
    pub predicted_mib: f64,
    /// Same without the fixed overhead (llama.cpp's buffers only), MiB.
    pub predicted_buffers_mib: f64,
    /// Our engine's peak RSS, MiB.
    pub ours_mib: f64,
    /// Our engine's load time (process start → ready), s.
    pub ours_load_s: f64,
    /// llama-batched-bench peak RSS, MiB.
    pub batched_bench_mib: f64,
    /// llama-server peak RSS, MiB (first point only).
    pub server_mib: Option<f64>,
    /// llama-server load time, s (first point only).
    pub server_load_s: Option<f64>,
    /// Settings (for the table footnote).
    pub settings: String,
}

/// The plan the daemon would make here for `ctx` tokens per request and `parallel` requests,
/// turned into engine settings; also (predicted RAM, predicted RAM without overhead) in bytes.
pub fn planned_config(model: &Path, ctx: u32, parallel: u32) -> Result<(EngineConfig, u64, u64)> {
    let profile = ModelProfile::from_gguf_path(model)
        .with_context(|| format!("cannot read {}", model.display()))?;
    let req = PlanRequest {
        host: medllm_planner::probe(),
        model: profile,
        workload: Workload {
            ctx_per_request: ctx,
            template_seqs: 5,
            template_tokens: 200,
            parallel_min: parallel,
            parallel_max: parallel,
            ..Workload::default()
        },
        options: PlanOptions {
            use_gpu: false,
            ..PlanOptions::default()
        },
    };
    let plan = medllm_planner::plan(&req).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut cfg = EngineConfig::for_model(model);
    cfg.n_ctx = plan.n_ctx;
    cfg.n_batch = plan.n_batch;
    cfg.n_ubatch = plan.n_ubatch.min(plan.n_batch);
    cfg.threads = plan.threads;
    cfg.threads_batch = plan.threads_batch;
    cfg.flash_attention = if plan.flash_attn {
        FlashAttention::On
    } else {
        FlashAttention::Off
    };
    cfg.kv_type = match plan.type_k {
        medllm_planner::KvType::Q8_0 => KvType::Q8_0,
        medllm_planner::KvType::Q4_0 => KvType::Q4_0,
        _ => KvType::F16,
    };
    cfg.swa_full = plan.swa_full;
    cfg.use_mmap = plan.use_mmap;
    cfg.core.max_parallel = plan.max_parallel.max(1) as usize;
    // Five template sequences like the daemon's categories, but short: their KV cells are
    // allocated with n_ctx either way, and a 7B prefill costs seconds per token on 2 cores.
    cfg.templates = (0..5)
        .map(|k| format!("Category {k}: answer as a careful medical assistant."))
        .collect();
    let total = plan.memory.cpu.total();
    Ok((cfg, total, total - plan.memory.cpu.overhead))
}

/// Spawn `exe` (this benchmark) as a memory worker for one point and read its result.
fn ours(exe: &Path, model: &Path, ctx: u32, parallel: u32, no_mmap: bool) -> Result<WorkerResult> {
    let mut cmd = Command::new(exe);
    cmd.args(["--worker", "mem", "--model", &model.display().to_string()])
        .args([
            "--mem-ctx",
            &ctx.to_string(),
            "--mem-parallel",
            &parallel.to_string(),
        ]);
    if no_mmap {
        cmd.arg("--mem-no-mmap");
    }
    crate::resources::read_worker(cmd, std::time::Duration::from_secs(900))
}

/// Measure every (ctx, parallel) point; `tools` None skips llama.cpp.
pub fn run(
    exe: &Path,
    model: &Path,
    tools: Option<&Tools>,
    ctxs: &[u32],
    parallels: &[u32],
    no_mmap: bool,
) -> Result<Vec<Point>> {
    let mut grid: Vec<(u32, u32)> = ctxs.iter().map(|&c| (c, 1)).collect();
    let base_ctx = ctxs.iter().copied().find(|&c| c == 4096).unwrap_or(ctxs[0]);
    grid.extend(
        parallels
            .iter()
            .filter(|&&p| p != 1)
            .map(|&p| (base_ctx, p)),
    );
    let mut out = Vec::new();
    for (i, &(ctx, p)) in grid.iter().enumerate() {
        eprintln!("memory: context {ctx} per request, max_parallel {p}…");
        let (cfg, predicted, buffers) = planned_config(model, ctx, p)?;
        let w = ours(exe, model, ctx, p, no_mmap)?;
        let rs = RefSettings {
            model: model.to_path_buf(),
            threads: cfg.threads,
            n_batch: cfg.n_batch,
            n_ubatch: cfg.n_ubatch,
            flash_attn: if cfg.flash_attention == FlashAttention::Off {
                "off".into()
            } else {
                "on".into()
            },
            n_ctx: cfg.n_ctx,
        };
        let (bb, srv) = match tools {
            Some(t) => {
                let bb = batched_bench_peak(t, &rs, p, no_mmap)?;
                let srv = if i == 0 && !no_mmap {
                    Some(server::memory(t, &rs, p)?)
                } else {
                    None
                };
                (bb, srv)
            }
            None => (f64::NAN, None),
        };
        out.push(Point {
            ctx_per_request: ctx,
            parallel: p,
            n_ctx: cfg.n_ctx,
            predicted_mib: predicted as f64 / 1048576.0,
            predicted_buffers_mib: buffers as f64 / 1048576.0,
            ours_mib: mib(w.peak_rss_kib),
            ours_load_s: w.ready_s,
            batched_bench_mib: bb,
            server_mib: srv.map(|s| mib(s.1)),
            server_load_s: srv.map(|s| s.0),
            settings: w.settings,
        });
    }
    Ok(out)
}

fn batched_bench_peak(t: &Tools, s: &RefSettings, parallel: u32, no_mmap: bool) -> Result<f64> {
    let mut cmd = Command::new(t.bin.join("llama-batched-bench"));
    cmd.args([
        "-m",
        &s.model.display().to_string(),
        "-c",
        &s.n_ctx.to_string(),
    ])
    .args(["-b", &s.n_batch.to_string(), "-ub", &s.n_ubatch.to_string()])
    .args(["-t", &s.threads.to_string(), "-tb", &s.threads.to_string()])
    .args(["-fa", &s.flash_attn, "-kvu", "-npp", "16", "-ntg", "4"])
    .args(["-npl", &parallel.to_string()]);
    if no_mmap {
        cmd.args(["-lm", "none"]);
    }
    let f = procs::run_measured(cmd)?;
    Ok(mib(f.peak_rss_kib))
}

/// The Markdown table of section `m`.
pub fn markdown(points: &[Point], paper_gb: f64) -> String {
    let mut s = String::from(
        "| context/request | parallel | n_ctx | medllm engine MiB | llama-batched-bench MiB | \
         ours ÷ llama.cpp | planner MiB (buffers only) | measured ÷ planned | llama-server MiB | load s (ours / server) |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for p in points {
        s.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:.0} | {:.3} | {:.0} ({:.0}) | {:.3} | {} | {:.1} / {} |\n",
            p.ctx_per_request,
            p.parallel,
            p.n_ctx,
            p.ours_mib,
            p.batched_bench_mib,
            p.ours_mib / p.batched_bench_mib,
            p.predicted_mib,
            p.predicted_buffers_mib,
            p.ours_mib / p.predicted_mib,
            p.server_mib.map_or("–".into(), |m| format!("{m:.0}")),
            p.ours_load_s,
            p.server_load_s.map_or("–".into(), |m| format!("{m:.1}")),
        ));
    }
    s.push_str(&format!(
        "\nPaper: {paper_gb} GB = {:.0} MiB (decimal GB) or {:.0} MiB (if GiB).\n",
        paper_gb * 1e9 / 1048576.0,
        paper_gb * 1024.0
    ));
    s
}
