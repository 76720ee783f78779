//! Cache benchmark (prints figures; not a test): `cargo bench -p medllm-cache`
//!
//! * MiniLM embedding time per question;
//! * exact-tier L1 and L2 hit latency (p50/p99) with 100,000 entries, store throughput, reopen time;
//! * semantic lookup time (embedding excluded) with N = 1k / 10k / 100k indexed questions;
//! * a full semantic lookup with the real embedder;
//! * guard slot extraction per question.
//!
//! Environment: MEDLLM_BENCH_ENTRIES (default 100000) to run smaller; MEDLLM_BENCH_SECTIONS, a comma list
//! of `embed,exact,semantic,full` (default all).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use medllm_cache::{
    AnswerCache, CacheConfig, CacheKey, Determinism, Embedder, Level, Matcher, MiniLm, OpenOptions,
    Slots, SystemClock, Tier,
};

fn key() -> CacheKey {
    CacheKey {
        model_hash: "sha256:bench".into(),
        template_version: "1".into(),
        category: "medication".into(),
        params: "temperature=0".into(),
        determinism: Determinism::Greedy,
    }
}

fn question(i: usize) -> String {
    format!(
        "What is the recommended management of condition number {i} in an adult outpatient clinic?"
    )
}

fn answer(i: usize) -> String {
    format!(
        "Answer {i}: {}",
        "Supportive care, review in 48 hours, safety-net advice. ".repeat(8)
    )
}

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn report(label: &str, v: Vec<Duration>) {
    let mean = v.iter().sum::<Duration>() / v.len() as u32;
    println!(
        "{label:<48} n={:<6} p50={:>9.3?} p99={:>9.3?} mean={:>9.3?}",
        v.len(),
        pct(v.clone(), 0.5),
        pct(v.clone(), 0.99),
        mean
    );
}

/// CPU time of this thread in ns (first field of /proc/thread-self/schedstat): unaffected by other
/// processes competing for the cores, unlike wall-clock percentiles on a shared machine.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn report_cpu(label: &str, cpu0: Option<u64>, count: usize) {
    if let (Some(a), Some(b)) = (cpu0, thread_cpu_ns()) {
        println!(
            "{label:<48} {:>9.3?} CPU time per call (mean over {count})",
            Duration::from_nanos((b - a) / count as u64)
        );
    }
}

fn cfg(dir: &Path, l1_bytes: u64, entries: u64) -> CacheConfig {
    let mut c = CacheConfig::for_state_dir(dir).expect("config");
    c.l1_max_bytes = l1_bytes;
    c.l2_max_entries = entries * 2;
    c.l2_max_bytes = 16 << 30;
    c.semantic_max_entries = entries as usize * 2;
    c
}

fn open(c: CacheConfig, matcher: Matcher) -> AnswerCache {
    AnswerCache::open_with(
        c,
        OpenOptions {
            matcher,
            clock: Arc::new(SystemClock),
        },
    )
    .expect("open")
}

/// Deterministic pseudo-random unit vectors: stands in for the embedder where only the index is measured.
#[derive(Debug)]
struct HashVectors;

impl Embedder for HashVectors {
    fn dim(&self) -> usize {
        384
    }
    fn fingerprint(&self) -> u64 {
        7
    }
    fn embed(&self, text: &str) -> medllm_cache::Result<Vec<f32>> {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x1000_0000_01b3);
        }
        let mut v: Vec<f32> = (0..384)
            .map(|_| {
                h ^= h << 13;
                h ^= h >> 7;
                h ^= h << 17;
                (h % 2000) as f32 / 1000.0 - 1.0
            })
            .collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
        Ok(v)
    }
}

fn model_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/all-MiniLM-L6-v2")
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary without it: stay quick there.
    if !std::env::args().any(|a| a == "--bench") {
        println!("cache_bench: run with `cargo bench -p medllm-cache` (skipped under cargo test)");
        return;
    }
    let n: usize = std::env::var("MEDLLM_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    println!("medllm-cache benchmark ({n} entries)");
    let sections = std::env::var("MEDLLM_BENCH_SECTIONS")
        .unwrap_or_else(|_| "embed,exact,semantic,full".into());
    let on = |s: &str| sections.split(',').any(|x| x.trim() == s);
    let dev_questions = [
        "What is the usual adult dose of amoxicillin for acute otitis media?",
        "How is type 2 diabetes diagnosed?",
        "Is 500 mg of amoxicillin three times a day appropriate for an adult?",
        "The patient has a fever and a stiff neck. What is the likely cause?",
        "What is the dose of artemether-lumefantrine for a 15 kg child?",
        "How often should a diabetic patient have a foot examination?",
        "What is the management of heart failure with reduced ejection fraction?",
        "Fever for 2 days in a child: when to see a doctor?",
    ];

    // ---- embedding
    let minilm = MiniLm::load(&model_dir()).ok().map(Arc::new);
    if let Some(m) = minilm.as_ref().filter(|_| on("embed")) {
        for q in dev_questions {
            let _ = m.embed(q);
        }
        let mut times = Vec::new();
        let cpu0 = thread_cpu_ns();
        for r in 0..25 {
            for q in dev_questions {
                let q = format!("{q} ({r})");
                let t = Instant::now();
                let _ = m.embed(&q).expect("embed");
                times.push(t.elapsed());
            }
        }
        let count = times.len();
        report("MiniLM embedding per question (~20 tokens)", times);
        report_cpu("MiniLM embedding per question", cpu0, count);
    } else if minilm.is_none() {
        println!(
            "MiniLM not found at {}: embedding figures skipped",
            model_dir().display()
        );
    }

    // ---- guard extraction
    let mut times = Vec::new();
    for _ in 0..200 {
        for q in dev_questions {
            let t = Instant::now();
            std::hint::black_box(Slots::extract(q));
            times.push(t.elapsed());
        }
    }
    report("guard slot extraction per question", times);
    let mut times = Vec::new();
    for _ in 0..200 {
        for q in dev_questions {
            let t = Instant::now();
            std::hint::black_box(medllm_cache::detect_pii(q));
            times.push(t.elapsed());
        }
    }
    report("PII detector per question", times);

    // ---- exact tier with n entries
    let tmp = tempfile::tempdir().expect("tempdir");
    let k = key();
    if on("exact") {
        let c = open(
            cfg(tmp.path(), 512 << 20, n as u64),
            Matcher::new(None, 0.7),
        );
        let t = Instant::now();
        for i in 0..n {
            c.store(&k, &question(i), &answer(i)).expect("store");
        }
        c.flush().expect("flush");
        let el = t.elapsed();
        println!(
            "{:<48} {:.0} stores/s ({el:.2?} for {n}, flush included)",
            "store (exact only, encrypted, write-through)",
            n as f64 / el.as_secs_f64()
        );
        let mut times = Vec::new();
        let cpu0 = thread_cpu_ns();
        let mut x: usize = 12345;
        for _ in 0..20_000 {
            x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
            let q = question(x % n);
            let t = Instant::now();
            let h = c.lookup(&k, &q).expect("hit");
            times.push(t.elapsed());
            assert_eq!(h.level, Level::L1);
        }
        report(&format!("exact L1 hit ({n} entries)"), times);
        report_cpu("exact L1 hit", cpu0, 20_000);
        let s = c.stats();
        println!(
            "{:<48} {} bytes encrypted, {} bytes on disk",
            "L2 size", s.l2_bytes, s.l2_disk_bytes
        );
    }
    if on("exact") {
        let t = Instant::now();
        let c = open(cfg(tmp.path(), 4096, n as u64), Matcher::new(None, 0.7));
        println!(
            "{:<48} {:.2?}",
            format!("reopen + verify scan ({n} entries)"),
            t.elapsed()
        );
        let mut times = Vec::new();
        let cpu0 = thread_cpu_ns();
        let mut x: usize = 999;
        for _ in 0..20_000 {
            x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
            let q = question(x % n);
            let t = Instant::now();
            let h = c.lookup(&k, &q).expect("hit");
            times.push(t.elapsed());
            assert_eq!(h.tier, Tier::Exact);
        }
        report(&format!("exact L2 hit ({n} entries, L1 4 KiB)"), times);
        report_cpu("exact L2 hit", cpu0, 20_000);
        let mut times = Vec::new();
        for i in 0..5_000 {
            let q = format!("Unknown question {i} never stored?");
            let t = Instant::now();
            assert!(c.lookup(&k, &q).is_none());
            times.push(t.elapsed());
        }
        report("exact miss (semantic tier off)", times);
    }

    // ---- semantic search over N questions (index scan + guards; embedding stand-in costs ~1 µs)
    for size in [1_000usize, 10_000, n]
        .into_iter()
        .filter(|_| on("semantic"))
    {
        let tmp = tempfile::tempdir().expect("tempdir");
        let c = open(
            cfg(tmp.path(), 64 << 20, size as u64),
            Matcher::new(Some(Arc::new(HashVectors)), 0.7),
        );
        for i in 0..size {
            c.store(&k, &question(i), &answer(i)).expect("store");
        }
        let mut times = Vec::new();
        let cpu0 = thread_cpu_ns();
        for i in 0..300 {
            let q = format!("How should condition {i} be treated in a child?");
            let t = Instant::now();
            std::hint::black_box(c.lookup(&k, &q));
            times.push(t.elapsed());
        }
        report(
            &format!("semantic lookup, {size} indexed (no embedding)"),
            times,
        );
        report_cpu("semantic lookup", cpu0, 300);
    }

    // ---- full semantic lookup with the real embedder
    if let Some(m) = minilm.filter(|_| on("full")) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let c = open(
            cfg(tmp.path(), 64 << 20, 1000),
            Matcher::new(Some(m as Arc<dyn Embedder>), 0.7),
        );
        for q in dev_questions {
            c.store(&k, q, "cached answer").expect("store");
        }
        let asks = [
            "For acute otitis media in adults, what amoxicillin dose is usually given?",
            "How do you diagnose type 2 diabetes?",
            "Is 875 mg of amoxicillin three times a day appropriate for an adult?",
            "How frequently should diabetic patients get a foot exam?",
        ];
        let mut times = Vec::new();
        let mut hits = 0;
        for r in 0..25 {
            for a in asks {
                let q = if r == 0 {
                    a.to_owned()
                } else {
                    format!("{a} ")
                };
                let t = Instant::now();
                if c.lookup(&k, &q).is_some() {
                    hits += 1;
                }
                times.push(t.elapsed());
            }
        }
        report("full semantic lookup with MiniLM (8 cached)", times);
        println!("{:<48} {hits}/100 served (3 of 4 asks are paraphrases)", "");
    }
}
