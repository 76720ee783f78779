//! What a reload will run, decided before anything stops: the config to use, the plan (made for
//! the machine as if our running engine were not there), whether the new engine fits *beside*
//! the old one, and which changed settings only a restart applies.
//!
//! Blocking work (host probe, GGUF header, ILP) runs on the blocking pool; nothing here touches
//! the service or the engine.

use std::path::Path;

use medllm_planner::{Plan, PlanRequest};

use super::{Mode, ReloadError, Running};
use crate::app;
use crate::config::{Config, ConfigPath};
use crate::engine::EngineConfig;
use crate::planning::{self, Planned};

/// RAM a new engine needs beyond its model file when no plan says better (KV, compute buffers).
const UNPLANNED_OVERHEAD_MIB: u64 = 512;

/// The outcome of preparing.
#[derive(Debug)]
pub(super) struct Prepared {
    pub config: Config,
    pub engine: EngineConfig,
    pub planned: Option<Planned>,
    /// The new engine fits in the memory free *now*, beside the running one.
    pub fits_beside: bool,
    pub restart_required: Vec<String>,
    /// The deployment mode the new engine runs (`deploy::resolve`).
    pub deployment: crate::deploy::Deployment,
}

/// Read the config again (for a reload) or keep the running one.
pub(super) fn config(running: &Running, reread: bool) -> Result<Config, ReloadError> {
    if !reread {
        return Ok(running.config.clone());
    }
    let path = match &running.config.source {
        Some(p) => ConfigPath::Explicit(p.clone()),
        None => ConfigPath::Default,
    };
    Config::load(&path, &running.config.overrides).map_err(|e| ReloadError::Config(e.to_string()))
}

/// Plan, build the engine config and decide the strategy (blocking).
pub(super) fn prepare(
    config: Config,
    running: &Running,
    system_prompts: Vec<String>,
    pinned: Option<Mode>,
    fresh_plan: bool,
) -> Result<Prepared, ReloadError> {
    if let Some(m) = pinned {
        m.check_available(&config.mode)?;
    }
    let restart_required = restart_required(&running.config, &config);
    let (planned, fits_beside) = if config.planner.enabled {
        let req = planning::request(&config).map_err(|e| ReloadError::Failed(format!("{e:#}")))?;
        let probed = req.host.clone();
        let req = as_if_not_running(req, running);
        let planned = if fresh_plan {
            plan_and_save(&config, req)?
        } else {
            planning::plan_or_reuse(&config, req)
                .map_err(|e| ReloadError::Failed(format!("{e:#}")))?
        };
        let beside = planned.plan.fits(&probed, &planned.request.options).is_ok();
        (Some(planned), beside)
    } else {
        (None, fits_without_plan(&config))
    };
    let mut engine = app::engine_config(&config, system_prompts);
    if let Some(p) = &planned {
        planning::apply(&p.plan, &config, &mut engine);
    }
    let deployment =
        crate::deploy::resolve(&config.mode, planned.as_ref().map(|p| &p.plan), pinned)
            .map_err(ReloadError::InvalidArgument)?;
    crate::deploy::apply(&deployment, &config.mode, &mut engine);
    Ok(Prepared {
        deployment,
        config,
        engine,
        planned,
        fits_beside,
        restart_required,
    })
}

/// The probed host plus what our running engine holds: the plan is made for the machine as it
/// will be once the old engine is gone, not for the leftovers beside it.
fn as_if_not_running(mut req: PlanRequest, running: &Running) -> PlanRequest {
    let mib = |b: u64| b >> 20;
    match &running.planned {
        Some(old) => {
            req.host.memory.available_mib += mib(old.plan.memory.cpu.total());
            if let Some(g) = req.host.gpu.as_mut() {
                g.free_mib += mib(old.plan.memory.gpu.total());
            }
        }
        None => req.host.memory.available_mib += file_mib(&running.engine.model_path),
    }
    req
}

/// Plan from scratch (ignoring the saved plan) and save the result where start-up looks for it.
fn plan_and_save(config: &Config, req: PlanRequest) -> Result<Planned, ReloadError> {
    let plan: Plan = medllm_planner::plan(&req).map_err(|e| ReloadError::Failed(e.to_string()))?;
    // The same file `planning::plan_or_reuse` reads (state_dir/plan.json).
    let path = config.state_dir.join("plan.json");
    let tmp = path.with_extension("json.tmp");
    let saved = std::fs::create_dir_all(&config.state_dir)
        .and_then(|()| std::fs::write(&tmp, plan.to_json()))
        .and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(e) = saved {
        tracing::warn!(error = %e, path = %path.display(), "cannot save the plan");
    }
    Ok(Planned {
        plan,
        request: req,
        origin: "planned",
    })
}

/// Without a plan: the model file plus a margin must fit in the RAM available now, and GPU
/// offload (whose memory we cannot predict here) always drains first.
fn fits_without_plan(config: &Config) -> bool {
    if config.engine.n_gpu_layers.unwrap_or(0) > 0 {
        return false;
    }
    let (_, ram_available_mib) = medllm_planner::probe_free_memory();
    ram_available_mib > file_mib(&config.model_path) + UNPLANNED_OVERHEAD_MIB
}

fn file_mib(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len() >> 20)
}

/// Settings that changed between `old` and `new` but are only read at start.
pub(super) fn restart_required(old: &Config, new: &Config) -> Vec<String> {
    let dbg = |v: &dyn std::fmt::Debug| format!("{v:?}");
    let checks: [(&str, bool); 10] = [
        ("daemon.bus", old.bus != new.bus),
        ("daemon.state_dir", old.state_dir != new.state_dir),
        (
            "daemon.shutdown_grace_seconds",
            old.shutdown_grace != new.shutdown_grace,
        ),
        ("model.categories", old.categories != new.categories),
        // ggml's backend modules are loaded once per process.
        ("model.backends_dir", old.backends_dir != new.backends_dir),
        (
            "limits.max_question_bytes",
            old.limits.max_question_bytes != new.limits.max_question_bytes,
        ),
        (
            "limits.max_inflight_per_caller",
            old.limits.max_inflight_per_caller != new.limits.max_inflight_per_caller,
        ),
        (
            "dbus",
            old.dbus.property_interval != new.dbus.property_interval
                || old.dbus.tokens_coalesce != new.dbus.tokens_coalesce,
        ),
        ("auth", old.dbus.auth != new.dbus.auth),
        ("cache", dbg(&old.cache) != dbg(&new.cache)),
    ];
    checks
        .iter()
        .filter(|(_, changed)| *changed)
        .map(|(key, _)| (*key).to_string())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::{Overrides, parse_raw};

    fn config(text: &str) -> Config {
        let raw = parse_raw(text, Path::new("/etc/medllm/t.toml")).unwrap();
        Config::from_raw(
            raw,
            Some(PathBuf::from("/etc/medllm/t.toml")),
            &Overrides::default(),
        )
        .unwrap()
    }

    #[test]
    fn only_start_time_settings_are_reported() {
        let old = config("[limits]\nmax_parallel = 2\n");
        let same_but_engine = config("[limits]\nmax_parallel = 3\n[engine]\nn_ctx = 2048\n");
        assert!(restart_required(&old, &same_but_engine).is_empty());
        let new = config(
            "[limits]\nmax_question_bytes = 100\n[auth]\nadmin_groups = [\"wheel\"]\n\
             [cache]\nenabled = false\n[model]\ncategories = \"c.toml\"\n",
        );
        assert_eq!(
            restart_required(&old, &new),
            [
                "model.categories",
                "limits.max_question_bytes",
                "auth",
                "cache"
            ]
        );
    }
}
