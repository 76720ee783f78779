//! The answer cache on the real request path: a repeated question is served from the exact tier,
//! a paraphrase from the guarded semantic tier (showing the question it matched), a clinically
//! different look-alike is never served someone else's answer, `no_cache` bypasses, the entries
//! survive a daemon restart (disk tier), and the store holds no plaintext question.

use std::time::Duration;

use medllm_api::{AnswerDetails, AskOptions, Daemon1Proxy};
use medllm_tests::{Daemon, DaemonConfig, TestBus};

use crate::common::*;

const QUESTION: &str = "What is the usual adult dose of amoxicillin for acute otitis media?";
const PARAPHRASE: &str =
    "For acute otitis media in adults, what amoxicillin dose is usually given?";
const LOOK_ALIKE: &str =
    "What is the usual dose of amoxicillin for acute otitis media in a 4-year-old child?";

fn greedy() -> AskOptions {
    AskOptions {
        max_tokens: Some(24),
        temperature: Some(0.0),
        ..Default::default()
    }
}

async fn ask(d: &Daemon1Proxy<'_>, q: &str, opts: &AskOptions) -> (String, AnswerDetails) {
    let (answer, dict) = d.ask(q, &opts.to_dict()).await.expect("Ask answers");
    (answer, AnswerDetails::from_dict(&dict))
}

#[test]
fn exact_semantic_guarded_and_persistent() {
    let _g = serial();
    let bus = TestBus::start().expect("private dbus-daemon");
    bus.remove_dir_at_exit().expect("temp dir");
    let cfg = DaemonConfig {
        cache: true,
        ..DaemonConfig::default()
    };
    let mut daemon = Daemon::start(&bus, &cfg).expect("medllmd with a cache starts");
    let first = rt().block_on(async {
        let c = connect(bus.address()).await;
        let d = Daemon1Proxy::new(&c).await.expect("proxy");

        let (a1, det1) = ask(&d, QUESTION, &greedy()).await;
        assert_eq!(det1.cache.as_deref(), Some("miss"), "{det1:?}");
        assert!(!a1.trim().is_empty());

        // The same question again (different case and spacing): exact tier, same answer.
        let (a2, det2) = ask(
            &d,
            "  what is the usual adult dose of AMOXICILLIN for acute otitis media ",
            &greedy(),
        )
        .await;
        assert_eq!(det2.cache.as_deref(), Some("exact"), "{det2:?}");
        assert_eq!(a2, a1);
        assert_eq!(det2.finish_reason.as_deref(), Some("cached"));

        // A paraphrase: the semantic tier serves it and says which question it matched.
        let (a3, det3) = ask(&d, PARAPHRASE, &greedy()).await;
        assert_eq!(det3.cache.as_deref(), Some("semantic"), "{det3:?}");
        assert_eq!(a3, a1);
        assert_eq!(det3.cached_question.as_deref(), Some(QUESTION));

        // Same words, a child instead of an adult: never the adult's answer.
        let (_, det4) = ask(&d, LOOK_ALIKE, &greedy()).await;
        assert_eq!(det4.cache.as_deref(), Some("miss"), "{det4:?}");

        // no_cache: neither read nor written.
        let opts = AskOptions {
            no_cache: true,
            ..greedy()
        };
        let (_, det5) = ask(&d, QUESTION, &opts).await;
        assert_eq!(det5.cache.as_deref(), Some("bypass"), "{det5:?}");

        // Sampling without a seed is not deterministic: not cached.
        let sampled = AskOptions {
            temperature: Some(0.8),
            ..greedy()
        };
        let (_, det6) = ask(&d, QUESTION, &sampled).await;
        assert_eq!(det6.cache.as_deref(), Some("miss"), "{det6:?}");

        let s = status(&d).await;
        assert!(s.cache_exact_hits.unwrap_or(0) >= 1, "{s:?}");
        assert!(s.cache_semantic_hits.unwrap_or(0) >= 1, "{s:?}");
        assert!(s.cache.is_some());
        a1
    });

    // The store on disk never holds the question in clear text.
    let cache_dir = bus.dir().join("cache");
    let mut files = vec![cache_dir.clone()];
    let mut scanned = 0;
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            let bytes = std::fs::read(&p).unwrap();
            scanned += bytes.len();
            assert!(
                !bytes.windows(b"otitis".len()).any(|w| w == b"otitis"),
                "{} contains question text",
                p.display()
            );
        }
    }
    assert!(
        scanned > 0,
        "the cache wrote nothing to {}",
        cache_dir.display()
    );

    // Restart on the same state: the answer comes from disk.
    daemon.signal("TERM").unwrap();
    assert!(daemon.wait(Duration::from_secs(60)).unwrap().success());
    let _daemon = Daemon::start(&bus, &cfg).expect("medllmd restarts");
    rt().block_on(async {
        let c = connect(bus.address()).await;
        let d = Daemon1Proxy::new(&c).await.expect("proxy");
        let (a, det) = ask(&d, QUESTION, &greedy()).await;
        assert_eq!(det.cache.as_deref(), Some("exact"), "{det:?}");
        assert_eq!(a, first);
    });
}
