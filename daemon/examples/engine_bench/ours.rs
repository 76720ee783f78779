//! Our engine, driven through its public API exactly as the daemon drives it
//! (`medllmd::engine::start`, `EngineHandle::submit`, the per-request `Completion` timings).
//!
//! Every figure here is computed from the engine's own per-request timestamps:
//! - `submitted` is taken when `submit` is called (the engine stamps the same moment);
//! - `time_to_first_token` runs from submission to the first sampled token, so it includes the
//!   (idle, ~0) queue, tokenisation, the prompt's `decode` calls and the first sampling;
//! - `decode` runs from the first to the last sampled token: `n - 1` single-token steps, each
//!   one `llama_decode` plus greedy sampling, detokenisation and stop-string matching.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::future::join_all;
use medllmd::engine::{
    self, Completion, EngineConfig, EngineHandle, EngineInfo, Event, GenerateRequest,
    RequestStream, SamplingParams,
};

/// One running engine plus the small runtime that reads its streams.
///
/// Only one may be alive at a time (use [`Engine::stop`]): the daemon runs one engine, hence one
/// OpenMP thread team. A second team in the same process makes libgomp believe the CPUs are
/// oversubscribed and switch to short spin-waits, which on a loaded machine changes llama.cpp's
/// speed severalfold (measured: see docs/benchmarks.md), so two live engines would not measure
/// what the daemon does.
pub struct Engine {
    rt: tokio::runtime::Runtime,
    handle: EngineHandle,
    /// What the engine reported at start (model, CPU variant, template sizes).
    pub info: EngineInfo,
    /// Threads of this process before the engine started.
    threads_before: usize,
}

/// One finished request.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// When `submit` was called.
    pub submitted: Instant,
    /// The engine's summary (usage and timings).
    pub done: Completion,
}

impl Outcome {
    /// When the first token was sampled.
    pub fn first_token(&self) -> Instant {
        self.submitted + self.done.timings.time_to_first_token
    }

    /// When the last token was sampled.
    pub fn last_token(&self) -> Instant {
        self.first_token() + self.done.timings.decode
    }
}

impl Engine {
    /// Load the model and prefill the templates; returns when the engine is ready.
    pub fn start(cfg: EngineConfig) -> Result<Self> {
        // One thread: the engine thread does the work; this runtime only receives events, and
        // on a 2-core machine every extra busy thread would steal time from llama.cpp.
        let threads_before = threads_now();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("tokio runtime")?;
        let (handle, ready) = engine::start(cfg, |_| {})?;
        let info = rt
            .block_on(ready)
            .context("the engine thread ended during start-up")??;
        Ok(Self {
            rt,
            handle,
            info,
            threads_before,
        })
    }

    /// Shut the engine down and wait until its threads (engine thread and OpenMP workers) are
    /// gone, so the next engine runs alone.
    pub fn stop(self) -> Result<()> {
        self.handle.shutdown();
        let deadline = Instant::now() + Duration::from_secs(30);
        while threads_now() > self.threads_before {
            if Instant::now() > deadline {
                bail!(
                    "the engine's threads did not end ({} > {})",
                    threads_now(),
                    self.threads_before
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Submit every request at once (they are admitted together when slots allow) and wait for
    /// all of them. Any request that ends in an error fails the measurement.
    pub fn run(&self, reqs: Vec<GenerateRequest>) -> Result<Vec<Outcome>> {
        let mut streams = Vec::with_capacity(reqs.len());
        for r in reqs {
            let t = Instant::now();
            streams.push((t, self.handle.submit(r)?));
        }
        self.rt
            .block_on(join_all(streams.into_iter().map(|(t, s)| collect(t, s))))
            .into_iter()
            .collect()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

async fn collect(submitted: Instant, mut s: RequestStream) -> Result<Outcome> {
    loop {
        match s.next().await {
            Some(Event::Token(_)) => {}
            Some(Event::Done(done)) => return Ok(Outcome { submitted, done }),
            Some(Event::Error(e)) => bail!("request failed: {e}"),
            None => bail!("the engine closed a stream without a final event"),
        }
    }
}

/// A greedy request without tracing (tracing costs a pass over the vocabulary per token).
pub fn request(template: usize, question: &str, max_tokens: u32) -> GenerateRequest {
    GenerateRequest {
        template,
        question: question.to_string(),
        sampling: SamplingParams {
            temperature: 0.0,
            max_tokens,
            ..SamplingParams::default()
        },
        priority: 0,
        score_candidates: None,
        trace: false,
    }
}

/// Prompt tokens computed per second of time to first token (queue ~0 on an idle engine).
pub fn prefill_tps(o: &Outcome) -> f64 {
    per_second(
        o.done.usage.computed_prompt_tokens as f64,
        o.done.timings.time_to_first_token,
    )
}

/// Single-stream decode rate: `n - 1` steps over the first-to-last-token time.
pub fn decode_tps(o: &Outcome) -> f64 {
    o.done.timings.decode_tokens_per_s
}

/// Aggregate decode rate of requests that ran together: every decode step of every request
/// (`n_i - 1`) over the span from the earliest first token to the latest last token. Prefill and
/// queueing lie before the span; a request admitted a step late makes the figure lower, not
/// higher.
pub fn aggregate_decode_tps(outs: &[Outcome]) -> f64 {
    let steps: u32 = outs
        .iter()
        .map(|o| o.done.usage.completion_tokens.saturating_sub(1))
        .sum();
    let start = outs.iter().map(Outcome::first_token).min();
    let end = outs.iter().map(Outcome::last_token).max();
    match (start, end) {
        (Some(s), Some(e)) => per_second(steps as f64, e.saturating_duration_since(s)),
        _ => 0.0,
    }
}

/// Generated tokens over the whole run, submission to last token (prefill included): what a
/// batch of clients experiences end to end.
pub fn end_to_end_tps(outs: &[Outcome]) -> f64 {
    let tokens: u32 = outs.iter().map(|o| o.done.usage.completion_tokens).sum();
    let start = outs.iter().map(|o| o.submitted).min();
    let end = outs.iter().map(Outcome::last_token).max();
    match (start, end) {
        (Some(s), Some(e)) => per_second(tokens as f64, e.saturating_duration_since(s)),
        _ => 0.0,
    }
}

/// Threads of this process (`Threads:` in /proc/self/status; 0 where unavailable).
pub fn threads_now() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:").map(|v| v.trim().parse().ok()))
                .flatten()
        })
        .unwrap_or(0)
}

fn per_second(n: f64, d: Duration) -> f64 {
    if d.is_zero() {
        0.0
    } else {
        n / d.as_secs_f64()
    }
}
