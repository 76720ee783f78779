//! The daemon's configuration: `medllmd.toml` as written ([`RawConfig`]) → as used ([`Config`]).
//!
//! Owns reading the file, rejecting unknown keys (the message names the file and the key, so a
//! typo never silently falls back to a default), checking ranges, resolving relative paths
//! against the file's directory, and applying command-line overrides. Every key is documented in
//! `configs/medllmd.toml`; a test keeps the two in step. It must not start anything.
//!
//! Engine keys that a host plan will decide (`n_ctx`, `n_gpu_layers`, threads, …) stay `None`
//! when unset, so start-up can fill them from the plan; today the engine's defaults apply.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::engine::{FlashAttention, KvType};
use crate::service::ServiceConfig;

mod auth;
mod raw;

pub use self::auth::{AuthSettings, Fallback, RawAuth};
pub use self::raw::{RawConfig, RawDaemon, RawDbus, RawEngine, RawLimits, RawModel, RawPlanner};

/// Where the config is read from when neither `--config` nor `MEDLLM_CONFIG` says otherwise.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/medllm/medllmd.toml";

/// Where state lives when the config names no directory.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/medllm";

/// The model served when the config names none.
pub const DEFAULT_MODEL_PATH: &str = "/var/lib/medllm/models/gemma-3-270m-q4_k_m.gguf";

/// What can go wrong reading the config; each message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// TOML syntax, an unknown key or a wrong type (toml's message names the key and line).
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's message.
        message: String,
    },
    /// A value out of range or inconsistent with another.
    #[error("{origin}: {key}: {message}")]
    Invalid {
        /// The file, or "command line"/"built-in defaults".
        origin: String,
        /// `section.key`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// Which bus to serve on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusChoice {
    /// The system bus (production).
    System,
    /// The user's session bus (development).
    Session,
    /// A bus at an explicit address (tests).
    Address(String),
}

impl BusChoice {
    /// For messages: "the system bus", ….
    pub fn describe(&self) -> String {
        match self {
            BusChoice::System => "the system bus".into(),
            BusChoice::Session => "the session bus".into(),
            BusChoice::Address(a) => format!("the bus at {a}"),
        }
    }
}

/// Engine settings from the config; `None` where a plan (or the engine's default) decides.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(missing_docs)] // each field is the `[engine]` key of the same name
pub struct EngineSettings {
    pub n_ctx: Option<u32>,
    pub n_batch: Option<u32>,
    pub n_ubatch: Option<u32>,
    pub threads: Option<u32>,
    pub threads_batch: Option<u32>,
    pub n_gpu_layers: Option<u32>,
    pub flash_attention: Option<FlashAttention>,
    pub kv_type: Option<KvType>,
    pub cpu_overrides: Vec<String>,
    pub swa_full: Option<bool>,
    pub use_mmap: Option<bool>,
    pub use_mlock: Option<bool>,
    pub prefill_chunk: Option<usize>,
    pub template_reuse: Option<bool>,
}

/// D-Bus behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct DbusSettings {
    /// Least time between two `ActiveRequests`/`QueueLength` change signals.
    pub property_interval: Duration,
    /// How long chunks are gathered into one `Tokens` signal.
    pub tokens_coalesce: Duration,
    /// Who may use the admin interface and, optionally, ask (the `[auth]` section).
    pub auth: AuthSettings,
}

/// Admission limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Requests generated at the same time.
    pub max_parallel: usize,
    /// Requests that may wait beyond `max_parallel`.
    pub max_queue: usize,
    /// Longest accepted question in bytes.
    pub max_question_bytes: usize,
    /// Requests one client may have in flight.
    pub max_inflight_per_caller: usize,
}

/// Start-up planning.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannerSettings {
    /// Plan at start.
    pub enabled: bool,
    /// Plan for a recorded host instead of this machine.
    pub host_profile: Option<PathBuf>,
    /// VRAM margin, MiB.
    pub vram_margin_mib: Option<u64>,
    /// RAM margin, MiB.
    pub ram_margin_mib: Option<u64>,
    /// Calibrate CPU bandwidth (cached).
    pub calibrate: bool,
    /// Tokens per request.
    pub ctx_per_request: u32,
    /// Expected prompt tokens per request.
    pub expected_prompt_tokens: u32,
    /// Expected answer tokens per request.
    pub expected_answer_tokens: u32,
    /// Period of the free-memory re-check (`None`: never).
    pub recheck: Option<Duration>,
    /// Re-plan and reload at the next idle moment while degraded (see `replan`).
    pub auto_replan: bool,
}

/// The validated configuration the daemon runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from (`None`: built-in defaults).
    pub source: Option<PathBuf>,
    /// Which bus.
    pub bus: BusChoice,
    /// Tracing filter.
    pub log_level: String,
    /// Grace period for in-flight answers at shutdown.
    pub shutdown_grace: Duration,
    /// The GGUF model file.
    pub model_path: PathBuf,
    /// `categories.toml`, or `None` for the built-in one.
    pub categories: Option<PathBuf>,
    /// ggml backend modules.
    pub backends_dir: Option<PathBuf>,
    /// Engine overrides.
    pub engine: EngineSettings,
    /// Admission limits.
    pub limits: Limits,
    /// D-Bus behaviour.
    pub dbus: DbusSettings,
    /// Saved plan, model hash cache, calibration.
    pub state_dir: PathBuf,
    /// The answer cache (validated; `enabled = false` switches it off).
    pub cache: medllm_cache::CacheConfig,
    /// Start-up planning.
    pub planner: PlannerSettings,
    /// Deployment mode, adapters and merged model (`[mode]`).
    pub mode: crate::deploy::ModeSettings,
    /// The command-line overrides this config was made with (a reload applies them again).
    pub overrides: Overrides,
}

/// Command-line values that override the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--session`.
    pub session: bool,
    /// `--bus-address`.
    pub bus_address: Option<String>,
    /// `--model` (relative to the current directory).
    pub model: Option<PathBuf>,
    /// `--log-level`.
    pub log_level: Option<String>,
}

/// Where to look for the file.
#[derive(Debug, Clone)]
pub enum ConfigPath {
    /// Given with `--config` or `MEDLLM_CONFIG`: must exist.
    Explicit(PathBuf),
    /// [`DEFAULT_CONFIG_PATH`]: used when present, built-in defaults otherwise.
    Default,
}

impl Config {
    /// Read, validate and apply overrides.
    pub fn load(path: &ConfigPath, overrides: &Overrides) -> Result<Self, ConfigError> {
        let (raw, source) = match path {
            ConfigPath::Explicit(p) => (read_raw(p)?, Some(p.clone())),
            ConfigPath::Default => {
                let p = Path::new(DEFAULT_CONFIG_PATH);
                if p.exists() {
                    (read_raw(p)?, Some(p.to_path_buf()))
                } else {
                    (RawConfig::default(), None)
                }
            }
        };
        Self::from_raw(raw, source, overrides)
    }

    /// Validate a parsed file (`source` is used for messages and relative paths).
    pub fn from_raw(
        raw: RawConfig,
        source: Option<PathBuf>,
        o: &Overrides,
    ) -> Result<Self, ConfigError> {
        let origin = source.as_ref().map_or_else(
            || "built-in defaults".to_string(),
            |p| p.display().to_string(),
        );
        let base_dir = source
            .as_ref()
            .and_then(|p| p.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            origin: origin.clone(),
            key: key.into(),
            message,
        };
        let resolve = |p: PathBuf| if p.is_relative() { base_dir.join(p) } else { p };
        let non_empty = |p: Option<PathBuf>| p.filter(|p| !p.as_os_str().is_empty());

        let bus = match (&o.bus_address, o.session, raw.daemon.bus.as_deref()) {
            (Some(a), _, _) => BusChoice::Address(a.clone()),
            (None, true, _) => BusChoice::Session,
            (None, false, None | Some("system")) => BusChoice::System,
            (None, false, Some("session")) => BusChoice::Session,
            (None, false, Some(other)) => {
                return Err(invalid(
                    "daemon.bus",
                    format!("must be \"system\" or \"session\", got {other:?}"),
                ));
            }
        };
        let log_level = o
            .log_level
            .clone()
            .or(raw.daemon.log_level)
            .unwrap_or_else(|| "info".into());
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err()
            || log_level.trim().is_empty()
        {
            let key = if o.log_level.is_some() {
                "--log-level"
            } else {
                "daemon.log_level"
            };
            return Err(invalid(
                key,
                format!("{log_level:?} is not a valid log filter (try info or debug)"),
            ));
        }
        let grace = raw.daemon.shutdown_grace_seconds.unwrap_or(10);
        if grace > 3600 {
            return Err(invalid(
                "daemon.shutdown_grace_seconds",
                format!("must be at most 3600, got {grace}"),
            ));
        }

        let model_path = match (&o.model, non_empty(raw.model.path)) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) => resolve(p),
            (None, None) => PathBuf::from(DEFAULT_MODEL_PATH),
        };

        let e = raw.engine;
        if let Some(n) = e.n_ctx {
            if n < 64 {
                return Err(invalid(
                    "engine.n_ctx",
                    format!("must be at least 64, got {n}"),
                ));
            }
        }
        for (key, v) in [
            ("engine.n_batch", e.n_batch),
            ("engine.n_ubatch", e.n_ubatch),
        ] {
            if v == Some(0) {
                return Err(invalid(key, "must be at least 1".into()));
            }
        }
        if let (Some(b), Some(u)) = (e.n_batch, e.n_ubatch) {
            if u > b {
                return Err(invalid(
                    "engine.n_ubatch",
                    format!("must not exceed engine.n_batch ({u} > {b})"),
                ));
            }
        }
        if e.prefill_chunk == Some(0) {
            return Err(invalid("engine.prefill_chunk", "must be at least 1".into()));
        }
        let zero_is_all = |v: Option<u32>| v.filter(|&n| n > 0);
        let engine = EngineSettings {
            n_ctx: e.n_ctx,
            n_batch: e.n_batch,
            n_ubatch: e.n_ubatch,
            threads: zero_is_all(e.threads),
            threads_batch: zero_is_all(e.threads_batch),
            n_gpu_layers: e.n_gpu_layers,
            flash_attention: e.flash_attention,
            kv_type: e.kv_type,
            cpu_overrides: e.cpu_overrides.unwrap_or_default(),
            swa_full: e.swa_full,
            use_mmap: e.use_mmap,
            use_mlock: e.use_mlock,
            prefill_chunk: e.prefill_chunk,
            template_reuse: e.template_reuse,
        };

        let l = raw.limits;
        let limits = Limits {
            max_parallel: l.max_parallel.unwrap_or(4),
            max_queue: l.max_queue.unwrap_or(16),
            max_question_bytes: l.max_question_bytes.unwrap_or(16 * 1024),
            max_inflight_per_caller: l.max_inflight_per_caller.unwrap_or(4),
        };
        let ranges = [
            ("limits.max_parallel", limits.max_parallel, 1, 64),
            ("limits.max_queue", limits.max_queue, 0, 4096),
            (
                "limits.max_question_bytes",
                limits.max_question_bytes,
                1,
                1024 * 1024,
            ),
            (
                "limits.max_inflight_per_caller",
                limits.max_inflight_per_caller,
                1,
                4096,
            ),
        ];
        for (key, v, lo, hi) in ranges {
            if !(lo..=hi).contains(&v) {
                return Err(invalid(key, format!("must be in {lo}..={hi}, got {v}")));
            }
        }

        let interval = raw.dbus.property_interval_ms.unwrap_or(250);
        if !(50..=60_000).contains(&interval) {
            return Err(invalid(
                "dbus.property_interval_ms",
                format!("must be in 50..=60000, got {interval}"),
            ));
        }
        let coalesce = raw.dbus.tokens_coalesce_ms.unwrap_or(20);
        if coalesce > 1000 {
            return Err(invalid(
                "dbus.tokens_coalesce_ms",
                format!("must be at most 1000, got {coalesce}"),
            ));
        }

        let state_dir = non_empty(raw.daemon.state_dir)
            .map(resolve)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
        let mut raw_cache = raw.cache;
        for p in [
            &mut raw_cache.dir,
            &mut raw_cache.key_file,
            &mut raw_cache.embedder_dir,
        ] {
            if p.is_relative() && !p.as_os_str().is_empty() {
                *p = base_dir.join(&*p);
            }
        }
        let cache = raw_cache
            .validate()
            .map_err(|e| invalid("cache", e.to_string()))?;
        let p = raw.planner;
        let planner = PlannerSettings {
            enabled: p.enabled.unwrap_or(true),
            host_profile: non_empty(p.host_profile).map(resolve),
            vram_margin_mib: p.vram_margin_mib,
            ram_margin_mib: p.ram_margin_mib,
            calibrate: p.calibrate.unwrap_or(false),
            ctx_per_request: p.ctx_per_request.unwrap_or(2048),
            expected_prompt_tokens: p.expected_prompt_tokens.unwrap_or(300),
            expected_answer_tokens: p.expected_answer_tokens.unwrap_or(300),
            recheck: match p.recheck_seconds.unwrap_or(30) {
                0 => None,
                s => Some(Duration::from_secs(s)),
            },
            auto_replan: p.auto_replan.unwrap_or(true),
        };
        if !(256..=1 << 20).contains(&planner.ctx_per_request) {
            return Err(invalid(
                "planner.ctx_per_request",
                format!("must be in 256..=1048576, got {}", planner.ctx_per_request),
            ));
        }

        let auth = raw
            .auth
            .validate()
            .map_err(|(key, message)| invalid(key, message))?;
        let mode = raw
            .mode
            .validate(resolve)
            .map_err(|(key, message)| invalid(&key, message))?;

        Ok(Config {
            mode,
            overrides: o.clone(),
            state_dir,
            cache,
            planner,
            source,
            bus,
            log_level,
            shutdown_grace: Duration::from_secs(grace),
            model_path,
            categories: non_empty(raw.model.categories).map(resolve),
            backends_dir: non_empty(raw.model.backends_dir).map(resolve),
            engine,
            limits,
            dbus: DbusSettings {
                property_interval: Duration::from_millis(interval),
                tokens_coalesce: Duration::from_millis(coalesce),
                auth,
            },
        })
    }

    /// The service's limits.
    pub fn service_config(&self) -> ServiceConfig {
        ServiceConfig {
            max_question_bytes: self.limits.max_question_bytes,
            max_inflight_per_caller: self.limits.max_inflight_per_caller,
        }
    }

    /// A short, multi-line summary for `--check-config` and the start-up log.
    pub fn summary(&self) -> String {
        let src = self.source.as_ref().map_or_else(
            || "built-in defaults".to_string(),
            |p| p.display().to_string(),
        );
        format!(
            "config: {src}\nbus: {}\nmodel: {}\ncategories: {}\nlimits: max_parallel={} max_queue={} \
             max_question_bytes={} max_inflight_per_caller={}\nlog_level: {}",
            self.bus.describe(),
            self.model_path.display(),
            self.categories
                .as_ref()
                .map_or_else(|| "built-in".to_string(), |p| p.display().to_string()),
            self.limits.max_parallel,
            self.limits.max_queue,
            self.limits.max_question_bytes,
            self.limits.max_inflight_per_caller,
            self.log_level,
        )
    }
}

/// Read and parse one file.
fn read_raw(path: &Path) -> Result<RawConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_raw(&text, path)
}

/// Parse TOML text; `path` is for messages.
pub fn parse_raw(text: &str, path: &Path) -> Result<RawConfig, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        // toml's message spans lines ("TOML parse error at line 3 …"); keep it on one.
        message: e
            .to_string()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests;
