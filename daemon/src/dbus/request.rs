//! Per-request objects (`org.medllm.Daemon1.Request` at
//! `/org/medllm/Daemon1/request/<sender>/<token>`) and the task that streams one answer to its
//! client.
//!
//! Patient text leaves only as signals *addressed to the caller* (a destination on every
//! signal): the bus delivers them to that connection alone, never to other clients' match
//! rules. The object exists while the request runs and is removed right after `Finished`.

use std::sync::Arc;
use std::time::Duration;

use medllm_api::details::STATUS_OK;
use medllm_api::{AnswerDetails, Dict, Error};
use zbus::message::Header;
use zbus::names::{BusName, UniqueName};
use zbus::object_server::SignalEmitter;
use zbus::zvariant::OwnedObjectPath;
use zbus::{Connection, interface};

use super::convert;
use super::registry::{Registry, Ticket};
use crate::service::{AskEvent, AskStream, Caller, Outcome, ServiceError};

/// Bytes of answer text gathered before a `Tokens` signal goes out regardless of the coalescing
/// window (keeps signals small and the stream lively).
const MAX_CHUNK_BYTES: usize = 2048;

/// The D-Bus object of one request.
#[derive(Debug)]
pub(crate) struct RequestObject {
    /// Unique name of the creator; the only caller allowed to `Cancel`.
    owner: String,
    /// Registry id of the request.
    id: u64,
    registry: Arc<Registry>,
}

#[interface(name = "org.medllm.Daemon1.Request")]
impl RequestObject {
    /// Cancel this request. Only the client that started it may; `Finished` follows with status
    /// `org.medllm.Daemon1.Error.Cancelled`.
    async fn cancel(&self, #[zbus(header)] header: Header<'_>) -> Result<(), Error> {
        let sender = header.sender().map(ToString::to_string).unwrap_or_default();
        if sender != self.owner {
            return Err(Error::NotAuthorized(
                "only the client that started a request may cancel it".into(),
            ));
        }
        match self.registry.cancel_owned(self.id, &sender) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::NoSuchRequest(
                "the request has already finished".into(),
            )),
            Err(()) => Err(Error::NotAuthorized(
                "only the client that started a request may cancel it".into(),
            )),
        }
    }

    /// A chunk of answer text (one or more tokens, whole UTF-8 characters), in order.
    #[zbus(signal)]
    async fn tokens(emitter: &SignalEmitter<'_>, chunk: &str) -> zbus::Result<()>;

    /// A chunk of a reasoning model's thinking (only with the `include_reasoning` option).
    #[zbus(signal)]
    async fn reasoning(emitter: &SignalEmitter<'_>, chunk: &str) -> zbus::Result<()>;

    /// The end. `status` is `ok` or an error name (`org.medllm.Daemon1.Error.Cancelled`, …);
    /// `answer` is the whole answer; `stats` are the answer details. The object is removed
    /// right after.
    #[zbus(signal)]
    async fn finished(
        emitter: &SignalEmitter<'_>,
        status: &str,
        answer: &str,
        stats: Dict,
    ) -> zbus::Result<()>;
}

impl RequestObject {
    pub(crate) fn new(owner: &str, id: u64, registry: Arc<Registry>) -> Self {
        Self {
            owner: owner.to_string(),
            id,
            registry,
        }
    }
}

/// Everything the streaming task needs.
pub(crate) struct Pump {
    pub conn: Connection,
    pub path: OwnedObjectPath,
    pub caller: Caller,
    pub stream: AskStream,
    pub ticket: Ticket,
    pub coalesce: Duration,
}

/// Stream one answer to its client, then remove the request object.
pub(crate) async fn pump(p: Pump) {
    let Pump {
        conn,
        path,
        caller,
        mut stream,
        mut ticket,
        coalesce,
    } = p;
    let emitter = match addressed_emitter(&conn, &path, &caller.unique_name) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "cannot address the request's signals");
            let _ = conn.object_server().remove::<RequestObject, _>(&path).await;
            return;
        }
    };
    let mut pending = String::new();
    let mut streamed = String::new();
    let mut flush_at: Option<tokio::time::Instant> = None;
    let outcome: Result<Outcome, (ServiceError, String)> = loop {
        let deadline = flush_at;
        tokio::select! {
            biased;
            () = ticket.cancelled() => break Err((ServiceError::Cancelled, streamed.clone() + &pending)),
            ev = stream.next() => match ev {
                Some(AskEvent::Chunk(c)) => {
                    pending.push_str(&c);
                    if coalesce.is_zero() || pending.len() >= MAX_CHUNK_BYTES {
                        flush(&emitter, &mut pending, &mut streamed).await;
                        flush_at = None;
                    } else if flush_at.is_none() {
                        flush_at = Some(tokio::time::Instant::now() + coalesce);
                    }
                }
                Some(AskEvent::Reasoning(r)) => {
                    flush(&emitter, &mut pending, &mut streamed).await;
                    flush_at = None;
                    if let Err(e) = RequestObject::reasoning(&emitter, &r).await {
                        tracing::debug!(error = %e, "cannot send Reasoning");
                    }
                }
                Some(AskEvent::Finished(o)) => break Ok(o),
                None => break Err((
                    ServiceError::Internal("the answer stream ended early".into()),
                    streamed.clone() + &pending,
                )),
            },
            () = sleep_until(deadline) => {
                flush(&emitter, &mut pending, &mut streamed).await;
                flush_at = None;
            }
        }
    };
    // Dropping the stream cancels the engine request if it is still running.
    drop(stream);
    ticket.mark_finished();
    flush(&emitter, &mut pending, &mut streamed).await;
    let (status, answer, stats) = match outcome {
        Ok(o) => finished_args(&o),
        Err((err, partial)) => {
            let finish = if err == ServiceError::Cancelled {
                "cancelled"
            } else {
                "error"
            };
            let details = AnswerDetails {
                finish_reason: Some(finish.into()),
                error: Some(err.to_string()),
                ..Default::default()
            };
            (
                convert::error(&err).dbus_name().unwrap_or_default(),
                partial,
                details,
            )
        }
    };
    tracing::info!(
        request = ticket.id(),
        uid = caller.uid,
        pid = caller.pid,
        status = %status,
        category = stats.category.as_deref().unwrap_or("-"),
        prompt_tokens = stats.prompt_tokens.unwrap_or(0),
        completion_tokens = stats.completion_tokens.unwrap_or(0),
        total_ms = stats.total_time_ms.unwrap_or(0.0) as u64,
        cache = stats.cache.as_deref().unwrap_or("-"),
        "request finished"
    );
    if let Err(e) = RequestObject::finished(&emitter, &status, &answer, stats.to_dict()).await {
        tracing::debug!(error = %e, "cannot send Finished");
    }
    let _ = conn.object_server().remove::<RequestObject, _>(&path).await;
    drop(ticket);
}

/// `Finished`'s arguments for an outcome.
pub(crate) fn finished_args(o: &Outcome) -> (String, String, AnswerDetails) {
    match &o.result {
        Ok(()) => (
            STATUS_OK.to_string(),
            o.answer.clone(),
            convert::details(&o.details, None),
        ),
        Err(e) => (
            convert::error(e).dbus_name().unwrap_or_default(),
            o.answer.clone(),
            convert::details(&o.details, Some(e)),
        ),
    }
}

/// An emitter whose signals carry the caller as destination (unicast).
fn addressed_emitter(
    conn: &Connection,
    path: &OwnedObjectPath,
    dest: &str,
) -> zbus::Result<SignalEmitter<'static>> {
    let unique = UniqueName::try_from(dest.to_string())?;
    Ok(SignalEmitter::new(conn, path.clone())?
        .set_destination(BusName::Unique(unique))
        .into_owned())
}

async fn flush(emitter: &SignalEmitter<'_>, pending: &mut String, streamed: &mut String) {
    if pending.is_empty() {
        return;
    }
    if let Err(e) = RequestObject::tokens(emitter, pending).await {
        tracing::debug!(error = %e, "cannot send Tokens");
    }
    streamed.push_str(pending);
    pending.clear();
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
