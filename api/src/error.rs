//! The daemon's D-Bus errors, `org.medllm.Daemon1.Error.*`, as one enum for both sides.
//!
//! The daemon returns these from its methods; proxies in this crate return them too, so a client
//! matches on [`Error::Busy`] instead of comparing strings. Every variant carries a human-readable
//! message (the D-Bus error message). Errors that are not ours (the bus refused the call, the
//! connection broke, `org.freedesktop.DBus.Error.*`) arrive as [`Error::ZBus`].

use zbus::DBusError;

/// Errors of the `org.medllm.Daemon1` interfaces. The variant name is the last element of the
/// D-Bus error name and never changes.
#[derive(Debug, DBusError)]
#[zbus(prefix = "org.medllm.Daemon1.Error")]
pub enum Error {
    /// Not one of ours: a transport error or a standard D-Bus error (`ServiceUnknown`, `AccessDenied`, …).
    #[zbus(error)]
    ZBus(zbus::Error),
    /// The model is still loading (or failed to load); try again later.
    NotReady(String),
    /// Too many requests in flight, globally or for this client; try again later.
    Busy(String),
    /// The question is longer than the `MaxQuestionBytes` property.
    QuestionTooLarge(String),
    /// The prompt plus the answer budget do not fit the model's context.
    PromptTooLong(String),
    /// An empty question, an unknown option, an option of the wrong type or out of range; the
    /// message names the option.
    InvalidArgument(String),
    /// The request was cancelled (by `Cancel`, because its client left the bus, or at shutdown).
    Cancelled(String),
    /// The request object does not exist (any more): it finished or never existed.
    NoSuchRequest(String),
    /// The caller may not do this (e.g. cancel someone else's request).
    NotAuthorized(String),
    /// Unexpected failure inside the daemon; the daemon keeps serving.
    Internal(String),
    /// The daemon cannot do this in its configuration (the answer cache is off, the cache key is a
    /// systemd credential that only the administrator can rotate, …); the message says what to do.
    NotSupported(String),
}

/// The short names of all daemon errors (the part after [`crate::ERROR_PREFIX`]).
pub const ERROR_NAMES: [&str; 10] = [
    "NotReady",
    "Busy",
    "QuestionTooLarge",
    "PromptTooLong",
    "InvalidArgument",
    "Cancelled",
    "NoSuchRequest",
    "NotAuthorized",
    "Internal",
    "NotSupported",
];

impl Error {
    /// Build an error from its short name (`Busy`) or full D-Bus name
    /// (`org.medllm.Daemon1.Error.Busy`); `None` for names that are not ours. Used to turn the
    /// `status` of a `Finished` signal back into an error.
    pub fn from_name(name: &str, message: impl Into<String>) -> Option<Self> {
        let short = name
            .strip_prefix(crate::ERROR_PREFIX)
            .and_then(|s| s.strip_prefix('.'))
            .unwrap_or(name);
        let m = message.into();
        Some(match short {
            "NotReady" => Error::NotReady(m),
            "Busy" => Error::Busy(m),
            "QuestionTooLarge" => Error::QuestionTooLarge(m),
            "PromptTooLong" => Error::PromptTooLong(m),
            "InvalidArgument" => Error::InvalidArgument(m),
            "Cancelled" => Error::Cancelled(m),
            "NoSuchRequest" => Error::NoSuchRequest(m),
            "NotAuthorized" => Error::NotAuthorized(m),
            "Internal" => Error::Internal(m),
            "NotSupported" => Error::NotSupported(m),
            _ => return None,
        })
    }

    /// The short name (`Busy`), or `None` for [`Error::ZBus`].
    pub fn short_name(&self) -> Option<&'static str> {
        Some(match self {
            Error::ZBus(_) => return None,
            Error::NotReady(_) => "NotReady",
            Error::Busy(_) => "Busy",
            Error::QuestionTooLarge(_) => "QuestionTooLarge",
            Error::PromptTooLong(_) => "PromptTooLong",
            Error::InvalidArgument(_) => "InvalidArgument",
            Error::Cancelled(_) => "Cancelled",
            Error::NoSuchRequest(_) => "NoSuchRequest",
            Error::NotAuthorized(_) => "NotAuthorized",
            Error::Internal(_) => "Internal",
            Error::NotSupported(_) => "NotSupported",
        })
    }

    /// The full D-Bus error name (`org.medllm.Daemon1.Error.Busy`); for [`Error::ZBus`] the name of
    /// the underlying D-Bus error when there is one (`org.freedesktop.DBus.Error.ServiceUnknown`).
    pub fn dbus_name(&self) -> Option<String> {
        match self {
            Error::ZBus(zbus::Error::MethodError(name, _, _)) => Some(name.to_string()),
            Error::ZBus(zbus::Error::FDO(e)) => Some(e.name().to_string()),
            Error::ZBus(_) => None,
            other => other
                .short_name()
                .map(|s| format!("{}.{s}", crate::ERROR_PREFIX)),
        }
    }

    /// The human-readable message without the error name.
    pub fn message(&self) -> String {
        match self {
            Error::ZBus(zbus::Error::MethodError(_, Some(desc), _)) => desc.clone(),
            Error::ZBus(e) => e.to_string(),
            Error::NotReady(m)
            | Error::Busy(m)
            | Error::QuestionTooLarge(m)
            | Error::PromptTooLong(m)
            | Error::InvalidArgument(m)
            | Error::Cancelled(m)
            | Error::NoSuchRequest(m)
            | Error::NotAuthorized(m)
            | Error::Internal(m)
            | Error::NotSupported(m) => m.clone(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for short in ERROR_NAMES {
            let e = Error::from_name(short, "m").unwrap();
            assert_eq!(e.short_name(), Some(short));
            let full = e.dbus_name().unwrap();
            assert_eq!(full, format!("org.medllm.Daemon1.Error.{short}"));
            assert_eq!(zbus::DBusError::name(&e).as_str(), full);
            let again = Error::from_name(&full, "m").unwrap();
            assert_eq!(again.short_name(), Some(short));
        }
        assert!(Error::from_name("org.freedesktop.DBus.Error.Failed", "m").is_none());
    }

    #[test]
    fn method_errors_with_our_names_become_typed() {
        let name = zbus::names::OwnedErrorName::try_from("org.medllm.Daemon1.Error.Busy").unwrap();
        let msg = zbus::message::Message::method_call("/", "M")
            .unwrap()
            .build(&())
            .unwrap();
        let e: Error = zbus::Error::MethodError(name, Some("try later".into()), msg).into();
        assert!(matches!(e, Error::Busy(ref m) if m == "try later"), "{e:?}");
    }
}
