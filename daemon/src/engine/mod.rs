//! The inference engine: one named thread owns llama.cpp; tokio talks to it through bounded
//! channels.
//!
//! Layout:
//! - `types`   — requests, events, errors, stats (no llama.cpp, no D-Bus)
//! - `config`  — [`EngineConfig`]: model, llama.cpp settings, scheduling knobs
//! - `handle`  — [`EngineHandle`] / [`RequestStream`]: the tokio side
//! - `core`    — the continuous-batching loop, generic over [`ops::ModelOps`]
//! - `request` — one request's state inside the loop, non-blocking delivery
//! - `text`    — UTF-8 reassembly and stop strings across token boundaries
//! - `ops`     — the model seam; `llama` implements it on llama.cpp, `fake` for tests

pub mod backends;
pub mod config;
pub mod core;
pub mod handle;
pub mod llama;
pub mod ops;
mod request;
pub mod text;
pub mod types;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc::{Receiver, sync_channel};
use std::time::Instant;

use tokio::sync::{Semaphore, oneshot};

pub use self::config::{AdapterSpec, EngineConfig, FlashAttention, KvType};
pub use self::core::CoreConfig;
pub use self::handle::{Canceller, EngineHandle, RequestId, RequestStream, SharedCounters};
pub use self::llama::LoadedModel;
pub use self::types::{
    Completion, EngineError, EngineStats, Event, FinishReason, GenerateRequest, SamplingParams,
    Timings, Usage,
};

use self::core::Core;
use self::handle::Command;

/// Commands that may wait in the channel beyond the admission limit (cancels, stats).
const COMMAND_SLACK: usize = 64;

/// Facts about the running engine, sent once the model is loaded and templates are prefilled.
#[derive(Debug, Clone)]
pub struct EngineInfo {
    /// The model.
    pub model: LoadedModel,
    /// KV cells in the context.
    pub n_ctx: u32,
    /// Tokens held by each template sequence.
    pub template_tokens: Vec<usize>,
    /// Seconds spent decoding the templates at start.
    pub template_prefill_seconds: f64,
    /// Each template's prompt text around the question, (before, after), exactly as the model
    /// is fed it (chat template or plain format), so that an admin can see the whole prompt.
    pub prompt_parts: Vec<(String, String)>,
    /// The ggml backend modules in use.
    pub backends: backends::LoadedBackends,
}

/// What the engine thread receives at start.
pub(crate) struct ThreadInit {
    pub rx: Receiver<Command>,
    pub counters: Arc<SharedCounters>,
    pub started: Instant,
}

/// Spawn the engine thread running `body`, returning the handle at once. Requests submitted
/// before the body starts its loop wait in the bounded channel.
pub(crate) fn spawn_thread<F>(
    max_parallel: usize,
    max_queue: usize,
    n_templates: usize,
    body: F,
) -> Result<EngineHandle, EngineError>
where
    F: FnOnce(ThreadInit) + Send + 'static,
{
    let admitted = max_parallel + max_queue;
    let (tx, rx) = sync_channel(admitted + COMMAND_SLACK);
    let counters = Arc::new(SharedCounters::default());
    let started = Instant::now();
    let init = ThreadInit {
        rx,
        counters: Arc::clone(&counters),
        started,
    };
    std::thread::Builder::new()
        .name("medllm-engine".into())
        .spawn(move || body(init))
        .map_err(|e| EngineError::Internal(format!("cannot start the engine thread: {e}")))?;
    Ok(EngineHandle {
        cmd: tx,
        admission: Arc::new(Semaphore::new(admitted)),
        counters,
        next_id: Arc::new(AtomicU64::new(1)),
        n_templates,
        started,
    })
}

/// Start the llama.cpp engine. `progress` receives model-load progress in 0..=1 (for
/// `STATUS=` lines); the returned receiver resolves when the engine is ready or failed to load.
pub fn start(
    cfg: EngineConfig,
    progress: impl Fn(f32) + Send + 'static,
) -> Result<
    (
        EngineHandle,
        oneshot::Receiver<Result<EngineInfo, EngineError>>,
    ),
    EngineError,
> {
    cfg.validate()?;
    let (ready_tx, ready_rx) = oneshot::channel();
    let n_templates = cfg.templates.len();
    let handle = spawn_thread(
        cfg.core.max_parallel,
        cfg.max_queue,
        n_templates,
        move |init| run_llama(cfg, init, progress, ready_tx),
    )?;
    Ok((handle, ready_rx))
}

/// The engine thread's body: report a start-up failure through `ready`.
fn run_llama(
    cfg: EngineConfig,
    init: ThreadInit,
    progress: impl Fn(f32) + Send + 'static,
    ready: oneshot::Sender<Result<EngineInfo, EngineError>>,
) {
    let mut ready = Some(ready);
    if let Err(e) = load_and_serve(&cfg, init, progress, &mut ready) {
        tracing::error!(error = %e, "engine failed");
        if let Some(r) = ready.take() {
            let _ = r.send(Err(e));
        }
    }
}

/// Load the model, create the context, prefill templates, report ready, then loop until
/// shutdown. Model and context live in this stack frame: the context borrows the model.
fn load_and_serve(
    cfg: &EngineConfig,
    init: ThreadInit,
    progress: impl Fn(f32) + Send + 'static,
    ready: &mut Option<oneshot::Sender<Result<EngineInfo, EngineError>>>,
) -> Result<(), EngineError> {
    let t0 = Instant::now();
    let (backend, modules) =
        llama::backend(cfg.backends_dir.as_deref(), cfg.cpu_variant.as_deref())?;
    let mut model = llama::load_model(backend, cfg, move |p| {
        progress(p);
        true
    })?;
    // Adapters attach to the model, so they are loaded before the context borrows it.
    let adapters = llama::load_adapters(&mut model, &cfg.adapters)?;
    let ctx = llama::new_context(backend, &model, cfg, cfg.templates.len())?;
    let loaded = llama::describe(&model, cfg, t0);
    // The last request slot is unused until the first request: use it to measure an empty
    // sequence's state size.
    let probe_seq = (cfg.templates.len() + cfg.core.max_parallel - 1) as u32;
    let ops = llama::LlamaOps::new(
        &model,
        ctx,
        probe_seq,
        cfg.chat_template.as_deref(),
        adapters,
    );
    let mut loaded = loaded;
    loaded.chat_template = llama::template_text(&ops).or(loaded.chat_template);
    let prompt_parts = cfg
        .templates
        .iter()
        .map(|t| {
            let (before, after, _) = ops.prompt_parts(t);
            (before, after)
        })
        .collect();
    let t1 = Instant::now();
    let core = Core::new(
        ops,
        cfg.core.clone(),
        &cfg.templates,
        Arc::clone(&init.counters),
        init.started,
    )?;
    let info = EngineInfo {
        model: loaded,
        n_ctx: cfg.n_ctx,
        template_tokens: core.template_lengths(),
        template_prefill_seconds: t1.elapsed().as_secs_f64(),
        prompt_parts,
        backends: modules.clone(),
    };
    tracing::info!(
        model = %info.model.name,
        load_s = info.model.load_seconds,
        templates = ?info.template_tokens,
        "engine ready"
    );
    if let Some(r) = ready.take() {
        let _ = r.send(Ok(info));
    }
    core.run(init.rx);
    Ok(())
}
