//! llama.cpp behind [`ModelOps`]: the only file in the workspace's serving path that uses
//! `llama-cpp-2`.
//!
//! Owns process-wide llama.cpp initialisation (backend modules, logging), model and context
//! creation from an [`EngineConfig`], prompt rendering through the model's chat template, batch
//! decoding, sampler chains and KV sequence operations. Everything here runs on the engine thread.

use std::ffi::CString;
use std::num::NonZeroU32;
use std::path::Path;
use std::pin::pin;
use std::sync::OnceLock;
use std::time::Instant;

use llama_cpp_2::DecodeError;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::{KvCacheType, LlamaContextParams};
use llama_cpp_2::context::session::LlamaStateSeqFlags;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaLoraAdapter, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;

use super::backends::{self, LoadedBackends};
use super::config::{EngineConfig, FlashAttention, KvType};
use super::ops::{BatchItem, DecodeFailure, ModelOps, Prompt, Token};
use super::types::{EngineError, SamplingParams};

/// Marks where the question goes when the chat template is rendered once per system prompt.
const SENTINEL: &str = "\u{1}MEDLLM_QUESTION\u{1}";

/// Where a plain-format answer ends.
const PLAIN_STOPS: [&str; 2] = ["\nQuestion:", "\n\n\n"];

static BACKEND: OnceLock<Result<(LlamaBackend, LoadedBackends), String>> = OnceLock::new();

/// Initialise llama.cpp once per process: load the backend modules (the CPU variant chosen for
/// this processor, plus any GPU module whose driver is present) and route its logs to `tracing`.
/// `backends_dir` and `cpu_variant` fall back to `MEDLLM_BACKENDS_DIR` / `MEDLLM_CPU_VARIANT`,
/// then to the build's own backend directory and the best variant.
pub fn backend(
    backends_dir: Option<&Path>,
    cpu_variant: Option<&str>,
) -> Result<(&'static LlamaBackend, &'static LoadedBackends), EngineError> {
    let init = BACKEND.get_or_init(|| {
        llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
        let env_dir = std::env::var_os("MEDLLM_BACKENDS_DIR").map(std::path::PathBuf::from);
        let dir = backends_dir
            .map(Path::to_path_buf)
            .or(env_dir)
            .or_else(|| llama_cpp_sys_2::BACKENDS_DIR.map(std::path::PathBuf::from));
        let env_variant = std::env::var("MEDLLM_CPU_VARIANT").ok();
        let variant = cpu_variant.map(str::to_string).or(env_variant);
        let loaded = match dir {
            Some(d) => backends::load_from(&d, variant.as_deref()).map_err(|e| e.to_string())?,
            None => LoadedBackends {
                cpu_variant: "builtin".into(),
                others: Vec::new(),
            },
        };
        let backend = LlamaBackend::init().map_err(|e| e.to_string())?;
        Ok((backend, loaded))
    });
    init.as_ref()
        .map(|(b, l)| (b, l))
        .map_err(|e| EngineError::Internal(format!("llama.cpp backend: {e}")))
}

/// What the loaded model reports about itself.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    /// `general.name` or the file stem.
    pub name: String,
    /// Architecture (`general.architecture`).
    pub architecture: String,
    /// Parameter count.
    pub n_params: u64,
    /// Weight bytes.
    pub size_bytes: u64,
    /// Context the model was trained with.
    pub n_ctx_train: u32,
    /// The chat template text, if the model has one.
    pub chat_template: Option<String>,
    /// Wall time to load weights and create the context.
    pub load_seconds: f64,
}

/// Load the model described by `cfg`, reporting progress (0..=1) through `progress`.
pub fn load_model(
    backend: &LlamaBackend,
    cfg: &EngineConfig,
    progress: impl FnMut(f32) -> bool + 'static,
) -> Result<LlamaModel, EngineError> {
    let params = LlamaModelParams::default()
        .with_n_gpu_layers(cfg.n_gpu_layers)
        .with_use_mmap(cfg.use_mmap)
        .with_use_mlock(cfg.use_mlock)
        .with_progress_callback(progress);
    let mut params = pin!(params);
    // llama.cpp keeps pointers to the patterns until the load is done: keep them alive here.
    let patterns: Vec<CString> = cfg
        .cpu_overrides
        .iter()
        .map(|p| CString::new(p.as_str()))
        .collect::<Result<_, _>>()
        .map_err(|_| EngineError::InvalidArgument("override pattern contains NUL".into()))?;
    for p in &patterns {
        params.as_mut().add_cpu_buft_override(p);
    }
    let model = LlamaModel::load_from_file(backend, &cfg.model_path, &params).map_err(|e| {
        EngineError::Internal(format!(
            "cannot load model {}: {e} (see the log above for llama.cpp's reason)",
            cfg.model_path.display()
        ))
    })?;
    drop(patterns);
    Ok(model)
}

/// Load the configured LoRA adapters against `model`.
pub fn load_adapters(
    model: &mut LlamaModel,
    specs: &[super::config::AdapterSpec],
) -> Result<Vec<(LlamaLoraAdapter, f32)>, EngineError> {
    specs
        .iter()
        .map(|s| {
            if !s.path.is_file() {
                return Err(EngineError::InvalidArgument(format!(
                    "adapter '{}': {} does not exist",
                    s.name,
                    s.path.display()
                )));
            }
            let a = model.lora_adapter_init(&s.path).map_err(|e| {
                EngineError::Internal(format!(
                    "adapter '{}' ({}) does not fit this model: {e}",
                    s.name,
                    s.path.display()
                ))
            })?;
            tracing::info!(adapter = %s.name, scale = s.scale, "LoRA adapter loaded");
            Ok((a, s.scale))
        })
        .collect()
}

/// Describe a loaded model.
pub fn describe(model: &LlamaModel, cfg: &EngineConfig, started: Instant) -> LoadedModel {
    let meta = |k: &str| model.meta_val_str(k).ok();
    LoadedModel {
        name: meta("general.name").unwrap_or_else(|| {
            cfg.model_path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        }),
        architecture: meta("general.architecture").unwrap_or_default(),
        n_params: model.n_params(),
        size_bytes: model.size(),
        n_ctx_train: model.n_ctx_train(),
        chat_template: model
            .chat_template(None)
            .ok()
            .and_then(|t| t.to_string().ok()),
        load_seconds: started.elapsed().as_secs_f64(),
    }
}

/// Create the serving context: one unified KV cache shared by templates and request slots.
pub fn new_context<'m>(
    backend: &LlamaBackend,
    model: &'m LlamaModel,
    cfg: &EngineConfig,
    n_templates: usize,
) -> Result<LlamaContext<'m>, EngineError> {
    let n_seq = (n_templates + cfg.core.max_parallel) as u32;
    let fa = match cfg.flash_attention {
        FlashAttention::Auto => llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_AUTO,
        FlashAttention::On => llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_ENABLED,
        FlashAttention::Off => llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_DISABLED,
    };
    let kv = kv_cache_type(cfg.kv_type);
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(cfg.n_ctx))
        .with_n_batch(cfg.n_batch)
        .with_n_ubatch(cfg.n_ubatch)
        .with_n_seq_max(n_seq)
        .with_n_threads(cfg.threads as i32)
        .with_n_threads_batch(cfg.threads_batch as i32)
        .with_flash_attention_policy(fa)
        .with_type_k(kv)
        .with_type_v(kv)
        // Partial copies between sequences need one unified cache (they abort otherwise).
        .with_kv_unified(true)
        .with_swa_full(cfg.swa_full)
        .with_no_perf(false);
    model
        .new_context(backend, params)
        .map_err(|e| EngineError::Internal(format!("cannot create the llama.cpp context: {e}")))
}

fn kv_cache_type(t: KvType) -> KvCacheType {
    match t {
        KvType::F16 => KvCacheType::F16,
        KvType::Q8_0 => KvCacheType::Q8_0,
        KvType::Q4_0 => KvCacheType::Q4_0,
    }
}

/// [`ModelOps`] on a llama.cpp model and context.
pub struct LlamaOps<'m> {
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    batch: LlamaBatch<'static>,
    n_batch: u32,
    chat_template: Option<LlamaChatTemplate>,
    /// Serialized state size of a sequence with no cells (for leak checks).
    empty_seq_state: usize,
    /// Batch rows: index in the last decoded batch → row index llama.cpp uses for logits.
    last_rows: Vec<i32>,
    /// Loaded LoRA adapters with their scales.
    adapters: Vec<(LlamaLoraAdapter, f32)>,
}

impl std::fmt::Debug for LlamaOps<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlamaOps")
            .field("n_batch", &self.n_batch)
            .finish()
    }
}

impl<'m> LlamaOps<'m> {
    /// Wrap a model and its fresh context. `probe_seq` must be a sequence id that holds no
    /// cells yet (used to measure an empty sequence's state size). `template` is the chat
    /// template setting: `None`/`auto` uses the model's own template (plain format if it has
    /// none), `plain` forces the plain format, any other value names a llama.cpp built-in
    /// template (`gemma`, `chatml`, `llama3`, …) for GGUFs that lost theirs.
    pub fn new(
        model: &'m LlamaModel,
        ctx: LlamaContext<'m>,
        probe_seq: u32,
        template: Option<&str>,
        adapters: Vec<(LlamaLoraAdapter, f32)>,
    ) -> Self {
        let n_batch = ctx.n_batch();
        let empty_seq_state =
            ctx.state_seq_get_size_ext(probe_seq as i32, LlamaStateSeqFlags::empty());
        Self {
            chat_template: chat_template_for(model, template),
            model,
            batch: LlamaBatch::new(n_batch as usize, 1),
            n_batch,
            ctx,
            empty_seq_state,
            last_rows: Vec::new(),
            adapters,
        }
    }

    /// Render `(system, sentinel)` with the model's chat template and split around the sentinel.
    /// `None` when the model has no usable template, or it mangles the sentinel.
    fn chat_parts(&self, system: &str) -> Option<(String, String)> {
        let tmpl = self.chat_template.as_ref()?;
        let msgs = vec![
            LlamaChatMessage::new("system".into(), system.into()).ok()?,
            LlamaChatMessage::new("user".into(), SENTINEL.into()).ok()?,
        ];
        let text = self.model.apply_chat_template(tmpl, &msgs, true).ok()?;
        let (before, after) = text.split_once(SENTINEL)?;
        if after.contains(SENTINEL) {
            return None;
        }
        Some((before.to_string(), after.to_string()))
    }
}

/// Pick the chat template (see [`LlamaOps::new`]). A model without a template (base models
/// such as the default gemma-3-270m) gets the plain format: a chat template would make a base
/// model continue the user turn instead of answering.
fn chat_template_for(model: &LlamaModel, setting: Option<&str>) -> Option<LlamaChatTemplate> {
    match setting.unwrap_or("auto") {
        "plain" => None,
        "auto" => model.chat_template(None).ok(),
        name => LlamaChatTemplate::new(name).ok(),
    }
}

impl LlamaOps<'_> {
    /// The prompt text around the question for `system`: (before, after, implied stop strings).
    /// The model's chat template when it has one; otherwise a plain format, where a base model
    /// goes on to invent the next question, so that ends the answer.
    pub fn prompt_parts(&self, system: &str) -> (String, String, Vec<String>) {
        match self.chat_parts(system) {
            Some((b, a)) => (b, a, Vec::new()),
            None => (
                format!("{system}\n\nQuestion: "),
                "\nAnswer:".to_string(),
                PLAIN_STOPS.iter().map(|s| s.to_string()).collect(),
            ),
        }
    }
}

/// The chat template text in use, for reasoning-model detection (`None`: plain format).
pub fn template_text(ops: &LlamaOps<'_>) -> Option<String> {
    ops.chat_template.as_ref().and_then(|t| t.to_string().ok())
}

/// A request's sampler. Plain greedy decoding (the default, and what the answer cache admits)
/// reads the logits directly: llama.cpp's sampler would first copy all of them into a candidate
/// array (262,144 entries for gemma 3) for every token of every sequence, a per-step cost that
/// grows with the batch width.
pub enum Sampler {
    /// Argmax over the logits, exactly llama.cpp's greedy sampler (first maximum wins).
    Greedy,
    /// llama.cpp's sampler chain (penalties, top-k, top-p, min-p, temperature, seeded draw).
    Chain(LlamaSampler),
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Greedy => "Sampler::Greedy",
            Self::Chain(_) => "Sampler::Chain",
        })
    }
}

/// The index of the first largest logit, as `llama_sampler_greedy_apply` picks it (strict `>`
/// from index 0, so ties and NaNs resolve the same way).
fn greedy(logits: &[f32]) -> Token {
    let Some(&first) = logits.first() else {
        return 0;
    };
    let (mut best, mut best_logit) = (0usize, first);
    for (i, &l) in logits.iter().enumerate().skip(1) {
        if l > best_logit {
            (best, best_logit) = (i, l);
        }
    }
    best as Token
}

impl ModelOps for LlamaOps<'_> {
    type Sampler = Sampler;

    fn n_ctx(&self) -> u32 {
        self.ctx.n_ctx()
    }

    fn n_batch(&self) -> u32 {
        self.n_batch
    }

    fn render(&self, system: &str, question: &str) -> Result<Prompt, EngineError> {
        let (before, after, stop) = self.prompt_parts(system);
        let vocab = self.model.vocab();
        // Template markup may contain special tokens; the question never does (no injection).
        let mut tokens: Vec<Token> = vocab
            .tokenize(before.as_bytes(), true, true)
            .into_iter()
            .map(|t| t.0)
            .collect();
        let template_len = tokens.len();
        tokens.extend(
            vocab
                .tokenize(question.as_bytes(), false, false)
                .into_iter()
                .map(|t| t.0),
        );
        tokens.extend(
            vocab
                .tokenize(after.as_bytes(), false, true)
                .into_iter()
                .map(|t| t.0),
        );
        Ok(Prompt {
            tokens,
            template_len,
            stop,
        })
    }

    fn tokenize_plain(&self, text: &str) -> Vec<Token> {
        self.model
            .vocab()
            .tokenize(text.as_bytes(), false, false)
            .into_iter()
            .map(|t| t.0)
            .collect()
    }

    fn set_adapter(&mut self, adapter: Option<usize>) -> Result<(), DecodeFailure> {
        let result = match adapter {
            Some(i) => {
                let Some((a, scale)) = self.adapters.get_mut(i) else {
                    return Err(DecodeFailure::Other(format!("no adapter {i}")));
                };
                let scale = *scale;
                self.ctx
                    .lora_adapter_set(a, scale)
                    .map_err(|e| e.to_string())
            }
            None => match self.adapters.first_mut() {
                // Clearing needs an adapter handle in this API; with none loaded there is nothing to clear.
                Some((a, _)) => self.ctx.lora_adapter_remove(a).map_err(|e| e.to_string()),
                None => Ok(()),
            },
        };
        result.map_err(DecodeFailure::Other)
    }

    fn decode(&mut self, batch: &[BatchItem]) -> Result<(), DecodeFailure> {
        self.batch.clear();
        self.last_rows.clear();
        for (i, item) in batch.iter().enumerate() {
            self.batch
                .add(
                    LlamaToken(item.token),
                    item.pos as i32,
                    &[item.seq as i32],
                    item.logits,
                )
                .map_err(|e| DecodeFailure::Other(e.to_string()))?;
            self.last_rows.push(i as i32);
        }
        match self.ctx.decode(&mut self.batch) {
            Ok(()) => Ok(()),
            Err(DecodeError::NoKvCacheSlot) => Err(DecodeFailure::NoKvSlot),
            Err(e) => Err(DecodeFailure::Other(e.to_string())),
        }
    }

    fn new_sampler(&self, p: &SamplingParams) -> Sampler {
        if p.temperature <= 0.0 && p.repeat_penalty == 1.0 {
            return Sampler::Greedy;
        }
        let mut chain = Vec::new();
        if p.repeat_penalty != 1.0 {
            chain.push(LlamaSampler::penalties(
                self.model.n_vocab(),
                p.repeat_last_n as i32,
                p.repeat_penalty,
                0.0,
                0.0,
            ));
        }
        if p.temperature <= 0.0 {
            chain.push(LlamaSampler::greedy());
        } else {
            if p.top_k > 0 {
                chain.push(LlamaSampler::top_k(p.top_k as i32));
            }
            if p.top_p < 1.0 {
                chain.push(LlamaSampler::top_p(p.top_p, 1));
            }
            if p.min_p > 0.0 {
                chain.push(LlamaSampler::min_p(p.min_p, 1));
            }
            chain.push(LlamaSampler::temp(p.temperature));
            chain.push(LlamaSampler::dist(p.seed.unwrap_or_else(random_seed)));
        }
        Sampler::Chain(LlamaSampler::chain_simple(chain))
    }

    fn sample(&mut self, sampler: &mut Sampler, row: usize) -> Token {
        match sampler {
            Sampler::Greedy => greedy(self.ctx.get_logits_ith(self.last_rows[row])),
            Sampler::Chain(chain) => chain.sample(&self.ctx, self.last_rows[row]).0,
        }
    }

    fn logprobs(&self, row: usize, tokens: &[Token]) -> Vec<f32> {
        let logits = self.ctx.get_logits_ith(self.last_rows[row]);
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let log_z = max
            + logits
                .iter()
                .map(|&l| ((l - max) as f64).exp())
                .sum::<f64>()
                .ln() as f32;
        tokens
            .iter()
            .map(|&t| {
                usize::try_from(t)
                    .ok()
                    .and_then(|i| logits.get(i))
                    .map_or(f32::NEG_INFINITY, |&l| l - log_z)
            })
            .collect()
    }

    fn margin(&self, row: usize, token: Token) -> f32 {
        let logits = self.ctx.get_logits_ith(self.last_rows[row]);
        let chosen = usize::try_from(token)
            .ok()
            .and_then(|i| logits.get(i))
            .copied()
            .unwrap_or(f32::NEG_INFINITY);
        let best_other = logits
            .iter()
            .enumerate()
            .filter(|(i, _)| i32::try_from(*i).ok() != Some(token))
            .map(|(_, &l)| l)
            .fold(f32::NEG_INFINITY, f32::max);
        chosen - best_other
    }

    fn seq_share_prefix(&mut self, src: u32, dst: u32, len: u32) {
        // Positions are < n_ctx, so the conversion cannot fail.
        let _ = self
            .ctx
            .kv_cache_seq_cp(src as i32, dst as i32, Some(0), Some(len));
    }

    fn seq_clear(&mut self, seq: u32) {
        let _ = self.ctx.clear_kv_cache_seq(Some(seq), None, None);
    }

    fn seq_is_empty(&self, seq: u32) -> bool {
        self.ctx
            .state_seq_get_size_ext(seq as i32, LlamaStateSeqFlags::empty())
            <= self.empty_seq_state
    }

    fn piece(&self, token: Token) -> Vec<u8> {
        self.model
            .vocab()
            .token_to_piece(LlamaToken(token), false, None)
    }

    fn is_eog(&self, token: Token) -> bool {
        self.model.vocab().is_eog(LlamaToken(token))
    }
}

/// A seed for non-deterministic sampling when the client gave none.
fn random_seed() -> u32 {
    let mut b = [0u8; 4];
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0x5eed);
        return t;
    }
    u32::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::greedy;

    #[test]
    fn greedy_takes_the_first_maximum_like_llama_cpp() {
        assert_eq!(greedy(&[0.5, 2.0, -1.0, 2.0]), 1, "ties: the first one");
        assert_eq!(greedy(&[3.0, 2.0]), 0);
        assert_eq!(
            greedy(&[f32::NAN, 1.0, 4.0]),
            0,
            "NaN first: no logit is > NaN"
        );
        assert_eq!(greedy(&[1.0, f32::NAN, 4.0]), 2, "NaN later is skipped");
        assert_eq!(greedy(&[f32::NEG_INFINITY; 3]), 0);
        assert_eq!(greedy(&[]), 0);
    }
}
