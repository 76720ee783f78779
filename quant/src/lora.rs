//! LoRA adapters in llama.cpp's GGUF format: writing synthetic ones, reading and checking them against a
//! base model.
//!
//! The format, as `llama.cpp/src/llama-adapter.cpp` reads it and `convert_lora_to_gguf.py` writes it:
//! - metadata `general.type = "adapter"`, `adapter.type = "lora"`, `general.architecture` equal to the base
//!   model's, `adapter.lora.alpha` as an **f32** (llama.cpp reads it with `gguf_get_val_f32`, which aborts
//!   on any other type);
//! - for each targeted base tensor `W` (ggml dims `[n_in, n_out]`, i.e. `n_out` rows of `n_in`): tensors
//!   `<W>.lora_a` with dims `[n_in, r]` (r rows of `n_in`: the PEFT matrix A, r × n_in) and `<W>.lora_b`
//!   with dims `[r, n_out]` (`n_out` rows of r: PEFT's B, n_out × r). The rank is `lora_b`'s `dims[0]`;
//! - at run time llama.cpp adds `s · B·(A·x)` to `W·x` with `s = scale · alpha / r` (or `scale` when alpha
//!   is 0), so the equivalent merged weight is `W' = W + s · B·A`.
//!
//! The token embedding is the exception (A and B flipped); adapters here never target it.

use std::path::Path;

use medllm_gguf::{GgmlType, GgufHeader, Metadata, TensorInfo, Value};

use crate::error::{QuantError, Result};
use crate::model_file::ModelFile;
use crate::rng::SplitMix64;
use crate::stream::{self, Threads};
use crate::{ggml, output::Output};

/// ggml's `GGML_MAX_NAME` minus the terminating NUL.
const MAX_NAME: usize = 63;

/// The base-tensor stems a target group stands for.
fn expand(group: &str) -> Option<&'static [&'static str]> {
    Some(match group {
        "attn" => &["attn_q", "attn_k", "attn_v", "attn_output", "attn_qkv"],
        "ffn" => &["ffn_gate", "ffn_up", "ffn_down"],
        "attn_q" => &["attn_q"],
        "attn_k" => &["attn_k"],
        "attn_v" => &["attn_v"],
        "attn_output" => &["attn_output"],
        "attn_qkv" => &["attn_qkv"],
        "ffn_gate" => &["ffn_gate"],
        "ffn_up" => &["ffn_up"],
        "ffn_down" => &["ffn_down"],
        "output" => &["output"],
        _ => return None,
    })
}

/// Which base tensors an adapter targets: `attn` (q, k, v, output, fused qkv), `ffn` (gate, up, down),
/// `output` (the output projection), or single stems such as `attn_v`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Targets {
    stems: Vec<&'static str>,
}

impl Targets {
    /// Parses a comma-separated list (`attn,ffn`).
    pub fn parse(list: &str) -> Result<Self> {
        let mut stems = Vec::new();
        for g in list.split(',').map(str::trim).filter(|g| !g.is_empty()) {
            let more = expand(g).ok_or_else(|| {
                QuantError::Config(format!(
                    "unknown LoRA target {g:?} (use attn, ffn, output, or a stem such as attn_q, ffn_down)"
                ))
            })?;
            for s in more {
                if !stems.contains(s) {
                    stems.push(*s);
                }
            }
        }
        if stems.is_empty() {
            return Err(QuantError::Config("no LoRA targets given".into()));
        }
        Ok(Self { stems })
    }

    /// Whether a base tensor is targeted (`blk.N.<stem>.weight`, or `<stem>.weight` for `output`).
    pub fn matches(&self, name: &str) -> bool {
        let Some(stem) = name.strip_suffix(".weight") else {
            return false;
        };
        let stem = match stem.strip_prefix("blk.") {
            Some(rest) => match rest.split_once('.') {
                Some((n, s)) if n.parse::<u64>().is_ok() => s,
                _ => return false,
            },
            None if stem == "output" => stem,
            None => return false,
        };
        self.stems.contains(&stem)
    }
}

/// How to make a synthetic adapter.
#[derive(Clone, Debug, PartialEq)]
pub struct LoraConfig {
    /// Target tensors.
    pub targets: Targets,
    /// Rank r.
    pub rank: u64,
    /// `adapter.lora.alpha` (the run-time scale is alpha / r).
    pub alpha: f32,
    /// Seed of the values.
    pub seed: u64,
    /// Type of `lora_a` / `lora_b` (F32 or F16; llama.cpp's merge tool refuses quantized factors).
    pub ty: GgmlType,
    /// Size of the update relative to the base projection: with unit-RMS inputs and `1/sqrt(n_in)` weights,
    /// `(alpha/r)·B·A·x` has about this standard deviation relative to `W·x`.
    pub strength: f32,
}

impl LoraConfig {
    /// Attention and feed-forward, rank 8, alpha 16, F32, 10 % updates.
    pub fn new(targets: Targets) -> Self {
        Self {
            targets,
            rank: 8,
            alpha: 16.0,
            seed: 1,
            ty: GgmlType::F32,
            strength: 0.1,
        }
    }
}

/// What [`write_adapter`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterStats {
    /// Base tensors targeted.
    pub targeted: usize,
    /// Adapter parameters (elements of all A and B).
    pub parameters: u64,
    /// File size.
    pub file_bytes: u64,
}

/// Writes a synthetic LoRA adapter for the base model `base` (header only is needed).
pub fn write_adapter(base: &GgufHeader, cfg: &LoraConfig, out: &Path) -> Result<AdapterStats> {
    if !matches!(cfg.ty, GgmlType::F32 | GgmlType::F16) {
        return Err(QuantError::Config(format!(
            "LoRA factors must be F32 or F16, not {}",
            cfg.ty
        )));
    }
    if cfg.rank == 0 || !cfg.alpha.is_finite() || cfg.alpha < 0.0 {
        return Err(QuantError::Config(
            "rank must be positive and alpha finite, ≥ 0".into(),
        ));
    }
    let arch = base
        .metadata()
        .require_str("general.architecture")
        .map_err(|e| QuantError::Config(format!("base model: {e}")))?;
    let mut tensors = Vec::new();
    for t in base
        .tensors()
        .iter()
        .filter(|t| cfg.targets.matches(t.name()))
    {
        let [n_in, n_out] = t.dims() else {
            return Err(QuantError::Shape {
                tensor: t.name().to_owned(),
                reason: format!("LoRA needs a 2-D weight, this one has dims {:?}", t.dims()),
            });
        };
        for (suffix, dims) in [
            ("lora_a", vec![*n_in, cfg.rank]),
            ("lora_b", vec![cfg.rank, *n_out]),
        ] {
            let name = format!("{}.{suffix}", t.name());
            if name.len() > MAX_NAME {
                return Err(QuantError::Shape {
                    tensor: name,
                    reason: format!("name longer than ggml's {MAX_NAME} characters"),
                });
            }
            tensors.push(TensorInfo::new(name, dims, cfg.ty, 0).map_err(QuantError::Header)?);
        }
    }
    let targeted = tensors.len() / 2;
    if targeted == 0 {
        return Err(QuantError::Config(
            "no tensor of the base model matches the LoRA targets".into(),
        ));
    }
    let mut meta = Metadata::new();
    let entries = [
        ("general.architecture", Value::String(arch.into())),
        ("general.type", Value::String("adapter".into())),
        (
            "general.name",
            Value::String("medllm synthetic LoRA".into()),
        ),
        ("adapter.type", Value::String("lora".into())),
        ("adapter.lora.alpha", Value::F32(cfg.alpha)),
        ("medllm.lora.seed", Value::U64(cfg.seed)),
        ("medllm.lora.strength", Value::F32(cfg.strength)),
    ];
    for (k, v) in entries {
        meta.push(k, v).map_err(QuantError::Header)?;
    }
    let header = GgufHeader::new(3, meta, tensors).map_err(QuantError::Header)?;
    let parameters = header.parameter_count();
    let mut output = Output::create(out, header)?;
    // std of B such that (alpha/r)·B·(A·x) has std `strength` when A·x has unit entries (see LoraConfig).
    let scale = if cfg.alpha > 0.0 {
        cfg.alpha / cfg.rank as f32
    } else {
        1.0
    };
    let b_std = cfg.strength / (scale * (cfg.rank as f32).sqrt());
    loop {
        let w = output.writer()?;
        let Some(t) = w.next_tensor().cloned() else {
            break;
        };
        let amplitude = if t.name().ends_with(".lora_a") {
            (3.0 / t.dims()[0] as f32).sqrt()
        } else {
            3f32.sqrt() * b_std
        };
        stream::write_tensor(w, &t, Threads(1), |c| {
            let mut v = vec![0f32; c.nrows * c.row_len];
            SplitMix64::for_chunk(cfg.seed, t.name(), c.index).fill_uniform(&mut v, amplitude);
            let mut out = Vec::new();
            ggml::quantize(t.ggml_type(), &v, c.row_len, None, &mut out, t.name())?;
            Ok(out)
        })?;
    }
    Ok(AdapterStats {
        targeted,
        parameters,
        file_bytes: output.commit()?,
    })
}

/// One A/B pair of an adapter.
#[derive(Clone, Debug, PartialEq)]
pub struct LoraPair {
    /// The base tensor it updates.
    pub base: String,
    /// `<base>.lora_a`, dims `[n_in, r]`.
    pub a: TensorInfo,
    /// `<base>.lora_b`, dims `[r, n_out]`.
    pub b: TensorInfo,
}

impl LoraPair {
    /// The rank r (`lora_b`'s `dims[0]`, as llama.cpp takes it).
    pub fn rank(&self) -> u64 {
        self.b.dims().first().copied().unwrap_or(0)
    }
}

/// An adapter file, opened and checked as llama.cpp checks it.
#[derive(Debug)]
pub struct LoraAdapter {
    file: ModelFile,
    alpha: f32,
    pairs: Vec<LoraPair>,
}

impl LoraAdapter {
    /// Opens an adapter: `general.type`, `adapter.type`, `adapter.lora.alpha` (f32), complete A/B pairs with
    /// consistent ranks. `*_norm.weight` tensors are skipped (llama.cpp ignores them too).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = ModelFile::open(path)?;
        let err = |reason: String| QuantError::Adapter {
            path: path.to_path_buf(),
            reason,
        };
        let m = file.header().metadata();
        let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
        if s("general.type") != "adapter" || s("adapter.type") != "lora" {
            return Err(err(format!(
                "not a LoRA adapter (general.type {:?}, adapter.type {:?})",
                s("general.type"),
                s("adapter.type")
            )));
        }
        let alpha = match m.get("adapter.lora.alpha") {
            Some(Value::F32(a)) if a.is_finite() => *a,
            None => 0.0,
            Some(v) => {
                return Err(err(format!(
                    "adapter.lora.alpha must be a finite f32, found {v:?}"
                )));
            }
        };
        let mut pairs: Vec<LoraPair> = Vec::new();
        let mut loose: Vec<(String, bool, TensorInfo)> = Vec::new();
        for t in file.header().tensors() {
            if let Some(base) = t.name().strip_suffix(".lora_a") {
                loose.push((base.to_owned(), true, t.clone()));
            } else if let Some(base) = t.name().strip_suffix(".lora_b") {
                loose.push((base.to_owned(), false, t.clone()));
            } else if !t.name().ends_with("_norm.weight") {
                return Err(err(format!(
                    "tensor {:?} has an unexpected suffix",
                    t.name()
                )));
            }
        }
        for (base, is_a, t) in &loose {
            if !*is_a {
                continue;
            }
            let b = loose
                .iter()
                .find(|(n, a, _)| n == base && !*a)
                .map(|(_, _, t)| t.clone())
                .ok_or_else(|| err(format!("{base}: lora_a without lora_b")))?;
            pairs.push(LoraPair {
                base: base.clone(),
                a: t.clone(),
                b,
            });
        }
        if loose.len() != 2 * pairs.len() {
            return Err(err("a lora_b tensor has no lora_a".into()));
        }
        for p in &pairs {
            let (a, b) = (p.a.dims(), p.b.dims());
            if a.len() != 2 || b.len() != 2 || a[1] != b[0] {
                return Err(err(format!(
                    "{}: lora_a {a:?} and lora_b {b:?} do not chain (lora_a must be [n_in, r], lora_b [r, n_out])",
                    p.base
                )));
            }
            for t in [&p.a, &p.b] {
                if !matches!(
                    t.ggml_type(),
                    GgmlType::F32 | GgmlType::F16 | GgmlType::BF16
                ) {
                    return Err(err(format!(
                        "{}: quantized LoRA factors ({}) are not supported",
                        t.name(),
                        t.ggml_type()
                    )));
                }
            }
        }
        Ok(Self { file, alpha, pairs })
    }

    /// The adapter's path.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// `adapter.lora.alpha` (0 when absent: llama.cpp then applies the user scale unchanged).
    pub fn alpha(&self) -> f32 {
        self.alpha
    }

    /// The A/B pairs, in file order.
    pub fn pairs(&self) -> &[LoraPair] {
        &self.pairs
    }

    /// The factor llama.cpp multiplies B·A·x by for this pair at a user scale: `scale · alpha / r`, or
    /// `scale` when alpha is 0.
    pub fn effective_scale(&self, pair: &LoraPair, scale: f32) -> f32 {
        if self.alpha == 0.0 {
            scale
        } else {
            scale * self.alpha / pair.rank() as f32
        }
    }

    /// Checks the adapter against a base model as llama.cpp does when loading it: same architecture, every
    /// base tensor present with matching shape, no token-embedding pair.
    pub fn check_against(&self, base: &GgufHeader) -> Result<()> {
        let err = |reason: String| QuantError::Adapter {
            path: self.path().to_path_buf(),
            reason,
        };
        let arch = |h: &GgufHeader| {
            h.metadata()
                .get("general.architecture")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        if arch(self.file.header()) != arch(base) {
            return Err(err(format!(
                "architecture {:?} does not match the base model's {:?}",
                arch(self.file.header()),
                arch(base)
            )));
        }
        for p in &self.pairs {
            if p.base.ends_with("token_embd.weight") {
                return Err(err("token-embedding LoRA pairs are not supported".into()));
            }
            let w = base
                .tensor(&p.base)
                .ok_or_else(|| err(format!("{} does not exist in the base model", p.base)))?;
            let (wd, a, b) = (w.dims(), p.a.dims(), p.b.dims());
            if wd.len() != 2 || wd[0] != a[0] || wd[1] != b[1] {
                return Err(err(format!(
                    "{}: base {wd:?} does not fit lora_a {a:?} / lora_b {b:?}",
                    p.base
                )));
            }
        }
        Ok(())
    }

    /// A pair's factors as floats: (A as r rows of n_in, B as n_out rows of r).
    pub fn factors(&self, pair: &LoraPair) -> Result<(Vec<f32>, Vec<f32>)> {
        Ok((self.file.read_f32(&pair.a)?, self.file.read_f32(&pair.b)?))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_match() {
        let t = Targets::parse("attn, ffn").unwrap();
        for yes in [
            "blk.0.attn_q.weight",
            "blk.11.attn_output.weight",
            "blk.3.ffn_down.weight",
        ] {
            assert!(t.matches(yes), "{yes}");
        }
        for no in [
            "blk.0.attn_norm.weight",
            "blk.0.attn_q.bias",
            "output.weight",
            "token_embd.weight",
            "blk.x.attn_q.weight",
        ] {
            assert!(!t.matches(no), "{no}");
        }
        assert!(Targets::parse("output").unwrap().matches("output.weight"));
        assert!(Targets::parse("attn,bogus").is_err());
        assert!(Targets::parse("").is_err());
        assert!(
            Targets::parse("attn_v")
                .unwrap()
                .matches("blk.2.attn_v.weight")
        );
        assert!(
            !Targets::parse("attn_v")
                .unwrap()
                .matches("blk.2.attn_q.weight")
        );
    }
}
