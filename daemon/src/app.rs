//! Start-up wiring and the daemon's life: the one place that knows the order of things.
//!
//! ```text
//! load config (main) → [probe host, plan: later] → build Service → connect to the bus and make
//! sure the name is free → start the engine (STATUS= progress) → attach it → export the objects
//! → take the name (no queue, no replacement) → READY=1 → run until SIGTERM/SIGINT (exit 0) or
//! bus loss (exit non-zero) → release the name, drain, stop the engine
//! ```
//!
//! Owns no request logic; each step is a small function so later steps (host plan, answer
//! cache) slot in between without reshuffling.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use medllm_classify::{CategoryConfig, Templates};
use sha2::{Digest, Sha256};
use tokio::signal::unix::{SignalKind, signal};

use crate::config::Config;
use crate::dbus;
use crate::engine::{self, EngineConfig, EngineHandle, EngineInfo};
use crate::service::{ModelIdentity, Service, ServiceState};

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

    // (Later: probe the host and plan the placement here; the plan fills `engine_config`.)
    let templates = load_templates(&config)?;
    let service = Service::new(config.service_config(), templates);

    let conn = dbus::connect(&config.bus).await?;
    dbus::ensure_name_free(&conn, &config.bus).await?;

    service.set_state(ServiceState::Loading);
    // Hash the model file while the engine loads it (the id and cache keys need the hash).
    let hash_path = config.model_path.clone();
    let hashing = tokio::task::spawn_blocking(move || sha256_prefix(&hash_path));
    let engine_cfg = engine_config(&config, service.system_prompts());
    let (engine, info) = tokio::select! {
        loaded = start_engine(engine_cfg) => loaded?,
        _ = terminate.recv() => bail!("stopped by SIGTERM while loading the model"),
        _ = interrupt.recv() => bail!("stopped by SIGINT while loading the model"),
    };
    let hash = hashing.await.context("the hashing task failed")??;
    let identity = model_identity(&config, info, hash);
    tracing::info!(model = %identity.id, backend = %identity.backend, mode = %identity.mode, "model ready");
    service.attach_engine(engine, identity);

    let mut server = dbus::serve(&conn, &config.bus, service.clone(), &config.dbus).await?;
    server.request_name().await?;
    notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status("serving"),
    ]);
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
    server.shutdown(config.shutdown_grace).await;
    if let Some(engine) = service.detach_engine() {
        engine.shutdown();
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

/// Name, hash, backend and mode of what the engine runs.
fn model_identity(config: &Config, info: EngineInfo, hash: String) -> ModelIdentity {
    let layers = config.engine.n_gpu_layers.unwrap_or(0);
    let backend = if layers == 0 {
        "cpu".to_string()
    } else {
        format!("gpu ({layers} layers)")
    };
    ModelIdentity {
        id: format!("{}@{hash}", info.model.name),
        info,
        backend,
        mode: "base".into(),
    }
}

/// The first 12 hex digits of the file's sha256 (identifies the model in ids and cache keys).
fn sha256_prefix(path: &Path) -> Result<String> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let digest = hasher.finalize();
    Ok(digest.iter().take(6).map(|b| format!("{b:02x}")).collect())
}

/// Tell systemd, when we run under it (`NOTIFY_SOCKET` set); otherwise do nothing.
fn notify(states: &[sd_notify::NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_some() {
        if let Err(e) = sd_notify::notify(false, states) {
            tracing::debug!(error = %e, "sd_notify failed");
        }
    }
}
