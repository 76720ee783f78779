//! `plan()`: engine settings by scoring candidates, placement by the ILP, explanation, infeasibility advice.
//!
//! Candidates are scored with the same cost model the ILP optimises. Parallelism comes first (the largest
//! `max_parallel` in the requested range that fits, and meets the per-stream speed target if one is set); for
//! that parallelism every (KV type, micro-batch) pair is placed and the fastest predicted request wins, a
//! quantized KV cache paying a small quality penalty so it is chosen only when it buys memory or speed.

use crate::cost::{self, Rates, Speed};
use crate::error::{PlanError, Result};
use crate::ggml::KvType;
use crate::host::{HostProfile, MIB};
use crate::ilp::{self, IlpInput};
use crate::memory::{self, MemoryBreakdown, MemoryEnv, weights::CpuLayouts};
use crate::model::TensorGroup;
use crate::patterns;
use crate::plan::{
    Budgets, ContextSettings, FlashAttn, PLANNER_VERSION, Placement, Plan, PlanOptions, PlanRequest,
};

/// Budgets for a host under the options' margins.
pub fn budgets(host: &HostProfile, options: &PlanOptions, gpu_backend: bool) -> Budgets {
    let ram = (host
        .memory
        .available_mib
        .saturating_sub(options.ram_margin_mib))
        * MIB;
    let gpu = match (&host.gpu, gpu_backend) {
        (Some(g), true) if !host.unified_memory => {
            g.free_mib.saturating_sub(options.vram_margin_mib) * MIB
        }
        (Some(_), true) => ram,
        _ => 0,
    };
    Budgets {
        gpu,
        ram,
        unified: host.unified_memory && gpu_backend,
    }
}

/// `Err((which, needed, available))` when a breakdown exceeds a budget.
pub fn check_budgets(
    m: &MemoryBreakdown,
    b: &Budgets,
) -> std::result::Result<(), (&'static str, u64, u64)> {
    if b.unified {
        let total = m.cpu.total() + m.gpu.total();
        if total > b.ram {
            return Err(("RAM (shared with the GPU)", total, b.ram));
        }
        return Ok(());
    }
    if m.gpu.total() > b.gpu {
        return Err(("GPU memory", m.gpu.total(), b.gpu));
    }
    if m.cpu.total() > b.ram {
        return Err(("RAM", m.cpu.total(), b.ram));
    }
    Ok(())
}

/// Quality penalty of a KV type, as a fraction of request time (f16 is the reference).
fn kv_penalty(t: KvType) -> f64 {
    match t {
        KvType::F32 | KvType::F16 | KvType::Bf16 => 0.0,
        KvType::Q8_0 => 0.03,
        KvType::Q5_0 | KvType::Q5_1 => 0.08,
        _ => 0.15,
    }
}

pub(crate) struct Candidate {
    ctx: ContextSettings,
    placement: Placement,
    memory: MemoryBreakdown,
    speed: Speed,
    score: f64,
    gpu_backend: bool,
}

pub(crate) struct Env<'a> {
    req: &'a PlanRequest,
    gpu_backend: bool,
    pub(crate) budgets: Budgets,
    pub(crate) mem_env: MemoryEnv,
    rates: Rates,
}

impl<'a> Env<'a> {
    pub(crate) fn new(req: &'a PlanRequest, gpu_backend: bool) -> Self {
        let o = &req.options;
        let gpu_overhead = req
            .host
            .gpu
            .as_ref()
            .map_or(0, |g| g.backend_overhead_mib * MIB);
        Self {
            req,
            gpu_backend,
            budgets: budgets(&req.host, o, gpu_backend),
            mem_env: MemoryEnv {
                layouts: CpuLayouts::for_host(req.host.cpu.features, gpu_backend, o.use_mmap),
                host_overhead: o.host_overhead_mib * MIB,
                gpu_overhead: if gpu_backend { gpu_overhead } else { 0 },
                op_offload: o.op_offload,
            },
            rates: Rates::for_host(&req.host, gpu_backend, o.op_offload),
        }
    }

    /// Places one context configuration; None when nothing fits.
    pub(crate) fn place(&self, ctx: &ContextSettings, parallel: u32) -> Result<Option<Candidate>> {
        let model = &self.req.model;
        let w = &self.req.workload;
        let table = cost::cost_table(model, ctx, &self.rates, w);
        let placement = if self.gpu_backend {
            let input = IlpInput {
                model,
                ctx,
                env: &self.mem_env,
                costs: &table,
                budgets: self.budgets,
                overrides: self.req.options.cpu_overrides,
            };
            match ilp::solve(&input)? {
                Some(p) => p,
                None => return Ok(None),
            }
        } else {
            Placement::cpu_only(model.hparams.n_layer)
        };
        let memory = memory::predict(model, ctx, &placement, &self.mem_env);
        if check_budgets(&memory, &self.budgets).is_err() {
            return Ok(None);
        }
        let speed = cost::speed(model, ctx, &self.rates, w, &placement, parallel);
        let score =
            speed.request_seconds * (1.0 + kv_penalty(ctx.type_k).max(kv_penalty(ctx.type_v)));
        Ok(Some(Candidate {
            ctx: ctx.clone(),
            placement,
            memory,
            speed,
            score,
            gpu_backend: self.gpu_backend,
        }))
    }
}

/// Faster wins; within 0.5 % the one needing less memory wins (headroom is worth more than noise).
fn better(c: &Candidate, b: &Candidate) -> bool {
    let total = |x: &Candidate| x.memory.cpu.total() + x.memory.gpu.total();
    if c.score < b.score * 0.995 {
        return true;
    }
    c.score <= b.score * 1.005 && total(c) < total(b)
}

/// Total context for `parallel` streams.
pub(crate) fn n_ctx_for(req: &PlanRequest, parallel: u32) -> u32 {
    let w = &req.workload;
    req.options.n_ctx.unwrap_or_else(|| {
        w.template_seqs
            .saturating_mul(w.template_tokens)
            .saturating_add(parallel.saturating_mul(w.ctx_per_request))
    })
}

pub(crate) fn contexts(req: &PlanRequest, parallel: u32) -> Vec<ContextSettings> {
    let o = &req.options;
    let n_ctx = n_ctx_for(req, parallel);
    let fa = o.flash_attn != FlashAttn::Off;
    let ubatches: Vec<u32> = match o.n_ubatch {
        Some(u) => vec![u],
        None => vec![512, 256, 128],
    };
    let mut out = Vec::new();
    for &kv in &o.kv_types {
        // llama.cpp refuses a quantized V cache without flash attention
        if kv.is_quantized() && !fa {
            continue;
        }
        for &ub in &ubatches {
            if ub > n_ctx.max(1) && ub != ubatches[0] {
                continue;
            }
            out.push(ContextSettings {
                n_ctx,
                n_batch: o.n_batch.unwrap_or(ub.max(512)),
                n_ubatch: ub,
                n_seq_max: req.workload.template_seqs + parallel,
                flash_attn: fa,
                type_k: kv,
                type_v: kv,
                kv_unified: true,
                swa_full: o.swa_full,
                n_outputs_max: o.n_outputs_max,
            });
        }
    }
    out
}

pub(crate) fn validate(req: &PlanRequest) -> Result<()> {
    req.host.validate()?;
    let w = &req.workload;
    let bad = |s: &str| Err(PlanError::InvalidRequest(s.to_owned()));
    if w.parallel_min == 0 || w.parallel_min > w.parallel_max {
        return bad("need 1 ≤ parallel_min ≤ parallel_max");
    }
    if w.ctx_per_request == 0 && req.options.n_ctx.is_none() {
        return bad("ctx_per_request is 0");
    }
    if req.options.kv_types.is_empty() {
        return bad("no KV type allowed");
    }
    if let (Some(b), Some(u)) = (req.options.n_batch, req.options.n_ubatch) {
        if u > b {
            return bad("n_ubatch > n_batch");
        }
    }
    if req.model.layers.is_empty() {
        return bad("model has no layers");
    }
    Ok(())
}

/// Plans a deployment: see the crate docs.
pub fn plan(req: &PlanRequest) -> Result<Plan> {
    validate(req)?;
    let want_gpu = req.options.use_gpu && req.host.gpu.is_some();
    let mut modes = vec![want_gpu];
    if want_gpu {
        modes.push(false); // a GPU too small for even its own overhead: plan without it
    }
    let w = &req.workload;
    let mut notes = Vec::new();
    for &gpu_backend in &modes {
        let env = Env::new(req, gpu_backend);
        for parallel in (w.parallel_min..=w.parallel_max).rev() {
            let mut best: Option<Candidate> = None;
            for ctx in contexts(req, parallel) {
                let Some(c) = env.place(&ctx, parallel)? else {
                    continue;
                };
                if let Some(target) = w.min_decode_tps {
                    if c.speed.decode_tps_per_stream < f64::from(target) {
                        notes.push(format!(
                            "{parallel} parallel: {:.1} tok/s per stream < target {target}",
                            c.speed.decode_tps_per_stream
                        ));
                        continue;
                    }
                }
                if best.as_ref().is_none_or(|b| better(&c, b)) {
                    best = Some(c);
                }
            }
            if let Some(c) = best {
                if parallel < w.parallel_max {
                    notes.push(format!(
                        "max_parallel {parallel}: {} parallel requests do not fit (context {} tokens)",
                        parallel + 1,
                        n_ctx_for(req, parallel + 1)
                    ));
                }
                if want_gpu && !gpu_backend {
                    notes.push("the GPU cannot hold even its backend overhead and one micro-batch: planned CPU-only".into());
                }
                return Ok(finish(req, &env, c, parallel, notes));
            }
        }
    }
    Err(crate::advice::infeasible(req))
}

fn finish(
    req: &PlanRequest,
    env: &Env<'_>,
    c: Candidate,
    parallel: u32,
    notes: Vec<String>,
) -> Plan {
    let model = &req.model;
    let p = &c.placement;
    let mut overrides = Vec::new();
    for g in TensorGroup::OVERRIDABLE {
        let (from, to) = p.cpu_range(g);
        if let Some(rx) = patterns::cpu_override(g, from, to) {
            overrides.push(rx);
        }
    }
    let threads = req.host.cpu.physical_cores.max(1);
    let explanation = crate::explain::explain(
        req,
        env.budgets,
        &c.ctx,
        p,
        &c.memory,
        &c.speed,
        &overrides,
        notes,
    );
    let _ = env.rates;
    Plan {
        planner_version: PLANNER_VERSION.to_owned(),
        fingerprint: req.fingerprint(),
        host: req.host.name.clone(),
        model: model.name.clone(),
        model_identity: model.identity.clone(),
        n_gpu_layers: p.n_gpu_layers(),
        cpu_overrides: overrides,
        placement: p.clone(),
        n_ctx: c.ctx.n_ctx,
        n_batch: c.ctx.n_batch,
        n_ubatch: c.ctx.n_ubatch,
        n_seq_max: c.ctx.n_seq_max,
        max_parallel: parallel,
        threads,
        threads_batch: threads,
        flash_attn: c.ctx.flash_attn,
        type_k: c.ctx.type_k,
        type_v: c.ctx.type_v,
        kv_unified: c.ctx.kv_unified,
        swa_full: c.ctx.swa_full,
        n_outputs_max: c.ctx.n_outputs_max,
        use_mmap: req.options.use_mmap,
        op_offload: req.options.op_offload,
        gpu_backend: c.gpu_backend,
        memory: c.memory,
        budgets: env.budgets,
        speed: c.speed,
        explanation,
    }
}
