//! Child processes with their peak resident memory.
//!
//! Peak RSS is the kernel's high-water mark of the process's resident set (`VmHWM` in
//! `/proc/<pid>/status`, the same number `getrusage`/`wait4` report as `ru_maxrss`): anonymous
//! memory *and* the pages of the mmapped model file that were touched. Every system in the tables
//! runs in its own process, so no figure includes another system's memory, and the figure is read
//! by the same kernel counter for ours (a worker process of this benchmark) and for llama.cpp's
//! tools (`wait4` on the tool's process).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A finished child process.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Everything it wrote to stdout.
    pub stdout: String,
    /// Everything it wrote to stderr.
    pub stderr: String,
    /// Peak resident set, KiB (`ru_maxrss`).
    pub peak_rss_kib: u64,
}

/// Wait for `pid` with `wait4`, returning (exit code or -signal, peak RSS KiB). The child is reaped
/// here, so the caller must not call `Child::wait` afterwards.
pub fn wait_peak(pid: u32) -> Result<(i32, u64)> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; wait4 writes it and the status for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    if r < 0 {
        bail!("wait4({pid}): {}", std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    };
    Ok((code, usage.ru_maxrss.max(0) as u64))
}

/// Ask a child to end (SIGTERM), as a service manager would.
pub fn terminate(child: &Child) {
    // SAFETY: signalling our own child by pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
}

/// Run `cmd` to completion, capturing its output and its peak RSS; fails on a non-zero exit.
pub fn run_measured(mut cmd: Command) -> Result<Finished> {
    let name = format!("{:?}", cmd.get_program());
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {name}"))?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let (code, peak) = wait_peak(child.id())?;
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if code != 0 {
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!("{name} failed (exit {code}):\n{}", tail.join("\n"));
    }
    Ok(Finished {
        stdout,
        stderr,
        peak_rss_kib: peak,
    })
}

fn drain<R: Read + Send + 'static>(r: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut r) = r {
            let _ = r.read_to_string(&mut s);
        }
        s
    })
}

/// A child whose stdout lines arrive with the instant they were read (to time "ready" lines).
#[derive(Debug)]
pub struct LineChild {
    /// The process.
    pub child: Child,
    /// (time read, line) for each stdout line; bounded by the pipe, one line at a time.
    pub lines: mpsc::Receiver<(Instant, String)>,
    /// When it was spawned.
    pub spawned: Instant,
    stderr: std::thread::JoinHandle<String>,
}

impl LineChild {
    /// Spawn `cmd` with piped stdout (line reader) and stderr (collected).
    pub fn spawn(mut cmd: Command) -> Result<Self> {
        let spawned = Instant::now();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = mpsc::sync_channel(64);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        let stderr = drain(child.stderr.take());
        Ok(Self {
            child,
            lines: rx,
            spawned,
            stderr,
        })
    }

    /// Next stdout line, or an error with the stderr tail when the child ended first.
    pub fn next_line(&self, timeout: Duration) -> Result<(Instant, String)> {
        self.lines
            .recv_timeout(timeout)
            .map_err(|_| anyhow::anyhow!("the child printed no further line within {timeout:?}"))
    }

    /// Reap the child: (exit code, peak RSS KiB, stderr).
    pub fn finish(self) -> Result<(i32, u64, String)> {
        let (code, peak) = wait_peak(self.child.id())?;
        let stderr = self.stderr.join().unwrap_or_default();
        Ok((code, peak, stderr))
    }
}

/// This process's own peak RSS, KiB (`VmHWM`).
pub fn self_peak_kib() -> u64 {
    status_field("VmHWM:")
}

/// This process's current RSS, KiB (`VmRSS`).
pub fn self_rss_kib() -> u64 {
    status_field("VmRSS:")
}

fn status_field(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(key)
                    .and_then(|v| v.split_whitespace().next())
                    .and_then(|v| v.parse().ok())
            })
        })
        .unwrap_or(0)
}

/// KiB → MiB.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
