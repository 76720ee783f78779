//! The daemon's life with its own buses: config errors before anything loads, a clear `--help`,
//! a second instance refused, name replacement refused, SIGTERM exits 0 and frees the name, and
//! losing the bus exits non-zero.

use std::process::Command;
use std::time::Duration;

use medllm_tests::{
    Daemon, DaemonConfig, TestBus, name_has_owner, paths, run_with_timeout, write_file,
};
use zbus::fdo::{DBusProxy, RequestNameFlags, RequestNameReply};

use crate::common::*;

const T: Duration = Duration::from_secs(60);

fn medllmd() -> Command {
    paths::medllmd()
}

#[test]
fn help_names_the_important_flags() {
    let (st, out, _) = run_with_timeout(medllmd().arg("--help"), T).unwrap();
    assert!(st.success());
    for flag in [
        "--config",
        "--session",
        "--bus-address",
        "--model",
        "--check-config",
        "--log-level",
        "MEDLLM_CONFIG",
    ] {
        assert!(out.contains(flag), "--help lacks {flag}:\n{out}");
    }
}

#[test]
fn bad_configs_are_refused_with_file_and_key_named() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write_file(dir.path(), "bad.toml", "[limits]\nmax_paralel = 2\n").unwrap();
    let (st, _, err) =
        run_with_timeout(medllmd().arg("--config").arg(&bad).arg("--check-config"), T).unwrap();
    assert_eq!(st.code(), Some(78), "EX_CONFIG: {err}");
    assert!(
        err.contains(&bad.display().to_string()) && err.contains("max_paralel"),
        "{err}"
    );

    let range = write_file(dir.path(), "range.toml", "[limits]\nmax_parallel = 0\n").unwrap();
    let (st, _, err) = run_with_timeout(
        medllmd().arg("--config").arg(&range).arg("--check-config"),
        T,
    )
    .unwrap();
    assert_eq!(st.code(), Some(78));
    assert!(err.contains("limits.max_parallel"), "{err}");

    // The environment variable names the file too; a missing explicit file is an error.
    let (st, _, err) = run_with_timeout(
        medllmd()
            .env("MEDLLM_CONFIG", dir.path().join("nope.toml"))
            .arg("--check-config"),
        T,
    )
    .unwrap();
    assert_eq!(st.code(), Some(78));
    assert!(err.contains("nope.toml"), "{err}");

    let shipped = paths::repo_root().join("configs/medllmd.toml");
    let (st, out, err) = run_with_timeout(
        medllmd()
            .arg("--config")
            .arg(&shipped)
            .arg("--check-config"),
        T,
    )
    .unwrap();
    assert!(st.success(), "the shipped config is valid: {err}");
    assert!(out.contains("configuration OK"), "{out}");
}

#[test]
fn a_missing_model_fails_clearly() {
    let _g = serial();
    let bus = TestBus::start().unwrap();
    let (st, out, err) = run_with_timeout(
        medllmd().args([
            "--bus-address",
            bus.address(),
            "--model",
            "/nonexistent/model.gguf",
        ]),
        T,
    )
    .unwrap();
    assert_eq!(st.code(), Some(1));
    assert!((out + &err).contains("/nonexistent/model.gguf does not exist"));
    assert!(!name_has_owner(bus.address()).unwrap());
}

#[test]
fn one_owner_no_replacement_and_a_clean_stop() {
    let _g = serial();
    let bus = TestBus::start().unwrap();
    let mut first = Daemon::start(&bus, &DaemonConfig::default()).unwrap();

    // A second daemon gives up at once, naming the owner.
    let mut second = Daemon::spawn(&bus, &DaemonConfig::default(), &[]).unwrap();
    let st = second.wait(Duration::from_secs(60)).unwrap();
    assert_eq!(st.code(), Some(1));
    assert!(
        second.log().contains("org.medllm.Daemon1 is already owned"),
        "{}",
        second.log()
    );
    assert!(
        !second.log().contains("engine ready"),
        "it refused before loading the model"
    );

    rt().block_on(async {
        let thief = connect(bus.address()).await;
        let dbus = DBusProxy::new(&thief).await.unwrap();
        let name = zbus::names::WellKnownName::try_from(medllm_api::BUS_NAME).unwrap();
        let owner = dbus.get_name_owner(name.clone().into()).await.unwrap();
        let flags = RequestNameFlags::ReplaceExisting | RequestNameFlags::DoNotQueue;
        let reply = dbus.request_name(name.clone(), flags).await.unwrap();
        assert_eq!(
            reply,
            RequestNameReply::Exists,
            "the daemon does not allow replacement"
        );
        assert_eq!(dbus.get_name_owner(name.into()).await.unwrap(), owner);
    });

    first.signal("TERM").unwrap();
    let st = first.wait(Duration::from_secs(60)).unwrap();
    assert_eq!(
        st.code(),
        Some(0),
        "SIGTERM is a clean stop:\n{}",
        first.log()
    );
    assert!(!name_has_owner(bus.address()).unwrap());
}

#[test]
fn losing_the_bus_exits_non_zero() {
    let _g = serial();
    let mut bus = TestBus::start().unwrap();
    let mut daemon = Daemon::start(&bus, &DaemonConfig::default()).unwrap();
    bus.stop();
    let st = daemon.wait(Duration::from_secs(60)).unwrap();
    assert!(
        !st.success(),
        "bus loss must not look like a clean stop: {st}"
    );
    assert!(daemon.log().contains("lost the bus"), "{}", daemon.log());
}
