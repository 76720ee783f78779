//! The daemon shared by most tests (one model load per test run), serialisation, and helpers.

use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use medllm_api::{Daemon1Proxy, DaemonStatus, Error};
use medllm_tests::{Daemon, DaemonConfig, TestBus};
use zbus::Connection;

/// The shared bus and daemon.
pub struct Shared {
    pub bus: TestBus,
    pub daemon: Daemon,
    pub cfg: DaemonConfig,
}

static SHARED: OnceLock<Shared> = OnceLock::new();
static SERIAL: Mutex<()> = Mutex::new(());

/// Tests run one at a time: they share one daemon whose counters they read, and the machine
/// has few cores (the model loads of the start-up tests must not overlap).
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The shared daemon (started on first use).
pub fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        let cfg = DaemonConfig::default();
        let bus = TestBus::start().expect("private dbus-daemon starts");
        bus.remove_dir_at_exit().expect("temp dir is writable");
        let daemon = Daemon::start(&bus, &cfg).expect("medllmd starts on the default model");
        Shared { bus, daemon, cfg }
    })
}

/// A runtime for one test.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A new client connection to `address`.
pub async fn connect(address: &str) -> Connection {
    zbus::connection::Builder::address(address)
        .expect("address parses")
        .build()
        .await
        .expect("connects to the test bus")
}

/// A connection and daemon proxy on the shared bus.
pub async fn client() -> (Connection, Daemon1Proxy<'static>) {
    let conn = connect(shared().bus.address()).await;
    let proxy = Daemon1Proxy::new(&conn).await.expect("proxy");
    (conn, proxy)
}

/// The daemon's status.
pub async fn status(d: &Daemon1Proxy<'_>) -> DaemonStatus {
    DaemonStatus::from_dict(&d.status().await.expect("Status() answers"))
}

/// Poll `Status()` until `pred` holds (a liveness bound, not a timing assertion).
pub async fn wait_status(
    d: &Daemon1Proxy<'_>,
    what: &str,
    pred: impl Fn(&DaemonStatus) -> bool,
) -> DaemonStatus {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = status(d).await;
        if pred(&s) {
            return s;
        }
        if Instant::now() > deadline {
            let log = shared().daemon.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            panic!(
                "gave up waiting for {what}; last status {s:?}\ndaemon log (last lines, newest first):\n{}",
                tail.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Wait until nothing is active or queued (earlier tests' requests have wound down).
pub async fn wait_idle(d: &Daemon1Proxy<'_>) -> DaemonStatus {
    wait_status(d, "an idle daemon", |s| {
        s.active_requests == Some(0) && s.queue_length == Some(0)
    })
    .await
}

/// Assert that `r` is the daemon error `short` and that its message contains `needle`.
#[track_caller]
pub fn assert_err<T: std::fmt::Debug>(r: Result<T, Error>, short: &str, needle: &str) {
    match r {
        Ok(v) => panic!("expected {short}, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.short_name(), Some(short), "wrong error: {e:?}");
            assert!(
                e.message().contains(needle),
                "{short} message {:?} lacks {needle:?}",
                e.message()
            );
        }
    }
}

/// A question that makes the model talk for a while.
pub const LONG_QUESTION: &str =
    "Explain in detail the treatment of community-acquired pneumonia in adults, step by step.";

/// A question with a short answer.
pub const SHORT_QUESTION: &str = "What is the usual adult dose of paracetamol for fever?";
