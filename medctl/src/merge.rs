//! `medctl merge BASE.gguf ADAPTER.gguf -o MERGED.gguf [--scale S] [--type keep|f16|f32]`: bakes a LoRA
//! adapter into its base model (`W' = W + scale·(alpha/r)·B·A`), for the daemon's merged deployment mode.
//!
//! Like `quantize`, this runs the `medllm-quant` tool (which links ggml; medctl does not) with the same
//! arguments; see [`crate::quantize`] for where the tool is looked for.

use std::ffi::OsString;

use anyhow::Result;

/// Arguments of `medctl merge`: passed through unchanged (`medctl merge --help` shows them).
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    /// `BASE.gguf ADAPTER.gguf -o MERGED.gguf [--scale S] [--type keep|f16|f32] [--threads N]`; `--help`
    /// for details.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    args: Vec<OsString>,
}

/// Runs `medllm-quant merge ARGS...`.
pub fn run(args: &Args) -> Result<()> {
    crate::quantize::exec_tool("merge", &args.args)
}
