//! `medctl cache …`: the answer cache.
//!
//! `explain` works without a daemon: it runs the same matcher the daemon uses (embedding model
//! and guards) on two questions and says whether an answer cached for the first would be served
//! for the second, and if not, which guard vetoed and why.

use std::path::PathBuf;

use anyhow::Result;
use medllm_cache::{DEFAULT_SEMANTIC_THRESHOLD, Matcher, MiniLm};

/// `medctl cache` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum CacheCommand {
    /// Would an answer cached for question A be served for question B? (no daemon needed)
    Explain(ExplainArgs),
}

/// Arguments of `medctl cache explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The question whose answer is cached.
    pub cached: String,
    /// The incoming question.
    pub incoming: String,
    /// Directory of the all-MiniLM-L6-v2 embedding model.
    #[arg(
        long,
        value_name = "DIR",
        env = "MEDLLM_EMBEDDER_DIR",
        default_value = "/usr/share/medllm/models/all-MiniLM-L6-v2"
    )]
    pub embedder: PathBuf,
    /// Minimum cosine for a semantic candidate.
    #[arg(long, default_value_t = DEFAULT_SEMANTIC_THRESHOLD)]
    pub threshold: f32,
}

/// Arguments of `medctl cache`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: CacheCommand,
}

/// Run `medctl cache …`.
pub fn run(args: &Args) -> Result<()> {
    match &args.command {
        CacheCommand::Explain(a) => explain(a),
    }
}

fn explain(a: &ExplainArgs) -> Result<()> {
    let matcher = match MiniLm::load(&a.embedder) {
        Ok(m) => Matcher::new(Some(std::sync::Arc::new(m)), a.threshold),
        Err(e) => {
            eprintln!(
                "medctl: embedding model unavailable ({e}); only the exact tier is checked \
                 (set --embedder or MEDLLM_EMBEDDER_DIR)"
            );
            Matcher::new(None, a.threshold)
        }
    };
    let x = matcher.explain(&a.cached, &a.incoming);
    println!("{x}");
    // Exit status for scripts: 0 served, 1 not served.
    if !x.verdict.is_hit() {
        std::process::exit(1);
    }
    Ok(())
}
