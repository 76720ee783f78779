//! The request path, independent of any transport: validate → classify → cache → engine →
//! stream back → cache store.
//!
//! Layout:
//! - `types`   — [`AskOptions`], [`AskEvent`], [`Outcome`], [`ServiceError`], [`ServiceState`]
//! - `stream`  — [`AskStream`] and the task that turns engine events into answer events
//!   (reasoning split, safety line, cache store)
//! - `cached`  — the answer cache on the request path: keys, lookup, store (blocking work off the
//!   async threads)
//! - `score`   — [`Service::score`]: a multiple-choice question scored through the same path
//!   (`Score` on D-Bus, `medctl eval`); `score_text` formats options and reads letters back
//!
//! The D-Bus layer calls [`Service::ask`] and maps [`ServiceError`] to error names; it never
//! talks to the engine directly. The service never imports zbus.

mod cached;
pub mod score;
pub mod score_text;
mod stream;
pub mod types;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use medllm_cache::AnswerCache;
use medllm_classify::{Category, Classification, Classifier, ReasoningStyle, Templates};
use tokio::sync::{mpsc, watch};

use crate::engine::{EngineError, EngineHandle, EngineInfo, GenerateRequest, SamplingParams};

pub use self::score::{PromptStyle, ScoreMethod, ScoreOutcome, ScoreRequest};
pub use self::stream::AskStream;
pub use self::types::{
    AskEvent, AskOptions, CacheOutcome, Caller, Details, Outcome, ServiceError, ServiceState,
};

/// Limits and identity the service applies to every request.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Longest accepted question, in bytes (the `MaxQuestionBytes` property).
    pub max_question_bytes: usize,
    /// Requests one caller (bus connection) may have in flight.
    pub max_inflight_per_caller: usize,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            max_question_bytes: 16 * 1024,
            max_inflight_per_caller: 4,
        }
    }
}

/// What the engine is running, once it runs.
#[derive(Debug, Clone)]
pub struct ModelIdentity {
    /// Short id shown to clients: `<name>@<first 12 hex digits of the file's sha256>`.
    pub id: String,
    /// The model file's full sha256 (hex).
    pub sha256: String,
    /// Everything the engine reported at start.
    pub info: EngineInfo,
    /// `cpu` or the GPU backend in use.
    pub backend: String,
    /// `base`, `adapter` or `merged`.
    pub mode: String,
    /// Why this mode, the decision's terms, what each category runs (`deploy`).
    pub mode_explain: Vec<String>,
}

/// A snapshot for `medctl status` and the D-Bus properties.
#[derive(Debug, Clone)]
pub struct StatusSnapshot {
    /// Lifecycle state.
    pub state: ServiceState,
    /// The model, once loaded.
    pub model: Option<ModelIdentity>,
    /// Requests being served.
    pub active: usize,
    /// Requests waiting.
    pub queued: usize,
    /// Time since the service started.
    pub uptime: Duration,
    /// Requests per category since start, in [`Category::ALL`] order.
    pub per_category: Vec<(Category, u64)>,
}

pub(crate) struct Inner {
    pub cfg: ServiceConfig,
    pub classifier: Classifier,
    pub templates: Templates,
    pub engine: RwLock<Option<(EngineHandle, ModelIdentity, ReasoningStyle)>>,
    pub state: watch::Sender<ServiceState>,
    pub started: Instant,
    /// In-flight requests per caller unique name.
    pub inflight: Mutex<HashMap<String, usize>>,
    pub per_category: [AtomicU64; 5],
    /// The answer cache, when enabled and open.
    pub cache: RwLock<Option<Arc<AnswerCache>>>,
    /// One line describing the placement plan in use.
    pub plan_summary: RwLock<Option<String>>,
}

/// Cloneable handle to the request path.
#[derive(Clone)]
pub struct Service {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("state", &*self.inner.state.borrow())
            .finish()
    }
}

impl Service {
    /// A service in state `starting`, with no engine yet.
    pub fn new(cfg: ServiceConfig, templates: Templates) -> Self {
        let classifier = Classifier::new(templates.config());
        let (state, _) = watch::channel(ServiceState::Starting);
        Self {
            inner: Arc::new(Inner {
                cfg,
                classifier,
                templates,
                engine: RwLock::new(None),
                state,
                started: Instant::now(),
                inflight: Mutex::new(HashMap::new()),
                per_category: Default::default(),
                cache: RwLock::new(None),
                plan_summary: RwLock::new(None),
            }),
        }
    }

    /// System prompts in engine template order: one per category ([`Category::ALL`] order),
    /// then the empty prompt of the plain-prompt ablation ([`score::PLAIN_TEMPLATE`]).
    pub fn system_prompts(&self) -> Vec<String> {
        Category::ALL
            .iter()
            .map(|c| self.inner.templates.system_prompt(*c))
            .chain([score::PLAIN_SYSTEM_PROMPT.to_string()])
            .collect()
    }

    /// The templates (prompts, parameters, version).
    pub fn templates(&self) -> &Templates {
        &self.inner.templates
    }

    /// Classify without answering (for `medctl classify`).
    pub fn classify(
        &self,
        question: &str,
        requested: Option<&str>,
    ) -> Result<Classification, ServiceError> {
        let requested = parse_category(requested)?;
        Ok(self
            .inner
            .classifier
            .classify_with_override(question, requested))
    }

    /// The whole prompt `question` is answered with under `category`, as the model is fed it
    /// (`None` while no model is loaded).
    pub fn rendered_prompt(&self, category: Category, question: &str) -> Option<String> {
        let model = self.model()?;
        let (before, after) = model.info.prompt_parts.get(category.index())?;
        Some(format!("{before}{question}{after}"))
    }

    /// Set the lifecycle state (the D-Bus layer watches it for PropertiesChanged).
    pub fn set_state(&self, state: ServiceState) {
        self.inner.state.send_replace(state);
    }

    /// Current state.
    pub fn state(&self) -> ServiceState {
        self.inner.state.borrow().clone()
    }

    /// Watch state changes.
    pub fn subscribe_state(&self) -> watch::Receiver<ServiceState> {
        self.inner.state.subscribe()
    }

    /// Start serving through `engine`; the state becomes `ready`.
    pub fn attach_engine(&self, engine: EngineHandle, model: ModelIdentity) {
        let style = model
            .info
            .model
            .chat_template
            .as_deref()
            .map(|t| medllm_classify::detect_reasoning(t, &model.info.model.name))
            .unwrap_or(ReasoningStyle::None);
        if let Ok(mut slot) = self.inner.engine.write() {
            *slot = Some((engine, model, style));
        }
        self.set_state(ServiceState::Ready);
    }

    /// Serve and store answers through `cache` from now on.
    pub fn attach_cache(&self, cache: Arc<AnswerCache>) {
        if let Ok(mut slot) = self.inner.cache.write() {
            *slot = Some(cache);
        }
    }

    /// Record the plan in use (for `medctl status`).
    pub fn set_plan_summary(&self, summary: String) {
        if let Ok(mut s) = self.inner.plan_summary.write() {
            *s = Some(summary);
        }
    }

    /// The plan in use, one line.
    pub fn plan_summary(&self) -> Option<String> {
        self.inner.plan_summary.read().ok().and_then(|s| s.clone())
    }

    /// The answer cache, if one is attached.
    pub fn cache(&self) -> Option<Arc<AnswerCache>> {
        self.inner.cache.read().ok().and_then(|c| c.clone())
    }

    /// Stop the engine (shutdown or before a reload).
    pub fn detach_engine(&self) -> Option<EngineHandle> {
        let taken = self.inner.engine.write().ok().and_then(|mut s| s.take());
        taken.map(|(h, _, _)| h)
    }

    /// The engine handle, if serving.
    pub fn engine(&self) -> Option<EngineHandle> {
        self.inner
            .engine
            .read()
            .ok()
            .and_then(|s| s.as_ref().map(|(h, _, _)| h.clone()))
    }

    /// Identity of the running model.
    pub fn model(&self) -> Option<ModelIdentity> {
        self.inner
            .engine
            .read()
            .ok()
            .and_then(|s| s.as_ref().map(|(_, m, _)| m.clone()))
    }

    /// The `MaxQuestionBytes` limit.
    pub fn max_question_bytes(&self) -> usize {
        self.inner.cfg.max_question_bytes
    }

    /// A status snapshot (no round trip to the engine thread).
    pub fn status(&self) -> StatusSnapshot {
        let engine = self.engine();
        StatusSnapshot {
            state: self.state(),
            model: self.model(),
            active: engine.as_ref().map_or(0, EngineHandle::active),
            queued: engine.as_ref().map_or(0, EngineHandle::queued),
            uptime: self.inner.started.elapsed(),
            per_category: Category::ALL
                .iter()
                .map(|c| {
                    (
                        *c,
                        self.inner.per_category[c.index()].load(Ordering::Relaxed),
                    )
                })
                .collect(),
        }
    }

    /// Ask a question. Returns a stream of answer events once the request is queued (or answered
    /// from the cache); errors that can be known before generation starts (not ready, too large,
    /// bad option, busy) come back here.
    pub async fn ask(
        &self,
        question: String,
        opts: AskOptions,
        caller: &Caller,
    ) -> Result<AskStream, ServiceError> {
        let submitted = Instant::now();
        let (engine, model, style) = {
            let guard = self
                .inner
                .engine
                .read()
                .map_err(|_| ServiceError::Internal("engine lock poisoned".into()))?;
            match (&*guard, self.state()) {
                (Some((h, m, s)), st) if st.accepts_requests() => (h.clone(), m.clone(), *s),
                (_, st) => {
                    return Err(ServiceError::NotReady(format!(
                        "the service is {}",
                        st.as_str()
                    )));
                }
            }
        };
        let limit = self.inner.cfg.max_question_bytes;
        if question.len() > limit {
            return Err(ServiceError::QuestionTooLarge {
                size: question.len(),
                limit,
            });
        }
        if question.trim().is_empty() {
            return Err(ServiceError::InvalidArgument(
                "the question is empty".into(),
            ));
        }
        let requested = parse_category(opts.category.as_deref())?;
        let classification = self
            .inner
            .classifier
            .classify_with_override(&question, requested);
        let category = classification.category;
        let sampling = self.sampling_for(category, style, &opts)?;
        let slot = InflightSlot::acquire(Arc::clone(&self.inner), &caller.unique_name)?;

        let cache = match (self.cache(), opts.no_cache) {
            (Some(c), false) => Some(cached::CacheContext::new(
                c,
                &model.sha256,
                &self.inner.templates,
                category,
                &sampling,
            )),
            _ => None,
        };
        if let Some(ctx) = &cache {
            if let Some(hit) = ctx.lookup(&question).await {
                self.inner.per_category[category.index()].fetch_add(1, Ordering::Relaxed);
                let overridden = classification.is_overridden();
                return Ok(AskStream::ready(cached::outcome_of(
                    hit, &model.id, category, overridden, submitted,
                )));
            }
        }
        let question_for_cache = cache.as_ref().map(|_| question.clone());

        let req = GenerateRequest {
            template: category.index(),
            question,
            sampling,
            priority: self.inner.templates.priority(category),
            score_candidates: None,
            trace: false,
        };
        let engine_stream = engine.submit(req).map_err(map_engine_error)?;
        self.inner.per_category[category.index()].fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(stream::ANSWER_CHANNEL_CAPACITY);
        let ctx = stream::ForwardContext {
            category,
            overridden: classification.is_overridden(),
            safety_prefix: self.inner.templates.safety_prefix(category),
            splitter: style.splitter(),
            include_reasoning: opts.include_reasoning,
            model_id: model.id.clone(),
            submitted,
            store: cache.zip(question_for_cache),
            _slot: slot,
        };
        tokio::spawn(stream::forward(engine_stream, tx, ctx));
        Ok(AskStream::new(rx))
    }

    /// Merge category defaults with request options into validated sampling parameters.
    fn sampling_for(
        &self,
        category: Category,
        style: ReasoningStyle,
        opts: &AskOptions,
    ) -> Result<SamplingParams, ServiceError> {
        let p = self.inner.templates.params(category);
        let extra = self.inner.templates.token_budget(category, style) - p.max_tokens;
        let max_tokens = match opts.max_tokens {
            // The reasoning block must not eat the answer's budget.
            Some(n) => n.saturating_add(extra),
            None => p.max_tokens + extra,
        };
        let sampling = SamplingParams {
            temperature: opts.temperature.unwrap_or(p.temperature),
            top_p: opts.top_p.unwrap_or(p.top_p),
            seed: opts.seed,
            max_tokens,
            stop: p.stop.clone(),
            ..SamplingParams::default()
        };
        sampling.validate().map_err(map_engine_error)?;
        Ok(sampling)
    }
}

/// Parse an optional category name into the enum, with a clear error listing valid names.
fn parse_category(name: Option<&str>) -> Result<Option<Category>, ServiceError> {
    match name {
        None | Some("") => Ok(None),
        Some(n) => n.parse::<Category>().map(Some).map_err(|_| {
            let valid: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
            ServiceError::InvalidArgument(format!(
                "unknown category '{n}' (valid: {})",
                valid.join(", ")
            ))
        }),
    }
}

/// Engine errors as the service names them.
pub(crate) fn map_engine_error(e: EngineError) -> ServiceError {
    match e {
        EngineError::Busy { .. } => ServiceError::Busy(e.to_string()),
        EngineError::PromptTooLong { .. } => ServiceError::PromptTooLong(e.to_string()),
        EngineError::InvalidArgument(m) => ServiceError::InvalidArgument(m),
        EngineError::Cancelled => ServiceError::Cancelled,
        EngineError::NotRunning => ServiceError::NotReady("the engine is not running".into()),
        EngineError::Internal(m) => ServiceError::Internal(m),
    }
}

/// One of a caller's in-flight places; released on drop.
pub(crate) struct InflightSlot {
    inner: Arc<Inner>,
    caller: String,
}

impl InflightSlot {
    fn acquire(inner: Arc<Inner>, caller: &str) -> Result<Self, ServiceError> {
        let max = inner.cfg.max_inflight_per_caller;
        {
            let mut map = inner
                .inflight
                .lock()
                .map_err(|_| ServiceError::Internal("inflight lock poisoned".into()))?;
            let n = map.entry(caller.to_string()).or_insert(0);
            if *n >= max {
                return Err(ServiceError::Busy(format!(
                    "this client already has {n} requests in flight (limit {max})"
                )));
            }
            *n += 1;
        }
        Ok(Self {
            inner,
            caller: caller.to_string(),
        })
    }
}

impl Drop for InflightSlot {
    fn drop(&mut self) {
        if let Ok(mut map) = self.inner.inflight.lock() {
            if let Some(n) = map.get_mut(&self.caller) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&self.caller);
                }
            }
        }
    }
}
