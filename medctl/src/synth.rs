//! `medctl synth -o OUT.gguf [--from-header MODEL.gguf [--layers N]] [...]`: writes a synthetic model — a
//! small llama model for tests, or a real model's exact layout (e.g. the 7B header fixture) with valid
//! synthetic blocks, to measure speed and memory at real shapes without the real weights.
//! (Synthetic LoRA adapters are `medllm-quant lora`; the daemon never needs them.)
//!
//! Like `quantize`, this runs the `medllm-quant` tool (which links ggml; medctl does not) with the same
//! arguments; see [`crate::quantize`] for where the tool is looked for.

use std::ffi::OsString;

use anyhow::Result;

/// Arguments of `medctl synth`: passed through unchanged (`medctl synth --help` shows them).
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    /// `-o OUT.gguf [--from-header MODEL.gguf] [--layers N] [--embd N] [--type T] [--seed N] ...`; `--help`
    /// for details.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    args: Vec<OsString>,
}

/// Runs `medllm-quant synth ARGS...`.
pub fn run(args: &Args) -> Result<()> {
    crate::quantize::exec_tool("synth", &args.args)
}
