//! Storage behaviour on real sled files: tiers, read-promote, namespaces, admission, TTL, caps, the
//! semantic tier through the cache, a missing model, concurrency.

use std::sync::Arc;

use crate::common::{bytes_occur_below, config, key, manual_clock, open, same_vector_matcher};
use medllm_cache::{
    Admission, AnswerCache, CacheKey, Determinism, Level, Matcher, RefuseReason, Tier,
};

const Q: &str = "What is the usual adult dose of amoxicillin for acute otitis media?";
const A: &str = "Amoxicillin 500 mg three times daily for 5 to 7 days (answer body 7f3a9c).";

#[test]
fn exact_hits_from_memory_then_disk_after_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = manual_clock();
    {
        let c = open(config(tmp.path()), Matcher::new(None, 0.8), clock.clone());
        assert_eq!(
            c.store(&key(), Q, "an older answer").unwrap(),
            Admission::Admit
        );
        assert_eq!(c.store(&key(), Q, A).unwrap(), Admission::Admit);
        assert_eq!(
            c.stats().l2_entries,
            1,
            "storing the same question again replaces the entry"
        );
        let h = c
            .lookup(
                &key(),
                "what is the usual ADULT dose of amoxicillin for acute otitis media",
            )
            .unwrap();
        assert_eq!(
            (h.tier, h.level, h.answer.as_str()),
            (Tier::Exact, Level::L1, A)
        );
        assert_eq!(h.matched_question, Q);
        c.flush().unwrap();
    }
    let c = open(config(tmp.path()), Matcher::new(None, 0.8), clock);
    let h = c.lookup(&key(), Q).unwrap();
    assert_eq!((h.level, h.answer.as_str()), (Level::L2, A));
    let h = c.lookup(&key(), Q).unwrap();
    assert_eq!(h.level, Level::L1, "read-promote puts L2 hits into memory");
    let s = c.stats();
    assert_eq!((s.hits_l1, s.hits_l2, s.l2_entries), (1, 1, 1));
    assert!(s.semantic_disabled.is_some());
}

#[test]
fn every_namespace_field_separates_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let c = open(config(tmp.path()), same_vector_matcher(), manual_clock());
    c.store(&key(), Q, A).unwrap();
    let variants: Vec<CacheKey> = vec![
        CacheKey {
            model_hash: "sha256:other".into(),
            ..key()
        },
        CacheKey {
            template_version: "base-2/medication-1".into(),
            ..key()
        },
        CacheKey {
            category: "treatment".into(),
            ..key()
        },
        CacheKey {
            params: "max_tokens=256;temperature=0;top_k=1".into(),
            ..key()
        },
        CacheKey {
            determinism: Determinism::FixedSeed(7),
            ..key()
        },
    ];
    for k in &variants {
        assert!(
            c.lookup(k, Q).is_none(),
            "namespace {k} must not see the entry (exact or semantic)"
        );
    }
    assert!(c.lookup(&key(), Q).is_some());
}

#[test]
fn admission_refuses_sampling_pii_and_oversize() {
    let tmp = tempfile::tempdir().unwrap();
    let c = open(config(tmp.path()), Matcher::new(None, 0.8), manual_clock());
    let sampled = CacheKey {
        determinism: Determinism::Sampled,
        ..key()
    };
    assert_eq!(
        c.store(&sampled, Q, A).unwrap(),
        Admission::Refuse(RefuseReason::NonDeterministic)
    );
    assert!(c.lookup(&sampled, Q).is_none());
    let seeded = CacheKey {
        determinism: Determinism::FixedSeed(42),
        ..key()
    };
    assert!(c.store(&seeded, Q, A).unwrap().is_admitted());
    assert!(c.lookup(&seeded, Q).is_some());

    let pii_q = "Mr. Quellingham has a fever of 39, what dose of paracetamol?";
    match c.store(&key(), pii_q, A).unwrap() {
        Admission::Refuse(RefuseReason::ContainsPii(kinds)) => assert!(!kinds.is_empty()),
        other => panic!("PII question admitted: {other:?}"),
    }
    assert!(c.lookup(&key(), pii_q).is_none());
    let big = "x".repeat(70_000);
    assert!(matches!(
        c.store(&key(), Q, &big).unwrap(),
        Admission::Refuse(RefuseReason::TooLarge { .. })
    ));
    c.flush().unwrap();
    drop(c);
    assert!(
        !bytes_occur_below(&tmp.path().join("cache"), b"Quellingham"),
        "PII reached the disk"
    );
    let stats_after = open(config(tmp.path()), Matcher::new(None, 0.8), manual_clock()).stats();
    assert_eq!(
        stats_after.l2_entries, 1,
        "only the seeded entry was stored"
    );
}

#[test]
fn ttl_is_enforced_on_read_and_by_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = manual_clock();
    let mut cfg = config(tmp.path());
    cfg.ttl_default = std::time::Duration::from_secs(10);
    cfg.ttl_max = std::time::Duration::from_secs(20);
    let c = open(cfg.clone(), Matcher::new(None, 0.8), clock.clone());
    c.store(&key(), Q, A).unwrap();
    c.store(&key(), "Second question about ORS?", "ORS answer")
        .unwrap();
    clock.advance_ms(9_000);
    assert!(c.lookup(&key(), Q).is_some());
    clock.advance_ms(2_000);
    assert!(
        c.lookup(&key(), Q).is_none(),
        "expired entries are never served"
    );
    let report = c.sweep().unwrap();
    assert_eq!(
        report.expired, 1,
        "the other expired entry is removed by the sweeper"
    );
    assert_eq!(c.stats().l2_entries, 0);
}

#[test]
fn hard_maximum_applies_to_entries_stored_under_a_longer_ttl() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = manual_clock();
    let mut cfg = config(tmp.path());
    cfg.ttl_default = std::time::Duration::from_secs(100);
    cfg.ttl_max = std::time::Duration::from_secs(100);
    {
        let c = open(cfg.clone(), Matcher::new(None, 0.8), clock.clone());
        c.store(&key(), Q, A).unwrap();
        c.flush().unwrap();
    }
    cfg.ttl_default = std::time::Duration::from_secs(30);
    cfg.ttl_max = std::time::Duration::from_secs(50);
    clock.advance_ms(60_000);
    let c = open(cfg, Matcher::new(None, 0.8), clock);
    assert!(
        c.lookup(&key(), Q).is_none(),
        "the configured hard maximum wins over the stored expiry"
    );
}

#[test]
fn size_cap_evicts_oldest_first_and_l1_stays_within_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = manual_clock();
    let mut cfg = config(tmp.path());
    cfg.l2_max_entries = 5;
    cfg.l1_max_bytes = 1_000;
    let c = open(cfg, Matcher::new(None, 0.8), clock.clone());
    for i in 0..8 {
        clock.advance_ms(1);
        c.store(
            &key(),
            &format!("Question number {i} about malaria?"),
            &format!("answer {i}"),
        )
        .unwrap();
    }
    let s = c.stats();
    assert_eq!(s.l2_entries, 5);
    assert_eq!(s.l2_evictions, 3);
    assert!(s.l1_bytes <= 1_000, "L1 holds {} bytes", s.l1_bytes);
    for i in 0..3 {
        assert!(
            c.lookup(&key(), &format!("Question number {i} about malaria?"))
                .is_none(),
            "old {i} evicted"
        );
    }
    for i in 3..8 {
        let h = c
            .lookup(&key(), &format!("Question number {i} about malaria?"))
            .unwrap();
        assert_eq!(h.answer, format!("answer {i}"));
    }
}

#[test]
fn clear_removes_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let c = open(config(tmp.path()), same_vector_matcher(), manual_clock());
    c.store(&key(), Q, A).unwrap();
    c.clear().unwrap();
    assert!(c.lookup(&key(), Q).is_none());
    let s = c.stats();
    assert_eq!((s.l1_entries, s.l2_entries, s.semantic_entries), (0, 0, 0));
}

#[test]
fn semantic_tier_serves_guarded_matches_and_survives_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let clock = manual_clock();
    {
        let c = open(cfg.clone(), same_vector_matcher(), clock.clone());
        c.store(
            &key(),
            "Is 500 mg of amoxicillin three times a day appropriate for an adult?",
            "yes, usual",
        )
        .unwrap();
        let h = c
            .lookup(&key(), "Is amoxicillin 0.5 g tid appropriate for an adult?")
            .unwrap();
        assert_eq!(h.tier, Tier::Semantic);
        assert_eq!(
            h.matched_question,
            "Is 500 mg of amoxicillin three times a day appropriate for an adult?"
        );
        assert!(
            c.lookup(
                &key(),
                "Is 875 mg of amoxicillin three times a day appropriate for an adult?"
            )
            .is_none()
        );
        assert!(c.stats().semantic_vetoed >= 1);
        let detail = c.lookup_detailed(
            &key(),
            "Is 875 mg of amoxicillin three times a day appropriate for an adult?",
        );
        assert!(detail.hit.is_none());
        assert_eq!(detail.vetoed.len(), 1);
        assert_eq!(
            detail.vetoed[0].vetoes[0].guard,
            medllm_cache::GuardKind::Quantity
        );
        assert!(matches!(
            c.lookup_detailed(
                &CacheKey {
                    determinism: Determinism::Sampled,
                    ..key()
                },
                "x?"
            )
            .bypassed,
            Some(RefuseReason::NonDeterministic)
        ));
        c.flush().unwrap();
    }
    let c = open(cfg, same_vector_matcher(), clock);
    assert_eq!(
        c.stats().semantic_entries,
        1,
        "embeddings are reloaded from disk"
    );
    let h = c
        .lookup(&key(), "Is amoxicillin 0.5 g tid appropriate for an adult?")
        .unwrap();
    assert_eq!((h.tier, h.answer.as_str()), (Tier::Semantic, "yes, usual"));
}

#[test]
fn missing_model_means_exact_tier_only() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = config(tmp.path());
    cfg.embedder_dir = tmp.path().join("no-such-model");
    let c = AnswerCache::open(cfg).unwrap();
    let s = c.stats();
    assert!(
        s.semantic_disabled
            .as_deref()
            .unwrap_or("")
            .contains("unavailable"),
        "{s}"
    );
    c.store(&key(), Q, A).unwrap();
    assert_eq!(c.lookup(&key(), Q).unwrap().tier, Tier::Exact);
    assert!(
        c.lookup(
            &key(),
            "For acute otitis media in adults, what amoxicillin dose is usually given?"
        )
        .is_none()
    );
}

#[test]
fn concurrent_readers_and_writers() {
    let tmp = tempfile::tempdir().unwrap();
    let c = Arc::new(open(
        config(tmp.path()),
        same_vector_matcher(),
        manual_clock(),
    ));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let c = Arc::clone(&c);
            std::thread::spawn(move || {
                for i in 0..100 {
                    let q = format!("Thread {t} question {i} on dengue?");
                    c.store(&key(), &q, &format!("{t}/{i}")).unwrap();
                    assert_eq!(c.lookup(&key(), &q).unwrap().answer, format!("{t}/{i}"));
                    let _ = c.stats();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(c.stats().l2_entries, 400);
}
