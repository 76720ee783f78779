//! `medllmd.toml` as written: every key optional, unknown keys rejected by serde (its message
//! names the key, [`super::parse_raw`] adds the file). Validation lives in [`super::Config`].

use std::path::PathBuf;

use serde::Deserialize;

use crate::engine::{FlashAttention, KvType};

/// `[daemon]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDaemon {
    /// `system` or `session`.
    pub bus: Option<String>,
    /// A tracing filter: `info`, `debug`, `medllmd=debug,zbus=warn`, ….
    pub log_level: Option<String>,
    /// On SIGTERM, how long in-flight answers may finish before they are cancelled.
    pub shutdown_grace_seconds: Option<u64>,
    /// Where the daemon keeps its state (saved plan, model hash cache).
    pub state_dir: Option<PathBuf>,
}

/// `[model]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// The GGUF file to serve.
    pub path: Option<PathBuf>,
    /// A `categories.toml`; empty means the built-in categories and templates.
    pub categories: Option<PathBuf>,
    /// Where ggml backend modules live; empty means the build's default.
    pub backends_dir: Option<PathBuf>,
}

/// `[engine]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEngine {
    /// KV cells shared by templates and requests.
    pub n_ctx: Option<u32>,
    /// Largest batch per decode call.
    pub n_batch: Option<u32>,
    /// Micro-batch size.
    pub n_ubatch: Option<u32>,
    /// Threads for generation (0: all cores).
    pub threads: Option<u32>,
    /// Threads for prompt processing (0: all cores).
    pub threads_batch: Option<u32>,
    /// Layers offloaded to the GPU.
    pub n_gpu_layers: Option<u32>,
    /// `auto`, `on` or `off`.
    pub flash_attention: Option<FlashAttention>,
    /// `f16`, `q8_0` or `q4_0`.
    pub kv_type: Option<KvType>,
    /// Tensor-name regexes kept in host memory.
    pub cpu_overrides: Option<Vec<String>>,
    /// Full-size caches for sliding-window layers.
    pub swa_full: Option<bool>,
    /// Memory-map the model file.
    pub use_mmap: Option<bool>,
    /// Lock the weights in RAM.
    pub use_mlock: Option<bool>,
    /// Most prompt tokens computed per step.
    pub prefill_chunk: Option<usize>,
    /// Reuse the category templates' KV for every request.
    pub template_reuse: Option<bool>,
}

/// `[limits]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Requests generated at the same time.
    pub max_parallel: Option<usize>,
    /// Requests that may wait beyond `max_parallel`; more get `Busy`.
    pub max_queue: Option<usize>,
    /// Longest accepted question in bytes.
    pub max_question_bytes: Option<usize>,
    /// Requests one client connection may have in flight.
    pub max_inflight_per_caller: Option<usize>,
}

/// `[dbus]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDbus {
    /// Least time between two `ActiveRequests`/`QueueLength` change signals.
    pub property_interval_ms: Option<u64>,
    /// How long answer chunks are gathered into one `Tokens` signal (0: one signal per chunk).
    pub tokens_coalesce_ms: Option<u64>,
}

/// `[planner]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlanner {
    /// Plan placement and engine settings at start (false: engine defaults + `[engine]`).
    pub enabled: Option<bool>,
    /// Plan for this recorded host profile instead of probing the machine (what-ifs, tests).
    pub host_profile: Option<PathBuf>,
    /// VRAM kept free beyond the prediction, MiB.
    pub vram_margin_mib: Option<u64>,
    /// RAM kept free beyond the prediction, MiB.
    pub ram_margin_mib: Option<u64>,
    /// Measure this CPU's memory bandwidth once (cached in the state directory).
    pub calibrate: Option<bool>,
    /// Tokens one request may hold (prompt + answer).
    pub ctx_per_request: Option<u32>,
    /// Expected prompt tokens per request (weights the speed objective).
    pub expected_prompt_tokens: Option<u32>,
    /// Expected answer tokens per request (weights the speed objective).
    pub expected_answer_tokens: Option<u32>,
    /// How often free GPU memory and RAM are re-checked against the plan, seconds (0: never).
    pub recheck_seconds: Option<u64>,
    /// Re-plan and reload on our own at the next idle moment while degraded.
    pub auto_replan: Option<bool>,
}

/// The file as written: every key optional, unknown keys rejected.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[daemon]`.
    #[serde(default)]
    pub daemon: RawDaemon,
    /// `[model]`.
    #[serde(default)]
    pub model: RawModel,
    /// `[engine]`.
    #[serde(default)]
    pub engine: RawEngine,
    /// `[limits]`.
    #[serde(default)]
    pub limits: RawLimits,
    /// `[dbus]`.
    #[serde(default)]
    pub dbus: RawDbus,
    /// `[cache]` (see docs/cache.md).
    #[serde(default)]
    pub cache: medllm_cache::RawCacheConfig,
    /// `[planner]`.
    #[serde(default)]
    pub planner: RawPlanner,
    /// `[auth]` (admin interface and polkit).
    #[serde(default)]
    pub auth: super::auth::RawAuth,
    /// `[mode]` (deployment mode, adapters, merged model; see docs/adapters.md).
    #[serde(default)]
    pub mode: crate::deploy::RawMode,
}
