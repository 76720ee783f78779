//! `medctl status`: what the daemon is doing, in the spirit of `systemctl status`.
//!
//! Reads `Status()` once and prints it; `--json` prints the daemon's dictionary as is (every key,
//! including ones this medctl does not know yet). Keys this version does not know are also shown
//! in the human output, so newer daemons' figures (plan, cache) appear without a medctl update.

use std::fmt::Write as _;

use anyhow::Result;
use medllm_api::status as key;
use medllm_api::{DaemonStatus, Dict};

use crate::bus::{BusArgs, block_on};
use crate::json::{dict_to_json, value_to_json};

/// Arguments of `medctl status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the daemon's status dictionary as JSON.
    #[arg(long)]
    json: bool,
}

/// Run `medctl status`.
pub fn run(args: &Args, bus: &BusArgs) -> Result<()> {
    block_on(async {
        let (_conn, daemon) = bus.daemon().await?;
        let dict = daemon.status().await.map_err(|e| bus.explain(e))?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&dict_to_json(&dict))?);
        } else {
            print!("{}", render(&dict, &bus.describe()));
        }
        Ok(())
    })
}

/// The human-readable report.
fn render(dict: &Dict, bus: &str) -> String {
    let s = DaemonStatus::from_dict(dict);
    let mut out = String::new();
    let state = s.state.as_deref().unwrap_or("unknown");
    let _ = writeln!(
        out,
        "● medllmd - medllm daemon ({} on {bus})",
        medllm_api::BUS_NAME
    );
    let reason = s
        .state_reason
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    line(&mut out, "State", format!("{state}{reason}"));
    if let Some(v) = &s.version {
        line(&mut out, "Version", v.clone());
    }
    if let Some(id) = &s.model_id {
        let mut facts = Vec::new();
        if let Some(a) = &s.model_architecture {
            facts.push(a.clone());
        }
        if let Some(p) = s.model_parameters {
            facts.push(format!("{} parameters", si(p as f64)));
        }
        if let Some(b) = s.model_size_bytes {
            facts.push(mib(b));
        }
        if let Some(t) = s.model_load_seconds {
            facts.push(format!("loaded in {t:.1} s"));
        }
        let facts = if facts.is_empty() {
            String::new()
        } else {
            format!(" ({})", facts.join(", "))
        };
        line(&mut out, "Model", format!("{id}{facts}"));
    }
    if let Some(b) = &s.backend {
        line(&mut out, "Backend", b.clone());
    }
    if let Some(m) = &s.mode {
        line(&mut out, "Mode", m.clone());
    }
    if let Some(p) = &s.plan {
        line(&mut out, "Plan", p.clone());
    }
    if let Some(c) = &s.cache {
        line(&mut out, "Cache", c.clone());
    }
    if let Some(n) = s.n_ctx {
        let mut ctx = format!("{n} KV cells");
        if let Some(u) = s.kv_cells_used {
            let _ = write!(ctx, ", {u} in use");
        }
        if let Some(t) = &s.template_tokens {
            let t: Vec<String> = t.iter().map(u32::to_string).collect();
            let _ = write!(ctx, "; templates {} tokens", t.join("/"));
        }
        if let Some(train) = s.n_ctx_train {
            let _ = write!(ctx, "; trained with {train}");
        }
        line(&mut out, "Context", ctx);
    }
    line(
        &mut out,
        "Queue",
        format!(
            "{} active, {} waiting",
            s.active_requests.unwrap_or(0),
            s.queue_length.unwrap_or(0)
        ),
    );
    if let Some(u) = s.uptime_seconds {
        line(&mut out, "Uptime", duration(u));
    }
    let mut req = Vec::new();
    if let Some(c) = s.requests_completed {
        req.push(format!("{c} completed"));
    }
    if let Some(f) = s.requests_failed {
        req.push(format!("{f} failed or cancelled"));
    }
    if let Some(by) = &s.requests_by_category {
        let cats: Vec<String> = medllm_api::options::CATEGORIES
            .iter()
            .map(|c| format!("{c} {}", by.get(*c).copied().unwrap_or(0)))
            .collect();
        req.push(format!("by category: {}", cats.join(", ")));
    }
    if !req.is_empty() {
        line(&mut out, "Requests", req.join("; "));
    }
    let mut tok = Vec::new();
    if let Some(g) = s.tokens_generated {
        tok.push(format!("{g} generated"));
    }
    if let (Some(c), Some(r)) = (s.prompt_tokens_computed, s.prompt_tokens_reused) {
        tok.push(format!("{c} prompt computed, {r} reused from templates"));
    }
    if let Some(p) = s.preemptions {
        tok.push(format!("{p} preemptions"));
    }
    if let Some(t) = s.recent_tokens_per_second {
        tok.push(format!("{t:.1} tok/s recently"));
    }
    if !tok.is_empty() {
        line(&mut out, "Tokens", tok.join("; "));
    }
    if let Some(m) = s.max_question_bytes {
        line(&mut out, "Limits", format!("questions up to {m} bytes"));
    }
    if let Some(v) = &s.template_version {
        line(&mut out, "Templates", format!("version {v}"));
    }
    // Keys a newer daemon sends that this medctl does not know yet.
    let mut extra: Vec<&String> = dict
        .keys()
        .filter(|k| !key::KNOWN_KEYS.contains(&k.as_str()))
        .collect();
    extra.sort();
    for k in extra {
        let v = value_to_json(&dict[k]);
        let text = match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        line(&mut out, k, text);
    }
    out
}

fn line(out: &mut String, label: &str, value: String) {
    let _ = writeln!(out, "{label:>10}: {value}");
}

fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}min {s}s"),
        (0, _, _) => format!("{h}h {m}min"),
        _ => format!("{d}d {h}h {m}min"),
    }
}

fn si(x: f64) -> String {
    if x >= 1e9 {
        format!("{:.2}B", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.1}M", x / 1e6)
    } else {
        format!("{x:.0}")
    }
}

fn mib(bytes: u64) -> String {
    let m = bytes as f64 / (1024.0 * 1024.0);
    if m >= 1024.0 {
        format!("{:.2} GiB", m / 1024.0)
    } else {
        format!("{m:.1} MiB")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn renders_known_and_unknown_keys() {
        let s = DaemonStatus {
            state: Some("ready".into()),
            model_id: Some("gemma@0123".into()),
            model_parameters: Some(268_000_000),
            uptime_seconds: Some(3725),
            active_requests: Some(2),
            queue_length: Some(1),
            ..Default::default()
        };
        let mut d = s.to_dict();
        medllm_api::dict::put(&mut d, "cache_hits", 7u64);
        let text = render(&d, "the session bus");
        assert!(text.contains("State: ready"), "{text}");
        assert!(text.contains("gemma@0123 (268.0M parameters)"), "{text}");
        assert!(text.contains("2 active, 1 waiting"), "{text}");
        assert!(text.contains("1h 2min"), "{text}");
        assert!(text.contains("cache_hits: 7"), "{text}");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(5), "5s");
        assert_eq!(duration(65), "1min 5s");
        assert_eq!(duration(90_061), "1d 1h 1min");
    }
}
