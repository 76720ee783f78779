//! `medctl eval` against the real daemon: a run on a few MedQA and PubMedQA questions under
//! both prompts is interrupted with Ctrl-C (SIGINT), resumed with the same command (the done
//! questions are skipped and kept byte for byte), and its JSON report is checked; the generate
//! method reads a letter (or none) from a real generated answer.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use medllm_tests::{paths, run_with_timeout};

use crate::common::*;

const T: Duration = Duration::from_secs(600);

fn eval_set(name: &str) -> PathBuf {
    paths::repo_root().join("../shared/eval").join(name)
}

fn medctl(address: &str) -> Command {
    let mut c = Command::new(paths::binary("medctl"));
    c.arg("--bus-address").arg(address).arg("eval");
    c
}

/// Scored records in a journal (every line after the header).
fn records(journal: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(journal)
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn eval_reports_accuracy_and_resumes_after_ctrl_c() {
    let _g = serial();
    let (medqa, pubmedqa) = (
        eval_set("medqa_usmle_4opt_dev273.jsonl"),
        eval_set("pubmedqa_pqal_test.jsonl"),
    );
    if !medqa.exists() || !pubmedqa.exists() {
        medllm_tests::skip("../shared/eval is missing");
        return;
    }
    let address = shared().bus.address();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let journal = dir.path().join("r.journal.jsonl");
    let args = |c: &mut Command| {
        c.arg("--dataset")
            .arg(&medqa)
            .arg("--dataset")
            .arg(&pubmedqa)
            .args(["--limit", "2", "--compare-plain", "--report"])
            .arg(&report);
    };
    let expected = 8; // (2 + 2 questions) × 2 prompts

    // Interrupt the first run once two questions are in the journal.
    let mut cmd = medctl(address);
    args(&mut cmd);
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while records(&journal).len() < 2 {
        assert!(started.elapsed() < T, "no progress in the journal");
        std::thread::sleep(Duration::from_millis(100));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an interrupted run fails");
    assert!(
        err.contains("interrupted") && err.contains("run the same command again"),
        "{err}"
    );
    let before = std::fs::read_to_string(&journal).unwrap();
    let done = records(&journal).len();
    assert!(
        (2..expected).contains(&done),
        "{done} questions done before the interruption"
    );

    // The same command continues where it stopped.
    let mut cmd = medctl(address);
    args(&mut cmd);
    let (st, out, err) = run_with_timeout(&mut cmd, T).unwrap();
    assert!(st.success(), "{err}");
    assert!(
        err.contains(&format!("resuming: {done} of {expected}")),
        "{err}"
    );
    let after = std::fs::read_to_string(&journal).unwrap();
    assert!(
        after.starts_with(&before),
        "finished questions are kept as they were"
    );
    let recs = records(&journal);
    assert_eq!(recs.len(), expected, "each question scored once per prompt");
    for r in &recs {
        let n = r["n_options"].as_u64().unwrap() as usize;
        let ll = r["loglik"].as_object().unwrap();
        assert_eq!(ll.len(), n, "{r}");
        let best = ll
            .iter()
            .max_by(|a, b| a.1.as_f64().unwrap().total_cmp(&b.1.as_f64().unwrap()))
            .unwrap()
            .0;
        assert_eq!(
            r["choice"].as_str().unwrap(),
            best,
            "the choice is the most likely letter: {r}"
        );
        assert_eq!(r["correct"].as_bool().unwrap(), r["choice"] == r["answer"]);
        assert!(ll.values().all(|v| v.as_f64().unwrap() < 0.0));
        if r["prompt"] == "plain" {
            assert_eq!(r["category"], "", "{r}");
        } else {
            assert!(
                r["reused_prefix_tokens"].as_u64().unwrap() > 50,
                "template KV reused: {r}"
            );
        }
    }
    assert!(out.contains("95% CI") && out.contains("McNemar"), "{out}");

    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(v["complete"], true);
    assert_eq!(v["questions_scored"], expected);
    assert_eq!(v["method"], "loglik");
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for (run, prompt) in runs.iter().zip(["medical", "plain"]) {
        assert_eq!(run["prompt"], prompt);
        let o = &run["overall"];
        assert_eq!(o["n"], 4);
        let correct = recs
            .iter()
            .filter(|r| r["prompt"] == prompt && r["correct"] == true)
            .count();
        assert_eq!(o["correct"], correct);
        let (acc, lo, hi) = (
            o["accuracy"].as_f64().unwrap(),
            o["ci95"][0].as_f64().unwrap(),
            o["ci95"][1].as_f64().unwrap(),
        );
        assert!(
            lo <= acc && acc <= hi && hi - lo > 0.3,
            "a wide interval on 4 questions: {o}"
        );
        let sets = run["by_dataset"].as_object().unwrap();
        assert_eq!(sets["medqa_usmle_4opt_dev273"]["n"], 2);
        assert_eq!(sets["pubmedqa_pqal_test"]["n"], 2);
        assert!((sets["pubmedqa_pqal_test"]["chance"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    }
    assert_eq!(v["comparison"]["paired"], 4);
}

#[test]
fn eval_generate_method_reads_a_letter_from_the_answer() {
    let _g = serial();
    let medqa = eval_set("medqa_usmle_4opt_dev273.jsonl");
    if !medqa.exists() {
        medllm_tests::skip("../shared/eval is missing");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("g.json");
    let mut cmd = medctl(shared().bus.address());
    cmd.arg("--dataset")
        .arg(&medqa)
        .args([
            "--limit",
            "1",
            "--method",
            "generate",
            "--max-tokens",
            "4",
            "--json",
            "--report",
        ])
        .arg(&report);
    let (st, out, err) = run_with_timeout(&mut cmd, T).unwrap();
    assert!(st.success(), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("--json prints the report");
    assert_eq!(v["method"], "generate");
    assert_eq!(v["runs"][0]["overall"]["n"], 1);
    let recs = records(&dir.path().join("g.journal.jsonl"));
    assert_eq!(recs.len(), 1);
    let generated = recs[0]["generated"]
        .as_str()
        .expect("the generated answer is kept");
    let choice = recs[0]["choice"].as_str().unwrap();
    // The base model usually starts its answer with "X." after "Answer:"; then that is the choice.
    let t = generated.trim_start();
    let mut c = t.chars();
    if let (Some(l @ 'A'..='D'), Some('.')) = (c.next(), c.next()) {
        assert_eq!(choice, l.to_string(), "{generated:?}");
    }
    assert!(["", "A", "B", "C", "D"].contains(&choice), "{choice}");
}
