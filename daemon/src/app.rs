//! Start-up wiring and the daemon's life: the one place that knows the order of things.
//!
//! ```text
//! load config (main) → probe host, plan (or reuse the saved plan) → build Service → connect to the bus and make
//! sure the name is free → start the engine (STATUS= progress) → attach it → export the objects
//! → open the answer cache → export the admin interface (reloads: `reload`) → take the name (no
//! queue, no replacement) → READY=1, watchdog pings (`watchdog`) → run until SIGTERM/SIGINT (exit 0)
//! or bus loss (exit non-zero) → release the name, drain, stop the engine
//! ```
//!
//! Owns no request logic; each step is a small function so later steps (host plan, answer
//! cache) slot in between without reshuffling.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use medllm_classify::{CategoryConfig, Templates};
use tokio::signal::unix::{SignalKind, signal};

use crate::config::Config;
use crate::dbus;
use crate::deploy;
use crate::engine::{self, EngineConfig, EngineHandle, EngineInfo};
use crate::planning;
use crate::reload::{self, Reloader, Running};
use crate::replan;
use crate::service::{ModelIdentity, Service, ServiceState};
use crate::watchdog;

/// How the daemon stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// SIGTERM or SIGINT: a clean stop (exit status 0).
    Signal(&'static str),
    /// The bus connection was lost (non-zero exit status: systemd restarts us).
    BusLost(String),
}

/// Run the daemon with a validated config until it is told to stop or loses the bus.
pub async fn run(config: Config) -> Result<Exit> {
    tracing::info!("starting medllmd {}", env!("CARGO_PKG_VERSION"));
    for line in config.summary().lines() {
        tracing::info!("{line}");
    }
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;

    if !config.model_path.is_file() {
        bail!(
            "the model file {} does not exist (set [model] path or --model)",
            config.model_path.display()
        );
    }
    let templates = load_templates(&config)?;
    let service = Service::new(config.service_config(), templates);
    let planned = plan_placement(&config).await?;

    let conn = dbus::connect(&config.bus).await?;
    dbus::ensure_name_free(&conn, &config.bus).await?;

    service.set_state(ServiceState::Loading);
    let mut engine_cfg = engine_config(&config, service.system_prompts());
    if let Some(p) = &planned {
        planning::apply(&p.plan, &config, &mut engine_cfg);
    }
    let deployment = deploy::resolve(&config.mode, planned.as_ref().map(|p| &p.plan), None)
        .map_err(|e| anyhow!("[mode]: {e}"))?;
    for line in &deployment.explanation {
        tracing::info!("mode: {line}");
    }
    deploy::apply(&deployment, &config.mode, &mut engine_cfg);
    // Hash the model file while the engine loads it (the id and cache keys need the hash).
    let (hash_cfg, hash_dir) = (engine_cfg.clone(), config.state_dir.clone());
    let hashing = tokio::task::spawn_blocking(move || deploy::engine_sha256(&hash_cfg, &hash_dir));
    let (engine, info) = tokio::select! {
        loaded = start_engine(engine_cfg.clone()) => loaded?,
        _ = terminate.recv() => bail!("stopped by SIGTERM while loading the model"),
        _ = interrupt.recv() => bail!("stopped by SIGINT while loading the model"),
    };
    let hash = hashing.await.context("the hashing task failed")??;
    let identity = model_identity(&engine_cfg, info, &hash, &deployment);
    tracing::info!(model = %identity.id, backend = %identity.backend, mode = %identity.mode, "model ready");
    service.attach_engine(engine, identity);
    let mut recheck = None;
    if let Some(p) = &planned {
        service.set_plan_summary(planning::summary(p));
        if let Some(period) = config.planner.recheck {
            recheck = Some(tokio::spawn(recheck_memory(
                service.clone(),
                p.clone(),
                period,
            )));
        }
    }
    open_cache(&config, &service).await;
    let reloader = Reloader::new(
        service.clone(),
        Running {
            config: config.clone(),
            engine: engine_cfg,
            planned,
            recheck,
            deployment,
        },
    );

    let mut server = dbus::serve(&conn, &config.bus, service.clone(), &config.dbus).await?;
    dbus::serve_admin(&conn, service.clone(), reloader.clone(), &config.dbus).await?;
    server.request_name().await?;
    notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status("serving"),
    ]);
    let watchdog = watchdog::spawn(service.clone(), reloader.clone());
    let auto_replan =
        (config.planner.enabled && config.planner.recheck.is_some() && config.planner.auto_replan)
            .then(|| {
                replan::spawn(
                    service.clone(),
                    reloader.clone(),
                    replan::AutoReplan::default(),
                )
            });
    let sighup = reload::reload_on_sighup(reloader.clone()).context("cannot watch SIGHUP")?;
    tracing::info!(
        "serving {} on {}",
        medllm_api::BUS_NAME,
        config.bus.describe()
    );

    let exit = tokio::select! {
        _ = terminate.recv() => Exit::Signal("SIGTERM"),
        _ = interrupt.recv() => Exit::Signal("SIGINT"),
        reason = server.bus_lost() => Exit::BusLost(reason),
    };
    match &exit {
        Exit::Signal(s) => tracing::info!("{s} received; stopping"),
        Exit::BusLost(r) => tracing::error!("lost the bus connection ({r}); stopping"),
    }
    notify(&[sd_notify::NotifyState::Stopping]);
    sighup.abort();
    if let Some(t) = auto_replan {
        t.abort();
    }
    reloader.stop();
    server.shutdown(config.shutdown_grace).await;
    if let Some(w) = watchdog {
        w.abort();
    }
    if let Some(engine) = service.detach_engine() {
        engine.shutdown();
    }
    if let Some(cache) = service.cache() {
        if let Err(e) = tokio::task::spawn_blocking(move || cache.flush()).await {
            tracing::warn!(error = %e, "flushing the answer cache failed");
        }
    }
    Ok(exit)
}

/// The category templates: built in, or from the configured `categories.toml`.
fn load_templates(config: &Config) -> Result<Templates> {
    let cfg = match &config.categories {
        Some(path) => CategoryConfig::load(path)
            .with_context(|| format!("cannot load categories from {}", path.display()))?,
        None => CategoryConfig::builtin().context("the built-in categories do not load")?,
    };
    Ok(Templates::new(cfg))
}

/// Engine settings: the engine's defaults for this machine, overridden by the config.
pub fn engine_config(config: &Config, system_prompts: Vec<String>) -> EngineConfig {
    let mut e = EngineConfig::for_model(&config.model_path);
    let s = &config.engine;
    macro_rules! set {
        ($($field:ident),*) => { $( if let Some(v) = s.$field { e.$field = v; } )* };
    }
    set!(
        n_ctx,
        n_batch,
        n_ubatch,
        threads,
        threads_batch,
        n_gpu_layers,
        flash_attention,
        kv_type,
        swa_full,
        use_mmap,
        use_mlock
    );
    if !s.cpu_overrides.is_empty() {
        e.cpu_overrides = s.cpu_overrides.clone();
    }
    if let Some(v) = s.prefill_chunk {
        e.core.prefill_chunk = v;
    }
    if let Some(v) = s.template_reuse {
        e.core.template_reuse = v;
    }
    // n_ubatch defaults to n_batch's default; keep it valid when only n_batch was lowered.
    if s.n_ubatch.is_none() && e.n_ubatch > e.n_batch {
        e.n_ubatch = e.n_batch;
    }
    e.core.max_parallel = config.limits.max_parallel;
    e.max_queue = config.limits.max_queue;
    e.templates = system_prompts;
    e.backends_dir = config.backends_dir.clone();
    e
}

/// Start the engine and wait until the model is loaded and the templates are prefilled,
/// reporting progress as `STATUS=` lines and logs.
async fn start_engine(cfg: EngineConfig) -> Result<(EngineHandle, EngineInfo)> {
    let path = cfg.model_path.clone();
    if !path.is_file() {
        bail!(
            "the model file {} does not exist (set [model] path or --model)",
            path.display()
        );
    }
    tracing::info!(model = %path.display(), "loading the model");
    notify(&[sd_notify::NotifyState::Status("loading the model")]);
    let last_step = Arc::new(AtomicU32::new(u32::MAX));
    let progress = move |p: f32| {
        // Report every 10 %: systemd and the journal need no more.
        let step = (p.clamp(0.0, 1.0) * 10.0) as u32;
        if last_step.swap(step, Ordering::Relaxed) != step {
            let text = format!("loading the model: {}%", step * 10);
            notify(&[sd_notify::NotifyState::Status(&text)]);
            tracing::debug!("{text}");
        }
    };
    let (handle, ready) =
        engine::start(cfg, progress).map_err(|e| anyhow!("cannot start the engine: {e}"))?;
    let info = ready
        .await
        .map_err(|_| anyhow!("the engine thread stopped while loading"))?
        .map_err(|e| anyhow!("cannot load {}: {e}", path.display()))?;
    tracing::info!(
        load_s = format!("{:.2}", info.model.load_seconds),
        template_tokens = ?info.template_tokens,
        prefill_s = format!("{:.2}", info.template_prefill_seconds),
        "engine ready"
    );
    Ok((handle, info))
}

/// Start an engine for a reload: load it while the model file is hashed, and name it.
pub(crate) async fn load_engine(
    cfg: &EngineConfig,
    config: &Config,
    deployment: &deploy::Deployment,
) -> Result<(EngineHandle, ModelIdentity)> {
    let (hash_cfg, hash_dir) = (cfg.clone(), config.state_dir.clone());
    let hashing = tokio::task::spawn_blocking(move || deploy::engine_sha256(&hash_cfg, &hash_dir));
    let (engine, info) = start_engine(cfg.clone()).await?;
    let hash = match hashing
        .await
        .context("the hashing task failed")
        .and_then(|h| h)
    {
        Ok(h) => h,
        Err(e) => {
            engine.shutdown();
            return Err(e);
        }
    };
    Ok((engine, model_identity(cfg, info, &hash, deployment)))
}

/// Name, hash, backend and mode of what the engine runs.
fn model_identity(
    engine: &EngineConfig,
    info: EngineInfo,
    sha256: &str,
    deployment: &deploy::Deployment,
) -> ModelIdentity {
    let layers = engine.n_gpu_layers;
    let cpu = format!("cpu ({})", info.backends.cpu_variant);
    let backend = if layers == 0 || info.backends.others.is_empty() {
        cpu
    } else {
        format!(
            "{} ({layers} layers) + {cpu}",
            info.backends.others.join("+")
        )
    };
    ModelIdentity {
        id: format!(
            "{}@{}",
            info.model.name.replace(' ', "-"),
            &sha256[..12.min(sha256.len())]
        ),
        sha256: sha256.to_string(),
        info,
        backend,
        mode: deployment.mode.as_str().into(),
        mode_explain: deployment.explanation.clone(),
    }
}

/// Plan the placement (blocking work: NVML, sysinfo, the model header, the ILP).
async fn plan_placement(config: &Config) -> Result<Option<planning::Planned>> {
    if !config.planner.enabled {
        tracing::info!("planner disabled: engine defaults and [engine] settings apply");
        return Ok(None);
    }
    let cfg = config.clone();
    let planned = tokio::task::spawn_blocking(move || {
        let req = planning::request(&cfg)?;
        planning::plan_or_reuse(&cfg, req)
    })
    .await
    .context("the planning task failed")??;
    for line in planned.plan.explanation.iter() {
        tracing::info!("plan: {line}");
    }
    tracing::info!("{}", planning::summary(&planned));
    Ok(Some(planned))
}

/// Open the answer cache (embedder load and index scan are blocking work). A cache that cannot
/// be opened is logged and skipped: the service answers without it.
async fn open_cache(config: &Config, service: &Service) {
    if !config.cache.enabled {
        tracing::info!("answer cache disabled");
        return;
    }
    let cfg = config.cache.clone();
    let sweep = cfg.sweep_interval;
    match tokio::task::spawn_blocking(move || medllm_cache::AnswerCache::open(cfg)).await {
        Ok(Ok(cache)) => {
            let cache = Arc::new(cache);
            tracing::info!(stats = %cache.stats(), "answer cache open");
            service.attach_cache(Arc::clone(&cache));
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(sweep);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let c = Arc::clone(&cache);
                    match tokio::task::spawn_blocking(move || c.sweep()).await {
                        Ok(Ok(report)) => tracing::debug!(?report, "cache sweep"),
                        Ok(Err(e)) => tracing::warn!(error = %e, "cache sweep failed"),
                        Err(e) => tracing::warn!(error = %e, "cache sweep task failed"),
                    }
                }
            });
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot open the answer cache; serving without it")
        }
        Err(e) => tracing::error!(error = %e, "the cache task failed; serving without it"),
    }
}

/// Every `period`, check that the memory the plan relied on is still free (what we hold ourselves
/// counts as free); report `degraded` with the reason while it is not.
pub(crate) async fn recheck_memory(
    service: Service,
    planned: planning::Planned,
    period: std::time::Duration,
) {
    let mut tick = tokio::time::interval(period);
    tick.tick().await;
    loop {
        tick.tick().await;
        let p = planned.clone();
        let verdict = tokio::task::spawn_blocking(move || {
            let (gpu_free, ram_available) = medllm_planner::probe_free_memory();
            let mut host = p.request.host.clone();
            let mib = |b: u64| b / (1024 * 1024);
            host.memory.available_mib = ram_available + mib(p.plan.memory.cpu.total());
            if let (Some(g), Some(free)) = (host.gpu.as_mut(), gpu_free) {
                g.free_mib = free + mib(p.plan.memory.gpu.total());
            }
            p.plan.fits(&host, &p.request.options)
        })
        .await;
        let Ok(verdict) = verdict else { continue };
        match (verdict, service.state()) {
            (Err(reason), ServiceState::Ready) => {
                tracing::warn!(%reason, "memory the plan relies on is gone");
                service.set_state(ServiceState::Degraded(format!(
                    "memory the plan relies on is in use by another program: {reason}"
                )));
            }
            (Ok(()), ServiceState::Degraded(_)) => {
                tracing::info!("memory available again");
                service.set_state(ServiceState::Ready);
            }
            _ => {}
        }
    }
}

/// Tell systemd, when we run under it (`NOTIFY_SOCKET` set); otherwise do nothing.
pub(crate) fn notify(states: &[sd_notify::NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_some() {
        if let Err(e) = sd_notify::notify(false, states) {
            tracing::debug!(error = %e, "sd_notify failed");
        }
    }
}
