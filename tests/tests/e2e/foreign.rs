//! Clients nobody here wrote: `busctl` (systemd) and `gdbus` (GLib). What works for them is what
//! a desktop app in C, Python or JavaScript will see.

use std::process::Command;
use std::time::Duration;

use medllm_tests::run_with_timeout;

use crate::common::*;

const T: Duration = Duration::from_secs(180);

fn busctl(args: &[&str]) -> (bool, String, String) {
    let address = format!("--address={}", shared().bus.address());
    let (st, out, err) = run_with_timeout(Command::new("busctl").arg(address).args(args), T)
        .expect("busctl (apt package systemd) runs");
    (st.success(), out, err)
}

fn gdbus(args: &[&str]) -> (bool, String, String) {
    let (st, out, err) = run_with_timeout(
        Command::new("gdbus")
            .args(["call", "--address", shared().bus.address()])
            .args(args),
        T,
    )
    .expect("gdbus (apt package libglib2.0-bin) runs");
    (st.success(), out, err)
}

const DEST: [&str; 4] = [
    "--dest",
    "org.medllm.Daemon1",
    "--object-path",
    "/org/medllm/Daemon1",
];

#[test]
fn busctl_asks_and_reads_properties() {
    let _g = serial();
    let (ok, out, err) = busctl(&[
        "--json=short",
        "--timeout=120",
        "call",
        "org.medllm.Daemon1",
        "/org/medllm/Daemon1",
        "org.medllm.Daemon1",
        "Ask",
        "sa{sv}",
        SHORT_QUESTION,
        "2",
        "max_tokens",
        "u",
        "16",
        "temperature",
        "d",
        "0",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["type"], "sa{sv}");
    assert!(!v["data"][0].as_str().unwrap().is_empty(), "{v}");
    assert!(
        v["data"][1]["completion_tokens"]["data"].as_u64().unwrap() <= 16,
        "{v}"
    );

    let (ok, out, err) = busctl(&[
        "get-property",
        "org.medllm.Daemon1",
        "/org/medllm/Daemon1",
        "org.medllm.Daemon1",
        "State",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "s \"ready\"");

    // A wrong method signature is refused by the bus binding, not a crash.
    let (ok, _, err) = busctl(&[
        "call",
        "org.medllm.Daemon1",
        "/org/medllm/Daemon1",
        "org.medllm.Daemon1",
        "Ask",
        "s",
        "x",
    ]);
    assert!(!ok);
    assert!(
        err.contains("Signature mismatch") || err.contains("InvalidArgs"),
        "{err}"
    );
    let (ok, _, err) = busctl(&[
        "call",
        "org.medllm.Daemon1",
        "/org/medllm/Daemon1",
        "org.medllm.Daemon1",
        "Ask",
        "sa{sv}",
        "",
        "0",
    ]);
    assert!(!ok && err.contains("empty"), "{err}");
    // …and the daemon is still there.
    let (ok, _, err) = busctl(&[
        "get-property",
        "org.medllm.Daemon1",
        "/org/medllm/Daemon1",
        "org.medllm.Daemon1",
        "ActiveRequests",
    ]);
    assert!(ok, "{err}");
}

#[test]
fn gdbus_gets_answers_and_error_names() {
    let _g = serial();
    let method = |m: &str| format!("org.medllm.Daemon1.{m}");
    let (ok, out, err) = gdbus(
        &[
            &DEST[..],
            &[
                "--timeout",
                "120",
                "--method",
                &method("Ask"),
                SHORT_QUESTION,
                "{'max_tokens': <uint32 12>}",
            ],
        ]
        .concat(),
    );
    assert!(ok, "{err}");
    assert!(
        out.starts_with("('") && out.contains("'model_id':"),
        "{out}"
    );

    let (ok, _, err) = gdbus(&[&DEST[..], &["--method", &method("Ask"), "", "{}"]].concat());
    assert!(!ok);
    assert!(
        err.contains("org.medllm.Daemon1.Error.InvalidArgument"),
        "{err}"
    );

    // GLib sends plain integers as int32: the error names the option and both types.
    let (ok, _, err) = gdbus(
        &[
            &DEST[..],
            &["--method", &method("Ask"), "hi", "{'max_tokens': <12>}"],
        ]
        .concat(),
    );
    assert!(!ok);
    assert!(
        err.contains("org.medllm.Daemon1.Error.InvalidArgument") && err.contains("max_tokens"),
        "{err}"
    );

    let big = "x".repeat(shared().cfg.max_question_bytes + 1);
    let (ok, _, err) = gdbus(&[&DEST[..], &["--method", &method("StartAsk"), &big, "{}"]].concat());
    assert!(
        !ok && err.contains("org.medllm.Daemon1.Error.QuestionTooLarge"),
        "{err}"
    );

    let (ok, out, err) = gdbus(&[&DEST[..], &["--method", &method("Status")]].concat());
    assert!(ok && out.contains("'state': <'ready'>"), "{out}{err}");
}
