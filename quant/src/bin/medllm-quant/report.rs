//! Human-readable reports for the `medllm-quant` subcommands.

use medllm_quant::quantize::QuantizeReport;
use medllm_quant::recipe::{Reason, Recipe};

/// `1.23 GiB`-style sizes (binary units, as `medctl inspect`).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.2} {}", UNITS[u])
    }
}

/// The quantization report: sizes before/after, bytes per type on both sides, fallbacks, optionally every
/// tensor.
pub fn print_quantize(r: &QuantizeReport, recipe: &Recipe, all: bool, dry_run: bool) {
    let verb = if dry_run { "would write" } else { "wrote" };
    println!(
        "recipe {}: {verb} {} → {} ({:.1} % of the input), general.file_type {}{}",
        r.recipe,
        bytes(r.file_bytes_in),
        bytes(r.file_bytes_out),
        100.0 * r.file_bytes_out as f64 / r.file_bytes_in.max(1) as f64,
        r.file_type,
        if dry_run {
            String::new()
        } else {
            format!(", {:.1} s", r.seconds)
        }
    );
    let (tin, tout) = (r.by_type_in(), r.by_type_out());
    println!(
        "\n  {:<8} {:>8} {:>12}    {:<8} {:>8} {:>12}",
        "input", "tensors", "bytes", "output", "tensors", "bytes"
    );
    let rows = tin.len().max(tout.len());
    let (vin, vout): (Vec<_>, Vec<_>) = (tin.iter().collect(), tout.iter().collect());
    for i in 0..rows {
        let side = |v: &Vec<(&medllm_gguf::GgmlType, &medllm_quant::quantize::TypeTotal)>| {
            v.get(i).map_or_else(
                || format!("{:<8} {:>8} {:>12}", "", "", ""),
                |(ty, t)| format!("{:<8} {:>8} {:>12}", ty.name(), t.tensors, bytes(t.bytes)),
            )
        };
        println!("  {}    {}", side(&vin), side(&vout));
    }
    let fallbacks: Vec<_> = r.fallbacks().collect();
    if !fallbacks.is_empty() {
        println!("\nfallbacks (row length not a whole number of blocks):");
        for t in fallbacks {
            if let Some(from) = t.choice.fallback_from {
                println!("  {}: {} → {}", t.name, from, t.choice.ty);
            }
        }
    }
    if all {
        println!(
            "\n  {:<36} {:<6} {:<6} {:>12}  rule",
            "tensor", "from", "to", "bytes"
        );
        for t in &r.tensors {
            let why = match &t.choice.reason {
                Reason::NotQuantizable => "kept (not a quantizable matrix)".to_owned(),
                Reason::Default => "default".to_owned(),
                Reason::Rule(i) => recipe
                    .rules
                    .get(*i)
                    .map_or_else(String::new, |r| r.source.clone()),
            };
            println!(
                "  {:<36} {:<6} {:<6} {:>12}  {why}",
                t.name,
                t.from.name(),
                t.choice.ty.name(),
                bytes(t.bytes_out)
            );
        }
    }
}
