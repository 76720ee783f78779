//! Request options: the `a{sv}` argument of `Ask` and `StartAsk`.
//!
//! One definition for both sides: a client builds [`AskOptions`] and sends
//! [`AskOptions::to_dict`]; the daemon parses with [`AskOptions::from_dict`], which rejects an
//! unknown key or a value of the wrong D-Bus type with `InvalidArgument` naming the key. Ranges
//! that depend on the model (the context size) are checked by the daemon's service layer.

use zbus::zvariant::Value;

use crate::Error;
use crate::dict::{Dict, put, put_str, take_strict};

/// `u`: cap on generated answer tokens (≥ 1).
pub const MAX_TOKENS: &str = "max_tokens";
/// `d`: sampling temperature, 0 (greedy, deterministic) ..= 5.
pub const TEMPERATURE: &str = "temperature";
/// `d`: nucleus sampling, (0, 1].
pub const TOP_P: &str = "top_p";
/// `u`: sampler seed; makes a sampled answer reproducible.
pub const SEED: &str = "seed";
/// `s`: force a category (`medication`, `diagnosis`, `treatment`, `prevention`, `emergency`).
pub const CATEGORY: &str = "category";
/// `b`: neither read nor write the answer cache.
pub const NO_CACHE: &str = "no_cache";
/// `s`: the last element of the request object's path (`StartAsk`), `[A-Za-z0-9_]{1,64}`.
pub const HANDLE_TOKEN: &str = "handle_token";
/// `b`: stream and return a reasoning model's thinking (signal `Reasoning`, detail `reasoning`).
pub const INCLUDE_REASONING: &str = "include_reasoning";

/// The category names the `category` option accepts (stable: part of the contract).
pub const CATEGORIES: [&str; 5] = [
    "medication",
    "diagnosis",
    "treatment",
    "prevention",
    "emergency",
];

/// Every option key with its D-Bus type, in documentation order.
pub const ALL: [(&str, &str); 8] = [
    (MAX_TOKENS, "u"),
    (TEMPERATURE, "d"),
    (TOP_P, "d"),
    (SEED, "u"),
    (CATEGORY, "s"),
    (NO_CACHE, "b"),
    (HANDLE_TOKEN, "s"),
    (INCLUDE_REASONING, "b"),
];

/// Typed request options; `None` means "the category's default".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AskOptions {
    /// Cap on generated answer tokens.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Fixed sampler seed.
    pub seed: Option<u32>,
    /// Category override.
    pub category: Option<String>,
    /// Bypass the answer cache.
    pub no_cache: bool,
    /// Client-chosen last path element of the request object (`StartAsk` only).
    pub handle_token: Option<String>,
    /// Return the reasoning block of reasoning models.
    pub include_reasoning: bool,
}

impl AskOptions {
    /// The wire form; keys with default values are left out.
    pub fn to_dict(&self) -> Dict {
        let mut d = Dict::new();
        if let Some(v) = self.max_tokens {
            put(&mut d, MAX_TOKENS, v);
        }
        if let Some(v) = self.temperature {
            put(&mut d, TEMPERATURE, v);
        }
        if let Some(v) = self.top_p {
            put(&mut d, TOP_P, v);
        }
        if let Some(v) = self.seed {
            put(&mut d, SEED, v);
        }
        if let Some(v) = &self.category {
            put_str(&mut d, CATEGORY, v.clone());
        }
        if self.no_cache {
            put(&mut d, NO_CACHE, true);
        }
        if let Some(v) = &self.handle_token {
            put_str(&mut d, HANDLE_TOKEN, v.clone());
        }
        if self.include_reasoning {
            put(&mut d, INCLUDE_REASONING, true);
        }
        d
    }

    /// Parse the wire form strictly: unknown keys, wrong types and values that are invalid on
    /// their own (NaN, `max_tokens` 0, a malformed `handle_token`) are `InvalidArgument` naming
    /// the key. Keys are checked in sorted order so the error is the same for the same input.
    pub fn from_dict<'a, I>(entries: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (&'a str, &'a Value<'a>)>,
    {
        let mut entries: Vec<(&str, &Value<'_>)> = entries.into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut o = AskOptions::default();
        for (key, v) in entries {
            match key {
                MAX_TOKENS => {
                    let n: u32 = take_strict(key, v, "u", "uint32")?;
                    if n == 0 {
                        return Err(Error::InvalidArgument(
                            "option 'max_tokens' must be at least 1".into(),
                        ));
                    }
                    o.max_tokens = Some(n);
                }
                TEMPERATURE => {
                    o.temperature = Some(finite(key, take_strict(key, v, "d", "double")?)?)
                }
                TOP_P => o.top_p = Some(finite(key, take_strict(key, v, "d", "double")?)?),
                SEED => o.seed = Some(take_strict(key, v, "u", "uint32")?),
                CATEGORY => {
                    let s: &str = take_strict(key, v, "s", "string")?;
                    o.category = Some(s.to_string());
                }
                NO_CACHE => o.no_cache = take_strict(key, v, "b", "boolean")?,
                HANDLE_TOKEN => {
                    let s: &str = take_strict(key, v, "s", "string")?;
                    crate::names::validate_handle_token(s)?;
                    o.handle_token = Some(s.to_string());
                }
                INCLUDE_REASONING => o.include_reasoning = take_strict(key, v, "b", "boolean")?,
                other => {
                    let known: Vec<&str> = ALL.iter().map(|(k, _)| *k).collect();
                    return Err(Error::InvalidArgument(format!(
                        "unknown option '{}' (known: {})",
                        other.escape_debug(),
                        known.join(", ")
                    )));
                }
            }
        }
        Ok(o)
    }

    /// [`AskOptions::from_dict`] over a [`Dict`].
    pub fn from_owned(d: &Dict) -> Result<Self, Error> {
        Self::from_dict(d.iter().map(|(k, v)| (k.as_str(), &**v)))
    }
}

fn finite(key: &str, x: f64) -> Result<f64, Error> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(Error::InvalidArgument(format!(
            "option '{key}' must be a finite number, got {x}"
        )))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use zbus::zvariant::OwnedValue;

    fn dict(entries: &[(&str, Value<'static>)]) -> Dict {
        entries
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    OwnedValue::try_from(v.try_clone().unwrap()).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn round_trip() {
        let o = AskOptions {
            max_tokens: Some(64),
            temperature: Some(0.0),
            top_p: Some(0.9),
            seed: Some(7),
            category: Some("medication".into()),
            no_cache: true,
            handle_token: Some("t_1".into()),
            include_reasoning: true,
        };
        assert_eq!(AskOptions::from_owned(&o.to_dict()).unwrap(), o);
        assert_eq!(
            AskOptions::from_owned(&Dict::new()).unwrap(),
            AskOptions::default()
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let e = AskOptions::from_owned(&dict(&[("max_token", Value::U32(3))])).unwrap_err();
        assert!(
            matches!(e, Error::InvalidArgument(ref m) if m.contains("'max_token'")),
            "{e}"
        );
    }

    #[test]
    fn wrong_type_is_named_with_both_signatures() {
        let e = AskOptions::from_owned(&dict(&[("max_tokens", Value::I32(3))])).unwrap_err();
        let Error::InvalidArgument(m) = e else {
            panic!()
        };
        assert!(
            m.contains("'max_tokens'") && m.contains("'u'") && m.contains("'i'"),
            "{m}"
        );
        let e = AskOptions::from_owned(&dict(&[("no_cache", Value::from("yes"))])).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(ref m) if m.contains("no_cache")));
    }

    #[test]
    fn values_invalid_on_their_own_are_rejected() {
        for (k, v) in [
            ("max_tokens", Value::U32(0)),
            ("temperature", Value::F64(f64::NAN)),
            ("top_p", Value::F64(f64::INFINITY)),
            ("handle_token", Value::from("../x")),
        ] {
            let e = AskOptions::from_owned(&dict(&[(k, v)])).unwrap_err();
            assert!(
                matches!(e, Error::InvalidArgument(ref m) if m.contains(k)),
                "{k}: {e}"
            );
        }
    }
}
