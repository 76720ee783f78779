//! Client proxies for the daemon object and for per-request objects.
//!
//! Methods return [`crate::Error`], so callers match on `Error::Busy` and friends; property
//! getters return `zbus::Result`. See `docs/dbus-api.md` for the semantics of every member.

// The proxy macro generates signal-argument structs and stream types without doc comments.
#![allow(missing_docs)]

use zbus::proxy;
use zbus::zvariant::OwnedObjectPath;

use crate::Error;
use crate::dict::Dict;

/// `org.medllm.Daemon1` on `/org/medllm/Daemon1`.
#[proxy(
    interface = "org.medllm.Daemon1",
    default_service = "org.medllm.Daemon1",
    default_path = "/org/medllm/Daemon1",
    gen_blocking = false
)]
pub trait Daemon1 {
    /// Answer a question and return `(answer, details)` when it is complete.
    fn ask(&self, question: &str, options: &Dict) -> Result<(String, Dict), Error>;

    /// Start answering; returns the request object at once. Its `Tokens` and `Finished` signals
    /// are sent to this connection only.
    fn start_ask(&self, question: &str, options: &Dict) -> Result<OwnedObjectPath, Error>;

    /// The daemon's state, model and counters.
    fn status(&self) -> Result<Dict, Error>;

    /// Classify a question without answering it (`category` "" lets the classifier choose).
    fn classify(&self, question: &str, category: &str) -> Result<Dict, Error>;

    /// Score a multiple-choice question (`options`: letter → text) as the service would answer
    /// it: per-letter log-likelihoods and the chosen letter (see [`crate::ScoreResult`]).
    fn score(
        &self,
        question: &str,
        options: &std::collections::HashMap<String, String>,
        opts: &Dict,
    ) -> Result<Dict, Error>;

    /// Daemon version.
    #[zbus(property)]
    fn version(&self) -> zbus::Result<String>;

    /// `starting`, `loading`, `ready`, `degraded` or `failed`.
    #[zbus(property)]
    fn state(&self) -> zbus::Result<String>;

    /// The model being served (`""` before it is loaded).
    #[zbus(property)]
    fn model_id(&self) -> zbus::Result<String>;

    /// `cpu` or the GPU backend.
    #[zbus(property)]
    fn backend(&self) -> zbus::Result<String>;

    /// `base`, `adapter` or `merged`.
    #[zbus(property)]
    fn mode(&self) -> zbus::Result<String>;

    /// Requests being served.
    #[zbus(property)]
    fn active_requests(&self) -> zbus::Result<u32>;

    /// Requests waiting for a slot.
    #[zbus(property)]
    fn queue_length(&self) -> zbus::Result<u32>;

    /// Longest accepted question in bytes.
    #[zbus(property)]
    fn max_question_bytes(&self) -> zbus::Result<u32>;
}

/// `org.medllm.Daemon1.Request` on `/org/medllm/Daemon1/request/<sender>/<token>`.
#[proxy(
    interface = "org.medllm.Daemon1.Request",
    default_service = "org.medllm.Daemon1",
    gen_blocking = false
)]
pub trait Request {
    /// Cancel the request (only its creator may); `Finished` follows with status
    /// `org.medllm.Daemon1.Error.Cancelled`.
    fn cancel(&self) -> Result<(), Error>;

    /// A chunk of answer text (one or more tokens, whole UTF-8 characters).
    #[zbus(signal)]
    fn tokens(&self, chunk: String) -> zbus::Result<()>;

    /// A chunk of a reasoning model's thinking (only with `include_reasoning`).
    #[zbus(signal)]
    fn reasoning(&self, chunk: String) -> zbus::Result<()>;

    /// The end: `status` is `ok` or an error name; `answer` is the whole answer; `stats` are the
    /// details. The object disappears right after.
    #[zbus(signal)]
    fn finished(&self, status: String, answer: String, stats: Dict) -> zbus::Result<()>;
}
