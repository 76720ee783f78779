//! Sections `r` (resource table) and `m` (7B memory), the worker entry point, and the results
//! directory (`--out`: report.md, report.json, PNG charts).

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use medllmd::engine::FlashAttention;
use serde_json::json;

use crate::memscale::{self, Point};
use crate::reference::{RefSettings, Tools};
use crate::report::Report;
use crate::resources::{self, Row};
use crate::worker::{self, Workload};
use crate::{Args, charts, questions};

/// What sections r and m produced.
#[derive(Debug, Default)]
pub struct Extra {
    /// Markdown appended to the report.
    pub markdown: String,
    /// Resource table rows.
    pub rows: Vec<Row>,
    /// Memory points.
    pub points: Vec<Point>,
    /// Widths of the resource table.
    pub widths: Vec<u32>,
    /// The paper's 7B memory figure, GB.
    pub paper_gb: f64,
}

fn workload(args: &Args, memory_only: bool) -> Result<Workload> {
    let questions = if memory_only {
        Vec::new()
    } else {
        let file = args
            .question_file
            .clone()
            .unwrap_or_else(questions::default_file);
        questions::load(&file, args.questions)?
    };
    Ok(Workload {
        questions,
        q_tokens: args.q_tokens,
        n_gen: args.n_gen,
        widths: args.widths.clone(),
        memory_only,
    })
}

/// `--worker VARIANT`: one system, measured in this process.
pub fn worker(args: &Args, variant: &str, model: &Path, started: Instant) -> Result<()> {
    if variant == "mem" {
        let (mut cfg, predicted, buffers) =
            memscale::planned_config(model, args.mem_ctx, args.mem_parallel)?;
        if args.mem_no_mmap {
            cfg.use_mmap = false;
        }
        return worker::run(
            variant,
            cfg,
            &workload(args, true)?,
            started,
            (predicted, buffers),
        );
    }
    let mut cfg = crate::engine_config(args, model);
    match variant {
        "default" => {}
        "reuse-off" => cfg.core.template_reuse = false,
        "fa-off" => cfg.flash_attention = FlashAttention::Off,
        "parallel-1" => cfg.core.max_parallel = 1,
        other => anyhow::bail!("unknown worker variant {other}"),
    }
    worker::run(variant, cfg, &workload(args, false)?, started, (0, 0))
}

/// Run sections r and m as selected.
pub fn run(args: &Args, model: &Path, tools: Option<&Tools>, rep: &mut Report) -> Result<Extra> {
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let mut extra = Extra {
        widths: args.widths.clone(),
        paper_gb: args.paper_gb,
        ..Extra::default()
    };
    if let Some(t) = tools {
        let v = |k: &str| t.versions.get(k).cloned().unwrap_or_else(|| "?".into());
        rep.meta(
            "llama.cpp, both versions",
            format!(
                "ours: llama-cpp-sys-2 0.1.161, ggml {}; tools: llama-cpp-python {} → llama.cpp {}, ggml {} (CPU variant {})",
                crate::ggml_version(),
                v("llama_cpp_python"),
                v("theirs_llama_cpp_commit"),
                v("theirs_ggml"),
                v("cpu_variant")
            ),
        );
    }
    if args.only.contains(&'r') {
        let cfg = crate::engine_config(args, model);
        let mut q = vec!["--questions".to_string(), args.questions.to_string()];
        q.extend(["--q-tokens".into(), args.q_tokens.to_string()]);
        if let Some(f) = &args.question_file {
            q.extend(["--question-file".into(), f.display().to_string()]);
        }
        if let Some(v) = &args.cpu_variant {
            q.extend(["--cpu-variant".into(), v.clone()]);
        }
        let setup = resources::Setup {
            exe: exe.clone(),
            pass: resources::pass_args(model, cfg.threads, args.n_gen, &args.widths, &q),
            work: workload(args, false)?,
            rs: RefSettings {
                model: model.to_path_buf(),
                threads: cfg.threads,
                n_batch: cfg.n_batch,
                n_ubatch: cfg.n_ubatch,
                flash_attn: crate::fa_name(cfg.flash_attention).into(),
                n_ctx: cfg.n_ctx,
            },
            slots: cfg.core.max_parallel as u32,
            // batched-bench prefill per sequence: about our decode request's prompt.
            npp: 48,
            reps: args.reps,
        };
        extra.rows = resources::run(&setup, tools)?;
        extra.markdown.push_str(&format!(
            "\n## Resource table (section r; medians of {} runs, each system in its own process)\n\n{}",
            args.reps,
            resources::markdown(&extra.rows, &args.widths)
        ));
        extra.markdown.push_str(&format!(
            "\nFixed question set: first {} questions of {}, answers capped at {} tokens, greedy.\n\nSettings:\n",
            args.questions,
            args.question_file
                .clone()
                .unwrap_or_else(questions::default_file)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            args.q_tokens
        ));
        for (k, v) in resources::settings(&extra.rows) {
            extra.markdown.push_str(&format!("- {k}: {v}\n"));
        }
    }
    if args.only.contains(&'m') {
        let m = args
            .mem_model
            .as_deref()
            .context("section m needs --mem-model (e.g. the synthetic 7B)")?;
        extra.points = memscale::run(
            &exe,
            m,
            tools,
            &args.mem_ctxs,
            &args.mem_parallels,
            args.mem_no_mmap,
        )?;
        extra.markdown.push_str(&format!(
            "\n## Memory at 7B scale (section m): {}\n\n{}",
            m.display(),
            memscale::markdown(&extra.points, args.paper_gb)
        ));
        if let Some(p) = extra.points.first() {
            extra.markdown.push_str(&format!(
                "\nEngine settings (first point): {}\n",
                p.settings
            ));
        }
    }
    Ok(extra)
}

/// Write report.md, report.json and the charts into `dir`.
pub fn write_out(dir: &Path, md: &str, rep: &Report, extra: &Extra) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(dir.join("report.md"), md)?;
    let doc = json!({
        "engine": rep.json(),
        "resources": extra.rows,
        "memory": extra.points,
    });
    std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(&doc)?)?;
    if !charts::init_font() {
        eprintln!("no TTF font found (set BENCH_FONT=/path/to/font.ttf); charts skipped");
        return Ok(());
    }
    let mut files = Vec::new();
    if !extra.rows.is_empty() {
        files.extend(charts::resources(dir, &extra.rows, &extra.widths)?);
    }
    if !extra.points.is_empty() {
        files.extend(charts::memory(dir, &extra.points, extra.paper_gb)?);
    }
    for f in files {
        eprintln!("wrote {}", f.display());
    }
    Ok(())
}
