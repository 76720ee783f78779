//! Dual-mode deployment on the real default model: a LoRA adapter made for gemma-3-270m with
//! `medllm-quant lora`, merged with `medllm-quant merge`; the daemon serves in adapter mode and in
//! merged mode, `auto` follows the planner's decision (D = α·Perf + β·Fit − γ·Cost, terms in
//! Status `mode_explain`), and `SetMode` switches while requests are in flight without losing one.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use medllm_api::{AdminProxy, AnswerDetails, AskOptions, Daemon1Proxy, DaemonStatus};
use medllm_tests::{Daemon, DaemonConfig, TestBus, paths, run_with_timeout};

use crate::common::*;

/// Adapters and the merged model, made once per test run.
struct Files {
    _dir: tempfile::TempDir,
    /// Attention + FFN adapter, seed 1 (medication and treatment).
    cardio: PathBuf,
    /// A second adapter, seed 2 (every other category).
    general: PathBuf,
    /// The base model with `cardio` merged in (types kept).
    merged: PathBuf,
}

fn files() -> &'static Files {
    static FILES: OnceLock<Files> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("medllm-mode-")
            .tempdir()
            .unwrap();
        let base = paths::require_model();
        let p = |n: &str| dir.path().join(n);
        let quant = |args: &[&std::ffi::OsStr]| {
            let (st, out, err) = run_with_timeout(
                Command::new(paths::binary("medllm-quant")).args(args),
                Duration::from_secs(300),
            )
            .unwrap();
            assert!(st.success(), "medllm-quant {args:?}: {err}");
            eprintln!("medllm-quant: {}", out.lines().next().unwrap_or_default());
        };
        for (name, seed) in [("cardio.gguf", "1"), ("general.gguf", "2")] {
            quant(&[
                "lora".as_ref(),
                "--base".as_ref(),
                base.as_os_str(),
                "--targets".as_ref(),
                "attn,ffn".as_ref(),
                "--seed".as_ref(),
                seed.as_ref(),
                "-o".as_ref(),
                p(name).as_os_str(),
            ]);
        }
        quant(&[
            "merge".as_ref(),
            base.as_os_str(),
            p("cardio.gguf").as_os_str(),
            "-o".as_ref(),
            p("merged.gguf").as_os_str(),
        ]);
        Files {
            cardio: p("cardio.gguf"),
            general: p("general.gguf"),
            merged: p("merged.gguf"),
            _dir: dir,
        }
    })
}

/// `[mode]` with both adapters and the merged model, plus `extra` keys; `[auth]` lets this uid
/// call the admin interface (no polkit on the private bus).
fn mode_toml(extra: &str) -> String {
    let f = files();
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap());
    format!(
        "\n[auth]\nadmin_users = [\"{uid}\"]\n\n[mode]\nmerged_model = {:?}\n{extra}\n\
         [[mode.adapters]]\nname = \"cardio\"\npath = {:?}\ncategories = [\"medication\", \"treatment\"]\n\
         [[mode.adapters]]\nname = \"general\"\npath = {:?}\n",
        f.merged, f.cardio, f.general
    )
}

fn start(extra: &str) -> (TestBus, Daemon) {
    let bus = TestBus::start().expect("private dbus-daemon");
    let cfg = DaemonConfig {
        extra_toml: mode_toml(extra),
        max_parallel: 2,
        max_queue: 2,
        max_inflight_per_caller: 8,
        ..DaemonConfig::default()
    };
    let daemon = Daemon::start(&bus, &cfg).expect("medllmd starts with [mode]");
    (bus, daemon)
}

fn greedy(max_tokens: u32) -> AskOptions {
    AskOptions {
        max_tokens: Some(max_tokens),
        temperature: Some(0.0),
        no_cache: true,
        ..Default::default()
    }
}

async fn ask(d: &Daemon1Proxy<'_>, q: &str, n: u32) -> (String, AnswerDetails) {
    let (a, det) = d.ask(q, &greedy(n).to_dict()).await.expect("Ask answers");
    (a, AnswerDetails::from_dict(&det))
}

/// The D of `mode` in the explanation ("Adapter: Perf …, Cost … → D = 1.234").
fn d_of(s: &DaemonStatus, mode: &str) -> f64 {
    let lines = s.mode_explain.clone().unwrap_or_default();
    lines
        .iter()
        .find(|l| l.starts_with(&format!("{mode}: Perf")))
        .and_then(|l| l.rsplit("D = ").next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no D for {mode} in {lines:#?}"))
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// Base answer (shared daemon, no adapters) vs adapter mode vs merged mode, each chosen by
/// `auto` with weights that make the decision come out one way, then the other.
#[test]
fn auto_picks_per_the_decision_and_both_modes_serve() {
    let _g = serial();
    files();
    let base = rt().block_on(async {
        let (_c, d) = client().await;
        wait_idle(&d).await;
        assert_eq!(d.mode().await.unwrap(), "base");
        ask(&d, SHORT_QUESTION, 24).await
    });
    // Memory weighs most and latency is easy: two adapters cost less than a second weight copy.
    let (_bus, daemon) =
        start("gamma = 10.0\nalpha = 0.0\nbeta = 0.0\nlatency_target_seconds = 10000.0\n");
    let adapter = rt().block_on(async {
        let conn = connect(_bus.address()).await;
        let d = Daemon1Proxy::new(&conn).await.unwrap();
        let s = status(&d).await;
        let explain = s.mode_explain.clone().unwrap_or_default();
        eprintln!("adapter-leaning weights:\n  {}", explain.join("\n  "));
        assert_eq!(s.mode.as_deref(), Some("adapter"), "{}", daemon.log());
        assert!(explain[0].starts_with("adapter: auto"), "{explain:#?}");
        assert!(d_of(&s, "Adapter") > d_of(&s, "Merged"), "{explain:#?}");
        assert!(
            explain.iter().any(|l| l.contains("medication → cardio")),
            "{explain:#?}"
        );
        assert_ne!(
            s.model_id, base.1.model_id,
            "adapters change the model id (cache namespace)"
        );
        ask(&d, SHORT_QUESTION, 24).await
    });
    drop(daemon);
    // Latency weighs most (a target below the expected latency keeps Perf < 1, so the terms differ
    // visibly): merged runs without the LoRA overhead.
    let (bus2, daemon2) = start(
        "alpha = 1.0\nbeta = 0.0\ngamma = 0.0\nlatency_target_seconds = 0.5\nlora_overhead = 0.5\n",
    );
    let merged = rt().block_on(async {
        let conn = connect(bus2.address()).await;
        let d = Daemon1Proxy::new(&conn).await.unwrap();
        let s = status(&d).await;
        let explain = s.mode_explain.clone().unwrap_or_default();
        eprintln!("merged-leaning weights:\n  {}", explain.join("\n  "));
        assert_eq!(s.mode.as_deref(), Some("merged"), "{}", daemon2.log());
        assert!(d_of(&s, "Merged") > d_of(&s, "Adapter"), "{explain:#?}");
        assert_eq!(d.mode().await.unwrap(), "merged");
        ask(&d, SHORT_QUESTION, 24).await
    });
    eprintln!(
        "base:    {:?}\nadapter: {:?} ({})\nmerged:  {:?} ({}); adapter/merged share {} leading chars",
        base.0,
        adapter.0,
        adapter.1.category.as_deref().unwrap_or("?"),
        merged.0,
        merged.1.model_id.as_deref().unwrap_or("?"),
        common_prefix(&adapter.0, &merged.0)
    );
    assert!(!adapter.0.trim().is_empty() && !merged.0.trim().is_empty());
    assert_eq!(
        adapter.1.category.as_deref(),
        Some("medication"),
        "served by the cardio adapter"
    );
    assert_ne!(
        adapter.0, base.0,
        "the adapter did not change the greedy answer"
    );
    assert_ne!(
        merged.0, base.0,
        "the merged model answers like the base model"
    );
    assert_ne!(merged.1.model_id, base.1.model_id);
}

/// `SetMode` while two requests generate and two wait: all four finish, new requests run in the
/// new mode; `medctl mode --explain` and `medctl mode set` work; an unknown mode is refused.
#[test]
fn mode_set_switches_without_losing_requests_in_flight() {
    let _g = serial();
    let (bus, daemon) = start("mode = \"adapter\"\n");
    rt().block_on(async {
        let conn = connect(bus.address()).await;
        let d = Daemon1Proxy::new(&conn).await.unwrap();
        let admin = AdminProxy::new(&conn).await.unwrap();
        let before = status(&d).await;
        assert_eq!(before.mode.as_deref(), Some("adapter"));
        let old_id = before.model_id.clone().unwrap();
        let switch = async {
            // Liveness bound only: wait until both slots generate and the queue holds the rest.
            let deadline = std::time::Instant::now() + Duration::from_secs(120);
            loop {
                let s = status(&d).await;
                if s.active_requests == Some(2) && s.queue_length >= Some(1) {
                    eprintln!(
                        "switching with {:?} active, {:?} queued",
                        s.active_requests, s.queue_length
                    );
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "requests never got going"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            admin.set_mode("merged").await.expect("SetMode merged")
        };
        let asks = futures_util::future::join_all(
            [
                LONG_QUESTION,
                SHORT_QUESTION,
                LONG_QUESTION,
                "What are the signs of sepsis in adults?",
            ]
            .map(|q| ask(&d, q, 48)),
        );
        let (report, answers) = tokio::join!(switch, asks);
        let report = medllm_api::dict::get_str(&report, medllm_api::admin::report::MODE);
        assert_eq!(report.as_deref(), Some("merged"));
        let after = status(&d).await;
        assert_eq!(after.mode.as_deref(), Some("merged"), "{}", daemon.log());
        let new_id = after.model_id.clone().unwrap();
        assert_ne!(new_id, old_id);
        for (a, det) in &answers {
            assert!(!a.trim().is_empty(), "an empty answer: {det:?}");
            let id = det.model_id.clone().unwrap();
            assert!(id == old_id || id == new_id, "{id}");
        }
        let on_old = answers
            .iter()
            .filter(|(_, det)| det.model_id.as_deref() == Some(&old_id))
            .count();
        eprintln!(
            "{on_old} of 4 requests finished on the adapter engine, the rest on the merged one"
        );
        assert!(
            on_old >= 2,
            "the admitted requests finish where they started"
        );
        let (_, det) = ask(&d, SHORT_QUESTION, 8).await;
        assert_eq!(det.model_id.as_deref(), Some(new_id.as_str()));
        assert!(
            after.mode_explain.clone().unwrap_or_default()[0].contains("set by an administrator"),
            "{:?}",
            after.mode_explain
        );
        let e = admin.set_mode("fast").await.expect_err("unknown mode");
        assert_eq!(e.short_name(), Some("InvalidArgument"), "{e:?}");
        assert!(e.message().contains("base, adapter, merged"), "{e:?}");
    });
    let medctl = |args: &[&str]| {
        let (st, out, err) = run_with_timeout(
            Command::new(paths::binary("medctl"))
                .arg("--bus-address")
                .arg(bus.address())
                .args(args),
            Duration::from_secs(300),
        )
        .unwrap();
        assert!(st.success(), "medctl {args:?}: {err}");
        out
    };
    let out = medctl(&["mode", "set", "adapter"]);
    assert!(out.contains("adapter mode"), "{out}");
    let out = medctl(&["mode", "--explain"]);
    eprintln!("medctl mode --explain:\n{out}");
    assert!(
        out.starts_with("mode: adapter\nwhy: adapter: set by an administrator"),
        "{out}"
    );
    assert!(out.contains("emergency → general ×1"), "{out}");
}

/// The pipeline of the paper: merge, then quantize with the mixed recipe (attention Q8_0, FFN
/// Q4_K where the row length allows it), then serve the result (here as the merged model).
#[test]
fn paper_quantized_merged_model_loads_and_answers() {
    let _g = serial();
    let f = files();
    let out = f.merged.with_file_name("merged-paper.gguf");
    let (st, report, err) = run_with_timeout(
        Command::new(paths::binary("medllm-quant"))
            .arg("quantize")
            .arg(&f.merged)
            .arg("-o")
            .arg(&out)
            .args(["--recipe", "paper", "--allow-requantize"]),
        Duration::from_secs(300),
    )
    .unwrap();
    assert!(st.success(), "{err}");
    eprintln!("{}", report.lines().take(9).collect::<Vec<_>>().join("\n"));
    assert!(
        report.starts_with("recipe paper: wrote"),
        "sizes before/after: {report}"
    );
    let bus = TestBus::start().expect("private dbus-daemon");
    let cfg = DaemonConfig {
        extra_toml: format!("\n[mode]\nmode = \"merged\"\nmerged_model = {out:?}\n"),
        ..DaemonConfig::default()
    };
    let daemon = Daemon::start(&bus, &cfg).expect("medllmd serves the quantized model");
    rt().block_on(async {
        let conn = connect(bus.address()).await;
        let d = Daemon1Proxy::new(&conn).await.unwrap();
        let s = status(&d).await;
        assert_eq!(s.mode.as_deref(), Some("merged"), "{}", daemon.log());
        assert_eq!(s.model_size_bytes.map(|b| b > 0), Some(true));
        let (a, det) = ask(&d, SHORT_QUESTION, 24).await;
        eprintln!("paper-quantized merged model: {a:?}");
        assert!(!a.trim().is_empty());
        assert_eq!(det.model_id, s.model_id);
    });
}
