//! Integration tests of medllm-quant against real llama.cpp (the shared release build): synthetic models,
//! LoRA adapters, merging, quantization. Run with `cargo test --release -p medllm-quant`.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;
mod lora_merge;
mod quantize;
mod synth;
