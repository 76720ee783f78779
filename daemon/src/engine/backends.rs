//! Choosing and loading ggml's backend modules (dynamic-backends build).
//!
//! The package ships one CPU backend per x86-64 generation (`libggml-cpu-<variant>.so`) so one
//! binary runs on any clinic PC. ggml's own loader picks the variant with the highest CPU-feature
//! score. On our development VM (Xeon with AMX) that is `sapphirerapids`, whose AMX matrix kernel
//! died with SIGILL (`tilezero` on an unconfigured tile) in llama.cpp's first batch, although a
//! standalone AMX test program runs fine on the same machine. A clinic cannot debug that, so we
//! pick the CPU variant ourselves: score each like ggml does, never pick an AMX variant
//! automatically (AVX-512 variants are nearly as fast for a 4-bit model on a workstation), and
//! honour an explicit choice from config (`engine.cpu_variant`) or `MEDLLM_CPU_VARIANT`.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use super::types::EngineError;

/// Variants built with AMX tile instructions.
const AMX_VARIANTS: &[&str] = &["sapphirerapids"];

/// What was loaded, for logs and `medctl status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedBackends {
    /// The CPU variant in use (`haswell`, `icelake`, …), or `builtin` for a static build.
    pub cpu_variant: String,
    /// Other backend modules found and loaded (`cuda`, `vulkan`, …).
    pub others: Vec<String>,
}

/// Load backend modules from `dir`. `wanted` forces a CPU variant by name.
pub fn load_from(dir: &Path, wanted: Option<&str>) -> Result<LoadedBackends, EngineError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        EngineError::Internal(format!(
            "cannot read backend directory {}: {e}",
            dir.display()
        ))
    })?;
    let mut cpu: Vec<(String, PathBuf)> = Vec::new();
    let mut others: Vec<(String, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name
            .strip_prefix("libggml-")
            .and_then(|s| s.strip_suffix(".so"))
        else {
            continue;
        };
        match stem.strip_prefix("cpu-") {
            Some(variant) => cpu.push((variant.to_string(), path.clone())),
            None if stem == "cpu" => cpu.push(("default".to_string(), path.clone())),
            None => others.push((stem.to_string(), path.clone())),
        }
    }
    cpu.sort();
    others.sort();
    let chosen = choose_cpu(&cpu, wanted)?;
    load_module(&chosen.1)?;
    let mut loaded_others = Vec::new();
    for (name, path) in &others {
        match load_module(path) {
            Ok(()) => loaded_others.push(name.clone()),
            // A GPU backend whose driver is missing is normal on a CPU-only PC.
            Err(e) => tracing::info!(backend = %name, error = %e, "backend module not loaded"),
        }
    }
    tracing::info!(cpu_variant = %chosen.0, others = ?loaded_others, "ggml backends loaded");
    Ok(LoadedBackends {
        cpu_variant: chosen.0,
        others: loaded_others,
    })
}

fn choose_cpu(
    cpu: &[(String, PathBuf)],
    wanted: Option<&str>,
) -> Result<(String, PathBuf), EngineError> {
    if cpu.is_empty() {
        return Err(EngineError::Internal(
            "no CPU backend module (libggml-cpu-*.so) found; the installation is incomplete".into(),
        ));
    }
    if let Some(w) = wanted.filter(|w| !w.is_empty() && *w != "auto") {
        return cpu.iter().find(|(n, _)| n == w).cloned().ok_or_else(|| {
            let names: Vec<&str> = cpu.iter().map(|(n, _)| n.as_str()).collect();
            EngineError::InvalidArgument(format!(
                "cpu_variant '{w}' is not installed (available: {})",
                names.join(", ")
            ))
        });
    }
    let mut best: Option<(i32, &(String, PathBuf))> = None;
    for candidate in cpu {
        if AMX_VARIANTS.contains(&candidate.0.as_str()) {
            tracing::debug!(variant = %candidate.0, "AMX variant: only used when asked for by name");
            continue;
        }
        let score = score_of(&candidate.1);
        if score > 0 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| c.clone()).ok_or_else(|| {
        EngineError::Internal("no CPU backend variant supports this processor".into())
    })
}

/// ggml's own feature score of a CPU variant (0 = unsupported).
fn score_of(path: &Path) -> i32 {
    // SAFETY: the module is one of ours; `ggml_backend_score` takes no arguments and only reads
    // CPUID. The library is unloaded again when `lib` drops.
    unsafe {
        let Ok(lib) = libloading::Library::new(path) else {
            return 0;
        };
        let Ok(f) = lib.get::<unsafe extern "C" fn() -> i32>(b"ggml_backend_score\0") else {
            return 0;
        };
        f()
    }
}

fn load_module(path: &Path) -> Result<(), EngineError> {
    let c = CString::new(path.to_string_lossy().as_bytes())
        .map_err(|_| EngineError::Internal("backend path contains NUL".into()))?;
    // SAFETY: a valid C string; ggml registers the module and keeps it loaded.
    let reg = unsafe { llama_cpp_sys_2::ggml_backend_load(c.as_ptr()) };
    if reg.is_null() {
        return Err(EngineError::Internal(format!(
            "ggml could not load {}",
            path.display()
        )));
    }
    Ok(())
}
