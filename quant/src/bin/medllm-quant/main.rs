//! `medllm-quant`: synthetic models, LoRA adapters, merging and mixed-precision quantization.
//!
//! This binary links ggml (for its quantization functions) and is what `medctl merge|quantize|synth` run,
//! so that `medctl` itself never links llama.cpp. Each subcommand parses its arguments, calls the library
//! and prints a short report; any error is one line on stderr and exit code 1.

mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use medllm_gguf::GgmlType;
use medllm_quant::lora::{self, LoraConfig, Targets};
use medllm_quant::merge::{self, MergeOptions, MergedType};
use medllm_quant::quantize::{self, QuantizeOptions};
use medllm_quant::recipe::{self, Recipe};
use medllm_quant::synth::{self, FromHeaderOptions, GenerateOptions, LlamaConfig};
use medllm_quant::{ModelFile, Threads};

/// Model-file tools for medllm (ggml's own quantization functions).
#[derive(Debug, Parser)]
#[command(name = "medllm-quant", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a synthetic model: a small llama model, or a real model's exact layout (--from-header).
    Synth(SynthArgs),
    /// Write a synthetic LoRA adapter for a base model, in llama.cpp's adapter format.
    Lora(LoraArgs),
    /// Merge a LoRA adapter into its base model: W' = W + scale·(alpha/r)·B·A.
    Merge(MergeArgs),
    /// Quantize a model with a mixed-precision recipe (tensor-name patterns → types).
    Quantize(QuantizeArgs),
}

/// Worker threads (default: 2, or fewer cores).
#[derive(Debug, Args)]
struct ThreadArgs {
    /// Worker threads for generating/quantizing chunks.
    #[arg(long)]
    threads: Option<usize>,
}

impl ThreadArgs {
    fn get(&self) -> Threads {
        self.threads
            .map_or_else(Threads::default, |n| Threads(n.max(1)))
    }
}

#[derive(Debug, Args)]
struct SynthArgs {
    /// Output file.
    #[arg(short, long)]
    output: PathBuf,
    /// Copy this model's layout (metadata, tensor names, shapes, types); its tensor data need not exist.
    #[arg(long, value_name = "MODEL.gguf")]
    from_header: Option<PathBuf>,
    /// Transformer blocks (with --from-header: keep only the first N).
    #[arg(long)]
    layers: Option<u64>,
    /// Model width.
    #[arg(long, default_value_t = 256)]
    embd: u64,
    /// Attention heads.
    #[arg(long, default_value_t = 4)]
    heads: u64,
    /// Key/value heads.
    #[arg(long, default_value_t = 2)]
    kv_heads: u64,
    /// Feed-forward width.
    #[arg(long, default_value_t = 768)]
    ff: u64,
    /// Vocabulary size.
    #[arg(long, default_value_t = 1024)]
    vocab: u64,
    /// Training context length.
    #[arg(long, default_value_t = 2048)]
    ctx: u64,
    /// Type of every weight matrix (F32, F16, Q8_0, Q4_K, ...).
    #[arg(long = "type", default_value = "F32")]
    ty: String,
    /// Type of the attention matrices (overrides --type).
    #[arg(long)]
    attn_type: Option<String>,
    /// Type of the feed-forward matrices (overrides --type).
    #[arg(long)]
    ffn_type: Option<String>,
    /// Tie the output projection to the token embedding (no output.weight).
    #[arg(long)]
    tied: bool,
    /// Seed of the weights.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    threads: ThreadArgs,
}

#[derive(Debug, Args)]
struct LoraArgs {
    /// The base model (only its header is read).
    #[arg(long)]
    base: PathBuf,
    /// Target tensors: attn, ffn, output, or stems such as attn_q, ffn_down (comma-separated).
    #[arg(long, default_value = "attn,ffn")]
    targets: String,
    /// LoRA rank r.
    #[arg(long, default_value_t = 8)]
    rank: u64,
    /// adapter.lora.alpha (run-time scale alpha / r).
    #[arg(long, default_value_t = 16.0)]
    alpha: f32,
    /// Seed of the factors.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Type of lora_a / lora_b: F32 or F16.
    #[arg(long = "type", default_value = "F32")]
    ty: String,
    /// Size of the update relative to the base projection (about its standard deviation).
    #[arg(long, default_value_t = 0.1)]
    strength: f32,
    /// Output file.
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Debug, Args)]
struct MergeArgs {
    /// The base model.
    base: PathBuf,
    /// The LoRA adapter.
    adapter: PathBuf,
    /// Output file.
    #[arg(short, long)]
    output: PathBuf,
    /// Adapter scale (as llama.cpp's --lora-scaled).
    #[arg(long, default_value_t = 1.0)]
    scale: f32,
    /// Type of the merged tensors: keep (re-quantize to the base's type), f16 or f32.
    #[arg(long = "type", default_value = "keep")]
    ty: String,
    #[command(flatten)]
    threads: ThreadArgs,
}

#[derive(Debug, Args)]
struct QuantizeArgs {
    /// Input model (F32/F16 ideally).
    input: PathBuf,
    /// Output file.
    #[arg(short, long, required_unless_present = "dry_run")]
    output: Option<PathBuf>,
    /// Built-in recipe (paper, q4_k_m, q8_0, f16, f32) or a recipe TOML file.
    #[arg(long, default_value = "paper")]
    recipe: String,
    /// Allow converting tensors that are already quantized (quality loss).
    #[arg(long)]
    allow_requantize: bool,
    /// Print the plan (types and sizes per tensor) without writing.
    #[arg(long)]
    dry_run: bool,
    /// List every tensor in the report.
    #[arg(long)]
    tensors: bool,
    #[command(flatten)]
    threads: ThreadArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Synth(a) => synth_cmd(&a),
        Command::Lora(a) => lora_cmd(&a),
        Command::Merge(a) => merge_cmd(&a),
        Command::Quantize(a) => quantize_cmd(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("medllm-quant: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn ggml_type(name: &str) -> Result<GgmlType> {
    match recipe::parse_target(name) {
        Ok(recipe::Target::Type(t)) => Ok(t),
        Ok(recipe::Target::Keep) => bail!("'keep' is not a type here"),
        Err(e) => bail!("{e}"),
    }
}

fn synth_cmd(a: &SynthArgs) -> Result<()> {
    let generate = GenerateOptions {
        seed: a.seed,
        threads: a.threads.get(),
    };
    let stats = match &a.from_header {
        Some(h) => synth::synth_from_header(
            h,
            &a.output,
            FromHeaderOptions {
                generate,
                layers: a.layers,
            },
        )?,
        None => {
            let ty = ggml_type(&a.ty)?;
            let mut cfg = LlamaConfig {
                n_embd: a.embd,
                n_layer: a.layers.unwrap_or(4),
                n_head: a.heads,
                n_head_kv: a.kv_heads,
                n_ff: a.ff,
                n_vocab: a.vocab,
                n_ctx: a.ctx,
                tied_output: a.tied,
                ..LlamaConfig::default()
            }
            .with_weight_type(ty);
            if let Some(t) = &a.attn_type {
                cfg.attn_type = ggml_type(t)?;
            }
            if let Some(t) = &a.ffn_type {
                cfg.ffn_type = ggml_type(t)?;
            }
            synth::synth_llama(&cfg, &a.output, generate)?
        }
    };
    println!(
        "wrote {} ({} tensors, {:.3} B parameters, {}) in {:.1} s",
        a.output.display(),
        stats.tensors,
        stats.parameters as f64 / 1e9,
        report::bytes(stats.file_bytes),
        stats.seconds
    );
    Ok(())
}

fn lora_cmd(a: &LoraArgs) -> Result<()> {
    let base = ModelFile::header_only(&a.base)?;
    let cfg = LoraConfig {
        targets: Targets::parse(&a.targets)?,
        rank: a.rank,
        alpha: a.alpha,
        seed: a.seed,
        ty: ggml_type(&a.ty)?,
        strength: a.strength,
    };
    let s = lora::write_adapter(&base, &cfg, &a.output)?;
    println!(
        "wrote {}: {} target tensors, rank {}, alpha {} (scale alpha/r = {}), {} parameters, {}",
        a.output.display(),
        s.targeted,
        a.rank,
        a.alpha,
        a.alpha / a.rank as f32,
        s.parameters,
        report::bytes(s.file_bytes)
    );
    Ok(())
}

fn merge_cmd(a: &MergeArgs) -> Result<()> {
    let opts = MergeOptions {
        scale: a.scale,
        merged_type: MergedType::parse(&a.ty)?,
        threads: a.threads.get(),
    };
    let r = merge::merge(&a.base, &a.adapter, &a.output, opts)
        .with_context(|| format!("merging {} into {}", a.adapter.display(), a.base.display()))?;
    println!(
        "wrote {}: {} tensors merged, {} copied, {} in {:.1} s",
        a.output.display(),
        r.merged,
        r.copied,
        report::bytes(r.file_bytes),
        r.seconds
    );
    Ok(())
}

fn quantize_cmd(a: &QuantizeArgs) -> Result<()> {
    let header = ModelFile::header_only(&a.input)?;
    let recipe = Recipe::load(&a.recipe, &header)?;
    let report = if a.dry_run {
        quantize::plan(&header, &recipe)?.0
    } else {
        let Some(out) = &a.output else {
            bail!("--output is required")
        };
        let opts = QuantizeOptions {
            threads: a.threads.get(),
            allow_requantize: a.allow_requantize,
        };
        quantize::quantize(&a.input, out, &recipe, opts)?
    };
    report::print_quantize(&report, &recipe, a.tensors, a.dry_run);
    Ok(())
}
