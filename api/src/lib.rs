//! The medllm D-Bus contract, defined once for the daemon (`medllmd`) and its clients (`medctl`,
//! desktop apps written in Rust, the end-to-end tests).
//!
//! The daemon owns `org.medllm.Daemon1` on the system bus (session bus for development) and
//! serves `/org/medllm/Daemon1`. A desktop app asks a question with `Ask` (blocking) or
//! `StartAsk` (streaming through a per-request object whose signals are unicast to the caller).
//! `docs/dbus-api.md` documents every member; `org.medllm.Daemon1.xml` in this crate is the
//! introspection data of the running service and a test keeps the two in step.
//!
//! ```no_run
//! use medllm_api::{AskOptions, Daemon1Proxy};
//! # async fn demo() -> Result<(), medllm_api::Error> {
//! let conn = zbus::Connection::system().await?;
//! let daemon = Daemon1Proxy::new(&conn).await?;
//! let opts = AskOptions { max_tokens: Some(128), ..Default::default() };
//! let (answer, details) = daemon.ask("What is the adult dose of paracetamol?", &opts.to_dict()).await?;
//! println!("{answer}\n{:?}", medllm_api::AnswerDetails::from_dict(&details));
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`names`]: bus name, object paths, interface names, request paths (`request_path`).
//! - [`error`]: [`Error`], the `org.medllm.Daemon1.Error.*` names as one `zbus::DBusError` enum.
//! - [`options`]: option keys and [`AskOptions`] (strict parsing for the daemon).
//! - [`details`]: answer detail keys and [`AnswerDetails`]; the `Finished` status values.
//! - [`status`]: `Status()` keys and [`DaemonStatus`]; [`classify`]: `Classify()` keys.
//! - [`score`]: `Score()` options and reply ([`ScoreOptions`], [`ScoreResult`]), for evaluation.
//! - [`dict`]: `a{sv}` helpers ([`Dict`]).
//! - [`proxy`]: [`Daemon1Proxy`] and [`RequestProxy`].
//! - [`events`]: a request's signals as one ordered stream ([`RequestEvent`]).
//! - [`admin`]: the admin interface ([`AdminProxy`]), its polkit actions and reply keys.
//!
//! This crate must not depend on llama.cpp or on the daemon: `medctl` links it.
#![deny(missing_docs)]

pub mod admin;
pub mod classify;
pub mod details;
pub mod dict;
pub mod error;
pub mod events;
pub mod names;
pub mod options;
pub mod proxy;
pub mod score;
pub mod status;

pub use admin::{ACTION_ASK, ACTION_MANAGE, AdminProxy};
pub use classify::ClassifyResult;
pub use details::{AnswerDetails, STATUS_OK};
pub use dict::Dict;
pub use error::{ERROR_NAMES, Error};
pub use events::{Finished, RequestEvent, request_events};
pub use names::{
    ADMIN_INTERFACE, BUS_NAME, ERROR_PREFIX, INTERFACE, OBJECT_PATH, REQUEST_INTERFACE,
    REQUEST_PATH_PREFIX, escape_sender, request_path, validate_handle_token,
};
pub use options::AskOptions;
pub use proxy::{Daemon1Proxy, RequestProxy};
pub use score::{ScoreOptions, ScoreResult};
pub use status::DaemonStatus;

/// The introspection XML of both interfaces, as shipped (`api/org.medllm.Daemon1.xml`).
pub const INTROSPECTION_XML: &str = include_str!("../org.medllm.Daemon1.xml");
