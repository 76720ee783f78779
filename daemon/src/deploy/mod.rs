//! Dual-mode deployment: which model file and which LoRA adapters the engine runs.
//!
//! - **base**: the configured model alone.
//! - **adapter**: the base model plus the `[[mode.adapters]]`, each applied to the category
//!   templates it serves (the engine keeps batches adapter-homogeneous). Several specialties,
//!   switchable per request, a little slower per token.
//! - **merged**: `[mode] merged_model`, a model with an adapter merged into its weights
//!   (`medctl merge`). Base speed, one specialty.
//!
//! `mode = "auto"` asks the planner's decision (`medllm_planner::decide_mode`, D(m) = α·Perf +
//! β·Fit − γ·Cost) with the start-up plan, among the variants that are configured and present.
//! `SetMode` (`medctl mode set`) pins a mode until the next reload re-reads `[mode]`; a re-plan
//! keeps the pin. Every resolution carries an explanation (Status `mode_explain`,
//! `medctl mode --explain`).
//!
//! Owns the `[mode]` settings ([`settings`]), the resolution ([`resolve`]), its effect on the
//! engine settings ([`apply`]) and the identity hash of what runs ([`engine_sha256`], the answer
//! cache's namespace). Must not start engines or touch D-Bus: start-up (`app`) and the reloader
//! call in here.

pub mod settings;

use std::path::Path;

use anyhow::Result;
use medllm_classify::Category;
use medllm_planner::{ModeConfig, Plan, decide_mode};
use sha2::{Digest, Sha256};

pub use self::settings::{
    AdapterSettings, DecisionWeights, ModeSettings, RawAdapter, RawMode, Requested,
};
use crate::engine::{AdapterSpec, EngineConfig};
use crate::model_hash;
pub use crate::reload::Mode;

/// Who chose the mode in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `mode = "auto"`: the planner's decision.
    Auto,
    /// A fixed `mode` in the config.
    Config,
    /// An administrator's `SetMode`.
    Admin,
}

/// The mode in use and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    /// What runs.
    pub mode: Mode,
    /// Who chose it.
    pub origin: Origin,
    /// Lines for `medctl mode --explain`: the choice, the decision's terms, what each category runs.
    pub explanation: Vec<String>,
}

impl Deployment {
    /// The mode an administrator pinned, if any (kept by a re-plan).
    pub fn pinned(&self) -> Option<Mode> {
        (self.origin == Origin::Admin).then_some(self.mode)
    }

    /// The base model, for start-up paths that run before any resolution.
    pub fn base() -> Self {
        Self {
            mode: Mode::Base,
            origin: Origin::Config,
            explanation: vec!["base: the configured model alone".into()],
        }
    }
}

/// Whether the config provides what `mode` runs, with the files present; the error says what is
/// missing.
pub fn available(mode: Mode, s: &ModeSettings) -> Result<(), String> {
    match mode {
        Mode::Base => Ok(()),
        Mode::Adapter => {
            if s.adapters.is_empty() {
                return Err("adapter mode needs [[mode.adapters]] in the config".into());
            }
            match s.adapters.iter().find(|a| !a.path.is_file()) {
                Some(a) => Err(format!(
                    "adapter {:?}: {} does not exist",
                    a.name,
                    a.path.display()
                )),
                None => Ok(()),
            }
        }
        Mode::Merged => match &s.merged_model {
            None => Err("merged mode needs [mode] merged_model in the config".into()),
            Some(p) if !p.is_file() => {
                Err(format!("the merged model {} does not exist", p.display()))
            }
            Some(_) => Ok(()),
        },
    }
}

/// Decide the mode: an administrator's pin, else the config's fixed mode, else (auto) the
/// planner's decision among the available variants. Fails only for a pinned or fixed mode that
/// is not available.
pub fn resolve(
    s: &ModeSettings,
    plan: Option<&Plan>,
    pinned: Option<Mode>,
) -> Result<Deployment, String> {
    let (mode, origin, mut explanation) = match (pinned, s.requested) {
        (Some(m), _) => {
            available(m, s)?;
            let why = format!(
                "{}: set by an administrator (medctl mode set); a reload returns to [mode]",
                m.as_str()
            );
            (m, Origin::Admin, vec![why])
        }
        (None, Requested::Fixed(m)) => {
            available(m, s)?;
            (
                m,
                Origin::Config,
                vec![format!("{}: fixed in the config ([mode] mode)", m.as_str())],
            )
        }
        (None, Requested::Auto) => {
            let (m, lines) = auto(s, plan);
            (m, Origin::Auto, lines)
        }
    };
    explanation.extend(describe(mode, s));
    Ok(Deployment {
        mode,
        origin,
        explanation,
    })
}

/// `auto`: the decision among the variants present.
fn auto(s: &ModeSettings, plan: Option<&Plan>) -> (Mode, Vec<String>) {
    let adapter = available(Mode::Adapter, s);
    let merged = available(Mode::Merged, s);
    let decision = plan.map(|p| decide_mode(p, &mode_config(s, p)));
    let decided = decision.as_ref().map(|d| match d.chosen {
        medllm_planner::Mode::Adapter => Mode::Adapter,
        medllm_planner::Mode::Merged => Mode::Merged,
    });
    let (mode, why) = match (&adapter, &merged, decided) {
        (Ok(()), Ok(()), Some(m)) => (m, "the decision's choice (larger D)".to_string()),
        (Ok(()), Ok(()), None) => (
            Mode::Adapter,
            "planner off, so no decision: adapter mode serves every specialty".to_string(),
        ),
        (Ok(()), Err(e), _) => (Mode::Adapter, format!("the only variant available ({e})")),
        (Err(e), Ok(()), _) => (Mode::Merged, format!("the only variant available ({e})")),
        (Err(a), Err(m), _) => (Mode::Base, format!("no variant available ({a}; {m})")),
    };
    let mut lines = vec![format!("{}: auto, {why}", mode.as_str())];
    if let Some(d) = decision {
        lines.extend(d.explanation);
    }
    (mode, lines)
}

/// The decision's inputs: the configured weights, the number of adapters and their size.
pub fn mode_config(s: &ModeSettings, _plan: &Plan) -> ModeConfig {
    let w = &s.weights;
    let largest = s
        .adapters
        .iter()
        .filter_map(|a| std::fs::metadata(&a.path).ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0);
    ModeConfig {
        adapters: u32::try_from(s.adapters.len()).unwrap_or(u32::MAX),
        switch_rate: w.switch_rate,
        latency_target_s: w.latency_target_s,
        adapter_mib: largest.div_ceil(1 << 20).max(1),
        lora_overhead: w.lora_overhead,
        alpha: w.alpha,
        beta: w.beta,
        gamma: w.gamma,
        ..ModeConfig::default()
    }
}

/// What `mode` runs, for the explanation.
fn describe(mode: Mode, s: &ModeSettings) -> Vec<String> {
    match mode {
        Mode::Base => vec!["every category runs the base model".into()],
        Mode::Merged => s
            .merged_model
            .iter()
            .map(|p| format!("every category runs the merged model {}", p.display()))
            .collect(),
        Mode::Adapter => {
            let per: Vec<String> = Category::ALL
                .iter()
                .map(
                    |c| match s.adapter_for(*c).and_then(|i| s.adapters.get(i)) {
                        Some(a) => format!("{c} → {} ×{}", a.name, a.scale),
                        None => format!("{c} → base"),
                    },
                )
                .collect();
            vec![format!("adapters per category: {}", per.join(", "))]
        }
    }
}

/// Set the engine up for `d`: the merged model file, or the adapters and which template uses
/// which; the base model otherwise.
pub fn apply(d: &Deployment, s: &ModeSettings, e: &mut EngineConfig) {
    e.adapters.clear();
    e.core.template_adapters.clear();
    match d.mode {
        Mode::Base => {}
        Mode::Merged => {
            if let Some(p) = &s.merged_model {
                e.model_path = p.clone();
            }
        }
        Mode::Adapter => {
            e.adapters = s
                .adapters
                .iter()
                .map(|a| AdapterSpec {
                    name: a.name.clone(),
                    path: a.path.clone(),
                    scale: a.scale,
                })
                .collect();
            // Templates are the categories in `Category::ALL` order (`Service::system_prompts`).
            e.core.template_adapters = Category::ALL.iter().map(|c| s.adapter_for(*c)).collect();
        }
    }
}

/// The identity of what the engine runs (`ModelId`, answer-cache namespace): the model file's
/// sha256, or in adapter mode a sha256 over it, every adapter file's hash and scale and the
/// category mapping — an adapter changes the answers, so it must change the namespace.
pub fn engine_sha256(e: &EngineConfig, state_dir: &Path) -> Result<String> {
    let base = model_hash::cached_sha256(&e.model_path, state_dir)?;
    if e.adapters.is_empty() {
        return Ok(base);
    }
    let mut h = Sha256::new();
    h.update(base.as_bytes());
    for a in &e.adapters {
        h.update(model_hash::cached_sha256(&a.path, state_dir)?.as_bytes());
        h.update(a.scale.to_le_bytes());
    }
    h.update(format!("{:?}", e.core.template_adapters).as_bytes());
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests;
