//! Where logs go and how verbose they are, changeable at run time.
//!
//! Under systemd (`JOURNAL_STREAM` names the very stream our stderr is) events go to the journal
//! natively, with their fields as journal fields (`MEDLLM_REQUEST`, `MEDLLM_UID`, `MEDLLM_PID`,
//! `MEDLLM_CATEGORY`, `MEDLLM_COMPLETION_TOKENS`, …; `journalctl -u medllmd MEDLLM_UID=1000`);
//! otherwise they are formatted on stderr. The filter and the target can be changed while the
//! daemon runs, through `org.freedesktop.LogControl1` (`systemctl service-log-level medllmd
//! debug`, see `dbus::logcontrol`) or a config reload.
//!
//! Logs never carry question or answer text: log calls name requests by id and record counts,
//! categories, timings and outcomes. Keep it that way — and do not raise `zbus` or `llama-cpp-2` to
//! `trace`, whose messages are not under our control (LogControl1's `debug` raises only
//! `medllmd`).

use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use tracing_subscriber::filter::{EnvFilter, LevelFilter, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry, fmt, reload};

/// The journal's syslog identifier for our entries.
pub const SYSLOG_IDENTIFIER: &str = "medllmd";

/// Prefix of our fields in the journal (`request` → `MEDLLM_REQUEST`).
const FIELD_PREFIX: &str = "MEDLLM";

/// Where events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Target {
    /// Formatted lines on stderr.
    Console = 0,
    /// The systemd journal, with structured fields.
    Journal = 1,
    /// Nowhere.
    Null = 2,
}

impl Target {
    /// As LogControl1 names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Console => "console",
            Target::Journal => "journal",
            Target::Null => "null",
        }
    }
}

/// The live logging setup.
#[derive(Debug)]
pub struct Logging {
    filter: reload::Handle<EnvFilter, Registry>,
    filter_text: std::sync::Mutex<String>,
    target: Arc<AtomicU8>,
    /// The journal was reachable at start (a journal target is possible).
    journal_available: bool,
    /// The target `auto` stands for.
    auto: Target,
}

static LOGGING: OnceLock<Logging> = OnceLock::new();

/// The setup made by [`init`], if any (tests and tools run without one).
pub fn get() -> Option<&'static Logging> {
    LOGGING.get()
}

/// Install the global subscriber with `filter` (a tracing filter such as `info,medllmd=debug`,
/// already validated by the config). Returns `None` when called twice.
pub fn init(filter: &str) -> Option<&'static Logging> {
    let env_filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter_layer, handle) = reload::Layer::new(env_filter);
    let under_journal = stderr_is_journal();
    let journald = if under_journal {
        tracing_journald::layer()
            .map(|l| {
                l.with_syslog_identifier(SYSLOG_IDENTIFIER.to_string())
                    .with_field_prefix(Some(FIELD_PREFIX.to_string()))
            })
            .ok()
    } else {
        None
    };
    let auto = if journald.is_some() {
        Target::Journal
    } else {
        Target::Console
    };
    let target = Arc::new(AtomicU8::new(auto as u8));
    let only = |t: Target| {
        let target = Arc::clone(&target);
        filter_fn(move |_| target.load(Ordering::Relaxed) == t as u8)
    };
    // Under systemd the journal stamps lines itself; a terminal wants the time.
    let console_plain = under_journal.then(|| {
        fmt::layer()
            .with_writer(std::io::stderr)
            .without_time()
            .with_ansi(false)
            .with_filter(only(Target::Console))
    });
    let console_timed = (!under_journal).then(|| {
        fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(only(Target::Console))
    });
    let journal_available = journald.is_some();
    let journald = journald.map(|l| l.with_filter(only(Target::Journal)));
    tracing_subscriber::registry()
        .with(filter_layer)
        .with(console_plain)
        .with(console_timed)
        .with(journald)
        .try_init()
        .ok()?;
    LOGGING
        .set(Logging {
            filter: handle,
            filter_text: std::sync::Mutex::new(filter.to_string()),
            target,
            journal_available,
            auto,
        })
        .ok()?;
    LOGGING.get()
}

impl Logging {
    /// The filter in use, as text.
    pub fn filter(&self) -> String {
        self.filter_text
            .lock()
            .map(|f| f.clone())
            .unwrap_or_default()
    }

    /// Replace the filter (`info`, `warn,medllmd=debug`, …).
    pub fn set_filter(&self, filter: &str) -> Result<(), String> {
        let new = EnvFilter::try_new(filter).map_err(|e| format!("{filter:?}: {e}"))?;
        self.filter.reload(new).map_err(|e| e.to_string())?;
        if let Ok(mut f) = self.filter_text.lock() {
            *f = filter.to_string();
        }
        tracing::info!(filter, "log filter changed");
        Ok(())
    }

    /// The most verbose level the filter lets through anywhere.
    pub fn max_level(&self) -> LevelFilter {
        self.filter
            .with_current(|f| f.max_level_hint())
            .ok()
            .flatten()
            .unwrap_or(LevelFilter::TRACE)
    }

    /// Where events go now.
    pub fn target(&self) -> Target {
        match self.target.load(Ordering::Relaxed) {
            1 => Target::Journal,
            2 => Target::Null,
            _ => Target::Console,
        }
    }

    /// Send events to `target`; `None` means what start-up chose (`auto`).
    pub fn set_target(&self, target: Option<Target>) -> Result<(), String> {
        let t = target.unwrap_or(self.auto);
        if t == Target::Journal && !self.journal_available {
            return Err("the journal is not available to this process".into());
        }
        self.target.store(t as u8, Ordering::Relaxed);
        // Per-layer filters cache their verdict per call site; make them ask again.
        tracing::callsite::rebuild_interest_cache();
        tracing::info!(target = t.as_str(), "log target changed");
        Ok(())
    }
}

/// Whether stderr is the stream systemd connected to the journal (`JOURNAL_STREAM=dev:inode`),
/// rather than something the service redirected it to.
fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    std::fs::metadata("/proc/self/fd/2").is_ok_and(|m| {
        value
            .to_str()
            .is_some_and(|v| stream_matches(v, m.dev(), m.ino()))
    })
}

/// Whether a `JOURNAL_STREAM` value (`<device>:<inode>`) names the file with `dev` and `ino`.
fn stream_matches(value: &str, dev: u64, ino: u64) -> bool {
    let Some((d, i)) = value.split_once(':') else {
        return false;
    };
    d.parse::<u64>() == Ok(dev) && i.parse::<u64>() == Ok(ino)
}

/// The filter for a syslog level name (LogControl1's vocabulary): only our own crate goes to
/// `debug`, so library internals (which we do not vet for patient text) stay at `info`.
pub fn filter_for_syslog_level(level: &str) -> Option<&'static str> {
    Some(match level {
        "emerg" | "alert" | "crit" | "err" => "error",
        "warning" => "warn",
        "notice" | "info" => "info",
        "debug" => "info,medllmd=debug",
        _ => return None,
    })
}

/// The syslog level name for a tracing level.
pub fn syslog_level(max: LevelFilter) -> &'static str {
    match max {
        LevelFilter::OFF | LevelFilter::ERROR => "err",
        LevelFilter::WARN => "warning",
        LevelFilter::INFO => "info",
        _ => "debug",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_levels_map_both_ways() {
        for level in ["err", "warning", "info", "debug"] {
            let filter = filter_for_syslog_level(level).unwrap_or("?");
            let max = EnvFilter::try_new(filter)
                .ok()
                .and_then(|f| f.max_level_hint())
                .unwrap_or(LevelFilter::TRACE);
            assert_eq!(syslog_level(max), level, "{filter}");
        }
        assert_eq!(filter_for_syslog_level("verbose"), None);
    }

    #[test]
    fn journal_stream_must_name_our_stderr() {
        assert!(stream_matches("8:1234", 8, 1234));
        assert!(!stream_matches("8:1234", 8, 1235));
        assert!(!stream_matches("9:1234", 8, 1234));
        assert!(!stream_matches("8-1234", 8, 1234));
        assert!(!stream_matches("", 8, 1234));
    }
}
