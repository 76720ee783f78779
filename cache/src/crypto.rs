//! Key material: where the master key comes from, what is derived from it, and the AEAD seal/open.
//!
//! * The master key (32 bytes) lives **outside** the cache directory: a systemd credential
//!   (`$CREDENTIALS_DIRECTORY/<name>`, read-only) when running under the service, otherwise a key file created
//!   with mode 0600 on first use. Stealing the cache directory alone reveals nothing.
//! * Sub-keys are derived with HMAC-SHA256 under fixed labels: one for XChaCha20-Poly1305, one for the keyed
//!   hashes that name sled keys (so sled keys never carry question text), one for the key id stored in the
//!   store (so a store written under another key is recognised and cleared instead of being "corrupt").
//! * This module owns no files other than the key file; it does not know about sled.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{CacheError, Result};

type HmacSha256 = Hmac<Sha256>;

/// Where the master key was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A systemd credential (read-only for us; rotation happens with systemd-creds).
    Credential(PathBuf),
    /// A key file we may rewrite (rotation).
    File(PathBuf),
}

/// Derived keys. Never printed (no Debug of secrets).
pub(crate) struct KeyMaterial {
    cipher: XChaCha20Poly1305,
    mac_key: [u8; 32],
    /// Public fingerprint of the master key, stored in the store's metadata.
    pub key_id: [u8; 8],
    pub source: KeySource,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("key_id", &self.key_id)
            .field("source", &self.source)
            .finish()
    }
}

/// Where to look for the key (from the validated config).
#[derive(Debug, Clone)]
pub(crate) struct KeyLocation {
    pub key_file: PathBuf,
    pub credential: Option<String>,
    pub credentials_directory: Option<PathBuf>,
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    #[allow(clippy::expect_used)] // HMAC accepts keys of any length
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

impl KeyMaterial {
    /// Derives all sub-keys from a master key.
    pub(crate) fn from_master(master: &[u8; 32], source: KeySource) -> Self {
        let enc = hmac(master, &[b"medllm-cache v1 encryption"]);
        let mac_key = hmac(master, &[b"medllm-cache v1 keyed hash"]);
        let id = hmac(master, &[b"medllm-cache v1 key id"]);
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&id[..8]);
        KeyMaterial {
            cipher: XChaCha20Poly1305::new((&enc).into()),
            mac_key,
            key_id,
            source,
        }
    }

    /// Loads the master key: the systemd credential when `$CREDENTIALS_DIRECTORY/<name>` exists, else the
    /// key file, which is created (0600, 32 random bytes as hex) if absent.
    pub(crate) fn load(loc: &KeyLocation) -> Result<Self> {
        if let (Some(name), Some(dir)) = (&loc.credential, &loc.credentials_directory) {
            let path = dir.join(name);
            if path.exists() {
                let bytes =
                    fs::read(&path).map_err(|e| CacheError::io("read credential", &path, e))?;
                let master = parse_key(&bytes).map_err(|reason| CacheError::Key {
                    path: path.clone(),
                    reason,
                })?;
                return Ok(Self::from_master(&master, KeySource::Credential(path)));
            }
        }
        let path = &loc.key_file;
        if !path.exists() {
            let master = random_key()?;
            write_key_file(path, &master)?;
            tracing::info!("created cache key file {}", path.display());
            return Ok(Self::from_master(&master, KeySource::File(path.clone())));
        }
        let meta = fs::metadata(path).map_err(|e| CacheError::io("stat key file", path, e))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(CacheError::Key {
                path: path.clone(),
                reason: format!(
                    "mode {:o} lets other users read it; chmod 600",
                    meta.permissions().mode() & 0o777
                ),
            });
        }
        let bytes = fs::read(path).map_err(|e| CacheError::io("read key file", path, e))?;
        let master = parse_key(&bytes).map_err(|reason| CacheError::Key {
            path: path.clone(),
            reason,
        })?;
        Ok(Self::from_master(&master, KeySource::File(path.clone())))
    }

    /// A fresh random key written over the key file (atomically: temp file 0600 + fsync + rename).
    pub(crate) fn rotate(&self) -> Result<Self> {
        match &self.source {
            KeySource::Credential(p) => Err(CacheError::KeyNotRotatable(p.display().to_string())),
            KeySource::File(path) => {
                let master = random_key()?;
                let tmp = path.with_extension("rotate.tmp");
                let _ = fs::remove_file(&tmp);
                write_key_file(&tmp, &master)?;
                fs::rename(&tmp, path).map_err(|e| CacheError::io("replace key file", path, e))?;
                if let Some(dir) = path.parent()
                    && let Ok(d) = fs::File::open(dir)
                {
                    let _ = d.sync_all();
                }
                Ok(Self::from_master(&master, KeySource::File(path.clone())))
            }
        }
    }

    /// Keyed hash (HMAC-SHA256 under the hash sub-key) of length-prefixed parts.
    pub(crate) fn keyed_hash(&self, label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        #[allow(clippy::expect_used)]
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.mac_key).expect("HMAC takes any key length");
        mac.update(label);
        for p in parts {
            mac.update(&(p.len() as u64).to_le_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// Encrypts `plain`; the result is `nonce (24) || ciphertext || tag (16)`. `aad` binds it to its slot.
    pub(crate) fn seal(&self, plain: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce)
            .map_err(|e| CacheError::Store(format!("OS random source: {e}")))?;
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| CacheError::Store("encryption failed".into()))?;
        let mut out = Vec::with_capacity(24 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts and authenticates; any tampering, truncation or wrong key is [`CacheError::Corrupt`].
    pub(crate) fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < 24 + 16 {
            return Err(CacheError::Corrupt("sealed entry too short".into()));
        }
        let (nonce, ct) = sealed.split_at(24);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| CacheError::Corrupt("authentication failed".into()))
    }
}

fn random_key() -> Result<[u8; 32]> {
    let mut k = [0u8; 32];
    getrandom::fill(&mut k).map_err(|e| CacheError::Store(format!("OS random source: {e}")))?;
    Ok(k)
}

/// Accepts 32 raw bytes or 64 hex digits (surrounding whitespace ignored): systemd-creds keeps either.
fn parse_key(bytes: &[u8]) -> std::result::Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    if bytes.len() == 32 {
        out.copy_from_slice(bytes);
        return Ok(out);
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| "neither 32 raw bytes nor hex".to_owned())?
        .trim();
    if text.len() != 64 {
        return Err(format!(
            "expected 64 hex digits, found {} characters",
            text.len()
        ));
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
            .map_err(|_| "not hexadecimal".to_owned())?;
    }
    Ok(out)
}

fn write_key_file(path: &Path, master: &[u8; 32]) -> Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        fs::DirBuilder::new()
            .recursive(true)
            .mode_0700()
            .create(dir)
            .map_err(|e| CacheError::io("create key directory", dir, e))?;
    }
    let hex: String = master.iter().map(|b| format!("{b:02x}")).collect();
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| CacheError::io("create key file", path, e))?;
    f.write_all(format!("{hex}\n").as_bytes())
        .map_err(|e| CacheError::io("write key file", path, e))?;
    f.sync_all()
        .map_err(|e| CacheError::io("sync key file", path, e))?;
    Ok(())
}

/// `DirBuilder::mode(0o700)` as a small extension so call sites read naturally.
pub(crate) trait DirBuilderExt0700 {
    fn mode_0700(&mut self) -> &mut Self;
}

impl DirBuilderExt0700 for fs::DirBuilder {
    fn mode_0700(&mut self) -> &mut Self {
        use std::os::unix::fs::DirBuilderExt;
        self.mode(0o700)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_tamper_detection() {
        let k = KeyMaterial::from_master(&[7u8; 32], KeySource::File("x".into()));
        let sealed = k.seal(b"hello", b"slot-1").unwrap();
        assert_eq!(k.open(&sealed, b"slot-1").unwrap(), b"hello");
        assert!(
            k.open(&sealed, b"slot-2").is_err(),
            "moved to another slot must fail"
        );
        let mut bad = sealed.clone();
        let n = bad.len();
        bad[n / 2] ^= 1;
        assert!(k.open(&bad, b"slot-1").is_err());
        assert!(k.open(&sealed[..sealed.len() - 1], b"slot-1").is_err());
        let other = KeyMaterial::from_master(&[8u8; 32], KeySource::File("x".into()));
        assert!(other.open(&sealed, b"slot-1").is_err());
        assert_ne!(k.key_id, other.key_id);
    }

    #[test]
    fn key_formats() {
        assert_eq!(parse_key(&[1u8; 32]).unwrap(), [1u8; 32]);
        let hex = "ab".repeat(32);
        assert_eq!(
            parse_key(format!("{hex}\n").as_bytes()).unwrap(),
            [0xab; 32]
        );
        assert!(parse_key(b"short").is_err());
        assert!(parse_key("zz".repeat(32).as_bytes()).is_err());
    }
}
