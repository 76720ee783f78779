//! Background tasks of the D-Bus layer: property change signals, clients leaving the bus, and
//! noticing that the bus itself is gone.
//!
//! `PropertiesChanged` for `State`/`ModelId`/`Backend`/`Mode` follows the service's state watch;
//! `ActiveRequests`/`QueueLength` are polled only while requests are in flight, and signalled at
//! most once per `property_interval` (a busy daemon must not flood every desktop on the bus).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use zbus::message::Type as MessageType;
use zbus::object_server::InterfaceRef;
use zbus::{Connection, MatchRule, MessageStream};

use super::daemon::DaemonObject;
use super::registry::Registry;

/// Messages buffered for the departure watcher before the connection applies back-pressure.
const DEPARTURE_QUEUE: usize = 256;

/// Emit `PropertiesChanged` when the state or the request counts change.
pub(crate) async fn publish_properties(
    iface: InterfaceRef<DaemonObject>,
    registry: Arc<Registry>,
    interval: Duration,
) {
    let (service, mut last) = {
        let obj = iface.get().await;
        (obj.service.clone(), obj.counts())
    };
    let mut state = service.subscribe_state();
    let mut last_emit = tokio::time::Instant::now();
    loop {
        let idle = last == (0, 0) && registry.len() == 0;
        tokio::select! {
            changed = state.changed() => {
                if changed.is_err() {
                    return; // the service is gone
                }
                let obj = iface.get().await;
                let em = iface.signal_emitter();
                let r = async {
                    obj.state_changed(em).await?;
                    obj.model_id_changed(em).await?;
                    obj.backend_changed(em).await?;
                    obj.mode_changed(em).await
                }
                .await;
                if let Err(e) = r {
                    tracing::debug!(error = %e, "cannot signal state change");
                }
                continue;
            }
            () = registry.changed.notified(), if idle => {}
            () = tokio::time::sleep(interval), if !idle => {}
        }
        // Rate limit: at most one counts signal per interval.
        tokio::time::sleep_until(last_emit + interval).await;
        let obj = iface.get().await;
        let now = obj.counts();
        if now != last {
            let em = iface.signal_emitter();
            let r = async {
                if now.0 != last.0 {
                    obj.active_requests_changed(em).await?;
                }
                if now.1 != last.1 {
                    obj.queue_length_changed(em).await?;
                }
                Ok::<(), zbus::Error>(())
            }
            .await;
            if let Err(e) = r {
                tracing::debug!(error = %e, "cannot signal request counts");
            }
            last = now;
            last_emit = tokio::time::Instant::now();
        }
    }
}

/// Watch `NameOwnerChanged` for clients leaving the bus and cancel their requests. Returns when
/// the connection to the bus is lost (the stream ends or fails).
pub(crate) async fn watch_departures(
    conn: Connection,
    registry: Arc<Registry>,
) -> zbus::Result<()> {
    let rule = MatchRule::builder()
        .msg_type(MessageType::Signal)
        .sender("org.freedesktop.DBus")?
        .interface("org.freedesktop.DBus")?
        .member("NameOwnerChanged")?
        // new_owner == "": the name was released, for unique names: the client disconnected.
        .arg(2, "")?
        .build();
    let mut stream = MessageStream::for_match_rule(rule, &conn, Some(DEPARTURE_QUEUE)).await?;
    while let Some(msg) = stream.next().await {
        let msg = match msg {
            Ok(m) => m,
            Err(e) => return Err(e),
        };
        let Ok((name, _old, new)) = msg.body().deserialize::<(String, String, String)>() else {
            continue;
        };
        if new.is_empty() && name.starts_with(':') {
            let n = registry.departed(&name);
            if n > 0 {
                tracing::info!(client = %name, requests = n, "client left the bus; cancelling its requests");
            }
        }
    }
    Err(zbus::Error::InputOutput(Arc::new(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "the bus connection closed",
    ))))
}
