//! What the admin and policy tests need beyond the shared harness: a private bus with a chosen
//! configuration that other users may reach (the shipped policy inside a system.conf-like file,
//! or an open one), real accounts created for the test and deleted afterwards, clients run as
//! other users (`setpriv`), and `medllmd` started with our own config, optionally as another user
//! from a world-readable copy of its binary and llama.cpp libraries.
//!
//! Everything that changes the machine (accounts) is undone by `Drop`, also when a test panics.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use medllm_tests::{DaemonConfig, name_has_owner, paths, run_with_timeout};

/// The D-Bus policy file we ship.
pub fn shipped_policy() -> PathBuf {
    paths::repo_root().join("systemd/org.medllm.Daemon1.conf")
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `true` (and a message on stderr) when the test cannot run here because it needs root.
pub fn skip_unless_root(test: &str) -> bool {
    if is_root() {
        return false;
    }
    medllm_tests::skip(&format!(
        "{test}: needs root (creates accounts and runs D-Bus clients as other users); \
         run `sudo -E cargo test --release -p medllm-tests` to include it"
    ));
    true
}

/// How the private bus is configured.
pub enum BusPolicy {
    /// The machine's `/usr/share/dbus-1/system.conf` (its default deny-all policy), listening on
    /// our socket, with nothing included but `include`.
    SystemLike { include: PathBuf },
    /// Any user may connect, own any name and call anything (the daemon's own checks decide).
    Open,
}

/// A private `dbus-daemon` that every user can reach; killed when dropped or when the test
/// process exits (the same pipe guard as the shared harness).
pub struct Bus {
    guard: Child,
    guard_stdin: Option<ChildStdin>,
    address: String,
    dir: tempfile::TempDir,
}

impl Bus {
    /// Start a bus. Accounts named in the policy must exist before (dbus-daemon resolves them
    /// when it reads its configuration).
    pub fn start(policy: &BusPolicy) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("medllm-policy-")
            .tempdir()?;
        // Other users reach the socket and read the configs and logs in here.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
        let socket = dir.path().join("bus");
        let listen = format!("<listen>unix:path={}</listen>", socket.display());
        let conf_text = match policy {
            BusPolicy::SystemLike { include } => system_like(&listen, include)?,
            BusPolicy::Open => format!(
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n \
                 \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n<busconfig>\n  \
                 <type>system</type>\n  {listen}\n  <auth>EXTERNAL</auth>\n  <policy context=\"default\">\n    \
                 <allow user=\"*\"/>\n    <allow own=\"*\"/>\n    <allow send_destination=\"*\"/>\n    \
                 <allow receive_sender=\"*\"/>\n  </policy>\n</busconfig>\n"
            ),
        };
        let conf = dir.path().join("bus.conf");
        std::fs::write(&conf, conf_text)?;
        let marker = dir.path().join(".remove-at-exit");
        let script = format!(
            "dbus-daemon --nofork --print-address --config-file '{}' 2>'{}' & pid=$!; read _ignored; \
             kill $pid; wait $pid; if [ -e '{}' ]; then rm -rf '{}'; fi",
            conf.display(),
            dir.path().join("bus.log").display(),
            marker.display(),
            dir.path().display()
        );
        let mut guard = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot run sh to start dbus-daemon (apt package `dbus`)")?;
        let stdout = guard.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let address = line.trim().to_string();
        if address.is_empty() {
            let log = std::fs::read_to_string(dir.path().join("bus.log")).unwrap_or_default();
            bail!("dbus-daemon printed no address:\n{log}");
        }
        Ok(Self {
            guard_stdin: guard.stdin.take(),
            guard,
            address,
            dir,
        })
    }

    /// The bus address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The bus's directory (mode 0755).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// For a bus kept in a `static`: remove its directory when the test process exits.
    pub fn remove_dir_at_exit(&self) -> Result<()> {
        std::fs::write(self.dir.path().join(".remove-at-exit"), b"")?;
        Ok(())
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        drop(self.guard_stdin.take());
        let _ = self.guard.wait();
    }
}

/// The machine's system bus configuration with our socket and only `include` added: its own
/// `<listen>`, includes, user switch, pid file, service helper and syslog are left out.
fn system_like(listen: &str, include: &Path) -> Result<String> {
    let base = "/usr/share/dbus-1/system.conf";
    let text = std::fs::read_to_string(base)
        .with_context(|| format!("cannot read {base} (apt package `dbus`)"))?;
    let dropped = [
        "<user>",
        "<fork/>",
        "<standard_system_servicedirs/>",
        "<servicehelper>",
        "<pidfile>",
        "<syslog/>",
        "<listen>",
        "<include",
    ];
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !dropped.iter().any(|d| l.trim_start().starts_with(d)))
        .collect();
    let body = kept.join("\n");
    let Some(end) = body.rfind("</busconfig>") else {
        bail!("{base} has no </busconfig>");
    };
    Ok(format!(
        "{}  {listen}\n  <include>{}</include>\n</busconfig>\n",
        &body[..end],
        include.display()
    ))
}

/// A user to run things as.
#[derive(Debug, Clone)]
pub struct Who {
    /// Account name (empty for a bare uid without an account).
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary group ids for `setpriv --groups` (bare uids only; accounts get theirs from
    /// the group database).
    pub groups: Vec<u32>,
}

impl Who {
    /// `program` run as this user.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("setpriv");
        c.arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid));
        if self.name.is_empty() {
            if self.groups.is_empty() {
                c.arg("--clear-groups");
            } else {
                let g: Vec<String> = self.groups.iter().map(u32::to_string).collect();
                c.arg(format!("--groups={}", g.join(",")));
            }
        } else {
            c.arg("--init-groups");
        }
        c.arg("--").arg(program);
        c.env_remove("DBUS_SESSION_BUS_ADDRESS");
        c
    }
}

/// Accounts made for a test; the ones this guard created are deleted when it drops.
#[derive(Default)]
pub struct Accounts {
    users: Vec<String>,
    groups: Vec<String>,
}

impl Accounts {
    /// The group `name`, created (system group) unless it exists; its gid.
    pub fn group(&mut self, name: &str) -> Result<u32> {
        if let Some(gid) = lookup("group", name, 2)? {
            return Ok(gid);
        }
        run(Command::new("groupadd").arg("--system").arg(name))?;
        self.groups.push(name.to_string());
        lookup("group", name, 2)?.with_context(|| format!("group {name} was not created"))
    }

    /// The user `name` (no home, no login), created unless it exists, with supplementary
    /// `groups` (which must exist).
    pub fn user(&mut self, name: &str, groups: &[&str]) -> Result<Who> {
        if lookup("passwd", name, 2)?.is_none() {
            let mut c = Command::new("useradd");
            c.args(["--system", "--no-create-home", "--home-dir", "/nonexistent"])
                .args(["--shell", "/usr/sbin/nologin", "--user-group"]);
            if !groups.is_empty() {
                c.arg("--groups").arg(groups.join(","));
            }
            run(c.arg(name))?;
            self.users.push(name.to_string());
        }
        let uid = lookup("passwd", name, 2)?.context("user not created")?;
        let gid = lookup("passwd", name, 3)?.context("user has no group")?;
        Ok(Who {
            name: name.to_string(),
            uid,
            gid,
            groups: Vec::new(),
        })
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        for u in self.users.iter().rev() {
            // userdel also removes the user's own group (--user-group).
            if let Err(e) = run(Command::new("userdel").arg(u)) {
                eprintln!("cleanup: cannot delete user {u}: {e:#}");
            }
        }
        for g in self.groups.iter().rev() {
            if matches!(lookup("group", g, 2), Ok(Some(_))) {
                if let Err(e) = run(Command::new("groupdel").arg(g)) {
                    eprintln!("cleanup: cannot delete group {g}: {e:#}");
                }
            }
        }
    }
}

/// Field `field` (0-based) of `name`'s entry in `db` as a number; `None` if there is no entry.
fn lookup(db: &str, name: &str, field: usize) -> Result<Option<u32>> {
    let out = Command::new("getent").arg(db).arg(name).output()?;
    if !out.status.success() {
        return Ok(None);
    }
    let line = String::from_utf8_lossy(&out.stdout);
    let value = line
        .trim()
        .split(':')
        .nth(field)
        .context("short getent line")?;
    Ok(Some(value.parse()?))
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// A command's result.
#[derive(Debug)]
pub struct Outcome {
    /// Exit status.
    pub status: ExitStatus,
    /// stdout.
    pub out: String,
    /// stderr.
    pub err: String,
}

impl Outcome {
    /// stdout and stderr together (for assertions on error names).
    pub fn text(&self) -> String {
        format!("{}{}", self.out, self.err)
    }
}

/// Run `cmd` (60 s at most) on the blocking pool, so a mock service on this runtime keeps answering.
pub async fn output(mut cmd: Command) -> Outcome {
    tokio::task::spawn_blocking(move || {
        let (status, out, err) =
            run_with_timeout(&mut cmd, Duration::from_secs(60)).expect("the command runs");
        Outcome { status, out, err }
    })
    .await
    .expect("the command task")
}

/// `gdbus call` on `address` as `who`: prints replies as GVariant text and errors with their
/// D-Bus name (`GDBus.Error:org.freedesktop.DBus.Error.AccessDenied: Rejected send message …`
/// when the bus refused, the daemon's own error name when it answered).
pub fn gdbus_call(who: &Who, address: &str, path: &str, method: &str, args: &[&str]) -> Command {
    let mut c = who.command("gdbus");
    c.args(["call", "--address", address, "--dest", medllm_api::BUS_NAME])
        .args(["--object-path", path, "--method", method])
        .args(args);
    c
}

/// A process (the daemon) stopped with SIGTERM, then SIGKILL, when dropped.
pub struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// Start `cmd` (its output already pointed at `log`).
    pub fn spawn(mut cmd: Command, log: PathBuf) -> Result<Self> {
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {cmd:?}"))?;
        Ok(Self { child, log })
    }

    /// Its log (stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process id (setpriv execs the daemon, so this is the daemon's).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send `sig` (`HUP`, `TERM`, …).
    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(st.success(), "kill -{sig} failed");
    }

    /// Wait until the daemon owns its name on `address`.
    pub fn wait_ready(&mut self, address: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            if let Some(st) = self.child.try_wait()? {
                bail!(
                    "medllmd exited with {st} before it was ready:\n{}",
                    self.log()
                );
            }
            if name_has_owner(address)? {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("medllmd was not ready in time:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How to start a daemon for these tests.
pub struct DaemonSpec<'a> {
    /// Base settings (written with [`DaemonConfig::to_toml`]).
    pub cfg: DaemonConfig,
    /// TOML appended to the base (extra tables such as `[auth]`).
    pub extra_toml: String,
    /// Run as this user from a world-readable copy of the binaries (`None`: as root, in place).
    pub user: Option<&'a Who>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// Log filter.
    pub log_level: &'a str,
}

/// Start `medllmd` on `bus` as `spec` says (not waiting for it).
pub fn spawn_daemon(bus: &Bus, spec: &DaemonSpec<'_>, tag: &str) -> Result<Proc> {
    let conf = bus.dir().join(format!("medllmd-{tag}.toml"));
    std::fs::write(&conf, spec.cfg.to_toml() + "\n" + &spec.extra_toml)?;
    let log = bus.dir().join(format!("medllmd-{tag}.log"));
    let logfile = std::fs::File::create(&log)?;
    let mut cmd = match spec.user {
        None => paths::medllmd(),
        Some(who) => {
            let staged = stage(&bus.dir().join("stage"))?;
            // The daemon's writable places (relative to its config file, as in to_toml).
            for d in ["state", "cache", "keys"] {
                let p = bus.dir().join(d);
                std::fs::create_dir_all(&p)?;
                std::os::unix::fs::chown(&p, Some(who.uid), Some(who.gid))?;
            }
            let mut c = who.command(staged.join("bin/medllmd"));
            c.env("MEDLLM_BACKENDS_DIR", staged.join("lib/medllm"));
            c
        }
    };
    cmd.arg("--config")
        .arg(&conf)
        .arg("--bus-address")
        .arg(bus.address())
        .arg("--model")
        .arg(paths::require_model())
        .arg("--log-level")
        .arg(spec.log_level)
        .env_remove("NOTIFY_SOCKET")
        .env_remove("JOURNAL_STREAM")
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(logfile.try_clone()?)
        .stderr(logfile);
    let child = cmd.spawn().context("cannot start medllmd")?;
    Ok(Proc { child, log })
}

/// Copy `medllmd`, `medctl` and llama.cpp's libraries and backend modules under `dir` in the
/// installed layout (`bin/`, `lib/medllm/`; the daemon's rpath `$ORIGIN/../lib/medllm` finds
/// them), readable by everybody: the build directory may be private to root.
pub fn stage(dir: &Path) -> Result<PathBuf> {
    if dir.join("bin/medllmd").is_file() {
        return Ok(dir.to_path_buf());
    }
    let bin = dir.join("bin");
    let lib = dir.join("lib/medllm");
    std::fs::create_dir_all(&bin)?;
    std::fs::create_dir_all(&lib)?;
    let daemon = paths::binary("medllmd");
    for name in ["medllmd", "medctl"] {
        std::fs::copy(paths::binary(name), bin.join(name))?;
    }
    let lib_dir = llama_lib_dir(&daemon)?;
    for soname in ["libllama.so.0", "libggml.so.0", "libggml-base.so.0"] {
        std::fs::copy(lib_dir.join(soname), lib.join(soname))
            .with_context(|| format!("copy {soname} from {}", lib_dir.display()))?;
    }
    let backends = lib_dir.join("../backends");
    for entry in std::fs::read_dir(&backends)
        .with_context(|| format!("no backends next to {}", lib_dir.display()))?
    {
        let p = entry?.path();
        if p.extension().is_some_and(|e| e == "so") {
            std::fs::copy(&p, lib.join(p.file_name().context("file name")?))?;
        }
    }
    for d in [dir.to_path_buf(), bin, lib, dir.join("lib")] {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(dir.to_path_buf())
}

/// Where the dynamic loader finds `libllama.so.0` for `daemon` (as `paths::medllmd` runs it).
fn llama_lib_dir(daemon: &Path) -> Result<PathBuf> {
    let out = paths::medllmd()
        .env("LD_TRACE_LOADED_OBJECTS", "1")
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("libllama.so.0 =>"))
        .with_context(|| format!("{} does not load libllama.so.0:\n{text}", daemon.display()))?;
    let path = line
        .split("=>")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .context("no path for libllama.so.0")?;
    Ok(Path::new(path)
        .parent()
        .context("libllama has no directory")?
        .canonicalize()?)
}

/// Remove ANSI colour sequences (the console log colours field names).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for n in chars.by_ref() {
                if n.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
