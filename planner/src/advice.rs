//! What would fit when nothing does: the advice in [`PlanError::Infeasible`].
//!
//! Each suggestion is checked by planning again with the change (a smaller context found by bisection, a q8_0
//! KV cache, one request at a time); a smaller quantization is given as the largest bits/weight that would fit.

use crate::error::PlanError;
use crate::ggml::KvType;
use crate::memory;
use crate::plan::{FlashAttn, Placement, PlanRequest};
use crate::search::{Env, contexts, validate};

/// The error for a request nothing satisfies, with what would fit.
pub(crate) fn infeasible(req: &PlanRequest) -> PlanError {
    let w = &req.workload;
    let gpu_backend = req.options.use_gpu && req.host.gpu.is_some();
    let env = Env::new(req, gpu_backend);
    // The smallest configuration asked for: fewest streams, most compact allowed KV, smallest micro-batch.
    let smallest = contexts(req, w.parallel_min)
        .into_iter()
        .min_by_key(|c| (c.type_k.row_bytes(256), c.n_ubatch));
    let Some(ctx) = smallest else {
        return PlanError::Infeasible {
            reason: "no context configuration is allowed by the options".into(),
            suggestions: vec!["allow flash attention or an f16 KV cache".into()],
        };
    };
    let placement = Placement::cpu_only(req.model.hparams.n_layer);
    let mem = memory::predict(&req.model, &ctx, &placement, &env.mem_env);
    let total = mem.cpu.total();
    let pool = env.budgets.ram
        + if env.budgets.unified {
            0
        } else {
            env.budgets.gpu
        };
    let reason = format!(
        "{} needs about {} MiB (weights {} MiB, KV {} MiB for {} tokens, compute {} MiB, overhead {} MiB) \
         but {} MiB of RAM{} are available after margins",
        req.model.name,
        total >> 20,
        mem.cpu.weights >> 20,
        mem.cpu.kv >> 20,
        ctx.n_ctx,
        mem.cpu.compute >> 20,
        (mem.cpu.overhead + mem.cpu.output) >> 20,
        env.budgets.ram >> 20,
        if env.budgets.gpu > 0 && !env.budgets.unified {
            format!(" + {} MiB of GPU memory", env.budgets.gpu >> 20)
        } else {
            String::new()
        }
    );
    let mut suggestions = Vec::new();
    let fits = |r: &PlanRequest| plan_quiet(r);
    // 1. a smaller context
    if req.options.n_ctx.is_none() {
        let (mut lo, mut hi) = (0u32, w.ctx_per_request);
        while hi - lo > 64 {
            let mid = (lo + hi) / 2;
            let mut r = req.clone();
            r.workload.ctx_per_request = mid;
            r.workload.parallel_max = r.workload.parallel_min;
            if fits(&r) { lo = mid } else { hi = mid }
        }
        if lo >= 256 {
            suggestions.push(format!(
                "ctx_per_request {} instead of {} (with {} parallel)",
                lo / 256 * 256,
                w.ctx_per_request,
                w.parallel_min
            ));
        }
    }
    // 2. a q8_0 KV cache
    if !req.options.kv_types.contains(&KvType::Q8_0) {
        let mut r = req.clone();
        r.options.kv_types = vec![KvType::Q8_0];
        r.options.flash_attn = FlashAttn::On;
        if fits(&r) {
            suggestions.push("a q8_0 KV cache (needs flash attention)".into());
        }
    }
    // 3. fewer parallel requests
    if w.parallel_min > 1 {
        let mut r = req.clone();
        r.workload.parallel_min = 1;
        r.workload.parallel_max = 1;
        if fits(&r) {
            suggestions.push("parallel_min 1".into());
        }
    }
    // 4. a smaller quantization: weights must shrink by what is missing
    let missing = total.saturating_sub(pool);
    let weights = req.model.weight_bytes();
    if missing > 0 && weights > missing {
        let params: u64 = req
            .model
            .tensors
            .iter()
            .filter(|t| !t.duplicate)
            .map(|t| t.n_elements())
            .sum();
        let max_bpw = (weights - missing) as f64 * 8.0 / params.max(1) as f64;
        let quant = [
            ("Q8_0", 8.5),
            ("Q6_K", 6.6),
            ("Q5_K_M", 5.7),
            ("Q4_K_M", 4.9),
            ("Q3_K_M", 3.9),
            ("Q2_K", 3.4),
            ("IQ2_XS", 2.4),
        ]
        .into_iter()
        .find(|(_, bpw)| *bpw <= max_bpw);
        match quant {
            Some((name, bpw)) => suggestions.push(format!(
                "a smaller quantization: ≤ {max_bpw:.1} bits/weight, e.g. {name} (~{} MiB of weights)",
                (params as f64 * bpw / 8.0) as u64 >> 20
            )),
            None => suggestions.push(format!(
                "a smaller model: even 2.4 bits/weight leaves the weights above {} MiB",
                (weights - missing) >> 20
            )),
        }
    } else if missing > 0 {
        suggestions.push("a smaller model".into());
    }
    PlanError::Infeasible {
        reason,
        suggestions,
    }
}

/// Whether a request has any plan (used by the infeasibility advice; never recurses into advice).
fn plan_quiet(req: &PlanRequest) -> bool {
    if validate(req).is_err() {
        return false;
    }
    let want_gpu = req.options.use_gpu && req.host.gpu.is_some();
    let modes: &[bool] = if want_gpu { &[true, false] } else { &[false] };
    for &gpu in modes {
        let env = Env::new(req, gpu);
        for parallel in (req.workload.parallel_min..=req.workload.parallel_max).rev() {
            for ctx in contexts(req, parallel) {
                if matches!(env.place(&ctx, parallel), Ok(Some(_))) {
                    return true;
                }
            }
        }
    }
    false
}
