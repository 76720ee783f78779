//! Scheduler policy tests on the fake model: answers under batching equal solo answers,
//! admission and `Busy`, priorities, cancellation, preemption, fairness, and no leaked sequences
//! after thousands of random submit/cancel operations.

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;

use super::core::{Core, CoreConfig};
use super::fake::FakeModel;
use super::handle::EngineHandle;
use super::ops::Token;
use super::types::{EngineError, Event, FinishReason, GenerateRequest, SamplingParams};
use super::{RequestStream, spawn_thread};

struct Harness {
    handle: EngineHandle,
    done: std_mpsc::Receiver<Core<FakeModel>>,
}

impl Harness {
    fn start(
        model: FakeModel,
        max_parallel: usize,
        max_queue: usize,
        prefill_chunk: usize,
    ) -> Self {
        Self::start_with_adapters(model, max_parallel, max_queue, prefill_chunk, Vec::new())
    }

    fn start_with_adapters(
        model: FakeModel,
        max_parallel: usize,
        max_queue: usize,
        prefill_chunk: usize,
        adapters: Vec<Option<usize>>,
    ) -> Self {
        let (done_tx, done) = std_mpsc::channel();
        let systems = vec![
            "You are careful.".to_string(),
            "Emergency: be quick.".to_string(),
        ];
        let cfg = CoreConfig {
            max_parallel,
            prefill_chunk,
            template_reuse: true,
            template_adapters: adapters,
        };
        let handle = spawn_thread(max_parallel, max_queue, systems.len(), move |init| {
            let core = Core::new(
                model,
                cfg,
                &systems,
                Arc::clone(&init.counters),
                init.started,
            )
            .expect("templates prefill");
            let core = core.run(init.rx);
            let _ = done_tx.send(core);
        })
        .expect("spawn");
        Self { handle, done }
    }

    /// Stop the engine and get the loop state back for inspection.
    fn stop(self) -> Core<FakeModel> {
        self.handle.shutdown();
        drop(self.handle);
        self.done.recv().expect("engine thread ended")
    }
}

fn req(q: &str, max_tokens: u32) -> GenerateRequest {
    GenerateRequest {
        template: 0,
        question: q.to_string(),
        sampling: SamplingParams {
            max_tokens,
            ..SamplingParams::default()
        },
        priority: 0,
        score_candidates: None,
        trace: false,
    }
}

/// Collect a stream: (text, final event).
async fn collect(mut s: RequestStream) -> (String, Event) {
    let mut text = String::new();
    loop {
        match s.next().await {
            Some(Event::Token(t)) => text.push_str(&t),
            Some(ev) => return (text, ev),
            None => unreachable!("stream ended without a final event"),
        }
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn questions(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                "What is the dose of drug number {i} for an adult with condition {}?",
                i * 7
            )
        })
        .collect()
}

#[test]
fn batched_answers_equal_solo_answers() {
    let rt = rt();
    let qs = questions(8);
    // Solo: one slot, requests one after another.
    let solo = Harness::start(FakeModel::new(4096, 512), 1, 16, 64);
    let mut alone = Vec::new();
    for q in &qs {
        let s = solo.handle.submit(req(q, 40)).expect("submit");
        alone.push(rt.block_on(collect(s)));
    }
    assert!(solo.stop().leaked_sequences().is_empty());
    // Batched: all eight at once.
    let h = Harness::start(FakeModel::new(4096, 512), 8, 16, 64);
    let streams: Vec<_> = qs
        .iter()
        .map(|q| h.handle.submit(req(q, 40)).expect("submit"))
        .collect();
    let together = rt.block_on(futures_util::future::join_all(
        streams.into_iter().map(collect),
    ));
    for (i, (a, b)) in alone.iter().zip(&together).enumerate() {
        assert_eq!(a.0, b.0, "answer {i} differs under batching");
        assert!(!a.0.is_empty());
        match (&a.1, &b.1) {
            (Event::Done(x), Event::Done(y)) => {
                assert_eq!(x.finish, y.finish);
                assert_eq!(x.usage.completion_tokens, y.usage.completion_tokens);
                // Template prefix was shared, not recomputed.
                assert!(y.usage.reused_prompt_tokens > 10, "{:?}", y.usage);
                assert_eq!(
                    y.usage.computed_prompt_tokens + y.usage.reused_prompt_tokens,
                    y.usage.prompt_tokens
                );
            }
            other => panic!("unexpected finals {other:?}"),
        }
    }
    let core = h.stop();
    assert!(core.leaked_sequences().is_empty());
    // Only the two template sequences remain in the KV cache.
    let template_cells: usize = core.template_lengths().iter().sum();
    assert_eq!(core.model().cells_used(), template_cells);
}

#[test]
fn full_queue_is_busy_and_recovers() {
    let rt = rt();
    let h = Harness::start(FakeModel::new(4096, 512), 1, 2, 64);
    // 1 running + 2 queued fill the admission limit.
    let held: Vec<_> = (0..3)
        .map(|i| {
            h.handle
                .submit(req(&format!("q{i}"), 200))
                .expect("admitted")
        })
        .collect();
    match h.handle.submit(req("one too many", 10)) {
        Err(EngineError::Busy { .. }) => {}
        other => panic!("expected Busy, got {other:?}"),
    }
    for s in held {
        rt.block_on(collect(s));
    }
    // Permits were returned: the service takes new work again.
    let s = h
        .handle
        .submit(req("after the flood", 10))
        .expect("accepted after drain");
    assert!(matches!(rt.block_on(collect(s)).1, Event::Done(_)));
    assert!(h.stop().leaked_sequences().is_empty());
}

#[test]
fn prompt_longer_than_context_is_refused() {
    let rt = rt();
    let h = Harness::start(FakeModel::new(256, 64), 2, 4, 32);
    let long = "x".repeat(400);
    let s = h.handle.submit(req(&long, 10)).expect("queued");
    match rt.block_on(collect(s)).1 {
        Event::Error(EngineError::PromptTooLong { needed, available }) => {
            assert!(needed > available, "{needed} <= {available}");
        }
        other => panic!("expected PromptTooLong, got {other:?}"),
    }
    // A prompt that fits still works.
    let s = h.handle.submit(req("short", 10)).expect("queued");
    assert!(matches!(rt.block_on(collect(s)).1, Event::Done(_)));
    h.stop();
}

#[test]
fn cancel_and_drop_free_the_sequence() {
    let rt = rt();
    let h = Harness::start(FakeModel::new(4096, 512).never_end(), 2, 4, 64);
    // A long answer: cancel after the first chunk.
    let mut s = h.handle.submit(req("zz", 3000)).expect("submit");
    let first = rt.block_on(s.next());
    assert!(matches!(first, Some(Event::Token(_))), "{first:?}");
    s.cancel();
    let (_, last) = rt.block_on(collect(s));
    // It either ended naturally just before the cancel landed, or was cancelled.
    assert_eq!(last, Event::Error(EngineError::Cancelled));
    // Dropping a stream cancels it too.
    let s = h.handle.submit(req("yy", 3000)).expect("submit");
    drop(s);
    // The engine keeps serving.
    let s = h.handle.submit(req("still there?", 20)).expect("submit");
    assert!(matches!(rt.block_on(collect(s)).1, Event::Done(_)));
    let core = h.stop();
    assert!(core.leaked_sequences().is_empty());
    let stats = core.stats();
    assert!(stats.failed >= 1, "{stats:?}");
}

#[test]
fn emergency_priority_is_admitted_first() {
    let rt = rt();
    let h = Harness::start(FakeModel::new(4096, 512).never_end(), 1, 8, 64);
    // Occupy the only slot until everything else is queued.
    let mut running = h
        .handle
        .submit(req("occupy the only slot", 3000))
        .expect("submit");
    assert!(matches!(rt.block_on(running.next()), Some(Event::Token(_))));
    let low: Vec<_> = (0..3)
        .map(|i| {
            h.handle
                .submit(req(&format!("routine {i}"), 5))
                .expect("submit")
        })
        .collect();
    let mut urgent = req("chest pain now", 5);
    urgent.priority = 10;
    let urgent = h.handle.submit(urgent).expect("submit");
    // Cancel only once the engine has queued all four, so admission sees them together.
    while h.handle.queued() < 4 {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    running.cancel();
    rt.block_on(async {
        collect(running).await;
        for s in low {
            collect(s).await;
        }
        collect(urgent).await;
    });
    // The order in which the model was fed the questions is the order of admission.
    let core = h.stop();
    let fed = &core.model().fed;
    let first_fed = |q: &str| -> usize {
        let q: Vec<Token> = q.bytes().map(Token::from).collect();
        fed.windows(q.len())
            .position(|w| w == q.as_slice())
            .unwrap_or_else(|| panic!("{q:?} was never fed"))
    };
    let urgent_at = first_fed("chest pain now");
    for i in 0..3 {
        let low_at = first_fed(&format!("routine {i}"));
        assert!(
            urgent_at < low_at,
            "routine {i} was admitted before the emergency ({low_at} < {urgent_at})"
        );
    }
}

#[test]
fn long_prompt_does_not_freeze_generation() {
    let rt = rt();
    let chunk = 16;
    // The generating request runs 200 tokens, longer than the long prompt's 2000/16 steps, so
    // every chunk of that prompt is read while someone is streaming.
    let h = Harness::start(FakeModel::new(8192, 512).never_end(), 2, 4, chunk);
    let generating = h.handle.submit(req("short question", 200)).expect("submit");
    let long = h.handle.submit(req(&"y".repeat(2000), 5)).expect("submit");
    rt.block_on(async {
        futures_util::future::join(collect(generating), collect(long)).await;
    });
    let core = h.stop();
    // No step carried more than the generating tokens plus the prefill cap (the first batches
    // are the templates, decoded at start-up).
    let n_templates = core.template_lengths().len();
    let max_batch = core.model().batch_sizes[n_templates..]
        .iter()
        .copied()
        .max()
        .unwrap_or(0);
    assert!(max_batch <= 2 + chunk, "a step carried {max_batch} tokens");
}

#[test]
fn a_lone_prompt_is_read_in_full_batches() {
    let rt = rt();
    let chunk = 16;
    let h = Harness::start(FakeModel::new(8192, 512), 2, 4, chunk);
    let s = h.handle.submit(req(&"y".repeat(2000), 5)).expect("submit");
    assert!(matches!(rt.block_on(collect(s)).1, Event::Done(_)));
    let core = h.stop();
    // Nothing else was running: the cap (16) would only have cost decode calls.
    let n_templates = core.template_lengths().len();
    let steps = &core.model().batch_sizes[n_templates..];
    assert_eq!(steps.iter().copied().max(), Some(512), "{steps:?}");
    assert!(steps.len() < 2000 / chunk, "{} steps", steps.len());
}

#[test]
fn kv_pressure_preempts_youngest_and_everyone_finishes() {
    let rt = rt();
    // The context admits all four by budget only because budgets assume the whole answer; make
    // the fake's real capacity smaller than the context it reports, as fragmentation would.
    let qs = questions(4);
    let solo = Harness::start(FakeModel::new(4096, 512), 1, 8, 64);
    let alone: Vec<_> = qs
        .iter()
        .map(|q| {
            rt.block_on(collect(solo.handle.submit(req(q, 30)).expect("submit")))
                .0
        })
        .collect();
    solo.stop();
    let mut tight = FakeModel::new(4096, 512);
    tight.squeeze_capacity(260);
    let h = Harness::start(tight, 4, 8, 64);
    let streams: Vec<_> = qs
        .iter()
        .map(|q| h.handle.submit(req(q, 30)).expect("submit"))
        .collect();
    let got = rt.block_on(futures_util::future::join_all(
        streams.into_iter().map(collect),
    ));
    for (i, (text, ev)) in got.iter().enumerate() {
        assert!(matches!(ev, Event::Done(_)), "request {i}: {ev:?}");
        assert_eq!(text, &alone[i], "request {i} changed after preemption");
    }
    let core = h.stop();
    assert!(
        core.stats().preemptions > 0,
        "the test did not create KV pressure"
    );
    assert!(core.leaked_sequences().is_empty());
}

#[test]
fn scoring_returns_candidate_logprobs() {
    let rt = rt();
    let h = Harness::start(FakeModel::new(4096, 512), 2, 4, 64);
    let mut r = req("Which option?", 1);
    r.score_candidates = Some(vec!["a".into(), "b".into(), "c".into(), "d".into()]);
    match rt.block_on(collect(h.handle.submit(r).expect("submit"))) {
        (text, Event::Done(c)) => {
            assert!(text.is_empty());
            assert_eq!(c.finish, FinishReason::Scored);
            assert_eq!(c.scores.len(), 4);
            assert!(c.scores.iter().all(|s| s.is_finite() && *s < 0.0));
        }
        other => panic!("{other:?}"),
    }
    h.stop();
}

#[test]
fn random_submit_cancel_storm_leaks_nothing() {
    let rt = rt();
    let h = Harness::start(FakeModel::new(2048, 256), 4, 12, 32);
    let mut rng: u64 = 0x1234_5678;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut live: Vec<RequestStream> = Vec::new();
    let (mut busy, mut ok) = (0, 0);
    rt.block_on(async {
        for _ in 0..10_000 {
            match next() % 4 {
                0 | 1 => match h.handle.submit(req(
                    &format!("q{}", next() % 1000),
                    (next() % 50 + 1) as u32,
                )) {
                    Ok(s) => live.push(s),
                    Err(EngineError::Busy { .. }) => busy += 1,
                    Err(e) => panic!("{e}"),
                },
                2 if !live.is_empty() => {
                    let i = (next() as usize) % live.len();
                    let s = live.swap_remove(i);
                    if next() % 2 == 0 {
                        s.cancel();
                        collect(s).await;
                    } // else: dropped
                }
                _ => {
                    if let Some(s) = live.pop() {
                        if matches!(collect(s).await.1, Event::Done(_)) {
                            ok += 1;
                        }
                    }
                }
            }
        }
        for s in live.drain(..) {
            collect(s).await;
        }
    });
    assert!(
        ok > 100 && busy > 0,
        "ok {ok}, busy {busy}: the storm did not exercise both paths"
    );
    // Let the engine process the last cancellations, then inspect.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let core = h.stop();
    assert!(
        core.leaked_sequences().is_empty(),
        "{:?}",
        core.leaked_sequences()
    );
    let template_cells: usize = core.template_lengths().iter().sum();
    assert_eq!(core.model().cells_used(), template_cells);
    assert_eq!(core.stats().active, 0);
    assert_eq!(core.stats().queued, 0);
}

#[test]
fn batches_stay_adapter_homogeneous_and_answers_match_solo() {
    let rt = rt();
    // Template 0 runs on the base model, template 1 with adapter 0.
    let adapters = vec![None, Some(0)];
    let reqs: Vec<GenerateRequest> = (0..12)
        .map(|i| {
            let mut r = req(&format!("question {i} about dosing"), 30);
            r.template = i % 2;
            r
        })
        .collect();
    let solo = Harness::start_with_adapters(FakeModel::new(4096, 512), 1, 16, 64, adapters.clone());
    let alone: Vec<_> = reqs
        .iter()
        .map(|r| {
            rt.block_on(collect(solo.handle.submit(r.clone()).expect("submit")))
                .0
        })
        .collect();
    solo.stop();
    let h = Harness::start_with_adapters(FakeModel::new(4096, 512), 4, 16, 64, adapters);
    let streams: Vec<_> = reqs
        .iter()
        .map(|r| h.handle.submit(r.clone()).expect("submit"))
        .collect();
    let got = rt.block_on(futures_util::future::join_all(
        streams.into_iter().map(collect),
    ));
    for (i, ((text, ev), solo_text)) in got.iter().zip(&alone).enumerate() {
        // The fake refuses to decode a sequence under another adapter than its cells were computed
        // with, so a mixed batch would have ended in an error here.
        assert!(matches!(ev, Event::Done(_)), "request {i}: {ev:?}");
        assert_eq!(text, solo_text, "request {i}");
    }
    let core = h.stop();
    assert!(core.leaked_sequences().is_empty());
    // The adapter really changes template-1 answers (otherwise a mix-up could go unnoticed).
    let base = Harness::start_with_adapters(FakeModel::new(4096, 512), 1, 16, 64, vec![None, None]);
    let r = reqs[1].clone();
    let without = rt
        .block_on(collect(base.handle.submit(r).expect("submit")))
        .0;
    base.stop();
    assert_ne!(without, alone[1], "adapter 0 did not change the answer");
}
