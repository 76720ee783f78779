//! medllmd: the medllm daemon, as a library so tests and tools can drive its parts.
//!
//! # Layout
//! - [`engine`] — the llama.cpp thread, continuous batching, template KV reuse, streaming.
//! - [`service`] — the transport-independent request path (validate, classify, cache, engine).
//! - [`dbus`] — `org.medllm.Daemon1` and per-request objects; translate and delegate to `service`.
//! - [`config`] — `medllmd.toml` raw → validated, command-line overrides.
//! - [`planning`] — start-up planning: host probe, saved plan reuse, memory re-checks.
//! - [`model_hash`] — the model file's sha256, cached by path, size and mtime.
//! - [`app`] — start-up wiring and the daemon's life (signals, bus loss, shutdown).
//! - [`reload`] — replacing the engine while serving (reload, re-plan, mode switch).
//! - [`deploy`] — deployment mode (base, LoRA adapters per category, merged model): `[mode]`, resolution.
//! - [`watchdog`] — systemd watchdog pings driven by the engine's heartbeat.
//! - [`logging`] — journal or stderr, filter and target changeable at run time.
//!
//! Request path (see `docs/architecture.md`): D-Bus → validate → classify → cache → scheduler →
//! engine thread → stream back → cache store.
#![deny(missing_docs)]

pub mod app;
pub mod config;
pub mod dbus;
pub mod deploy;
pub mod engine;
pub mod logging;
pub mod model_hash;
pub mod planning;
pub mod reload;
pub mod replan;
pub mod service;
pub mod watchdog;
