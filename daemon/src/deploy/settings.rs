//! `[mode]` as written ([`RawMode`]) → as used ([`ModeSettings`]): the requested deployment
//! mode, the LoRA adapters (optionally per category), the merged model, and the weights of the
//! planner's decision.
//!
//! Validation checks shapes and ranges only; whether the files exist is checked when a mode is
//! resolved (start-up, `SetMode`, reload), so that the shipped example config stays valid and a
//! missing adapter only blocks the modes that need it.

use std::path::PathBuf;

use medllm_classify::Category;
use serde::Deserialize;

use crate::reload::Mode;

/// `[mode]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMode {
    /// `auto`, `base`, `adapter` or `merged`.
    pub mode: Option<String>,
    /// A model with the adapter merged in (`medctl merge`); empty: none.
    pub merged_model: Option<PathBuf>,
    /// LoRA adapters for adapter mode.
    pub adapters: Option<Vec<RawAdapter>>,
    /// α: weight of performance in the decision.
    pub alpha: Option<f64>,
    /// β: weight of fit to clinical needs.
    pub beta: Option<f64>,
    /// γ: weight of resource cost.
    pub gamma: Option<f64>,
    /// Share of consecutive requests whose category (adapter) differs, 0–1.
    pub switch_rate: Option<f64>,
    /// Target seconds per request.
    pub latency_target_seconds: Option<f64>,
    /// Extra decode time of an applied adapter (0.08 = 8 %).
    pub lora_overhead: Option<f64>,
}

/// One `[[mode.adapters]]` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdapter {
    /// Name for logs and status; default: the file name without `.gguf`.
    pub name: Option<String>,
    /// The adapter GGUF (llama.cpp's LoRA format, e.g. from `medllm-quant lora`).
    pub path: PathBuf,
    /// Strength (1.0 = as trained).
    pub scale: Option<f32>,
    /// Categories served with this adapter; empty or absent: every category without its own.
    pub categories: Option<Vec<String>>,
}

/// What the config asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    /// Let the planner's decision pick among the configured variants.
    Auto,
    /// This mode.
    Fixed(Mode),
}

/// A validated adapter.
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterSettings {
    /// Name for logs and status.
    pub name: String,
    /// The adapter file (resolved against the config's directory).
    pub path: PathBuf,
    /// Strength.
    pub scale: f32,
    /// Categories it serves; empty: every category that has no adapter of its own.
    pub categories: Vec<Category>,
}

/// The decision's weights and clinical inputs (see `medllm_planner::ModeConfig`).
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionWeights {
    /// α.
    pub alpha: f64,
    /// β.
    pub beta: f64,
    /// γ.
    pub gamma: f64,
    /// Share of consecutive requests changing category.
    pub switch_rate: f64,
    /// Target seconds per request.
    pub latency_target_s: f64,
    /// Extra decode time of an applied adapter.
    pub lora_overhead: f64,
}

/// Validated `[mode]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeSettings {
    /// `auto` or a fixed mode.
    pub requested: Requested,
    /// Adapters for adapter mode, in config order (engine adapter indices).
    pub adapters: Vec<AdapterSettings>,
    /// The merged model for merged mode.
    pub merged_model: Option<PathBuf>,
    /// Inputs of the decision.
    pub weights: DecisionWeights,
}

impl Default for ModeSettings {
    fn default() -> Self {
        Self {
            requested: Requested::Auto,
            adapters: Vec::new(),
            merged_model: None,
            weights: DecisionWeights::default(),
        }
    }
}

impl Default for DecisionWeights {
    fn default() -> Self {
        let d = medllm_planner::ModeConfig::default();
        Self {
            alpha: d.alpha,
            beta: d.beta,
            gamma: d.gamma,
            switch_rate: d.switch_rate,
            latency_target_s: d.latency_target_s,
            lora_overhead: d.lora_overhead,
        }
    }
}

impl RawMode {
    /// Validate; `resolve` makes relative paths relative to the config file. The error is
    /// `(key, message)`.
    pub fn validate(
        self,
        resolve: impl Fn(PathBuf) -> PathBuf,
    ) -> Result<ModeSettings, (String, String)> {
        let err = |k: &str, m: String| Err((format!("mode.{k}"), m));
        let requested = match self.mode.as_deref() {
            None | Some("auto") => Requested::Auto,
            Some(name) => match Mode::parse(name) {
                Ok(m) => Requested::Fixed(m),
                Err(_) => {
                    return err(
                        "mode",
                        format!("must be auto, base, adapter or merged, got {name:?}"),
                    );
                }
            },
        };
        let mut adapters = Vec::new();
        let mut claimed: [Option<usize>; 5] = [None; 5];
        let mut catch_all: Option<usize> = None;
        for (i, a) in self.adapters.unwrap_or_default().into_iter().enumerate() {
            let key = format!("adapters[{i}]");
            if a.path.as_os_str().is_empty() {
                return err(&key, "path must not be empty".into());
            }
            let scale = a.scale.unwrap_or(1.0);
            if !scale.is_finite() || !(-10.0..=10.0).contains(&scale) {
                return err(&key, format!("scale must be in -10..=10, got {scale}"));
            }
            let name = a.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| {
                a.path.file_stem().map_or_else(
                    || format!("adapter{i}"),
                    |s| s.to_string_lossy().into_owned(),
                )
            });
            if adapters.iter().any(|x: &AdapterSettings| x.name == name) {
                return err(&key, format!("two adapters are named {name:?}"));
            }
            let mut categories = Vec::new();
            for c in a.categories.unwrap_or_default() {
                let cat: Category = match c.parse() {
                    Ok(cat) => cat,
                    Err(_) => {
                        return err(
                            &key,
                            format!(
                                "unknown category {c:?} (valid: medication, diagnosis, treatment, prevention, emergency)"
                            ),
                        );
                    }
                };
                if let Some(other) = claimed[cat.index()].replace(i) {
                    return err(
                        &key,
                        format!(
                            "category {cat} already has adapter {other} (one adapter per category)"
                        ),
                    );
                }
                categories.push(cat);
            }
            if categories.is_empty() {
                if let Some(other) = catch_all.replace(i) {
                    return err(
                        &key,
                        format!(
                            "adapter {other} already serves every category; give one of them `categories`"
                        ),
                    );
                }
            }
            adapters.push(AdapterSettings {
                name,
                path: resolve(a.path),
                scale,
                categories,
            });
        }
        let d = DecisionWeights::default();
        let weights = DecisionWeights {
            alpha: self.alpha.unwrap_or(d.alpha),
            beta: self.beta.unwrap_or(d.beta),
            gamma: self.gamma.unwrap_or(d.gamma),
            switch_rate: self.switch_rate.unwrap_or(d.switch_rate),
            latency_target_s: self.latency_target_seconds.unwrap_or(d.latency_target_s),
            lora_overhead: self.lora_overhead.unwrap_or(d.lora_overhead),
        };
        for (k, v, lo, hi) in [
            ("alpha", weights.alpha, 0.0, 100.0),
            ("beta", weights.beta, 0.0, 100.0),
            ("gamma", weights.gamma, 0.0, 100.0),
            ("switch_rate", weights.switch_rate, 0.0, 1.0),
            (
                "latency_target_seconds",
                weights.latency_target_s,
                0.001,
                86_400.0,
            ),
            ("lora_overhead", weights.lora_overhead, 0.0, 10.0),
        ] {
            if !v.is_finite() || !(lo..=hi).contains(&v) {
                return err(k, format!("must be in {lo}..={hi}, got {v}"));
            }
        }
        Ok(ModeSettings {
            requested,
            adapters,
            merged_model: self
                .merged_model
                .filter(|p| !p.as_os_str().is_empty())
                .map(resolve),
            weights,
        })
    }
}

impl ModeSettings {
    /// The engine adapter index serving `category` in adapter mode: its own adapter, else the
    /// catch-all one, else none (the base model).
    pub fn adapter_for(&self, category: Category) -> Option<usize> {
        self.adapters
            .iter()
            .position(|a| a.categories.contains(&category))
            .or_else(|| self.adapters.iter().position(|a| a.categories.is_empty()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ModeSettings, (String, String)> {
        let raw: RawMode = toml::from_str(text).unwrap();
        raw.validate(|p| PathBuf::from("/etc/medllm").join(p))
    }

    #[test]
    fn categories_map_to_their_adapter_then_the_catch_all() {
        let s = parse(
            "mode = \"adapter\"\n\
             [[adapters]]\npath = \"general.gguf\"\n\
             [[adapters]]\nname = \"cardio\"\npath = \"/a/c.gguf\"\nscale = 0.5\ncategories = [\"Medication\", \"treatment\"]\n",
        )
        .unwrap();
        assert_eq!(s.requested, Requested::Fixed(Mode::Adapter));
        assert_eq!(s.adapters[0].name, "general");
        assert_eq!(
            s.adapters[0].path,
            PathBuf::from("/etc/medllm/general.gguf")
        );
        assert_eq!(s.adapters[1].path, PathBuf::from("/a/c.gguf"));
        assert_eq!(s.adapter_for(Category::Medication), Some(1));
        assert_eq!(s.adapter_for(Category::Treatment), Some(1));
        assert_eq!(s.adapter_for(Category::Emergency), Some(0));
    }

    #[test]
    fn conflicts_and_ranges_name_the_key() {
        let two = "[[adapters]]\npath = \"a.gguf\"\ncategories = [\"emergency\"]\n\
                   [[adapters]]\npath = \"b.gguf\"\ncategories = [\"emergency\"]\n";
        let (k, m) = parse(two).unwrap_err();
        assert_eq!(k, "mode.adapters[1]");
        assert!(m.contains("emergency"), "{m}");
        let catch_all = "[[adapters]]\npath = \"a.gguf\"\n[[adapters]]\npath = \"b.gguf\"\n";
        assert!(parse(catch_all).unwrap_err().1.contains("every category"));
        assert_eq!(
            parse("switch_rate = 1.5\n").unwrap_err().0,
            "mode.switch_rate"
        );
        assert_eq!(parse("mode = \"fast\"\n").unwrap_err().0, "mode.mode");
        let bad_cat = "[[adapters]]\npath = \"a.gguf\"\ncategories = [\"cardiology\"]\n";
        assert!(parse(bad_cat).unwrap_err().1.contains("unknown category"));
        let none = parse("merged_model = \"\"\n").unwrap();
        assert_eq!((none.requested, none.merged_model), (Requested::Auto, None));
    }
}
