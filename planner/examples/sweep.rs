//! Predicted placement and speed of a model over a range of free VRAM (the figure in docs/planner.md).
//!
//! `cargo run --release -p medllm-planner --example sweep -- MODEL.gguf HOST.toml [CTX]`

use medllm_planner::{HostProfile, KvType, ModelProfile, PlanRequest, TensorGroup, plan};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(model_path), Some(host_path)) = (args.first(), args.get(1)) else {
        eprintln!("usage: sweep MODEL.gguf HOST.toml [CTX]");
        std::process::exit(2);
    };
    let ctx: u32 = args.get(2).map(|c| c.parse()).transpose()?.unwrap_or(4096);
    let model = ModelProfile::from_gguf_path(model_path)?;
    let host = HostProfile::load(host_path)?;
    println!(
        "| free VRAM MiB | n_gpu_layers | FFN kept on CPU | decode tok/s | prefill tok/s | bar |"
    );
    println!("|---|---|---|---|---|---|");
    for free in (1000..=8000).step_by(500) {
        let mut req = PlanRequest::new(
            host.with_memory(host.memory.available_mib, Some(free)),
            model.clone(),
        );
        req.workload.ctx_per_request = ctx;
        req.workload.template_seqs = 0;
        req.workload.parallel_min = 1;
        req.workload.parallel_max = 1;
        req.options.kv_types = vec![KvType::F16];
        match plan(&req) {
            Ok(p) => {
                let (a, b) = p.placement.cpu_range(TensorGroup::Ffn);
                let kept = if a < b {
                    format!("{a}-{}", b - 1)
                } else {
                    "-".into()
                };
                let bar = "#".repeat((p.speed.decode_tps * 1.5).round() as usize);
                println!(
                    "| {free} | {} | {kept} | {:.1} | {:.0} | `{bar}` |",
                    p.n_gpu_layers, p.speed.decode_tps, p.speed.prefill_tps
                );
            }
            Err(e) => println!("| {free} | - | - | - | - | {e} |"),
        }
    }
    Ok(())
}
