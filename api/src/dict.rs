//! Reading and writing `a{sv}` dictionaries with the types the contract fixes.
//!
//! Writers put exactly one D-Bus type per key; strict readers (options) reject anything else
//! naming the key, lenient readers (details, status) skip keys they do not know or cannot read so
//! an older client keeps working against a newer daemon.

use std::collections::HashMap;

use zbus::zvariant::{OwnedValue, Str, Value};

use crate::Error;

/// An `a{sv}` dictionary as both sides hold it.
pub type Dict = HashMap<String, OwnedValue>;

/// Insert a string value.
pub fn put_str(d: &mut Dict, key: &str, v: impl Into<String>) {
    d.insert(key.to_string(), OwnedValue::from(Str::from(v.into())));
}

/// Insert any value that converts without file descriptors (numbers, bools, arrays, maps).
pub fn put<'a>(d: &mut Dict, key: &str, v: impl Into<Value<'a>>) {
    if let Ok(ov) = v.into().try_into_owned() {
        d.insert(key.to_string(), ov);
    }
}

/// The D-Bus signature of a value, for error messages (`u`, `s`, `a{sv}`).
pub fn signature_of(v: &Value<'_>) -> String {
    v.value_signature().to_string()
}

/// Read a value of exactly signature `sig` or fail naming `key` (strict: for options).
pub fn take_strict<'a, T>(key: &str, v: &'a Value<'a>, sig: &str, what: &str) -> Result<T, Error>
where
    T: TryFrom<&'a Value<'a>>,
{
    let got = signature_of(v);
    if got != sig {
        return Err(Error::InvalidArgument(format!(
            "option '{key}' must have D-Bus type '{sig}' ({what}), got '{got}'"
        )));
    }
    T::try_from(v).map_err(|_| {
        Error::InvalidArgument(format!(
            "option '{key}' must have D-Bus type '{sig}' ({what})"
        ))
    })
}

/// Read a value leniently: `None` when absent or of another type.
pub fn get<T>(d: &Dict, key: &str) -> Option<T>
where
    T: TryFrom<OwnedValue>,
{
    d.get(key)
        .and_then(|v| v.try_clone().ok())
        .and_then(|v| T::try_from(v).ok())
}

/// Read a string leniently.
pub fn get_str(d: &Dict, key: &str) -> Option<String> {
    get::<String>(d, key)
}
