//! llama.cpp's own tools as the reference: `llama-bench` and `llama-batched-bench`, built by
//! `scripts/build-llama-tools.sh` from the llama-cpp-python source distribution.
//!
//! What the tools measure (read from their sources in the sdist, tools/llama-bench and
//! tools/batched-bench):
//! - `llama-bench -p N`: one context with `n_ctx = N + n_gen`, N random tokens decoded in
//!   `n_batch`-sized calls, timed to `llama_synchronize`; no sampling. `-n N`: N single-token
//!   `llama_decode` calls from an empty cache, each synchronised; no sampling. Its own warm-up
//!   runs first. We run it with `-r 1` per repetition so repetitions interleave with ours.
//! - `llama-batched-bench -npp P -ntg T -npl W`: W sequences each prefilled with P random tokens,
//!   then T steps of one `llama_decode` holding one token per sequence (W rows with logits), no
//!   sampling; `S_TG = W*T / t_tg`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Where the tools are, and what `versions.txt` next to them says.
#[derive(Debug, Clone)]
pub struct Tools {
    /// Directory holding `llama-bench` etc. and the CPU backend module.
    pub bin: PathBuf,
    /// `key=value` lines of `versions.txt` (both llama.cpp versions, the CPU variant).
    pub versions: BTreeMap<String, String>,
}

/// Settings shared by every tool run; set from the engine's own configuration.
#[derive(Debug, Clone)]
pub struct RefSettings {
    /// The GGUF file (the same file the engine loads).
    pub model: PathBuf,
    /// Threads for generation and for batches.
    pub threads: u32,
    /// Logical batch size.
    pub n_batch: u32,
    /// Micro-batch size.
    pub n_ubatch: u32,
    /// `on`, `off` or `auto`.
    pub flash_attn: String,
    /// Context cells (batched-bench; llama-bench sizes its context per test).
    pub n_ctx: u32,
}

/// Default location, as `scripts/build-llama-tools.sh` builds it.
fn default_bin() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    Some(PathBuf::from(home).join(".cache/medllm/llama-tools/build-0.3.36/bin"))
}

impl Tools {
    /// `explicit`, else `$LLAMA_TOOLS_BIN`, else the build script's default directory.
    pub fn locate(explicit: Option<&Path>) -> Result<Self> {
        let bin = explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("LLAMA_TOOLS_BIN").map(PathBuf::from))
            .or_else(default_bin)
            .context("cannot tell where the llama.cpp tools are; pass --llama-tools DIR")?;
        for tool in ["llama-bench", "llama-batched-bench"] {
            if !bin.join(tool).is_file() {
                bail!(
                    "{} not found; run scripts/build-llama-tools.sh (or pass --llama-tools DIR, \
                     or --skip-reference)",
                    bin.join(tool).display()
                );
            }
        }
        let mut versions = BTreeMap::new();
        if let Ok(text) = std::fs::read_to_string(bin.join("../versions.txt")) {
            for line in text.lines() {
                if let Some((k, v)) = line.split_once('=') {
                    versions.insert(k.trim().to_string(), v.trim().to_string());
                }
            }
        }
        Ok(Self { bin, versions })
    }

    /// Run `tool` with `args` to completion: (stdout, stderr, peak RSS KiB).
    fn run(&self, tool: &str, args: &[String]) -> Result<(String, String, u64)> {
        let mut cmd = Command::new(self.bin.join(tool));
        cmd.args(args);
        let f = crate::procs::run_measured(cmd).with_context(|| format!("{tool}"))?;
        Ok((f.stdout, f.stderr, f.peak_rss_kib))
    }
}

/// One `llama-bench` run's figures.
#[derive(Debug, Clone, Default)]
pub struct LlamaBench {
    /// Prompt processing tokens/s (`pp<N>` row).
    pub pp_tps: f64,
    /// Generation tokens/s (`tg<N>` row).
    pub tg_tps: f64,
    /// `build_commit` as the tool reports it.
    pub build_commit: String,
    /// `build_number` as the tool reports it.
    pub build_number: i64,
    /// `cpu_info` as the tool reports it.
    pub cpu_info: String,
    /// Peak RSS of the llama-bench process, KiB.
    pub peak_rss_kib: u64,
}

/// `llama-bench -p n_prompt -n n_gen -r 1 -o json` with our settings.
pub fn llama_bench(t: &Tools, s: &RefSettings, n_prompt: u32, n_gen: u32) -> Result<LlamaBench> {
    let args: Vec<String> = vec![
        "-m".into(),
        s.model.display().to_string(),
        "-p".into(),
        n_prompt.to_string(),
        "-n".into(),
        n_gen.to_string(),
        "-t".into(),
        s.threads.to_string(),
        "-b".into(),
        s.n_batch.to_string(),
        "-ub".into(),
        s.n_ubatch.to_string(),
        "-fa".into(),
        s.flash_attn.clone(),
        "-r".into(),
        "1".into(),
        "-o".into(),
        "json".into(),
    ];
    let (stdout, _, peak) = t.run("llama-bench", &args)?;
    let rows: Vec<Value> = serde_json::from_str(stdout.trim())
        .with_context(|| format!("llama-bench printed no JSON array:\n{stdout}"))?;
    let mut out = LlamaBench {
        peak_rss_kib: peak,
        ..LlamaBench::default()
    };
    for r in &rows {
        let ts = r["avg_ts"].as_f64().unwrap_or(0.0);
        if r["n_prompt"].as_u64().unwrap_or(0) > 0 {
            out.pp_tps = ts;
        } else if r["n_gen"].as_u64().unwrap_or(0) > 0 {
            out.tg_tps = ts;
        }
        out.build_commit = r["build_commit"].as_str().unwrap_or_default().to_string();
        out.build_number = r["build_number"].as_i64().unwrap_or(0);
        out.cpu_info = r["cpu_info"].as_str().unwrap_or_default().to_string();
    }
    if out.pp_tps <= 0.0 || out.tg_tps <= 0.0 {
        bail!("llama-bench output lacks a pp or tg row:\n{stdout}");
    }
    Ok(out)
}

/// One width of a `llama-batched-bench` run.
#[derive(Debug, Clone, Copy, Default)]
pub struct BatchedRow {
    /// Parallel sequences.
    pub pl: u32,
    /// Generated tokens/s over all sequences (`S_TG`).
    pub speed_tg: f64,
}

/// `llama-batched-bench -npp npp -ntg ntg -npl widths -kvu --output-format jsonl`. `-kvu`
/// (one unified KV cache) because our engine uses one. Returns the rows and the tool's peak RSS
/// (KiB).
pub fn batched_bench(
    t: &Tools,
    s: &RefSettings,
    npp: u32,
    ntg: u32,
    widths: &[u32],
) -> Result<(Vec<BatchedRow>, u64)> {
    let npl: Vec<String> = widths.iter().map(u32::to_string).collect();
    let args: Vec<String> = vec![
        "-m".into(),
        s.model.display().to_string(),
        "-c".into(),
        s.n_ctx.to_string(),
        "-b".into(),
        s.n_batch.to_string(),
        "-ub".into(),
        s.n_ubatch.to_string(),
        "-t".into(),
        s.threads.to_string(),
        "-tb".into(),
        s.threads.to_string(),
        "-fa".into(),
        s.flash_attn.clone(),
        "-kvu".into(),
        "-npp".into(),
        npp.to_string(),
        "-ntg".into(),
        ntg.to_string(),
        "-npl".into(),
        npl.join(","),
        "--output-format".into(),
        "jsonl".into(),
    ];
    let (stdout, stderr, peak) = t.run("llama-batched-bench", &args)?;
    let mut rows = Vec::new();
    for line in stdout.lines().chain(stderr.lines()) {
        let line = line.trim();
        if !line.starts_with('{') || !line.contains("speed_tg") {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .with_context(|| format!("bad llama-batched-bench line: {line}"))?;
        rows.push(BatchedRow {
            pl: v["pl"].as_u64().unwrap_or(0) as u32,
            speed_tg: v["speed_tg"].as_f64().unwrap_or(0.0),
        });
    }
    for w in widths {
        if !rows.iter().any(|r| r.pl == *w) {
            bail!(
                "llama-batched-bench skipped width {w} (context {} too small?)",
                s.n_ctx
            );
        }
    }
    Ok((rows, peak))
}
