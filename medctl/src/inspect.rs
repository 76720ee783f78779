//! `medctl inspect MODEL.gguf [--json] [--tensors]`: architecture, parameters, file type, hyper-parameters,
//! bytes per tensor type, the per-layer byte table, global tensors and completeness — read from the header
//! only, so it is instant even for a multi-GB model and works on a header-only or truncated file.
//!
//! The gguf crate stays free of serde; this module maps its types to its own serializable report structs.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use medllm_gguf::{
    Completeness, GgufHeader, HyperParams, ModelSummary, OutputProjection, PerLayer,
    SlidingWindowPattern, classify, read_header_from_path,
};
use serde::Serialize;

/// Arguments of `medctl inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The GGUF model file.
    model: PathBuf,
    /// Print a JSON report (for scripts) instead of text.
    #[arg(long)]
    json: bool,
    /// Also list every tensor (name, type, shape, bytes, offset, group).
    #[arg(long)]
    tensors: bool,
}

/// Reads the model's header and prints the report.
pub fn run(args: &Args) -> Result<()> {
    let header = read_header_from_path(&args.model)
        .with_context(|| format!("cannot read {}", args.model.display()))?;
    let report = Report::new(&args.model, &header, args.tensors);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        report.print(&mut out)?;
    }
    Ok(())
}

#[derive(Serialize)]
struct Report {
    file: String,
    gguf_version: u32,
    file_len: Option<u64>,
    complete: bool,
    /// Where the data section ends (what the file length should be).
    expected_len: u64,
    alignment: u64,
    data_offset: u64,
    data_len: u64,
    tensor_count: usize,
    metadata_count: usize,
    architecture: Option<String>,
    name: Option<String>,
    parameters: u64,
    file_type: Option<String>,
    tensor_bytes: u64,
    /// The hyper-parameters (`null` when they could not be read: see `hyper_parameters_error`).
    hyper_parameters: Option<HParams>,
    hyper_parameters_error: Option<String>,
    by_type: Vec<TypeRow>,
    layers: Vec<LayerRow>,
    globals: Vec<GlobalRow>,
    token_embedding_bytes: u64,
    /// `null` when the output projection is tied to the token embedding.
    output_bytes: Option<u64>,
    output_tied_to_embedding: bool,
    output_norm_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    tensors: Option<Vec<TensorRow>>,
}

#[derive(Serialize)]
struct HParams {
    block_count: u64,
    context_length: u64,
    embedding_length: u64,
    feed_forward_length: Option<Vec<u64>>,
    head_count: Vec<u64>,
    head_count_kv: Vec<u64>,
    key_length: u64,
    value_length: u64,
    vocab_size: u64,
    expert_count: Option<u64>,
    expert_used_count: Option<u64>,
    sliding_window: Option<u64>,
    sliding_window_pattern: Option<String>,
    rope_freq_base: Option<f64>,
}

#[derive(Serialize)]
struct TypeRow {
    ggml_type: &'static str,
    tensors: u64,
    elements: u64,
    bytes: u64,
}

#[derive(Serialize)]
struct LayerRow {
    layer: u64,
    attention: u64,
    ffn: u64,
    ffn_experts: u64,
    norm: u64,
    other: u64,
    total: u64,
}

#[derive(Serialize)]
struct GlobalRow {
    name: String,
    group: String,
    bytes: u64,
}

#[derive(Serialize)]
struct TensorRow {
    name: String,
    ggml_type: &'static str,
    dims: Vec<u64>,
    elements: u64,
    bytes: u64,
    /// Offset from the start of the file.
    file_offset: u64,
    group: String,
}

/// A per-layer value as a list: one entry when uniform.
fn per_layer(p: &PerLayer) -> Vec<u64> {
    match p {
        PerLayer::Uniform(v) => vec![*v],
        PerLayer::Layers(v) => v.clone(),
    }
}

fn group_name(name: &str) -> String {
    use medllm_gguf::TensorGroup as G;
    match classify(name) {
        G::Attention { .. } => "attention",
        G::Ffn { experts: true, .. } => "ffn (experts)",
        G::Ffn { .. } => "ffn",
        G::Norm { .. } => "norm",
        G::OtherInLayer { .. } => "other",
        G::TokenEmbedding => "token embedding",
        G::Output => "output",
        G::OutputNorm => "output norm",
        G::OtherGlobal => "global",
    }
    .to_owned()
}

impl Report {
    fn new(path: &std::path::Path, h: &GgufHeader, with_tensors: bool) -> Self {
        let m = h.metadata();
        let s = ModelSummary::from_header(h);
        let hp = HyperParams::from_header(h).map_err(|e| e.to_string());
        let (output_bytes, tied) = match s.output {
            OutputProjection::Separate { bytes } => (Some(bytes), false),
            OutputProjection::TiedToEmbedding => (None, true),
        };
        Self {
            file: path.display().to_string(),
            gguf_version: h.version(),
            file_len: h.file_len(),
            complete: matches!(h.completeness(), Some(Completeness::Complete)),
            expected_len: h.expected_file_len(),
            alignment: h.alignment(),
            data_offset: h.data_offset(),
            data_len: h.data_len(),
            tensor_count: h.tensors().len(),
            metadata_count: m.len(),
            architecture: m
                .get_str("general.architecture")
                .ok()
                .flatten()
                .map(str::to_owned),
            name: m.get_str("general.name").ok().flatten().map(str::to_owned),
            parameters: h.parameter_count(),
            file_type: hp
                .as_ref()
                .ok()
                .and_then(|hp| hp.file_type)
                .map(|f| f.to_string()),
            tensor_bytes: h.tensor_bytes(),
            hyper_parameters_error: hp.as_ref().err().cloned(),
            hyper_parameters: hp.ok().map(|hp| HParams {
                block_count: hp.block_count,
                context_length: hp.context_length,
                embedding_length: hp.embedding_length,
                feed_forward_length: hp.feed_forward_length.as_ref().map(per_layer),
                head_count: per_layer(&hp.head_count),
                head_count_kv: per_layer(&hp.head_count_kv),
                key_length: hp.key_length,
                value_length: hp.value_length,
                vocab_size: hp.vocab_size,
                expert_count: hp.expert_count,
                expert_used_count: hp.expert_used_count,
                sliding_window: hp.sliding_window,
                sliding_window_pattern: hp.sliding_window_pattern.map(|p| match p {
                    SlidingWindowPattern::Period(n) => format!("every {n}th layer global"),
                    SlidingWindowPattern::Layers(v) => {
                        v.iter().map(|&swa| if swa { 'S' } else { 'G' }).collect()
                    }
                }),
                rope_freq_base: hp.rope.freq_base,
            }),
            by_type: s
                .by_type
                .iter()
                .map(|t| TypeRow {
                    ggml_type: t.ggml_type.name(),
                    tensors: t.tensors,
                    elements: t.elements,
                    bytes: t.bytes,
                })
                .collect(),
            layers: s
                .layers
                .iter()
                .map(|l| LayerRow {
                    layer: l.layer,
                    attention: l.attention,
                    ffn: l.ffn,
                    ffn_experts: l.ffn_experts,
                    norm: l.norm,
                    other: l.other,
                    total: l.total(),
                })
                .collect(),
            globals: s
                .globals
                .iter()
                .map(|g| GlobalRow {
                    name: g.name.clone(),
                    group: group_name(&g.name),
                    bytes: g.bytes,
                })
                .collect(),
            token_embedding_bytes: s.token_embedding,
            output_bytes,
            output_tied_to_embedding: tied,
            output_norm_bytes: s.output_norm,
            tensors: with_tensors.then(|| {
                h.tensors()
                    .iter()
                    .map(|t| TensorRow {
                        name: t.name().to_owned(),
                        ggml_type: t.ggml_type().name(),
                        dims: t.dims().to_vec(),
                        elements: t.n_elements(),
                        bytes: t.n_bytes(),
                        file_offset: h.tensor_file_offset(t),
                        group: group_name(t.name()),
                    })
                    .collect()
            }),
        }
    }

    fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        let dash = || "-".to_owned();
        writeln!(out, "model         {}", self.file)?;
        writeln!(
            out,
            "architecture  {}",
            self.architecture.clone().unwrap_or_else(dash)
        )?;
        if let Some(name) = &self.name {
            writeln!(out, "name          {name}")?;
        }
        writeln!(
            out,
            "parameters    {} ({})",
            short(self.parameters, ""),
            group(self.parameters)
        )?;
        writeln!(
            out,
            "file type     {}",
            self.file_type.clone().unwrap_or_else(dash)
        )?;
        writeln!(
            out,
            "format        GGUF v{}, {} metadata keys, {} tensors, alignment {}, data at byte {}",
            self.gguf_version,
            self.metadata_count,
            self.tensor_count,
            self.alignment,
            group(self.data_offset)
        )?;
        writeln!(
            out,
            "tensor data   {} ({} bytes)",
            mib(self.tensor_bytes),
            group(self.tensor_bytes)
        )?;
        match (self.complete, self.file_len) {
            (true, _) => writeln!(
                out,
                "completeness  complete ({} bytes)",
                group(self.expected_len)
            )?,
            (false, Some(len)) => writeln!(
                out,
                "completeness  TRUNCATED: file has {} bytes, the tensor data ends at {} (header is readable)",
                group(len),
                group(self.expected_len)
            )?,
            (false, None) => writeln!(out, "completeness  unknown")?,
        }

        writeln!(out, "\nhyper-parameters")?;
        match (&self.hyper_parameters, &self.hyper_parameters_error) {
            (None, e) => writeln!(
                out,
                "  unavailable: {}",
                e.as_deref().unwrap_or("unknown error")
            )?,
            (Some(hp), _) => {
                let list = |v: &[u64]| match v {
                    [one] => one.to_string(),
                    many => format!("per layer {many:?}"),
                };
                writeln!(
                    out,
                    "  layers {}, embedding {}, context {}",
                    hp.block_count, hp.embedding_length, hp.context_length
                )?;
                writeln!(
                    out,
                    "  heads {}, kv heads {}, head dims k {} / v {}",
                    list(&hp.head_count),
                    list(&hp.head_count_kv),
                    hp.key_length,
                    hp.value_length
                )?;
                let ffn = hp.feed_forward_length.as_deref().map_or_else(dash, list);
                writeln!(out, "  feed-forward {ffn}, vocabulary {}", hp.vocab_size)?;
                if let Some(n) = hp.expert_count {
                    writeln!(
                        out,
                        "  experts {n}, used per token {}",
                        hp.expert_used_count.map_or_else(dash, |u| u.to_string())
                    )?;
                }
                if let Some(w) = hp.sliding_window {
                    let pattern = hp
                        .sliding_window_pattern
                        .as_deref()
                        .map(|p| format!(" ({p})"))
                        .unwrap_or_default();
                    writeln!(out, "  sliding window {w}{pattern}")?;
                }
                if let Some(b) = hp.rope_freq_base {
                    writeln!(out, "  rope base {b}")?;
                }
            }
        }

        writeln!(out, "\nbytes per tensor type")?;
        writeln!(
            out,
            "  {:<8} {:>7} {:>15} {:>12} {:>6}",
            "type", "tensors", "elements", "size", "share"
        )?;
        for t in &self.by_type {
            writeln!(
                out,
                "  {:<8} {:>7} {:>15} {:>12} {:>5.1}%",
                t.ggml_type,
                t.tensors,
                group(t.elements),
                mib(t.bytes),
                percent(t.bytes, self.tensor_bytes)
            )?;
        }

        writeln!(out, "\nper layer (MiB)")?;
        writeln!(
            out,
            "  {:>5} {:>10} {:>10} {:>8} {:>8} {:>10}",
            "layer", "attention", "ffn", "norm", "other", "total"
        )?;
        for l in &self.layers {
            writeln!(
                out,
                "  {:>5} {:>10.2} {:>10.2} {:>8.3} {:>8.2} {:>10.2}",
                l.layer,
                to_mib(l.attention),
                to_mib(l.ffn),
                to_mib(l.norm),
                to_mib(l.other),
                to_mib(l.total)
            )?;
        }

        writeln!(out, "\nglobal tensors")?;
        for g in &self.globals {
            writeln!(out, "  {:<28} {:<16} {:>12}", g.name, g.group, mib(g.bytes))?;
        }
        if self.output_tied_to_embedding {
            writeln!(
                out,
                "  (no output.weight: the output projection is tied to token_embd.weight)"
            )?;
        }

        if let Some(tensors) = &self.tensors {
            writeln!(out, "\ntensors")?;
            writeln!(
                out,
                "  {:<36} {:<7} {:<24} {:>12} {:>14}  group",
                "name", "type", "shape", "size", "file offset"
            )?;
            for t in tensors {
                let shape = t
                    .dims
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(" x ");
                writeln!(
                    out,
                    "  {:<36} {:<7} {:<24} {:>12} {:>14}  {}",
                    t.name,
                    t.ggml_type,
                    shape,
                    mib(t.bytes),
                    t.file_offset,
                    t.group
                )?;
            }
        }
        Ok(())
    }
}

#[allow(clippy::cast_precision_loss)] // display only
fn to_mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", to_mib(bytes))
}

#[allow(clippy::cast_precision_loss)] // display only
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// 7615616512 → "7.62 B".
#[allow(clippy::cast_precision_loss)] // display only
fn short(n: u64, unit: &str) -> String {
    let f = n as f64;
    match n {
        0..1_000_000 => format!("{n}{unit}"),
        1_000_000..1_000_000_000 => format!("{:.1} M{unit}", f / 1e6),
        _ => format!("{:.2} B{unit}", f / 1e9),
    }
}

/// 7615616512 → "7,615,616,512".
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fixture_7b() -> PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/deepseek-r1-distill-qwen-7b-q4_k_m.header.gguf")
    }

    #[test]
    fn json_report_of_the_7b_header() {
        let path = fixture_7b();
        let h = read_header_from_path(&path).unwrap();
        let v = serde_json::to_value(Report::new(&path, &h, true)).unwrap();
        assert_eq!(v["architecture"], "qwen2");
        assert_eq!(v["file_type"], "Q4_K_M");
        assert_eq!(v["tensor_count"], 339);
        assert_eq!(v["complete"], false);
        assert_eq!(v["data_offset"], 5_953_248);
        assert_eq!(v["tensor_bytes"], 4_677_120_000u64);
        assert_eq!(v["hyper_parameters"]["vocab_size"], 152_064);
        assert_eq!(v["hyper_parameters"]["head_count_kv"][0], 4);
        assert_eq!(v["layers"].as_array().unwrap().len(), 28);
        assert_eq!(v["layers"][0]["total"], 149_112_832);
        assert_eq!(v["output_bytes"], 447_068_160);
        assert_eq!(v["token_embedding_bytes"], 306_561_024);
        assert_eq!(v["tensors"].as_array().unwrap().len(), 339);
        let mut text = Vec::new();
        Report::new(&path, &h, false).print(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("TRUNCATED"), "{text}");
        assert!(text.contains("Q4_K_M"), "{text}");
    }

    #[test]
    fn bad_file_is_a_one_line_error() {
        let args = Args {
            model: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"),
            json: false,
            tensors: false,
        };
        let msg = format!("{:#}", run(&args).unwrap_err());
        assert!(msg.starts_with("cannot read "), "{msg}");
        assert!(msg.contains("Cargo.toml: bad magic at byte 0"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }

    #[test]
    fn number_formatting() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(7_615_616_512), "7,615,616,512");
        assert_eq!(short(268_098_176, ""), "268.1 M");
        assert_eq!(mib(1 << 20), "1.00 MiB");
    }
}
