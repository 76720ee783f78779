//! Integration tests of medllm-cache (one test binary; modules by concern).
//!
//! Real parts: real sled files in temp dirs, the real MiniLM model from `models/` (tests that need it print
//! a message and skip when it is missing), the real eval pairs from `../shared/eval/`.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod acceptance;
mod common;
mod crash;
mod golden;
mod guards_prop;
mod mutations;
mod safety;
mod storage;
