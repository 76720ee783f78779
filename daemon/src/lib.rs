//! medllmd: the medllm daemon, as a library so tests and tools can drive its parts.
//!
//! # Layout
//! - [`engine`] — the llama.cpp thread, continuous batching, template KV reuse, streaming.
//! - [`service`] — the transport-independent request path (validate, classify, cache, engine).
//!
//! Request path (see `docs/architecture.md`): D-Bus → validate → classify → cache → scheduler →
//! engine thread → stream back → cache store.
#![deny(missing_docs)]

pub mod engine;
pub mod service;
