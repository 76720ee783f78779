//! medllm's planner: turns (host, model, workload) into a llama.cpp configuration that fits and runs fastest,
//! and says why.
//!
//! ```no_run
//! use medllm_planner::{HostProfile, ModelProfile, PlanRequest, plan, render_table};
//! let host = HostProfile::load("configs/hosts/gtx1650-4gb.toml")?;
//! let model = ModelProfile::from_gguf_path("models/model.gguf")?;
//! let plan = plan(&PlanRequest::new(host, model.clone()))?;
//! println!("{}", render_table(&plan, &model));
//! # Ok::<(), medllm_planner::PlanError>(())
//! ```
//!
//! Pure functions with I/O at the edges: [`probe`] and [`calibrate`] look at this machine, [`HostProfile::load`]
//! and [`ModelProfile::from_gguf_path`] read files; everything else is arithmetic on plain data.
//!
//! # Layout
//! - `error`: [`PlanError`], the crate's one error type.
//! - `ggml`: [`KvType`] and the ggml block sizes the planner computes with.
//! - `host`: [`HostProfile`] (serde/TOML), `host::probe` ([`probe`]: NVML + sysinfo + CPUID, never fails),
//!   `host::calibrate` ([`calibrate`]: CPU bandwidth, cached in a file).
//! - `model`: [`ModelProfile`] (tensors, per-layer group bytes, hyper-parameters), built from a GGUF header
//!   or synthesised (`model::synthetic`).
//! - `memory`: the memory model — weight buffers as llama.cpp lays them out (`memory::weights`), KV cache
//!   with sliding windows (`memory::kv`), compute buffers by replaying ggml-alloc over a sketch of the reserve
//!   graph (`memory::graph`, `memory::alloc`).
//! - `cost`: the speed model (bytes per device / bandwidth, transitions, prefill FLOPs, PCIe streaming).
//! - `ilp`: the placement ILP (good_lp + microlp).
//! - `search`: [`plan()`] — engine settings by candidate scoring; `advice`: what would fit when nothing does.
//! - `plan`: [`PlanRequest`], [`Plan`], fingerprints, JSON save/load; `placement`: [`Placement`].
//! - `patterns`: override regexes for llama.cpp's tensor buffer-type overrides.
//! - `explain`, `render`: the "why" lines and [`render_table`].
//! - `mode`: [`decide_mode`] — adapter vs merged deployment, `D(m) = α·Perf + β·Fit − γ·Cost`.
#![deny(missing_docs)]

mod advice;
pub mod cost;
mod error;
mod explain;
pub mod ggml;
pub mod host;
pub mod ilp;
pub mod memory;
pub mod mode;
pub mod model;
pub mod patterns;
pub mod placement;
pub mod plan;
mod render;
mod search;

pub use cost::Speed;
pub use error::{PlanError, Result};
pub use ggml::KvType;
pub use host::calibrate::{Calibration, CalibrationOptions, calibrate};
pub use host::probe::{probe, probe_free_memory};
pub use host::{CpuFeatures, CpuProfile, GpuProfile, HostProfile, MemoryProfile};
pub use memory::{Buffer, BufferKind, Device, DeviceMemory, MemoryBreakdown};
pub use mode::{Mode, ModeConfig, ModeDecision, ModeScore, decide_mode};
pub use model::{HyperParams, LayerSummary, ModelProfile, TensorGroup, TensorProfile, TensorRole};
pub use plan::{
    Budgets, ContextSettings, FlashAttn, PLANNER_VERSION, Placement, Plan, PlanOptions,
    PlanRequest, Workload,
};
pub use render::render_table;
pub use search::{budgets, check_budgets, plan};
