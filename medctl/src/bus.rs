//! Reaching the daemon: which bus, connecting, and turning D-Bus failures into messages an admin
//! can act on ("medllmd is not running … start it with …", "access denied … group …").
//!
//! Owns the `--session` / `--bus-address` flags shared by every daemon subcommand. Must not
//! print anything itself: it returns errors, `main` prints them.

use anyhow::{Context, Result, anyhow};
use medllm_api::{BUS_NAME, Daemon1Proxy, Error};
use zbus::Connection;
use zbus::fdo::DBusProxy;
use zbus::names::BusName;

/// Which bus the daemon is on (global flags).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BusArgs {
    /// Use the session bus (a daemon started with `medllmd --session`) instead of the system bus.
    #[arg(long, global = true, conflicts_with = "bus_address")]
    pub session: bool,

    /// Use the bus at this D-Bus address (e.g. `unix:path=/tmp/test-bus`; used by tests).
    #[arg(long, global = true, value_name = "ADDR")]
    pub bus_address: Option<String>,
}

impl BusArgs {
    /// "the system bus", "the session bus" or "the bus at ADDR".
    pub fn describe(&self) -> String {
        match (&self.bus_address, self.session) {
            (Some(a), _) => format!("the bus at {a}"),
            (None, true) => "the session bus".into(),
            (None, false) => "the system bus".into(),
        }
    }

    /// How to start the daemon for this bus.
    fn start_hint(&self) -> String {
        match (&self.bus_address, self.session) {
            (Some(a), _) => format!("medllmd --bus-address '{a}'"),
            (None, true) => "medllmd --session".into(),
            (None, false) => "systemctl start medllmd".into(),
        }
    }

    /// The message for "nobody owns the name".
    pub fn not_running(&self) -> anyhow::Error {
        anyhow!(
            "medllmd is not running (no owner for {BUS_NAME} on {}); start it with: {}",
            self.describe(),
            self.start_hint()
        )
    }

    /// Connect to the bus.
    pub async fn connect(&self) -> Result<Connection> {
        let built = match &self.bus_address {
            Some(a) => {
                zbus::connection::Builder::address(a.as_str())
                    .with_context(|| format!("bad bus address '{a}'"))?
                    .build()
                    .await
            }
            None if self.session => Connection::session().await,
            None => Connection::system().await,
        };
        built.with_context(|| format!("cannot connect to {}", self.describe()))
    }

    /// Connect and make sure the daemon is there (running, or activatable by the bus), so the
    /// first call fails with a clear message instead of a D-Bus error name.
    pub async fn daemon(&self) -> Result<(Connection, Daemon1Proxy<'static>)> {
        let conn = self.connect().await?;
        let dbus = DBusProxy::new(&conn)
            .await
            .context("cannot talk to the bus")?;
        let name = BusName::try_from(BUS_NAME).context("bus name")?;
        let running = dbus
            .name_has_owner(name)
            .await
            .context("cannot talk to the bus")?;
        if !running {
            let activatable = dbus
                .list_activatable_names()
                .await
                .map(|names| names.iter().any(|n| n.as_str() == BUS_NAME))
                .unwrap_or(false);
            if !activatable {
                return Err(self.not_running());
            }
        }
        let proxy = Daemon1Proxy::new(&conn)
            .await
            .context("cannot create the daemon proxy")?;
        Ok((conn, proxy))
    }

    /// Explain a failed call: our typed errors keep their name; bus refusals get advice.
    pub fn explain(&self, e: Error) -> anyhow::Error {
        let dbus_name = e.dbus_name().unwrap_or_default();
        match dbus_name.as_str() {
            "org.freedesktop.DBus.Error.ServiceUnknown"
            | "org.freedesktop.DBus.Error.NameHasNoOwner" => self.not_running(),
            "org.freedesktop.DBus.Error.AccessDenied" => anyhow!(
                "access denied by the D-Bus policy on {} ({}); ask an administrator to add you to \
                 the 'medllm-clients' group",
                self.describe(),
                e.message()
            ),
            "org.freedesktop.DBus.Error.NoReply" | "org.freedesktop.DBus.Error.Timeout" => {
                anyhow!("medllmd did not answer in time ({})", e.message())
            }
            _ => match e.short_name() {
                Some("NotAuthorized") => anyhow!("not authorized: {}", e.message()),
                Some("NotReady") => anyhow!("medllmd is not ready yet: {}", e.message()),
                Some("Busy") => anyhow!("medllmd is busy, try again shortly: {}", e.message()),
                Some(short) => anyhow!("{short}: {}", e.message()),
                None if !dbus_name.is_empty() => anyhow!("{dbus_name}: {}", e.message()),
                None => anyhow!("D-Bus error: {}", e.message()),
            },
        }
    }
}

/// Run a future on a small single-threaded runtime (medctl does one thing at a time).
pub fn block_on<F: std::future::Future<Output = Result<()>>>(f: F) -> Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(f)
}
