//! The daemon's admin interface from the command line: `medctl reload`, `medctl replan` and
//! `medctl cache stats|purge|clear` (`cache explain`, which needs no daemon, stays in `cache`).
//!
//! These calls are authorised by polkit (`org.medllm.daemon1.manage`): root passes, an
//! administrator is asked for a password. On a terminal medctl starts `pkttyagent` for itself, as
//! `systemctl` does, so the prompt appears here even without a desktop agent.

use std::io::IsTerminal;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};
use medllm_api::admin::{cache as ck, purge as pk, report as rk};
use medllm_api::dict::{get, get_str};
use medllm_api::{AdminProxy, Dict};

use crate::bus::{BusArgs, block_on};
use crate::json::dict_to_json;

/// `medctl cache` subcommands: the local ones and the daemon's.
#[derive(Debug, clap::Subcommand)]
pub enum CacheCommand {
    #[command(flatten)]
    Local(crate::cache::CacheCommand),
    /// Show the daemon's cache counters: entries and bytes per tier, hits, misses, vetoes.
    Stats(JsonArgs),
    /// Remove expired entries now; with --rotate-key, make everything cached unreadable and delete it.
    Purge(PurgeArgs),
    /// Remove every cached answer (the encrypted bytes stay on disk until the store compacts).
    Clear,
}

/// Arguments of `medctl cache`.
#[derive(Debug, clap::Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub command: CacheCommand,
}

/// `--json`.
#[derive(Debug, clap::Args)]
pub struct JsonArgs {
    /// Print the daemon's reply as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `medctl cache purge`.
#[derive(Debug, clap::Args)]
pub struct PurgeArgs {
    /// Replace the cache key and delete the store: nothing cached before can be read again (not
    /// possible when the key is a systemd credential: rotate that with systemd-creds).
    #[arg(long)]
    rotate_key: bool,
    /// Print the daemon's reply as JSON.
    #[arg(long)]
    json: bool,
}

/// Run `medctl cache …`.
pub fn cache(args: CacheArgs, bus: &BusArgs) -> Result<()> {
    match args.command {
        CacheCommand::Local(command) => crate::cache::run(&crate::cache::Args { command }),
        CacheCommand::Stats(a) => call(bus, |admin| async move {
            let d = admin.cache_stats().await?;
            Ok(if a.json {
                json(&d)
            } else {
                get_str(&d, ck::SUMMARY).unwrap_or_default()
            })
        }),
        CacheCommand::Purge(a) => call(bus, |admin| async move {
            let d = admin.purge_cache(a.rotate_key).await?;
            if a.json {
                return Ok(json(&d));
            }
            let n = |k| get::<u64>(&d, k).unwrap_or(0);
            let mut out = format!(
                "removed {} expired and {} over-cap entries ({} repaired)",
                n(pk::EXPIRED),
                n(pk::EVICTED),
                n(pk::REPAIRED)
            );
            if get::<bool>(&d, pk::ROTATED).unwrap_or(false) {
                out.push_str("; key rotated: everything cached before is unreadable and deleted");
            }
            Ok(out)
        }),
        CacheCommand::Clear => call(bus, |admin| async move {
            admin.clear_cache().await?;
            Ok("answer cache cleared".to_string())
        }),
    }
}

/// Run `medctl reload`.
pub fn reload(args: &JsonArgs, bus: &BusArgs) -> Result<()> {
    let json_out = args.json;
    call(bus, |admin| async move {
        Ok(report(&admin.reload().await?, json_out))
    })
}

/// Run `medctl replan`.
pub fn replan(args: &JsonArgs, bus: &BusArgs) -> Result<()> {
    let json_out = args.json;
    call(bus, |admin| async move {
        Ok(report(&admin.replan().await?, json_out))
    })
}

/// Connect, start a text polkit agent when useful, run `f` and print what it returns.
pub(crate) fn call<F, Fut>(bus: &BusArgs, f: F) -> Result<()>
where
    F: FnOnce(AdminProxy<'static>) -> Fut,
    Fut: std::future::Future<Output = Result<String, medllm_api::Error>>,
{
    let _agent = TtyAgent::start();
    block_on(async {
        let (conn, _daemon) = bus.daemon().await?;
        let admin = AdminProxy::new(&conn)
            .await
            .context("cannot create the admin proxy")?;
        let out = f(admin).await.map_err(|e| bus.explain(e))?;
        println!("{out}");
        Ok(())
    })
}

fn json(d: &Dict) -> String {
    serde_json::to_string_pretty(&dict_to_json(d)).unwrap_or_default()
}

/// A reload report, for people.
pub(crate) fn report(d: &Dict, as_json: bool) -> String {
    if as_json {
        return json(d);
    }
    let s = |k| get_str(d, k).unwrap_or_default();
    let strategy = s(rk::STRATEGY);
    let mut out = if strategy == "unchanged" {
        format!(
            "nothing to do: the engine settings are unchanged (model {})",
            s(rk::MODEL_ID)
        )
    } else {
        format!(
            "now serving {} ({} mode) after {:.1} s ({})",
            s(rk::MODEL_ID),
            s(rk::MODE),
            get::<f64>(d, rk::SECONDS).unwrap_or(0.0),
            match strategy.as_str() {
                "overlap" => "loaded beside the old engine, no pause",
                "drain-first" => "not enough memory for two engines: paused, drained, then loaded",
                _ => "",
            }
        )
    };
    if let Some(plan) = get_str(d, rk::PLAN) {
        out.push_str(&format!("\nplan: {plan}"));
    }
    let restart: Vec<String> = get(d, rk::RESTART_REQUIRED).unwrap_or_default();
    if !restart.is_empty() {
        out.push_str(&format!(
            "\nchanged settings that need a restart (systemctl restart medllmd): {}",
            restart.join(", ")
        ));
    }
    out
}

/// `pkttyagent` registered for this process while it lives, so polkit can ask for a password on
/// this terminal. Only for a non-root user on a terminal; silently absent otherwise.
struct TtyAgent(Option<Child>);

impl TtyAgent {
    fn start() -> Self {
        let root = std::fs::metadata("/proc/self").map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid() == 0
        });
        if root.unwrap_or(true) || !std::io::stdin().is_terminal() {
            return Self(None);
        }
        // --notify-fd 1: the agent closes its stdout once it is registered (it talks to the user
        // on the controlling terminal, not on stdout), so reading to EOF waits exactly that long.
        let child = Command::new("pkttyagent")
            .args(["--notify-fd", "1", "--fallback", "--process"])
            .arg(std::process::id().to_string())
            .stdin(Stdio::inherit())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .ok()
            .map(|mut c| {
                if let Some(mut out) = c.stdout.take() {
                    let mut sink = Vec::new();
                    let _ = std::io::Read::read_to_end(&mut out, &mut sink);
                }
                c
            });
        Self(child)
    }
}

impl Drop for TtyAgent {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
