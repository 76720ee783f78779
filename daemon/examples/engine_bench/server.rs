//! llama.cpp's `llama-server` as the reference service: the same workload as our worker, over
//! its HTTP API (`POST /completion`, non-streaming), on the same model file, threads, context,
//! batch sizes and flash-attention setting, with `-np` slots = our `max_parallel` and one unified
//! KV cache (`-kvu`) like ours.
//!
//! - load time: spawn → `GET /health` answers 200 (weights loaded, warm-up done);
//! - TTFT: wall time of an `n_predict: 1` request, measured by the client (HTTP on loopback
//!   included, a fraction of a millisecond). Before each measured request a request with another
//!   question primes a slot with the same system prompt, so the server's own prompt cache
//!   (`cache_prompt`, on by default) can reuse the system part — its analogue of our template
//!   reuse;
//! - seconds per question: client wall time per fixed-set question, greedy, same cap and stops;
//! - decode: the server's `timings.predicted_per_second` (one request alone);
//! - aggregate at width W: W requests sent at once; generated tokens / (first send → last reply),
//!   i.e. end to end with prefill, the figure to hold against our `end_to_end_tps`.
//!
//! A minimal HTTP/1.1 client over `TcpStream` (loopback only, `Connection: close`) keeps the
//! benchmark free of an HTTP client dependency.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::procs::{self, LineChild};
use crate::questions::{PLAIN_STOPS, plain_prompt};
use crate::reference::{RefSettings, Tools};
use crate::worker::{WorkerResult, Workload};
use crate::{prompts, report};

/// A running llama-server.
struct Server {
    proc: LineChild,
    port: u16,
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(600)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .context("malformed HTTP reply")?;
    let code: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("no HTTP status")?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Ok((code, if chunked { dechunk(rest) } else { rest.into() }))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// `POST /completion`, greedy, with the plain format's stop strings.
fn complete(port: u16, prompt: &str, n_predict: u32, cache_prompt: bool) -> Result<Value> {
    let body = json!({
        "prompt": prompt, "n_predict": n_predict, "temperature": 0.0, "top_k": 1,
        "stop": PLAIN_STOPS, "cache_prompt": cache_prompt, "stream": false,
    });
    let (code, text) = http(port, "POST", "/completion", Some(&body))?;
    if code != 200 {
        bail!("llama-server answered {code}: {text}");
    }
    Ok(serde_json::from_str(&text)?)
}

impl Server {
    fn start(t: &Tools, s: &RefSettings, slots: u32) -> Result<Self> {
        let port = free_port()?;
        let mut cmd = Command::new(t.bin.join("llama-server"));
        cmd.args(["-m", &s.model.display().to_string()])
            .args([
                "-c",
                &s.n_ctx.to_string(),
                "-np",
                &slots.to_string(),
                "-kvu",
            ])
            .args(["-t", &s.threads.to_string(), "-tb", &s.threads.to_string()])
            .args(["-b", &s.n_batch.to_string(), "-ub", &s.n_ubatch.to_string()])
            .args(["-fa", &s.flash_attn, "-ngl", "0"])
            .args(["--host", "127.0.0.1", "--port", &port.to_string()]);
        let proc = LineChild::spawn(cmd)?;
        let srv = Self { proc, port };
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            if let Ok((200, _)) = http(port, "GET", "/health", None) {
                return Ok(srv);
            }
            if Instant::now() > deadline {
                bail!("llama-server did not become healthy in 300 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn complete(&self, prompt: &str, n_predict: u32, cache_prompt: bool) -> Result<Value> {
        complete(self.port, prompt, n_predict, cache_prompt)
    }

    /// SIGTERM, then reap: peak RSS KiB.
    fn stop(self) -> Result<u64> {
        procs::terminate(&self.proc.child);
        let (_, peak, _) = self.proc.finish()?;
        Ok(peak)
    }
}

/// Run the worker's workload against llama-server; the result uses the worker's shape
/// (`ready_s` = spawn → healthy).
pub fn measure(t: &Tools, s: &RefSettings, slots: u32, work: &Workload) -> Result<WorkerResult> {
    let srv = Server::start(t, s, slots)?;
    let mut r = WorkerResult {
        variant: "llama-server".into(),
        ready_s: srv.proc.spawned.elapsed().as_secs_f64(),
        settings: format!(
            "-c {} -np {slots} -kvu -t {} -b {} -ub {} -fa {}",
            s.n_ctx, s.threads, s.n_batch, s.n_ubatch, s.flash_attn
        ),
        ..WorkerResult::default()
    };
    let mut go = || -> Result<()> {
        let long = |q: &str| plain_prompt(prompts::SYSTEM_LONG, q);
        let short = |q: &str| plain_prompt(prompts::SYSTEM_SHORT, q);
        srv.complete(&short(prompts::DECODE_CANDIDATES[0]), 8, true)?; // warm-up
        let mut ttft = Vec::new();
        for i in 0..3 {
            srv.complete(
                &long(&format!("Is fever number {i} a warning sign?")),
                1,
                true,
            )?;
            let t0 = Instant::now();
            let v = srv.complete(&long(prompts::QUESTION_TTFT), 1, true)?;
            ttft.push(t0.elapsed().as_secs_f64() * 1000.0);
            r.ttft_reused_tokens = v["tokens_cached"].as_u64().unwrap_or(0) as u32;
        }
        r.ttft_ms = report::median(&ttft);
        for q in &work.questions {
            let t0 = Instant::now();
            let v = srv.complete(&long(q), work.q_tokens, true)?;
            r.question_s.push(t0.elapsed().as_secs_f64());
            r.question_tokens
                .push(v["tokens_predicted"].as_u64().unwrap_or(0) as u32);
        }
        let dec = short(prompts::DECODE_CANDIDATES[0]);
        let v = srv.complete(&dec, work.n_gen + 1, false)?;
        r.decode_tps = v["timings"]["predicted_per_second"].as_f64().unwrap_or(0.0);
        for &w in &work.widths {
            let t0 = Instant::now();
            let (port, dec) = (srv.port, dec.as_str());
            let results: Vec<Result<Value>> = std::thread::scope(|sc| {
                let hs: Vec<_> = (0..w)
                    .map(|_| sc.spawn(move || complete(port, dec, work.n_gen + 1, false)))
                    .collect();
                hs.into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| bail!("client thread panicked")))
                    .collect()
            });
            let span = t0.elapsed().as_secs_f64();
            let mut tokens = 0u64;
            for v in results {
                tokens += v?["tokens_predicted"].as_u64().unwrap_or(0);
            }
            r.widths.push((w, f64::NAN, tokens as f64 / span));
        }
        Ok(())
    };
    let outcome = go();
    r.peak_rss_kib = srv.stop()?;
    outcome?;
    Ok(r)
}

/// Memory only: start with `-c n_ctx -np slots`, one short request of 4 tokens, stop.
/// Returns (spawn → healthy seconds, peak RSS KiB).
pub fn memory(t: &Tools, s: &RefSettings, slots: u32) -> Result<(f64, u64)> {
    let srv = Server::start(t, s, slots)?;
    let ready = srv.proc.spawned.elapsed().as_secs_f64();
    let res = srv.complete(
        &plain_prompt(
            "Category 0: answer as a careful medical assistant.",
            "The patient has a fever and a cough.",
        ),
        4,
        false,
    );
    let peak = srv.stop()?;
    res?;
    Ok((ready, peak))
}
