//! The speed model: predicted seconds per request for a placement, decomposed so the ILP can use it.
//!
//! Decode is memory bound: every generated token reads each weight once (experts: the used fraction) and the
//! KV cache of every layer over the current context (SWA layers: at most the window), each from the device
//! it lives on, at that device's effective bandwidth; each CPU↔GPU transition costs a synchronisation plus a
//! hidden-state copy over PCIe; each layer costs a fixed launch/synchronisation overhead. Prefill is compute
//! bound: 2 FLOP per weight per token plus attention over the context; with a GPU backend llama.cpp offloads
//! large-batch matrix multiplications on CPU weights to the GPU (`op_offload`), streaming those weights over
//! PCIe once per micro-batch. A request is `prompt` tokens of prefill and `answer` tokens of decode.
//!
//! Every term depends on the device of one layer part only, so the total is a sum of per-part costs on the
//! CPU or the GPU ([`CostTable`]), plus transitions: exactly the linear form [`crate::ilp`] optimises.

use crate::host::HostProfile;
use crate::model::{ModelProfile, TensorGroup};
use crate::plan::{ContextSettings, Placement, Workload};
use serde::{Deserialize, Serialize};

/// Effective rates of a host (bytes/s, FLOP/s, seconds).
#[derive(Clone, Copy, Debug)]
pub struct Rates {
    /// CPU memory bandwidth reached by llama.cpp's decode (a fraction of the streaming-read figure).
    pub cpu_bw: f64,
    /// GPU memory bandwidth reached by decode kernels.
    pub gpu_bw: f64,
    /// Host↔GPU bandwidth, one direction.
    pub pcie: f64,
    /// CPU matrix-multiply throughput.
    pub cpu_flops: f64,
    /// GPU matrix-multiply throughput at a large batch.
    pub gpu_flops: f64,
    /// Fixed cost of one CPU↔GPU transition (launch, copy, synchronise).
    pub handoff_latency: f64,
    /// Fixed per-layer cost per decode step on the CPU (thread barriers between ops).
    pub cpu_layer_overhead: f64,
    /// Fixed per-layer cost per decode step on the GPU (kernel launches).
    pub gpu_layer_overhead: f64,
    /// A GPU backend is loaded (prefill matrix products on CPU weights go through it).
    pub gpu_backend: bool,
    /// `op_offload` (llama.cpp default on).
    pub op_offload: bool,
}

impl Rates {
    /// Rates for a host profile; `gpu_backend` says whether the plan loads the GPU backend at all.
    pub fn for_host(host: &HostProfile, gpu_backend: bool, op_offload: bool) -> Self {
        // Decode reaches ~80 % of a streaming read on the CPU and ~75 % of the data-sheet figure on a GPU.
        let cpu_bw = host.cpu.mem_bandwidth_gbps * 1e9 * 0.80;
        let (gpu_bw, pcie, gpu_flops, latency) = match (&host.gpu, gpu_backend) {
            (Some(g), true) => {
                let latency = if host.unified_memory { 8e-6 } else { 25e-6 };
                (
                    g.mem_bandwidth_gbps * 1e9 * 0.75,
                    g.pcie_bandwidth_gbps * 1e9 * 0.8,
                    g.gflops * 1e9,
                    latency,
                )
            }
            _ => (cpu_bw, 1e12, host.cpu.gflops * 1e9, 0.0),
        };
        Self {
            cpu_bw,
            gpu_bw,
            pcie,
            cpu_flops: host.cpu.gflops * 1e9,
            gpu_flops,
            handoff_latency: latency,
            cpu_layer_overhead: 25e-6,
            gpu_layer_overhead: 40e-6,
            gpu_backend: gpu_backend && host.gpu.is_some(),
            op_offload,
        }
    }

    /// GPU throughput at micro-batch `ub`: small batches do not fill the GPU.
    fn gpu_flops_at(&self, ub: f64) -> f64 {
        self.gpu_flops * ub / (ub + 64.0)
    }
}

/// Seconds per request of each placeable part on the CPU (`.0`) and on the GPU (`.1`).
#[derive(Clone, Debug)]
pub struct CostTable {
    /// Per layer: the part that always follows the layer (attention, norms, KV, overhead).
    pub base: Vec<(f64, f64)>,
    /// Per overridable group present in the model: per layer costs.
    pub groups: Vec<(TensorGroup, Vec<(f64, f64)>)>,
    /// The output layer.
    pub output: (f64, f64),
    /// Parts that never move (token embedding lookup).
    pub fixed: f64,
    /// Cost of one CPU↔GPU transition per request (decode tokens × latency + prefill copies).
    pub handoff: f64,
    /// Whether any GPU cost is finite (a GPU backend is in use).
    pub gpu: bool,
}

impl CostTable {
    /// Evaluates a placement: seconds per request.
    pub fn request_seconds(&self, p: &Placement) -> f64 {
        let mut s = self.fixed;
        for (i, c) in self.base.iter().enumerate() {
            s += if p.layer_on_gpu(i as u32) { c.1 } else { c.0 };
        }
        for (g, costs) in &self.groups {
            for (i, c) in costs.iter().enumerate() {
                s += if p.layer_on_gpu(i as u32) && p.group_on_gpu(*g, i as u32) {
                    c.1
                } else {
                    c.0
                };
            }
        }
        s += if p.output_on_gpu {
            self.output.1
        } else {
            self.output.0
        };
        s + self.handoff * f64::from(transitions(p, &self.groups))
    }
}

/// CPU↔GPU transitions per forward pass: into and out of the GPU part, plus two per offloaded layer whose
/// FFN stays on the CPU.
pub fn transitions(p: &Placement, groups: &[(TensorGroup, Vec<(f64, f64)>)]) -> u32 {
    if !p.uses_gpu() {
        return 0;
    }
    let split: u32 = groups
        .iter()
        .map(|(g, _)| {
            p.group_gpu_from[g.index()]
                .saturating_sub(p.first_gpu_layer)
                .min(p.offloaded_layers())
        })
        .max()
        .unwrap_or(0);
    2 + 2 * split
}

/// Per-token figures of a placement.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Speed {
    /// Prompt tokens per second.
    pub prefill_tps: f64,
    /// Generated tokens per second for one stream.
    pub decode_tps: f64,
    /// Generated tokens per second per stream with `parallel` streams decoding together.
    pub decode_tps_per_stream: f64,
    /// Generated tokens per second over all streams.
    pub decode_tps_total: f64,
    /// Streams the last two figures are for.
    pub parallel: u32,
    /// Expected seconds for one request of the workload (prefill + decode, alone on the machine).
    pub request_seconds: f64,
}

/// Builds the cost table of a model on a host for a context and workload.
pub fn cost_table(
    model: &ModelProfile,
    ctx: &ContextSettings,
    rates: &Rates,
    w: &Workload,
) -> CostTable {
    let part = PartCost::new(model, ctx, rates, w);
    let hp = &model.hparams;
    let base = model
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let bytes = l.bytes(TensorGroup::Attn)
                + l.bytes(TensorGroup::Norm)
                + l.bytes(TensorGroup::Other);
            let params = l.group_params[TensorGroup::Attn.index()]
                + l.group_params[TensorGroup::Other.index()];
            let kv = part.kv_read_per_token(model, i);
            let attn_flops = part.attention_flops_per_token(model);
            (
                part.cost(bytes, params, kv, attn_flops, false) + part.a * rates.cpu_layer_overhead,
                part.cost(bytes, params, kv, attn_flops, true) + part.a * rates.gpu_layer_overhead,
            )
        })
        .collect();
    let groups = TensorGroup::OVERRIDABLE
        .iter()
        .filter(|g| model.layers.iter().any(|l| l.bytes(**g) > 0))
        .map(|&g| {
            let costs = model
                .layers
                .iter()
                .map(|l| {
                    let read = read_bytes(model, g, l.bytes(g));
                    let params = l.group_params[g.index()];
                    let stream = l.bytes(g);
                    (
                        part.cost_group(read, stream, params, false),
                        part.cost_group(read, stream, params, true),
                    )
                })
                .collect();
            (g, costs)
        })
        .collect();
    let out_bytes = model.output_bytes();
    // The output matrix is read once per generated token (and once at the end of the prompt).
    let output = (
        (part.a + 1.0) * out_bytes as f64 / rates.cpu_bw,
        if rates.gpu_backend {
            (part.a + 1.0) * out_bytes as f64 / rates.gpu_bw
        } else {
            f64::INFINITY
        },
    );
    let handoff = if rates.gpu_backend {
        let copy = hp.n_embd as f64 * 4.0 / rates.pcie;
        part.a * (rates.handoff_latency + copy) + part.p * (rates.handoff_latency / part.ub + copy)
    } else {
        0.0
    };
    CostTable {
        base,
        groups,
        output,
        fixed: 0.0,
        handoff,
        gpu: rates.gpu_backend,
    }
}

/// Bytes of a group read per generated token (routed experts: the used fraction).
fn read_bytes(model: &ModelProfile, g: TensorGroup, bytes: u64) -> f64 {
    let hp = &model.hparams;
    if g == TensorGroup::FfnExperts && hp.n_expert > 0 {
        bytes as f64 * hp.n_expert_used.max(1) as f64 / hp.n_expert as f64
    } else {
        bytes as f64
    }
}

/// Shared arithmetic of the per-part costs.
struct PartCost<'a> {
    rates: &'a Rates,
    /// Prompt tokens.
    p: f64,
    /// Answer tokens.
    a: f64,
    /// Micro-batch.
    ub: f64,
    /// Mean context during prefill / decode.
    c_pre: f64,
    c_dec: f64,
}

impl<'a> PartCost<'a> {
    fn new(_model: &ModelProfile, ctx: &ContextSettings, rates: &'a Rates, w: &Workload) -> Self {
        let p = f64::from(w.prompt_tokens.max(1));
        let a = f64::from(w.answer_tokens.max(1));
        Self {
            rates,
            p,
            a,
            ub: f64::from(ctx.n_ubatch.max(1)),
            c_pre: p / 2.0 + f64::from(w.template_tokens),
            c_dec: p + a / 2.0 + f64::from(w.template_tokens),
        }
    }

    /// KV bytes read per generated token in layer `i`.
    fn kv_read_per_token(&self, model: &ModelProfile, i: usize) -> f64 {
        let l = &model.layers[i];
        let window = if l.is_swa && model.hparams.n_swa > 0 {
            model.hparams.n_swa as f64
        } else {
            f64::MAX
        };
        // f16 cache assumed for reading cost; a quantized cache reads fewer bytes but dequantizes: a wash.
        (l.n_embd_k_gqa + l.n_embd_v_gqa) as f64 * 2.0 * self.c_dec.min(window)
    }

    /// Attention FLOP per prompt token per layer (QKᵀ and softmax·V over the mean prefill context).
    fn attention_flops_per_token(&self, model: &ModelProfile) -> f64 {
        let hp = &model.hparams;
        2.0 * self.c_pre * hp.n_head as f64 * (hp.head_dim_k + hp.head_dim_v) as f64
    }

    fn matmul_rate(&self, on_gpu: bool) -> f64 {
        if on_gpu || (self.rates.gpu_backend && self.rates.op_offload) {
            self.rates.gpu_flops_at(self.ub)
        } else {
            // the CPU also loses a little per micro-batch (thread start-up, B-matrix conversion)
            self.rates.cpu_flops * self.ub / (self.ub + 16.0)
        }
    }

    fn stream(&self, bytes: f64, on_gpu: bool) -> f64 {
        if !on_gpu && self.rates.gpu_backend && self.rates.op_offload {
            // weights cross PCIe once per micro-batch
            self.p / self.ub * bytes / self.rates.pcie
        } else {
            0.0
        }
    }

    /// Request seconds of a layer's fixed part.
    fn cost(&self, bytes: u64, params: u64, kv: f64, attn_flops: f64, on_gpu: bool) -> f64 {
        if on_gpu && !self.rates.gpu_backend {
            return f64::INFINITY;
        }
        let (bw, flops) = if on_gpu {
            (self.rates.gpu_bw, self.rates.gpu_flops_at(self.ub))
        } else {
            (self.rates.cpu_bw, self.rates.cpu_flops)
        };
        let decode = self.a * (bytes as f64 + kv) / bw;
        let prefill =
            self.p * (2.0 * params as f64 / self.matmul_rate(on_gpu) + attn_flops / flops);
        decode + prefill + self.stream(bytes as f64, on_gpu)
    }

    /// Request seconds of an overridable group.
    fn cost_group(&self, read: f64, stream_bytes: u64, params: u64, on_gpu: bool) -> f64 {
        if on_gpu && !self.rates.gpu_backend {
            return f64::INFINITY;
        }
        let bw = if on_gpu {
            self.rates.gpu_bw
        } else {
            self.rates.cpu_bw
        };
        self.a * read / bw
            + self.p * 2.0 * params as f64 / self.matmul_rate(on_gpu)
            + self.stream(stream_bytes as f64, on_gpu)
    }
}

/// Speed figures of a placement; `parallel` streams for the throughput figures.
pub fn speed(
    model: &ModelProfile,
    ctx: &ContextSettings,
    rates: &Rates,
    w: &Workload,
    p: &Placement,
    parallel: u32,
) -> Speed {
    // One prompt token, one answer token: the table then holds per-token costs.
    let one = |prompt: u32, answer: u32| Workload {
        prompt_tokens: prompt,
        answer_tokens: answer,
        ..w.clone()
    };
    let request = cost_table(model, ctx, rates, w).request_seconds(p);
    // Decode per token: difference of two answer lengths isolates the per-token decode cost.
    let a0 = w.answer_tokens.max(1);
    let t_a = cost_table(model, ctx, rates, &one(w.prompt_tokens, a0 + 100)).request_seconds(p);
    let t_b = cost_table(model, ctx, rates, &one(w.prompt_tokens, a0)).request_seconds(p);
    let decode = ((t_a - t_b) / 100.0).max(1e-9);
    let p0 = w.prompt_tokens.max(1);
    let t_c = cost_table(model, ctx, rates, &one(p0 + 512, a0)).request_seconds(p);
    let prefill = ((t_c - t_b) / 512.0).max(1e-9);
    // With B streams the weights are read once per step and each stream adds its KV reads.
    let b = f64::from(parallel.max(1));
    let kv_per_token: f64 = model
        .layers
        .iter()
        .map(|l| {
            let part = PartCost::new(model, ctx, rates, w);
            let kv = part.kv_read_per_token(model, l.index as usize);
            kv / if p.layer_on_gpu(l.index) {
                rates.gpu_bw
            } else {
                rates.cpu_bw
            }
        })
        .sum();
    let step = decode + (b - 1.0) * kv_per_token;
    Speed {
        prefill_tps: 1.0 / prefill,
        decode_tps: 1.0 / decode,
        decode_tps_per_stream: 1.0 / step,
        decode_tps_total: b / step,
        parallel: parallel.max(1),
        request_seconds: request,
    }
}
