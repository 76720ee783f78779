//! Opening the disk store safely: a store that sled cannot open, or that fails a full read scan, is moved
//! aside (renamed `<dir>.corrupt-<unix seconds>`) and a fresh empty store is opened, so the daemon starts
//! with an empty cache and keeps answering. Nothing from a moved-aside store is ever served.
//!
//! sled can panic instead of returning an error on some damaged files; both are caught here.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{DiskStore, SledStore};
use crate::crypto::DirBuilderExt0700;
use crate::error::{CacheError, Result};

/// What opening the store had to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Where a corrupt store was moved, if one was.
    pub moved_aside: Option<PathBuf>,
    /// Why it was considered corrupt.
    pub reason: Option<String>,
}

/// Opens the sled store in `dir` (created 0700), moving a corrupt one aside first. A store locked by
/// another process, or one we may not read (permissions), is an error and is left exactly where it is.
pub fn open_with_recovery(
    dir: &Path,
    page_cache_bytes: u64,
) -> Result<(SledStore, RecoveryReport)> {
    ensure_private_dir(dir)?;
    match try_open(dir, page_cache_bytes) {
        Ok(store) => {
            restrict_permissions(dir);
            Ok((store, RecoveryReport::default()))
        }
        Err(Failure::Fatal(e)) => Err(e),
        Err(Failure::Corrupt(reason)) => {
            let aside = move_aside(dir)?;
            tracing::error!(
                "cache store {} is corrupt ({reason}); moved to {} and starting with an empty cache",
                dir.display(),
                aside.display()
            );
            ensure_private_dir(dir)?;
            let store = try_open(dir, page_cache_bytes).map_err(|f| match f {
                Failure::Fatal(e) => e,
                Failure::Corrupt(r) => {
                    CacheError::Store(format!("fresh store in {} failed: {r}", dir.display()))
                }
            })?;
            restrict_permissions(dir);
            Ok((
                store,
                RecoveryReport {
                    moved_aside: Some(aside),
                    reason: Some(reason),
                },
            ))
        }
    }
}

/// Why opening failed: only corruption is repaired by moving the store aside.
enum Failure {
    Corrupt(String),
    Fatal(CacheError),
}

/// Sorts a sled error: lock held elsewhere, permissions, disk full → fatal (never move a healthy store
/// aside); anything that says the data is bad → corrupt.
fn classify(e: sled::Error, dir: &Path) -> Failure {
    match e {
        sled::Error::Io(io) => {
            let text = io.to_string();
            if text.contains("could not acquire lock") {
                Failure::Fatal(CacheError::Store(format!(
                    "{} is in use by another process (is medllmd already running?)",
                    dir.display()
                )))
            } else if matches!(
                io.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
            ) {
                Failure::Corrupt(format!("I/O: {text}"))
            } else {
                Failure::Fatal(CacheError::io("open cache store", dir, io))
            }
        }
        other => Failure::Corrupt(other.to_string()),
    }
}

/// Opens and reads every key once; any corruption error or panic means "corrupt".
fn try_open(dir: &Path, page_cache_bytes: u64) -> std::result::Result<SledStore, Failure> {
    let opened = catch_unwind(AssertUnwindSafe(|| {
        SledStore::open_raw(dir, page_cache_bytes)
    }));
    let store = match opened {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(classify(e, dir)),
        Err(p) => {
            return Err(Failure::Corrupt(format!(
                "open panicked: {}",
                panic_message(&p)
            )));
        }
    };
    let scanned = catch_unwind(AssertUnwindSafe(|| -> Result<u64> {
        let mut n = 0u64;
        for item in store.scan_prefix(b"") {
            item?;
            n += 1;
        }
        Ok(n)
    }));
    match scanned {
        Ok(Ok(_)) => Ok(store),
        Ok(Err(e)) => Err(Failure::Corrupt(format!("scan failed: {e}"))),
        Err(p) => Err(Failure::Corrupt(format!(
            "scan panicked: {}",
            panic_message(&p)
        ))),
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn move_aside(dir: &Path) -> Result<PathBuf> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cache".into());
    let mut target = dir.with_file_name(format!("{name}.corrupt-{secs}"));
    let mut n = 1;
    while target.exists() {
        target = dir.with_file_name(format!("{name}.corrupt-{secs}-{n}"));
        n += 1;
    }
    fs::rename(dir, &target).map_err(|e| CacheError::io("move corrupt store aside", dir, e))?;
    Ok(target)
}

/// Creates `dir` (and parents) with mode 0700, or tightens an existing one to 0700.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode_0700()
            .create(dir)
            .map_err(|e| CacheError::io("create cache directory", dir, e))?;
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| CacheError::io("chmod 700 cache directory", dir, e))
}

/// Files 0600 and directories 0700 below `dir` (sled creates its files with the process umask; the 0700
/// directory is the real barrier, this keeps the files themselves private too). Best effort.
pub(crate) fn restrict_permissions(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        let want = if meta.is_dir() { 0o700 } else { 0o600 };
        if meta.permissions().mode() & 0o777 != want {
            let _ = fs::set_permissions(&path, fs::Permissions::from_mode(want));
        }
        if meta.is_dir() {
            restrict_permissions(&path);
        }
    }
}
