//! Quantization recipes: which ggml type each tensor gets, by tensor-name pattern.
//!
//! A recipe is an ordered list of rules (pattern → type; the first match wins) and a default for the weight
//! matrices no rule names. Only tensors llama.cpp's `llama-quantize` would quantize are ever changed: 2-D
//! (or 3-D expert) tensors whose name ends in `weight`, except norms and MoE routers; 1-D tensors (norms,
//! biases) stay as they are whatever the rules say. A type whose block does not divide a tensor's row length
//! falls back like `llama-quantize` does (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, Q2_K/Q3_K → Q4_0,
//! i-quants → IQ4_NL, and F16 when even that does not fit), and the fallback is reported.
//!
//! Built-ins (`--recipe NAME`), derived from the input model's header:
//! - `paper`: attention (q, k, v, output, fused qkv) → Q8_0, feed-forward (gate, up, down, experts) → Q4_K,
//!   output → Q6_K and token embedding → Q4_K (Q6_K when the output is tied to it), as llama.cpp's Q4_K_M
//!   does; other matrices → Q8_0.
//! - `q4_k_m`: llama.cpp's Q4_K_M mix for dense models: Q4_K everywhere, Q6_K for `attn_v` (and fused
//!   `attn_qkv`) and `ffn_down` in the layers llama.cpp's `use_more_bits` picks (the first and last eighth
//!   and every third layer between), output Q6_K.
//! - `q8_0`, `f16`, `f32`: one type everywhere.
//!
//! Recipe files (`--recipe FILE.toml`):
//! ```toml
//! name = "attention 8-bit"   # optional, for reports
//! file_type = "Q4_K_M"       # optional: the output's general.file_type (default: from its dominant type)
//! default = "keep"           # type for matrices no rule matches; "keep" leaves them as they are
//! [[rules]]
//! glob = "blk.*.attn_*.weight"   # or: regex = '^blk\.\d+\.attn_.*\.weight$'
//! type = "Q8_0"
//! ```

use std::path::Path;

use medllm_gguf::{FileType, GgmlType, GgufHeader, TensorInfo};
use regex_lite::Regex;
use serde::Deserialize;

use crate::error::{QuantError, Result};
use crate::ggml;

/// The built-in recipe names.
pub const BUILTINS: &[&str] = &["paper", "q4_k_m", "q8_0", "f16", "f32"];

/// What a rule or the default asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Leave the tensor in its current type.
    Keep,
    /// Convert to this type.
    Type(GgmlType),
}

/// One rule: tensors whose full name matches `pattern` get `target`.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The pattern as written (glob or regex), for reports.
    pub source: String,
    pattern: Regex,
    /// What matching tensors get.
    pub target: Target,
}

/// An ordered set of rules and a default.
#[derive(Clone, Debug)]
pub struct Recipe {
    /// Name for reports (`paper`, or the file's `name`/path).
    pub name: String,
    /// Rules, first match wins.
    pub rules: Vec<Rule>,
    /// For quantizable tensors no rule matches.
    pub default: Target,
    /// The output's `general.file_type`, if the recipe says.
    pub file_type: Option<FileType>,
}

/// Where a tensor's type came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Not a tensor llama.cpp quantizes (1-D, norm, router…): kept.
    NotQuantizable,
    /// Rule number i (0-based) matched.
    Rule(usize),
    /// No rule matched; the recipe's default applied.
    Default,
}

/// The type chosen for one tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The type to write.
    pub ty: GgmlType,
    /// Why.
    pub reason: Reason,
    /// The type asked for, when its block did not fit the row length and `ty` is the fallback.
    pub fallback_from: Option<GgmlType>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecipe {
    name: Option<String>,
    file_type: Option<String>,
    default: Option<String>,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    glob: Option<String>,
    regex: Option<String>,
    #[serde(rename = "type")]
    ty: String,
}

impl Recipe {
    /// A built-in recipe (by name) or a TOML file (by path).
    pub fn load(spec: &str, header: &GgufHeader) -> Result<Self> {
        if BUILTINS.contains(&spec.to_ascii_lowercase().as_str()) {
            return Self::builtin(spec, header);
        }
        let path = Path::new(spec);
        if !path.exists() {
            return Err(QuantError::Recipe {
                name: spec.to_owned(),
                reason: format!(
                    "neither a built-in ({}) nor an existing file",
                    BUILTINS.join(", ")
                ),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|e| QuantError::io(path, e))?;
        Self::from_toml(&text, spec)
    }

    /// Parses a recipe file's text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let err = |reason: String| QuantError::Recipe {
            name: origin.to_owned(),
            reason,
        };
        let raw: RawRecipe = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut rules = Vec::with_capacity(raw.rules.len());
        for (i, r) in raw.rules.into_iter().enumerate() {
            let (source, regex) = match (r.glob, r.regex) {
                (Some(g), None) => (g.clone(), glob_to_regex(&g)),
                (None, Some(re)) => (re.clone(), re),
                _ => {
                    return Err(err(format!(
                        "rule {}: give exactly one of glob or regex",
                        i + 1
                    )));
                }
            };
            let target = parse_target(&r.ty).map_err(|e| err(format!("rule {}: {e}", i + 1)))?;
            rules.push(
                Rule::new(&source, &regex, target)
                    .map_err(|e| err(format!("rule {}: {e}", i + 1)))?,
            );
        }
        let default = match raw.default {
            Some(d) => parse_target(&d).map_err(|e| err(format!("default: {e}")))?,
            None => Target::Keep,
        };
        let file_type = match raw.file_type {
            Some(f) => Some(
                FileType::from_name(&f).ok_or_else(|| err(format!("unknown file_type {f:?}")))?,
            ),
            None => None,
        };
        Ok(Self {
            name: raw.name.unwrap_or_else(|| origin.to_owned()),
            rules,
            default,
            file_type,
        })
    }

    /// A built-in recipe for the model `header` describes (see the module docs).
    pub fn builtin(name: &str, header: &GgufHeader) -> Result<Self> {
        let name = name.to_ascii_lowercase();
        let tied = header.tensor("output.weight").is_none();
        // llama.cpp: output (and a tied embedding) → Q6_K, or Q8_0 when the row is not a whole Q6_K block.
        let out_ty = |t: &str| match header.tensor(t) {
            Some(t)
                if t.dims()
                    .first()
                    .is_some_and(|n| n % GgmlType::Q6_K.block_size() != 0) =>
            {
                GgmlType::Q8_0
            }
            _ => GgmlType::Q6_K,
        };
        let embd = if tied {
            out_ty("token_embd.weight")
        } else {
            GgmlType::Q4_K
        };
        let mut rules = Vec::new();
        let mut add = |src: &str, re: &str, ty: GgmlType| {
            Rule::new(src, re, Target::Type(ty))
                .map(|r| rules.push(r))
                .map_err(|reason| QuantError::Recipe {
                    name: name.clone(),
                    reason,
                })
        };
        let (default, file_type) = match name.as_str() {
            "paper" => {
                add(
                    "output.weight",
                    r"^output\.weight$",
                    out_ty("output.weight"),
                )?;
                add("token_embd.weight", r"^token_embd\.weight$", embd)?;
                add(
                    "attention",
                    r"^blk\.\d+\.attn_(q|k|v|output|qkv)\.weight$",
                    GgmlType::Q8_0,
                )?;
                add(
                    "feed-forward",
                    r"^blk\.\d+\.ffn_(gate|up|down)(_exps|_shexp)?\.weight$",
                    GgmlType::Q4_K,
                )?;
                (Target::Type(GgmlType::Q8_0), None)
            }
            "q4_k_m" => {
                add(
                    "output.weight",
                    r"^output\.weight$",
                    out_ty("output.weight"),
                )?;
                add("token_embd.weight", r"^token_embd\.weight$", embd)?;
                let n_layer = header
                    .metadata()
                    .get_str("general.architecture")
                    .ok()
                    .flatten()
                    .and_then(|a| {
                        header
                            .metadata()
                            .get_u64(&format!("{a}.block_count"))
                            .ok()
                            .flatten()
                    })
                    .unwrap_or(0);
                let more: Vec<String> = (0..n_layer)
                    .filter(|&i| use_more_bits(i, n_layer))
                    .map(|i| i.to_string())
                    .collect();
                if !more.is_empty() {
                    let layers = more.join("|");
                    add(
                        "attn_v / attn_qkv (use_more_bits layers)",
                        &format!(r"^blk\.({layers})\.attn_(v|qkv)\.weight$"),
                        GgmlType::Q6_K,
                    )?;
                    add(
                        "ffn_down (use_more_bits layers)",
                        &format!(r"^blk\.({layers})\.ffn_down(_exps|_shexp)?\.weight$"),
                        GgmlType::Q6_K,
                    )?;
                }
                (Target::Type(GgmlType::Q4_K), FileType::from_name("Q4_K_M"))
            }
            "q8_0" => (Target::Type(GgmlType::Q8_0), FileType::from_name("Q8_0")),
            "f16" => (Target::Type(GgmlType::F16), FileType::from_name("F16")),
            "f32" => (Target::Type(GgmlType::F32), FileType::from_name("F32")),
            other => {
                return Err(QuantError::Recipe {
                    name: other.to_owned(),
                    reason: format!("unknown built-in (known: {})", BUILTINS.join(", ")),
                });
            }
        };
        Ok(Self {
            name,
            rules,
            default,
            file_type,
        })
    }

    /// The type for one tensor.
    pub fn choose(&self, t: &TensorInfo) -> Choice {
        if !quantizable(t) {
            return Choice {
                ty: t.ggml_type(),
                reason: Reason::NotQuantizable,
                fallback_from: None,
            };
        }
        let (target, reason) = match self.rules.iter().position(|r| r.pattern.is_match(t.name())) {
            Some(i) => (self.rules[i].target, Reason::Rule(i)),
            None => (self.default, Reason::Default),
        };
        let wanted = match target {
            Target::Keep => t.ggml_type(),
            Target::Type(ty) => ty,
        };
        let row = t.dims().first().copied().unwrap_or(1);
        let ty = fallback(wanted, row);
        Choice {
            ty,
            reason,
            fallback_from: (ty != wanted).then_some(wanted),
        }
    }
}

impl Rule {
    fn new(source: &str, regex: &str, target: Target) -> std::result::Result<Self, String> {
        Ok(Self {
            source: source.to_owned(),
            pattern: Regex::new(regex).map_err(|e| format!("bad pattern {regex:?}: {e}"))?,
            target,
        })
    }
}

/// llama.cpp's `use_more_bits(i_layer, n_layers)` (llama-quant.cpp).
pub fn use_more_bits(i: u64, n: u64) -> bool {
    let (i, n) = (i as i64, n as i64);
    i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
}

/// Whether `llama-quantize` would touch this tensor (its `tensor_allows_quantization`, main rules).
pub fn quantizable(t: &TensorInfo) -> bool {
    let n = t.name();
    t.dims().len() >= 2
        && n.ends_with("weight")
        && !n.contains("_norm.weight")
        && !n.contains("ffn_gate_inp.weight")
        && !n.contains("position_embd")
        && !n.contains("token_types")
        && !n.contains("ssm_conv1d")
        && !n.contains("attn_rel_b")
}

/// The type actually written when `wanted`'s block does not divide the row (llama.cpp's fallbacks).
pub fn fallback(wanted: GgmlType, row: u64) -> GgmlType {
    if row % ggml::block_size(wanted) == 0 {
        return wanted;
    }
    let next = match wanted {
        GgmlType::IQ1_S
        | GgmlType::IQ1_M
        | GgmlType::IQ2_XXS
        | GgmlType::IQ2_XS
        | GgmlType::IQ2_S
        | GgmlType::IQ3_XXS
        | GgmlType::IQ3_S
        | GgmlType::IQ4_XS => GgmlType::IQ4_NL,
        GgmlType::Q2_0 | GgmlType::Q2_K | GgmlType::Q3_K | GgmlType::TQ1_0 | GgmlType::TQ2_0 => {
            GgmlType::Q4_0
        }
        GgmlType::Q4_K => GgmlType::Q5_0,
        GgmlType::Q5_K => GgmlType::Q5_1,
        GgmlType::Q6_K => GgmlType::Q8_0,
        _ => GgmlType::F16,
    };
    if row % ggml::block_size(next) == 0 {
        next
    } else {
        GgmlType::F16
    }
}

/// A type name (`Q4_K`, `q8_0`, `f16`) or `keep`.
pub fn parse_target(s: &str) -> std::result::Result<Target, String> {
    if s.eq_ignore_ascii_case("keep") {
        return Ok(Target::Keep);
    }
    let ty = GgmlType::ALL
        .iter()
        .copied()
        .find(|t| t.name().eq_ignore_ascii_case(s))
        .ok_or_else(|| format!("unknown type {s:?}"))?;
    if !ggml::can_quantize(ty) {
        return Err(format!("ggml cannot quantize to {ty}"));
    }
    if ggml::requires_imatrix(ty) {
        return Err(format!(
            "{ty} needs an importance matrix, which medllm-quant does not compute"
        ));
    }
    Ok(Target::Type(ty))
}

/// `*` → any characters, `?` → one character, everything else literal; anchored at both ends.
fn glob_to_regex(glob: &str) -> String {
    let mut re = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex_lite::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    re.push('$');
    re
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::synth::llama::LlamaConfig;

    fn t(name: &str, dims: Vec<u64>, ty: GgmlType) -> TensorInfo {
        TensorInfo::new(name, dims, ty, 0).unwrap()
    }

    #[test]
    fn paper_recipe_types() {
        let h = LlamaConfig::default().header().unwrap();
        let r = Recipe::builtin("paper", &h).unwrap();
        let ty = |n: &str| r.choose(h.tensor(n).unwrap()).ty;
        assert_eq!(ty("blk.0.attn_q.weight"), GgmlType::Q8_0);
        assert_eq!(ty("blk.3.attn_output.weight"), GgmlType::Q8_0);
        assert_eq!(ty("blk.1.ffn_down.weight"), GgmlType::Q4_K);
        assert_eq!(ty("blk.1.ffn_gate.weight"), GgmlType::Q4_K);
        assert_eq!(ty("output.weight"), GgmlType::Q6_K);
        assert_eq!(ty("token_embd.weight"), GgmlType::Q4_K);
        assert_eq!(ty("blk.0.attn_norm.weight"), GgmlType::F32);
        let c = r.choose(h.tensor("blk.0.ffn_norm.weight").unwrap());
        assert_eq!(c.reason, Reason::NotQuantizable);
    }

    #[test]
    fn fallbacks_follow_llama_quantize() {
        assert_eq!(fallback(GgmlType::Q4_K, 4096), GgmlType::Q4_K);
        assert_eq!(fallback(GgmlType::Q4_K, 4096 + 32), GgmlType::Q5_0);
        assert_eq!(fallback(GgmlType::Q6_K, 96), GgmlType::Q8_0);
        assert_eq!(fallback(GgmlType::Q8_0, 100), GgmlType::F16);
        let r = Recipe::from_toml("default = \"Q4_K\"", "x").unwrap();
        let c = r.choose(&t("blk.0.ffn_up.weight", vec![160, 4], GgmlType::F32));
        assert_eq!(
            (c.ty, c.fallback_from),
            (GgmlType::Q5_0, Some(GgmlType::Q4_K))
        );
    }

    #[test]
    fn files_globs_regexes_and_errors() {
        let r = Recipe::from_toml(
            r#"
            name = "mine"
            file_type = "Q8_0"
            default = "keep"
            [[rules]]
            glob = "blk.*.attn_?.weight"
            type = "q8_0"
            [[rules]]
            regex = '^blk\.\d+\.ffn_'
            type = "Q4_K"
            "#,
            "f.toml",
        )
        .unwrap();
        assert_eq!(r.name, "mine");
        assert_eq!(r.file_type, FileType::from_name("Q8_0"));
        let q = |n: &str| r.choose(&t(n, vec![256, 8], GgmlType::F16)).ty;
        assert_eq!(q("blk.0.attn_q.weight"), GgmlType::Q8_0);
        assert_eq!(q("blk.0.attn_output.weight"), GgmlType::F16);
        assert_eq!(q("blk.10.ffn_up.weight"), GgmlType::Q4_K);
        assert_eq!(q("xblk.0.attn_q.weight"), GgmlType::F16);
        for bad in [
            "default = \"Q9_9\"",
            "[[rules]]\nglob = \"a\"\nregex = \"b\"\ntype = \"F16\"",
            "[[rules]]\nregex = \"(\"\ntype = \"F16\"",
            "[[rules]]\nglob = \"a\"\ntype = \"IQ2_XXS\"",
            "colour = \"blue\"",
        ] {
            assert!(Recipe::from_toml(bad, "bad").is_err(), "{bad}");
        }
    }

    #[test]
    fn use_more_bits_matches_llama_cpp_for_28_layers() {
        let picked: Vec<u64> = (0..28).filter(|&i| use_more_bits(i, 28)).collect();
        assert_eq!(
            picked,
            vec![0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27]
        );
    }
}
