//! Requests in flight on the bus, by client: so that a client that leaves has its requests
//! cancelled, `Cancel` finds its request, and shutdown can drain or cancel everything.
//!
//! Owns only bookkeeping (who, which path, a cancel switch). It does not talk to the bus or the
//! service. Every request holds a [`Ticket`]; dropping the ticket removes the entry, so the
//! registry can never keep a finished request.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{Notify, watch};
use zbus::zvariant::OwnedObjectPath;

/// Unique names of clients that left, remembered so a request that raced with the departure is
/// refused (unique names are never reused, so this is exact). Bounded.
const DEPARTED_MEMORY: usize = 4096;

/// One request in flight.
#[derive(Debug)]
struct Entry {
    owner: String,
    path: Option<OwnedObjectPath>,
    cancel: watch::Sender<bool>,
    /// The final signal is on its way: `Cancel` now answers `NoSuchRequest`.
    finished: bool,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<u64, Entry>,
    paths: HashSet<OwnedObjectPath>,
    departed: HashSet<String>,
    departed_order: VecDeque<String>,
}

/// The registry; shared by the interfaces and the watcher tasks.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    state: Mutex<State>,
    next_id: AtomicU64,
    next_token: AtomicU64,
    /// Woken whenever a request is added or removed (property publisher, shutdown drain).
    pub(crate) changed: Notify,
}

/// Why a request could not be registered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RegisterError {
    /// The client already left the bus.
    Departed,
    /// The path (client + handle_token) is in use by another request of the same client.
    PathInUse,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain data behind; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Register a request of `owner`, optionally with its object path.
    pub(crate) fn register(
        self: &Arc<Self>,
        owner: &str,
        path: Option<OwnedObjectPath>,
    ) -> Result<Ticket, RegisterError> {
        let (tx, rx) = watch::channel(false);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        {
            let mut st = self.lock();
            if st.departed.contains(owner) {
                return Err(RegisterError::Departed);
            }
            if let Some(p) = &path {
                if !st.paths.insert(p.clone()) {
                    return Err(RegisterError::PathInUse);
                }
            }
            st.entries.insert(
                id,
                Entry {
                    owner: owner.to_string(),
                    path,
                    cancel: tx,
                    finished: false,
                },
            );
        }
        self.changed.notify_waiters();
        self.changed.notify_one();
        Ok(Ticket {
            id,
            registry: Arc::clone(self),
            cancelled: rx,
        })
    }

    /// A number for a daemon-chosen request path (`r<n>`).
    pub(crate) fn fresh_token(&self) -> u64 {
        self.next_token.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Whether `path` is taken by a request in flight.
    pub(crate) fn path_in_use(&self, path: &OwnedObjectPath) -> bool {
        self.lock().paths.contains(path)
    }

    /// Cancel request `id` if `caller` owns it. `Ok(false)`: no such request (finished).
    pub(crate) fn cancel_owned(&self, id: u64, caller: &str) -> Result<bool, ()> {
        let st = self.lock();
        match st.entries.get(&id) {
            None => Ok(false),
            Some(e) if e.finished => Ok(false),
            Some(e) if e.owner != caller => Err(()),
            Some(e) => {
                let _ = e.cancel.send(true);
                Ok(true)
            }
        }
    }

    /// A client left the bus: cancel its requests and refuse new ones. Returns how many.
    pub(crate) fn departed(&self, owner: &str) -> usize {
        let mut st = self.lock();
        if st.departed.insert(owner.to_string()) {
            st.departed_order.push_back(owner.to_string());
            if st.departed_order.len() > DEPARTED_MEMORY {
                if let Some(old) = st.departed_order.pop_front() {
                    st.departed.remove(&old);
                }
            }
        }
        let mut n = 0;
        for e in st.entries.values().filter(|e| e.owner == owner) {
            let _ = e.cancel.send(true);
            n += 1;
        }
        n
    }

    /// Cancel everything (shutdown).
    pub(crate) fn cancel_all(&self) -> usize {
        let st = self.lock();
        for e in st.entries.values() {
            let _ = e.cancel.send(true);
        }
        st.entries.len()
    }

    /// Requests in flight.
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Wait until no request is in flight.
    pub(crate) async fn drained(&self) {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.len() == 0 {
                return;
            }
            notified.await;
        }
    }

    fn remove(&self, id: u64) {
        {
            let mut st = self.lock();
            if let Some(e) = st.entries.remove(&id) {
                if let Some(p) = e.path {
                    st.paths.remove(&p);
                }
            }
        }
        self.changed.notify_waiters();
    }
}

/// A request's place in the registry; removed on drop.
#[derive(Debug)]
pub(crate) struct Ticket {
    id: u64,
    registry: Arc<Registry>,
    cancelled: watch::Receiver<bool>,
}

impl Ticket {
    /// The request has ended (its `Finished` is about to be sent); cancelling is moot.
    pub(crate) fn mark_finished(&self) {
        let mut st = self.registry.lock();
        if let Some(e) = st.entries.get_mut(&self.id) {
            e.finished = true;
        }
    }

    /// The registry's id for this request (also used in logs).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Resolves once the request is cancelled (by its client, departure or shutdown).
    pub(crate) async fn cancelled(&mut self) {
        // An error means the sender is gone, which only happens after removal: treat as cancelled.
        let _ = self.cancelled.wait_for(|c| *c).await;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.registry.remove(self.id);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn path(s: &str) -> OwnedObjectPath {
        OwnedObjectPath::try_from(s).unwrap()
    }

    #[tokio::test]
    async fn departure_cancels_and_blocks_late_requests() {
        let r = Arc::new(Registry::default());
        let mut a = r.register(":1.5", Some(path("/r/1_5/a"))).unwrap();
        let _other = r.register(":1.6", None).unwrap();
        assert_eq!(r.departed(":1.5"), 1);
        a.cancelled().await; // resolves
        assert_eq!(
            r.register(":1.5", None).unwrap_err(),
            RegisterError::Departed
        );
        assert!(r.register(":1.6", None).is_ok());
    }

    #[tokio::test]
    async fn paths_are_unique_until_the_ticket_drops() {
        let r = Arc::new(Registry::default());
        let t = r.register(":1.5", Some(path("/r/1_5/a"))).unwrap();
        assert_eq!(
            r.register(":1.5", Some(path("/r/1_5/a"))).unwrap_err(),
            RegisterError::PathInUse
        );
        drop(t);
        assert_eq!(r.len(), 0);
        assert!(r.register(":1.5", Some(path("/r/1_5/a"))).is_ok());
    }

    #[tokio::test]
    async fn only_the_owner_cancels() {
        let r = Arc::new(Registry::default());
        let t = r.register(":1.5", None).unwrap();
        assert_eq!(r.cancel_owned(t.id(), ":1.9"), Err(()));
        assert_eq!(r.cancel_owned(t.id(), ":1.5"), Ok(true));
        let id = t.id();
        drop(t);
        assert_eq!(r.cancel_owned(id, ":1.5"), Ok(false));
        r.drained().await;
    }
}
