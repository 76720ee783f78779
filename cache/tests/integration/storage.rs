//! Storage behaviour on real sled files: tiers, namespaces, admission, TTL, caps, permissions, keys,
//! encryption at rest, key rotation, corrupt entries and corrupt stores.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use crate::common::{
    bytes_occur_below, config, files_below, key, manual_clock, open, same_vector_matcher,
};
use medllm_cache::{
    Admission, AnswerCache, CacheError, CacheKey, Determinism, KeySource, Level, Matcher,
    RefuseReason, Tier,
};

const Q: &str = "What is the usual adult dose of amoxicillin for acute otitis media?";
const A: &str = "Amoxicillin 500 mg three times daily for 5 to 7 days (answer body 7f3a9c).";

#[test]
fn exact_hits_from_memory_then_disk_after_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = manual_clock();
    {
        let c = open(config(tmp.path()), Matcher::new(None, 0.8), clock.clone());
        assert_eq!(c.store(&key(), Q, A).unwrap(), Admission::Admit);
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
fn files_are_private_and_key_lives_outside() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let c = open(cfg.clone(), Matcher::new(None, 0.8), manual_clock());
    c.store(&key(), Q, A).unwrap();
    c.flush().unwrap();
    c.sweep().unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cfg.dir), 0o700);
    assert_eq!(mode(&cfg.key_file), 0o600);
    assert!(!cfg.key_file.starts_with(&cfg.dir));
    let files = files_below(&cfg.dir);
    assert!(!files.is_empty());
    for f in files {
        assert_eq!(mode(&f), 0o600, "{} is not 0600", f.display());
    }
}

#[test]
fn insecure_key_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    std::fs::write(&cfg.key_file, "ab".repeat(32)).unwrap();
    std::fs::set_permissions(&cfg.key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = AnswerCache::open_with(
        cfg,
        medllm_cache::OpenOptions {
            matcher: Matcher::new(None, 0.8),
            clock: manual_clock(),
        },
    )
    .unwrap_err();
    assert!(matches!(err, CacheError::Key { .. }), "{err}");
}

#[test]
fn systemd_credential_is_preferred_and_not_rotatable() {
    let tmp = tempfile::tempdir().unwrap();
    let creds = tmp.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("medllm-cache-key"), "cd".repeat(32)).unwrap();
    let mut cfg = config(tmp.path());
    cfg.credential = Some("medllm-cache-key".into());
    cfg.credentials_directory = Some(creds.clone());
    let c = open(cfg.clone(), Matcher::new(None, 0.8), manual_clock());
    assert!(
        !cfg.key_file.exists(),
        "no key file is created when the credential is there"
    );
    c.store(&key(), Q, A).unwrap();
    assert!(matches!(
        c.rotate_key(),
        Err(CacheError::KeyNotRotatable(_))
    ));
    assert!(
        c.lookup(&key(), Q).is_some(),
        "a refused rotation changes nothing"
    );
    drop(c);
    // the credential changes (admin rotated it): the old store is unreadable and gets cleared
    std::fs::write(creds.join("medllm-cache-key"), "ef".repeat(32)).unwrap();
    let c = open(cfg, Matcher::new(None, 0.8), manual_clock());
    assert!(c.lookup(&key(), Q).is_none());
    assert_eq!(c.stats().l2_entries, 0);
    let _ = KeySource::File(tmp.path().to_path_buf()); // (type is public for the daemon's logs)
}

#[test]
fn no_plaintext_question_or_answer_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let question = "Which antimalarial is preferred for Plasmodium knowlesi in pregnancy?";
    let answer = "Artesunate intravenously, then a full artemisinin-based course (marker zq81kx).";
    {
        let c = open(cfg.clone(), same_vector_matcher(), manual_clock());
        c.store(&key(), question, answer).unwrap();
        c.flush().unwrap();
    }
    // positive control: the scanner finds a plaintext marker when there is one
    let probe = tmp.path().join("probe");
    std::fs::create_dir(&probe).unwrap();
    std::fs::write(probe.join("f"), format!("xx{answer}yy")).unwrap();
    assert!(bytes_occur_below(&probe, b"zq81kx"));
    for needle in [
        question.as_bytes(),
        b"knowlesi".as_slice(),
        b"zq81kx",
        b"Artesunate",
        b"plasmodium knowlesi",
    ] {
        assert!(
            !bytes_occur_below(&cfg.dir, needle),
            "{:?} found in the sled files",
            String::from_utf8_lossy(needle)
        );
    }
    // and the entry is still there
    let c = open(cfg, same_vector_matcher(), manual_clock());
    assert_eq!(c.lookup(&key(), question).unwrap().answer, answer);
}

#[test]
fn rotate_key_makes_old_entries_unreadable_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let c = open(cfg.clone(), same_vector_matcher(), manual_clock());
    c.store(&key(), Q, A).unwrap();
    c.flush().unwrap();
    let old_key = std::fs::read(&cfg.key_file).unwrap();
    // an attacker's copy of the old store
    let copy = tmp.path().join("stolen");
    std::fs::create_dir(&copy).unwrap();
    for f in files_below(&cfg.dir) {
        let rel = f.strip_prefix(&cfg.dir).unwrap();
        let dst = copy.join(rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(&f, dst).unwrap();
    }
    c.rotate_key().unwrap();
    assert_ne!(std::fs::read(&cfg.key_file).unwrap(), old_key);
    assert_eq!(
        std::fs::metadata(&cfg.key_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(c.lookup(&key(), Q).is_none());
    assert_eq!(c.stats().l2_entries, 0);
    c.store(&key(), Q, "new answer").unwrap();
    assert_eq!(c.lookup(&key(), Q).unwrap().answer, "new answer");
    drop(c);
    // the old files opened with the new key serve nothing
    let mut stolen_cfg = cfg.clone();
    stolen_cfg.dir = copy;
    let s = open(stolen_cfg, same_vector_matcher(), manual_clock());
    assert!(s.lookup(&key(), Q).is_none());
    // the rotated store reopens fine
    let c = open(cfg, same_vector_matcher(), manual_clock());
    assert_eq!(c.lookup(&key(), Q).unwrap().answer, "new answer");
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
fn corrupt_entries_are_deleted_never_served() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    {
        let c = open(cfg.clone(), Matcher::new(None, 0.8), manual_clock());
        for i in 0..4 {
            c.store(
                &key(),
                &format!("Question {i} on scabies?"),
                &format!("answer {i}"),
            )
            .unwrap();
        }
        c.flush().unwrap();
    }
    // garble two entry values and truncate a third, directly in sled
    {
        let db = sled::open(&cfg.dir).unwrap();
        let entries: Vec<_> = db.scan_prefix(b"e").map(|r| r.unwrap()).collect();
        assert_eq!(entries.len(), 4);
        let mut v0 = entries[0].1.to_vec();
        let n = v0.len();
        v0[n / 2] ^= 0x40;
        db.insert(&entries[0].0, v0).unwrap();
        let mut v1 = entries[1].1.to_vec();
        v1[n - 1] ^= 0x01;
        db.insert(&entries[1].0, v1).unwrap();
        db.insert(&entries[2].0, &entries[2].1[..20]).unwrap();
        db.flush().unwrap();
    }
    let c = open(cfg.clone(), Matcher::new(None, 0.8), manual_clock());
    let mut served = 0;
    for i in 0..4 {
        if let Some(h) = c.lookup(&key(), &format!("Question {i} on scabies?")) {
            assert_eq!(
                h.answer,
                format!("answer {i}"),
                "a corrupt entry was served"
            );
            served += 1;
        }
    }
    assert_eq!(served, 1);
    let s = c.stats();
    assert_eq!(s.corrupt_deleted, 3);
    assert_eq!(s.l2_entries, 1);
    let r = c.sweep().unwrap();
    assert_eq!(
        r.repaired, 3,
        "the dangling order records of the deleted entries are removed"
    );
}

fn fill(cfg: &medllm_cache::CacheConfig, n: usize) {
    let c = open(cfg.clone(), Matcher::new(None, 0.8), manual_clock());
    for i in 0..n {
        c.store(
            &key(),
            &format!("Stored question {i} about anaemia?"),
            &format!("stored answer {i}"),
        )
        .unwrap();
    }
    c.flush().unwrap();
}

/// After damage: the cache opens, keeps working, and serves only correct answers.
fn check_after_damage(cfg: &medllm_cache::CacheConfig, n: usize) -> medllm_cache::CacheStats {
    let c = open(cfg.clone(), Matcher::new(None, 0.8), manual_clock());
    for i in 0..n {
        if let Some(h) = c.lookup(&key(), &format!("Stored question {i} about anaemia?")) {
            assert_eq!(
                h.answer,
                format!("stored answer {i}"),
                "wrong answer served after damage"
            );
        }
    }
    c.store(&key(), "New question after recovery?", "new answer")
        .unwrap();
    assert_eq!(
        c.lookup(&key(), "New question after recovery?")
            .unwrap()
            .answer,
        "new answer"
    );
    c.stats()
}

#[test]
fn garbage_store_is_moved_aside_and_a_fresh_one_opened() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    fill(&cfg, 50);
    let db = cfg.dir.join("db");
    assert!(db.exists());
    let len = std::fs::metadata(&db).unwrap().len() as usize;
    let garbage: Vec<u8> = (0..len.max(4096)).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&db, garbage).unwrap();
    std::fs::write(cfg.dir.join("conf"), b"\xff\xfe garbage conf").unwrap();
    let s = check_after_damage(&cfg, 50);
    let aside = s
        .recovered_store
        .expect("the corrupt store was moved aside");
    assert!(std::path::Path::new(&aside).exists());
    assert!(aside.contains("cache.corrupt-"));
}

#[test]
fn truncated_or_scribbled_store_never_serves_wrong_answers() {
    for damage in 0..3 {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = config(tmp.path());
        fill(&cfg, 200);
        let db = cfg.dir.join("db");
        let mut bytes = std::fs::read(&db).unwrap();
        match damage {
            0 => bytes.truncate(bytes.len() / 2),
            1 => {
                let mid = bytes.len() / 2;
                let end = (mid + 4096).min(bytes.len());
                for b in &mut bytes[mid..end] {
                    *b ^= 0x5a;
                }
            }
            _ => bytes.truncate(100),
        }
        std::fs::write(&db, bytes).unwrap();
        let s = check_after_damage(&cfg, 200);
        eprintln!(
            "damage {damage}: moved aside = {:?}, corrupt entries deleted = {}",
            s.recovered_store, s.corrupt_deleted
        );
    }
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
