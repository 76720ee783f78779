//! The names that make up the contract: bus name, object paths, interfaces, and the rules for
//! per-request object paths.
//!
//! Both sides compute request paths with [`request_path`], so a client that passes a
//! `handle_token` knows the path before it calls `StartAsk` and can subscribe to the request's
//! signals first (the xdg-desktop-portal pattern): no chunk can be missed.

use zbus::zvariant::OwnedObjectPath;

use crate::Error;

/// The daemon's well-known bus name.
pub const BUS_NAME: &str = "org.medllm.Daemon1";

/// The daemon's main object.
pub const OBJECT_PATH: &str = "/org/medllm/Daemon1";

/// The main interface (methods `Ask`, `StartAsk`, `Status`, `Classify` and the properties).
pub const INTERFACE: &str = "org.medllm.Daemon1";

/// The admin interface on [`OBJECT_PATH`] (reload, re-plan, mode, cache, statistics; polkit).
pub const ADMIN_INTERFACE: &str = "org.medllm.Daemon1.Admin";

/// The interface of per-request objects (`Cancel`, signals `Tokens`, `Reasoning`, `Finished`).
pub const REQUEST_INTERFACE: &str = "org.medllm.Daemon1.Request";

/// Prefix of every error name the daemon returns (`org.medllm.Daemon1.Error.Busy`, …).
pub const ERROR_PREFIX: &str = "org.medllm.Daemon1.Error";

/// Parent of all per-request objects: `/org/medllm/Daemon1/request/<sender>/<token>`.
pub const REQUEST_PATH_PREFIX: &str = "/org/medllm/Daemon1/request";

/// Longest accepted `handle_token`, in bytes.
pub const MAX_HANDLE_TOKEN_LEN: usize = 64;

/// The caller's unique bus name as a path element: `:1.42` → `1_42`.
///
/// Unique names contain only `[A-Za-z0-9_.:-]`; `.`, `:` and `-` are not allowed in object-path
/// elements, so `.` and `-` become `_` and the leading `:` is dropped (as xdg-desktop-portal does).
pub fn escape_sender(unique_name: &str) -> String {
    unique_name
        .trim_start_matches(':')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Check a client-chosen `handle_token`: 1..=64 bytes of `[A-Za-z0-9_]`.
pub fn validate_handle_token(token: &str) -> Result<(), Error> {
    if token.is_empty() || token.len() > MAX_HANDLE_TOKEN_LEN {
        return Err(Error::InvalidArgument(format!(
            "option 'handle_token' must be 1..={MAX_HANDLE_TOKEN_LEN} bytes, got {}",
            token.len()
        )));
    }
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(Error::InvalidArgument(
            "option 'handle_token' may contain only ASCII letters, digits and '_'".into(),
        ));
    }
    Ok(())
}

/// The object path of the request that `unique_name` starts with `token`.
pub fn request_path(unique_name: &str, token: &str) -> Result<OwnedObjectPath, Error> {
    validate_handle_token(token)?;
    let sender = escape_sender(unique_name);
    if sender.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "'{unique_name}' is not a unique bus name"
        )));
    }
    OwnedObjectPath::try_from(format!("{REQUEST_PATH_PREFIX}/{sender}/{token}"))
        .map_err(|e| Error::InvalidArgument(format!("cannot build the request path: {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn sender_escaping_yields_a_path_element() {
        assert_eq!(escape_sender(":1.42"), "1_42");
        assert_eq!(escape_sender(":1.4-2"), "1_4_2");
    }

    #[test]
    fn request_path_is_predictable() {
        let p = request_path(":1.7", "medctl_12_0").unwrap();
        assert_eq!(p.as_str(), "/org/medllm/Daemon1/request/1_7/medctl_12_0");
    }

    #[test]
    fn bad_tokens_are_rejected_with_the_option_named() {
        for bad in ["", "a/b", "a.b", "é", &"x".repeat(65)] {
            let e = request_path(":1.7", bad).unwrap_err();
            assert!(
                matches!(e, Error::InvalidArgument(ref m) if m.contains("handle_token")),
                "{bad}: {e}"
            );
        }
    }
}
