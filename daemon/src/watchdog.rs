//! systemd's watchdog (`WatchdogSec=`): `WATCHDOG=1` pings while the engine loop is alive.
//!
//! The engine thread stamps a heartbeat every loop iteration: at least once a second when idle,
//! once per decode step when busy. A step can be long on a slow CPU (a 256-token prefill chunk of a
//! 7B model at a few tokens per second takes a minute), so a ping is sent when the heartbeat is
//! younger than half the watchdog period, and systemd restarts the service only after the engine
//! has been stuck for at least half a period (the unit sets `WatchdogSec=180`: stuck for 90–180 s).
//! While a reload replaces the engine there may be no engine for a while: pings continue then.
//! A failed engine (thread gone, heartbeat frozen) stops the pings, and systemd restarts us.
//!
//! Without `WATCHDOG_USEC` (not under systemd, or no `WatchdogSec=`) nothing runs.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::app;
use crate::reload::Reloader;
use crate::service::Service;

/// Start pinging if systemd asked for it; `None` when the watchdog is off.
pub fn spawn(service: Service, reloader: Reloader) -> Option<JoinHandle<()>> {
    let mut usec = 0;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return None;
    }
    let period = Duration::from_micros(usec);
    let stale_after = period / 2;
    // Several pings per period, so one late tick does not cost the service its life.
    let every = (period / 4).max(Duration::from_millis(500));
    tracing::info!(
        period_s = period.as_secs(),
        stale_after_s = stale_after.as_secs(),
        "systemd watchdog enabled"
    );
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        let mut withheld = false;
        loop {
            tick.tick().await;
            let age = service.engine().map(|e| e.heartbeat_age());
            if alive(age, reloader.in_progress(), stale_after) {
                if withheld {
                    tracing::info!("engine heartbeat back; watchdog pings resumed");
                    withheld = false;
                }
                app::notify(&[sd_notify::NotifyState::Watchdog]);
            } else if !withheld {
                withheld = true;
                tracing::error!(
                    heartbeat_age_s = age.map(|a| a.as_secs()),
                    "the engine loop is not running; withholding watchdog pings so systemd restarts the service"
                );
            }
        }
    }))
}

/// Whether to ping: the engine's heartbeat (`None`: no engine attached) is fresh, or a reload is
/// replacing the engine.
pub fn alive(heartbeat_age: Option<Duration>, reloading: bool, stale_after: Duration) -> bool {
    match heartbeat_age {
        _ if reloading => true,
        Some(age) => age < stale_after,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_only_for_a_live_engine_or_a_reload() {
        let s = Duration::from_secs(90);
        assert!(alive(Some(Duration::from_secs(1)), false, s));
        assert!(!alive(Some(Duration::from_secs(91)), false, s));
        assert!(!alive(None, false, s));
        assert!(alive(None, true, s));
        assert!(alive(Some(Duration::from_secs(500)), true, s));
    }
}
