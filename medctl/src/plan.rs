//! `medctl plan`: where each layer of a model would live on this machine (or a recorded one), with
//! which llama.cpp settings, how much memory and how fast — without a daemon.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use medllm_planner::{
    HostProfile, ModelProfile, PlanError, PlanRequest, plan, probe, render_table,
};

/// Arguments of `medctl plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The GGUF model (only its header is read).
    #[arg(long, short, value_name = "MODEL.gguf")]
    pub model: PathBuf,
    /// Plan for a recorded host profile (e.g. configs/hosts/rtx3060-8gb.toml) instead of this machine.
    #[arg(long, value_name = "HOST.toml")]
    pub host: Option<PathBuf>,
    /// Tokens one request may hold (prompt + answer).
    #[arg(long, value_name = "N", default_value_t = 2048)]
    pub ctx: u32,
    /// Concurrent requests to plan for (the planner may choose fewer if they do not fit).
    #[arg(long, value_name = "P", default_value_t = 4)]
    pub parallel: u32,
    /// Plan for a GPU even though this build has no GPU backend (what-ifs with --host).
    #[arg(long)]
    pub gpu: bool,
    /// VRAM kept free beyond the prediction, MiB.
    #[arg(long, value_name = "MiB")]
    pub vram_margin: Option<u64>,
    /// Print the plan as JSON (the daemon's saved-plan format).
    #[arg(long)]
    pub json: bool,
}

/// Run `medctl plan`.
pub fn run(args: &Args) -> Result<()> {
    let model = ModelProfile::from_gguf_path(&args.model)
        .with_context(|| format!("cannot read {}", args.model.display()))?;
    let host = match &args.host {
        Some(h) => HostProfile::load(h).with_context(|| format!("cannot load {}", h.display()))?,
        None => probe(),
    };
    let mut req = PlanRequest::new(host, model.clone());
    req.workload.ctx_per_request = args.ctx;
    req.workload.parallel_max = args.parallel.max(1);
    // A recorded host with a GPU is a what-if: plan its GPU. This machine's GPU needs a GPU build.
    req.options.use_gpu = args.gpu || args.host.is_some();
    if let Some(m) = args.vram_margin {
        req.options.vram_margin_mib = m;
    }
    match plan(&req) {
        Ok(p) if args.json => println!("{}", p.to_json()),
        Ok(p) => print!("{}", render_table(&p, &model)),
        Err(PlanError::Infeasible {
            reason,
            suggestions,
        }) => {
            let mut msg = format!("no placement fits: {reason}");
            for s in suggestions {
                msg.push_str(&format!("\n  would fit: {s}"));
            }
            bail!(msg);
        }
        Err(e) => bail!("planning failed: {e}"),
    }
    Ok(())
}
