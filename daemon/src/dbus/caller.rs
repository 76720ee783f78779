//! Who is calling: the sender's unique name from the message header (set by the bus, so it
//! cannot be forged) and its uid/pid from the bus daemon (`GetConnectionCredentials`), never from
//! anything in the message body.

use medllm_api::Error;
use zbus::fdo::DBusProxy;
use zbus::message::Header;
use zbus::names::BusName;

use crate::service::Caller;

/// Identify the sender of `header`.
///
/// Fails with `Cancelled` when the client has already left the bus (nobody to answer), and with
/// `NotAuthorized` when the message has no sender (a peer-to-peer connection, which this
/// service does not accept).
pub(crate) async fn identify(dbus: &DBusProxy<'_>, header: &Header<'_>) -> Result<Caller, Error> {
    let sender = header
        .sender()
        .ok_or_else(|| Error::NotAuthorized("the message has no sender".into()))?;
    let unique_name = sender.to_string();
    match dbus
        .get_connection_credentials(BusName::Unique(sender.clone()))
        .await
    {
        Ok(creds) => Ok(Caller {
            unique_name,
            uid: creds.unix_user_id(),
            pid: creds.process_id(),
        }),
        Err(zbus::fdo::Error::NameHasNoOwner(_)) => Err(Error::Cancelled(format!(
            "client {unique_name} left the bus before its request started"
        ))),
        Err(e) => {
            // The bus could not tell (unusual bus implementation): serve without uid/pid; the
            // per-caller cap still works on the unique name.
            tracing::debug!(caller = %unique_name, error = %e, "no credentials for caller");
            Ok(Caller {
                unique_name,
                uid: None,
                pid: None,
            })
        }
    }
}
