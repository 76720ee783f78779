//! A plan as a readable table (`medctl plan`): llama.cpp parameters, device per layer range and group,
//! memory per device against its budget, predicted speed, and the reasons.

use crate::memory::mib;
use crate::model::{ModelProfile, TensorGroup};
use crate::plan::Plan;
use std::fmt::Write as _;

/// Renders `plan` (made for `model`) as plain text.
pub fn render_table(plan: &Plan, model: &ModelProfile) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "plan: {} on {}   [{}]",
        plan.model, plan.host, plan.fingerprint
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "llama.cpp parameters");
    let _ = writeln!(s, "  n_gpu_layers      {}", plan.n_gpu_layers);
    if plan.cpu_overrides.is_empty() {
        let _ = writeln!(s, "  cpu overrides     none");
    }
    for o in &plan.cpu_overrides {
        let _ = writeln!(s, "  cpu override      {o}=CPU");
    }
    let _ = writeln!(
        s,
        "  n_ctx             {}   n_batch {}   n_ubatch {}   n_seq_max {}   max_parallel {}",
        plan.n_ctx, plan.n_batch, plan.n_ubatch, plan.n_seq_max, plan.max_parallel
    );
    let _ = writeln!(
        s,
        "  threads           {} / {} (batch)   flash_attn {}   cache {} / {}   kv_unified {}   mmap {}",
        plan.threads,
        plan.threads_batch,
        if plan.flash_attn { "on" } else { "off" },
        plan.type_k,
        plan.type_v,
        plan.kv_unified,
        plan.use_mmap
    );
    let _ = writeln!(s);

    // Placement: runs of layers with the same devices.
    let groups: Vec<TensorGroup> = [TensorGroup::Attn]
        .into_iter()
        .chain(TensorGroup::OVERRIDABLE)
        .filter(|g| model.layers.iter().any(|l| l.bytes(*g) > 0))
        .collect();
    let p = &plan.placement;
    let dev = |on: bool| if on { "GPU" } else { "CPU" };
    let sig = |i: u32| -> Vec<&'static str> {
        let mut v: Vec<&'static str> = groups.iter().map(|g| dev(p.group_on_gpu(*g, i))).collect();
        v.push(dev(p.layer_on_gpu(i)));
        v
    };
    let _ = write!(s, "placement\n  {:<10}", "layers");
    for g in &groups {
        let _ = write!(s, "{:>10}", g.label());
    }
    let _ = writeln!(s, "{:>8}{:>12}", "kv", "MiB");
    let n = model.layers.len() as u32;
    let mut start = 0u32;
    while start < n {
        let this = sig(start);
        let mut end = start;
        while end + 1 < n && sig(end + 1) == this {
            end += 1;
        }
        let bytes: u64 = (start..=end)
            .map(|i| model.layers[i as usize].total_bytes())
            .sum();
        let label = if start == end {
            format!("{start}")
        } else {
            format!("{start}-{end}")
        };
        let _ = write!(s, "  {label:<10}");
        for d in &this[..this.len() - 1] {
            let _ = write!(s, "{d:>10}");
        }
        let _ = writeln!(s, "{:>8}{:>12.0}", this[this.len() - 1], mib(bytes));
        start = end + 1;
    }
    let _ = writeln!(
        s,
        "  {:<10}{:>10}{:>12.0}",
        "output",
        dev(p.output_on_gpu),
        mib(model.output_bytes())
    );
    let _ = writeln!(
        s,
        "  {:<10}{:>10}{:>12.0}",
        "token_embd",
        "CPU",
        mib(model.input_bytes())
    );
    let _ = writeln!(s);

    let m = &plan.memory;
    let _ = writeln!(s, "memory (MiB)          GPU        RAM");
    let rows = [
        ("weights", m.gpu.weights, m.cpu.weights),
        ("kv cache", m.gpu.kv, m.cpu.kv),
        ("compute", m.gpu.compute, m.cpu.compute),
        ("output", m.gpu.output, m.cpu.output),
        ("overhead", m.gpu.overhead, m.cpu.overhead),
        ("total", m.gpu.total(), m.cpu.total()),
        ("budget", plan.budgets.gpu, plan.budgets.ram),
    ];
    for (name, g, c) in rows {
        let _ = writeln!(s, "  {name:<16}{:>8.0}{:>11.0}", mib(g), mib(c));
    }
    if plan.budgets.unified {
        let _ = writeln!(s, "  (unified memory: GPU + RAM must fit the RAM budget)");
    }
    let _ = writeln!(s);
    let sp = &plan.speed;
    let _ = writeln!(s, "predicted speed");
    let _ = writeln!(s, "  prefill           {:.0} tok/s", sp.prefill_tps);
    let _ = writeln!(
        s,
        "  decode            {:.1} tok/s (one stream)",
        sp.decode_tps
    );
    let _ = writeln!(
        s,
        "  decode            {:.1} tok/s per stream, {:.1} total ({} streams)",
        sp.decode_tps_per_stream, sp.decode_tps_total, sp.parallel
    );
    let _ = writeln!(s, "  request           {:.1} s", sp.request_seconds);
    let _ = writeln!(s);
    let _ = writeln!(s, "why");
    for line in &plan.explanation {
        let _ = writeln!(s, "  - {line}");
    }
    s
}
