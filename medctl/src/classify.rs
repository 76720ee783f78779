//! `medctl classify`: which category a question lands in, why (scores and matched keywords), and
//! the system prompt it is answered with. Asks the running daemon (its categories file and the
//! model's prompt format); `--offline` uses the classifier directly, without a daemon.

use std::path::PathBuf;

use anyhow::{Context, Result};
use medllm_api::{ClassifyResult, Daemon1Proxy};
use medllm_classify::{Category, CategoryConfig, Classifier, Templates};

use crate::bus::BusArgs;

/// Arguments of `medctl classify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The question.
    pub question: String,
    /// Show what forcing this category would do (medication, diagnosis, treatment, prevention,
    /// emergency).
    #[arg(long)]
    pub category: Option<String>,
    /// Classify here, without the daemon (built-in categories or --categories).
    #[arg(long)]
    pub offline: bool,
    /// categories.toml to use with --offline.
    #[arg(long, value_name = "FILE", requires = "offline")]
    pub categories: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run `medctl classify`.
pub fn run(args: &Args, bus: &BusArgs) -> Result<()> {
    if args.offline {
        return offline(args);
    }
    crate::bus::block_on(async {
        let (_conn, daemon): (_, Daemon1Proxy<'_>) = bus.daemon().await?;
        let dict = daemon
            .classify(&args.question, args.category.as_deref().unwrap_or(""))
            .await
            .map_err(|e| bus.explain(e))?;
        let r = ClassifyResult::from_dict(&dict);
        if args.json {
            println!("{}", crate::json::dict_to_json(&dict));
        } else {
            print_result(&r);
        }
        Ok(())
    })
}

fn offline(args: &Args) -> Result<()> {
    let config = match &args.categories {
        Some(p) => {
            CategoryConfig::load(p).with_context(|| format!("cannot load {}", p.display()))?
        }
        None => CategoryConfig::builtin().context("the built-in categories do not load")?,
    };
    let requested = args
        .category
        .as_deref()
        .map(str::parse::<Category>)
        .transpose()
        .map_err(|_| anyhow::anyhow!("unknown category {:?}", args.category))?;
    let c = Classifier::new(&config).classify_with_override(&args.question, requested);
    let templates = Templates::new(config);
    if args.json {
        let mut v = serde_json::to_value(&c)?;
        v["system_prompt"] = serde_json::Value::String(templates.system_prompt(c.category));
        v["template_version"] = serde_json::Value::String(templates.template_version().into());
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{c}");
        println!(
            "\nsystem prompt ({}):\n{}",
            c.category,
            templates.system_prompt(c.category)
        );
    }
    Ok(())
}

fn print_result(r: &ClassifyResult) {
    let or = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    println!("category:  {}", or(&r.category));
    if let Some(reason) = &r.reason {
        println!("why:       {reason}");
    }
    if let Some(scores) = &r.scores {
        let mut s: Vec<_> = scores.iter().collect();
        s.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
        let s: Vec<String> = s.iter().map(|(k, v)| format!("{k} {v:.1}")).collect();
        println!("scores:    {}", s.join(", "));
    }
    if let Some(m) = &r.matched_terms {
        let m: Vec<String> = m
            .iter()
            .map(|(cat, term, weight, _, negated_by)| {
                if negated_by.is_empty() {
                    format!("{term:?} → {cat} +{weight}")
                } else {
                    format!("{term:?} → {cat} (negated by {negated_by:?})")
                }
            })
            .collect();
        println!("matched:   {}", m.join(", "));
    }
    match (&r.rendered_prompt, &r.system_prompt) {
        (Some(p), _) => println!("\nprompt as the model is fed it:\n{p}"),
        (None, Some(p)) => println!("\nsystem prompt:\n{p}"),
        (None, None) => {}
    }
}
