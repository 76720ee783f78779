//! The model file's sha256, cached so that a multi-gigabyte model is not re-read at every start.
//!
//! The hash identifies the model in the `ModelId` property and namespaces the answer cache, so it
//! must change whenever the file does: the cache entry is keyed by the file's canonical path, size
//! and modification time, and a mismatch on any of them hashes the file again.

use std::io::Read;
use std::path::Path;
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// The file's sha256 as lowercase hex, from `state_dir/model-hashes.tsv` when the file is unchanged.
pub fn cached_sha256(path: &Path, state_dir: &Path) -> Result<String> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot stat {}", path.display()))?;
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let stamp = format!("{}\t{}\t{}", canonical.display(), meta.len(), mtime_ns);
    let table = state_dir.join("model-hashes.tsv");
    let known = std::fs::read_to_string(&table).unwrap_or_default();
    if let Some(hash) = known.lines().find_map(|l| {
        l.rsplit_once('\t')
            .filter(|(s, h)| *s == stamp && h.len() == 64)
            .map(|(_, h)| h.to_string())
    }) {
        return Ok(hash);
    }
    let hash = sha256_file(path)?;
    // Keep other models' lines; a failure to write only costs a re-hash next time.
    let mut lines: Vec<&str> = known
        .lines()
        .filter(|l| !l.starts_with(&format!("{}\t", canonical.display())))
        .collect();
    let line = format!("{stamp}\t{hash}");
    lines.push(&line);
    let write = std::fs::create_dir_all(state_dir)
        .and_then(|()| std::fs::write(&table, lines.join("\n") + "\n"));
    if let Err(e) = write {
        tracing::debug!(error = %e, "cannot cache the model hash");
    }
    Ok(hash)
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cached_hash_follows_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.gguf");
        std::fs::write(&model, b"abc").unwrap();
        let state = dir.path().join("state");
        let h1 = cached_sha256(&model, &state).unwrap();
        // sha256("abc")
        assert_eq!(
            h1,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(
            std::fs::read_to_string(state.join("model-hashes.tsv"))
                .unwrap()
                .contains(&h1)
        );
        // Same stamp: served from the table (prove it by tampering with the table's hash).
        let table = state.join("model-hashes.tsv");
        let fake = "f".repeat(64);
        std::fs::write(
            &table,
            std::fs::read_to_string(&table).unwrap().replace(&h1, &fake),
        )
        .unwrap();
        assert_eq!(cached_sha256(&model, &state).unwrap(), fake);
        // A changed file (size differs) is hashed again.
        std::fs::write(&model, b"abcd").unwrap();
        let h2 = cached_sha256(&model, &state).unwrap();
        assert_eq!(
            h2,
            "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"
        );
    }
}
