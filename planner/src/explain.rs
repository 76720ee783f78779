//! The "why" lines of a plan: one sentence per decision, with the numbers behind it.

use crate::cost::Speed;
use crate::host::MIB;
use crate::memory::{MemoryBreakdown, mib};
use crate::model::TensorGroup;
use crate::plan::{Budgets, ContextSettings, Placement, PlanRequest};

fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Builds the explanation of a chosen configuration.
#[allow(clippy::too_many_arguments)]
pub fn explain(
    req: &PlanRequest,
    budgets: Budgets,
    ctx: &ContextSettings,
    p: &Placement,
    mem: &MemoryBreakdown,
    speed: &Speed,
    overrides: &[String],
    notes: Vec<String>,
) -> Vec<String> {
    let host = &req.host;
    let model = &req.model;
    let hp = &model.hparams;
    let mut out = Vec::new();
    match (&host.gpu, budgets.gpu > 0) {
        (Some(g), true) if budgets.unified => out.push(format!(
            "host {}: {} shares {} of RAM with the CPU (budget {} after margins)",
            host.name,
            g.name,
            gib(host.memory.available_mib * MIB),
            gib(budgets.ram)
        )),
        (Some(g), true) => out.push(format!(
            "host {}: {} with {} free (budget {}), RAM {} available (budget {})",
            host.name,
            g.name,
            gib(g.free_mib * MIB),
            gib(budgets.gpu),
            gib(host.memory.available_mib * MIB),
            gib(budgets.ram)
        )),
        _ => out.push(format!(
            "host {}: CPU only ({} cores), RAM {} available (budget {})",
            host.name,
            host.cpu.physical_cores,
            gib(host.memory.available_mib * MIB),
            gib(budgets.ram)
        )),
    }
    out.push(format!(
        "model {} ({} {}): {} layers, {} of weights, KV {} KiB per token ({})",
        model.name,
        model.arch,
        model.file_type,
        hp.n_layer,
        gib(model.weight_bytes()),
        model.kv_bytes_per_token(ctx.type_k, ctx.type_v) / 1024,
        ctx.type_k
    ));
    let n = p.n_layer;
    if !p.uses_gpu() {
        out.push("all layers on the CPU (no GPU backend in this plan)".into());
    } else if p.offloaded_layers() == n {
        out.push(format!(
            "all {n} layers and the output layer on the GPU (n_gpu_layers = {})",
            p.n_gpu_layers()
        ));
    } else {
        out.push(format!(
            "{} of {n} layers and the output layer on the GPU (n_gpu_layers = {}): layers 0-{} stay on the \
             CPU because more would exceed the GPU budget or run slower",
            p.offloaded_layers(),
            p.n_gpu_layers(),
            p.first_gpu_layer - 1
        ));
    }
    for g in TensorGroup::OVERRIDABLE {
        let (from, to) = p.cpu_range(g);
        if from < to {
            out.push(format!(
                "{} weights of layers {} stay on the CPU (override) while their attention and KV use the GPU: \
                 cheaper per token than offloading {} fewer whole layer{}",
                g.label(),
                if to - from == 1 { format!("{from}") } else { format!("{from}-{}", to - 1) },
                to - from,
                if to - from == 1 { "" } else { "s" }
            ));
        }
    }
    if !overrides.is_empty() {
        out.push(format!("override patterns: {}", overrides.join("  ")));
    }
    let w = &req.workload;
    out.push(format!(
        "context {} tokens = {} templates × {} + {} parallel × {} per request (llama.cpp pads to 256)",
        ctx.n_ctx,
        w.template_seqs,
        w.template_tokens,
        ctx.n_seq_max.saturating_sub(w.template_seqs),
        w.ctx_per_request
    ));
    if ctx.type_k.is_quantized() {
        out.push(format!(
            "KV cache {}: f16 did not fit or was slower",
            ctx.type_k
        ));
    } else {
        out.push(format!("KV cache {} (no quantization needed)", ctx.type_k));
    }
    let logits =
        hp.n_vocab * u64::from(ctx.n_ubatch.min(ctx.n_outputs_max.unwrap_or(ctx.n_batch))) * 4;
    out.push(format!(
        "n_ubatch {} / n_batch {}: compute buffers CPU {:.0} MiB, GPU {:.0} MiB (logits alone {:.0} MiB = {} vocab × \
         {} rows × 4 B)",
        ctx.n_ubatch,
        ctx.n_batch,
        mib(mem.cpu.compute),
        mib(mem.gpu.compute),
        mib(logits),
        hp.n_vocab,
        ctx.n_ubatch
    ));
    out.push(format!(
        "flash attention {}; threads {} (physical cores: decode is memory bound)",
        if ctx.flash_attn { "on" } else { "off" },
        host.cpu.physical_cores
    ));
    out.push(format!(
        "memory: GPU {:.0} MiB (weights {:.0}, KV {:.0}, compute {:.0}, backend {:.0}); RAM {:.0} MiB (weights {:.0}, \
         KV {:.0}, compute {:.0}, output {:.0}, process {:.0})",
        mib(mem.gpu.total()),
        mib(mem.gpu.weights),
        mib(mem.gpu.kv),
        mib(mem.gpu.compute),
        mib(mem.gpu.overhead),
        mib(mem.cpu.total()),
        mib(mem.cpu.weights),
        mib(mem.cpu.kv),
        mib(mem.cpu.compute),
        mib(mem.cpu.output),
        mib(mem.cpu.overhead)
    ));
    out.push(format!(
        "predicted: prefill {:.0} tok/s, decode {:.1} tok/s alone, {:.1} tok/s per stream ({:.1} total) with {} \
         streams; {:.1} s for a {}+{}-token request",
        speed.prefill_tps,
        speed.decode_tps,
        speed.decode_tps_per_stream,
        speed.decode_tps_total,
        speed.parallel,
        speed.request_seconds,
        w.prompt_tokens,
        w.answer_tokens
    ));
    if !host.cpu.bandwidth_measured {
        out.push(
            "CPU bandwidth is an estimate; calibration would sharpen the CPU-side predictions"
                .into(),
        );
    }
    out.extend(notes);
    out
}
