//! `org.medllm.Daemon1.Admin` on `/org/medllm/Daemon1`: reload, re-plan, mode, answer cache,
//! statistics.
//!
//! Every method first authorises the caller for `org.medllm.daemon1.manage` (`polkit`), then
//! delegates: engine replacement to [`Reloader`], cache maintenance to the service's
//! [`medllm_cache::AnswerCache`] (blocking work on the blocking pool). Nothing here carries
//! patient text; the logs name the caller by uid and pid.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use medllm_api::admin::{cache as ck, purge as pk, report as rk, stats as sk};
use medllm_api::dict::{put, put_str};
use medllm_api::{Dict, Error, status};
use zbus::interface;
use zbus::message::Header;

use super::polkit::{Action, Authority};
use crate::reload::{Mode, ReloadError, Reloader, Report, Trigger};
use crate::service::{Caller, Service};

/// How long `GetStats` waits for the engine thread's counters.
const ENGINE_STATS_TIMEOUT: Duration = Duration::from_secs(2);

/// The admin interface.
#[derive(Debug)]
pub(crate) struct AdminObject {
    pub(crate) service: Service,
    pub(crate) reloader: Reloader,
    pub(crate) auth: Arc<Authority>,
}

#[interface(name = "org.medllm.Daemon1.Admin")]
impl AdminObject {
    /// Re-read the config file and the model, re-plan, and replace the engine without losing a
    /// request. Returns a report: model_id, mode, strategy (overlap | drain-first | unchanged),
    /// plan, seconds, restart_required (config keys only a restart applies), config.
    #[zbus(out_args("report"))]
    async fn reload(&self, #[zbus(header)] header: Header<'_>) -> Result<Dict, Error> {
        let caller = self.authorize(&header, "Reload").await?;
        self.run(Trigger::Reload, &caller).await
    }

    /// Plan the placement again for the memory free now (same config); the engine restarts only
    /// if the plan changed. Returns the same report as Reload.
    #[zbus(out_args("report"))]
    async fn replan(&self, #[zbus(header)] header: Header<'_>) -> Result<Dict, Error> {
        let caller = self.authorize(&header, "Replan").await?;
        self.run(Trigger::Replan, &caller).await
    }

    /// Switch the deployment mode: base, adapter or merged (a reload with another engine
    /// configuration). Returns the same report as Reload.
    #[zbus(out_args("report"))]
    async fn set_mode(
        &self,
        mode: String,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<Dict, Error> {
        let caller = self.authorize(&header, "SetMode").await?;
        let mode = Mode::parse(&mode).map_err(reload_error)?;
        self.run(Trigger::SetMode(mode), &caller).await
    }

    /// Remove every cached answer (memory and disk). The bytes stay ciphertext on disk until the
    /// store compacts; PurgeCache(true) makes them unreadable at once.
    async fn clear_cache(&self, #[zbus(header)] header: Header<'_>) -> Result<(), Error> {
        self.authorize(&header, "ClearCache").await?;
        let cache = self.cache()?;
        blocking(move || cache.clear()).await?;
        tracing::info!("answer cache cleared");
        Ok(())
    }

    /// Remove expired and over-cap entries now; with rotate_key, also replace the cache key and
    /// delete the store, so nothing stored before can be read again. Returns expired, evicted,
    /// repaired (t) and rotated (b).
    #[zbus(out_args("result"))]
    async fn purge_cache(
        &self,
        rotate_key: bool,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<Dict, Error> {
        self.authorize(&header, "PurgeCache").await?;
        let cache = self.cache()?;
        let c = Arc::clone(&cache);
        let report = blocking(move || c.sweep()).await?;
        if rotate_key {
            blocking(move || cache.rotate_key()).await?;
            tracing::info!("answer cache key rotated; all entries are unreadable and deleted");
        }
        let mut d = Dict::new();
        put(&mut d, pk::EXPIRED, report.expired);
        put(&mut d, pk::EVICTED, report.evicted);
        put(&mut d, pk::REPAIRED, report.repaired);
        put(&mut d, pk::ROTATED, rotate_key);
        Ok(d)
    }

    /// The answer cache's counters: entries and bytes per tier, hits, misses, vetoes, evictions,
    /// and a human-readable summary.
    #[zbus(out_args("stats"))]
    async fn cache_stats(&self, #[zbus(header)] header: Header<'_>) -> Result<Dict, Error> {
        self.authorize(&header, "CacheStats").await?;
        let cache = self.cache()?;
        let s = tokio::task::spawn_blocking(move || cache.stats())
            .await
            .map_err(|e| Error::Internal(format!("the cache task failed: {e}")))?;
        let mut d = Dict::new();
        for (key, v) in [
            (ck::L1_ENTRIES, s.l1_entries),
            (ck::L1_BYTES, s.l1_bytes),
            (ck::L1_EVICTIONS, s.l1_evictions),
            (ck::L2_ENTRIES, s.l2_entries),
            (ck::L2_BYTES, s.l2_bytes),
            (ck::L2_DISK_BYTES, s.l2_disk_bytes),
            (ck::L2_EVICTIONS, s.l2_evictions),
            (ck::SEMANTIC_ENTRIES, s.semantic_entries),
            (ck::HITS_L1, s.hits_l1),
            (ck::HITS_L2, s.hits_l2),
            (ck::HITS_SEMANTIC, s.hits_semantic),
            (ck::MISSES, s.misses),
            (ck::SEMANTIC_VETOED, s.semantic_vetoed),
            (ck::BYPASSED, s.bypassed),
            (ck::STORES, s.stores),
            (ck::REFUSED, s.refused),
            (ck::EXPIRED, s.expired),
            (ck::CORRUPT_DELETED, s.corrupt_deleted),
        ] {
            put(&mut d, key, v);
        }
        if let Some(r) = &s.semantic_disabled {
            put_str(&mut d, ck::SEMANTIC_DISABLED, r.clone());
        }
        if let Some(r) = &s.recovered_store {
            put_str(&mut d, ck::RECOVERED_STORE, r.clone());
        }
        put_str(&mut d, ck::SUMMARY, s.to_string());
        Ok(d)
    }

    /// Operational statistics: state, engine counters and heartbeat, reloads, memory, watchdog,
    /// authorisation source, logging, cache.
    #[zbus(out_args("stats"))]
    async fn get_stats(&self, #[zbus(header)] header: Header<'_>) -> Result<Dict, Error> {
        self.authorize(&header, "GetStats").await?;
        let mut d = Dict::new();
        let snap = self.service.status();
        put_str(&mut d, status::STATE, snap.state.as_str());
        put(&mut d, status::UPTIME_SECONDS, snap.uptime.as_secs());
        if let Some(m) = &snap.model {
            put_str(&mut d, status::MODEL_ID, m.id.clone());
            put_str(&mut d, status::MODE, m.mode.clone());
        }
        put(&mut d, status::ACTIVE_REQUESTS, snap.active as u64);
        put(&mut d, status::QUEUE_LENGTH, snap.queued as u64);
        if let Some(engine) = self.service.engine() {
            put(
                &mut d,
                sk::ENGINE_HEARTBEAT_AGE_MS,
                engine.heartbeat_age().as_millis() as u64,
            );
            if let Ok(Ok(e)) = tokio::time::timeout(ENGINE_STATS_TIMEOUT, engine.stats()).await {
                for (key, v) in [
                    (status::REQUESTS_COMPLETED, e.completed),
                    (status::REQUESTS_FAILED, e.failed),
                    (status::TOKENS_GENERATED, e.tokens_generated),
                    (status::PROMPT_TOKENS_COMPUTED, e.prompt_tokens_computed),
                    (status::PROMPT_TOKENS_REUSED, e.prompt_tokens_reused),
                    (status::PREEMPTIONS, e.preemptions),
                    (sk::DECODE_STEPS, e.steps),
                ] {
                    put(&mut d, key, v);
                }
                put(&mut d, status::KV_CELLS_USED, e.kv_cells_used);
                put(&mut d, status::KV_CELLS_TOTAL, e.kv_cells_total);
                put(&mut d, sk::LEAKED_SEQUENCES, e.leaked_sequences);
            }
        }
        let r = self.reloader.stats();
        put(&mut d, sk::RELOADS, r.reloads);
        put(&mut d, sk::RELOAD_FAILURES, r.failures);
        put(&mut d, sk::RELOAD_IN_PROGRESS, self.reloader.in_progress());
        if let Some((when, error)) = r.last {
            let ago = SystemTime::now().duration_since(when).unwrap_or_default();
            put(&mut d, sk::LAST_RELOAD_SECONDS_AGO, ago.as_secs());
            if let Some(e) = error {
                put_str(&mut d, sk::LAST_RELOAD_ERROR, e);
            }
        }
        let (rss, peak) = memory();
        put(&mut d, sk::MEMORY_RSS_BYTES, rss);
        put(&mut d, sk::MEMORY_PEAK_RSS_BYTES, peak);
        let mut usec = 0;
        if !sd_notify::watchdog_enabled(false, &mut usec) {
            usec = 0;
        }
        put(&mut d, sk::WATCHDOG_USEC, usec);
        put_str(&mut d, sk::AUTH, self.auth.last_source().as_str());
        if let Some(l) = crate::logging::get() {
            put_str(&mut d, sk::LOG_FILTER, l.filter());
            put_str(&mut d, sk::LOG_TARGET, l.target().as_str());
        }
        put(&mut d, sk::CACHE_ENABLED, self.service.cache().is_some());
        Ok(d)
    }
}

impl AdminObject {
    /// Authorise the sender for the manage action and log the call (never its arguments).
    async fn authorize(&self, header: &Header<'_>, method: &str) -> Result<Caller, Error> {
        let caller = self.auth.authorize(header, Action::Manage).await?;
        tracing::info!(uid = caller.uid, pid = caller.pid, method, "admin call");
        Ok(caller)
    }

    async fn run(&self, trigger: Trigger, caller: &Caller) -> Result<Dict, Error> {
        let report = self.reloader.reload(trigger).await.map_err(|e| {
            tracing::warn!(uid = caller.uid, ?trigger, error = %e, "admin reload refused or failed");
            reload_error(e)
        })?;
        Ok(report_dict(&report))
    }

    fn cache(&self) -> Result<Arc<medllm_cache::AnswerCache>, Error> {
        self.service.cache().ok_or_else(|| {
            Error::NotSupported("the answer cache is off ([cache] enabled = false, or it failed to open: see the log)".into())
        })
    }
}

/// A reload failure as the D-Bus error clients see.
fn reload_error(e: ReloadError) -> Error {
    match e {
        ReloadError::Busy => Error::Busy(e.to_string()),
        ReloadError::Config(m) => Error::InvalidArgument(format!(
            "the config file is invalid; nothing was changed: {m}"
        )),
        ReloadError::InvalidArgument(m) => Error::InvalidArgument(m),
        ReloadError::Failed(m) => Error::Internal(m),
    }
}

fn report_dict(r: &Report) -> Dict {
    let mut d = Dict::new();
    put_str(&mut d, rk::MODEL_ID, r.model_id.clone());
    put_str(&mut d, rk::MODE, r.mode.clone());
    put_str(&mut d, rk::STRATEGY, r.strategy.as_str());
    if let Some(p) = &r.plan {
        put_str(&mut d, rk::PLAN, p.clone());
    }
    put(&mut d, rk::SECONDS, r.seconds);
    put(&mut d, rk::RESTART_REQUIRED, r.restart_required.clone());
    put_str(&mut d, rk::CONFIG, r.config.clone());
    d
}

/// Run cache maintenance on the blocking pool; cache errors become D-Bus errors.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> medllm_cache::Result<T> + Send + 'static,
) -> Result<T, Error> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(medllm_cache::CacheError::KeyNotRotatable(source))) => {
            Err(Error::NotSupported(format!(
                "the cache key comes from the systemd credential {source}; rotate it with systemd-creds \
             and restart the service (see docs/deployment.md)"
            )))
        }
        Ok(Err(e)) => Err(Error::Internal(format!("answer cache: {e}"))),
        Err(e) => Err(Error::Internal(format!("the cache task failed: {e}"))),
    }
}

/// (resident, peak resident) memory of this process in bytes, from `/proc/self/status`.
fn memory() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
