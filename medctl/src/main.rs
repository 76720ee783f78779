//! `medctl`, the medllm administration tool.
//!
//! Each subcommand lives in its own module and exposes `Args` (its clap arguments) and `run(args)`;
//! `main` only parses and dispatches, and turns any error into one line on stderr and exit code 1.
//! medctl never links llama.cpp: model files are read with `medllm-gguf`, the daemon is reached over D-Bus.

mod admin;
mod ask;
mod bus;
mod cache;
mod classify;
mod completions;
mod eval;
mod inspect;
mod json;
mod merge;
mod mode;
mod plan;
mod quantize;
mod status;
mod synth;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// medllm administration tool.
#[derive(Debug, Parser)]
#[command(name = "medctl", version, about, propagate_version = true)]
struct Cli {
    /// Which bus the daemon is on (for the subcommands that talk to it).
    #[command(flatten)]
    bus: bus::BusArgs,

    #[command(subcommand)]
    command: Command,
}

/// The subcommands; add new ones here, one module each.
#[derive(Debug, Subcommand)]
enum Command {
    /// Show what a GGUF model file contains (no daemon needed).
    Inspect(inspect::Args),
    /// Show the daemon's state, model, queue and counters (like `systemctl status`).
    Status(status::Args),
    /// Ask the daemon a question; the answer streams to stdout as it is generated.
    Ask(ask::Args),
    /// Show which category a question lands in, why, and its system prompt.
    Classify(classify::Args),
    /// Multiple-choice accuracy of the running daemon on a JSON-lines set (resumable; JSON report).
    Eval(eval::Args),
    /// Plan the GPU/CPU placement of a model for this machine or a recorded host (no daemon needed).
    Plan(plan::Args),
    /// The answer cache: `explain` (no daemon needed), `stats`, `purge [--rotate-key]`, `clear`.
    Cache(admin::CacheArgs),
    /// Re-read the daemon's config and model and replace its engine without losing a request (admin).
    Reload(admin::JsonArgs),
    /// Plan the daemon's GPU/CPU placement again for the memory free now (admin).
    Replan(admin::JsonArgs),
    /// Show the deployment mode (base, adapter, merged) and why (--explain), or switch it (`set`, admin).
    Mode(mode::Args),
    /// Merge a LoRA adapter into its base model (runs the medllm-quant tool).
    Merge(merge::Args),
    /// Quantize a model with a mixed-precision recipe (runs the medllm-quant tool).
    Quantize(quantize::Args),
    /// Write a synthetic model for tests and benchmarks (runs the medllm-quant tool).
    Synth(synth::Args),
    /// Print shell completions (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(completions::Args),
    /// Print the man page (roff) to stdout.
    Man(completions::ManArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Status(args) => status::run(&args, &cli.bus),
        Command::Ask(args) => ask::run(&args, &cli.bus),
        Command::Classify(args) => classify::run(&args, &cli.bus),
        Command::Eval(args) => eval::run(&args, &cli.bus),
        Command::Plan(args) => plan::run(&args),
        Command::Cache(args) => admin::cache(args, &cli.bus),
        Command::Reload(args) => admin::reload(&args, &cli.bus),
        Command::Replan(args) => admin::replan(&args, &cli.bus),
        Command::Mode(args) => mode::run(&args, &cli.bus),
        Command::Merge(args) => merge::run(&args),
        Command::Quantize(args) => quantize::run(&args),
        Command::Synth(args) => synth::run(&args),
        Command::Completions(args) => completions::run(&args, Cli::command()),
        Command::Man(args) => completions::man(&args, Cli::command()),
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
