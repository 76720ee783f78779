//! The placement ILP (good_lp on microlp, pure Rust).
//!
//! Variables (all binary): `u_t` — the first offloaded layer is `t` (`t = L`: none), one-hot over `0..=L`;
//! `w_{g,s}` — group `g` is on the GPU from layer `s` on, one-hot, with `s ≥ t` (monotone CPU overrides: one
//! regex per group); `o` — the output layer is on the GPU (`o ≥ 1 − u_L`: llama.cpp offloads the output layer
//! before any repeating layer). A continuous `m ≥ s_g − t` counts layers whose FFN stays behind (each costs two
//! CPU↔GPU transitions per token).
//!
//! Because each choice is a suffix, every memory and time term is a prefix/suffix sum precomputed per `t`/`s`:
//! GPU bytes `Σ_t u_t·G(t) + Σ_{g,s} w_{g,s}·G_g(s) + o·G_out + compute` ≤ GPU budget, RAM likewise (one
//! pooled constraint on unified-memory hosts), objective = seconds per request from [`crate::cost`]. The
//! compute buffers depend on the placement only through "any layer on the GPU / on the CPU" and "output on
//! the GPU"; they enter linearly from three simulated corner placements. The result is re-checked with the
//! exact memory model and the budget tightened by any excess until it fits.

use crate::cost::CostTable;
use crate::error::{PlanError, Result};
use crate::host::MIB;
use crate::memory::{self, MemoryEnv, kv, weights};
use crate::model::{ModelProfile, TensorGroup, TensorRole};
use crate::plan::{Budgets, ContextSettings, Placement};
use good_lp::{
    Expression, Solution, SolverModel, Variable, constraint, microlp, variable, variables,
};

/// Everything that stays fixed while the ILP chooses the placement.
#[derive(Debug)]
pub struct IlpInput<'a> {
    /// The model.
    pub model: &'a ModelProfile,
    /// Context settings.
    pub ctx: &'a ContextSettings,
    /// Memory environment (a GPU backend is assumed: without one there is nothing to place).
    pub env: &'a MemoryEnv,
    /// Per-part costs.
    pub costs: &'a CostTable,
    /// Budgets.
    pub budgets: Budgets,
    /// Allow CPU overrides of FFN groups.
    pub overrides: bool,
}

/// Per-layer memory in MiB (f64 keeps the LP well scaled).
struct Coefficients {
    /// Per layer: (cpu, gpu) MiB of the part that follows the layer, KV included.
    base: Vec<(f64, f64)>,
    /// Per overridable group present: per layer (cpu, gpu) MiB.
    groups: Vec<(TensorGroup, Vec<(f64, f64)>)>,
    /// Output layer (cpu, gpu) MiB.
    output: (f64, f64),
    /// RAM that never moves: token embedding, output buffer, overhead.
    ram_fixed: f64,
    /// Compute buffers of the corner placements: all CPU, output only on GPU, all GPU: (cpu, gpu).
    corners: [(f64, f64); 3],
    /// VRAM that is there as soon as a GPU backend is loaded.
    gpu_fixed: f64,
}

fn mib(b: u64) -> f64 {
    b as f64 / MIB as f64
}

fn coefficients(input: &IlpInput<'_>) -> Coefficients {
    let m = input.model;
    let n = m.layers.len();
    let mmap = input.env.layouts.mmap;
    let overridable: Vec<TensorGroup> = if input.overrides {
        TensorGroup::OVERRIDABLE
            .iter()
            .copied()
            .filter(|g| m.layers.iter().any(|l| l.bytes(*g) > 0))
            .collect()
    } else {
        Vec::new()
    };
    let mut base = vec![(0u64, 0u64); n];
    let mut groups: Vec<(TensorGroup, Vec<(u64, u64)>)> =
        overridable.iter().map(|g| (*g, vec![(0, 0); n])).collect();
    let (mut out_cpu, mut out_gpu, mut fixed) = (0u64, 0u64, 0u64);
    for t in &m.tensors {
        let (c, g) = weights::tensor_sizes_with_gpu(t, mmap);
        match t.role {
            TensorRole::Layer { layer, group } => {
                let i = layer as usize;
                if i >= n {
                    continue;
                }
                if let Some((_, v)) = groups.iter_mut().find(|(gg, _)| *gg == group) {
                    v[i].0 += c;
                    v[i].1 += g;
                } else {
                    base[i].0 += c;
                    base[i].1 += g;
                }
            }
            TensorRole::Output | TensorRole::OutputNorm => {
                out_cpu += c;
                out_gpu += g;
            }
            TensorRole::TokenEmbd | TensorRole::Global => fixed += c,
        }
    }
    let cells = kv::kv_cells(m, input.ctx);
    for (i, b) in base.iter_mut().enumerate() {
        let k = kv::layer_kv_bytes(m, i, input.ctx, &cells);
        b.0 += k;
        b.1 += k;
    }
    let corner = |p: &Placement| {
        let [c, g] = memory::compute_buffers(m, input.ctx, p);
        (mib(c), mib(g))
    };
    let l = m.hparams.n_layer;
    let corners = [
        corner(&Placement::cpu_only(l)),
        corner(&Placement::suffix(l, 0)),
        corner(&Placement::all_gpu(l)),
    ];
    let output_buffer = m.hparams.n_vocab * u64::from(input.ctx.n_seq_max.max(1)) * 4;
    let dims = memory::graph_dims(m, input.ctx);
    let largest = m
        .tensors
        .iter()
        .filter(|t| t.matmul && t.layer().is_some())
        .map(|t| t.bytes)
        .max()
        .unwrap_or(0);
    let op_copy = if input.env.op_offload && dims.n_tokens >= 32 {
        largest.div_ceil(128) * 128
    } else {
        0
    };
    Coefficients {
        base: base.iter().map(|&(c, g)| (mib(c), mib(g))).collect(),
        groups: groups
            .into_iter()
            .map(|(g, v)| (g, v.iter().map(|&(c, x)| (mib(c), mib(x))).collect()))
            .collect(),
        output: (mib(out_cpu), mib(out_gpu)),
        ram_fixed: mib(fixed + output_buffer + input.env.host_overhead),
        corners,
        gpu_fixed: mib(input.env.gpu_overhead + op_copy),
    }
}

/// Solves for the fastest placement within the budgets; `Ok(None)` when none fits.
pub fn solve(input: &IlpInput<'_>) -> Result<Option<Placement>> {
    let coef = coefficients(input);
    let mut gpu_budget = mib(input.budgets.gpu);
    let mut ram_budget = mib(input.budgets.ram);
    for _ in 0..6 {
        let Some(p) = solve_once(input, &coef, gpu_budget, ram_budget)? else {
            return Ok(None);
        };
        // Re-check with the exact model; tighten by the excess if the linearised compute terms were short.
        let exact = memory::predict(input.model, input.ctx, &p, input.env);
        match crate::search::check_budgets(&exact, &input.budgets) {
            Ok(()) => return Ok(Some(p)),
            Err((what, need, have)) => {
                let excess = mib(need.saturating_sub(have)) + 1.0;
                if what.starts_with("GPU") {
                    gpu_budget -= excess;
                } else {
                    ram_budget -= excess;
                }
            }
        }
    }
    Ok(None)
}

fn solve_once(
    input: &IlpInput<'_>,
    c: &Coefficients,
    gpu_budget: f64,
    ram_budget: f64,
) -> Result<Option<Placement>> {
    let n = c.base.len();
    let costs = input.costs;
    let mut vars = variables!();
    let u: Vec<Variable> = (0..=n).map(|_| vars.add(variable().binary())).collect();
    let o = vars.add(variable().binary());
    let w: Vec<Vec<Variable>> = c
        .groups
        .iter()
        .map(|_| (0..=n).map(|_| vars.add(variable().binary())).collect())
        .collect();
    let split = vars.add(variable().min(0.0).max(n as f64));

    // Memory of parts switching to the GPU at `t`: (CPU part below t, GPU part from t on).
    let mem_at = |parts: &[(f64, f64)], t: usize| -> (f64, f64) {
        (
            parts[..t].iter().map(|p| p.0).sum(),
            parts[t..].iter().map(|p| p.1).sum(),
        )
    };
    let cost_at = |parts: &[(f64, f64)], t: usize| -> f64 {
        parts[..t].iter().map(|p| p.0).sum::<f64>() + parts[t..].iter().map(|p| p.1).sum::<f64>()
    };

    let [all_cpu, out_gpu, all_gpu] = c.corners;
    // GPU compute: output-only corner as soon as a backend is there, plus the layer part when a layer is offloaded.
    let mut gpu_mem =
        Expression::from(c.gpu_fixed + out_gpu.1) + (all_gpu.1 - out_gpu.1).max(0.0) * (1.0 - u[n]);
    // CPU compute: all-GPU corner, plus the CPU-layer part while a layer is on the CPU, plus the output part.
    let mut ram_mem = Expression::from(c.ram_fixed + all_gpu.0)
        + (out_gpu.0 - all_gpu.0).max(0.0) * (1.0 - u[0])
        + (all_cpu.0 - out_gpu.0).max(0.0) * (1.0 - o);
    gpu_mem += c.output.1 * o;
    ram_mem += c.output.0 * (1.0 - o);
    let mut objective = Expression::from(costs.output.0) + (costs.output.1 - costs.output.0) * o;
    objective += 2.0 * costs.handoff * o + 2.0 * costs.handoff * split;
    let mut t_index = Expression::from(0.0);
    for (t, &ut) in u.iter().enumerate() {
        let (cpu, gpu) = mem_at(&c.base, t);
        gpu_mem += gpu * ut;
        ram_mem += cpu * ut;
        objective += cost_at(&costs.base, t) * ut;
        t_index += (t as f64) * ut;
    }
    let mut constraints = vec![
        constraint!(u.iter().copied().sum::<Expression>() == 1.0),
        // any repeating layer offloaded ⇒ the output layer is too (llama.cpp's suffix rule)
        constraint!(o + u[n] >= 1.0),
    ];
    for (gi, (g, parts)) in c.groups.iter().enumerate() {
        let group_costs = costs
            .groups
            .iter()
            .find(|(cg, _)| cg == g)
            .map(|(_, v)| v.as_slice());
        let mut s_index = Expression::from(0.0);
        for (s, &ws) in w[gi].iter().enumerate() {
            let (cpu, gpu) = mem_at(parts, s);
            gpu_mem += gpu * ws;
            ram_mem += cpu * ws;
            if let Some(gc) = group_costs {
                objective += cost_at(gc, s) * ws;
            }
            s_index += (s as f64) * ws;
        }
        constraints.push(constraint!(
            w[gi].iter().copied().sum::<Expression>() == 1.0
        ));
        constraints.push(constraint!(s_index.clone() >= t_index.clone()));
        constraints.push(constraint!(split >= s_index - t_index.clone()));
    }
    // Groups not overridable here follow their layer: their costs are already in `base` or must be added.
    for (g, gc) in &costs.groups {
        if !c.groups.iter().any(|(cg, _)| cg == g) {
            for (t, &ut) in u.iter().enumerate() {
                objective += cost_at(gc, t) * ut;
            }
        }
    }
    if input.budgets.unified {
        constraints.push(constraint!(gpu_mem + ram_mem <= ram_budget));
    } else {
        constraints.push(constraint!(gpu_mem <= gpu_budget));
        constraints.push(constraint!(ram_mem <= ram_budget));
    }
    let mut model = vars.minimise(objective).using(microlp);
    for k in constraints {
        model = model.with(k);
    }
    let solution = match model.solve() {
        Ok(s) => s,
        Err(good_lp::ResolutionError::Infeasible) => return Ok(None),
        Err(e) => return Err(PlanError::Solver(e.to_string())),
    };
    let pick = |vs: &[Variable]| {
        vs.iter()
            .position(|&v| solution.value(v) > 0.5)
            .unwrap_or(vs.len() - 1)
    };
    let n_layer = n as u32;
    let first = pick(&u) as u32;
    let mut placement = Placement {
        n_layer,
        first_gpu_layer: first,
        output_on_gpu: solution.value(o) > 0.5,
        group_gpu_from: [first; 6],
    };
    for (gi, (g, _)) in c.groups.iter().enumerate() {
        placement.group_gpu_from[g.index()] = (pick(&w[gi]) as u32).max(first);
    }
    Ok(Some(placement))
}
