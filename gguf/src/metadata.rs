//! Ordered metadata: the key–value pairs of a GGUF header, in file order, with a lookup index.
//!
//! Order matters because `write(read(x)) == x` must hold byte for byte, and because tools that edit a model
//! (quantize, merge) should leave the keys they do not touch where they were.

use std::collections::HashMap;

use crate::error::{GgufError, Result};
use crate::value::Value;

/// The metadata key that sets the data alignment.
pub const KEY_ALIGNMENT: &str = "general.alignment";

/// The alignment used when `general.alignment` is absent (GGUF's default).
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// One metadata entry.
#[derive(Clone, Debug, PartialEq)]
pub struct MetadataEntry {
    /// The key, e.g. `general.architecture`.
    pub key: String,
    /// The value.
    pub value: Value,
}

/// Metadata in file order; keys are unique.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metadata {
    entries: Vec<MetadataEntry>,
    index: HashMap<String, usize>,
}

impl Metadata {
    /// Empty metadata.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry; a key that is already present is an error ([`GgufError::DuplicateKey`], offset 0).
    pub fn push(&mut self, key: impl Into<String>, value: Value) -> Result<()> {
        let key = key.into();
        if self.index.contains_key(&key) {
            return Err(GgufError::DuplicateKey { offset: 0, key });
        }
        self.index.insert(key.clone(), self.entries.len());
        self.entries.push(MetadataEntry { key, value });
        Ok(())
    }

    /// Replaces the value of an existing key in place, or appends the key at the end.
    pub fn set(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        match self.index.get(&key) {
            Some(&i) => {
                if let Some(entry) = self.entries.get_mut(i) {
                    entry.value = value;
                }
            }
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push(MetadataEntry { key, value });
            }
        }
    }

    /// Removes a key, keeping the others in order; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.index.remove(key)?;
        let entry = self.entries.remove(i);
        for slot in self.index.values_mut() {
            if *slot > i {
                *slot -= 1;
            }
        }
        Some(entry.value)
    }

    /// The value of a key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.index
            .get(key)
            .and_then(|&i| self.entries.get(i))
            .map(|e| &e.value)
    }

    /// Whether the key is present.
    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// The entries in file order.
    pub fn entries(&self) -> &[MetadataEntry] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The data alignment this metadata declares: `general.alignment` (must be a `u32` that is a non-zero
    /// power of two) or [`DEFAULT_ALIGNMENT`].
    pub fn alignment(&self) -> Result<u64> {
        match self.get(KEY_ALIGNMENT) {
            None => Ok(DEFAULT_ALIGNMENT),
            Some(Value::U32(a)) if a.is_power_of_two() => Ok(u64::from(*a)),
            Some(Value::U32(a)) => Err(GgufError::BadAlignment {
                offset: 0,
                reason: format!("{a} is not a non-zero power of two"),
            }),
            Some(other) => Err(GgufError::BadAlignment {
                offset: 0,
                reason: format!("must be u32, found {}", other.value_type().name()),
            }),
        }
    }

    /// A required string value.
    pub fn require_str(&self, key: &str) -> Result<&str> {
        let value = self.get(key).ok_or_else(|| GgufError::MissingKey {
            key: key.to_owned(),
        })?;
        value
            .as_str()
            .ok_or_else(|| GgufError::wrong_type(key, "a UTF-8 string", value.value_type()))
    }

    /// An optional non-negative integer value of any integer type.
    pub fn get_u64(&self, key: &str) -> Result<Option<u64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                GgufError::wrong_type(key, "a non-negative integer", v.value_type())
            }),
        }
    }

    /// A required non-negative integer value of any integer type.
    pub fn require_u64(&self, key: &str) -> Result<u64> {
        self.get_u64(key)?.ok_or_else(|| GgufError::MissingKey {
            key: key.to_owned(),
        })
    }

    /// An optional number (float or integer).
    pub fn get_f64(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| GgufError::wrong_type(key, "a number", v.value_type())),
        }
    }

    /// An optional string value.
    pub fn get_str(&self, key: &str) -> Result<Option<&str>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .map(Some)
                .ok_or_else(|| GgufError::wrong_type(key, "a UTF-8 string", v.value_type())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn order_duplicates_set_and_remove() {
        let mut m = Metadata::new();
        m.push("b", Value::U32(1)).unwrap();
        m.push("a", Value::U32(2)).unwrap();
        m.push("c", Value::U32(3)).unwrap();
        assert!(matches!(
            m.push("a", Value::U8(0)),
            Err(GgufError::DuplicateKey { .. })
        ));
        m.set("a", Value::U32(20));
        m.set("d", Value::U32(4));
        assert_eq!(m.remove("b"), Some(Value::U32(1)));
        let keys: Vec<&str> = m.entries().iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["a", "c", "d"]);
        assert_eq!(m.get("a"), Some(&Value::U32(20)));
        assert_eq!(m.get("d"), Some(&Value::U32(4)));
        assert_eq!(m.get("b"), None);
    }

    #[test]
    fn alignment_rules() {
        let mut m = Metadata::new();
        assert_eq!(m.alignment().unwrap(), 32);
        m.set(KEY_ALIGNMENT, Value::U32(64));
        assert_eq!(m.alignment().unwrap(), 64);
        for bad in [Value::U32(0), Value::U32(48), Value::U64(64)] {
            m.set(KEY_ALIGNMENT, bad);
            assert!(matches!(m.alignment(), Err(GgufError::BadAlignment { .. })));
        }
    }

    #[test]
    fn typed_getters() {
        let mut m = Metadata::new();
        m.push("n", Value::I32(7)).unwrap();
        m.push("neg", Value::I32(-1)).unwrap();
        m.push("s", Value::String("x".into())).unwrap();
        assert_eq!(m.require_u64("n").unwrap(), 7);
        assert!(matches!(
            m.require_u64("neg"),
            Err(GgufError::BadValue { .. })
        ));
        assert!(matches!(
            m.require_u64("missing"),
            Err(GgufError::MissingKey { .. })
        ));
        assert!(matches!(
            m.require_str("n"),
            Err(GgufError::BadValue { .. })
        ));
        assert_eq!(m.require_str("s").unwrap(), "x");
        assert_eq!(m.get_f64("n").unwrap(), Some(7.0));
    }
}
