//! The memory model against llama.cpp's own accounting, on this machine, with the real default model.
//!
//! Loads `models/gemma-3-270m-q4_k_m.gguf` once and creates contexts at several `n_ctx`/`n_batch`/`n_ubatch`/
//! `n_seq_max`/flash-attention/KV-type settings. llama.cpp logs every buffer it allocates ("CPU_Mapped model
//! buffer size = … MiB", "KV buffer size", "compute buffer size", "output buffer size"); the log reaches us
//! through llama-cpp-2's tracing bridge and is parsed here. Required: weight buffers equal to the logged
//! precision (0.01 MiB), KV within 1 %, compute within 10 % or 64 MiB, output buffer equal.
//!
//! Links llama.cpp: run in the shared release build, *together with the daemon* —
//! `CARGO_TARGET_DIR=$HOME/.cache/medllm-target cargo test --release -p medllmd -p medllm-planner --test llama_accounting -- --nocapture`.
//! Selecting the planner alone unifies host-side (proc-macro/build-script) features differently (no `syn/fold`
//! from the daemon's proc macros), which changes llama-cpp-sys-2's build hash and rebuilds llama.cpp.
//! (`--nocapture` prints the measured-vs-predicted table). `MEDLLM_ACCOUNTING_MODEL=PATH` runs the same cases
//! on another model, e.g. the 7B header fixture extended to its full size with zeros (`truncate -s`; the
//! buffers do not depend on the weights' values), as docs/planner.md shows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use llama_cpp_2::context::params::{KvCacheType, LlamaContextParams};
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::{LogOptions, send_logs_to_tracing};
use medllm_planner::memory::weights::CpuLayouts;
use medllm_planner::memory::{self, BufferKind, MemoryEnv};
use medllm_planner::{ContextSettings, KvType, ModelProfile, Placement};
use std::io::Write;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn take(sink: &Sink) -> String {
    let mut v = sink.0.lock().unwrap();
    let s = String::from_utf8_lossy(&v).into_owned();
    v.clear();
    s
}

/// `(buffer name, MiB)` for every log line containing `"{what} buffer size ="`.
fn parse(log: &str, what: &str) -> Vec<(String, f64)> {
    let needle = format!("{what} buffer size =");
    log.lines()
        .filter_map(|line| {
            let at = line.find(&needle)?;
            let name = line[..at].split_whitespace().last()?.to_owned();
            let value: f64 = line[at + needle.len()..]
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            Some((name, value))
        })
        .collect()
}

fn mib(b: u64) -> f64 {
    b as f64 / 1048576.0
}

struct Case {
    n_ctx: u32,
    n_batch: u32,
    n_ubatch: u32,
    n_seq_max: u32,
    flash_attn: bool,
    kv: KvType,
    swa_full: bool,
}

fn kv_cache_type(t: KvType) -> KvCacheType {
    match t {
        KvType::F16 => KvCacheType::F16,
        KvType::Q8_0 => KvCacheType::Q8_0,
        KvType::F32 => KvCacheType::F32,
        other => panic!("case uses {other}"),
    }
}

#[test]
fn memory_model_matches_llama_cpp() {
    // MEDLLM_ACCOUNTING_MODEL runs the same cases on another GGUF (docs/planner.md: the 7B).
    let path = std::env::var_os("MEDLLM_ACCOUNTING_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/gemma-3-270m-q4_k_m.gguf")
        });
    assert!(
        path.exists(),
        "{} missing: run scripts/setup-models.sh",
        path.display()
    );
    let sink = Sink(Arc::new(Mutex::new(Vec::new())));
    let writer = sink.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .init();
    send_logs_to_tracing(LogOptions::default());
    llama_cpp_2::llama_backend::load_backends();
    let backend = LlamaBackend::init().unwrap();

    let profile = ModelProfile::from_gguf_path(&path).unwrap();
    let layouts = CpuLayouts::for_host(medllm_planner::host::probe::detect_features(), false, true);
    let env = MemoryEnv {
        layouts,
        host_overhead: 0,
        gpu_overhead: 0,
        op_offload: true,
    };
    let placement = Placement::cpu_only(profile.hparams.n_layer);

    let model = LlamaModel::load_from_file(&backend, &path, &LlamaModelParams::default()).unwrap();
    let load_log = take(&sink);
    let measured_model = parse(&load_log, "model");
    assert!(
        !measured_model.is_empty(),
        "no model buffer lines in the log:\n{load_log}"
    );

    let cases = [
        Case {
            n_ctx: 2048,
            n_batch: 512,
            n_ubatch: 512,
            n_seq_max: 1,
            flash_attn: true,
            kv: KvType::F16,
            swa_full: false,
        },
        Case {
            n_ctx: 2048,
            n_batch: 512,
            n_ubatch: 512,
            n_seq_max: 1,
            flash_attn: false,
            kv: KvType::F16,
            swa_full: false,
        },
        Case {
            n_ctx: 4096,
            n_batch: 512,
            n_ubatch: 256,
            n_seq_max: 1,
            flash_attn: true,
            kv: KvType::F16,
            swa_full: false,
        },
        Case {
            n_ctx: 8192,
            n_batch: 1024,
            n_ubatch: 512,
            n_seq_max: 4,
            flash_attn: false,
            kv: KvType::F16,
            swa_full: false,
        },
        Case {
            n_ctx: 2048,
            n_batch: 512,
            n_ubatch: 128,
            n_seq_max: 1,
            flash_attn: true,
            kv: KvType::Q8_0,
            swa_full: false,
        },
        Case {
            n_ctx: 17384,
            n_batch: 512,
            n_ubatch: 512,
            n_seq_max: 9,
            flash_attn: true,
            kv: KvType::F16,
            swa_full: false,
        },
        Case {
            n_ctx: 1000,
            n_batch: 256,
            n_ubatch: 64,
            n_seq_max: 2,
            flash_attn: false,
            kv: KvType::F16,
            swa_full: false,
        },
        Case {
            n_ctx: 32768,
            n_batch: 2048,
            n_ubatch: 1024,
            n_seq_max: 1,
            flash_attn: true,
            kv: KvType::Q8_0,
            swa_full: false,
        },
        // llama.cpp's default is a full-size SWA cache
        Case {
            n_ctx: 32768,
            n_batch: 2048,
            n_ubatch: 1024,
            n_seq_max: 1,
            flash_attn: true,
            kv: KvType::Q8_0,
            swa_full: true,
        },
        Case {
            n_ctx: 4096,
            n_batch: 512,
            n_ubatch: 512,
            n_seq_max: 6,
            flash_attn: false,
            kv: KvType::F16,
            swa_full: true,
        },
    ];

    let mut failures = Vec::new();
    let mut table = String::from(
        "| n_ctx | n_batch | n_ubatch | seqs | FA | KV | swa_full | weights MiB (llama.cpp / predicted) | KV MiB | compute MiB | output MiB |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for c in &cases {
        let ctx = ContextSettings {
            n_ctx: c.n_ctx,
            n_batch: c.n_batch,
            n_ubatch: c.n_ubatch,
            n_seq_max: c.n_seq_max,
            flash_attn: c.flash_attn,
            type_k: c.kv,
            type_v: c.kv,
            kv_unified: true,
            swa_full: c.swa_full,
            n_outputs_max: None,
        };
        let predicted = memory::predict(&profile, &ctx, &placement, &env);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(c.n_ctx))
            .with_n_batch(c.n_batch)
            .with_n_ubatch(c.n_ubatch)
            .with_n_seq_max(c.n_seq_max)
            .with_n_threads(2)
            .with_n_threads_batch(2)
            .with_flash_attention_policy(i32::from(c.flash_attn))
            .with_type_k(kv_cache_type(c.kv))
            .with_type_v(kv_cache_type(c.kv))
            .with_swa_full(c.swa_full)
            .with_kv_unified(true);
        let context = model.new_context(&backend, params).unwrap();
        let log = take(&sink);
        drop(context);
        let _ = take(&sink);

        let sum = |v: &[(String, f64)]| v.iter().map(|(_, m)| m).sum::<f64>();
        let pred = |kind: BufferKind| -> f64 {
            predicted
                .buffers
                .iter()
                .filter(|b| b.kind == kind)
                .map(|b| mib(b.bytes))
                .sum()
        };
        let kv_measured = sum(&parse(&log, "KV"));
        let compute_measured = sum(&parse(&log, "compute"));
        let output_measured = sum(&parse(&log, "output"));
        let weights_measured = sum(&measured_model);
        let (kv_pred, compute_pred, output_pred, weights_pred) = (
            pred(BufferKind::Kv),
            pred(BufferKind::Compute),
            pred(BufferKind::Output),
            pred(BufferKind::Model),
        );
        let label = format!(
            "n_ctx {} n_batch {} n_ubatch {} seqs {} fa {} kv {} swa_full {}",
            c.n_ctx, c.n_batch, c.n_ubatch, c.n_seq_max, c.flash_attn, c.kv, c.swa_full
        );
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} |\n",
            c.n_ctx,
            c.n_batch,
            c.n_ubatch,
            c.n_seq_max,
            if c.flash_attn { "on" } else { "off" },
            c.kv,
            c.swa_full,
            weights_measured,
            weights_pred,
            kv_measured,
            kv_pred,
            compute_measured,
            compute_pred,
            output_measured,
            output_pred
        ));
        // weights: every buffer, exactly (to the 0.01 MiB llama.cpp prints)
        for (name, m) in &measured_model {
            let p: f64 = predicted
                .buffers
                .iter()
                .filter(|b| b.kind == BufferKind::Model && &b.name == name)
                .map(|b| mib(b.bytes))
                .sum();
            if (p - m).abs() > 0.006 {
                failures.push(format!(
                    "{label}: {name} model buffer {m:.2} MiB, predicted {p:.2}"
                ));
            }
        }
        if (weights_pred - weights_measured).abs() > 0.006 * measured_model.len() as f64 {
            failures.push(format!(
                "{label}: weights {weights_measured:.2} MiB, predicted {weights_pred:.2}"
            ));
        }
        if kv_measured <= 0.0 || (kv_pred - kv_measured).abs() > 0.01 * kv_measured {
            failures.push(format!(
                "{label}: KV {kv_measured:.2} MiB, predicted {kv_pred:.2}"
            ));
        }
        let tol = (0.10 * compute_measured).max(64.0);
        if compute_measured <= 0.0 || (compute_pred - compute_measured).abs() > tol {
            failures.push(format!(
                "{label}: compute {compute_measured:.2} MiB, predicted {compute_pred:.2}"
            ));
        }
        if (output_pred - output_measured).abs() > 0.006 {
            failures.push(format!(
                "{label}: output {output_measured:.2} MiB, predicted {output_pred:.2}"
            ));
        }
    }
    println!("llama.cpp model buffers: {measured_model:?}");
    println!("{table}");
    assert!(
        failures.is_empty(),
        "memory model disagrees with llama.cpp:\n{}\n{table}",
        failures.join("\n")
    );
}
