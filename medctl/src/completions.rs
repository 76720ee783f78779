//! `medctl completions SHELL` and `medctl man`: shell completions and a man page generated from
//! the clap definitions, so they never drift from the real flags. Packagers run them at build
//! time (e.g. `medctl completions bash > /usr/share/bash-completion/completions/medctl`).

use anyhow::{Context, Result};
use clap_complete::Shell;

/// Arguments of `medctl completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    shell: Shell,
}

/// Arguments of `medctl man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {}

/// Write completions for `args.shell` to stdout.
pub fn run(args: &Args, mut cmd: clap::Command) -> Result<()> {
    let name = cmd.get_name().to_string();
    clap_complete::generate(args.shell, &mut cmd, name, &mut std::io::stdout());
    Ok(())
}

/// Write the roff man page (section 1) to stdout.
pub fn man(_args: &ManArgs, cmd: clap::Command) -> Result<()> {
    clap_mangen::Man::new(cmd)
        .render(&mut std::io::stdout())
        .context("cannot write the man page")
}
