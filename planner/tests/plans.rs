//! Plans for the real 7B header fixture on the shipped host profiles (issue 5, item 9).
//!
//! Never over any budget; more memory never gives a slower plan; CPU-only hosts keep everything on the CPU;
//! a 4 GB GPU gets a partial offload and an 8 GB GPU all 28 layers at 4k context; infeasible requests say what
//! would fit; the ILP finds the same optimum as exhaustive enumeration; plans are deterministic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use medllm_planner::cost::{self, Rates};
use medllm_planner::memory::{self, MemoryEnv, weights::CpuLayouts};
use medllm_planner::model::synthetic::SyntheticSpec;
use medllm_planner::{
    ContextSettings, HostProfile, KvType, ModelProfile, Placement, Plan, PlanError, PlanRequest,
    TensorGroup, budgets, check_budgets, plan,
};
use proptest::prelude::*;
use std::path::PathBuf;
use std::sync::OnceLock;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn model_7b() -> &'static ModelProfile {
    static M: OnceLock<ModelProfile> = OnceLock::new();
    M.get_or_init(|| {
        ModelProfile::from_gguf_path(
            root().join("../shared/fixtures/deepseek-r1-distill-qwen-7b-q4_k_m.header.gguf"),
        )
        .unwrap()
    })
}

fn host(name: &str) -> HostProfile {
    HostProfile::load(root().join(format!("configs/hosts/{name}.toml"))).unwrap()
}

const HOSTS: [&str; 5] = [
    "gtx1650-4gb",
    "rtx3060-8gb",
    "rtx4060ti-16gb",
    "cpu-16gb",
    "jetson-orin-unified",
];

/// One request at 4k context (the issue's reference case).
fn single_4k(host: HostProfile) -> PlanRequest {
    let mut req = PlanRequest::new(host, model_7b().clone());
    req.workload.ctx_per_request = 4096;
    req.workload.template_seqs = 0;
    req.workload.parallel_min = 1;
    req.workload.parallel_max = 1;
    req
}

fn assert_within_budget(p: &Plan) {
    check_budgets(&p.memory, &p.budgets).unwrap_or_else(|(what, need, have)| {
        panic!("{}: {what} {need} > {have}", p.host);
    });
}

#[test]
fn fixture_profile_is_the_7b() {
    let m = model_7b();
    assert_eq!(m.hparams.n_layer, 28);
    assert_eq!(m.hparams.n_vocab, 152_064);
    assert_eq!(m.layers[0].n_embd_k_gqa, 512);
    let gib = m.weight_bytes() as f64 / (1u64 << 30) as f64;
    assert!((4.2..4.5).contains(&gib), "{gib}");
    // the synthetic twin must describe the same shape (the bench relies on the generator)
    let twin = SyntheticSpec::qwen2_7b_q4_k_m().build();
    let ratio = twin.weight_bytes() as f64 / m.weight_bytes() as f64;
    assert!((0.97..1.03).contains(&ratio), "{ratio}");
}

#[test]
fn shipped_hosts_never_exceed_a_budget() {
    for name in HOSTS {
        for req in [
            single_4k(host(name)),
            PlanRequest::new(host(name), model_7b().clone()),
        ] {
            let p = plan(&req).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_within_budget(&p);
            assert_eq!(p.budgets, budgets(&req.host, &req.options, p.gpu_backend));
            // the plan's own memory is what the exact model predicts for its settings
            let env = MemoryEnv {
                layouts: CpuLayouts::for_host(req.host.cpu.features, p.gpu_backend, p.use_mmap),
                host_overhead: req.options.host_overhead_mib << 20,
                gpu_overhead: if p.gpu_backend {
                    req.host.gpu.as_ref().unwrap().backend_overhead_mib << 20
                } else {
                    0
                },
                op_offload: p.op_offload,
            };
            assert_eq!(
                memory::predict(&req.model, &p.context(), &p.placement, &env),
                p.memory,
                "{name}"
            );
        }
    }
}

#[test]
fn cpu_only_host_keeps_everything_on_the_cpu() {
    let p = plan(&single_4k(host("cpu-16gb"))).unwrap();
    assert!(!p.gpu_backend);
    assert_eq!(p.n_gpu_layers, 0);
    assert!(p.cpu_overrides.is_empty());
    assert!(!p.placement.uses_gpu());
    assert_eq!(p.memory.gpu.total(), 0);
    assert_eq!(p.threads, 4);
    // and a GPU host told not to use its GPU behaves the same
    let mut req = single_4k(host("rtx3060-8gb"));
    req.options.use_gpu = false;
    let q = plan(&req).unwrap();
    assert_eq!(q.n_gpu_layers, 0);
    assert_eq!(q.memory.gpu.total(), 0);
}

#[test]
fn four_gb_gpu_gets_a_partial_offload() {
    let p = plan(&single_4k(host("gtx1650-4gb"))).unwrap();
    let offloaded = p.placement.offloaded_layers();
    assert!(p.placement.output_on_gpu);
    assert!((8..28).contains(&offloaded), "offloaded {offloaded}");
    assert_eq!(p.n_gpu_layers, offloaded + 1);
    // the GPU is nearly full: another whole layer would not fit
    let layer = model_7b().layers[0].total_bytes();
    assert!(
        p.budgets.gpu - p.memory.gpu.total() < 2 * layer,
        "{} MiB unused",
        (p.budgets.gpu - p.memory.gpu.total()) >> 20
    );
    assert!(
        p.explanation
            .iter()
            .any(|l| l.contains("layers and the output layer on the GPU"))
    );
}

#[test]
fn eight_gb_gpu_gets_all_28_layers_at_4k() {
    let p = plan(&single_4k(host("rtx3060-8gb"))).unwrap();
    assert_eq!(p.placement.offloaded_layers(), 28);
    assert_eq!(p.n_gpu_layers, 29);
    assert!(p.cpu_overrides.is_empty());
    assert!(p.n_ctx >= 4096);
    assert_eq!(p.type_k, KvType::F16);
}

#[test]
fn unified_memory_pools_gpu_and_ram() {
    let p = plan(&single_4k(host("jetson-orin-unified"))).unwrap();
    assert!(p.budgets.unified);
    assert!(p.memory.cpu.total() + p.memory.gpu.total() <= p.budgets.ram);
    assert_eq!(p.placement.offloaded_layers(), 28);
}

#[test]
fn infeasible_requests_say_what_would_fit() {
    // 7B with 128k context on the laptop: the KV cache alone is 7 GiB
    let mut req = single_4k(host("cpu-16gb"));
    req.workload.ctx_per_request = 131_072;
    req.options.kv_types = vec![KvType::F16];
    match plan(&req) {
        Err(PlanError::Infeasible {
            reason,
            suggestions,
        }) => {
            assert!(reason.contains("MiB"), "{reason}");
            assert!(
                suggestions.iter().any(|s| s.starts_with("ctx_per_request")),
                "{suggestions:?}"
            );
            assert!(
                suggestions.iter().any(|s| s.contains("q8_0")),
                "{suggestions:?}"
            );
            // the suggested context really fits
            let ctx: u32 = suggestions
                .iter()
                .find_map(|s| {
                    s.strip_prefix("ctx_per_request ")?
                        .split_whitespace()
                        .next()?
                        .parse()
                        .ok()
                })
                .unwrap();
            let mut smaller = req.clone();
            smaller.workload.ctx_per_request = ctx;
            plan(&smaller).unwrap();
        }
        other => panic!("expected Infeasible, got {other:?}"),
    }
    // a 70B on the 16 GB laptop: only a smaller quantization or model helps
    let mut req = PlanRequest::new(host("cpu-16gb"), SyntheticSpec::llama_70b_q4_k_m().build());
    req.workload.parallel_max = 1;
    let err = plan(&req).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("smaller"), "{text}");
}

#[test]
fn plans_are_deterministic_and_round_trip() {
    for name in HOSTS {
        let req = PlanRequest::new(host(name), model_7b().clone());
        let a = plan(&req).unwrap();
        let b = plan(&req).unwrap();
        assert_eq!(a, b, "{name}");
        assert_eq!(Plan::from_json(&a.to_json()).unwrap(), a);
        assert_eq!(a.fingerprint, req.fingerprint());
        a.fits(&req.host, &req.options).unwrap();
    }
}

#[test]
fn fingerprint_tracks_what_the_plan_depends_on() {
    let req = PlanRequest::new(host("rtx3060-8gb"), model_7b().clone());
    let base = req.fingerprint();
    // free memory moves between probes: not part of the fingerprint (Plan::fits checks it instead)
    let mut jitter = req.clone();
    jitter.host.gpu.as_mut().unwrap().free_mib -= 37;
    jitter.host.memory.available_mib -= 100;
    assert_eq!(jitter.fingerprint(), base);
    let mut other_gpu = req.clone();
    other_gpu.host.gpu.as_mut().unwrap().total_mib = 12288;
    assert_ne!(other_gpu.fingerprint(), base);
    let mut other_ctx = req.clone();
    other_ctx.workload.ctx_per_request = 8192;
    assert_ne!(other_ctx.fingerprint(), base);
    let other_model = PlanRequest::new(req.host.clone(), SyntheticSpec::qwen2_7b_q4_k_m().build());
    assert_ne!(other_model.fingerprint(), base);
    // a plan that no longer fits is reported, not reused blindly
    let p = plan(&req).unwrap();
    let mut squeezed = req.host.clone();
    squeezed.gpu.as_mut().unwrap().free_mib = 2000;
    let why = p.fits(&squeezed, &req.options).unwrap_err();
    assert!(why.contains("GPU"), "{why}");
}

#[test]
fn overrides_are_valid_monotone_patterns() {
    for name in HOSTS {
        let p = plan(&PlanRequest::new(host(name), model_7b().clone())).unwrap();
        for rx in &p.cpu_overrides {
            assert!(
                rx.starts_with(r"^blk\.(") && rx.contains(r")\.ffn_"),
                "{rx}"
            );
        }
        // each override covers layers the plan offloads
        let (from, to) = p.placement.cpu_range(TensorGroup::Ffn);
        assert!(from >= p.placement.first_gpu_layer && to <= 28);
        assert_eq!(p.cpu_overrides.is_empty(), from == to);
    }
}

#[test]
fn table_shows_parameters_memory_and_reasons() {
    let req = PlanRequest::new(host("gtx1650-4gb"), model_7b().clone());
    let p = plan(&req).unwrap();
    let t = medllm_planner::render_table(&p, &req.model);
    assert!(
        t.contains(&format!("n_gpu_layers      {}", p.n_gpu_layers)),
        "{t}"
    );
    for needle in [
        "placement",
        "memory (MiB)",
        "predicted speed",
        "why",
        "budget",
        "token_embd",
    ] {
        assert!(t.contains(needle), "missing {needle}:\n{t}");
    }
}

/// Exhaustive search over every suffix placement (and FFN override start) with the exact memory model.
fn brute_force(
    model: &ModelProfile,
    host: &HostProfile,
    ctx: &ContextSettings,
) -> Option<(Placement, f64)> {
    let req = PlanRequest::new(host.clone(), model.clone());
    let b = budgets(host, &req.options, true);
    let env = MemoryEnv {
        layouts: CpuLayouts::for_host(host.cpu.features, true, true),
        host_overhead: req.options.host_overhead_mib << 20,
        gpu_overhead: host.gpu.as_ref().unwrap().backend_overhead_mib << 20,
        op_offload: true,
    };
    let rates = Rates::for_host(host, true, true);
    let table = cost::cost_table(model, ctx, &rates, &req.workload);
    let n = model.hparams.n_layer;
    let mut best: Option<(Placement, f64)> = None;
    let mut consider = |p: Placement| {
        let m = memory::predict(model, ctx, &p, &env);
        if check_budgets(&m, &b).is_ok() {
            let t = table.request_seconds(&p);
            if best.as_ref().is_none_or(|(_, bt)| t < *bt - 1e-12) {
                best = Some((p, t));
            }
        }
    };
    consider(Placement::cpu_only(n));
    for t in 0..=n {
        for s in t..=n {
            let mut p = Placement::suffix(n, n - t);
            p.group_gpu_from[TensorGroup::Ffn.index()] = s;
            consider(p);
        }
    }
    best
}

#[test]
fn ilp_matches_exhaustive_search() {
    let model = model_7b();
    for name in ["gtx1650-4gb", "rtx3060-8gb"] {
        for (gpu_free, n_ctx) in [
            (3720, 4096),
            (2500, 8192),
            (3000, 2048),
            (6000, 32768),
            (7750, 4096),
        ] {
            let mut h = host(name);
            h.gpu.as_mut().unwrap().free_mib = gpu_free.min(h.gpu.as_ref().unwrap().total_mib);
            let mut req = PlanRequest::new(h.clone(), model.clone());
            req.workload.ctx_per_request = n_ctx;
            req.workload.template_seqs = 0;
            req.workload.parallel_min = 1;
            req.workload.parallel_max = 1;
            req.options.kv_types = vec![KvType::F16];
            req.options.n_ubatch = Some(512);
            let p = plan(&req);
            let ctx = ContextSettings {
                n_ctx,
                n_batch: 512,
                n_ubatch: 512,
                n_seq_max: 1,
                flash_attn: true,
                type_k: KvType::F16,
                type_v: KvType::F16,
                kv_unified: true,
                swa_full: false,
                n_outputs_max: None,
            };
            let brute = brute_force(model, &h, &ctx);
            match (p, brute) {
                (Ok(p), Some((bp, bt))) => {
                    let rates = Rates::for_host(&h, true, true);
                    let t = cost::cost_table(model, &ctx, &rates, &req.workload)
                        .request_seconds(&p.placement);
                    assert!(
                        t <= bt * 1.000_001,
                        "{name} {gpu_free} MiB {n_ctx}: ILP {:?} {t} vs best {bp:?} {bt}",
                        p.placement
                    );
                }
                (Err(e), Some((bp, _))) => {
                    panic!("{name} {gpu_free} {n_ctx}: ILP failed ({e}) but {bp:?} fits")
                }
                (Ok(p), None) => panic!("{name}: ILP found {:?} but nothing fits", p.placement),
                (Err(_), None) => {}
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// More memory never gives a slower predicted plan (same request, same settings).
    #[test]
    fn more_memory_is_never_slower(
        host_idx in 0usize..3,
        gpu_free in 1500u64..9000,
        extra_gpu in 0u64..3000,
        ram in 6000u64..20000,
        extra_ram in 0u64..8000,
        ctx in prop::sample::select(vec![2048u32, 4096, 8192]),
    ) {
        let name = ["gtx1650-4gb", "rtx3060-8gb", "rtx4060ti-16gb"][host_idx];
        let mut req = single_4k(host(name));
        req.workload.ctx_per_request = ctx;
        req.options.kv_types = vec![KvType::F16];
        req.options.n_ubatch = Some(512);
        let small = req.host.with_memory(ram, Some(gpu_free));
        let big = req.host.with_memory(ram + extra_ram, Some(gpu_free + extra_gpu));
        let a = plan(&PlanRequest { host: small, ..req.clone() });
        let b = plan(&PlanRequest { host: big, ..req.clone() });
        match (a, b) {
            (Ok(a), Ok(b)) => {
                assert_within_budget(&a);
                assert_within_budget(&b);
                prop_assert!(b.speed.request_seconds <= a.speed.request_seconds * (1.0 + 1e-9),
                    "{} s with more memory vs {} s ({:?} vs {:?})", b.speed.request_seconds, a.speed.request_seconds,
                    b.placement, a.placement);
            }
            (Ok(a), Err(e)) => prop_assert!(false, "fits with less memory ({:?}) but not with more: {e}", a.placement),
            (Err(_), _) => {}
        }
    }
}
