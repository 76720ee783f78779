//! The D-Bus face of the daemon: `org.medllm.Daemon1` and its per-request objects.
//!
//! Owns the bus connection, the exported objects, the bus name and the tasks that keep clients
//! informed. Every interface method only translates (identify the caller from the header, parse
//! options strictly) and delegates to [`crate::service::Service`]; error names come from
//! `medllm-api`. It must not talk to the engine directly nor hold request logic.
//!
//! Layout:
//! - `daemon`   — the main object (`Ask`, `StartAsk`, `Status`, `Classify`, properties)
//! - `request`  — per-request objects (`Cancel`, `Tokens`/`Reasoning`/`Finished`) and the
//!   streaming task
//! - `registry` — requests in flight by client (cancel on departure, drain on shutdown)
//! - `caller`   — the caller's identity from the header and the bus
//! - `convert`  — service types ⇄ wire types
//! - `watch`    — property change signals, client departures, bus loss
//! - `admin`    — `org.medllm.Daemon1.Admin` (reload, re-plan, mode, cache, stats)
//! - `polkit`   — authorising callers: polkit, or the `[auth]` fallback rule
//! - `logcontrol` — `org.freedesktop.LogControl1` (`systemctl service-log-level`)
//!
//! Start-up order (see `app`): [`connect`] → [`ensure_name_free`] (before the slow model load)
//! → [`serve`] (export objects) → [`serve_admin`] → [`Server::request_name`] (without replacement) → ready.

mod admin;
mod caller;
mod convert;
mod daemon;
mod logcontrol;
mod polkit;
mod registry;
mod request;
mod score;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use medllm_api::{BUS_NAME, OBJECT_PATH};
use tokio::task::JoinHandle;
use zbus::Connection;
use zbus::fdo::{DBusProxy, RequestNameFlags, RequestNameReply};
use zbus::names::BusName;

use crate::config::{BusChoice, DbusSettings};
use crate::reload::Reloader;
use crate::service::Service;

use self::admin::AdminObject;
use self::daemon::DaemonObject;
use self::logcontrol::LogControl;
use self::polkit::Authority;
use self::registry::Registry;

/// Errors of the D-Bus layer at start-up.
#[derive(Debug, thiserror::Error)]
pub enum DbusError {
    /// The bus could not be reached.
    #[error("cannot connect to {bus}: {source}")]
    Connect {
        /// Which bus.
        bus: String,
        /// Why.
        source: zbus::Error,
    },
    /// Another process owns the name; replacing it is refused on purpose.
    #[error("{BUS_NAME} is already owned on {bus} by {owner}; is another medllmd running?")]
    NameTaken {
        /// Which bus.
        bus: String,
        /// The owner's unique name and pid, as far as the bus tells.
        owner: String,
    },
    /// Any other bus failure.
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
}

/// Connect to the chosen bus.
pub async fn connect(bus: &BusChoice) -> Result<Connection, DbusError> {
    let built = match bus {
        BusChoice::System => Connection::system().await,
        BusChoice::Session => Connection::session().await,
        BusChoice::Address(a) => match zbus::connection::Builder::address(a.as_str()) {
            Ok(b) => b.build().await,
            Err(e) => Err(e),
        },
    };
    built.map_err(|source| DbusError::Connect {
        bus: bus.describe(),
        source,
    })
}

/// Fail early (before loading the model) when another process owns the name.
pub async fn ensure_name_free(conn: &Connection, bus: &BusChoice) -> Result<(), DbusError> {
    let dbus = DBusProxy::new(conn).await?;
    let name = BusName::try_from(BUS_NAME).map_err(zbus::Error::from)?;
    if dbus.name_has_owner(name).await.map_err(zbus::Error::from)? {
        return Err(DbusError::NameTaken {
            bus: bus.describe(),
            owner: describe_owner(&dbus).await,
        });
    }
    Ok(())
}

/// "`:1.5` (pid 123)" for the current owner of the name.
async fn describe_owner(dbus: &DBusProxy<'_>) -> String {
    let Ok(name) = BusName::try_from(BUS_NAME) else {
        return "another connection".into();
    };
    let Ok(owner) = dbus.get_name_owner(name).await else {
        return "another connection".into();
    };
    let pid = dbus
        .get_connection_unix_process_id(BusName::Unique(owner.clone().into_inner()))
        .await
        .map(|p| format!(" (pid {p})"))
        .unwrap_or_default();
    format!("{owner}{pid}")
}

/// The exported service: objects, background tasks, and the requests in flight.
#[derive(Debug)]
pub struct Server {
    conn: Connection,
    bus: BusChoice,
    registry: Arc<Registry>,
    publisher: JoinHandle<()>,
    departures: JoinHandle<zbus::Result<()>>,
}

/// Export `/org/medllm/Daemon1` on `conn` and start the background tasks. The name is not taken
/// yet: call [`Server::request_name`] when ready to serve.
pub async fn serve(
    conn: &Connection,
    bus: &BusChoice,
    service: Service,
    settings: &DbusSettings,
) -> Result<Server, DbusError> {
    let registry = Arc::new(Registry::default());
    let object = DaemonObject {
        service,
        registry: Arc::clone(&registry),
        tokens_coalesce: settings.tokens_coalesce,
        auth: Arc::new(Authority::new(conn, settings.auth.clone()).await?),
    };
    conn.object_server().at(OBJECT_PATH, object).await?;
    let iface = conn
        .object_server()
        .interface::<_, DaemonObject>(OBJECT_PATH)
        .await?;
    let publisher = tokio::spawn(watch::publish_properties(
        iface,
        Arc::clone(&registry),
        settings.property_interval,
    ));
    let departures = tokio::spawn(watch::watch_departures(conn.clone(), Arc::clone(&registry)));
    Ok(Server {
        conn: conn.clone(),
        bus: bus.clone(),
        registry,
        publisher,
        departures,
    })
}

/// Export the admin interface (`org.medllm.Daemon1.Admin` beside the main interface) and
/// `org.freedesktop.LogControl1`. Call after [`serve`], before taking the name.
pub async fn serve_admin(
    conn: &Connection,
    service: Service,
    reloader: Reloader,
    settings: &DbusSettings,
) -> Result<(), DbusError> {
    let admin = AdminObject {
        service,
        reloader,
        auth: Arc::new(Authority::new(conn, settings.auth.clone()).await?),
    };
    conn.object_server().at(OBJECT_PATH, admin).await?;
    let log = LogControl {
        dbus: DBusProxy::new(conn).await?,
    };
    conn.object_server()
        .at("/org/freedesktop/LogControl1", log)
        .await?;
    Ok(())
}

impl Server {
    /// Take `org.medllm.Daemon1` without queueing and without allowing replacement: a second
    /// daemon fails here instead of waiting, and nobody can take the name from us.
    pub async fn request_name(&self) -> Result<(), DbusError> {
        let reply = self
            .conn
            .request_name_with_flags(BUS_NAME, RequestNameFlags::DoNotQueue.into())
            .await;
        match reply {
            Ok(RequestNameReply::PrimaryOwner | RequestNameReply::AlreadyOwner) => Ok(()),
            Ok(RequestNameReply::Exists | RequestNameReply::InQueue)
            | Err(zbus::Error::NameTaken) => {
                let dbus = DBusProxy::new(&self.conn).await?;
                Err(DbusError::NameTaken {
                    bus: self.bus.describe(),
                    owner: describe_owner(&dbus).await,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The connection (for tests and tools).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Requests in flight.
    pub fn requests_in_flight(&self) -> usize {
        self.registry.len()
    }

    /// Resolves when the connection to the bus is lost, with the reason.
    pub async fn bus_lost(&mut self) -> String {
        match (&mut self.departures).await {
            Ok(Ok(())) => "the bus connection closed".into(),
            Ok(Err(e)) => e.to_string(),
            Err(e) => format!("the bus watcher stopped: {e}"),
        }
    }

    /// Stop serving: give up the name (new clients see no owner), let answers in progress finish
    /// for up to `grace`, cancel the rest (their clients get `Finished` with `Cancelled`), and
    /// stop the background tasks.
    pub async fn shutdown(self, grace: Duration) {
        if let Err(e) = self.conn.release_name(BUS_NAME).await {
            tracing::debug!(error = %e, "cannot release the bus name");
        }
        let in_flight = self.registry.len();
        if in_flight > 0 {
            tracing::info!(
                requests = in_flight,
                grace_s = grace.as_secs(),
                "waiting for answers in progress"
            );
            if tokio::time::timeout(grace, self.registry.drained())
                .await
                .is_err()
            {
                let n = self.registry.cancel_all();
                tracing::info!(requests = n, "cancelling answers still in progress");
                let _ = tokio::time::timeout(Duration::from_secs(2), self.registry.drained()).await;
            }
        }
        self.publisher.abort();
        self.departures.abort();
    }
}
