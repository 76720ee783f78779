//! End-to-end test harness: a private `dbus-daemon`, the real `medllmd` on the real default
//! model, and helpers to drive them (the tests themselves live in `tests/e2e/`).
//!
//! The binaries under test are found next to the test executable (`target/<profile>/`);
//! `cargo build --release --workspace --bins` (or `cargo test --release --workspace`, which
//! builds `medllmd` for its own integration tests) puts them there. A missing binary or model is
//! reported with the command that fixes it.
//!
//! Processes never outlive the test run: each private bus runs under a tiny `sh` guard that
//! kills it when the test process's end of a pipe closes (also on a crash), and `medllmd` exits
//! when its bus goes away.
//!
//! # Layout
//! - [`paths`]: repository root, model, binaries.
//! - [`TestBus`]: a private bus; [`Daemon`]: a `medllmd` process on it.
#![deny(missing_docs)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Where things are.
pub mod paths {
    use std::path::PathBuf;

    /// The repository root.
    pub fn repo_root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// The default model (or `MEDLLM_TEST_MODEL`), if present.
    pub fn model() -> Option<PathBuf> {
        let p = std::env::var_os("MEDLLM_TEST_MODEL")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("models/gemma-3-270m-q4_k_m.gguf"));
        p.exists().then_some(p)
    }

    /// The model, or a panic that says how to get it.
    pub fn require_model() -> PathBuf {
        model().unwrap_or_else(|| {
            panic!("models/gemma-3-270m-q4_k_m.gguf is missing: run scripts/setup-models.sh (or set MEDLLM_TEST_MODEL)")
        })
    }

    /// `target/<profile>/` of the running test (`target/release/deps/e2e-…` → `target/release`).
    pub fn profile_dir() -> PathBuf {
        let exe = std::env::current_exe().expect("the test knows its own path");
        exe.parent()
            .and_then(|deps| deps.parent())
            .expect("the test runs from target/<profile>/deps")
            .to_path_buf()
    }

    /// A binary of this workspace: from `MEDLLM_TEST_BIN_DIR` when set (installed binaries, or
    /// a copy safe from concurrent builds), else from the test's own target directory.
    pub fn binary(name: &str) -> PathBuf {
        let dir = std::env::var_os("MEDLLM_TEST_BIN_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(profile_dir);
        let p = dir.join(name);
        if !p.is_file() {
            let release = dir.ends_with("release");
            panic!(
                "{} is missing: build the binaries first with `cargo build{} --workspace --bins` \
                 (same CARGO_TARGET_DIR), then run the tests again",
                p.display(),
                if release { " --release" } else { "" }
            );
        }
        p
    }

    /// A `Command` for `medllmd`, able to find its llama.cpp shared libraries.
    ///
    /// The build leaves `libllama.so.0` & co. in llama-cpp-sys-2's build output and the binary
    /// has no rpath, so outside `cargo run` the dynamic loader needs a hint (an installed
    /// daemon gets the libraries from the package).
    pub fn medllmd() -> std::process::Command {
        let bin = binary("medllmd");
        let mut cmd = std::process::Command::new(&bin);
        if let Some(dir) = llama_lib_dir(&profile_dir()) {
            let mut path = std::ffi::OsString::from(dir);
            if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
                path.push(":");
                path.push(old);
            }
            cmd.env("LD_LIBRARY_PATH", path);
        }
        cmd
    }

    /// The newest `build/llama-cpp-sys-2-*/out/lib` holding `libllama.so.0` under `profile_dir`.
    fn llama_lib_dir(profile_dir: &std::path::Path) -> Option<PathBuf> {
        let entries = std::fs::read_dir(profile_dir.join("build")).ok()?;
        entries
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("llama-cpp-sys-2-")
            })
            .map(|e| e.path().join("out/lib"))
            .filter_map(|lib| {
                let modified = std::fs::metadata(lib.join("libllama.so.0"))
                    .ok()?
                    .modified()
                    .ok()?;
                Some((modified, lib))
            })
            .max()
            .map(|(_, lib)| lib)
    }
}

/// A private `dbus-daemon` with a permissive policy, listening on a socket in a temp dir.
#[derive(Debug)]
pub struct TestBus {
    guard: Child,
    /// Closing this pipe makes the guard kill the bus.
    guard_stdin: Option<ChildStdin>,
    address: String,
    dir: tempfile::TempDir,
}

impl TestBus {
    /// Start a bus and wait for its address.
    pub fn start() -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("medllm-e2e-").tempdir()?;
        let conf = dir.path().join("bus.conf");
        let socket = dir.path().join("bus");
        std::fs::write(
            &conf,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )?;
        // The guard: run the bus in the background, wait for our pipe to close, then kill it; a
        // bus marked with `remove_dir_at_exit` (kept in a `static`, never dropped) also has its
        // directory removed then.
        let marker = dir.path().join(".remove-at-exit");
        let script = format!(
            "dbus-daemon --nofork --print-address --config-file '{}' & pid=$!; read _ignored; kill $pid; wait $pid; \
             if [ -e '{}' ]; then rm -rf '{}'; fi",
            conf.display(),
            marker.display(),
            dir.path().display()
        );
        let mut guard = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot run sh to start dbus-daemon (apt package `dbus`)")?;
        let stdout = guard.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let address = line.trim().to_string();
        if address.is_empty() {
            bail!("dbus-daemon printed no address; is it installed (apt package `dbus`)?");
        }
        Ok(Self {
            guard_stdin: guard.stdin.take(),
            guard,
            address,
            dir,
        })
    }

    /// The bus address (`unix:path=…,guid=…`).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// A scratch directory that lives as long as the bus.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// For a bus that is never dropped (kept in a `static`): remove its directory when the test
    /// process exits. A dropped bus removes it itself.
    pub fn remove_dir_at_exit(&self) -> Result<()> {
        std::fs::write(self.dir.path().join(".remove-at-exit"), b"")?;
        Ok(())
    }

    /// Stop the bus now (connected daemons see the bus go away).
    pub fn stop(&mut self) {
        drop(self.guard_stdin.take());
        let _ = self.guard.wait();
    }
}

impl Drop for TestBus {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `medllmd` process.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    log: PathBuf,
    status: Option<ExitStatus>,
}

/// Settings of a test daemon (written to a config file in the bus's directory).
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// `[limits] max_parallel`.
    pub max_parallel: usize,
    /// `[limits] max_queue`.
    pub max_queue: usize,
    /// `[limits] max_inflight_per_caller`.
    pub max_inflight_per_caller: usize,
    /// `[limits] max_question_bytes`.
    pub max_question_bytes: usize,
    /// `[engine] n_ctx`.
    pub n_ctx: u32,
    /// `[cache] enabled` (store in the bus directory, embedder from `models/`). Off by default so
    /// that repeated questions in the other tests reach the engine.
    pub cache: bool,
    /// TOML appended to the file as is (e.g. a `[mode]` section).
    pub extra_toml: String,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            max_parallel: 2,
            max_queue: 2,
            max_inflight_per_caller: 3,
            max_question_bytes: 2048,
            n_ctx: 4096,
            cache: false,
            extra_toml: String::new(),
        }
    }
}

impl DaemonConfig {
    /// The TOML text. `MEDLLM_TEST_BACKENDS_DIR`, when set, becomes `[model] backends_dir` (to
    /// pin a ggml CPU variant on a machine where the automatic choice does not run).
    /// Relative paths (state, cache) resolve against the config file's directory, the bus's.
    pub fn to_toml(&self) -> String {
        let backends = std::env::var("MEDLLM_TEST_BACKENDS_DIR")
            .map(|d| format!("[model]\nbackends_dir = {d:?}\n\n"))
            .unwrap_or_default();
        let embedder = paths::repo_root().join("models/all-MiniLM-L6-v2");
        format!(
            "[daemon]\nstate_dir = \"state\"\n\n[cache]\nenabled = {}\ndir = \"cache\"\nkey_file = \"keys/cache.key\"\nembedder_dir = {:?}\n\n",
            self.cache,
            embedder.display().to_string()
        ) + &format!(
            "{backends}[engine]\nn_ctx = {}\n\n[limits]\nmax_parallel = {}\nmax_queue = {}\nmax_inflight_per_caller = {}\nmax_question_bytes = {}\n\n[dbus]\nproperty_interval_ms = 100\n",
            self.n_ctx,
            self.max_parallel,
            self.max_queue,
            self.max_inflight_per_caller,
            self.max_question_bytes
        ) + &self.extra_toml
    }
}

impl Daemon {
    /// Start `medllmd` on `bus` with `cfg` and the default model, and wait until it owns its
    /// name (the model is loaded then).
    pub fn start(bus: &TestBus, cfg: &DaemonConfig) -> Result<Self> {
        let d = Self::spawn(bus, cfg, &[])?;
        d.wait_ready(bus, Duration::from_secs(180))
    }

    /// Start `medllmd` without waiting; `extra` args are appended.
    pub fn spawn(bus: &TestBus, cfg: &DaemonConfig, extra: &[&str]) -> Result<Self> {
        let n = std::fs::read_dir(bus.dir())?.count();
        let conf = bus.dir().join(format!("medllmd-{n}.toml"));
        std::fs::write(&conf, cfg.to_toml())?;
        let log = bus.dir().join(format!("medllmd-{n}.log"));
        let logfile = std::fs::File::create(&log)?;
        let child = paths::medllmd()
            .arg("--config")
            .arg(&conf)
            .arg("--bus-address")
            .arg(bus.address())
            .arg("--model")
            .arg(paths::require_model())
            .arg("--log-level")
            .arg("info,medllmd=debug")
            .args(extra)
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(logfile.try_clone()?)
            .stderr(logfile)
            .spawn()
            .context("cannot start medllmd")?;
        Ok(Self {
            child,
            log,
            status: None,
        })
    }

    fn wait_ready(mut self, bus: &TestBus, timeout: Duration) -> Result<Self> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "medllmd exited with {status} before it was ready:\n{}",
                    self.log()
                );
            }
            if name_has_owner(bus.address())? {
                return Ok(self);
            }
            if Instant::now() > deadline {
                bail!("medllmd was not ready after {timeout:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Everything the daemon logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send a signal (`TERM`, `INT`, …) with kill(1).
    pub fn signal(&self, sig: &str) -> Result<()> {
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()?;
        if !st.success() {
            bail!("kill -{sig} {} failed", self.pid());
        }
        Ok(())
    }

    /// Wait for the process to exit (up to `timeout`).
    pub fn wait(&mut self, timeout: Duration) -> Result<ExitStatus> {
        if let Some(s) = self.status {
            return Ok(s);
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait()? {
                self.status = Some(s);
                return Ok(s);
            }
            if Instant::now() > deadline {
                bail!("medllmd did not exit within {timeout:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.status.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.signal("TERM");
            if self.wait(Duration::from_secs(10)).is_err() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// Whether `org.medllm.Daemon1` has an owner on the bus at `address`. Runs on its own thread and
/// runtime, so it may be called from inside a test's runtime.
pub fn name_has_owner(address: &str) -> Result<bool> {
    let address = address.to_string();
    std::thread::spawn(move || -> Result<bool> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            let conn = zbus::connection::Builder::address(address.as_str())?
                .build()
                .await?;
            let dbus = zbus::fdo::DBusProxy::new(&conn).await?;
            let name = zbus::names::BusName::try_from(medllm_api::BUS_NAME)?;
            Ok(dbus.name_has_owner(name).await?)
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the bus query thread panicked"))?
}

/// Report that a test cannot run here and is skipped: `reason` on stderr, or a panic under
/// `MEDLLM_TESTS_STRICT` (set by `.ci/run`), where a missing model, tool or privilege is a
/// failure rather than a silent pass.
pub fn skip(reason: &str) {
    assert!(
        std::env::var_os("MEDLLM_TESTS_STRICT").is_none(),
        "MEDLLM_TESTS_STRICT: cannot skip: {reason}"
    );
    eprintln!("SKIPPED: {reason}");
}

/// Run a command to completion with a timeout, returning (status, stdout, stderr).
pub fn run_with_timeout(
    cmd: &mut Command,
    timeout: Duration,
) -> Result<(ExitStatus, String, String)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let out = child.stdout.take().context("stdout")?;
    let err = child.stderr.take().context("stderr")?;
    let out_t = std::thread::spawn(move || read_all(out));
    let err_t = std::thread::spawn(move || read_all(err));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{cmd:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    Ok((status, stdout, stderr))
}

fn read_all(mut r: impl std::io::Read) -> String {
    let mut s = String::new();
    let _ = r.read_to_string(&mut s);
    s
}

/// Write `text` to a new file in `dir` and return its path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> Result<PathBuf> {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p)?;
    f.write_all(text.as_bytes())?;
    Ok(p)
}
