//! The engine on the real default model (gemma-3-270m Q4_K_M): determinism, batching equals solo,
//! cancellation, `Busy`, over-long prompts, template KV reuse, and no leaked KV cells.
//!
//! Needs `models/gemma-3-270m-q4_k_m.gguf` (run `scripts/setup-models.sh`); without it each test
//! prints why it did nothing. Run with `cargo test --release -p medllmd --test engine_real`.

use std::path::PathBuf;
use std::time::Duration;

use medllmd::engine::{
    self, EngineConfig, EngineError, EngineHandle, Event, FinishReason, GenerateRequest,
    RequestStream, SamplingParams,
};

fn model_path() -> Option<PathBuf> {
    let p = std::env::var_os("MEDLLM_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/gemma-3-270m-q4_k_m.gguf")
        });
    if p.exists() {
        Some(p)
    } else {
        assert!(
            std::env::var_os("MEDLLM_TESTS_STRICT").is_none(),
            "MEDLLM_TESTS_STRICT: {} not found",
            p.display()
        );
        eprintln!(
            "SKIP: {} not found; run scripts/setup-models.sh",
            p.display()
        );
        None
    }
}

const SYSTEMS: [&str; 2] = [
    "You are a careful medical assistant. Answer briefly and accurately; never invent doses.",
    "You are an emergency medicine assistant. Give clear numbered first steps.",
];

fn config(path: PathBuf, max_parallel: usize, max_queue: usize) -> EngineConfig {
    let mut cfg = EngineConfig::for_model(path);
    cfg.n_ctx = 4096;
    cfg.core.max_parallel = max_parallel;
    cfg.max_queue = max_queue;
    cfg.templates = SYSTEMS.iter().map(|s| s.to_string()).collect();
    cfg
}

fn start(cfg: EngineConfig) -> (tokio::runtime::Runtime, EngineHandle) {
    // RUST_LOG=info shows what llama.cpp and the backend loader did.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let (handle, ready) = engine::start(cfg, |_| {}).expect("start");
    let info = rt
        .block_on(ready)
        .expect("engine thread")
        .expect("model loads");
    assert!(info.template_tokens.iter().all(|&n| n > 10), "{info:?}");
    (rt, handle)
}

fn greedy(q: &str, max_tokens: u32) -> GenerateRequest {
    GenerateRequest {
        template: 0,
        question: q.to_string(),
        sampling: SamplingParams {
            temperature: 0.0,
            max_tokens,
            ..SamplingParams::default()
        },
        priority: 0,
        score_candidates: None,
        trace: true,
    }
}

async fn collect(mut s: RequestStream) -> (String, Event) {
    let mut text = String::new();
    loop {
        match s.next().await {
            Some(Event::Token(t)) => text.push_str(&t),
            Some(ev) => return (text, ev),
            None => unreachable!(),
        }
    }
}

const QUESTIONS: [&str; 8] = [
    "What is the usual adult dose of paracetamol?",
    "What are the symptoms of iron deficiency anaemia?",
    "How is type 2 diabetes treated first?",
    "Which vaccines does a 65-year-old need?",
    "What should I do for a severe allergic reaction?",
    "What are the side effects of metformin?",
    "How is hypertension diagnosed?",
    "How can I prevent malaria when travelling?",
];

#[test]
fn greedy_answer_is_nonempty_and_deterministic() {
    let Some(p) = model_path() else { return };
    let (rt, h) = start(config(p, 2, 4));
    let a = rt.block_on(collect(h.submit(greedy(QUESTIONS[0], 48)).expect("submit")));
    let b = rt.block_on(collect(h.submit(greedy(QUESTIONS[0], 48)).expect("submit")));
    assert!(!a.0.trim().is_empty(), "empty answer");
    assert_eq!(a.0, b.0, "greedy answers differ between runs");
    match (&a.1, &b.1) {
        (Event::Done(x), Event::Done(y)) => {
            assert!(x.usage.completion_tokens > 0);
            // Template reuse: the system prompt was not recomputed.
            assert!(y.usage.reused_prompt_tokens > 10, "{:?}", y.usage);
            assert_eq!(
                y.usage.reused_prompt_tokens + y.usage.computed_prompt_tokens,
                y.usage.prompt_tokens
            );
            assert!(x.timings.time_to_first_token > Duration::ZERO);
        }
        other => panic!("{other:?}"),
    }
    eprintln!("answer: {}", a.0);
}

/// Below this top-1/top-2 logit margin a greedy choice counts as a near-tie.
const NEAR_TIE: f32 = 0.5;

#[test]
fn eight_concurrent_answers_equal_solo_answers() {
    let Some(p) = model_path() else { return };
    let max_tokens = 32;
    let (rt, h) = start(config(p.clone(), 1, 16));
    let solo: Vec<(String, Event)> = QUESTIONS
        .iter()
        .map(|q| rt.block_on(collect(h.submit(greedy(q, max_tokens)).expect("submit"))))
        .collect();
    h.shutdown();
    drop(h);
    drop(rt);
    let (rt, h) = start(config(p, 8, 16));
    let streams: Vec<_> = QUESTIONS
        .iter()
        .map(|q| h.submit(greedy(q, max_tokens)).expect("submit"))
        .collect();
    let batched = rt.block_on(futures_util::future::join_all(
        streams.into_iter().map(collect),
    ));
    let mut identical = 0;
    for (i, (b, s)) in batched.iter().zip(&solo).enumerate() {
        let (Event::Done(bc), Event::Done(sc)) = (&b.1, &s.1) else {
            panic!("request {i}: {:?} / {:?}", b.1, s.1);
        };
        // An empty batched answer is fine where it came from a near-tie (e.g. a first "\n" that
        // runs into the implied stop): the divergence check below decides.
        if bc.tokens == sc.tokens {
            assert_eq!(b.0, s.0, "same tokens must give the same text");
            identical += 1;
            continue;
        }
        // llama.cpp computes a batch of N rows with other kernels (and summation orders) than a
        // single row, so logits differ in the last bits. That may flip a greedy choice only where
        // two tokens are nearly tied: the first differing token must be a near-tie in the solo
        // run. A scheduler bug (wrong sequence, wrong position) diverges at a confident token.
        let k = bc
            .tokens
            .iter()
            .zip(&sc.tokens)
            .take_while(|(x, y)| x == y)
            .count();
        let margin = sc.margins.get(k).copied().unwrap_or(f32::INFINITY);
        eprintln!(
            "request {i}: identical for {k} tokens, then a solo margin of {margin:.3}\n solo:    {:?}\n batched: {:?}",
            s.0, b.0
        );
        assert!(
            margin < NEAR_TIE,
            "request {i} diverged at token {k} where the solo choice was confident ({margin})"
        );
    }
    eprintln!(
        "{identical}/8 batched answers token-identical to solo; the rest diverge only at near-ties"
    );
}

#[test]
fn cancel_busy_and_too_long() {
    let Some(p) = model_path() else { return };
    let (rt, h) = start(config(p, 1, 1));
    // One running, one queued: the third is refused.
    let mut running = h.submit(greedy(QUESTIONS[1], 400)).expect("submit");
    let queued = h.submit(greedy(QUESTIONS[2], 8)).expect("submit");
    match h.submit(greedy(QUESTIONS[3], 8)) {
        Err(EngineError::Busy { .. }) => {}
        other => panic!("expected Busy, got {other:?}"),
    }
    // Cancel the running one after its first chunk: it stops well before 400 tokens.
    let first = rt.block_on(running.next());
    assert!(matches!(first, Some(Event::Token(_))), "{first:?}");
    running.cancel();
    let (_, mut last) = rt.block_on(collect(running));
    // The queued one then runs to completion.
    assert!(matches!(rt.block_on(collect(queued)).1, Event::Done(_)));
    // A greedy answer may end on its own within a step or two of the first token (on some CPU
    // variants the first token is a near-tie that leads into an implied stop); then the cancel
    // had nothing left to stop. Try the other questions until one is still running when the
    // cancel lands; a cancel that is ignored would let every one of them finish.
    let mut tried = vec![QUESTIONS[1]];
    for q in QUESTIONS.iter().skip(2) {
        if last == Event::Error(EngineError::Cancelled) {
            break;
        }
        match &last {
            Event::Done(c) => assert!(
                c.usage.completion_tokens < 16 && c.finish != FinishReason::Length,
                "a cancelled request ran on: {c:?}"
            ),
            other => panic!("expected Cancelled, got {other:?}"),
        }
        tried.push(q);
        let mut s = h.submit(greedy(q, 400)).expect("submit");
        let first = rt.block_on(s.next());
        assert!(matches!(first, Some(Event::Token(_))), "{first:?}");
        s.cancel();
        last = rt.block_on(collect(s)).1;
    }
    assert_eq!(
        last,
        Event::Error(EngineError::Cancelled),
        "no request was cancelled ({tried:?})"
    );
    // A prompt that can never fit the 4096-token context.
    let long = "chest pain ".repeat(3000);
    match rt
        .block_on(collect(h.submit(greedy(&long, 16)).expect("submit")))
        .1
    {
        Event::Error(EngineError::PromptTooLong { needed, available }) => {
            assert!(needed > available);
        }
        other => panic!("expected PromptTooLong, got {other:?}"),
    }
}

#[test]
fn submit_cancel_storm_leaves_engine_clean() {
    let Some(p) = model_path() else { return };
    let (rt, h) = start(config(p, 4, 8));
    let mut rng: u64 = 42;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut live: Vec<RequestStream> = Vec::new();
    rt.block_on(async {
        for _ in 0..400 {
            match next() % 3 {
                0 => {
                    let q = QUESTIONS[(next() % 8) as usize];
                    if let Ok(s) = h.submit(greedy(q, (next() % 12 + 1) as u32)) {
                        live.push(s);
                    }
                }
                1 if !live.is_empty() => {
                    let s = live.swap_remove((next() as usize) % live.len());
                    drop(s); // client vanished
                }
                _ => {
                    if let Some(s) = live.pop() {
                        collect(s).await;
                    }
                }
            }
        }
        for s in live.drain(..) {
            collect(s).await;
        }
    });
    // Everything drained: no active requests, no queue, KV holds only the templates.
    std::thread::sleep(Duration::from_millis(200));
    let stats = rt.block_on(h.stats()).expect("stats");
    assert_eq!(stats.active, 0, "{stats:?}");
    assert_eq!(stats.queued, 0, "{stats:?}");
    assert_eq!(stats.leaked_sequences, 0, "{stats:?}");
    // And the service still answers correctly.
    let (text, ev) = rt.block_on(collect(h.submit(greedy(QUESTIONS[0], 16)).expect("submit")));
    assert!(matches!(ev, Event::Done(_)) && !text.is_empty());
}
