//! A sketch of llama.cpp's worst-case ("reserve") graph: the tensors whose sizes decide the compute buffers.
//!
//! `llama_context::sched_reserve` builds the prompt-processing graph for `n_tokens = min(n_ctx, n_ubatch)`
//! (rounded up to a multiple of `n_seq_max`) with every token an output, over the full KV cache, and lets
//! ggml-alloc size the buffers. This module writes the same tensors in the same order for a llama-style
//! decoder (the families medllm runs: llama, qwen2, gemma2/3, mistral, phi3 and MoE variants): graph inputs,
//! token embedding, per layer norm → q/k/v → (q/k norm, rope) → cache store → attention (flash or
//! `kq`/softmax/`kqv`) → output projection → residual → norm → FFN → residual, then the output norm and the
//! logits (`n_vocab × n_outputs × 4` bytes, the dominant term for large vocabularies). Weights and cache
//! views are external and not listed; each op runs on the device of its weights, cross-device reads get a
//! copy in the reader's buffer as ggml's scheduler inserts.

use super::Device;
use super::alloc::Node;
use crate::model::{ModelProfile, TensorGroup};
use crate::plan::{ContextSettings, Placement};
use std::collections::HashMap;

/// Sizes the graph is built for.
#[derive(Clone, Copy, Debug)]
pub struct GraphDims {
    /// Tokens in the reserved micro-batch.
    pub n_tokens: u64,
    /// Output rows (logits) in it.
    pub n_outputs: u64,
    /// Cells of the full-attention cache seen by attention.
    pub n_kv: u64,
    /// Cells of the sliding-window cache.
    pub n_kv_swa: u64,
}

struct Builder {
    nodes: Vec<Node>,
    /// (source, device) → copy node, as `tensor_id_copy` in ggml-backend.
    copies: HashMap<(usize, Device), usize>,
}

impl Builder {
    fn push(&mut self, size: u64, device: Device, srcs: &[usize], inplace: bool) -> usize {
        let srcs: Vec<usize> = srcs.iter().map(|&s| self.local(s, device)).collect();
        self.nodes.push(Node {
            size,
            device,
            srcs,
            inplace,
            input: false,
            output: false,
            view: false,
        });
        self.nodes.len() - 1
    }

    /// `src` as seen from `device`: itself, or a copy allocated there before its first reader.
    fn local(&mut self, src: usize, device: Device) -> usize {
        if self.nodes[src].device == device {
            return src;
        }
        if let Some(&c) = self.copies.get(&(src, device)) {
            return c;
        }
        let size = self.nodes[src].size;
        self.nodes.push(Node {
            size,
            device,
            srcs: vec![src],
            inplace: false,
            input: false,
            output: false,
            view: false,
        });
        let c = self.nodes.len() - 1;
        self.copies.insert((src, device), c);
        c
    }

    fn input(&mut self, size: u64) -> usize {
        self.nodes.push(Node {
            size,
            device: Device::Cpu,
            srcs: Vec::new(),
            inplace: false,
            input: true,
            output: false,
            view: false,
        });
        self.nodes.len() - 1
    }

    fn view(&mut self, device: Device, srcs: &[usize]) -> usize {
        let i = self.push(0, device, srcs, false);
        self.nodes[i].view = true;
        i
    }
}

/// Builds the node list of the reserve graph.
pub fn build(
    model: &ModelProfile,
    ctx: &ContextSettings,
    placement: &Placement,
    dims: &GraphDims,
) -> Vec<Node> {
    let hp = &model.hparams;
    let f32b = 4u64;
    let t = dims.n_tokens;
    let e = hp.n_embd;
    let mut b = Builder {
        nodes: Vec::with_capacity(64 + 40 * model.layers.len()),
        copies: HashMap::new(),
    };
    let cpu = Device::Cpu;
    let has_swa = model.layers.iter().any(|l| l.is_swa);
    let v_trans = !ctx.flash_attn;
    let mask_elem = if ctx.flash_attn { 2 } else { 4 };

    // --- graph inputs (all allocated first) and the embedding select (build_inp_embd)
    let tokens = b.input(t * 4);
    let embd_rows = b.push(e * t * f32b, cpu, &[tokens], false);
    let _embd_in = b.input(e * t * f32b);
    let mixed_embd = b.input(e * t * f32b);
    // the mixed branch writes into a dup of its input; the set_rows view keeps the dup alive to the end
    let dup = b.push(e * t * f32b, cpu, &[mixed_embd], false);
    b.nodes[dup].output = true;
    let mixed_tokens = b.input(t * 4);
    let mixed_rows = b.push(e * t * f32b, cpu, &[mixed_tokens], false);
    let mixed_slots = b.input(t * 8);
    b.view(cpu, &[dup, mixed_rows, mixed_slots]);
    let scale_rows = b.input(t * f32b);
    let mut inp_l = b.push(e * t * f32b, cpu, &[embd_rows, scale_rows], true);
    let pos = b.input(t * 4);
    let v_width = model
        .layers
        .iter()
        .map(|l| l.n_embd_v_gqa)
        .max()
        .unwrap_or(0);
    let mut attn_inputs = |n_kv: u64| {
        let k_idxs = b.input(t * 8);
        let v_idxs = b.input(if v_trans { t * v_width * 8 } else { t * 8 });
        let mask = b.input(n_kv * t * mask_elem);
        (k_idxs, v_idxs, mask)
    };
    let base_in = attn_inputs(dims.n_kv);
    let swa_in = if has_swa {
        Some(attn_inputs(dims.n_kv_swa))
    } else {
        None
    };
    let out_ids = b.input(dims.n_outputs * 4);

    let n_layer = model.layers.len();
    for (il, layer) in model.layers.iter().enumerate() {
        let ld = if placement.layer_on_gpu(il as u32) {
            Device::Gpu
        } else {
            cpu
        };
        let fd = |g: TensorGroup| {
            if placement.layer_on_gpu(il as u32) && placement.group_on_gpu(g, il as u32) {
                Device::Gpu
            } else {
                cpu
            }
        };
        let (k_idxs, v_idxs, mask) = match (&swa_in, layer.is_swa) {
            (Some(s), true) => *s,
            _ => base_in,
        };
        let n_kv = if layer.is_swa {
            dims.n_kv_swa
        } else {
            dims.n_kv
        };
        let (hq, dk, dv) = (hp.n_head, hp.head_dim_k, hp.head_dim_v);
        let mut x = inp_l;
        let norm = b.push(e * t * f32b, ld, &[x], true);
        let norm = b.push(e * t * f32b, ld, &[norm], true);
        // q chain, then k chain, then v (build_attn expands them in this order)
        let mut q = b.push(hq * dk * t * f32b, ld, &[norm], false);
        if hp.qk_norm {
            q = b.push(hq * dk * t * f32b, ld, &[q], true);
            q = b.push(hq * dk * t * f32b, ld, &[q], true);
        }
        q = b.push(hq * dk * t * f32b, ld, &[q, pos], true); // rope
        let mut k = b.push(layer.n_embd_k_gqa * t * f32b, ld, &[norm], false);
        if hp.qk_norm {
            k = b.push(layer.n_embd_k_gqa * t * f32b, ld, &[k], true);
            k = b.push(layer.n_embd_k_gqa * t * f32b, ld, &[k], true);
        }
        k = b.push(layer.n_embd_k_gqa * t * f32b, ld, &[k, pos], true);
        let v = b.push(layer.n_embd_v_gqa * t * f32b, ld, &[norm], false);
        b.view(ld, &[k, k_idxs]);
        b.view(ld, &[v, v_idxs]);
        let attn = if ctx.flash_attn {
            b.push(dv * hq * t * f32b, ld, &[q, mask], false)
        } else {
            let kq = b.push(n_kv * t * hq * f32b, ld, &[q], false);
            let kq = b.push(n_kv * t * hq * f32b, ld, &[kq, mask], true); // soft_max_ext
            let kqv = b.push(dv * t * hq * f32b, ld, &[kq], false);
            b.push(dv * hq * t * f32b, ld, &[kqv], false) // cont of the permute
        };
        let mut o = b.push(e * t * f32b, ld, &[attn], false);
        let mut rows = t;
        if il + 1 == n_layer {
            rows = dims.n_outputs;
            o = b.push(e * rows * f32b, ld, &[o, out_ids], false);
            x = b.push(e * rows * f32b, ld, &[x, out_ids], false);
        }
        if hp.post_norms {
            o = b.push(e * rows * f32b, ld, &[o], true);
            o = b.push(e * rows * f32b, ld, &[o], true);
        }
        let sa = b.push(e * rows * f32b, ld, &[o, x], true);
        let n2 = b.push(e * rows * f32b, ld, &[sa], true);
        let n2 = b.push(e * rows * f32b, ld, &[n2], true);
        let ffn_out = ffn(&mut b, model, layer.group_bytes, n2, rows, &fd, ld);
        let mut y = ffn_out;
        if hp.post_norms {
            y = b.push(e * rows * f32b, ld, &[y], true);
            y = b.push(e * rows * f32b, ld, &[y], true);
        }
        inp_l = b.push(e * rows * f32b, ld, &[y, sa], true);
    }
    let od = if placement.output_on_gpu {
        Device::Gpu
    } else {
        cpu
    };
    let r = dims.n_outputs;
    let norm = b.push(e * r * f32b, od, &[inp_l], true);
    let t_embd = b.push(e * r * f32b, od, &[norm], true);
    b.nodes[t_embd].output = true;
    let logits = b.push(hp.n_vocab * r * f32b, od, &[t_embd], false);
    b.nodes[logits].output = true;
    b.nodes
}

/// FFN nodes (dense gated/plain, or routed experts with optional shared experts); returns the output node.
fn ffn(
    b: &mut Builder,
    model: &ModelProfile,
    group_bytes: [u64; 6],
    input: usize,
    rows: u64,
    fd: &dyn Fn(TensorGroup) -> Device,
    ld: Device,
) -> usize {
    let hp = &model.hparams;
    let f32b = 4;
    let e = hp.n_embd;
    let dense = |b: &mut Builder, n_ff: u64, dev: Device| {
        let up = b.push(n_ff * rows * f32b, dev, &[input], false);
        let act = if hp.ffn_gated {
            let gate = b.push(n_ff * rows * f32b, dev, &[input], false);
            b.push(n_ff * rows * f32b, dev, &[gate, up], false) // *glu_split: not in place
        } else {
            b.push(n_ff * rows * f32b, dev, &[up], true)
        };
        b.push(e * rows * f32b, dev, &[act], false)
    };
    if hp.n_expert == 0 || group_bytes[TensorGroup::FfnExperts.index()] == 0 {
        return dense(b, hp.n_ff, fd(TensorGroup::Ffn));
    }
    let (ne, k) = (hp.n_expert, hp.n_expert_used.max(1));
    let router = b.push(ne * rows * f32b, ld, &[input], false);
    let probs = b.push(ne * rows * f32b, ld, &[router], true);
    let order = b.push(ne * rows * 4, ld, &[probs], false); // argsort (top-k is a view)
    let weights = b.push(k * rows * f32b, ld, &[probs, order], false);
    let xd = fd(TensorGroup::FfnExperts);
    let up = b.push(hp.n_ff * k * rows * f32b, xd, &[input, order], false);
    let gate = b.push(hp.n_ff * k * rows * f32b, xd, &[input, order], false);
    let act = b.push(hp.n_ff * k * rows * f32b, xd, &[gate, up], false);
    let down = b.push(e * k * rows * f32b, xd, &[act, order], false);
    let weighted = b.push(e * k * rows * f32b, xd, &[down, weights], true);
    // sum over the k expert views: the first add allocates, the rest run in place
    let mut moe = b.push(e * rows * f32b, xd, &[weighted], false);
    for _ in 2..k {
        moe = b.push(e * rows * f32b, xd, &[moe, weighted], true);
    }
    if group_bytes[TensorGroup::FfnSharedExperts.index()] > 0 {
        let shared_ff = hp.n_ff;
        let sh = dense(b, shared_ff, fd(TensorGroup::FfnSharedExperts));
        moe = b.push(e * rows * f32b, ld, &[moe, sh], true);
    }
    moe
}
