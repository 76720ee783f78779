//! The continuous-batching loop, generic over the model.
//!
//! Owns the policy: which request gets a sequence (priority, then FIFO, within a KV token budget),
//! what goes into each step's batch (one token per generating sequence first, then prompt chunks
//! round-robin under a per-step prefill cap), what happens on KV pressure (preempt the youngest,
//! requeue it, keep everyone else running), and when a sequence's cells are freed (the step after
//! it finishes or is cancelled). It never touches llama.cpp directly: everything model-specific
//! goes through [`ModelOps`].

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::handle::{Command, SharedCounters, Submission};
use super::ops::{BatchItem, DecodeFailure, ModelOps, Token};
use super::request::{Delivery, Live, Outbox};
use super::text::{StopMatcher, Utf8Stream};
use super::types::{EngineError, EngineStats, Event, FinishReason, Usage};

/// Scheduling knobs (from the plan / config).
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Sequence slots for requests (not counting template sequences).
    pub max_parallel: usize,
    /// Most prompt tokens computed in one step, across all prefilling requests. Keeps the
    /// inter-token latency of generating requests bounded while a long prompt is ingested (and
    /// the first token of a short prompt admitted beside a long one). A lone prompt with no
    /// request generating is not capped: nobody would wait for it.
    pub prefill_chunk: usize,
    /// Share template KV with requests (ablation switch: off recomputes every prompt).
    pub template_reuse: bool,
    /// LoRA adapter (index into the engine's adapter list) applied to each template and to the
    /// requests built on it; empty or `None`: the base model. llama.cpp applies adapters to the
    /// whole context, so one batch only ever holds requests of one adapter.
    pub template_adapters: Vec<Option<usize>>,
}

/// A system prompt whose KV lives in a reserved sequence.
#[derive(Debug)]
struct Template {
    system: String,
    tokens: Vec<Token>,
    adapter: Option<usize>,
}

/// The engine loop state. Sequence ids: templates use `0..T`, request slots `T..T+max_parallel`.
pub(crate) struct Core<M: ModelOps> {
    model: M,
    cfg: CoreConfig,
    templates: Vec<Template>,
    queue: Vec<Live<M::Sampler>>,
    slots: Vec<Option<Live<M::Sampler>>>,
    /// Finished requests whose final event has not fit into their channel yet.
    draining: Vec<Outbox>,
    counters: Arc<SharedCounters>,
    started: Instant,
    arrivals: u64,
    admissions: u64,
    rr_cursor: usize,
    stats: EngineStats,
    /// (time, tokens) samples for the recent throughput figure.
    recent: Vec<(Instant, u64)>,
    /// Set by a preemption, cleared when a slot's cells are freed; blocks admission meanwhile.
    kv_full: bool,
    /// The adapter currently applied to the context (the group of every active request).
    applied_adapter: Option<Option<usize>>,
}

impl<M: ModelOps> Core<M> {
    /// Decode every template into its reserved sequence and return a ready loop.
    pub fn new(
        mut model: M,
        cfg: CoreConfig,
        systems: &[String],
        counters: Arc<SharedCounters>,
        started: Instant,
    ) -> Result<Self, EngineError> {
        let mut templates = Vec::with_capacity(systems.len());
        for (i, system) in systems.iter().enumerate() {
            let prompt = model.render(system, "x")?;
            let tokens = prompt.tokens[..prompt.template_len].to_vec();
            let adapter = cfg.template_adapters.get(i).copied().flatten();
            if cfg.template_reuse && !tokens.is_empty() {
                // The template's KV must be computed with its own adapter to be reusable.
                model
                    .set_adapter(adapter)
                    .map_err(|e| EngineError::Internal(format!("adapter: {e:?}")))?;
                prefill_sequence(&mut model, i as u32, &tokens)?;
            }
            templates.push(Template {
                system: system.clone(),
                tokens,
                adapter,
            });
        }
        let stats = EngineStats {
            kv_cells_total: model.n_ctx(),
            ..EngineStats::default()
        };
        Ok(Self {
            slots: (0..cfg.max_parallel).map(|_| None).collect(),
            model,
            cfg,
            templates,
            queue: Vec::new(),
            draining: Vec::new(),
            counters,
            started,
            arrivals: 0,
            admissions: 0,
            rr_cursor: 0,
            stats,
            recent: Vec::new(),
            kv_full: false,
            applied_adapter: None,
        })
    }

    /// Run until shutdown or until every handle is gone; returns the final state (tests
    /// inspect it for leaks).
    pub fn run(mut self, rx: Receiver<Command>) -> Self {
        'outer: loop {
            self.beat();
            if self.is_idle() {
                let wait = if self.draining.is_empty() {
                    Duration::from_secs(1)
                } else {
                    Duration::from_millis(5)
                };
                match rx.recv_timeout(wait) {
                    Ok(cmd) => {
                        if !self.handle(cmd) {
                            break 'outer;
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break 'outer,
                }
            }
            while let Ok(cmd) = rx.try_recv() {
                if !self.handle(cmd) {
                    break 'outer;
                }
            }
            self.tick();
        }
        self.stop_all();
        self
    }

    /// One round: reap cancellations, admit, decode one batch, deliver output.
    pub fn tick(&mut self) {
        self.reap_cancelled();
        self.admit();
        if self.slots.iter().any(Option::is_some) {
            self.step();
        }
        self.flush();
        self.publish();
    }

    fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.slots.iter().all(Option::is_none)
    }

    fn beat(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.counters.heartbeat_ms.store(ms, Ordering::Relaxed);
    }

    /// Returns false on shutdown.
    pub(crate) fn handle(&mut self, cmd: Command) -> bool {
        match cmd {
            Command::Submit(sub) => self.accept(*sub),
            // The flag is already set; the next reap notices it.
            Command::Cancel(id) => tracing::trace!(request = id, "cancel requested"),
            Command::Stats(tx) => {
                let _ = tx.send(self.stats());
            }
            Command::Shutdown => return false,
        }
        true
    }

    /// Tokenize and validate a submission, then queue it (or answer with an error).
    fn accept(&mut self, sub: Submission) {
        let Submission {
            id,
            req,
            tx,
            cancel,
            permit,
            submitted,
        } = sub;
        let mut out = Outbox::new(tx);
        let Some(template) = self.templates.get(req.template) else {
            out.set_final(Event::Error(EngineError::InvalidArgument(
                "no such template".into(),
            )));
            self.draining.push(out);
            return;
        };
        let prompt = match self.model.render(&template.system, &req.question) {
            Ok(p) => p,
            Err(e) => {
                out.set_final(Event::Error(e));
                self.draining.push(out);
                return;
            }
        };
        let score_tokens = req.score_candidates.as_ref().map(|cands| {
            cands
                .iter()
                .map(|c| self.model.tokenize_plain(c).first().copied().unwrap_or(-1))
                .collect::<Vec<_>>()
        });
        let sampler = self.model.new_sampler(&req.sampling);
        self.arrivals += 1;
        let live = Live {
            id,
            cancel,
            permit: Some(permit),
            submitted,
            arrival: self.arrivals,
            admitted_order: 0,
            prompt_len: prompt.tokens.len(),
            feed: prompt.tokens,
            n_past: 0,
            next_input: None,
            generated: Vec::new(),
            sampler,
            utf8: Utf8Stream::default(),
            stop: StopMatcher::new(
                &[req.sampling.stop.as_slice(), prompt.stop.as_slice()].concat(),
            ),
            out,
            usage: Usage::default(),
            admitted_at: None,
            first_token_at: None,
            last_token_at: None,
            preemptions: 0,
            score_tokens,
            margins: Vec::new(),
            req,
        };
        let reuse = self.reusable(&live);
        let needed = live.budget(reuse);
        let available = self.capacity();
        if needed > available {
            let mut live = live;
            live.fail(EngineError::PromptTooLong {
                needed: needed as u32,
                available: available as u32,
            });
            self.retire(live, false);
            return;
        }
        self.queue.push(live);
    }

    /// KV cells requests may use (the context minus what templates hold).
    fn capacity(&self) -> usize {
        let held: usize = if self.cfg.template_reuse {
            self.templates.iter().map(|t| t.tokens.len()).sum()
        } else {
            0
        };
        (self.model.n_ctx() as usize).saturating_sub(held)
    }

    /// How many leading tokens of this request's feed can be shared from its template sequence.
    fn reusable(&self, live: &Live<M::Sampler>) -> usize {
        if !self.cfg.template_reuse {
            return 0;
        }
        let t = &self.templates[live.req.template].tokens;
        let lcp = t
            .iter()
            .zip(live.feed.iter())
            .take_while(|(a, b)| a == b)
            .count();
        // At least one token must be computed to get logits for the first sample.
        lcp.min(live.feed.len().saturating_sub(1))
    }

    fn reserved(&self) -> usize {
        self.slots
            .iter()
            .flatten()
            .map(|l| l.budget(l.usage.reused_prompt_tokens as usize))
            .sum()
    }

    /// Move queued requests into free slots: highest priority first, FIFO within a priority,
    /// while the head of the queue fits the KV budget (no overtaking, so long prompts are not
    /// starved by short ones).
    fn admit(&mut self) {
        loop {
            if self.kv_full {
                return;
            }
            let Some(free) = self.slots.iter().position(Option::is_none) else {
                return;
            };
            let Some(head) = self
                .queue
                .iter()
                .enumerate()
                .max_by_key(|(_, l)| (l.req.priority, std::cmp::Reverse(l.arrival)))
                .map(|(i, _)| i)
            else {
                return;
            };
            let reuse = self.reusable(&self.queue[head]);
            if self.reserved() + self.queue[head].budget(reuse) > self.capacity() {
                return;
            }
            // One adapter per batch: a request for another adapter waits until the running
            // group drains (nobody overtakes it meanwhile, so it is next).
            let group = self.adapter_of(&self.queue[head]);
            if self.running_group().is_some_and(|g| g != group) {
                return;
            }
            let mut live = self.queue.swap_remove(head);
            let seq = self.seq_of(free);
            if reuse > 0 {
                self.model
                    .seq_share_prefix(live.req.template as u32, seq, reuse as u32);
            }
            live.n_past = reuse;
            live.usage.reused_prompt_tokens = reuse as u32;
            live.usage.prompt_tokens = live.prompt_len as u32;
            self.admissions += 1;
            live.admitted_order = self.admissions;
            live.admitted_at.get_or_insert_with(Instant::now);
            self.stats.prompt_tokens_reused += reuse as u64;
            self.slots[free] = Some(live);
        }
    }

    /// The adapter a request runs with.
    fn adapter_of(&self, l: &Live<M::Sampler>) -> Option<usize> {
        self.templates.get(l.req.template).and_then(|t| t.adapter)
    }

    /// The adapter group of the active requests (`None` when idle).
    fn running_group(&self) -> Option<Option<usize>> {
        self.slots
            .iter()
            .flatten()
            .next()
            .map(|l| self.adapter_of(l))
    }

    fn seq_of(&self, slot: usize) -> u32 {
        (self.templates.len() + slot) as u32
    }

    /// Build and run one batch, then sample.
    fn step(&mut self) {
        let n_batch = self.model.n_batch() as usize;
        let mut batch: Vec<BatchItem> = Vec::with_capacity(n_batch);
        // Rows with logits: (slot, batch row).
        let mut rows: Vec<(usize, usize)> = Vec::new();

        // 1. Every generating sequence advances by one token.
        for (i, slot) in self.slots.iter().enumerate() {
            if let Some(l) = slot {
                if let Some(tok) = l.next_input {
                    rows.push((i, batch.len()));
                    batch.push(BatchItem {
                        token: tok,
                        pos: l.n_past as u32,
                        seq: self.seq_of(i),
                        logits: true,
                    });
                }
            }
        }
        let n_gen = batch.len();

        // 2. Prompt chunks, round-robin, within the prefill cap.
        let prefilling: Vec<usize> = (0..self.slots.len())
            .map(|k| (self.rr_cursor + k) % self.slots.len())
            .filter(|&i| {
                self.slots[i]
                    .as_ref()
                    .is_some_and(|l| l.next_input.is_none() && !l.prefill_done())
            })
            .collect();
        // The cap protects others from waiting on a long prompt. With nothing generating and a
        // single prompt to read, nobody waits: fill the whole batch (fewer, larger decodes read
        // the weights fewer times; llama.cpp splits it into n_ubatch pieces anyway).
        let cap = if n_gen == 0 && prefilling.len() == 1 {
            n_batch
        } else {
            self.cfg.prefill_chunk.max(1)
        };
        let mut budget = n_batch.saturating_sub(n_gen).min(cap);
        if !prefilling.is_empty() {
            self.rr_cursor = (self.rr_cursor + 1) % self.slots.len();
        }
        let fair_share = (budget / prefilling.len().max(1)).max(1);
        let mut chunks: Vec<(usize, usize)> = Vec::new(); // (slot, tokens)
        for (k, &i) in prefilling.iter().enumerate() {
            if budget == 0 {
                break;
            }
            let Some(l) = self.slots[i].as_ref() else {
                continue;
            };
            // The last one in this round may take whatever the others left.
            let share = if k + 1 == prefilling.len() {
                budget
            } else {
                fair_share
            };
            let take = (l.feed.len() - l.n_past).min(share).min(budget);
            let seq = self.seq_of(i);
            for j in 0..take {
                let pos = l.n_past + j;
                let last = pos + 1 == l.feed.len();
                if last {
                    rows.push((i, batch.len()));
                }
                batch.push(BatchItem {
                    token: l.feed[pos],
                    pos: pos as u32,
                    seq,
                    logits: last,
                });
            }
            budget -= take;
            chunks.push((i, take));
        }
        if batch.is_empty() {
            return;
        }
        if let Some(group) = self.running_group() {
            if self.applied_adapter != Some(group) {
                if let Err(e) = self.model.set_adapter(group) {
                    tracing::error!(error = ?e, "cannot apply the LoRA adapter");
                    for i in 0..self.slots.len() {
                        if let Some(mut l) = self.free_slot(i) {
                            l.fail(EngineError::Internal(format!(
                                "cannot apply the adapter: {e:?}"
                            )));
                            self.retire(l, false);
                        }
                    }
                    return;
                }
                self.applied_adapter = Some(group);
            }
        }

        match self.model.decode(&batch) {
            Ok(()) => {}
            Err(DecodeFailure::NoKvSlot) => {
                self.preempt_youngest();
                return;
            }
            Err(DecodeFailure::Other(msg)) => {
                tracing::error!(error = %msg, "decode failed; failing the requests in this batch");
                let involved: Vec<usize> = rows
                    .iter()
                    .map(|r| r.0)
                    .chain(chunks.iter().map(|c| c.0))
                    .collect();
                for i in involved {
                    if let Some(mut l) = self.free_slot(i) {
                        l.fail(EngineError::Internal(msg.clone()));
                        self.retire(l, false);
                    }
                }
                return;
            }
        }
        self.stats.steps += 1;

        // Advance KV positions.
        for &(i, take) in &chunks {
            if let Some(l) = self.slots[i].as_mut() {
                l.n_past += take;
                l.usage.computed_prompt_tokens += take as u32;
                self.stats.prompt_tokens_computed += take as u64;
            }
        }
        for &(i, _) in rows.iter().take(n_gen) {
            if let Some(l) = self.slots[i].as_mut() {
                l.n_past += 1;
                l.next_input = None;
            }
        }

        // 3. Sample (or score) every row that has logits.
        for (i, row) in rows {
            self.after_logits(i, row);
        }
    }

    /// Handle the logits of one row: sample the next token, or score candidates.
    fn after_logits(&mut self, i: usize, row: usize) {
        let Some(l) = self.slots[i].as_mut() else {
            return;
        };
        if let Some(cands) = l.score_tokens.clone() {
            let scores = self.model.logprobs(row, &cands);
            let done = l.completion(FinishReason::Scored, scores);
            l.out.set_final(Event::Done(done));
            self.finish_slot(i, true);
            return;
        }
        let tok = self.model.sample(&mut l.sampler, row);
        if l.req.trace {
            l.margins.push(self.model.margin(row, tok));
        }
        let now = Instant::now();
        l.first_token_at.get_or_insert(now);
        l.last_token_at = Some(now);
        self.stats.tokens_generated += 1;
        if self.model.is_eog(tok) {
            l.finish_text(false);
            let done = l.completion(FinishReason::EndOfText, Vec::new());
            l.out.set_final(Event::Done(done));
            self.finish_slot(i, true);
            return;
        }
        l.generated.push(tok);
        let bytes = self.model.piece(tok);
        let stopped = l.emit_bytes(&bytes);
        let finish = if stopped {
            Some(FinishReason::Stop)
        } else if l.generated.len() >= l.req.sampling.max_tokens as usize {
            Some(FinishReason::Length)
        } else {
            None
        };
        match finish {
            Some(reason) => {
                l.finish_text(stopped);
                let done = l.completion(reason, Vec::new());
                l.out.set_final(Event::Done(done));
                self.finish_slot(i, true);
            }
            None => {
                l.next_input = Some(tok);
                // After a preemption the generated tokens are part of `feed`; keep it in sync so a
                // second preemption recomputes everything.
                l.feed.push(tok);
            }
        }
    }

    /// Take a request out of its slot and drop its KV cells. Freed cells end a KV-pressure episode.
    fn free_slot(&mut self, i: usize) -> Option<Live<M::Sampler>> {
        let l = self.slots[i].take()?;
        self.model.seq_clear(self.seq_of(i));
        self.kv_full = false;
        Some(l)
    }

    /// Free a slot's sequence at once and move the request to the drain list.
    fn finish_slot(&mut self, i: usize, ok: bool) {
        if let Some(l) = self.free_slot(i) {
            self.retire(l, ok);
        }
    }

    /// Account for an ended request and keep its outbox until delivered.
    fn retire(&mut self, mut l: Live<M::Sampler>, ok: bool) {
        if ok {
            self.stats.completed += 1;
        } else {
            self.stats.failed += 1;
        }
        l.permit.take();
        if l.out.flush() == Delivery::Open && !l.out.is_drained() {
            self.draining.push(l.out);
        }
    }

    /// KV is full: take the most recently admitted request out, free its cells, and put it back
    /// at the front of its priority class. It keeps what it generated and recomputes it later.
    fn preempt_youngest(&mut self) {
        let Some(i) = (0..self.slots.len())
            .filter(|&i| self.slots[i].is_some())
            .max_by_key(|&i| self.slots[i].as_ref().map_or(0, |l| l.admitted_order))
        else {
            return;
        };
        let alone = self.slots.iter().flatten().count() == 1;
        let Some(mut l) = self.free_slot(i) else {
            return;
        };
        if alone {
            tracing::error!(request = l.id, "KV cache full with a single request");
            l.fail(EngineError::Internal(
                "the KV cache cannot hold this request".into(),
            ));
            self.retire(l, false);
            return;
        }
        tracing::warn!(
            request = l.id,
            "KV cache full: preempting the youngest request"
        );
        // Admit nobody until a request ends: re-admitting now would only fill the same cells
        // again and preempt the same request forever.
        self.kv_full = true;
        self.stats.preemptions += 1;
        l.preemptions += 1;
        l.n_past = 0;
        // The pending input token is already the last element of `feed`; it will be recomputed.
        l.next_input = None;
        self.queue.push(l);
    }

    /// End requests whose client cancelled or left; free their cells now.
    fn reap_cancelled(&mut self) {
        for i in 0..self.slots.len() {
            if self.slots[i].as_ref().is_some_and(Live::is_cancelled) {
                if let Some(mut l) = self.free_slot(i) {
                    l.fail(EngineError::Cancelled);
                    self.retire(l, false);
                }
            }
        }
        let mut k = 0;
        while k < self.queue.len() {
            if self.queue[k].is_cancelled() {
                let mut l = self.queue.swap_remove(k);
                l.fail(EngineError::Cancelled);
                self.retire(l, false);
            } else {
                k += 1;
            }
        }
    }

    /// Deliver pending text and final events; a closed channel cancels the request.
    fn flush(&mut self) {
        for slot in self.slots.iter_mut() {
            if let Some(l) = slot {
                if l.out.flush() == Delivery::Closed {
                    l.cancel.store(true, Ordering::Relaxed);
                }
            }
        }
        self.draining
            .retain_mut(|o| o.flush() == Delivery::Open && !o.is_drained());
    }

    fn publish(&mut self) {
        let active = self.slots.iter().flatten().count();
        self.counters.active.store(active, Ordering::Relaxed);
        self.counters
            .queued
            .store(self.queue.len(), Ordering::Relaxed);
        let now = Instant::now();
        self.recent.push((now, self.stats.tokens_generated));
        self.recent
            .retain(|(t, _)| now.saturating_duration_since(*t) < Duration::from_secs(5));
    }

    /// Current counters.
    pub fn stats(&self) -> EngineStats {
        let mut s = self.stats.clone();
        s.active = self.slots.iter().flatten().count();
        s.slots_in_use = s.active;
        s.queued = self.queue.len();
        let template_cells: usize = if self.cfg.template_reuse {
            self.templates.iter().map(|t| t.tokens.len()).sum()
        } else {
            0
        };
        let own: usize = self
            .slots
            .iter()
            .flatten()
            .map(|l| {
                l.n_past
                    .saturating_sub(l.usage.reused_prompt_tokens as usize)
            })
            .sum();
        s.kv_cells_used = (template_cells + own) as u32;
        s.leaked_sequences = self.leaked_sequences().len() as u32;
        if let (Some(first), Some(last)) = (self.recent.first(), self.recent.last()) {
            let dt = last.0.saturating_duration_since(first.0).as_secs_f64();
            if dt > 0.0 {
                s.recent_tokens_per_s = (last.1 - first.1) as f64 / dt;
            }
        }
        s
    }

    /// Sequences of free slots that still hold KV cells (should always be empty).
    pub fn leaked_sequences(&self) -> Vec<u32> {
        (0..self.slots.len())
            .filter(|&i| self.slots[i].is_none())
            .map(|i| self.seq_of(i))
            .filter(|&seq| !self.model.seq_is_empty(seq))
            .collect()
    }

    /// Template sequences and their token counts (for tests and status).
    pub fn template_lengths(&self) -> Vec<usize> {
        self.templates.iter().map(|t| t.tokens.len()).collect()
    }

    /// The model, for tests that inspect it.
    #[cfg(test)]
    pub fn model(&self) -> &M {
        &self.model
    }

    /// Fail everything: the engine is going away.
    fn stop_all(&mut self) {
        for i in 0..self.slots.len() {
            if let Some(mut l) = self.free_slot(i) {
                l.fail(EngineError::NotRunning);
                self.retire(l, false);
            }
        }
        for mut l in std::mem::take(&mut self.queue) {
            l.fail(EngineError::NotRunning);
            self.retire(l, false);
        }
        self.flush();
    }
}

/// Decode `tokens` into sequence `seq` from position 0, in batch-sized chunks.
fn prefill_sequence<M: ModelOps>(
    model: &mut M,
    seq: u32,
    tokens: &[Token],
) -> Result<(), EngineError> {
    let n_batch = model.n_batch().max(1) as usize;
    for (c, chunk) in tokens.chunks(n_batch).enumerate() {
        let batch: Vec<BatchItem> = chunk
            .iter()
            .enumerate()
            .map(|(j, &token)| BatchItem {
                token,
                pos: (c * n_batch + j) as u32,
                seq,
                logits: false,
            })
            .collect();
        model
            .decode(&batch)
            .map_err(|e| EngineError::Internal(format!("template prefill failed: {e:?}")))?;
    }
    Ok(())
}
