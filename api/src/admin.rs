//! The admin interface, `org.medllm.Daemon1.Admin` on `/org/medllm/Daemon1`: reload, re-plan,
//! deployment mode, the answer cache, statistics.
//!
//! Every method is authorised by the daemon with polkit action [`ACTION_MANAGE`] for the
//! *caller* (from the message header), or by the `[auth]` fallback rule where polkit is absent.
//! The D-Bus policy lets anyone reach this interface; polkit decides. Clients that can show a
//! password prompt (through a polkit agent) should allow interactive authorisation, as the proxy
//! below does.

// The proxy macro generates items without doc comments.
#![allow(missing_docs)]

use zbus::proxy;

use crate::Error;
use crate::dict::Dict;

/// polkit action for `Ask`, `StartAsk` and `Classify` when `[auth] ask_polkit` is on.
pub const ACTION_ASK: &str = "org.medllm.daemon1.ask";

/// polkit action for every method of the admin interface.
pub const ACTION_MANAGE: &str = "org.medllm.daemon1.manage";

/// The deployment modes `SetMode` accepts.
pub const MODES: [&str; 3] = ["base", "adapter", "merged"];

/// Keys of the report that `Reload`, `Replan` and `SetMode` return.
pub mod report {
    /// s: the model now served (as the `ModelId` property).
    pub const MODEL_ID: &str = "model_id";
    /// s: `base`, `adapter` or `merged`.
    pub const MODE: &str = "mode";
    /// s: how the engine was replaced: `overlap` (the new engine loaded while the old one served),
    /// `drain-first` (not enough memory for both: requests paused while it loaded) or
    /// `unchanged` (the new settings equal the running ones; nothing was restarted).
    pub const STRATEGY: &str = "strategy";
    /// s: the placement plan in use, one line (absent with the planner off).
    pub const PLAN: &str = "plan";
    /// d: seconds the reload took.
    pub const SECONDS: &str = "seconds";
    /// as: config keys that changed but only take effect at a restart.
    pub const RESTART_REQUIRED: &str = "restart_required";
    /// s: the config file read (`""`: built-in defaults).
    pub const CONFIG: &str = "config";
}

/// Keys of `PurgeCache`'s reply.
pub mod purge {
    /// t: expired entries removed.
    pub const EXPIRED: &str = "expired";
    /// t: entries removed by the size caps.
    pub const EVICTED: &str = "evicted";
    /// t: dangling or unreadable records removed.
    pub const REPAIRED: &str = "repaired";
    /// b: whether the key was replaced (everything stored before is unreadable and deleted).
    pub const ROTATED: &str = "rotated";
}

/// Keys of `GetStats`' reply (besides the engine counters, which use the `Status()` key names
/// `active_requests`, `queue_length`, `requests_completed`, `requests_failed`, `tokens_generated`,
/// `prompt_tokens_computed`, `prompt_tokens_reused`, `preemptions`, `kv_cells_used`,
/// `kv_cells_total`, and `state`, `model_id`, `mode`, `uptime_seconds`).
pub mod stats {
    /// t: milliseconds since the engine loop last went round (the watchdog's input).
    pub const ENGINE_HEARTBEAT_AGE_MS: &str = "engine_heartbeat_age_ms";
    /// t: `decode` calls since the engine started.
    pub const DECODE_STEPS: &str = "decode_steps";
    /// u: free request slots that still hold KV cells (always 0 unless there is a bug).
    pub const LEAKED_SEQUENCES: &str = "leaked_sequences";
    /// t: successful reloads since start.
    pub const RELOADS: &str = "reloads";
    /// t: failed reloads since start.
    pub const RELOAD_FAILURES: &str = "reload_failures";
    /// t: seconds since the last reload ended (absent before the first).
    pub const LAST_RELOAD_SECONDS_AGO: &str = "last_reload_seconds_ago";
    /// s: why the last reload failed (absent if it succeeded).
    pub const LAST_RELOAD_ERROR: &str = "last_reload_error";
    /// b: a reload is running now.
    pub const RELOAD_IN_PROGRESS: &str = "reload_in_progress";
    /// t: resident memory of the daemon, bytes.
    pub const MEMORY_RSS_BYTES: &str = "memory_rss_bytes";
    /// t: peak resident memory of the daemon, bytes.
    pub const MEMORY_PEAK_RSS_BYTES: &str = "memory_peak_rss_bytes";
    /// t: systemd watchdog period in microseconds (0: no watchdog).
    pub const WATCHDOG_USEC: &str = "watchdog_usec";
    /// s: who answered the last authorisation: `polkit`, `fallback rule` or `unknown`.
    pub const AUTH: &str = "auth";
    /// s: the log filter in use.
    pub const LOG_FILTER: &str = "log_filter";
    /// s: where logs go: `journal`, `console` or `null`.
    pub const LOG_TARGET: &str = "log_target";
    /// b: the answer cache is open.
    pub const CACHE_ENABLED: &str = "cache_enabled";
}

/// Keys of `CacheStats`' reply (all `t` except where noted).
pub mod cache {
    /// Entries in memory.
    pub const L1_ENTRIES: &str = "l1_entries";
    /// Bytes of text in memory.
    pub const L1_BYTES: &str = "l1_bytes";
    /// Entries dropped from memory by its budget.
    pub const L1_EVICTIONS: &str = "l1_evictions";
    /// Entries on disk.
    pub const L2_ENTRIES: &str = "l2_entries";
    /// Bytes of encrypted entries on disk.
    pub const L2_BYTES: &str = "l2_bytes";
    /// What the store occupies on disk (with not yet compacted space).
    pub const L2_DISK_BYTES: &str = "l2_disk_bytes";
    /// Entries removed from disk by the caps.
    pub const L2_EVICTIONS: &str = "l2_evictions";
    /// Questions in the semantic index.
    pub const SEMANTIC_ENTRIES: &str = "semantic_entries";
    /// s: why the semantic tier is off (absent when on).
    pub const SEMANTIC_DISABLED: &str = "semantic_disabled";
    /// Exact hits from memory.
    pub const HITS_L1: &str = "hits_l1";
    /// Exact hits from disk.
    pub const HITS_L2: &str = "hits_l2";
    /// Semantic hits.
    pub const HITS_SEMANTIC: &str = "hits_semantic";
    /// Lookups that found nothing servable.
    pub const MISSES: &str = "misses";
    /// Semantic candidates vetoed by a guard.
    pub const SEMANTIC_VETOED: &str = "semantic_vetoed";
    /// Lookups skipped (non-deterministic request, identifiers in the question, …).
    pub const BYPASSED: &str = "bypassed";
    /// Answers stored.
    pub const STORES: &str = "stores";
    /// Answers refused by admission.
    pub const REFUSED: &str = "refused";
    /// Entries removed because they expired.
    pub const EXPIRED: &str = "expired";
    /// Entries deleted because they failed authentication or decoding.
    pub const CORRUPT_DELETED: &str = "corrupt_deleted";
    /// s: where a corrupt store was moved at open (absent if not).
    pub const RECOVERED_STORE: &str = "recovered_store";
    /// s: the stats as text, for people (what `medctl cache stats` prints).
    pub const SUMMARY: &str = "summary";
}

/// `org.medllm.Daemon1.Admin` on `/org/medllm/Daemon1`.
#[proxy(
    interface = "org.medllm.Daemon1.Admin",
    default_service = "org.medllm.Daemon1",
    default_path = "/org/medllm/Daemon1",
    gen_blocking = false
)]
pub trait Admin {
    /// Re-read the config file and the model, re-plan, and replace the engine without losing a
    /// request. Returns the [`report`].
    #[zbus(allow_interactive_auth)]
    fn reload(&self) -> Result<Dict, Error>;

    /// Plan the placement again for the memory free now (same config) and restart the engine
    /// if the plan changed. Returns the [`report`].
    #[zbus(allow_interactive_auth)]
    fn replan(&self) -> Result<Dict, Error>;

    /// Switch the deployment mode (`base`, `adapter`, `merged`); a reload with another engine
    /// configuration. Returns the [`report`].
    #[zbus(allow_interactive_auth)]
    fn set_mode(&self, mode: &str) -> Result<Dict, Error>;

    /// Remove every cached answer (both tiers). The bytes stay ciphertext on disk until the store
    /// compacts; `PurgeCache(true)` makes them unreadable at once.
    #[zbus(allow_interactive_auth)]
    fn clear_cache(&self) -> Result<(), Error>;

    /// Remove expired and over-cap entries now; with `rotate_key`, also replace the cache key and
    /// delete the store (nothing stored before can be read again). Returns the [`purge`] counts.
    #[zbus(allow_interactive_auth)]
    fn purge_cache(&self, rotate_key: bool) -> Result<Dict, Error>;

    /// The answer cache's counters (entries and bytes per tier, hits, misses, vetoes, …).
    #[zbus(allow_interactive_auth)]
    fn cache_stats(&self) -> Result<Dict, Error>;

    /// Operational statistics: engine counters, heartbeat, reloads, memory, watchdog, auth.
    #[zbus(allow_interactive_auth)]
    fn get_stats(&self) -> Result<Dict, Error>;
}
