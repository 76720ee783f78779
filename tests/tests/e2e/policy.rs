//! The shipped D-Bus policy (`systemd/org.medllm.Daemon1.conf`), for real: a private
//! `dbus-daemon` runs the machine's own `system.conf` rules plus our file, real accounts are
//! created for the test (`medllm` and `medllm-clients` when absent, a member and an outsider),
//! the daemon runs as `medllm`, and clients run as those users (`setpriv` + `gdbus`/`busctl`).
//!
//! Shows: only `medllm` may own the name (root included in the refusal); a member of
//! `medllm-clients` may ask, read properties and introspect; an outsider is refused by the bus;
//! nobody may set the daemon's properties; the admin interface is reachable by anyone but the
//! daemon decides (here: no polkit, so the fallback rule — root yes, others no); only root may
//! set LogControl1's level. Needs root; skipped with a message otherwise.

use medllm_api::OBJECT_PATH;
use medllm_tests::DaemonConfig;

use crate::common::serial;
use crate::policy_env::*;

const REFUSED_BY_BUS: &str = "org.freedesktop.DBus.Error.AccessDenied: Rejected send message";

/// `RequestName(org.medllm.Daemon1, DO_NOT_QUEUE)` as `who`; the reply or the error.
async fn request_name(who: &Who, address: &str) -> Outcome {
    let mut c = who.command("busctl");
    c.arg(format!("--address={address}"))
        .args(["call", "org.freedesktop.DBus", "/org/freedesktop/DBus"])
        .args([
            "org.freedesktop.DBus",
            "RequestName",
            "su",
            medllm_api::BUS_NAME,
            "4",
        ]);
    output(c).await
}

#[test]
fn the_shipped_policy_decides_who_may_do_what() {
    if skip_unless_root("the_shipped_policy_decides_who_may_do_what") {
        return;
    }
    let _g = serial();
    // Names unique to this run, short enough for useradd (32 bytes).
    let tag = std::process::id() % 100_000;
    let mut accounts = Accounts::default();
    accounts.group("medllm-clients").unwrap();
    let service = accounts.user("medllm", &[]).unwrap();
    let member = accounts
        .user(&format!("mlt{tag}m"), &["medllm-clients"])
        .unwrap();
    let outsider = accounts.user(&format!("mlt{tag}o"), &[]).unwrap();
    let root = Who {
        name: "root".into(),
        uid: 0,
        gid: 0,
        groups: Vec::new(),
    };

    // After the accounts: dbus-daemon resolves user and group names when it starts.
    let bus = Bus::start(&BusPolicy::SystemLike {
        include: shipped_policy(),
    })
    .unwrap();
    let address = bus.address().to_string();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    rt.block_on(async {
        // Name ownership: only medllm.
        for who in [&root, &member, &outsider] {
            let o = request_name(who, &address).await;
            assert!(
                !o.status.success(),
                "{} could own the name: {}",
                who.name,
                o.text()
            );
            assert!(
                o.text().contains("Access denied"),
                "{}: {}",
                who.name,
                o.text()
            );
        }
        let o = request_name(&service, &address).await;
        assert!(o.status.success(), "medllm may own the name: {}", o.text());
        assert_eq!(o.out.trim(), "u 1", "medllm became the primary owner");
    });

    let spec = DaemonSpec {
        cfg: DaemonConfig {
            n_ctx: 2048,
            ..DaemonConfig::default()
        },
        extra_toml: String::new(),
        user: Some(&service),
        env: Vec::new(),
        log_level: "info",
    };
    let mut daemon = spawn_daemon(&bus, &spec, "policy").unwrap();
    daemon.wait_ready(&address).unwrap();

    rt.block_on(async {
        let main = |m: &str| format!("{}.{m}", medllm_api::BUS_NAME);
        let ask_args = [
            "What is a fever?",
            "{'max_tokens': <uint32 8>, 'temperature': <0.0>}",
        ];

        // A member asks, reads properties and introspects.
        let o = output(gdbus_call(
            &member,
            &address,
            OBJECT_PATH,
            &main("Ask"),
            &ask_args,
        ))
        .await;
        assert!(o.status.success(), "member Ask: {}", o.text());
        assert!(
            o.out.contains("completion_tokens"),
            "member got an answer: {}",
            o.out
        );
        let get = ["org.medllm.Daemon1", "State"];
        let o = output(gdbus_call(
            &member,
            &address,
            OBJECT_PATH,
            "org.freedesktop.DBus.Properties.Get",
            &get,
        ))
        .await;
        assert!(
            o.status.success() && o.out.contains("ready"),
            "member reads State: {}",
            o.text()
        );
        let o = output(gdbus_call(
            &member,
            &address,
            OBJECT_PATH,
            "org.freedesktop.DBus.Properties.GetAll",
            &["org.medllm.Daemon1"],
        ))
        .await;
        assert!(
            o.status.success() && o.out.contains("MaxQuestionBytes"),
            "member GetAll: {}",
            o.text()
        );
        let o = output(gdbus_call(
            &member,
            &address,
            OBJECT_PATH,
            "org.freedesktop.DBus.Introspectable.Introspect",
            &[],
        ))
        .await;
        assert!(
            o.status.success() && o.out.contains("org.medllm.Daemon1.Admin"),
            "member introspects: {}",
            o.text()
        );
        let o = output(gdbus_call(
            &member,
            &address,
            OBJECT_PATH,
            &main("Status"),
            &[],
        ))
        .await;
        assert!(o.status.success(), "member Status: {}", o.text());

        // The outsider is refused by the bus itself, for every user-facing call.
        for (method, args) in [
            (main("Ask"), &ask_args[..]),
            (main("Status"), &[][..]),
            ("org.freedesktop.DBus.Properties.Get".to_string(), &get[..]),
            (
                "org.freedesktop.DBus.Properties.GetAll".to_string(),
                &["org.medllm.Daemon1"][..],
            ),
            (
                "org.freedesktop.DBus.Introspectable.Introspect".to_string(),
                &[][..],
            ),
        ] {
            let o = output(gdbus_call(&outsider, &address, OBJECT_PATH, &method, args)).await;
            assert!(
                !o.status.success(),
                "outsider {method} succeeded: {}",
                o.out
            );
            assert!(
                o.err.contains(REFUSED_BY_BUS),
                "outsider {method}: {}",
                o.text()
            );
        }

        // Nobody may set the daemon's properties, root included: refused by the bus (the
        // daemon would answer PropertyReadOnly; the bus answers first).
        let set = ["org.medllm.Daemon1", "MaxQuestionBytes", "<uint32 1>"];
        for who in [&root, &member, &outsider] {
            let o = output(gdbus_call(
                who,
                &address,
                OBJECT_PATH,
                "org.freedesktop.DBus.Properties.Set",
                &set,
            ))
            .await;
            assert!(!o.status.success(), "{} set a property", who.name);
            assert!(
                o.err.contains(REFUSED_BY_BUS),
                "{} Set: {}",
                who.name,
                o.text()
            );
        }

        // The admin interface: the bus lets everyone reach it, the daemon decides. No polkit on
        // this bus, so the fallback rule: root yes, the others no (NotAuthorized, not AccessDenied).
        let stats = "org.medllm.Daemon1.Admin.GetStats";
        let o = output(gdbus_call(&root, &address, OBJECT_PATH, stats, &[])).await;
        assert!(o.status.success(), "root GetStats: {}", o.text());
        assert!(
            o.out.contains("fallback rule"),
            "the fallback rule decided: {}",
            o.out
        );
        for who in [&member, &outsider] {
            let o = output(gdbus_call(who, &address, OBJECT_PATH, stats, &[])).await;
            assert!(!o.status.success(), "{} used the admin interface", who.name);
            assert!(
                o.err.contains("org.medllm.Daemon1.Error.NotAuthorized")
                    && o.err.contains("fallback rule"),
                "{}: the daemon refused, not the bus: {}",
                who.name,
                o.text()
            );
        }

        // LogControl1: root may set the level; a member may not even read it.
        let log_path = "/org/freedesktop/LogControl1";
        let set_level = ["org.freedesktop.LogControl1", "LogLevel", "<'debug'>"];
        let o = output(gdbus_call(
            &root,
            &address,
            log_path,
            "org.freedesktop.DBus.Properties.Set",
            &set_level,
        ))
        .await;
        assert!(o.status.success(), "root sets LogLevel: {}", o.text());
        let o = output(gdbus_call(
            &member,
            &address,
            log_path,
            "org.freedesktop.DBus.Properties.Set",
            &set_level,
        ))
        .await;
        assert!(
            o.err.contains(REFUSED_BY_BUS),
            "member sets LogLevel: {}",
            o.text()
        );
    });

    // The daemon answered as the medllm user.
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.pid())).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(
        uid_line.split_whitespace().nth(1) == Some(service.uid.to_string().as_str()),
        "medllmd runs as medllm: {uid_line}"
    );
    drop(daemon);
    drop(bus);
    drop(accounts); // explicit: the accounts go before the test reports
}
