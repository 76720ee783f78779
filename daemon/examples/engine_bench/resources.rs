//! Section `r`: the paper's resource table — for each system, in its own process, on the same
//! model file and thread count: peak RSS, load time, time to first token, seconds per question on
//! the fixed question set, single-stream decode and aggregate throughput at 1/2/4/8 concurrent
//! requests. Systems: our engine as the daemon runs it, the same with one optimisation off at a
//! time (template-prefix reuse, flash attention, continuous batching = `max_parallel 1`), and
//! llama.cpp's `llama-bench`, `llama-batched-bench` and `llama-server`. Repetitions interleave
//! all systems, so a burst of load from the other users of the machine hits every system.
//!
//! The answer cache sits in the daemon's service layer, in front of the engine; this benchmark
//! drives the engine, so "cache off" is every row here (a cache hit costs a lookup instead of a
//! generation: docs/cache.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::procs::{LineChild, mib};
use crate::reference::{self, RefSettings, Tools};
use crate::report::median;
use crate::server;
use crate::worker::{WorkerResult, Workload};

/// Engine variants, in table order: (worker variant, row label).
pub const VARIANTS: [(&str, &str); 4] = [
    ("default", "medllm engine (daemon settings)"),
    ("reuse-off", "medllm, template-prefix reuse off"),
    ("fa-off", "medllm, flash attention off"),
    ("parallel-1", "medllm, max_parallel 1 (no batching)"),
];

/// One row's samples (one `WorkerResult` per repetition).
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Row label.
    pub label: String,
    /// Samples.
    pub runs: Vec<WorkerResult>,
    /// llama-bench only: prompt-processing tok/s samples.
    pub prefill_tps: Vec<f64>,
}

impl Row {
    fn new(label: &str) -> Self {
        Self {
            label: label.into(),
            runs: Vec::new(),
            prefill_tps: Vec::new(),
        }
    }

    fn med(&self, f: impl Fn(&WorkerResult) -> f64) -> f64 {
        median(&self.runs.iter().map(f).collect::<Vec<_>>())
    }

    /// Median peak RSS, MiB.
    pub fn rss_mib(&self) -> f64 {
        self.med(|r| mib(r.peak_rss_kib))
    }

    /// Median of one width's figure (`agg`: pure decode; else end to end).
    pub fn width(&self, w: u32, agg: bool) -> f64 {
        self.med(|r| {
            r.widths
                .iter()
                .find(|x| x.0 == w)
                .map_or(f64::NAN, |x| if agg { x.1 } else { x.2 })
        })
    }

    /// Median seconds per question (mean over the set per run).
    pub fn s_per_q(&self) -> f64 {
        self.med(|r| mean(&r.question_s))
    }

    /// Median generated tokens per question.
    pub fn tokens_per_q(&self) -> f64 {
        self.med(|r| {
            mean(
                &r.question_tokens
                    .iter()
                    .map(|&t| t as f64)
                    .collect::<Vec<_>>(),
            )
        })
    }

    /// Median of a scalar field.
    pub fn field(&self, f: impl Fn(&WorkerResult) -> f64) -> f64 {
        self.med(f)
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Spawn a worker (this benchmark with `--worker …`), time spawn → `READY` as load time, read
/// its JSON line, reap it and take its peak RSS from `wait4` (the worker's own `VmHWM` reading
/// is kept when larger: it is read before the engine's teardown).
pub fn read_worker(cmd: Command, timeout: Duration) -> Result<WorkerResult> {
    let child = LineChild::spawn(cmd)?;
    let mut ready = None;
    let mut result: Option<WorkerResult> = None;
    while result.is_none() {
        let Ok((at, line)) = child.next_line(timeout) else {
            break;
        };
        if line == "READY" {
            ready = Some(at.duration_since(child.spawned).as_secs_f64());
        } else if line.starts_with('{') {
            result = Some(serde_json::from_str(&line).context("bad worker JSON")?);
        }
    }
    let (code, peak, stderr) = child.finish()?;
    let Some(mut r) = result else {
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        bail!(
            "worker failed (exit {code}):\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    };
    if let Some(s) = ready {
        r.ready_s = s;
    }
    r.peak_rss_kib = r.peak_rss_kib.max(peak);
    Ok(r)
}

/// Everything section `r` needs.
#[derive(Debug, Clone)]
pub struct Setup {
    /// This executable.
    pub exe: PathBuf,
    /// Arguments passed through to workers (model, threads, sizes).
    pub pass: Vec<String>,
    /// The workload.
    pub work: Workload,
    /// Tools settings (same model, threads, batch, context, flash attention as the default row).
    pub rs: RefSettings,
    /// Our max_parallel (= llama-server's slots).
    pub slots: u32,
    /// Prompt and generation sizes for batched-bench (our decode request's).
    pub npp: u32,
    /// Repetitions.
    pub reps: usize,
}

/// Run the resource table: rows in table order.
pub fn run(setup: &Setup, tools: Option<&Tools>) -> Result<Vec<Row>> {
    let mut rows: Vec<Row> = VARIANTS.iter().map(|(_, l)| Row::new(l)).collect();
    let mut lb = Row::new("llama-bench (pp/tg)");
    let mut bb = Row::new("llama-batched-bench");
    let mut sv = Row::new("llama-server");
    for rep in 0..setup.reps {
        for (i, (variant, _)) in VARIANTS.iter().enumerate() {
            eprintln!("resources {}/{}: {variant}…", rep + 1, setup.reps);
            let mut cmd = Command::new(&setup.exe);
            cmd.args(&setup.pass).args(["--worker", variant]);
            rows[i]
                .runs
                .push(read_worker(cmd, Duration::from_secs(900))?);
        }
        let Some(t) = tools else { continue };
        eprintln!("resources {}/{}: llama.cpp tools…", rep + 1, setup.reps);
        let b = reference::llama_bench(t, &setup.rs, 512, setup.work.n_gen)?;
        lb.prefill_tps.push(b.pp_tps);
        lb.runs.push(WorkerResult {
            variant: "llama-bench".into(),
            decode_tps: b.tg_tps,
            peak_rss_kib: b.peak_rss_kib,
            ready_s: f64::NAN,
            ttft_ms: f64::NAN,
            ..WorkerResult::default()
        });
        let (brows, peak) = reference::batched_bench(
            t,
            &setup.rs,
            setup.npp,
            setup.work.n_gen,
            &setup.work.widths,
        )?;
        bb.runs.push(WorkerResult {
            variant: "llama-batched-bench".into(),
            widths: brows.iter().map(|r| (r.pl, r.speed_tg, f64::NAN)).collect(),
            peak_rss_kib: peak,
            ready_s: f64::NAN,
            ttft_ms: f64::NAN,
            decode_tps: brows
                .iter()
                .find(|r| r.pl == 1)
                .map_or(f64::NAN, |r| r.speed_tg),
            ..WorkerResult::default()
        });
        sv.runs
            .push(server::measure(t, &setup.rs, setup.slots, &setup.work)?);
    }
    if tools.is_some() {
        rows.extend([lb, bb, sv]);
    }
    Ok(rows)
}

fn f(x: f64, digits: usize) -> String {
    if x.is_finite() {
        format!("{x:.digits$}")
    } else {
        "–".into()
    }
}

/// The resource table and the throughput table, Markdown.
pub fn markdown(rows: &[Row], widths: &[u32]) -> String {
    let mut s = String::from(
        "| system | peak RSS MiB | load s | TTFT ms | s/question (tokens) | decode tok/s, 1 stream |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let q = if r.runs.iter().any(|x| !x.question_s.is_empty()) {
            format!("{} ({})", f(r.s_per_q(), 2), f(r.tokens_per_q(), 0))
        } else {
            "–".into()
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.label,
            f(r.rss_mib(), 0),
            f(r.field(|x| x.ready_s), 2),
            f(r.field(|x| x.ttft_ms), 0),
            q,
            f(r.field(|x| x.decode_tps), 1),
        ));
    }
    let head: Vec<String> = widths.iter().map(|w| format!("{w}")).collect();
    s.push_str(&format!(
        "\nAggregate tokens/s at W concurrent requests — decode only (first to last token; \
         llama-batched-bench S_TG) / end to end (submission to last token, prefill included)\n\n\
         | system | {} |\n|---|{}\n",
        head.join(" | "),
        "---:|".repeat(widths.len())
    ));
    for r in rows {
        if r.runs.iter().all(|x| x.widths.is_empty()) {
            continue;
        }
        let cells: Vec<String> = widths
            .iter()
            .map(|&w| format!("{} / {}", f(r.width(w, true), 1), f(r.width(w, false), 1)))
            .collect();
        s.push_str(&format!("| {} | {} |\n", r.label, cells.join(" | ")));
    }
    s
}

/// Settings lines per row (first run), for the report's footnotes.
pub fn settings(rows: &[Row]) -> BTreeMap<String, String> {
    rows.iter()
        .filter_map(|r| {
            r.runs
                .first()
                .filter(|x| !x.settings.is_empty())
                .map(|x| (r.label.clone(), x.settings.clone()))
        })
        .collect()
}

/// Where a worker finds the model etc.: the pass-through arguments.
pub fn pass_args(
    model: &Path,
    threads: u32,
    n_gen: u32,
    widths: &[u32],
    q: &[String],
) -> Vec<String> {
    let w: Vec<String> = widths.iter().map(u32::to_string).collect();
    let mut v = vec![
        "--model".to_string(),
        model.display().to_string(),
        "--threads".into(),
        threads.to_string(),
        "--n-gen".into(),
        n_gen.to_string(),
        "--widths".into(),
        w.join(","),
    ];
    v.extend(q.iter().cloned());
    v
}
