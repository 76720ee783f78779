//! Entry ids (keyed hashes, so sled keys carry no question text) and the sealed value format:
//! `version (1) || key id (8) || nonce (24) || ciphertext || tag (16)`, the AEAD bound to its sled key.

use crate::crypto::KeyMaterial;
use crate::error::{CacheError, Result};
use crate::normalize::normalize_question;
use crate::record::Record;
use crate::store::PREFIX_ENTRY;

const VALUE_VERSION: u8 = 1;

pub(super) fn ns_id(keys: &KeyMaterial, ns: &[u8]) -> [u8; 16] {
    let h = keys.keyed_hash(b"namespace", &[ns]);
    let mut out = [0u8; 16];
    out.copy_from_slice(&h[..16]);
    out
}

pub(super) fn entry_id(keys: &KeyMaterial, ns: &[u8], question: &str) -> [u8; 32] {
    keys.keyed_hash(b"entry", &[ns, normalize_question(question).as_bytes()])
}

pub(super) fn entry_id_of(k: &[u8]) -> Option<[u8; 32]> {
    if k.len() != 33 || k[0] != PREFIX_ENTRY {
        return None;
    }
    let mut id = [0u8; 32];
    id.copy_from_slice(&k[1..]);
    Some(id)
}

/// `version || key id || seal(plain, aad = sled key || key id)`.
pub(super) fn seal_value(keys: &KeyMaterial, sled_key: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
    let mut aad = sled_key.to_vec();
    aad.extend_from_slice(&keys.key_id);
    let sealed = keys.seal(plain, &aad)?;
    let mut v = Vec::with_capacity(9 + sealed.len());
    v.push(VALUE_VERSION);
    v.extend_from_slice(&keys.key_id);
    v.extend_from_slice(&sealed);
    Ok(v)
}

pub(super) fn open_value(keys: &KeyMaterial, sled_key: &[u8], value: &[u8]) -> Result<Record> {
    if value.len() < 9 || value[0] != VALUE_VERSION {
        return Err(CacheError::Corrupt("bad value header".into()));
    }
    if value[1..9] != keys.key_id {
        return Err(CacheError::Corrupt("written under another key".into()));
    }
    let mut aad = sled_key.to_vec();
    aad.extend_from_slice(&keys.key_id);
    Record::decode(&keys.open(&value[9..], &aad)?)
}
