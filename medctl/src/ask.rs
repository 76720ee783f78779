//! `medctl ask "…"`: ask the daemon a question and stream the answer as it is generated.
//!
//! Uses `StartAsk` with a `handle_token`, so the request's path is known and its signals are
//! subscribed to *before* the call (no chunk can be missed). A spinner on stderr shows that we
//! are waiting for the first token; Ctrl-C cancels the request through the request object's
//! `Cancel` (a second Ctrl-C gives up waiting). The answer goes to stdout, everything else to
//! stderr, so `medctl ask … > answer.txt` captures only the answer.

use std::io::{IsTerminal, Read, Write};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use medllm_api::options::CATEGORIES;
use medllm_api::{
    AnswerDetails, AskOptions, Finished, RequestEvent, RequestProxy, request_events, request_path,
};

use crate::bus::{BusArgs, block_on};
use crate::json::dict_to_json;

/// How long to wait for `Finished` after a Ctrl-C before giving up.
const CANCEL_GRACE: Duration = Duration::from_secs(10);

/// Arguments of `medctl ask`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The question; `-` reads it from standard input.
    question: String,

    /// Cap on generated answer tokens.
    #[arg(long, value_name = "N")]
    max_tokens: Option<u32>,

    /// Sampling temperature (0 = greedy and reproducible).
    #[arg(long, value_name = "T")]
    temperature: Option<f64>,

    /// Nucleus sampling threshold, in (0, 1].
    #[arg(long, value_name = "P")]
    top_p: Option<f64>,

    /// Sampler seed (makes a sampled answer reproducible).
    #[arg(long, value_name = "N")]
    seed: Option<u32>,

    /// Answer in this category instead of the classifier's choice.
    #[arg(long, value_parser = CATEGORIES)]
    category: Option<String>,

    /// Do not use the answer cache (neither read nor write).
    #[arg(long)]
    no_cache: bool,

    /// Also show a reasoning model's thinking (on stderr).
    #[arg(long)]
    reasoning: bool,

    /// Print how the answer was produced (category, tokens, timings, cache) on stderr.
    #[arg(short, long)]
    verbose: bool,

    /// Print one JSON object {status, answer, details} instead of streaming text.
    #[arg(long)]
    json: bool,
}

/// Run `medctl ask`.
pub fn run(args: &Args, bus: &BusArgs) -> Result<()> {
    let question = if args.question == "-" {
        let mut q = String::new();
        std::io::stdin()
            .read_to_string(&mut q)
            .context("cannot read the question from stdin")?;
        q
    } else {
        args.question.clone()
    };
    block_on(ask(args, question, bus))
}

async fn ask(args: &Args, question: String, bus: &BusArgs) -> Result<()> {
    let (conn, daemon) = bus.daemon().await?;
    let unique = conn
        .unique_name()
        .ok_or_else(|| anyhow!("the bus gave this connection no unique name"))?
        .to_string();
    let token = format!("medctl_{}", std::process::id());
    let path = request_path(&unique, &token).map_err(|e| bus.explain(e))?;
    let request = RequestProxy::builder(&conn)
        .path(path.clone())?
        .build()
        .await
        .context("cannot create the request proxy")?;
    let mut events = request_events(&request)
        .await
        .context("cannot subscribe to the request's signals")?;
    let mut owner_changes = daemon.inner().receive_owner_changed().await?;
    // Take over SIGINT before the request exists, so a Ctrl-C at any moment cancels it.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("cannot handle Ctrl-C")?;

    let opts = AskOptions {
        max_tokens: args.max_tokens,
        temperature: args.temperature,
        top_p: args.top_p,
        seed: args.seed,
        category: args.category.clone(),
        no_cache: args.no_cache,
        handle_token: Some(token),
        include_reasoning: args.reasoning,
    };
    let spinner = spinner(args.json);
    let returned = daemon
        .start_ask(&question, &opts.to_dict())
        .await
        .map_err(|e| {
            spinner.finish_and_clear();
            bus.explain(e)
        })?;
    if returned != path {
        bail!("medllmd answered on {returned}, expected {path}; is it a different version?");
    }

    let mut out = Output::new(args, spinner);
    let mut cancel_deadline: Option<tokio::time::Instant> = None;
    let finished = loop {
        let deadline = cancel_deadline
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400));
        tokio::select! {
            ev = events.next() => match ev {
                Some(RequestEvent::Tokens(chunk)) => out.answer_chunk(&chunk)?,
                Some(RequestEvent::Reasoning(chunk)) => out.reasoning_chunk(&chunk)?,
                Some(RequestEvent::Finished(f)) => break f,
                None => bail!("lost the connection to {} while waiting for the answer", bus.describe()),
            },
            owner = owner_changes.next() => {
                if matches!(owner, None | Some(None)) {
                    out.clear();
                    bail!("medllmd stopped before finishing the answer");
                }
            }
            _ = interrupt.recv() => {
                if cancel_deadline.is_some() {
                    out.clear();
                    bail!("interrupted");
                }
                out.note("cancelling… (Ctrl-C again to stop waiting)");
                // An error here means the request finished at the same moment (NoSuchRequest):
                // its Finished is already on the way, so keep reading either way.
                let _ = request.cancel().await;
                cancel_deadline = Some(tokio::time::Instant::now() + CANCEL_GRACE);
            }
            _ = tokio::time::sleep_until(deadline) => {
                out.clear();
                bail!("cancelled; medllmd did not confirm within {} s", CANCEL_GRACE.as_secs());
            }
        }
    };
    out.finish(&finished)?;
    finished.result().map_err(|e| bus.explain(e))
}

fn spinner(json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message("waiting for medllmd…");
    pb.enable_steady_tick(Duration::from_millis(100));
    pb
}

/// Where streamed text goes: stdout for the answer, stderr for the rest.
struct Output<'a> {
    args: &'a Args,
    spinner: Option<ProgressBar>,
    streamed: String,
}

impl<'a> Output<'a> {
    fn new(args: &'a Args, spinner: ProgressBar) -> Self {
        Self {
            args,
            spinner: Some(spinner),
            streamed: String::new(),
        }
    }

    /// Remove the spinner (before the first output).
    fn clear(&mut self) {
        if let Some(s) = self.spinner.take() {
            s.finish_and_clear();
        }
    }

    fn answer_chunk(&mut self, chunk: &str) -> Result<()> {
        self.clear();
        self.streamed.push_str(chunk);
        if !self.args.json {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(chunk.as_bytes())?;
            stdout.flush()?;
        }
        Ok(())
    }

    fn reasoning_chunk(&mut self, chunk: &str) -> Result<()> {
        self.clear();
        if !self.args.json {
            let mut stderr = std::io::stderr().lock();
            stderr.write_all(chunk.as_bytes())?;
            stderr.flush()?;
        }
        Ok(())
    }

    fn note(&mut self, text: &str) {
        match &self.spinner {
            Some(s) => s.println(text),
            None => eprintln!("\n{text}"),
        }
    }

    fn finish(&mut self, f: &Finished) -> Result<()> {
        self.clear();
        if self.args.json {
            let v = serde_json::json!({
                "status": f.status,
                "answer": f.answer,
                "details": dict_to_json(&f.stats),
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
            return Ok(());
        }
        // Chunks normally add up to the answer; if any were missed, print the rest now.
        if let Some(rest) = f.answer.strip_prefix(self.streamed.as_str()) {
            print!("{rest}");
        } else if !f.answer.is_empty() {
            print!("\n{}", f.answer);
        }
        if !f.answer.is_empty() || !self.streamed.is_empty() {
            println!();
        }
        if self.args.verbose {
            eprintln!("{}", describe(&f.details(), &f.status));
        }
        Ok(())
    }
}

/// One line about how the answer was produced.
fn describe(d: &AnswerDetails, status: &str) -> String {
    let mut parts = vec![format!("status {status}")];
    if let Some(c) = &d.category {
        let forced = if d.category_overridden == Some(true) {
            " (forced)"
        } else {
            ""
        };
        parts.push(format!("category {c}{forced}"));
    }
    if let Some(p) = d.prompt_tokens {
        parts.push(format!(
            "{p} prompt tokens ({} reused)",
            d.reused_prefix_tokens.unwrap_or(0)
        ));
    }
    if let Some(c) = d.completion_tokens {
        parts.push(format!("{c} generated"));
    }
    if let Some(t) = d.time_to_first_token_ms {
        parts.push(format!("first token {t:.0} ms"));
    }
    if let Some(t) = d.total_time_ms {
        parts.push(format!("total {t:.0} ms"));
    }
    if let Some(t) = d.tokens_per_second {
        parts.push(format!("{t:.1} tok/s"));
    }
    if let Some(c) = &d.cache {
        parts.push(format!("cache {c}"));
    }
    if let Some(m) = &d.model_id {
        parts.push(format!("model {m}"));
    }
    if let Some(f) = &d.finish_reason {
        parts.push(format!("finish {f}"));
    }
    format!("-- {}", parts.join(" · "))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn details_line_names_what_matters() {
        let d = AnswerDetails {
            category: Some("medication".into()),
            prompt_tokens: Some(80),
            reused_prefix_tokens: Some(60),
            completion_tokens: Some(12),
            cache: Some("miss".into()),
            ..Default::default()
        };
        let s = describe(&d, "ok");
        assert!(s.contains("category medication"), "{s}");
        assert!(s.contains("80 prompt tokens (60 reused)"), "{s}");
        assert!(s.contains("cache miss"), "{s}");
    }
}
