//! Replacing the engine while the daemon serves: reload (config and model), re-plan, mode switch.
//!
//! Every trigger is the same operation, "run another engine configuration":
//! prepare (config, plan, engine settings — see `prepare`) → start the new engine → swap it into
//! the [`Service`] → retire the old one once its requests are done. No request is lost: requests
//! already admitted finish on the engine that admitted them, and new ones go to the new engine
//! from the swap on.
//!
//! Memory decides the order. When the new engine fits beside the old one (the plan's prediction
//! against the memory free *now*), it loads while the old one keeps serving (`overlap`): no
//! pause, at the price of both engines in memory for a while (with an unchanged model file and
//! `use_mmap` the weights are shared page cache; KV and compute buffers are not). Otherwise
//! (`drain-first`) the service stops admitting (`State` = `loading`, new calls get `NotReady`),
//! lets admitted requests finish, stops the old engine, then loads the new one; if that fails the
//! old configuration is loaded again.
//!
//! Must not touch D-Bus: `dbus::admin` and SIGHUP call [`Reloader::reload`].

mod prepare;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinHandle;

use crate::app;
use crate::config::Config;
use crate::engine::{EngineConfig, EngineError, EngineHandle};
use crate::planning::{self, Planned};
use crate::service::{Service, ServiceState};

/// How long the old engine's admitted requests may take before it is stopped regardless (a
/// wedged engine must not hold its memory forever). Long enough for a full answer on a slow CPU.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a stopped engine thread may take to release its memory.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// What the daemon runs now; the reloader owns it from start-up on.
#[derive(Debug)]
pub struct Running {
    /// The validated config in use.
    pub config: Config,
    /// The engine settings in use.
    pub engine: EngineConfig,
    /// The placement plan in use (`None`: planner off).
    pub planned: Option<Planned>,
    /// The free-memory re-check task of that plan.
    pub recheck: Option<JoinHandle<()>>,
    /// The deployment mode in use and why (`deploy`).
    pub deployment: crate::deploy::Deployment,
}

/// Why the engine is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Re-read the config file and the model.
    Reload,
    /// Plan again for the memory free now, same config.
    Replan,
    /// Switch the deployment mode.
    SetMode(Mode),
}

/// Deployment modes (`SetMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The base model alone.
    Base,
    /// Base model plus LoRA adapters applied at run time.
    Adapter,
    /// A model with the adapters merged in.
    Merged,
}

impl Mode {
    /// Parse a mode name; the error names the valid ones.
    pub fn parse(name: &str) -> Result<Self, ReloadError> {
        match name {
            "base" => Ok(Mode::Base),
            "adapter" => Ok(Mode::Adapter),
            "merged" => Ok(Mode::Merged),
            other => Err(ReloadError::InvalidArgument(format!(
                "unknown mode {other:?} (valid: base, adapter, merged)"
            ))),
        }
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Base => "base",
            Mode::Adapter => "adapter",
            Mode::Merged => "merged",
        }
    }

    /// Whether `[mode]` provides what this mode runs (adapters / merged model, files present).
    pub fn check_available(
        self,
        settings: &crate::deploy::ModeSettings,
    ) -> Result<(), ReloadError> {
        crate::deploy::available(self, settings).map_err(ReloadError::InvalidArgument)
    }
}

/// Why a reload did not happen; the running engine keeps serving unless the message says so.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReloadError {
    /// Another reload is running.
    #[error("a reload is already in progress")]
    Busy,
    /// The config file is invalid (nothing was changed).
    #[error("{0}")]
    Config(String),
    /// A bad argument (mode name, mode not configured).
    #[error("{0}")]
    InvalidArgument(String),
    /// Planning or loading failed.
    #[error("{0}")]
    Failed(String),
}

/// How the engine was replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The new engine loaded beside the old one.
    Overlap,
    /// Admission paused, old engine drained and stopped, then the new one loaded.
    DrainFirst,
    /// Nothing to do: the new settings equal the running ones.
    Unchanged,
}

impl Strategy {
    /// `overlap`, `drain-first`, `unchanged`.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Overlap => "overlap",
            Strategy::DrainFirst => "drain-first",
            Strategy::Unchanged => "unchanged",
        }
    }
}

/// What a reload did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The model now served.
    pub model_id: String,
    /// The mode now served.
    pub mode: String,
    /// How.
    pub strategy: Strategy,
    /// The plan in use, one line.
    pub plan: Option<String>,
    /// Time taken.
    pub seconds: f64,
    /// Changed settings that need a restart.
    pub restart_required: Vec<String>,
    /// The config file read ("" for built-in defaults).
    pub config: String,
}

/// Counters for `GetStats`.
#[derive(Debug, Clone, Default)]
pub struct ReloadStats {
    /// Successful reloads.
    pub reloads: u64,
    /// Failed reloads.
    pub failures: u64,
    /// When the last one ended, and its error if it failed.
    pub last: Option<(SystemTime, Option<String>)>,
}

/// Replaces the engine; cheap to clone.
#[derive(Debug, Clone)]
pub struct Reloader {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    service: Service,
    /// Held for the whole reload: one at a time.
    running: tokio::sync::Mutex<Running>,
    in_progress: AtomicBool,
    reloads: AtomicU64,
    failures: AtomicU64,
    last: Mutex<Option<(SystemTime, Option<String>)>>,
}

impl Reloader {
    /// Take over what start-up set up.
    pub fn new(service: Service, running: Running) -> Self {
        Self {
            inner: Arc::new(Inner {
                service,
                running: tokio::sync::Mutex::new(running),
                in_progress: AtomicBool::new(false),
                reloads: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                last: Mutex::new(None),
            }),
        }
    }

    /// Whether a reload is running (the watchdog keeps pinging meanwhile).
    pub fn in_progress(&self) -> bool {
        self.inner.in_progress.load(Ordering::Relaxed)
    }

    /// Counters.
    pub fn stats(&self) -> ReloadStats {
        ReloadStats {
            reloads: self.inner.reloads.load(Ordering::Relaxed),
            failures: self.inner.failures.load(Ordering::Relaxed),
            last: self.inner.last.lock().ok().and_then(|l| l.clone()),
        }
    }

    /// Stop the re-check task (shutdown). A reload in progress is not waited for: the process is
    /// about to exit.
    pub fn stop(&self) {
        if let Ok(mut running) = self.inner.running.try_lock() {
            if let Some(t) = running.recheck.take() {
                t.abort();
            }
        }
    }

    /// Replace the engine as `trigger` asks. Fails with [`ReloadError::Busy`] while another
    /// reload runs.
    pub async fn reload(&self, trigger: Trigger) -> Result<Report, ReloadError> {
        let Ok(mut running) = self.inner.running.try_lock() else {
            return Err(ReloadError::Busy);
        };
        self.inner.in_progress.store(true, Ordering::Relaxed);
        tracing::info!(?trigger, "reload started");
        notify_reloading();
        let t0 = Instant::now();
        let result = self.run(&mut running, trigger, t0).await;
        self.inner.in_progress.store(false, Ordering::Relaxed);
        app::notify(&[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status("serving"),
        ]);
        let error = result.as_ref().err().map(ToString::to_string);
        match &result {
            Ok(r) => {
                self.inner.reloads.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    model = %r.model_id,
                    strategy = r.strategy.as_str(),
                    seconds = format!("{:.2}", r.seconds),
                    restart_required = ?r.restart_required,
                    "reload finished"
                );
            }
            Err(e) => {
                self.inner.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "reload failed");
            }
        }
        if let Ok(mut last) = self.inner.last.lock() {
            *last = Some((SystemTime::now(), error));
        }
        result
    }

    async fn run(
        &self,
        running: &mut Running,
        trigger: Trigger,
        t0: Instant,
    ) -> Result<Report, ReloadError> {
        let service = &self.inner.service;
        // SetMode pins a mode; a re-plan keeps the pin; a reload re-reads `[mode]`.
        let pinned = match trigger {
            Trigger::SetMode(m) => Some(m),
            Trigger::Replan => running.deployment.pinned(),
            Trigger::Reload => None,
        };
        let config = prepare::config(running, trigger == Trigger::Reload)?;
        let prompts = service.system_prompts();
        let snapshot = Running {
            config: running.config.clone(),
            engine: running.engine.clone(),
            planned: running.planned.clone(),
            recheck: None,
            deployment: running.deployment.clone(),
        };
        let fresh = trigger == Trigger::Replan;
        let p = tokio::task::spawn_blocking(move || {
            prepare::prepare(config, &snapshot, prompts, pinned, fresh)
        })
        .await
        .map_err(|e| ReloadError::Failed(format!("the planning task failed: {e}")))??;
        // Debug covers every engine setting; equal text means the same engine.
        let same_engine = format!("{:?}", p.engine) == format!("{:?}", running.engine);
        let same_mode = p.deployment.mode == running.deployment.mode;
        let strategy = if same_engine && same_mode && trigger != Trigger::Reload {
            Strategy::Unchanged
        } else if p.fits_beside {
            Strategy::Overlap
        } else {
            Strategy::DrainFirst
        };
        match strategy {
            Strategy::Unchanged => {}
            Strategy::Overlap => self.overlap(&p, running).await?,
            Strategy::DrainFirst => self.drain_first(&p, running).await?,
        }
        // From here on the new configuration runs.
        if let Some(t) = running.recheck.take() {
            t.abort();
        }
        let plan = p.planned.as_ref().map(planning::summary);
        if let (Some(planned), Some(period)) = (&p.planned, p.config.planner.recheck) {
            service.set_plan_summary(planning::summary(planned));
            running.recheck = Some(tokio::spawn(app::recheck_memory(
                service.clone(),
                planned.clone(),
                period,
            )));
        }
        if p.config.log_level != running.config.log_level {
            if let Some(l) = crate::logging::get() {
                if let Err(e) = l.set_filter(&p.config.log_level) {
                    tracing::warn!(error = %e, "cannot apply the new log level");
                }
            }
        }
        *running = Running {
            config: p.config,
            engine: p.engine,
            planned: p.planned,
            recheck: running.recheck.take(),
            deployment: p.deployment,
        };
        let model = service.model();
        Ok(Report {
            model_id: model.as_ref().map(|m| m.id.clone()).unwrap_or_default(),
            mode: model.map(|m| m.mode).unwrap_or_default(),
            strategy,
            plan,
            seconds: t0.elapsed().as_secs_f64(),
            restart_required: p.restart_required,
            config: running
                .config
                .source
                .as_ref()
                .map(|s| s.display().to_string())
                .unwrap_or_default(),
        })
    }

    /// Load beside the old engine, swap, retire the old one in the background.
    async fn overlap(&self, p: &prepare::Prepared, running: &Running) -> Result<(), ReloadError> {
        let (handle, identity) = app::load_engine(&p.engine, &p.config, &p.deployment)
            .await
            .map_err(|e| ReloadError::Failed(format!("{e:#}")))?;
        let service = &self.inner.service;
        let old = service.engine();
        // Replacing the slot in one step: no request ever sees "no engine".
        service.attach_engine(handle, identity);
        if let Some(old) = old {
            tokio::spawn(retire(old, admitted(&running.engine)));
        }
        Ok(())
    }

    /// Pause admission, drain and stop the old engine, load the new one; on failure load the old
    /// configuration again.
    async fn drain_first(
        &self,
        p: &prepare::Prepared,
        running: &Running,
    ) -> Result<(), ReloadError> {
        let service = &self.inner.service;
        let previous_state = service.state();
        service.set_state(ServiceState::Loading);
        let old_identity = service.model();
        if let Some(old) = service.engine() {
            drain(&old, admitted(&running.engine)).await;
        }
        if let Some(old) = service.detach_engine() {
            stop(&old).await;
        }
        match app::load_engine(&p.engine, &p.config, &p.deployment).await {
            Ok((handle, identity)) => {
                service.attach_engine(handle, identity);
                Ok(())
            }
            Err(e) => {
                let reason = format!("{e:#}");
                tracing::error!(error = %reason, "the new engine did not load; restoring the previous one");
                match app::load_engine(&running.engine, &running.config, &running.deployment).await
                {
                    Ok((handle, identity)) => {
                        service.attach_engine(handle, old_identity.unwrap_or(identity));
                        if let ServiceState::Degraded(r) = previous_state {
                            service.set_state(ServiceState::Degraded(r));
                        }
                        Err(ReloadError::Failed(reason))
                    }
                    Err(e2) => {
                        let msg = format!(
                            "reload failed ({reason}) and the previous engine did not load again ({e2:#})"
                        );
                        service.set_state(ServiceState::Failed(msg.clone()));
                        Err(ReloadError::Failed(msg))
                    }
                }
            }
        }
    }
}

/// Requests an engine started with `cfg` admits at most (its admission permits).
fn admitted(cfg: &EngineConfig) -> usize {
    cfg.core.max_parallel + cfg.max_queue
}

/// Wait until every request admitted by `engine` has finished (all its admission permits are
/// back), up to [`DRAIN_TIMEOUT`]. Holding all permits also makes any late `submit` on this
/// handle fail with `Busy` instead of being lost in a stopping engine.
async fn drain(engine: &EngineHandle, admitted: usize) {
    let permits = u32::try_from(admitted).unwrap_or(u32::MAX);
    let sem = Arc::clone(&engine.admission);
    match tokio::time::timeout(DRAIN_TIMEOUT, sem.acquire_many_owned(permits)).await {
        Ok(Ok(all)) => all.forget(),
        Ok(Err(_)) => {}
        Err(_) => tracing::warn!(
            active = engine.active(),
            queued = engine.queued(),
            "old engine still busy after {} s; stopping it anyway",
            DRAIN_TIMEOUT.as_secs()
        ),
    }
}

/// Stop `engine` and wait until its thread has released the model.
async fn stop(engine: &EngineHandle) {
    engine.shutdown();
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(1), engine.stats()).await {
            Ok(Err(EngineError::NotRunning)) => return,
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    tracing::warn!(
        "the old engine thread did not stop within {} s",
        STOP_TIMEOUT.as_secs()
    );
}

/// Let the old engine finish what it admitted, then stop it.
async fn retire(old: EngineHandle, admitted: usize) {
    drain(&old, admitted).await;
    stop(&old).await;
    tracing::info!("previous engine stopped");
}

/// `RELOADING=1` with the monotonic timestamp systemd wants alongside it.
fn notify_reloading() {
    let mut states = vec![
        sd_notify::NotifyState::Reloading,
        sd_notify::NotifyState::Status("reloading"),
    ];
    if let Ok(now) = sd_notify::NotifyState::monotonic_usec_now() {
        states.push(now);
    }
    app::notify(&states);
}

/// Reload on SIGHUP (`systemctl reload medllmd`).
pub fn reload_on_sighup(reloader: Reloader) -> std::io::Result<JoinHandle<()>> {
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading");
            if let Err(e) = reloader.reload(Trigger::Reload).await {
                tracing::error!(error = %e, "reload on SIGHUP failed");
            }
        }
    }))
}
