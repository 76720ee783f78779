//! Shared helpers: the process-wide llama.cpp backend (through the daemon's loader, which avoids the AMX
//! CPU variant that dies with SIGILL on the development VM), greedy decoding with logits, temp dirs.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use llama_cpp_2::context::params::{KvCacheType, LlamaContextParams};
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::token::LlamaToken;

/// The backend, initialised once per process (ggml's CPU variant chosen by medllmd's loader).
pub fn backend() -> &'static LlamaBackend {
    medllmd::engine::llama::backend(None, None)
        .expect("llama.cpp backend")
        .0
}

/// One llama.cpp user at a time: the machine has two cores, and parallel tests would only thrash.
pub fn llama_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Loads a model (mmap, CPU).
pub fn load(path: &Path) -> LlamaModel {
    LlamaModel::load_from_file(backend(), path, &LlamaModelParams::default())
        .unwrap_or_else(|e| panic!("llama.cpp could not load {}: {e}", path.display()))
}

/// What greedy decoding produced: the tokens chosen and the full logits at each step.
#[derive(Debug)]
pub struct Trace {
    pub tokens: Vec<i32>,
    pub logits: Vec<Vec<f32>>,
}

impl Trace {
    /// Largest |difference| between two traces' logits, over all steps.
    pub fn max_abs_diff(&self, other: &Trace) -> f32 {
        self.logits
            .iter()
            .zip(&other.logits)
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
            .fold(0.0, f32::max)
    }
}

/// How to run a model in [`greedy_with`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Run<'a> {
    /// A LoRA adapter and its scale.
    pub adapter: Option<(&'a Path, f32)>,
    /// F32 KV cache and no flash attention (which rounds Q to f16): removes every f16 rounding of
    /// activations from comparisons.
    pub kv_f32: bool,
}

/// Greedy decoding of `n` tokens after `prompt`, optionally with a LoRA adapter at `scale`.
pub fn greedy(
    model: &mut LlamaModel,
    adapter: Option<(&Path, f32)>,
    prompt: &str,
    n: usize,
) -> Trace {
    greedy_with(
        model,
        Run {
            adapter,
            kv_f32: false,
        },
        prompt,
        n,
    )
}

/// [`greedy`] with all the settings.
pub fn greedy_with(model: &mut LlamaModel, run: Run<'_>, prompt: &str, n: usize) -> Trace {
    let mut lora = run.adapter.map(|(p, s)| {
        (
            model
                .lora_adapter_init(p)
                .unwrap_or_else(|e| panic!("llama.cpp refused adapter {}: {e}", p.display())),
            s,
        )
    });
    let model: &LlamaModel = model;
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(512))
        .with_n_batch(512)
        .with_n_threads(2)
        .with_n_threads_batch(2);
    let params = if run.kv_f32 {
        params
            .with_type_k(KvCacheType::F32)
            .with_type_v(KvCacheType::F32)
            .with_flash_attention_policy(llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_DISABLED)
    } else {
        params
    };
    let mut ctx = model.new_context(backend(), params).expect("context");
    if let Some((a, s)) = lora.as_mut() {
        ctx.lora_adapter_set(a, *s).expect("set adapter");
    }
    let prompt_tokens = model.vocab().tokenize(prompt.as_bytes(), true, false);
    assert!(
        prompt_tokens.len() > 3,
        "prompt tokenized to {prompt_tokens:?}"
    );
    let mut batch = LlamaBatch::new(512, 1);
    let last = prompt_tokens.len() - 1;
    for (i, t) in prompt_tokens.iter().enumerate() {
        batch.add(*t, i as i32, &[0], i == last).expect("batch");
    }
    ctx.decode(&mut batch).expect("decode prompt");
    let mut trace = Trace {
        tokens: Vec::new(),
        logits: Vec::new(),
    };
    for pos in (prompt_tokens.len()..prompt_tokens.len() + n).map(|p| p as i32) {
        let logits = ctx.get_logits_ith(batch.n_tokens() - 1).to_vec();
        assert!(logits.iter().all(|x| x.is_finite()), "non-finite logits");
        let next = logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i as i32)
            .expect("logits");
        trace.tokens.push(next);
        trace.logits.push(logits);
        batch.clear();
        batch.add(LlamaToken(next), pos, &[0], true).expect("batch");
        ctx.decode(&mut batch).expect("decode");
    }
    trace
}

/// A temporary directory for one test's files.
pub fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("medllm-quant-")
        .tempdir()
        .expect("tempdir")
}

/// `dir/name`.
pub fn path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// The `medllm-quant` binary built with these tests.
pub fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_medllm-quant"))
}

/// The 7B header fixture (no tensor data).
pub fn fixture_7b() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/deepseek-r1-distill-qwen-7b-q4_k_m.header.gguf")
}

/// A prompt that tokenizes into a dozen tokens with the synthetic vocabulary.
pub const PROMPT: &str = "the patient has a fever, a cough and pain in the chest";
