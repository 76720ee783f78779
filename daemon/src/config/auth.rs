//! `[auth]`: who may use the admin interface (`org.medllm.Daemon1.Admin`) and, optionally, who may
//! ask questions, when polkit decides and when it cannot.
//!
//! The D-Bus policy file already limits the question interface to root and `medllm-clients`;
//! these settings only add checks, they never open anything the bus policy closes. Names are
//! checked for shape here and resolved to ids at each check (an account created after start
//! counts at once).

use serde::Deserialize;

/// `[auth]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// Ask polkit (`org.freedesktop.PolicyKit1`) when it is on the bus.
    pub polkit: Option<bool>,
    /// Where polkit is absent: `rule` (root, `admin_users`, `admin_groups`) or `deny`.
    pub fallback: Option<String>,
    /// Users allowed the admin methods by the fallback rule.
    pub admin_users: Option<Vec<String>>,
    /// Groups whose members are allowed the admin methods by the fallback rule.
    pub admin_groups: Option<Vec<String>>,
    /// Also check `org.medllm.daemon1.ask` with polkit for `Ask`, `StartAsk` and `Classify`.
    pub ask_polkit: Option<bool>,
}

/// What to do where polkit is absent (not installed, not running, not activatable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Allow root and the configured `admin_users` / members of `admin_groups`.
    Rule,
    /// Refuse every admin call (root included).
    Deny,
}

impl Fallback {
    /// Name as in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Fallback::Rule => "rule",
            Fallback::Deny => "deny",
        }
    }
}

/// Validated `[auth]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// Ask polkit when it is on the bus (false: always apply the fallback rule).
    pub polkit: bool,
    /// Where polkit is absent.
    pub fallback: Fallback,
    /// User names (or numeric uids) the fallback rule allows.
    pub admin_users: Vec<String>,
    /// Group names (or numeric gids) whose members the fallback rule allows.
    pub admin_groups: Vec<String>,
    /// Check `org.medllm.daemon1.ask` for the question methods (off: the bus policy decides).
    pub ask_polkit: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            polkit: true,
            fallback: Fallback::Rule,
            admin_users: Vec::new(),
            admin_groups: Vec::new(),
            ask_polkit: false,
        }
    }
}

impl RawAuth {
    /// Validate; the error is `(key, message)`.
    pub fn validate(self) -> Result<AuthSettings, (&'static str, String)> {
        let fallback = match self.fallback.as_deref() {
            None | Some("rule") => Fallback::Rule,
            Some("deny") => Fallback::Deny,
            Some(other) => {
                return Err((
                    "auth.fallback",
                    format!("must be \"rule\" or \"deny\", got {other:?}"),
                ));
            }
        };
        let admin_users = self.admin_users.unwrap_or_default();
        let admin_groups = self.admin_groups.unwrap_or_default();
        for (key, names) in [
            ("auth.admin_users", &admin_users),
            ("auth.admin_groups", &admin_groups),
        ] {
            if let Some(bad) = names.iter().find(|n| !is_account_name(n)) {
                return Err((
                    key,
                    format!("{bad:?} is not a user or group name or a numeric id"),
                ));
            }
        }
        Ok(AuthSettings {
            polkit: self.polkit.unwrap_or(true),
            fallback,
            admin_users,
            admin_groups,
            ask_polkit: self.ask_polkit.unwrap_or(false),
        })
    }
}

/// A POSIX-ish account name (`[A-Za-z_][A-Za-z0-9_.-]*`, at most 32 bytes, optional trailing `$`)
/// or a numeric id.
fn is_account_name(name: &str) -> bool {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
        return name.parse::<u32>().is_ok();
    }
    let body = name.strip_suffix('$').unwrap_or(name);
    let mut bytes = body.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && name.len() <= 32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_use_polkit_with_the_local_rule_behind_it() {
        let s = RawAuth::default().validate();
        assert_eq!(s, Ok(AuthSettings::default()));
    }

    #[test]
    fn bad_values_name_the_key() {
        let raw = RawAuth {
            fallback: Some("root-only".into()),
            ..Default::default()
        };
        assert!(matches!(raw.validate(), Err(("auth.fallback", _))));
        for bad in ["", "a b", "-x", "root;rm", &"x".repeat(33), "99999999999"] {
            let raw = RawAuth {
                admin_groups: Some(vec![bad.to_string()]),
                ..Default::default()
            };
            assert!(
                matches!(raw.validate(), Err(("auth.admin_groups", _))),
                "{bad:?}"
            );
        }
        for good in ["wheel", "sudo", "clinic-admins", "_x", "1000", "machine$"] {
            assert!(is_account_name(good), "{good}");
        }
    }
}
