//! `medctl mode --explain` stand-in: plans a model for a host and prints the adapter/merged decision.
//!
//! `cargo run --release -p medllm-planner --example mode -- MODEL.gguf HOST.toml ADAPTERS SWITCH_RATE TARGET_S`

use medllm_planner::{HostProfile, ModeConfig, ModelProfile, PlanRequest, decide_mode, plan};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 5 {
        eprintln!("usage: mode MODEL.gguf HOST.toml ADAPTERS SWITCH_RATE TARGET_S");
        std::process::exit(2);
    }
    let model = ModelProfile::from_gguf_path(&a[0])?;
    let p = plan(&PlanRequest::new(HostProfile::load(&a[1])?, model))?;
    let cfg = ModeConfig {
        adapters: a[2].parse()?,
        switch_rate: a[3].parse()?,
        latency_target_s: a[4].parse()?,
        ..ModeConfig::default()
    };
    for line in decide_mode(&p, &cfg).explanation {
        println!("{line}");
    }
    Ok(())
}
