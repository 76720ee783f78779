//! Plans a model for a host profile and prints the table (a development stand-in for `medctl plan`).
//!
//! `cargo run -p medllm-planner --example plan -- MODEL.gguf [HOST.toml] [--ctx N] [--parallel P] [--vram-margin MiB] [--json]`
//! Without a host file it probes this machine.

use medllm_planner::{HostProfile, ModelProfile, PlanRequest, plan, probe, render_table};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = Vec::new();
    let mut ctx = None;
    let mut parallel = None;
    let mut json = false;
    let mut vram_margin = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--ctx" => ctx = it.next().map(|v| v.parse()).transpose()?,
            "--parallel" => parallel = it.next().map(|v| v.parse()).transpose()?,
            "--vram-margin" => vram_margin = it.next().map(|v| v.parse()).transpose()?,
            "--json" => json = true,
            _ => positional.push(a.clone()),
        }
    }
    let Some(model_path) = positional.first() else {
        eprintln!(
            "usage: plan MODEL.gguf [HOST.toml] [--ctx N] [--parallel P] [--vram-margin MiB] [--json]"
        );
        std::process::exit(2);
    };
    let model = ModelProfile::from_gguf_path(model_path)?;
    let host = match positional.get(1) {
        Some(h) => HostProfile::load(h)?,
        None => probe(),
    };
    let mut req = PlanRequest::new(host, model.clone());
    if let Some(c) = ctx {
        req.workload.ctx_per_request = c;
    }
    if let Some(p) = parallel {
        req.workload.parallel_min = p;
        req.workload.parallel_max = p;
    }
    if let Some(m) = vram_margin {
        req.options.vram_margin_mib = m;
    }
    match plan(&req) {
        Ok(p) if json => println!("{}", p.to_json()),
        Ok(p) => print!("{}", render_table(&p, &model)),
        Err(e) => {
            eprintln!("no plan: {e}");
            std::process::exit(1);
        }
    }
    Ok(())
}
