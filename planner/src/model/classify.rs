//! Which llama.cpp role and group a GGUF tensor has, and which layers use sliding-window attention.

use super::{TensorGroup, TensorRole};

/// Classifies a GGUF tensor name into a role and whether it is a matrix-multiply weight.
pub fn classify_tensor(name: &str, dims: &[u64]) -> (TensorRole, bool) {
    let is_matrix = dims.len() >= 2
        && dims.iter().filter(|&&d| d > 1).count() >= 2
        && name.ends_with(".weight");
    match name {
        "token_embd.weight" => return (TensorRole::TokenEmbd, false),
        "output.weight" => return (TensorRole::Output, true),
        _ => {}
    }
    if name.starts_with("output_norm.") {
        return (TensorRole::OutputNorm, false);
    }
    let Some(rest) = name.strip_prefix("blk.") else {
        return (TensorRole::Global, false);
    };
    let Some((idx, tail)) = rest.split_once('.') else {
        return (TensorRole::Global, false);
    };
    let Ok(layer) = idx.parse::<u32>() else {
        return (TensorRole::Global, false);
    };
    let group = if tail.contains("norm") {
        TensorGroup::Norm
    } else if tail.starts_with("attn_") {
        TensorGroup::Attn
    } else if tail.starts_with("ffn_gate_inp") || tail.starts_with("ffn_exp_probs") {
        TensorGroup::Other
    } else if tail.starts_with("ffn_") && tail.contains("_shexp") {
        TensorGroup::FfnSharedExperts
    } else if tail.starts_with("ffn_") && tail.contains("exps") {
        TensorGroup::FfnExperts
    } else if tail.starts_with("ffn_") {
        TensorGroup::Ffn
    } else {
        TensorGroup::Other
    };
    let matmul = is_matrix && !matches!(group, TensorGroup::Norm);
    (TensorRole::Layer { layer, group }, matmul)
}

/// Which layers llama.cpp treats as sliding-window for an architecture (`set_swa_pattern` in its model
/// loaders), given `n_swa > 0`. `pattern` from the GGUF (`*.attention.sliding_window_pattern`) wins.
pub fn swa_layers(arch: &str, n_layer: u32, n_swa: u64, pattern: Option<u32>) -> Vec<bool> {
    let n = n_layer as usize;
    if n_swa == 0 {
        return vec![false; n];
    }
    // (period, dense_first): the period's last (or first) layer uses full attention.
    let (period, dense_first) = match (pattern, arch) {
        (Some(p), _) => (p, false),
        (None, "gemma2") => (2, false),
        (None, "gemma3") => (6, false),
        (None, "gemma3n") => (5, false),
        (None, "cohere2") => (4, false),
        (None, "llama4") => (4, false),
        (None, "exaone4") => (4, false),
        // Unknown architectures: plan the full KV for every layer (over-estimates, never under).
        (None, _) => return vec![false; n],
    };
    (0..n as u32)
        .map(|il| {
            if period == 0 {
                true
            } else if dense_first {
                il % period != 0
            } else {
                il % period < period - 1
            }
        })
        .collect()
}
