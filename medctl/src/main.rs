//! `medctl`, the medllm administration tool.
//!
//! Each subcommand lives in its own module and exposes `Args` (its clap arguments) and `run(args)`;
//! `main` only parses and dispatches, and turns any error into one line on stderr and exit code 1.
//! medctl never links llama.cpp: model files are read with `medllm-gguf`, the daemon is reached over D-Bus.

mod inspect;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// medllm administration tool.
#[derive(Debug, Parser)]
#[command(name = "medctl", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands; add new ones here, one module each.
#[derive(Debug, Subcommand)]
enum Command {
    /// Show what a GGUF model file contains (no daemon needed).
    Inspect(inspect::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(args) => inspect::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the context chain on one line: "cannot read x.gguf: bad magic at byte 0: ...".
            eprintln!("medctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}
