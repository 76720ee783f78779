//! kill -9 during a write storm: the test binary re-runs itself as a child that stores entries, flushes
//! every 16 and prints the ids it has flushed ("ack N"); the parent SIGKILLs it mid-storm, reopens the
//! store and checks that every acknowledged entry is there and that nothing wrong is ever served.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::{config, key, manual_clock, open};
use medllm_cache::Matcher;

const CHILD_ENV: &str = "MEDLLM_CACHE_CRASH_CHILD_DIR";

fn question(i: u64) -> String {
    format!("Storm question {i}: dose of ORS for dehydration?")
}

fn answer(i: u64) -> String {
    format!("storm answer {i} {}", "x".repeat((i % 7) as usize * 50))
}

/// Child side: does nothing unless the parent set the environment variable.
#[test]
fn write_storm_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let c = open(
        config(std::path::Path::new(&dir)),
        Matcher::new(None, 0.8),
        manual_clock(),
    );
    let mut pending = Vec::new();
    for i in 0..1_000_000u64 {
        c.store(&key(), &question(i), &answer(i)).expect("store");
        pending.push(i);
        if pending.len() == 16 {
            c.flush().expect("flush");
            let mut out = String::new();
            for p in pending.drain(..) {
                out.push_str(&format!("ack {p}\n"));
            }
            use std::io::Write;
            let mut so = std::io::stdout().lock();
            so.write_all(out.as_bytes()).expect("stdout");
            so.flush().expect("stdout");
        }
    }
}

#[test]
fn kill_9_loses_nothing_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    for round in 0..2 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash::write_storm_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut acked = Vec::new();
        let target = 400 + round * 300;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("ack ") {
                acked.push(n.parse::<u64>().unwrap());
                if acked.len() >= target {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(acked.len() >= target, "child stopped early");

        let c = open(config(tmp.path()), Matcher::new(None, 0.8), manual_clock());
        for &i in &acked {
            let h = c
                .lookup(&key(), &question(i))
                .unwrap_or_else(|| panic!("acknowledged entry {i} lost"));
            assert_eq!(h.answer, answer(i));
        }
        // entries after the last acknowledgement may or may not be there, but are never wrong
        let last = *acked.last().unwrap();
        for i in last + 1..last + 200 {
            if let Some(h) = c.lookup(&key(), &question(i)) {
                assert_eq!(h.answer, answer(i));
            }
        }
        let s = c.stats();
        assert_eq!(s.corrupt_deleted, 0);
        assert!(
            s.recovered_store.is_none(),
            "a crash must not look like corruption"
        );
        eprintln!(
            "round {round}: {} acknowledged entries survived SIGKILL; {} entries on disk",
            acked.len(),
            s.l2_entries
        );
        drop(c);
    }
}
