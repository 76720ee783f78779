//! The gguf crate's one integration-test binary.
//!
//! - `bytes`: a hand-assembler for GGUF byte buffers (valid and broken).
//! - `errors`: every parse error the reader can report, from hand-built buffers, with offsets.
//! - `real_files`: the figures of the 7B header fixture and the default model.
//! - `roundtrip`: `write(read(x)) == x` on real headers, and streaming new files.
//! - `ggml_table`: the type and file-type tables against the vendored llama.cpp C source.
//! - `regression`: inputs the fuzzer found, kept as files under `tests/fixtures/fuzz/`.

// Tests may unwrap (house rule); the workspace lint is for library code.
#![allow(clippy::unwrap_used)]

mod bytes;
mod errors;
mod ggml_table;
mod real_files;
mod regression;
mod roundtrip;
