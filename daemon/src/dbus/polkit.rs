//! Authorising calls: polkit about the *caller*, or the `[auth]` fallback rule where polkit is
//! absent.
//!
//! The subject handed to polkit is the caller's unique bus name from the message header
//! (`system-bus-name`): polkit resolves it to the process, user and session itself, so nothing the
//! client wrote in the message body — and never the daemon's own pid — decides. polkit only lets a
//! non-root daemon check *other* users' authorisations for actions it owns: the shipped action
//! file marks both actions `org.freedesktop.policykit.owner = unix-user:medllm`.
//!
//! root is asked about like everybody else: polkit itself always authorises uid 0 (so `sudo
//! medctl …` over ssh needs no agent), and asking keeps one rule for all callers. Where polkit is
//! absent, the fallback rule allows root with `fallback = "rule"` and refuses it with `"deny"`
//! (which is what that setting promises). A caller that set `ALLOW_INTERACTIVE_AUTHORIZATION` on
//! its message (medctl and busctl do) lets polkit ask for a password through the user's agent.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use medllm_api::Error;
use zbus::fdo::DBusProxy;
use zbus::message::{Flags, Header};
use zbus::names::BusName;
use zbus::proxy::CacheProperties;
use zbus::zvariant::Value;
use zbus::{Connection, DBusError, proxy};

use super::caller;
use crate::config::{AuthSettings, Fallback};
use crate::service::Caller;

/// How long a non-interactive polkit check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(25);
/// How long an interactive check may take (someone is typing a password).
const INTERACTIVE_TIMEOUT: Duration = Duration::from_secs(300);
/// polkit's `CheckAuthorizationFlags.AllowUserInteraction`.
const ALLOW_USER_INTERACTION: u32 = 1;

/// `org.freedesktop.PolicyKit1.Authority` (only the method we use).
#[proxy(
    interface = "org.freedesktop.PolicyKit1.Authority",
    default_service = "org.freedesktop.PolicyKit1",
    default_path = "/org/freedesktop/PolicyKit1/Authority",
    gen_blocking = false
)]
trait PolkitAuthority {
    /// `(is_authorized, is_challenge, details)`.
    fn check_authorization(
        &self,
        subject: &(&str, HashMap<&str, Value<'_>>),
        action_id: &str,
        details: &HashMap<&str, &str>,
        flags: u32,
        cancellation_id: &str,
    ) -> zbus::Result<(bool, bool, HashMap<String, String>)>;
}

/// What is being authorised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// The question methods (only checked with `[auth] ask_polkit`).
    Ask,
    /// The admin interface.
    Manage,
}

impl Action {
    fn id(self) -> &'static str {
        match self {
            Action::Ask => medllm_api::ACTION_ASK,
            Action::Manage => medllm_api::ACTION_MANAGE,
        }
    }
}

/// Who answered the last check (for `GetStats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Source {
    /// Nothing checked yet.
    None = 0,
    /// polkit answered.
    Polkit = 1,
    /// polkit was absent or disabled: the fallback rule decided.
    Fallback = 2,
}

impl Source {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Source::None => "unknown",
            Source::Polkit => "polkit",
            Source::Fallback => "fallback rule",
        }
    }
}

/// polkit's answer, or why there was none.
enum PolkitAnswer {
    Allowed,
    Denied { challenge: bool },
    Absent,
}

/// Decides whether a caller may do an [`Action`].
#[derive(Debug)]
pub(crate) struct Authority {
    dbus: DBusProxy<'static>,
    polkit: PolkitAuthorityProxy<'static>,
    settings: AuthSettings,
    last: AtomicU8,
}

impl Authority {
    /// An authority checking over `conn` (the daemon's own bus connection).
    pub(crate) async fn new(conn: &Connection, settings: AuthSettings) -> zbus::Result<Self> {
        let polkit = PolkitAuthorityProxy::builder(conn)
            .cache_properties(CacheProperties::No)
            .build()
            .await?;
        Ok(Self {
            dbus: DBusProxy::new(conn).await?,
            polkit,
            settings,
            last: AtomicU8::new(Source::None as u8),
        })
    }

    /// Who answered the last check.
    pub(crate) fn last_source(&self) -> Source {
        match self.last.load(Ordering::Relaxed) {
            1 => Source::Polkit,
            2 => Source::Fallback,
            _ => Source::None,
        }
    }

    /// Allow or refuse the sender of `header`; on success, who it is.
    pub(crate) async fn authorize(
        &self,
        header: &Header<'_>,
        action: Action,
    ) -> Result<Caller, Error> {
        let caller = caller::identify(&self.dbus, header).await?;
        if action == Action::Ask && !self.settings.ask_polkit {
            return Ok(caller); // the D-Bus policy decided
        }
        let interactive = header
            .primary()
            .flags()
            .contains(Flags::AllowInteractiveAuth);
        let answer = if self.settings.polkit {
            self.ask_polkit(&caller, action, interactive).await?
        } else {
            PolkitAnswer::Absent
        };
        let allowed = match answer {
            PolkitAnswer::Allowed => {
                self.last.store(Source::Polkit as u8, Ordering::Relaxed);
                true
            }
            PolkitAnswer::Denied { challenge } => {
                self.last.store(Source::Polkit as u8, Ordering::Relaxed);
                tracing::info!(
                    uid = caller.uid,
                    pid = caller.pid,
                    action = action.id(),
                    challenge,
                    "polkit refused"
                );
                return Err(Error::NotAuthorized(if challenge {
                    format!(
                        "{} needs an administrator's authentication; run the command from a \
                         desktop session with a polkit agent, or as root",
                        action.id()
                    )
                } else {
                    format!("polkit does not allow {} for this user", action.id())
                }));
            }
            PolkitAnswer::Absent => {
                self.last.store(Source::Fallback as u8, Ordering::Relaxed);
                // Without polkit the bus policy alone governs the question methods.
                action == Action::Ask || self.fallback_allows(&caller).await
            }
        };
        if allowed {
            Ok(caller)
        } else {
            tracing::info!(
                uid = caller.uid,
                pid = caller.pid,
                action = action.id(),
                "fallback rule refused"
            );
            Err(Error::NotAuthorized(format!(
                "{} is not allowed: polkit is not available and the [auth] fallback rule ({}) does not \
                 list this user",
                action.id(),
                self.settings.fallback.as_str()
            )))
        }
    }

    /// Ask polkit about `caller`; `Absent` when polkit is not on the bus.
    async fn ask_polkit(
        &self,
        caller: &Caller,
        action: Action,
        interactive: bool,
    ) -> Result<PolkitAnswer, Error> {
        let subject_details = HashMap::from([("name", Value::from(caller.unique_name.as_str()))]);
        let subject = ("system-bus-name", subject_details);
        let flags = if interactive {
            ALLOW_USER_INTERACTION
        } else {
            0
        };
        let timeout = if interactive {
            INTERACTIVE_TIMEOUT
        } else {
            CHECK_TIMEOUT
        };
        let details = HashMap::new();
        let call = self
            .polkit
            .check_authorization(&subject, action.id(), &details, flags, "");
        match tokio::time::timeout(timeout, call).await {
            Err(_) => Err(Error::NotAuthorized(format!(
                "polkit did not answer within {} s",
                timeout.as_secs()
            ))),
            Ok(Ok((true, _, _))) => Ok(PolkitAnswer::Allowed),
            Ok(Ok((false, challenge, _))) => Ok(PolkitAnswer::Denied { challenge }),
            Ok(Err(e)) if polkit_absent(&e) => {
                tracing::debug!(error = %e, "polkit is not available; applying the fallback rule");
                Ok(PolkitAnswer::Absent)
            }
            Ok(Err(e)) => {
                // Fail closed: a polkit that answers with an error is not a polkit that is absent.
                tracing::warn!(error = %e, action = action.id(), "polkit check failed");
                Err(Error::NotAuthorized(format!(
                    "the polkit check failed: {e}"
                )))
            }
        }
    }

    /// The `[auth]` fallback rule: root, `admin_users`, members of `admin_groups`; `deny` allows
    /// nobody (root included).
    async fn fallback_allows(&self, caller: &Caller) -> bool {
        if self.settings.fallback == Fallback::Deny {
            return false;
        }
        let Some(uid) = caller.uid else { return false };
        if uid == 0 {
            return true;
        }
        let groups = self.caller_groups(caller).await;
        let settings = self.settings.clone();
        tokio::task::spawn_blocking(move || rule_allows(&settings, uid, groups.as_deref()))
            .await
            .unwrap_or(false)
    }

    /// The caller's groups as the bus saw them at connection time (`UnixGroupIDs`), if it says.
    async fn caller_groups(&self, caller: &Caller) -> Option<Vec<u32>> {
        let name = zbus::names::UniqueName::try_from(caller.unique_name.as_str()).ok()?;
        let creds = self
            .dbus
            .get_connection_credentials(BusName::Unique(name))
            .await
            .ok()?;
        creds.unix_group_ids().cloned()
    }
}

/// Whether polkit is simply not there (not installed, not running, not activatable).
fn polkit_absent(e: &zbus::Error) -> bool {
    let name = match e {
        zbus::Error::MethodError(name, _, _) => name.to_string(),
        zbus::Error::FDO(f) => f.name().to_string(),
        _ => return false,
    };
    name == "org.freedesktop.DBus.Error.ServiceUnknown"
        || name == "org.freedesktop.DBus.Error.NameHasNoOwner"
        || name.starts_with("org.freedesktop.DBus.Error.Spawn.")
}

/// The fallback rule on resolved ids (blocking: NSS lookups). `groups` from the bus when it
/// told; otherwise the user's groups from the account database.
fn rule_allows(settings: &AuthSettings, uid: u32, groups: Option<&[u32]>) -> bool {
    use nix::unistd::{Gid, Group, Uid, User};
    let user = User::from_uid(Uid::from_raw(uid)).ok().flatten();
    let user_listed = settings.admin_users.iter().any(|u| match u.parse::<u32>() {
        Ok(n) => n == uid,
        Err(_) => user.as_ref().is_some_and(|me| &me.name == u),
    });
    if user_listed {
        return true;
    }
    if settings.admin_groups.is_empty() {
        return false;
    }
    let groups: Vec<u32> = match (groups, &user) {
        (Some(g), _) => g.to_vec(),
        (None, Some(me)) => {
            let Ok(name) = std::ffi::CString::new(me.name.as_str()) else {
                return false;
            };
            nix::unistd::getgrouplist(&name, me.gid)
                .map(|gs| gs.into_iter().map(Gid::as_raw).collect())
                .unwrap_or_default()
        }
        (None, None) => return false,
    };
    settings.admin_groups.iter().any(|g| {
        let gid = match g.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => Group::from_name(g).ok().flatten().map(|gr| gr.gid.as_raw()),
        };
        gid.is_some_and(|gid| groups.contains(&gid))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn settings(users: &[&str], groups: &[&str], fallback: Fallback) -> AuthSettings {
        AuthSettings {
            admin_users: users.iter().map(|s| s.to_string()).collect(),
            admin_groups: groups.iter().map(|s| s.to_string()).collect(),
            fallback,
            ..AuthSettings::default()
        }
    }

    #[test]
    fn the_rule_matches_listed_users_and_group_members_only() {
        // uid 0 is "root" in every account database; gid 0 is "root".
        assert!(rule_allows(
            &settings(&["root"], &[], Fallback::Rule),
            0,
            Some(&[])
        ));
        assert!(rule_allows(
            &settings(&["4242"], &[], Fallback::Rule),
            4242,
            Some(&[])
        ));
        assert!(!rule_allows(
            &settings(&["4242"], &[], Fallback::Rule),
            4243,
            Some(&[])
        ));
        assert!(rule_allows(
            &settings(&[], &["root"], Fallback::Rule),
            4242,
            Some(&[7, 0])
        ));
        assert!(rule_allows(
            &settings(&[], &["77"], Fallback::Rule),
            4242,
            Some(&[77])
        ));
        assert!(!rule_allows(
            &settings(&[], &["root"], Fallback::Rule),
            4242,
            Some(&[7])
        ));
        assert!(!rule_allows(
            &settings(&[], &["no-such-group-x"], Fallback::Rule),
            4242,
            Some(&[0])
        ));
        assert!(!rule_allows(
            &settings(&[], &[], Fallback::Rule),
            4242,
            Some(&[0])
        ));
    }

    #[test]
    fn absent_means_not_on_the_bus_only() {
        let name = |n: &str| zbus::names::OwnedErrorName::try_from(n).unwrap();
        let msg = || {
            zbus::message::Message::method_call("/", "M")
                .unwrap()
                .build(&())
                .unwrap()
        };
        let err = |n: &str| zbus::Error::MethodError(name(n), None, msg());
        assert!(polkit_absent(&err(
            "org.freedesktop.DBus.Error.ServiceUnknown"
        )));
        assert!(polkit_absent(&err(
            "org.freedesktop.DBus.Error.Spawn.ServiceNotFound"
        )));
        assert!(!polkit_absent(&err(
            "org.freedesktop.PolicyKit1.Error.NotAuthorized"
        )));
        assert!(!polkit_absent(&err(
            "org.freedesktop.DBus.Error.AccessDenied"
        )));
    }
}
