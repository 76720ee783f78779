//! `medctl eval --dataset FILE.jsonl`: multiple-choice accuracy of the running daemon.
//!
//! Every question goes through the daemon's `Score` method, i.e. the production request path
//! (classifier, category template, prompt format, engine with template KV reuse); the model's
//! choice is the option letter with the highest log-likelihood after the prompt (`--method
//! loglik`) or the letter read from a short greedy answer (`--method generate`). `--prompt plain`
//! scores without the medical templates and `--compare-plain` runs both (the ablation). Prints
//! accuracy with a 95 % Wilson interval per dataset and category, writes a JSON report.
//!
//! Deterministic: questions in file order, greedy, one at a time (`--jobs 1`); resumable: each
//! result is appended to `<report>.journal.jsonl` before the next one starts, and a rerun of
//! the same command skips what is there (Ctrl-C loses nothing).
//!
//! Layout: `dataset` (reading the sets), `journal` (resume), `report` (statistics and tables).

mod dataset;
mod journal;
mod report;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use medllm_api::{Daemon1Proxy, DaemonStatus, ScoreOptions, ScoreResult};
use serde::Serialize;

use self::dataset::Item;
use self::journal::{Header, Journal, Record};
use crate::bus::{BusArgs, block_on};

/// Arguments of `medctl eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A multiple-choice set: JSON lines with `question`, `options` (letter → text), `answer`
    /// and optionally `context`. Repeat for several sets (reported per set and together).
    #[arg(long = "dataset", value_name = "FILE.jsonl", required = true)]
    datasets: Vec<PathBuf>,

    /// `loglik`: the most likely option letter after the prompt; `generate`: the letter read
    /// from a short greedy answer.
    #[arg(long, default_value = "loglik", value_parser = ["loglik", "generate"])]
    method: String,

    /// `medical`: the category templates, as in production; `plain`: no system prompt.
    #[arg(long, default_value = "medical", value_parser = ["medical", "plain"])]
    prompt: String,

    /// Score every question under both prompts and compare them (paired, McNemar's test).
    #[arg(long, conflicts_with = "prompt")]
    compare_plain: bool,

    /// Only the first N questions of each set.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,

    /// Where to write the JSON report (default `medctl-eval-<method>.json`); the journal that
    /// makes the run resumable is written next to it as `<report>.journal.jsonl`.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,

    /// Discard an existing journal and start over.
    #[arg(long)]
    fresh: bool,

    /// Questions in flight at once. 1 is deterministic; more lets the engine batch them
    /// (faster, but batched arithmetic may flip near-tie choices).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=4))]
    jobs: u32,

    /// Tokens a generated answer may have (`--method generate`; the daemon's default is 16).
    #[arg(long, value_name = "N")]
    max_tokens: Option<u32>,

    /// Print the JSON report to stdout instead of the table.
    #[arg(long)]
    json: bool,
}

/// The JSON report.
#[derive(Debug, Serialize)]
struct Report<'a> {
    medctl_version: &'static str,
    model_id: &'a str,
    template_version: &'a str,
    method: &'a str,
    prompts: &'a [String],
    datasets: Vec<DatasetInfo>,
    limit: Option<usize>,
    /// False when the run was interrupted (rerun the command to finish).
    complete: bool,
    questions_scored: usize,
    questions_expected: usize,
    /// Daemon-side seconds summed over all scored questions (journal included).
    daemon_seconds: f64,
    /// Wall seconds of this invocation (a resumed run counts only its own part).
    wall_seconds_this_run: f64,
    runs: Vec<report::PromptRun>,
    comparison: Option<report::Comparison>,
    journal: String,
}

#[derive(Debug, Serialize)]
struct DatasetInfo {
    name: String,
    path: String,
    questions: usize,
}

/// Run `medctl eval`.
pub fn run(args: &Args, bus: &BusArgs) -> Result<()> {
    block_on(eval(args, bus))
}

async fn eval(args: &Args, bus: &BusArgs) -> Result<()> {
    let started = Instant::now();
    let mut items: Vec<Item> = Vec::new();
    let mut infos = Vec::new();
    let mut names = HashSet::new();
    for path in &args.datasets {
        let set = dataset::load(path, args.limit)?;
        if !names.insert(set[0].dataset.clone()) {
            bail!("two datasets are named '{}'; rename one", set[0].dataset);
        }
        infos.push(DatasetInfo {
            name: set[0].dataset.clone(),
            path: path.display().to_string(),
            questions: set.len(),
        });
        items.extend(set);
    }
    let prompts: Vec<String> = if args.compare_plain {
        vec!["medical".into(), "plain".into()]
    } else {
        vec![args.prompt.clone()]
    };

    let (_conn, daemon) = bus.daemon().await?;
    let status = DaemonStatus::from_dict(&daemon.status().await.map_err(|e| bus.explain(e))?);
    if !matches!(status.state.as_deref(), Some("ready" | "degraded")) {
        bail!(
            "medllmd is not ready (state {})",
            status.state.unwrap_or_default()
        );
    }
    let header = Header {
        medctl_eval_journal: 1,
        model_id: status.model_id.unwrap_or_default(),
        template_version: status.template_version.unwrap_or_default(),
        method: args.method.clone(),
    };
    let report_path = args
        .report
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("medctl-eval-{}.json", args.method)));
    let mut journal = Journal::open(&journal::path_for(&report_path), &header, args.fresh)?;

    // Items outer, prompts inner: an interrupted comparison still has paired questions.
    let todo: Vec<(&Item, &str)> = items
        .iter()
        .flat_map(|i| prompts.iter().map(move |p| (i, p.as_str())))
        .filter(|(i, p)| !journal.is_done(&i.dataset, &i.id, p))
        .collect();
    let expected = items.len() * prompts.len();
    if todo.len() < expected {
        eprintln!(
            "resuming: {} of {expected} already in {}",
            expected - todo.len(),
            journal.path().display()
        );
    }
    let bar = progress(todo.len());
    let mut interrupted = false;
    {
        let mut results = futures_util::stream::iter(
            todo.iter()
                .map(|(item, prompt)| score(&daemon, item, prompt, args)),
        )
        .buffered(args.jobs as usize);
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        let (mut done, mut right) = (0usize, 0usize);
        loop {
            tokio::select! {
                r = results.next() => {
                    let Some(r) = r else { break };
                    let r = r.map_err(|e| bus.explain(e))?;
                    if r.0 != header.model_id {
                        bail!("the daemon's model changed during the run ({} → {}); rerun to continue with a new --report", header.model_id, r.0);
                    }
                    done += 1;
                    right += usize::from(r.1.correct);
                    journal.append(r.1)?;
                    bar.set_message(format!("accuracy {:.1}%", 100.0 * right as f64 / done as f64));
                    bar.inc(1);
                }
                _ = &mut ctrl_c => {
                    interrupted = true;
                    break;
                }
            }
        }
    }
    bar.finish_and_clear();

    // Only this run's questions count (the journal may hold more, e.g. from a larger --limit).
    let wanted: HashSet<(String, String, String)> = items
        .iter()
        .flat_map(|i| {
            prompts
                .iter()
                .map(|p| (i.dataset.clone(), i.id.clone(), p.clone()))
        })
        .collect();
    let records: Vec<Record> = journal
        .records
        .iter()
        .filter(|r| wanted.contains(&r.key()))
        .cloned()
        .collect();
    let runs = report::summarise(&records, &prompts);
    let comparison = if args.compare_plain {
        report::compare(&records)
    } else {
        None
    };
    let out = Report {
        medctl_version: env!("CARGO_PKG_VERSION"),
        model_id: &header.model_id,
        template_version: &header.template_version,
        method: &args.method,
        prompts: &prompts,
        datasets: infos,
        limit: args.limit,
        complete: records.len() == expected,
        questions_scored: records.len(),
        questions_expected: expected,
        daemon_seconds: records.iter().map(|r| r.ms).sum::<f64>() / 1000.0,
        wall_seconds_this_run: started.elapsed().as_secs_f64(),
        runs,
        comparison,
        journal: journal.path().display().to_string(),
    };
    let json = serde_json::to_string_pretty(&out)?;
    write_atomic(&report_path, &json)?;
    if args.json {
        println!("{json}");
    } else {
        println!(
            "model {}  method {}  {} of {} questions  ({:.0} s this run)\n",
            out.model_id, out.method, out.questions_scored, expected, out.wall_seconds_this_run
        );
        print!("{}", report::render(&out.runs, out.comparison.as_ref()));
        println!("\nreport: {}", report_path.display());
    }
    if interrupted {
        return Err(anyhow!(
            "interrupted after {} of {expected} questions; every finished question is kept in {}: \
             run the same command again to continue",
            out.questions_scored,
            out.journal
        ));
    }
    Ok(())
}

/// Score one question under one prompt: `(model_id, record)`. Questions the daemon refuses
/// (too long for the context, malformed) become a wrong answer with the reason; anything else
/// (daemon gone, busy, cancelled) stops the run, resumably.
async fn score(
    daemon: &Daemon1Proxy<'_>,
    item: &Item,
    prompt: &str,
    args: &Args,
) -> Result<(String, Record), medllm_api::Error> {
    let opts = ScoreOptions {
        prompt: Some(prompt.to_string()),
        method: Some(args.method.clone()),
        category: None,
        context: item.context.clone(),
        max_tokens: args.max_tokens,
    };
    let options: HashMap<String, String> = item.options.clone().into_iter().collect();
    let reply = daemon
        .score(&item.question, &options, &opts.to_dict())
        .await;
    let mut record = Record {
        dataset: item.dataset.clone(),
        id: item.id.clone(),
        prompt: prompt.to_string(),
        answer: item.answer.clone(),
        choice: String::new(),
        correct: false,
        n_options: item.options.len(),
        category: String::new(),
        classified_category: String::new(),
        loglik: None,
        generated: None,
        error: None,
        prompt_tokens: 0,
        reused_prefix_tokens: 0,
        ms: 0.0,
    };
    let r = match reply {
        Ok(d) => ScoreResult::from_dict(&d),
        Err(e)
            if matches!(
                e.short_name(),
                Some("InvalidArgument" | "QuestionTooLarge" | "PromptTooLong")
            ) =>
        {
            record.error = Some(format!(
                "{}: {}",
                e.short_name().unwrap_or_default(),
                e.message()
            ));
            return Ok((daemon_model(daemon).await, record));
        }
        Err(e) => return Err(e),
    };
    record.choice = r.choice.unwrap_or_default();
    record.correct = record.choice == item.answer;
    record.category = r.category.unwrap_or_default();
    record.classified_category = r.classified_category.unwrap_or_default();
    record.loglik = r.loglik.map(|m| m.into_iter().collect::<BTreeMap<_, _>>());
    record.generated = r.generated;
    record.prompt_tokens = r.prompt_tokens.unwrap_or(0);
    record.reused_prefix_tokens = r.reused_prefix_tokens.unwrap_or(0);
    record.ms = r.total_time_ms.unwrap_or(0.0);
    Ok((r.model_id.unwrap_or_default(), record))
}

/// The model id, for a question the daemon refused (its reply carried none).
async fn daemon_model(daemon: &Daemon1Proxy<'_>) -> String {
    daemon.model_id().await.unwrap_or_default()
}

/// A progress bar with ETA on stderr (hidden when stderr is not a terminal).
fn progress(len: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {pos}/{len} ({per_sec}, ETA {eta}) {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Write `text` to `path` through a temporary file, so a reader never sees half a report.
fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}
