//! Everything the engine needs to start: the model file, the llama.cpp settings a plan decides,
//! and the scheduling knobs. Built by the daemon from its config file and the planner's plan.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::core::CoreConfig;
use super::types::EngineError;

/// Flash attention policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FlashAttention {
    /// Let llama.cpp decide per backend.
    #[default]
    Auto,
    /// Always on.
    On,
    /// Always off (ablation).
    Off,
}

/// KV cache element type (K and V use the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum KvType {
    /// 16-bit floats: exact enough for everything.
    #[default]
    F16,
    /// 8-bit: half the KV memory, tiny quality cost.
    Q8_0,
    /// 4-bit: a quarter of the memory, noticeable quality cost.
    Q4_0,
}

impl KvType {
    /// Name as in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            KvType::F16 => "f16",
            KvType::Q8_0 => "q8_0",
            KvType::Q4_0 => "q4_0",
        }
    }
}

/// A LoRA adapter the engine loads at start.
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterSpec {
    /// Name for logs and status (e.g. the specialty).
    pub name: String,
    /// The adapter GGUF (llama.cpp's `general.type = adapter` format).
    pub path: PathBuf,
    /// Strength it is applied with (1.0 = as trained).
    pub scale: f32,
}

/// Engine settings, validated by [`EngineConfig::validate`].
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The GGUF model to serve.
    pub model_path: PathBuf,
    /// KV cells shared by every sequence (templates and requests).
    pub n_ctx: u32,
    /// Largest batch per `decode` call.
    pub n_batch: u32,
    /// Micro-batch llama.cpp splits a batch into (bounds its compute buffer).
    pub n_ubatch: u32,
    /// Threads for single-token decoding.
    pub threads: u32,
    /// Threads for prompt processing.
    pub threads_batch: u32,
    /// Flash attention policy.
    pub flash_attention: FlashAttention,
    /// KV cache element type.
    pub kv_type: KvType,
    /// Layers offloaded to the GPU (llama.cpp offloads the last ones).
    pub n_gpu_layers: u32,
    /// Tensor-name regexes whose weights stay in host memory even in offloaded layers.
    pub cpu_overrides: Vec<String>,
    /// Keep full-size caches for sliding-window layers (needed for some prefix reuse).
    pub swa_full: bool,
    /// Memory-map the model file (shared page cache, fast start).
    pub use_mmap: bool,
    /// Lock the weights in RAM (no swapping).
    pub use_mlock: bool,
    /// Scheduling knobs.
    pub core: CoreConfig,
    /// Requests that may wait beyond the `max_parallel` being served.
    pub max_queue: usize,
    /// System prompts, one reserved sequence each.
    pub templates: Vec<String>,
    /// Where ggml backend modules live (`None`: `MEDLLM_BACKENDS_DIR`, else the build's own).
    pub backends_dir: Option<PathBuf>,
    /// LoRA adapters to load (see `core.template_adapters` for which template uses which).
    pub adapters: Vec<AdapterSpec>,
    /// Chat template: `auto` (the model's, else its family's built-in), `plain`, or a llama.cpp
    /// built-in template name.
    pub chat_template: Option<String>,
    /// Force a CPU backend variant (`haswell`, `icelake`, …); `None` picks the best that works.
    pub cpu_variant: Option<String>,
}

impl EngineConfig {
    /// Reasonable settings for a small model on this machine, for tests and tools.
    pub fn for_model(model_path: impl Into<PathBuf>) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
        Self {
            model_path: model_path.into(),
            n_ctx: 4096,
            n_batch: 512,
            n_ubatch: 512,
            threads: cores,
            threads_batch: cores,
            flash_attention: FlashAttention::Auto,
            kv_type: KvType::F16,
            n_gpu_layers: 0,
            cpu_overrides: Vec::new(),
            swa_full: false,
            use_mmap: true,
            use_mlock: false,
            core: CoreConfig {
                max_parallel: 4,
                prefill_chunk: 256,
                template_reuse: true,
                template_adapters: Vec::new(),
            },
            max_queue: 16,
            templates: vec![DEFAULT_SYSTEM_PROMPT.to_string()],
            backends_dir: None,
            cpu_variant: None,
            chat_template: None,
            adapters: Vec::new(),
        }
    }

    /// Check relations between fields; the message names the setting.
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |m: String| Err(EngineError::InvalidArgument(m));
        if self.n_ctx < 64 {
            return bad(format!("n_ctx must be at least 64, got {}", self.n_ctx));
        }
        if self.n_batch == 0 || self.n_ubatch == 0 || self.n_ubatch > self.n_batch {
            return bad(format!(
                "need 0 < n_ubatch ({}) <= n_batch ({})",
                self.n_ubatch, self.n_batch
            ));
        }
        if self.core.max_parallel == 0 || self.core.max_parallel as u32 > self.n_batch {
            return bad(format!(
                "max_parallel must be in 1..=n_batch, got {}",
                self.core.max_parallel
            ));
        }
        if self.threads == 0 || self.threads_batch == 0 {
            return bad("threads must be at least 1".into());
        }
        if self.templates.is_empty() {
            return bad("at least one system prompt is needed".into());
        }
        if let Some(missing) = self
            .core
            .template_adapters
            .iter()
            .flatten()
            .find(|&&a| a >= self.adapters.len())
        {
            return bad(format!(
                "template adapter {missing} does not exist ({} loaded)",
                self.adapters.len()
            ));
        }
        if self.templates.len() + self.core.max_parallel > 256 {
            return bad("too many sequences (templates + max_parallel > 256)".into());
        }
        Ok(())
    }
}

/// Used when no category templates are configured.
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are a careful medical assistant for clinicians. \
Answer concisely and according to current evidence-based guidelines. Never invent doses; \
advise seeing a clinician when appropriate.";
