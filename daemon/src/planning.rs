//! Start-up planning: turn (this host, the model file, the config) into engine settings.
//!
//! Owns the daemon's side of the planner: probing (or loading a recorded) host profile, reading
//! the model's header, reusing the saved plan when nothing changed (same fingerprint and it still
//! fits the memory free now), applying the plan to the engine settings the config left open, and
//! the periodic re-check that turns the service `degraded` when another program takes the memory
//! the plan relied on. The planner itself is pure (`medllm-planner`); this module does the I/O.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use medllm_planner::{
    FlashAttn, HostProfile, KvType as PlanKv, ModelProfile, Plan, PlanOptions, PlanRequest,
    Workload,
};

use crate::config::Config;
use crate::engine::{EngineConfig, FlashAttention, KvType};

/// The plan in use and how it was obtained.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// The request it answers (kept for re-checks and `medctl plan`).
    pub request: PlanRequest,
    /// `planned` or `reused` (from the state directory).
    pub origin: &'static str,
}

/// Number of category templates the engine keeps (one per category).
const TEMPLATE_SEQS: u32 = 5;

/// The plan request for this daemon: host (probed or recorded), model header, workload.
pub fn request(config: &Config) -> Result<PlanRequest> {
    let host = match &config.planner.host_profile {
        Some(p) => HostProfile::load(p)
            .with_context(|| format!("cannot load the host profile {}", p.display()))?,
        None => {
            let mut host = medllm_planner::probe();
            if config.planner.calibrate {
                let cache = config.state_dir.join("calibration.json");
                let opts = medllm_planner::CalibrationOptions::default();
                if let Err(e) = medllm_planner::calibrate(&mut host, &cache, &opts) {
                    tracing::warn!(error = %e, "CPU bandwidth calibration failed; using estimates");
                }
            }
            host
        }
    };
    let model = ModelProfile::from_gguf_path(&config.model_path).with_context(|| {
        format!(
            "cannot read the model header of {}",
            config.model_path.display()
        )
    })?;
    let limits = &config.limits;
    let workload = Workload {
        ctx_per_request: config.planner.ctx_per_request,
        prompt_tokens: config.planner.expected_prompt_tokens,
        answer_tokens: config.planner.expected_answer_tokens,
        template_seqs: TEMPLATE_SEQS,
        parallel_min: 1,
        parallel_max: limits.max_parallel as u32,
        ..Workload::default()
    };
    let e = &config.engine;
    let mut options = PlanOptions {
        n_ctx: e.n_ctx,
        n_batch: e.n_batch,
        n_ubatch: e.n_ubatch,
        use_gpu: cfg!(feature = "cuda"),
        swa_full: e.swa_full.unwrap_or(false),
        ..PlanOptions::default()
    };
    if let Some(kv) = e.kv_type {
        options.kv_types = vec![plan_kv(kv)];
    }
    if let Some(fa) = e.flash_attention {
        options.flash_attn = match fa {
            FlashAttention::On => FlashAttn::On,
            FlashAttention::Off => FlashAttn::Off,
            FlashAttention::Auto => options.flash_attn,
        };
    }
    if let Some(m) = config.planner.vram_margin_mib {
        options.vram_margin_mib = m;
    }
    if let Some(m) = config.planner.ram_margin_mib {
        options.ram_margin_mib = m;
    }
    Ok(PlanRequest {
        host,
        model,
        workload,
        options,
    })
}

/// Plan, or reuse the saved plan when the request is unchanged and it still fits.
pub fn plan_or_reuse(config: &Config, req: PlanRequest) -> Result<Planned> {
    let saved = saved_plan_path(&config.state_dir);
    let fingerprint = req.fingerprint();
    if let Ok(text) = std::fs::read_to_string(&saved) {
        match Plan::from_json(&text) {
            Ok(plan) if plan.fingerprint == fingerprint => match plan.fits(&req.host, &req.options)
            {
                Ok(()) => {
                    return Ok(Planned {
                        plan,
                        request: req,
                        origin: "reused",
                    });
                }
                Err(e) => tracing::info!(reason = %e, "saved plan no longer fits; planning again"),
            },
            Ok(_) => tracing::info!("host, model or settings changed; planning again"),
            Err(e) => tracing::warn!(error = %e, "saved plan unreadable; planning again"),
        }
    }
    let plan = medllm_planner::plan(&req).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Err(e) = save(&saved, &plan) {
        tracing::warn!(error = %e, path = %saved.display(), "cannot save the plan");
    }
    Ok(Planned {
        plan,
        request: req,
        origin: "planned",
    })
}

fn saved_plan_path(state_dir: &Path) -> PathBuf {
    state_dir.join("plan.json")
}

fn save(path: &Path, plan: &Plan) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, plan.to_json())?;
    std::fs::rename(tmp, path)
}

/// Fill the engine settings the config left open from the plan. Explicit `[engine]` keys win.
pub fn apply(plan: &Plan, config: &Config, e: &mut EngineConfig) {
    let s = &config.engine;
    if s.n_ctx.is_none() {
        e.n_ctx = plan.n_ctx;
    }
    if s.n_batch.is_none() {
        e.n_batch = plan.n_batch;
    }
    if s.n_ubatch.is_none() {
        e.n_ubatch = plan.n_ubatch.min(e.n_batch);
    }
    if s.threads.is_none() {
        e.threads = plan.threads;
    }
    if s.threads_batch.is_none() {
        e.threads_batch = plan.threads_batch;
    }
    if s.n_gpu_layers.is_none() {
        e.n_gpu_layers = plan.n_gpu_layers;
    }
    if s.cpu_overrides.is_empty() {
        e.cpu_overrides = plan.cpu_overrides.clone();
    }
    if s.flash_attention.is_none() {
        e.flash_attention = if plan.flash_attn {
            FlashAttention::On
        } else {
            FlashAttention::Off
        };
    }
    if s.kv_type.is_none() {
        e.kv_type = engine_kv(plan.type_k);
    }
    if s.swa_full.is_none() {
        e.swa_full = plan.swa_full;
    }
    e.core.max_parallel = e.core.max_parallel.min(plan.max_parallel.max(1) as usize);
}

fn plan_kv(k: KvType) -> PlanKv {
    match k {
        KvType::F16 => PlanKv::F16,
        KvType::Q8_0 => PlanKv::Q8_0,
        KvType::Q4_0 => PlanKv::Q4_0,
    }
}

fn engine_kv(k: PlanKv) -> KvType {
    match k {
        PlanKv::Q8_0 => KvType::Q8_0,
        PlanKv::Q4_0 => KvType::Q4_0,
        _ => KvType::F16,
    }
}

/// One line for logs and `medctl status`.
pub fn summary(p: &Planned) -> String {
    let plan = &p.plan;
    format!(
        "{} for {}: {} of {} layers on GPU, n_ctx {}, {} parallel, kv {:?}, flash attention {}, \
         predicted {:.0} tok/s decode",
        p.origin,
        plan.host,
        plan.n_gpu_layers,
        p.request.model.hparams.n_layer,
        plan.n_ctx,
        plan.max_parallel,
        plan.type_k,
        if plan.flash_attn { "on" } else { "off" },
        plan.speed.decode_tps,
    )
}
