//! A stand-in for polkitd on a private bus: owns `org.freedesktop.PolicyKit1`, answers
//! `CheckAuthorization` from a per-test rule and records every question it was asked, resolving
//! the subject the way polkitd does (a `system-bus-name` through the bus's credentials).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use zbus::fdo::{self, DBusProxy};
use zbus::names::BusName;
use zbus::zvariant::OwnedValue;
use zbus::{Connection, interface};

/// One `CheckAuthorization` as the mock saw it.
#[derive(Debug, Clone)]
pub struct Check {
    /// Subject kind (`system-bus-name`, `unix-process`, …).
    pub kind: String,
    /// The bus name in the subject, if any.
    pub name: Option<String>,
    /// The subject's uid as the bus reports it for that name (or from the subject itself).
    pub uid: Option<u32>,
    /// The subject's pid, likewise.
    pub pid: Option<u32>,
    /// The action id.
    pub action: String,
    /// `CheckAuthorizationFlags` (1 = allow user interaction).
    pub flags: u32,
}

#[derive(Default)]
struct State {
    allow: Vec<u32>,
    checks: Vec<Check>,
}

struct Authority {
    state: Arc<Mutex<State>>,
}

#[interface(name = "org.freedesktop.PolicyKit1.Authority")]
impl Authority {
    async fn check_authorization(
        &self,
        subject: (String, HashMap<String, OwnedValue>),
        action_id: String,
        _details: HashMap<String, String>,
        flags: u32,
        _cancellation_id: String,
        #[zbus(connection)] conn: &Connection,
    ) -> fdo::Result<(bool, bool, HashMap<String, String>)> {
        // A proxy per call: one kept in `self` would keep the connection alive (a cycle through
        // the object server), and the mock would never leave the bus.
        let dbus = DBusProxy::new(conn).await?;
        let (kind, fields) = subject;
        let text = |k: &str| fields.get(k).and_then(|v| String::try_from(v.clone()).ok());
        let num = |k: &str| fields.get(k).and_then(|v| u32::try_from(v.clone()).ok());
        let name = text("name");
        let (uid, pid) = match (&kind[..], &name) {
            ("system-bus-name", Some(n)) => {
                let bn = BusName::try_from(n.as_str())
                    .map_err(|e| fdo::Error::InvalidArgs(e.to_string()))?;
                let uid = dbus.get_connection_unix_user(bn.clone()).await.ok();
                let pid = dbus.get_connection_unix_process_id(bn).await.ok();
                (uid, pid)
            }
            _ => (num("uid"), num("pid")),
        };
        let mut state = self
            .state
            .lock()
            .map_err(|_| fdo::Error::Failed("poisoned".into()))?;
        state.checks.push(Check {
            kind,
            name,
            uid,
            pid,
            action: action_id,
            flags,
        });
        // Like polkitd: root is always authorised; then the test's rule.
        let allowed = uid.is_some_and(|u| u == 0 || state.allow.contains(&u));
        Ok((allowed, false, HashMap::new()))
    }
}

/// The mock; it leaves the bus when dropped.
pub struct MockPolkit {
    conn: Connection,
    state: Arc<Mutex<State>>,
}

impl MockPolkit {
    /// Own `org.freedesktop.PolicyKit1` on `address`, allowing the uids in `allow` (and root).
    pub async fn start(address: &str, allow: &[u32]) -> Self {
        let state = Arc::new(Mutex::new(State {
            allow: allow.to_vec(),
            checks: Vec::new(),
        }));
        let conn = zbus::connection::Builder::address(address)
            .unwrap()
            .build()
            .await
            .unwrap();
        let authority = Authority {
            state: Arc::clone(&state),
        };
        conn.object_server()
            .at("/org/freedesktop/PolicyKit1/Authority", authority)
            .await
            .unwrap();
        conn.request_name("org.freedesktop.PolicyKit1")
            .await
            .unwrap();
        Self { conn, state }
    }

    /// Change who is allowed.
    pub fn allow(&self, uids: &[u32]) {
        self.state.lock().unwrap().allow = uids.to_vec();
    }

    /// Every check so far.
    pub fn checks(&self) -> Vec<Check> {
        self.state.lock().unwrap().checks.clone()
    }

    /// Leave the bus (and wait until the name is gone).
    pub async fn stop(self) {
        let _ = self.conn.release_name("org.freedesktop.PolicyKit1").await;
        let _ = self.conn.close().await;
    }
}

/// Wait until no polkit authority is on the bus at `address` (a mock that left may take a
/// moment to disappear).
pub async fn wait_until_no_polkit(address: &str) {
    let conn = crate::common::connect(address).await;
    let dbus = DBusProxy::new(&conn).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while dbus
        .name_has_owner(BusName::try_from("org.freedesktop.PolicyKit1").unwrap())
        .await
        .unwrap()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "a polkit is still on the bus"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
