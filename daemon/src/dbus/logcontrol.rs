//! `org.freedesktop.LogControl1` at `/org/freedesktop/LogControl1`: what `systemctl
//! service-log-level medllmd debug` and `systemctl service-log-target medllmd console` talk to
//! (systemd finds us through the unit's `BusName=`).
//!
//! Setting is for root only: the D-Bus policy allows nobody else to set properties, and the
//! setters check the caller's uid again (the daemon's own uid is accepted too, for a development
//! daemon on a session bus). The levels are syslog's; `debug` raises only our own crate (see
//! `crate::logging`).

use zbus::fdo::{self, DBusProxy};
use zbus::interface;
use zbus::message::Header;
use zbus::names::BusName;

use crate::logging::{self, Target};

/// The LogControl1 object.
#[derive(Debug)]
pub(crate) struct LogControl {
    pub(crate) dbus: DBusProxy<'static>,
}

#[interface(name = "org.freedesktop.LogControl1")]
impl LogControl {
    /// The syslog level (`err`, `warning`, `info`, `debug`, …) of the daemon's own messages.
    #[zbus(property)]
    async fn log_level(&self) -> String {
        logging::get()
            .map_or("info", |l| logging::syslog_level(l.max_level()))
            .to_string()
    }

    #[zbus(property)]
    async fn set_log_level(
        &mut self,
        level: String,
        #[zbus(header)] header: Option<Header<'_>>,
    ) -> fdo::Result<()> {
        self.check_caller(header.as_ref()).await?;
        let l = logging::get()
            .ok_or_else(|| fdo::Error::NotSupported("logging is not set up".into()))?;
        let filter = logging::filter_for_syslog_level(&level).ok_or_else(|| {
            fdo::Error::InvalidArgs(format!(
                "unknown level {level:?} (emerg, alert, crit, err, warning, notice, info, debug)"
            ))
        })?;
        l.set_filter(filter).map_err(fdo::Error::Failed)
    }

    /// Where logs go: `journal`, `console` or `null` (`auto` when setting: the start-up choice).
    #[zbus(property)]
    async fn log_target(&self) -> String {
        logging::get()
            .map_or("console", |l| l.target().as_str())
            .to_string()
    }

    #[zbus(property)]
    async fn set_log_target(
        &mut self,
        target: String,
        #[zbus(header)] header: Option<Header<'_>>,
    ) -> fdo::Result<()> {
        self.check_caller(header.as_ref()).await?;
        let l = logging::get()
            .ok_or_else(|| fdo::Error::NotSupported("logging is not set up".into()))?;
        let t = match target.as_str() {
            "auto" => None,
            "journal" | "journal-or-kmsg" => Some(Target::Journal),
            "console" => Some(Target::Console),
            "null" => Some(Target::Null),
            other => {
                return Err(fdo::Error::InvalidArgs(format!(
                    "unsupported target {other:?} (auto, journal, console, null)"
                )));
            }
        };
        l.set_target(t).map_err(fdo::Error::Failed)
    }

    /// The journal's `SYSLOG_IDENTIFIER` of our messages.
    #[zbus(property(emits_changed_signal = "const"))]
    async fn syslog_identifier(&self) -> String {
        logging::SYSLOG_IDENTIFIER.to_string()
    }
}

impl LogControl {
    /// root (or the daemon's own user) only.
    async fn check_caller(&self, header: Option<&Header<'_>>) -> fdo::Result<()> {
        let sender = header
            .and_then(Header::sender)
            .ok_or_else(|| fdo::Error::AccessDenied("the message has no sender".into()))?;
        let uid = self
            .dbus
            .get_connection_unix_user(BusName::Unique(sender.clone()))
            .await?;
        let own = nix::unistd::getuid().as_raw();
        if uid == 0 || uid == own {
            Ok(())
        } else {
            Err(fdo::Error::AccessDenied(
                "only root may change the log settings".into(),
            ))
        }
    }
}
