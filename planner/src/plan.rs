//! The planner's inputs and output: [`PlanRequest`] in, [`Plan`] out (plain serde data).
//!
//! A plan carries everything the engine needs for `LlamaModelParams`/`LlamaContextParams` (n_gpu_layers, CPU
//! override regexes, context, batch sizes, threads, flash attention, KV type, parallelism), the predicted
//! memory and speed, and the reasons. Its [`Plan::fingerprint`] hashes what the plan depends on, so the daemon
//! can save it ([`Plan::to_json`]) and reuse it after a restart unless the host, model or request changed.

use crate::cost::Speed;
use crate::error::{PlanError, Result};
use crate::ggml::KvType;
use crate::host::HostProfile;
use crate::memory::MemoryBreakdown;
use crate::model::ModelProfile;
pub use crate::placement::Placement;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version of the planning rules; part of the fingerprint (a new planner re-plans).
pub const PLANNER_VERSION: &str = concat!("medllm-planner ", env!("CARGO_PKG_VERSION"), " rules 1");

/// The llama.cpp context parameters the memory model depends on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContextSettings {
    /// Total context (all sequences; llama.cpp pads it to 256).
    pub n_ctx: u32,
    /// Logical batch.
    pub n_batch: u32,
    /// Micro-batch (the reserve graph's size).
    pub n_ubatch: u32,
    /// Sequences (templates + parallel requests).
    pub n_seq_max: u32,
    /// Flash attention (needed for a quantized V cache).
    pub flash_attn: bool,
    /// K cache type.
    pub type_k: KvType,
    /// V cache type.
    pub type_v: KvType,
    /// One KV stream shared by all sequences (the daemon's setting: partial `seq_cp` needs it).
    pub kv_unified: bool,
    /// Full-size cache for sliding-window layers (off: the window is enough).
    pub swa_full: bool,
    /// `n_outputs_max` (None: llama.cpp's default `n_batch`). The logits part of the compute buffer is
    /// `n_vocab × min(n_ubatch, n_outputs_max) × 4` bytes; llama-cpp-2 0.1.160 has no setter for it yet.
    #[serde(default)]
    pub n_outputs_max: Option<u32>,
}

/// What the clinic expects of the service (weights of the objective and sizes of the context).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Workload {
    /// Tokens one request may hold (prompt + answer).
    pub ctx_per_request: u32,
    /// Expected prompt tokens per request (template suffix + question).
    pub prompt_tokens: u32,
    /// Expected answer tokens per request.
    pub answer_tokens: u32,
    /// Category template prefixes kept in the cache as their own sequences.
    pub template_seqs: u32,
    /// Tokens of each template prefix.
    pub template_tokens: u32,
    /// Fewest concurrent requests the plan must allow.
    pub parallel_min: u32,
    /// Most concurrent requests worth planning for (the largest that fits wins).
    pub parallel_max: u32,
    /// Per-stream decode speed (tokens/s) that must hold with `max_parallel` streams, if any.
    pub min_decode_tps: Option<u32>,
}

impl Default for Workload {
    fn default() -> Self {
        Self {
            ctx_per_request: 4096,
            prompt_tokens: 600,
            answer_tokens: 400,
            template_seqs: 5,
            template_tokens: 200,
            parallel_min: 1,
            parallel_max: 4,
            min_decode_tps: None,
        }
    }
}

/// Flash-attention policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashAttn {
    /// On (llama.cpp supports it on CPU and CUDA; smaller compute buffers, allows a q8_0 V cache).
    #[default]
    Auto,
    /// Forced on.
    On,
    /// Forced off.
    Off,
}

/// Knobs and safety margins.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlanOptions {
    /// Total context; None: `templates × template_tokens + parallel × ctx_per_request`.
    pub n_ctx: Option<u32>,
    /// KV types the planner may choose, in order of preference (quality).
    pub kv_types: Vec<KvType>,
    /// Flash attention.
    pub flash_attn: FlashAttn,
    /// Fixed micro-batch (None: chosen among 512, 256, 128).
    pub n_ubatch: Option<u32>,
    /// Fixed logical batch (None: max(n_ubatch, 512)).
    pub n_batch: Option<u32>,
    /// See [`ContextSettings::n_outputs_max`].
    pub n_outputs_max: Option<u32>,
    /// Use the GPU if the host has one (false when this llama.cpp build has no GPU backend).
    pub use_gpu: bool,
    /// mmap the weights (llama.cpp's default).
    pub use_mmap: bool,
    /// Allow CPU overrides of FFN groups inside offloaded layers.
    pub cpu_overrides: bool,
    /// Full-size sliding-window cache.
    pub swa_full: bool,
    /// llama.cpp's `op_offload`.
    pub op_offload: bool,
    /// VRAM kept free beyond the prediction, MiB (other programs, fragmentation).
    pub vram_margin_mib: u64,
    /// RAM kept free beyond the prediction, MiB.
    pub ram_margin_mib: u64,
    /// RAM of the daemon itself beside llama.cpp's buffers (tokenizer, caches, embedder), MiB.
    pub host_overhead_mib: u64,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            n_ctx: None,
            kv_types: vec![KvType::F16, KvType::Q8_0],
            flash_attn: FlashAttn::Auto,
            n_ubatch: None,
            n_batch: None,
            n_outputs_max: None,
            use_gpu: true,
            use_mmap: true,
            cpu_overrides: true,
            swa_full: false,
            op_offload: true,
            vram_margin_mib: 256,
            ram_margin_mib: 1024,
            host_overhead_mib: 512,
        }
    }
}

/// Everything a plan depends on.
#[derive(Clone, Debug)]
pub struct PlanRequest {
    /// The machine.
    pub host: HostProfile,
    /// The model.
    pub model: ModelProfile,
    /// The expected use.
    pub workload: Workload,
    /// Knobs.
    pub options: PlanOptions,
}

impl PlanRequest {
    /// A request with default workload and options.
    pub fn new(host: HostProfile, model: ModelProfile) -> Self {
        Self {
            host,
            model,
            workload: Workload::default(),
            options: PlanOptions::default(),
        }
    }

    /// Stable digest of (host, model, request). Free memory is left out on purpose: it moves by a few MiB
    /// between probes; the daemon re-checks a reused plan with [`Plan::fits`] instead.
    pub fn fingerprint(&self) -> String {
        let h = &self.host;
        let gpu = h.gpu.as_ref().map(|g| {
            (
                &g.name,
                g.total_mib,
                g.compute_capability,
                &g.driver_version,
                g.mem_bandwidth_gbps.to_bits(),
                g.pcie_bandwidth_gbps.to_bits(),
                g.gflops.to_bits(),
                g.backend_overhead_mib,
            )
        });
        let host_key = (
            &h.name,
            &h.cpu.brand,
            h.cpu.physical_cores,
            h.cpu.logical_cores,
            h.cpu.features,
            h.cpu.mem_bandwidth_gbps.to_bits(),
            h.cpu.gflops.to_bits(),
            h.memory.total_mib,
            h.unified_memory,
            gpu,
        );
        let text = serde_json::to_string(&(
            PLANNER_VERSION,
            host_key,
            &self.model.identity,
            &self.workload,
            &self.options,
        ))
        .unwrap_or_default();
        let digest = Sha256::digest(text.as_bytes());
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }
}

/// Memory budgets the plan was made for, bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budgets {
    /// GPU memory the plan may use (free − margin); 0 without a GPU.
    pub gpu: u64,
    /// RAM the plan may use (available − margin).
    pub ram: u64,
    /// One shared pool (the sum of both sides must fit `ram`).
    pub unified: bool,
}

/// The planner's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLANNER_VERSION`].
    pub planner_version: String,
    /// [`PlanRequest::fingerprint`] of the request that produced it.
    pub fingerprint: String,
    /// Host profile name.
    pub host: String,
    /// Model name.
    pub model: String,
    /// Model identity digest.
    pub model_identity: String,
    /// llama.cpp `n_gpu_layers`.
    pub n_gpu_layers: u32,
    /// Regexes for `LlamaModelParams::add_cpu_buft_override` (tensor buffer-type overrides to the CPU).
    pub cpu_overrides: Vec<String>,
    /// The placement in detail.
    pub placement: Placement,
    /// Total context.
    pub n_ctx: u32,
    /// Logical batch.
    pub n_batch: u32,
    /// Micro-batch.
    pub n_ubatch: u32,
    /// Sequences (templates + `max_parallel`).
    pub n_seq_max: u32,
    /// Concurrent requests.
    pub max_parallel: u32,
    /// Decode threads (physical cores).
    pub threads: u32,
    /// Prefill threads.
    pub threads_batch: u32,
    /// Flash attention.
    pub flash_attn: bool,
    /// K cache type.
    pub type_k: KvType,
    /// V cache type.
    pub type_v: KvType,
    /// Unified KV cache.
    pub kv_unified: bool,
    /// Full-size SWA cache.
    pub swa_full: bool,
    /// `n_outputs_max` the memory was predicted with.
    pub n_outputs_max: Option<u32>,
    /// mmap weights.
    pub use_mmap: bool,
    /// `op_offload`.
    pub op_offload: bool,
    /// Whether the plan loads a GPU backend at all.
    pub gpu_backend: bool,
    /// Predicted memory.
    pub memory: MemoryBreakdown,
    /// Budgets it was checked against.
    pub budgets: Budgets,
    /// Predicted speed.
    pub speed: Speed,
    /// Why: one line per decision.
    pub explanation: Vec<String>,
}

impl Plan {
    /// The context settings of the plan.
    pub fn context(&self) -> ContextSettings {
        ContextSettings {
            n_ctx: self.n_ctx,
            n_batch: self.n_batch,
            n_ubatch: self.n_ubatch,
            n_seq_max: self.n_seq_max,
            flash_attn: self.flash_attn,
            type_k: self.type_k,
            type_v: self.type_v,
            kv_unified: self.kv_unified,
            swa_full: self.swa_full,
            n_outputs_max: self.n_outputs_max,
        }
    }

    /// Whether the plan still fits a freshly probed host (same budgets rule as planning): `Err` says what no
    /// longer fits, e.g. "GPU needs 3650 MiB, 3100 MiB free".
    pub fn fits(
        &self,
        host: &HostProfile,
        options: &PlanOptions,
    ) -> std::result::Result<(), String> {
        let budgets = crate::search::budgets(host, options, self.gpu_backend);
        crate::search::check_budgets(&self.memory, &budgets).map_err(|(what, need, have)| {
            format!(
                "{what} needs {} MiB, {} MiB available",
                need >> 20,
                have >> 20
            )
        })
    }

    /// JSON for saving.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a saved plan.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| PlanError::Json(e.to_string()))
    }
}
