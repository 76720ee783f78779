//! Deployment-mode decision: run specialty adapters on one base model, or merged per-specialty models?
//!
//! `D(m) = α·Perf(m,R) + β·Fit(m,C) − γ·Cost(m,R)` for `m ∈ {adapter, merged}`, with resources `R` from the
//! plan (speed, memory left over) and clinical needs `C` from configuration (number of specialty adapters, how
//! often consecutive requests change category, the latency target). Each term is in `[0, 1]`:
//!
//! - **Perf** = `min(1, target / expected latency)`. Adapter mode pays the LoRA products on every token
//!   (`lora_overhead`) and loses batching when neighbouring requests need different adapters (llama.cpp applies
//!   adapters to the whole context). Merged mode runs at base speed but, when not every merged model fits in
//!   memory at once, a category change reloads weights from disk.
//! - **Fit** = share of the specialties that can be served without a reload: 1 for adapters that fit beside the
//!   base model; `resident / N` for merged models.
//! - **Cost** = share of the memory budget the mode occupies (merged: up to N full weight copies).
//!
//! With no adapters both modes are the base model and adapter mode wins ties (it needs no extra files).

use crate::host::MIB;
use crate::plan::Plan;
use serde::{Deserialize, Serialize};

/// The two deployment modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One base model, LoRA adapters switched per request.
    Adapter,
    /// One merged model per specialty.
    Merged,
}

/// Clinical needs and weights, from the daemon's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModeConfig {
    /// Specialty adapters (0: base model only).
    pub adapters: u32,
    /// Fraction of consecutive requests whose category (adapter) differs, 0–1.
    pub switch_rate: f64,
    /// Target seconds per request.
    pub latency_target_s: f64,
    /// Size of one adapter, MiB.
    pub adapter_mib: u64,
    /// Extra decode time of an applied LoRA adapter (0.08 = 8 %).
    pub lora_overhead: f64,
    /// Disk read speed for reloading a merged model, GB/s.
    pub load_gbps: f64,
    /// α: weight of performance.
    pub alpha: f64,
    /// β: weight of fit to clinical needs.
    pub beta: f64,
    /// γ: weight of resource cost.
    pub gamma: f64,
}

impl Default for ModeConfig {
    fn default() -> Self {
        Self {
            adapters: 0,
            switch_rate: 0.5,
            latency_target_s: 20.0,
            adapter_mib: 40,
            lora_overhead: 0.08,
            load_gbps: 1.0,
            alpha: 1.0,
            beta: 1.0,
            gamma: 0.5,
        }
    }
}

/// The terms of one mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModeScore {
    /// The mode.
    pub mode: Mode,
    /// Perf(m, R) ∈ [0, 1].
    pub perf: f64,
    /// Fit(m, C) ∈ [0, 1].
    pub fit: f64,
    /// Cost(m, R) ∈ [0, 1].
    pub cost: f64,
    /// α·Perf + β·Fit − γ·Cost.
    pub d: f64,
    /// Expected seconds per request in this mode.
    pub latency_s: f64,
    /// How each term came about.
    pub why: Vec<String>,
}

/// The decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModeDecision {
    /// The mode with the larger D.
    pub chosen: Mode,
    /// Both modes' terms (adapter first).
    pub scores: Vec<ModeScore>,
    /// Human explanation (what `medctl mode --explain` prints).
    pub explanation: Vec<String>,
}

/// Decides the deployment mode for a plan and configuration.
pub fn decide_mode(plan: &Plan, cfg: &ModeConfig) -> ModeDecision {
    let n = cfg.adapters;
    let base_latency = plan.speed.request_seconds.max(1e-6);
    let target = cfg.latency_target_s.max(1e-6);
    let s = cfg.switch_rate.clamp(0.0, 1.0);
    let weights = plan.memory.gpu.weights + plan.memory.cpu.weights;
    let budget = if plan.budgets.unified {
        plan.budgets.ram
    } else {
        plan.budgets.gpu + plan.budgets.ram
    };
    let used = plan.memory.gpu.total() + plan.memory.cpu.total();
    let headroom = budget.saturating_sub(used);
    let perf = |latency: f64| (target / latency).min(1.0);

    // Adapter mode
    let adapters_bytes = u64::from(n) * cfg.adapter_mib * MIB;
    let adapters_fit = adapters_bytes <= headroom;
    let p = f64::from(plan.max_parallel.max(1));
    // llama.cpp batches only requests with the same adapter set: with switch rate s the expected batch
    // shrinks, each stream then gets less of the shared weight reads.
    let batching_loss = if n > 1 { s * (p - 1.0) / p * 0.5 } else { 0.0 };
    let lora = if n > 0 { cfg.lora_overhead } else { 0.0 };
    let a_latency = base_latency * (1.0 + lora) * (1.0 + batching_loss);
    let a_fit = if adapters_fit { 1.0 } else { 0.0 };
    let a_cost = ((used + adapters_bytes) as f64 / budget.max(1) as f64).min(1.0);
    let adapter = score(
        Mode::Adapter,
        perf(a_latency),
        a_fit,
        a_cost,
        a_latency,
        cfg,
        vec![
            format!(
                "latency {a_latency:.1} s = base {base_latency:.1} s × (1 + LoRA {:.0} %) × (1 + batching loss {:.0} %)",
                lora * 100.0,
                batching_loss * 100.0
            ),
            format!(
                "{n} adapters × {} MiB {} the {} MiB left after the plan",
                cfg.adapter_mib,
                if adapters_fit {
                    "fit in"
                } else {
                    "do not fit in"
                },
                headroom >> 20
            ),
        ],
    );

    // Merged mode: every specialty is a full copy of the weights.
    let copies = n.max(1);
    let extra_copy_bytes = weights;
    let resident = (1 + headroom / extra_copy_bytes.max(1)).min(u64::from(copies)) as u32;
    let resident_share = f64::from(resident) / f64::from(copies);
    let reload_s = weights as f64 / (cfg.load_gbps.max(0.01) * 1e9);
    let miss = if copies > 1 {
        s * (1.0 - resident_share)
    } else {
        0.0
    };
    let m_latency = base_latency + miss * reload_s;
    let m_cost = ((used + u64::from(resident.saturating_sub(1)) * extra_copy_bytes) as f64
        / budget.max(1) as f64)
        .min(1.0);
    let merged = score(
        Mode::Merged,
        perf(m_latency),
        resident_share,
        m_cost,
        m_latency,
        cfg,
        vec![
            format!(
                "{resident} of {copies} merged models fit at once; a category change misses with p = {miss:.2} and \
             reloads {} MiB in {reload_s:.1} s",
                weights >> 20
            ),
            format!("latency {m_latency:.1} s (base {base_latency:.1} s, no LoRA overhead)"),
        ],
    );

    let chosen = if merged.d > adapter.d + 1e-9 {
        Mode::Merged
    } else {
        Mode::Adapter
    };
    let mut explanation = vec![format!(
        "D(m) = α·Perf + β·Fit − γ·Cost with α={}, β={}, γ={}; target {:.1} s/request, {} adapters, switch rate {:.2}",
        cfg.alpha, cfg.beta, cfg.gamma, target, n, s
    )];
    for sc in [&adapter, &merged] {
        explanation.push(format!(
            "{:?}: Perf {:.3}, Fit {:.3}, Cost {:.3} → D = {:.3}",
            sc.mode, sc.perf, sc.fit, sc.cost, sc.d
        ));
        explanation.extend(sc.why.iter().map(|w| format!("  {w}")));
    }
    explanation.push(format!("chosen: {chosen:?}"));
    ModeDecision {
        chosen,
        scores: vec![adapter, merged],
        explanation,
    }
}

fn score(
    mode: Mode,
    perf: f64,
    fit: f64,
    cost: f64,
    latency_s: f64,
    cfg: &ModeConfig,
    why: Vec<String>,
) -> ModeScore {
    ModeScore {
        mode,
        perf,
        fit,
        cost,
        d: cfg.alpha * perf + cfg.beta * fit - cfg.gamma * cost,
        latency_s,
        why,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::synthetic::SyntheticSpec;
    use crate::{HostProfile, PlanRequest, plan};

    fn plan_for(host: &str, spec: SyntheticSpec) -> Plan {
        let path = format!(
            "{}/../configs/hosts/{host}.toml",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut req = PlanRequest::new(HostProfile::load(path).unwrap(), spec.build());
        req.workload.parallel_max = 2;
        plan(&req).unwrap()
    }

    fn small_model() -> SyntheticSpec {
        SyntheticSpec {
            n_layer: 16,
            n_embd: 2048,
            n_head: 16,
            n_head_kv: 4,
            n_ff: 5632,
            n_vocab: 32000,
            ..SyntheticSpec::qwen2_7b_q4_k_m()
        }
    }

    #[test]
    fn terms_combine_as_documented() {
        let p = plan_for("rtx3060-8gb", small_model());
        let cfg = ModeConfig {
            adapters: 3,
            alpha: 0.7,
            beta: 1.3,
            gamma: 0.4,
            ..ModeConfig::default()
        };
        let d = decide_mode(&p, &cfg);
        for s in &d.scores {
            assert!(
                (0.0..=1.0).contains(&s.perf)
                    && (0.0..=1.0).contains(&s.fit)
                    && (0.0..=1.0).contains(&s.cost)
            );
            assert!((s.d - (0.7 * s.perf + 1.3 * s.fit - 0.4 * s.cost)).abs() < 1e-12);
        }
        let best = d.scores.iter().max_by(|a, b| a.d.total_cmp(&b.d)).unwrap();
        assert_eq!(best.mode, d.chosen);
        assert!(
            d.explanation
                .iter()
                .any(|l| l.contains("Perf") && l.contains("Fit") && l.contains("Cost"))
        );
    }

    #[test]
    fn no_adapters_means_the_base_model_in_adapter_mode() {
        let p = plan_for("rtx3060-8gb", small_model());
        let d = decide_mode(&p, &ModeConfig::default());
        assert_eq!(d.chosen, Mode::Adapter);
        assert_eq!(d.scores[0].latency_s, d.scores[1].latency_s);
    }

    #[test]
    fn tight_memory_and_frequent_switches_favour_adapters() {
        // 7B on a 4 GB GPU: no room for a second merged copy, every category change would reload 4 GB
        let p = plan_for("gtx1650-4gb", SyntheticSpec::qwen2_7b_q4_k_m());
        let cfg = ModeConfig {
            adapters: 5,
            switch_rate: 0.8,
            latency_target_s: 10.0,
            ..ModeConfig::default()
        };
        let d = decide_mode(&p, &cfg);
        assert_eq!(d.chosen, Mode::Adapter, "{:#?}", d.explanation);
        assert!(d.scores[1].fit < 1.0);
    }

    #[test]
    fn roomy_memory_favours_merged_models() {
        // a small model on a 16 GB GPU: all merged copies fit, no LoRA overhead, no batching loss
        let p = plan_for("rtx4060ti-16gb", small_model());
        let cfg = ModeConfig {
            adapters: 3,
            switch_rate: 0.9,
            latency_target_s: p.speed.request_seconds * 1.02,
            lora_overhead: 0.15,
            gamma: 0.1,
            ..ModeConfig::default()
        };
        let d = decide_mode(&p, &cfg);
        assert_eq!(d.scores[1].fit, 1.0, "{:#?}", d.explanation);
        assert_eq!(d.chosen, Mode::Merged, "{:#?}", d.explanation);
    }
}
