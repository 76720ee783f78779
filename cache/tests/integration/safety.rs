//! Safety of the stored data on real sled files: file modes, key files and credentials, no plaintext on
//! disk, key rotation, corrupt entries and corrupt stores.

use std::os::unix::fs::PermissionsExt;

use crate::common::{
    bytes_occur_below, config, files_below, key, manual_clock, open, same_vector_matcher,
};
use medllm_cache::{AnswerCache, CacheError, KeySource, Matcher};

const Q: &str = "What is the usual adult dose of amoxicillin for acute otitis media?";
const A: &str = "Amoxicillin 500 mg three times daily for 5 to 7 days (answer body 7f3a9c).";

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
fn a_store_in_use_is_an_error_and_is_not_moved_aside() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let first = open(cfg.clone(), Matcher::new(None, 0.8), manual_clock());
    first.store(&key(), Q, A).unwrap();
    let second = AnswerCache::open_with(
        cfg.clone(),
        medllm_cache::OpenOptions {
            matcher: Matcher::new(None, 0.8),
            clock: manual_clock(),
        },
    );
    let err = second.expect_err("the store is locked by the first cache");
    assert!(err.to_string().contains("in use"), "{err}");
    assert!(first.stats().recovered_store.is_none());
    let siblings: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        !siblings
            .iter()
            .any(|n| n.to_string_lossy().contains("corrupt")),
        "a locked store must not be moved aside: {siblings:?}"
    );
    assert_eq!(first.lookup(&key(), Q).unwrap().answer, A);
}
