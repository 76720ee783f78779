//! medllmd entry point: parse the command line, load the config, set up logging, run.
//!
//! Exit status: 0 after SIGTERM/SIGINT; 78 (EX_CONFIG) for a bad config, so that systemd's
//! `RestartPreventExitStatus=78` does not restart into the same error; 1 for every other failure
//! (model does not load, bus name taken, bus connection lost).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use medllmd::app::{self, Exit};
use medllmd::config::{Config, ConfigPath, DEFAULT_CONFIG_PATH, Overrides};

/// Exit status for configuration errors (sysexits.h EX_CONFIG).
const EX_CONFIG: u8 = 78;

/// medllmd answers medical questions from desktop apps over D-Bus (org.medllm.Daemon1), with a
/// local GGUF model through llama.cpp. Nothing leaves the machine.
#[derive(Debug, Parser)]
#[command(
    name = "medllmd",
    version,
    after_help = "Examples:\n  medllmd --session --model models/gemma-3-270m-q4_k_m.gguf   # development, session bus\n  medllmd --config /etc/medllm/medllmd.toml --check-config     # validate a config\n\nClients: `medctl status`, `medctl ask \"…\"` (add --session for the session bus)."
)]
struct Cli {
    /// Configuration file. Without it, /etc/medllm/medllmd.toml is read when it exists.
    #[arg(short, long, env = "MEDLLM_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    /// Serve on the session bus (development) instead of the system bus.
    #[arg(long, conflicts_with = "bus_address")]
    session: bool,

    /// Serve on the bus at this D-Bus address (tests), e.g. unix:path=/tmp/medllm-test/bus.
    #[arg(long, value_name = "ADDR")]
    bus_address: Option<String>,

    /// The GGUF model to serve (overrides [model] path).
    #[arg(short, long, value_name = "PATH")]
    model: Option<PathBuf>,

    /// Validate the configuration, print a summary and exit (does not load the model).
    #[arg(long)]
    check_config: bool,

    /// Log filter: error, warn, info, debug, trace or per module ("info,medllmd=debug");
    /// overrides [daemon] log_level and RUST_LOG.
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let path = match &cli.config {
        Some(p) => ConfigPath::Explicit(p.clone()),
        None => ConfigPath::Default,
    };
    let overrides = Overrides {
        session: cli.session,
        bus_address: cli.bus_address.clone(),
        model: cli.model.clone(),
        log_level: cli.log_level.clone(),
    };
    let config = match Config::load(&path, &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("medllmd: {e}");
            if matches!(path, ConfigPath::Default) {
                eprintln!("medllmd: (read from the default location {DEFAULT_CONFIG_PATH})");
            }
            return ExitCode::from(EX_CONFIG);
        }
    };
    if cli.check_config {
        println!("{}", config.summary());
        if !config.model_path.is_file() {
            eprintln!(
                "medllmd: warning: the model file {} does not exist",
                config.model_path.display()
            );
        }
        println!("configuration OK");
        return ExitCode::SUCCESS;
    }
    init_logging(&config, cli.log_level.is_some());

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("medllmd-rt")
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("medllmd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(app::run(config)) {
        Ok(Exit::Signal(_)) => ExitCode::SUCCESS,
        Ok(Exit::BusLost(_)) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("medllmd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to the journal under systemd, to stderr otherwise (`medllmd::logging`). Precedence of the
/// filter: `--log-level`, then `RUST_LOG`, then the config file.
fn init_logging(config: &Config, flag_given: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(env) if !flag_given && !env.trim().is_empty() => env,
        _ => config.log_level.clone(),
    };
    let _ = medllmd::logging::init(&filter);
}
