//! The memory model: weights per device + KV cache + compute buffers + output buffer + overheads.
//!
//! Each part mirrors the llama.cpp code that allocates it (see the submodules), so the prediction can be
//! checked buffer by buffer against llama.cpp's own log (`planner/tests/llama_accounting.rs`). This module
//! owns the arithmetic only; choosing a placement is [`crate::ilp`]'s job.

pub mod alloc;
pub mod graph;
pub mod kv;
pub mod weights;

use crate::host::MIB;
use crate::model::ModelProfile;
use crate::plan::{ContextSettings, Placement};
use serde::{Deserialize, Serialize};

/// A memory pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// System RAM.
    Cpu,
    /// GPU memory.
    Gpu,
}

/// What a buffer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BufferKind {
    /// Weights (`model buffer size`).
    Model,
    /// KV cache (`KV buffer size`).
    Kv,
    /// Graph intermediates (`compute buffer size`).
    Compute,
    /// Logits/embeddings returned to the caller (`output buffer size`).
    Output,
}

/// One llama.cpp buffer, named as llama.cpp logs it (`CPU_Mapped`, `CPU_REPACK`, `CUDA0`, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Buffer {
    /// Buffer-type name.
    pub name: String,
    /// Pool it takes memory from.
    pub device: Device,
    /// Contents.
    pub kind: BufferKind,
    /// Size in bytes.
    pub bytes: u64,
}

/// Bytes one pool needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceMemory {
    /// Weights resident in this pool.
    pub weights: u64,
    /// KV cache.
    pub kv: u64,
    /// Compute buffer.
    pub compute: u64,
    /// Output buffer (logits for `n_seq_max` rows).
    pub output: u64,
    /// Fixed overhead: the CUDA context on the GPU; process, tokenizer and daemon state in RAM.
    pub overhead: u64,
}

impl DeviceMemory {
    /// Everything.
    pub fn total(&self) -> u64 {
        self.weights + self.kv + self.compute + self.output + self.overhead
    }
}

/// The predicted memory of a configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemoryBreakdown {
    /// System RAM.
    pub cpu: DeviceMemory,
    /// GPU memory.
    pub gpu: DeviceMemory,
    /// The individual llama.cpp buffers (what the validation test compares with llama.cpp's log).
    pub buffers: Vec<Buffer>,
}

/// Inputs of a prediction beyond model, context and placement.
#[derive(Clone, Copy, Debug)]
pub struct MemoryEnv {
    /// CPU weight layouts of this host.
    pub layouts: weights::CpuLayouts,
    /// RAM overhead (process, tokenizer, daemon state).
    pub host_overhead: u64,
    /// VRAM the GPU backend takes before any buffer.
    pub gpu_overhead: u64,
    /// llama.cpp offloads large-batch ops on CPU weights to the GPU (`op_offload`, default on): the GPU
    /// compute buffer then also holds a copy of the largest such weight.
    pub op_offload: bool,
}

/// The reserve-graph dimensions llama.cpp uses for a context.
pub fn graph_dims(model: &ModelProfile, ctx: &ContextSettings) -> graph::GraphDims {
    let (n_ctx, n_batch, n_ubatch) = kv::effective_sizes(ctx);
    let cells = kv::kv_cells(model, ctx);
    let n_seqs = u64::from(ctx.n_seq_max.max(1));
    let n_tokens_raw = n_ctx.min(n_ubatch);
    let n_outputs_max = ctx.n_outputs_max.map_or(n_batch, u64::from).max(1);
    graph::GraphDims {
        n_tokens: n_tokens_raw.div_ceil(n_seqs) * n_seqs,
        n_outputs: n_tokens_raw.min(n_outputs_max),
        n_kv: cells.base,
        n_kv_swa: cells.swa,
    }
}

/// Compute-buffer bytes `[cpu, gpu]` for a placement.
pub fn compute_buffers(
    model: &ModelProfile,
    ctx: &ContextSettings,
    placement: &Placement,
) -> [u64; 2] {
    let dims = graph_dims(model, ctx);
    let nodes = graph::build(model, ctx, placement, &dims);
    alloc::simulate(&nodes, 32, 128)
}

/// Predicts every buffer of a configuration.
pub fn predict(
    model: &ModelProfile,
    ctx: &ContextSettings,
    placement: &Placement,
    env: &MemoryEnv,
) -> MemoryBreakdown {
    let w = weights::weight_buffers(model, placement, &env.layouts);
    let (kv_gpu, kv_cpu) = kv::kv_bytes(model, ctx, placement);
    let [c_cpu, mut c_gpu] = compute_buffers(model, ctx, placement);
    let uses_gpu = placement.uses_gpu();
    let dims = graph_dims(model, ctx);
    if uses_gpu && env.op_offload && dims.n_tokens >= 32 {
        c_gpu += w.largest_cpu_matrix.div_ceil(128) * 128;
    }
    let n_outputs_init = u64::from(ctx.n_seq_max.max(1));
    let output = model.hparams.n_vocab * n_outputs_init * 4;
    let mut buffers = w.buffers.clone();
    let host = if env.layouts.gpu_backend {
        "CUDA_Host"
    } else {
        "CPU"
    };
    let mut push = |name: &str, device, kind, bytes: u64| {
        if bytes > 0 {
            buffers.push(Buffer {
                name: name.to_owned(),
                device,
                kind,
                bytes,
            });
        }
    };
    push("CPU", Device::Cpu, BufferKind::Kv, kv_cpu);
    push("CUDA0", Device::Gpu, BufferKind::Kv, kv_gpu);
    push(host, Device::Cpu, BufferKind::Output, output);
    push(host, Device::Cpu, BufferKind::Compute, c_cpu);
    push("CUDA0", Device::Gpu, BufferKind::Compute, c_gpu);
    MemoryBreakdown {
        cpu: DeviceMemory {
            weights: w.cpu_resident_bytes,
            kv: kv_cpu,
            compute: c_cpu,
            output,
            overhead: env.host_overhead,
        },
        gpu: DeviceMemory {
            weights: w.gpu_bytes,
            kv: kv_gpu,
            compute: c_gpu,
            output: 0,
            overhead: if uses_gpu { env.gpu_overhead } else { 0 },
        },
        buffers,
    }
}

/// Bytes as MiB with two decimals (llama.cpp's log format).
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}
