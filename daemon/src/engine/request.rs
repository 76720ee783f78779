//! The engine thread's view of one request: its tokens, its KV progress, and its outgoing text.
//!
//! Owns per-request state and the rule for delivering events without ever blocking the engine
//! thread: text that cannot be sent yet (the client reads slowly) is coalesced into one pending
//! chunk, so one slow client can neither stall the batch nor grow memory beyond its own answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::mpsc::{self, error::TrySendError};

use super::handle::RequestId;
use super::ops::Token;
use super::text::{StopMatcher, StopOutcome, Utf8Stream};
use super::types::{Completion, EngineError, Event, FinishReason, GenerateRequest, Timings, Usage};

/// Whether a channel still has a reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Everything queued so far was handed to the channel (or waits for room).
    Open,
    /// The receiver is gone: the client left.
    Closed,
}

/// Text and a final event waiting for room in a request's channel.
#[derive(Debug)]
pub(crate) struct Outbox {
    tx: mpsc::Sender<Event>,
    text: String,
    last: Option<Event>,
}

impl Outbox {
    pub fn new(tx: mpsc::Sender<Event>) -> Self {
        Self {
            tx,
            text: String::new(),
            last: None,
        }
    }

    pub fn push_text(&mut self, s: &str) {
        self.text.push_str(s);
    }

    pub fn set_final(&mut self, ev: Event) {
        self.last = Some(ev);
    }

    /// True when the receiver has gone away.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// True when nothing remains to deliver.
    pub fn is_drained(&self) -> bool {
        self.text.is_empty() && self.last.is_none()
    }

    /// Hand over as much as the channel takes right now.
    pub fn flush(&mut self) -> Delivery {
        if !self.text.is_empty() {
            match self
                .tx
                .try_send(Event::Token(std::mem::take(&mut self.text)))
            {
                Ok(()) => {}
                Err(TrySendError::Full(Event::Token(t))) => {
                    self.text = t;
                    return Delivery::Open;
                }
                Err(TrySendError::Full(_)) => return Delivery::Open,
                Err(TrySendError::Closed(_)) => return Delivery::Closed,
            }
        }
        if let Some(ev) = self.last.take() {
            match self.tx.try_send(ev) {
                Ok(()) => {}
                Err(TrySendError::Full(ev)) => self.last = Some(ev),
                Err(TrySendError::Closed(_)) => return Delivery::Closed,
            }
        }
        Delivery::Open
    }
}

/// One request inside the engine thread.
#[derive(Debug)]
pub(crate) struct Live<S> {
    pub id: RequestId,
    pub req: GenerateRequest,
    pub cancel: Arc<AtomicBool>,
    /// Held until the request ends; frees a queue place when dropped.
    pub permit: Option<OwnedSemaphorePermit>,
    pub submitted: Instant,
    /// Queue order among equal priorities (kept across preemptions so a requeued request goes
    /// back to the front of its priority class).
    pub arrival: u64,
    /// Order of (re)admission; the highest is the youngest, the first to be preempted.
    pub admitted_order: u64,
    /// Tokens that must be in KV before the next token can be sampled: the prompt, plus tokens
    /// generated before a preemption.
    pub feed: Vec<Token>,
    /// Length of the original prompt.
    pub prompt_len: usize,
    /// Tokens of `feed` already in this sequence's KV (shared or computed).
    pub n_past: usize,
    /// The token to feed at position `n_past` in the next step (generation phase).
    pub next_input: Option<Token>,
    /// Everything generated so far.
    pub generated: Vec<Token>,
    pub sampler: S,
    pub utf8: Utf8Stream,
    pub stop: StopMatcher,
    pub out: Outbox,
    pub usage: Usage,
    pub admitted_at: Option<Instant>,
    pub first_token_at: Option<Instant>,
    pub last_token_at: Option<Instant>,
    pub preemptions: u32,
    /// Candidate first tokens for a scoring request.
    pub score_tokens: Option<Vec<Token>>,
    /// Margins of generated tokens (only with `req.trace`).
    pub margins: Vec<f32>,
}

impl<S> Live<S> {
    /// Cancelled by the client (flag) or abandoned (receiver dropped)?
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed) || self.out.is_closed()
    }

    /// KV cells this request may come to hold beyond what it shares with its template.
    pub fn budget(&self, reuse: usize) -> usize {
        let remaining =
            (self.req.sampling.max_tokens as usize).saturating_sub(self.generated.len());
        self.feed.len().saturating_sub(reuse) + remaining
    }

    /// Is the prompt fully in KV (so the next step samples)?
    pub fn prefill_done(&self) -> bool {
        self.n_past >= self.feed.len()
    }

    /// Feed decoded token bytes through UTF-8 reassembly and stop matching. Returns true when a
    /// stop string ended the answer.
    pub fn emit_bytes(&mut self, bytes: &[u8]) -> bool {
        let text = self.utf8.push(bytes);
        if text.is_empty() {
            return false;
        }
        match self.stop.push(&text) {
            StopOutcome::Continue(t) => {
                self.out.push_text(&t);
                false
            }
            StopOutcome::Stopped(t) => {
                self.out.push_text(&t);
                true
            }
        }
    }

    /// Close the text stream: release held-back bytes (unless a stop string matched).
    pub fn finish_text(&mut self, stopped: bool) {
        if stopped {
            return;
        }
        let rest = self.utf8.finish();
        let tail = match self.stop.push(&rest) {
            StopOutcome::Continue(t) => t + &self.stop.finish(),
            StopOutcome::Stopped(t) => t,
        };
        self.out.push_text(&tail);
    }

    /// The completion summary for a successful end.
    pub fn completion(&self, finish: FinishReason, scores: Vec<f32>) -> Completion {
        let now = Instant::now();
        let queue = self
            .admitted_at
            .map(|a| a.saturating_duration_since(self.submitted))
            .unwrap_or_default();
        let ttft = self
            .first_token_at
            .map(|f| f.saturating_duration_since(self.submitted))
            .unwrap_or_else(|| now.saturating_duration_since(self.submitted));
        let decode = match (self.first_token_at, self.last_token_at) {
            (Some(f), Some(l)) => l.saturating_duration_since(f),
            _ => Duration::ZERO,
        };
        let n = self.generated.len();
        let tps = if n >= 2 && decode > Duration::ZERO {
            (n - 1) as f64 / decode.as_secs_f64()
        } else {
            0.0
        };
        Completion {
            finish,
            usage: Usage {
                completion_tokens: n as u32,
                ..self.usage.clone()
            },
            timings: Timings {
                queue,
                time_to_first_token: ttft,
                decode,
                decode_tokens_per_s: tps,
                preemptions: self.preemptions,
            },
            scores,
            tokens: if self.req.trace {
                self.generated.clone()
            } else {
                Vec::new()
            },
            margins: self.margins.clone(),
        }
    }

    /// End with an error; text already produced is still delivered first.
    pub fn fail(&mut self, err: EngineError) {
        self.out.set_final(Event::Error(err));
    }
}
