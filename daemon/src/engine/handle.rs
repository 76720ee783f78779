//! The tokio side of the engine: submit requests, read their streams, cancel, ask for stats.
//!
//! Owns the bounded command channel into the engine thread and the admission semaphore. Every
//! call here is non-blocking: when the engine is saturated, `submit` says `Busy` at once instead
//! of waiting (a clinic app must be able to tell the user "try again" rather than hang).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use super::types::{EngineError, EngineStats, Event, GenerateRequest};

/// Identifies a request inside the engine.
pub type RequestId = u64;

/// Events buffered per request before the engine starts coalescing tokens into larger chunks.
pub(crate) const EVENT_CHANNEL_CAPACITY: usize = 32;

/// A request on its way into the engine thread.
#[derive(Debug)]
pub(crate) struct Submission {
    pub id: RequestId,
    pub req: GenerateRequest,
    pub tx: mpsc::Sender<Event>,
    pub cancel: Arc<AtomicBool>,
    /// Held for the request's whole life; dropping it frees a place in the queue.
    pub permit: OwnedSemaphorePermit,
    pub submitted: Instant,
}

/// Messages into the engine thread.
#[derive(Debug)]
pub(crate) enum Command {
    Submit(Box<Submission>),
    /// Wake the engine so it notices a cancel flag promptly.
    Cancel(RequestId),
    Stats(oneshot::Sender<EngineStats>),
    Shutdown,
}

/// Counters the engine publishes for cheap reads (D-Bus properties, watchdog).
#[derive(Debug, Default)]
pub struct SharedCounters {
    /// Requests waiting for a slot.
    pub queued: AtomicUsize,
    /// Requests prefilling or generating.
    pub active: AtomicUsize,
    /// Milliseconds since the engine started at its last loop iteration; the watchdog compares it
    /// with the clock to tell a busy engine from a hung one.
    pub heartbeat_ms: AtomicU64,
}

/// Cloneable handle to a running engine.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    pub(crate) cmd: SyncSender<Command>,
    pub(crate) admission: Arc<Semaphore>,
    pub(crate) counters: Arc<SharedCounters>,
    pub(crate) next_id: Arc<AtomicU64>,
    pub(crate) n_templates: usize,
    pub(crate) started: Instant,
}

impl EngineHandle {
    /// Queue a request. Fails fast with `Busy` when `max_parallel + max_queue` requests are
    /// already admitted, and with `InvalidArgument` for bad parameters.
    pub fn submit(&self, req: GenerateRequest) -> Result<RequestStream, EngineError> {
        req.sampling.validate()?;
        if req.template >= self.n_templates {
            return Err(EngineError::InvalidArgument(format!(
                "template {} does not exist (have {})",
                req.template, self.n_templates
            )));
        }
        if req.question.trim().is_empty() {
            return Err(EngineError::InvalidArgument("the question is empty".into()));
        }
        let permit = Arc::clone(&self.admission)
            .try_acquire_owned()
            .map_err(|_| EngineError::Busy {
                queued: self.counters.queued.load(Ordering::Relaxed),
            })?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
        let cancel = Arc::new(AtomicBool::new(false));
        let sub = Submission {
            id,
            req,
            tx,
            cancel: Arc::clone(&cancel),
            permit,
            submitted: Instant::now(),
        };
        match self.cmd.try_send(Command::Submit(Box::new(sub))) {
            Ok(()) => Ok(RequestStream {
                id,
                rx,
                cancel,
                cmd: self.cmd.clone(),
                finished: false,
            }),
            Err(TrySendError::Full(_)) => Err(EngineError::Busy {
                queued: self.counters.queued.load(Ordering::Relaxed),
            }),
            Err(TrySendError::Disconnected(_)) => Err(EngineError::NotRunning),
        }
    }

    /// Engine-wide counters (asks the engine thread; answers within one step).
    pub async fn stats(&self) -> Result<EngineStats, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .try_send(Command::Stats(tx))
            .map_err(|_| EngineError::NotRunning)?;
        rx.await.map_err(|_| EngineError::NotRunning)
    }

    /// Requests waiting for a slot (no round trip).
    pub fn queued(&self) -> usize {
        self.counters.queued.load(Ordering::Relaxed)
    }

    /// Requests being served (no round trip).
    pub fn active(&self) -> usize {
        self.counters.active.load(Ordering::Relaxed)
    }

    /// Time since the engine loop last went round; large values mean it is stuck in llama.cpp.
    pub fn heartbeat_age(&self) -> std::time::Duration {
        let beat = self.counters.heartbeat_ms.load(Ordering::Relaxed);
        let now = self.started.elapsed().as_millis() as u64;
        std::time::Duration::from_millis(now.saturating_sub(beat))
    }

    /// Number of templates (system prompts) the engine was started with.
    pub fn n_templates(&self) -> usize {
        self.n_templates
    }

    /// Ask the engine thread to stop; queued and active requests end with `NotRunning`.
    pub fn shutdown(&self) {
        // A full channel means the engine is alive and will see the sender drop later anyway.
        let _ = self.cmd.try_send(Command::Shutdown);
    }
}

/// The stream of one request. Dropping it cancels the request (the engine frees its sequence
/// within one step).
#[derive(Debug)]
pub struct RequestStream {
    id: RequestId,
    rx: mpsc::Receiver<Event>,
    cancel: Arc<AtomicBool>,
    cmd: SyncSender<Command>,
    finished: bool,
}

impl RequestStream {
    /// The engine's id for this request.
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// Next event; `None` after `Done`/`Error` has been returned.
    pub async fn next(&mut self) -> Option<Event> {
        if self.finished {
            return None;
        }
        let ev = self.rx.recv().await;
        match &ev {
            Some(Event::Done(_)) | Some(Event::Error(_)) | None => self.finished = true,
            Some(Event::Token(_)) => {}
        }
        // A closed channel without a final event means the engine died mid-request.
        Some(ev.unwrap_or(Event::Error(EngineError::NotRunning)))
    }

    /// A handle that can cancel this request from elsewhere (e.g. a D-Bus `Cancel` call).
    pub fn canceller(&self) -> Canceller {
        Canceller {
            id: self.id,
            flag: Arc::clone(&self.cancel),
            cmd: self.cmd.clone(),
        }
    }

    /// Cancel; the stream then ends with `Error(Cancelled)` unless it already finished.
    pub fn cancel(&self) {
        self.canceller().cancel();
    }
}

impl Drop for RequestStream {
    fn drop(&mut self) {
        if !self.finished {
            self.cancel();
        }
    }
}

/// Cancels one request; cheap to clone and keep.
#[derive(Debug, Clone)]
pub struct Canceller {
    id: RequestId,
    flag: Arc<AtomicBool>,
    cmd: SyncSender<Command>,
}

impl Canceller {
    /// Set the flag and wake the engine. Idempotent.
    pub fn cancel(&self) {
        if !self.flag.swap(true, Ordering::SeqCst) {
            // If the channel is full the engine is busy and checks flags every step anyway.
            let _ = self.cmd.try_send(Command::Cancel(self.id));
        }
    }
}
