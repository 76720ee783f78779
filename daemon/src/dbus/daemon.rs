//! The main object: `org.medllm.Daemon1` at `/org/medllm/Daemon1`.
//!
//! Each method identifies the caller from the message header, parses the options strictly,
//! delegates to the [`Service`], and translates the result. No request logic lives here.

use std::sync::Arc;
use std::time::Duration;

use medllm_api::{AskOptions, Dict, Error};
use zbus::message::Header;
use zbus::object_server::ObjectServer;
use zbus::zvariant::OwnedObjectPath;
use zbus::{Connection, interface};

use super::convert;
use super::polkit::{Action, Authority};
use super::registry::{RegisterError, Registry};
use super::request::{self, Pump, RequestObject};
use super::score;
use crate::service::Service;

/// How long `Status()` waits for the engine thread's counters before answering without them.
const ENGINE_STATS_TIMEOUT: Duration = Duration::from_secs(2);

/// The daemon object.
#[derive(Debug)]
pub(crate) struct DaemonObject {
    pub(crate) service: Service,
    pub(crate) registry: Arc<Registry>,
    /// Gathering window for `Tokens` signals.
    pub(crate) tokens_coalesce: Duration,
    /// Optional polkit check of the question methods (`[auth] ask_polkit`).
    pub(crate) auth: Arc<Authority>,
}

#[interface(name = "org.medllm.Daemon1")]
impl DaemonObject {
    /// Answer `question` and reply when the answer is complete: `(answer, details)`. For short
    /// answers; use `StartAsk` to stream. Options: `max_tokens` (u), `temperature` (d), `top_p`
    /// (d), `seed` (u), `category` (s), `no_cache` (b), `include_reasoning` (b).
    #[zbus(out_args("answer", "details"))]
    async fn ask(
        &self,
        question: String,
        options: Dict,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(String, Dict), Error> {
        let opts = AskOptions::from_owned(&options)?;
        if opts.handle_token.is_some() {
            return Err(Error::InvalidArgument(
                "option 'handle_token' applies to StartAsk only".into(),
            ));
        }
        let caller = self.auth.authorize(&header, Action::Ask).await?;
        let mut ticket = self
            .registry
            .register(&caller.unique_name, None)
            .map_err(register_error)?;
        let stream = self
            .service
            .ask(question, convert::options(&opts), &caller)
            .await
            .map_err(|e| convert::error(&e))?;
        let outcome = tokio::select! {
            o = stream.collect() => o,
            () = ticket.cancelled() => {
                return Err(Error::Cancelled("the request was cancelled".into()));
            }
        };
        let (status, answer, details) = request::finished_args(&outcome);
        tracing::info!(
            request = ticket.id(),
            uid = caller.uid,
            pid = caller.pid,
            status = %status,
            category = details.category.as_deref().unwrap_or("-"),
            prompt_tokens = details.prompt_tokens.unwrap_or(0),
            completion_tokens = details.completion_tokens.unwrap_or(0),
            total_ms = details.total_time_ms.unwrap_or(0.0) as u64,
            cache = details.cache.as_deref().unwrap_or("-"),
            "ask finished"
        );
        match outcome.result {
            Ok(()) => Ok((answer, details.to_dict())),
            Err(e) => Err(convert::error(&e)),
        }
    }

    /// Start answering `question`; returns the request object at once. The object sends
    /// `Tokens`, `Reasoning` and `Finished` to the caller only. Pass `handle_token` (s) to know
    /// the path in advance (`/org/medllm/Daemon1/request/<sender>/<handle_token>`, sender
    /// without ':' and with '.' as '_') and subscribe before calling. Other options as for `Ask`.
    #[zbus(out_args("request"))]
    async fn start_ask(
        &self,
        question: String,
        options: Dict,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        #[zbus(object_server)] server: &ObjectServer,
    ) -> Result<OwnedObjectPath, Error> {
        let opts = AskOptions::from_owned(&options)?;
        let caller = self.auth.authorize(&header, Action::Ask).await?;
        let path = match &opts.handle_token {
            Some(t) => medllm_api::request_path(&caller.unique_name, t)?,
            None => self.fresh_path(&caller.unique_name)?,
        };
        let ticket = self
            .registry
            .register(&caller.unique_name, Some(path.clone()))
            .map_err(register_error)?;
        let stream = self
            .service
            .ask(question, convert::options(&opts), &caller)
            .await
            .map_err(|e| convert::error(&e))?;
        let object =
            RequestObject::new(&caller.unique_name, ticket.id(), Arc::clone(&self.registry));
        if !server.at(&path, object).await? {
            return Err(Error::Internal(format!("{path} is already exported")));
        }
        tracing::debug!(
            request = ticket.id(),
            uid = caller.uid,
            pid = caller.pid,
            "request started"
        );
        tokio::spawn(request::pump(Pump {
            conn: conn.clone(),
            path: path.clone(),
            caller,
            stream,
            ticket,
            coalesce: self.tokens_coalesce,
        }));
        Ok(path)
    }

    /// State, model, queue and counters as a dictionary (see `docs/dbus-api.md`).
    #[zbus(out_args("status"))]
    async fn status(&self) -> Result<Dict, Error> {
        let snapshot = self.service.status();
        let stats = match self.service.engine() {
            Some(engine) => {
                match tokio::time::timeout(ENGINE_STATS_TIMEOUT, engine.stats()).await {
                    Ok(Ok(stats)) => Some(stats),
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "engine counters unavailable");
                        None
                    }
                    Err(_) => {
                        tracing::debug!("the engine did not report its counters in time");
                        None
                    }
                }
            }
            None => None,
        };
        let mut status = convert::status(
            &snapshot,
            self.service.templates(),
            stats.as_ref(),
            self.service.max_question_bytes(),
        );
        status.plan = self.service.plan_summary();
        if let Some(cache) = self.service.cache() {
            let c = cache.stats();
            status.cache = Some(format!(
                "{} entries on disk, {} in memory; hits {} exact + {} semantic, {} misses, {} vetoed{}",
                c.l2_entries,
                c.l1_entries,
                c.hits_l1 + c.hits_l2,
                c.hits_semantic,
                c.misses,
                c.semantic_vetoed,
                c.semantic_disabled
                    .as_ref()
                    .map(|r| format!("; semantic tier off: {r}"))
                    .unwrap_or_default(),
            ));
            status.cache_entries = Some(c.l2_entries);
            status.cache_exact_hits = Some(c.hits_l1 + c.hits_l2);
            status.cache_semantic_hits = Some(c.hits_semantic);
            status.cache_misses = Some(c.misses);
        }
        Ok(status.to_dict())
    }

    /// Classify `question` without answering it; `category` "" lets the classifier choose,
    /// a category name shows what an override would do. Returns category, scores, reason,
    /// matched terms, the system prompt and the whole prompt as the model is fed it.
    #[zbus(out_args("result"))]
    async fn classify(
        &self,
        question: String,
        category: String,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<Dict, Error> {
        self.auth.authorize(&header, Action::Ask).await?;
        let limit = self.service.max_question_bytes();
        if question.len() > limit {
            return Err(Error::QuestionTooLarge(format!(
                "the question is {} bytes; the limit is {limit}",
                question.len()
            )));
        }
        if question.trim().is_empty() {
            return Err(Error::InvalidArgument("the question is empty".into()));
        }
        let requested = Some(category.as_str()).filter(|c| !c.is_empty());
        let c = self
            .service
            .classify(&question, requested)
            .map_err(|e| convert::error(&e))?;
        let mut result = convert::classification(&c, self.service.templates());
        result.rendered_prompt = self.service.rendered_prompt(c.category, &question);
        Ok(result.to_dict())
    }

    /// Score a multiple-choice question (`options`: letter → text) as the service would answer
    /// it: per-letter log-likelihoods and the chosen letter. Options: `prompt` (s: `medical` |
    /// `plain`), `method` (s: `loglik` | `generate`), `category` (s), `context` (s),
    /// `max_tokens` (u). For evaluation (`medctl eval`); never uses the answer cache.
    #[zbus(out_args("result"))]
    async fn score(
        &self,
        question: String,
        options: std::collections::HashMap<String, String>,
        opts: Dict,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<Dict, Error> {
        let o = medllm_api::ScoreOptions::from_owned(&opts)?;
        let caller = self.auth.authorize(&header, Action::Ask).await?;
        let mut ticket = self
            .registry
            .register(&caller.unique_name, None)
            .map_err(register_error)?;
        let req = score::request(question, options, o);
        let outcome = tokio::select! {
            o = self.service.score(req, &caller) => o.map_err(|e| convert::error(&e))?,
            () = ticket.cancelled() => {
                return Err(Error::Cancelled("the request was cancelled".into()));
            }
        };
        tracing::info!(
            request = ticket.id(),
            uid = caller.uid,
            pid = caller.pid,
            prompt_tokens = outcome.prompt_tokens,
            total_ms = outcome.total_time.as_millis() as u64,
            "score finished"
        );
        Ok(score::result(&outcome).to_dict())
    }

    /// The daemon's version.
    #[zbus(property(emits_changed_signal = "const"))]
    async fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    /// `starting`, `loading`, `ready`, `degraded` or `failed`.
    #[zbus(property)]
    async fn state(&self) -> String {
        self.service.state().as_str().to_string()
    }

    /// The model being served, `<name>@<12 hex digits of its sha256>` ("" before loading).
    #[zbus(property)]
    async fn model_id(&self) -> String {
        self.service.model().map(|m| m.id).unwrap_or_default()
    }

    /// `cpu` or the GPU backend in use ("" before loading).
    #[zbus(property)]
    async fn backend(&self) -> String {
        self.service.model().map(|m| m.backend).unwrap_or_default()
    }

    /// `base`, `adapter` or `merged` ("" before loading).
    #[zbus(property)]
    async fn mode(&self) -> String {
        self.service.model().map(|m| m.mode).unwrap_or_default()
    }

    /// Requests being generated (changes are signalled at most a few times per second).
    #[zbus(property)]
    async fn active_requests(&self) -> u32 {
        self.counts().0
    }

    /// Requests waiting for a slot (changes are signalled at most a few times per second).
    #[zbus(property)]
    async fn queue_length(&self) -> u32 {
        self.counts().1
    }

    /// Longest accepted question in bytes.
    #[zbus(property(emits_changed_signal = "const"))]
    async fn max_question_bytes(&self) -> u32 {
        u32::try_from(self.service.max_question_bytes()).unwrap_or(u32::MAX)
    }
}

impl DaemonObject {
    /// (active, queued) as the engine counts them.
    pub(crate) fn counts(&self) -> (u32, u32) {
        let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        match self.service.engine() {
            Some(e) => (to_u32(e.active()), to_u32(e.queued())),
            None => (0, 0),
        }
    }

    /// A path for a request started without `handle_token`.
    fn fresh_path(&self, unique_name: &str) -> Result<OwnedObjectPath, Error> {
        loop {
            let n = self.registry.fresh_token();
            let path = medllm_api::request_path(unique_name, &format!("r{n}"))?;
            if !self.registry.path_in_use(&path) {
                return Ok(path);
            }
        }
    }
}

fn register_error(e: RegisterError) -> Error {
    match e {
        RegisterError::Departed => Error::Cancelled("the client has left the bus".into()),
        RegisterError::PathInUse => Error::InvalidArgument(
            "option 'handle_token' is already in use by another request of this client".into(),
        ),
    }
}
