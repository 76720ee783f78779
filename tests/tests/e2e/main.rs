//! End-to-end tests of medllmd on a private D-Bus with the real default model.
//!
//! Run: `cargo build --release --workspace --bins && cargo test --release -p medllm-tests`.
//! Needs `dbus-daemon` (apt `dbus`), `busctl` (apt `systemd`), `gdbus` (apt `libglib2.0-bin`)
//! and `models/gemma-3-270m-q4_k_m.gguf` (`scripts/setup-models.sh`). Most tests share one
//! daemon (one model load); they run one at a time because they read its counters.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod admin;
mod admin_polkit;
mod api;
mod ask_polkit;
mod cache;
mod common;
mod eval;
mod foreign;
mod introspection;
mod lifecycle;
mod medctl;
mod mode;
mod package;
mod policy;
mod policy_env;
mod startup;
mod validation;
