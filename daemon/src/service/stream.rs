//! Turning one engine stream into one answer stream.
//!
//! Owns the per-request task between the engine and the transport: it puts the emergency safety
//! line first, separates a reasoning model's `<think>` block from the answer, assembles the final
//! answer and its details, and cancels the engine request as soon as the client's stream is
//! dropped. It must not block: everything here is async and bounded.

use std::time::Instant;

use medllm_classify::{Category, Segment, ThinkSplitter};
use tokio::sync::mpsc;

use super::types::{AskEvent, CacheOutcome, Details, Outcome, ServiceError};
use super::{InflightSlot, map_engine_error};
use crate::engine::{Completion, Event, RequestStream};

/// Answer events buffered per request; the engine coalesces tokens while this is full.
pub(crate) const ANSWER_CHANNEL_CAPACITY: usize = 16;

/// The answer side of one request. Dropping it cancels the request.
#[derive(Debug)]
pub struct AskStream {
    rx: mpsc::Receiver<AskEvent>,
    done: bool,
}

impl AskStream {
    pub(crate) fn new(rx: mpsc::Receiver<AskEvent>) -> Self {
        Self { rx, done: false }
    }

    /// A stream that yields one final outcome (cache hits, immediate failures).
    pub(crate) fn ready(outcome: Outcome) -> Self {
        let (tx, rx) = mpsc::channel(2);
        if !outcome.answer.is_empty() {
            let _ = tx.try_send(AskEvent::Chunk(outcome.answer.clone()));
        }
        let _ = tx.try_send(AskEvent::Finished(outcome));
        Self::new(rx)
    }

    /// The next event; `None` once `Finished` has been returned.
    pub async fn next(&mut self) -> Option<AskEvent> {
        if self.done {
            return None;
        }
        let ev = self.rx.recv().await;
        if matches!(ev, Some(AskEvent::Finished(_)) | None) {
            self.done = true;
        }
        ev
    }

    /// Read to the end and return the outcome (for the blocking `Ask` method).
    pub async fn collect(mut self) -> Outcome {
        while let Some(ev) = self.next().await {
            if let AskEvent::Finished(o) = ev {
                return o;
            }
        }
        Outcome {
            result: Err(ServiceError::Internal(
                "the answer stream ended early".into(),
            )),
            answer: String::new(),
            details: empty_details("", Category::Diagnosis, false, "error"),
        }
    }
}

/// What the forwarding task needs to know about its request.
pub(crate) struct ForwardContext {
    pub category: Category,
    pub overridden: bool,
    pub safety_prefix: Option<String>,
    pub splitter: Option<ThinkSplitter>,
    pub include_reasoning: bool,
    pub model_id: String,
    pub submitted: Instant,
    /// Where to store a successful answer, with the question it answers.
    pub store: Option<(super::cached::CacheContext, String)>,
    /// Held until the request ends (per-caller in-flight cap).
    pub _slot: InflightSlot,
}

/// Details with nothing measured yet.
pub(crate) fn empty_details(
    model_id: &str,
    category: Category,
    overridden: bool,
    finish: &str,
) -> Details {
    Details {
        category: category.as_str().to_string(),
        category_overridden: overridden,
        prompt_tokens: 0,
        completion_tokens: 0,
        reused_prefix_tokens: 0,
        time_to_first_token: std::time::Duration::ZERO,
        total_time: std::time::Duration::ZERO,
        tokens_per_second: 0.0,
        cache: CacheOutcome::Miss,
        model_id: model_id.to_string(),
        finish_reason: finish.to_string(),
        reasoning: None,
    }
}

/// Accumulates the answer and reasoning as segments arrive.
struct Assembly {
    answer: String,
    reasoning: String,
}

/// Forward engine events to the client until the end or until the client goes away.
pub(crate) async fn forward(
    mut engine: RequestStream,
    tx: mpsc::Sender<AskEvent>,
    mut ctx: ForwardContext,
) {
    let mut acc = Assembly {
        answer: String::new(),
        reasoning: String::new(),
    };
    if let Some(prefix) = ctx.safety_prefix.take() {
        acc.answer.push_str(&prefix);
        if tx.send(AskEvent::Chunk(prefix)).await.is_err() {
            return; // client gone; dropping `engine` cancels the request
        }
    }
    loop {
        let ev = tokio::select! {
            ev = engine.next() => ev,
            _ = tx.closed() => {
                engine.cancel();
                return;
            }
        };
        match ev {
            Some(Event::Token(text)) => {
                let segments = match ctx.splitter.as_mut() {
                    Some(s) => s.push(&text),
                    None => vec![Segment::Answer(text)],
                };
                if !send_segments(&tx, &mut acc, segments, ctx.include_reasoning).await {
                    engine.cancel();
                    return;
                }
            }
            Some(Event::Done(completion)) => {
                if let Some(s) = ctx.splitter.take() {
                    if !send_segments(&tx, &mut acc, s.finish(), ctx.include_reasoning).await {
                        return;
                    }
                }
                let mut details = details_of(&ctx, &completion, &acc);
                if let Some((cache, question)) = ctx.store.take() {
                    cache.store(question, acc.answer.clone()).await;
                } else {
                    details.cache = CacheOutcome::Bypassed;
                }
                let outcome = Outcome {
                    result: Ok(()),
                    answer: acc.answer,
                    details,
                };
                let _ = tx.send(AskEvent::Finished(outcome)).await;
                return;
            }
            Some(Event::Error(e)) => {
                let err = map_engine_error(e);
                let finish = if err == ServiceError::Cancelled {
                    "cancelled"
                } else {
                    "error"
                };
                let mut details =
                    empty_details(&ctx.model_id, ctx.category, ctx.overridden, finish);
                details.total_time = ctx.submitted.elapsed();
                let _ = tx
                    .send(AskEvent::Finished(Outcome {
                        result: Err(err),
                        answer: acc.answer,
                        details,
                    }))
                    .await;
                return;
            }
            None => return,
        }
    }
}

/// Send answer (and, when asked for, reasoning) segments; false when the client is gone.
async fn send_segments(
    tx: &mpsc::Sender<AskEvent>,
    acc: &mut Assembly,
    segments: Vec<Segment>,
    include_reasoning: bool,
) -> bool {
    for seg in segments {
        let ev = match seg {
            Segment::Answer(a) => {
                acc.answer.push_str(&a);
                AskEvent::Chunk(a)
            }
            Segment::Reasoning(r) => {
                acc.reasoning.push_str(&r);
                if !include_reasoning {
                    continue;
                }
                AskEvent::Reasoning(r)
            }
        };
        if tx.send(ev).await.is_err() {
            return false;
        }
    }
    true
}

fn details_of(ctx: &ForwardContext, c: &Completion, acc: &Assembly) -> Details {
    Details {
        category: ctx.category.as_str().to_string(),
        category_overridden: ctx.overridden,
        prompt_tokens: c.usage.prompt_tokens,
        completion_tokens: c.usage.completion_tokens,
        reused_prefix_tokens: c.usage.reused_prompt_tokens,
        time_to_first_token: c.timings.time_to_first_token,
        total_time: ctx.submitted.elapsed(),
        tokens_per_second: c.timings.decode_tokens_per_s,
        cache: CacheOutcome::Miss,
        model_id: ctx.model_id.clone(),
        finish_reason: c.finish.as_str().to_string(),
        reasoning: (ctx.include_reasoning && !acc.reasoning.is_empty())
            .then(|| acc.reasoning.clone()),
    }
}
