//! `medctl mode [--explain]` and `medctl mode set base|adapter|merged`: the daemon's deployment
//! mode (base model, LoRA adapters per category, or a merged model; see docs/adapters.md).
//!
//! Showing the mode reads `Status()` (keys `mode` and `mode_explain`): anyone may. Setting it calls
//! the admin interface's `SetMode` (polkit `org.medllm.daemon1.manage`), which replaces the engine
//! the way a reload does: requests already admitted finish on the engine that admitted them.

use anyhow::Result;
use medllm_api::DaemonStatus;

use crate::admin;
use crate::bus::{BusArgs, block_on};

/// Arguments of `medctl mode`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    /// Also print why this mode runs: the planner's decision D(m) = α·Perf + β·Fit − γ·Cost with
    /// both modes' terms, or who fixed it, and what each category runs.
    #[arg(long)]
    explain: bool,
    #[command(subcommand)]
    command: Option<ModeCommand>,
}

/// `medctl mode …` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ModeCommand {
    /// Switch the deployment mode (admin): no request is lost. Pinned until the next reload.
    Set(SetArgs),
}

/// Arguments of `medctl mode set`.
#[derive(Debug, clap::Args)]
pub struct SetArgs {
    /// The mode to run.
    #[arg(value_parser = ["base", "adapter", "merged"])]
    mode: String,
    /// Print the daemon's reply as JSON.
    #[arg(long)]
    json: bool,
}

/// Run `medctl mode …`.
pub fn run(args: &Args, bus: &BusArgs) -> Result<()> {
    match &args.command {
        Some(ModeCommand::Set(set)) => {
            let (mode, as_json) = (set.mode.clone(), set.json);
            admin::call(bus, |a| async move {
                Ok(admin::report(&a.set_mode(&mode).await?, as_json))
            })
        }
        None => block_on(async {
            let (_conn, daemon) = bus.daemon().await?;
            let dict = daemon.status().await.map_err(|e| bus.explain(e))?;
            print!("{}", render(&DaemonStatus::from_dict(&dict), args.explain));
            Ok(())
        }),
    }
}

/// `mode: adapter (auto, …)` and, with `--explain`, every line of the explanation.
fn render(s: &DaemonStatus, explain: bool) -> String {
    let mode = s.mode.as_deref().unwrap_or("unknown (no model loaded)");
    let lines = s.mode_explain.clone().unwrap_or_default();
    let mut out = format!("mode: {mode}\n");
    match lines.split_first() {
        Some((first, rest)) => {
            out.push_str(&format!("why: {first}\n"));
            if explain {
                for l in rest {
                    out.push_str(&format!("  {l}\n"));
                }
            }
        }
        None if explain => out.push_str("(this daemon does not explain its mode)\n"),
        None => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explain_prints_every_line_and_the_short_form_only_the_first() {
        let s = DaemonStatus {
            mode: Some("merged".into()),
            mode_explain: Some(vec![
                "merged: auto, the decision's choice (larger D)".into(),
                "Adapter: Perf 0.900, Fit 1.000, Cost 0.100 → D = 1.850".into(),
            ]),
            ..DaemonStatus::default()
        };
        let short = render(&s, false);
        assert!(
            short.starts_with("mode: merged\nwhy: merged: auto"),
            "{short}"
        );
        assert!(!short.contains("Perf"));
        assert!(render(&s, true).contains("  Adapter: Perf 0.900"));
        assert!(render(&DaemonStatus::default(), true).contains("does not explain"));
    }
}
