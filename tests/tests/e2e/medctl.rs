//! `medctl` as a subprocess: status (text and JSON), ask (streamed, verbose, JSON, errors,
//! Ctrl-C), completions and man page, and the message when no daemon is running.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use medllm_tests::{TestBus, paths, run_with_timeout};

use crate::common::*;

fn medctl(address: &str) -> Command {
    let mut c = Command::new(paths::binary("medctl"));
    c.arg("--bus-address").arg(address);
    c
}

const T: Duration = Duration::from_secs(180);

#[test]
fn status_shows_state_model_and_queue() {
    let _g = serial();
    let address = shared().bus.address();
    let (st, out, err) = run_with_timeout(medctl(address).arg("status"), T).unwrap();
    assert!(st.success(), "{err}");
    assert!(out.contains("State: ready"), "{out}");
    assert!(out.contains("Model: ") && out.contains('@'), "{out}");
    assert!(out.contains("Queue: 0 active, 0 waiting"), "{out}");
    assert!(out.contains("Uptime: "), "{out}");

    let (st, out, err) = run_with_timeout(medctl(address).args(["status", "--json"]), T).unwrap();
    assert!(st.success(), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["state"], "ready");
    assert_eq!(
        v["max_question_bytes"],
        shared().cfg.max_question_bytes as u64
    );
    assert!(v["requests_by_category"]["emergency"].is_u64(), "{v}");
}

#[test]
fn ask_streams_the_answer_and_reports_details() {
    let _g = serial();
    let address = shared().bus.address();
    let (st, out, err) = run_with_timeout(
        medctl(address).args([
            "ask",
            SHORT_QUESTION,
            "--max-tokens",
            "24",
            "--temperature",
            "0",
            "--verbose",
        ]),
        T,
    )
    .unwrap();
    assert!(st.success(), "{err}");
    assert!(!out.trim().is_empty(), "an answer on stdout");
    assert!(
        err.contains("status ok") && err.contains("category "),
        "details on stderr: {err}"
    );

    let (st, out, err) = run_with_timeout(
        medctl(address).args([
            "ask",
            SHORT_QUESTION,
            "--max-tokens",
            "24",
            "--temperature",
            "0",
            "--json",
        ]),
        T,
    )
    .unwrap();
    assert!(st.success(), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["status"], "ok");
    assert!(!v["answer"].as_str().unwrap().is_empty());
    assert!(v["details"]["completion_tokens"].as_u64().unwrap() <= 24);
    // Greedy: the streamed and the JSON answer are the same text.
    assert_eq!(
        v["answer"].as_str().unwrap().trim_end(),
        out_of_first_run(address).trim_end()
    );

    let (st, _, err) = run_with_timeout(medctl(address).args(["ask", "  "]), T).unwrap();
    assert!(!st.success());
    assert!(
        err.contains("InvalidArgument") && err.contains("empty"),
        "{err}"
    );
    let (st, _, err) = run_with_timeout(
        medctl(address).args(["ask", "x", "--category", "cardiology"]),
        T,
    )
    .unwrap();
    assert!(
        !st.success() && err.contains("cardiology"),
        "clap rejects unknown categories: {err}"
    );
}

fn out_of_first_run(address: &str) -> String {
    let (_, out, _) = run_with_timeout(
        medctl(address).args([
            "ask",
            SHORT_QUESTION,
            "--max-tokens",
            "24",
            "--temperature",
            "0",
        ]),
        T,
    )
    .unwrap();
    out
}

#[test]
fn ctrl_c_cancels_the_request() {
    let _g = serial();
    let address = shared().bus.address();
    rt().block_on(async {
        let (_c, d) = client().await;
        let before = wait_idle(&d).await;
        let mut child = medctl(address)
            .args(["ask", LONG_QUESTION, "--max-tokens", "500"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_status(&d, "medctl's request running", |s| {
            s.active_requests == Some(1)
        })
        .await;
        let st = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let status = tokio::task::spawn_blocking(move || {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            (child.wait().unwrap(), err)
        })
        .await
        .unwrap();
        let (st, err) = status;
        assert!(!st.success(), "a cancelled ask is not a success");
        assert!(err.contains("Cancelled"), "{err}");
        let after = wait_idle(&d).await;
        assert_eq!(
            after.requests_failed.unwrap(),
            before.requests_failed.unwrap() + 1
        );
    });
}

#[test]
fn without_a_daemon_medctl_says_how_to_start_it() {
    let _g = serial();
    let empty = TestBus::start().unwrap();
    let (st, _, err) = run_with_timeout(medctl(empty.address()).arg("status"), T).unwrap();
    assert!(!st.success());
    assert!(
        err.contains("medllmd is not running (no owner for org.medllm.Daemon1 on the bus at"),
        "{err}"
    );
    assert!(
        err.contains("start it with: medllmd --bus-address"),
        "{err}"
    );
    let (st, _, err) = run_with_timeout(medctl(empty.address()).args(["ask", "hello"]), T).unwrap();
    assert!(
        !st.success() && err.contains("medllmd is not running"),
        "{err}"
    );
}

#[test]
fn completions_and_man_page_come_from_clap() {
    let (st, out, _) = run_with_timeout(
        Command::new(paths::binary("medctl")).args(["completions", "bash"]),
        T,
    )
    .unwrap();
    assert!(
        st.success() && out.contains("medctl") && out.contains("--bus-address"),
        "{out}"
    );
    let (st, out, _) =
        run_with_timeout(Command::new(paths::binary("medctl")).arg("man"), T).unwrap();
    assert!(
        st.success() && out.contains(".TH") && out.contains("status"),
        "{out}"
    );
}

#[test]
fn inspect_reads_the_default_model_and_refuses_a_bad_file() {
    let model = paths::require_model();
    let medctl = || Command::new(paths::binary("medctl"));
    let (st, out, err) =
        run_with_timeout(medctl().arg("inspect").arg(&model).arg("--json"), T).unwrap();
    assert!(st.success(), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["architecture"], "gemma3", "{v}");
    assert_eq!(v["file_type"], "Q4_K_M");
    assert_eq!(v["tensor_count"], 236);
    assert_eq!(v["data_offset"], 6_525_120);
    assert_eq!(v["complete"], true);
    assert_eq!(v["layers"].as_array().unwrap().len(), 18);
    let (st, out, err) = run_with_timeout(medctl().arg("inspect").arg(&model), T).unwrap();
    assert!(st.success(), "{err}");
    assert!(
        out.contains("gemma3") && out.contains("complete (253,113,024 bytes)"),
        "{out}"
    );

    // A file that is not GGUF: one line on stderr naming the file, non-zero exit.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.gguf");
    std::fs::write(&bad, b"GGUF\x03\x00\x00\x00garbage").unwrap();
    let (st, out, err) = run_with_timeout(medctl().arg("inspect").arg(&bad), T).unwrap();
    assert!(!st.success() && out.is_empty(), "{out}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("bad.gguf"), "{err}");
}
