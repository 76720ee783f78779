//! Re-planning on its own when the memory the plan relied on is gone (planner issue, item 7).
//!
//! `app::recheck_memory` only *reports*: it turns the state to `degraded` with the reason. This task
//! acts on it: at the next idle moment (no request active or queued for `idle_for`) it asks the
//! [`Reloader`] for a [`Trigger::Replan`], which plans again for the memory free now and swaps the
//! engine without losing a request (see `reload`). It never re-plans under load — a clinic's queue
//! matters more than a tidier plan — and backs off after a re-plan that did not cure the state, so a
//! program that holds the memory for hours does not cause a reload every minute.
//!
//! `medctl replan` (Admin `Replan`) does the same on demand.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::reload::{Reloader, Trigger};
use crate::service::{Service, ServiceState};

/// When and how often to re-plan on our own.
#[derive(Debug, Clone, Copy)]
pub struct AutoReplan {
    /// How often the state and load are looked at.
    pub poll: Duration,
    /// How long the service must have been idle.
    pub idle_for: Duration,
    /// Minimum time between two automatic re-plans.
    pub backoff: Duration,
}

impl Default for AutoReplan {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(5),
            idle_for: Duration::from_secs(10),
            backoff: Duration::from_secs(600),
        }
    }
}

/// Start the task; it runs until the daemon exits.
pub fn spawn(service: Service, reloader: Reloader, cfg: AutoReplan) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(cfg.poll);
        let mut idle_since: Option<tokio::time::Instant> = None;
        let mut last_attempt: Option<tokio::time::Instant> = None;
        loop {
            tick.tick().await;
            let status = service.status();
            let now = tokio::time::Instant::now();
            let idle = status.active == 0 && status.queued == 0;
            idle_since = if idle {
                Some(idle_since.unwrap_or(now))
            } else {
                None
            };
            let ServiceState::Degraded(reason) = &status.state else {
                continue;
            };
            if !should_replan(
                idle_since.map(|t| now - t),
                last_attempt.map(|t| now - t),
                &cfg,
            ) {
                continue;
            }
            last_attempt = Some(now);
            tracing::info!(%reason, "degraded and idle: planning again for the memory free now");
            match reloader.reload(Trigger::Replan).await {
                Ok(report) => tracing::info!(
                    strategy = report.strategy.as_str(),
                    plan = report.plan.as_deref().unwrap_or("-"),
                    "automatic re-plan finished"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "automatic re-plan failed; the current engine keeps serving")
                }
            }
        }
    })
}

/// Whether to re-plan now: idle long enough, and the last attempt (if any) is older than the back-off.
fn should_replan(
    idle_for: Option<Duration>,
    since_last: Option<Duration>,
    cfg: &AutoReplan,
) -> bool {
    let idle = idle_for.is_some_and(|d| d >= cfg.idle_for);
    let backed_off = since_last.is_none_or(|d| d >= cfg.backoff);
    idle && backed_off
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replans_only_when_idle_long_enough_and_not_too_often() {
        let cfg = AutoReplan::default();
        let s = Duration::from_secs;
        assert!(should_replan(Some(s(10)), None, &cfg));
        assert!(
            !should_replan(Some(s(9)), None, &cfg),
            "not idle long enough"
        );
        assert!(!should_replan(None, None, &cfg), "busy");
        assert!(
            !should_replan(Some(s(60)), Some(s(599)), &cfg),
            "within the back-off"
        );
        assert!(should_replan(Some(s(60)), Some(s(600)), &cfg));
    }
}
