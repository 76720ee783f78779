//! KV-cache size, as `llama_kv_cache` / `llama_kv_cache_iswa` allocate it.
//!
//! Per layer: a K tensor `[n_embd_k_gqa, kv_size, n_stream]` of `type_k` and a V tensor of `type_v` (width
//! padded to the widest layer when V is stored transposed, i.e. without flash attention). `kv_size` is the
//! context padded to 256. Sliding-window layers get their own cache of
//! `pad256(min(n_ctx, n_swa·(unified ? n_seq_max : 1) + n_ubatch))` cells unless `swa_full`. The cache of a
//! layer lives on the layer's device (`offload_kqv`, llama.cpp's default).

use crate::model::ModelProfile;
use crate::plan::{ContextSettings, Placement};

/// The cells of the full-attention cache and of the sliding-window cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KvCells {
    /// Cells per stream of full-attention layers (`n_ctx` padded to 256).
    pub base: u64,
    /// Cells per stream of sliding-window layers.
    pub swa: u64,
    /// Streams: 1 with a unified cache, `n_seq_max` otherwise.
    pub streams: u64,
}

/// llama.cpp's effective `(n_ctx, n_batch, n_ubatch)` for requested values: n_batch is capped by the context
/// and n_ubatch by n_batch; n_ctx is padded to 256 after that.
pub fn effective_sizes(ctx: &ContextSettings) -> (u64, u64, u64) {
    let n_ctx_raw = u64::from(ctx.n_ctx.max(1));
    let n_batch = u64::from(ctx.n_batch.max(1)).min(n_ctx_raw);
    let n_ubatch = u64::from(ctx.n_ubatch.max(1)).min(n_batch);
    (pad256(n_ctx_raw), n_batch, n_ubatch)
}

/// Cache geometry for a model and context.
pub fn kv_cells(model: &ModelProfile, ctx: &ContextSettings) -> KvCells {
    let (n_ctx, _, n_ubatch) = effective_sizes(ctx);
    let n_seq = u64::from(ctx.n_seq_max.max(1));
    let (base, streams) = if ctx.kv_unified {
        (n_ctx, 1)
    } else {
        (pad256(n_ctx / n_seq), n_seq)
    };
    let n_swa = model.hparams.n_swa;
    let swa = if n_swa == 0 || ctx.swa_full {
        base
    } else {
        let per = if ctx.kv_unified { n_swa * n_seq } else { n_swa };
        pad256(base.min(per + n_ubatch))
    };
    KvCells { base, swa, streams }
}

/// KV bytes of one layer.
pub fn layer_kv_bytes(
    model: &ModelProfile,
    layer: usize,
    ctx: &ContextSettings,
    cells: &KvCells,
) -> u64 {
    let Some(l) = model.layers.get(layer) else {
        return 0;
    };
    let size = if l.is_swa { cells.swa } else { cells.base };
    // Without flash attention V is stored transposed, padded to the widest layer's V.
    let v_width = if ctx.flash_attn {
        l.n_embd_v_gqa
    } else {
        model
            .layers
            .iter()
            .map(|x| x.n_embd_v_gqa)
            .max()
            .unwrap_or(l.n_embd_v_gqa)
    };
    let k = ctx.type_k.row_bytes(l.n_embd_k_gqa) * size * cells.streams;
    let v = ctx.type_v.row_bytes(v_width) * size * cells.streams;
    k.div_ceil(32) * 32 + v.div_ceil(32) * 32
}

/// KV bytes on the GPU and on the CPU under a placement.
pub fn kv_bytes(model: &ModelProfile, ctx: &ContextSettings, placement: &Placement) -> (u64, u64) {
    let cells = kv_cells(model, ctx);
    let mut gpu = 0;
    let mut cpu = 0;
    for i in 0..model.layers.len() {
        let b = layer_kv_bytes(model, i, ctx, &cells);
        if placement.layer_on_gpu(i as u32) {
            gpu += b;
        } else {
            cpu += b;
        }
    }
    (gpu, cpu)
}

fn pad256(n: u64) -> u64 {
    n.div_ceil(256) * 256
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::synthetic::SyntheticSpec;
    use crate::{KvType, plan::Placement};

    fn ctx(n_ctx: u32) -> ContextSettings {
        ContextSettings {
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
        }
    }

    #[test]
    fn qwen7b_4k_is_224_mib() {
        let m = SyntheticSpec::qwen2_7b_q4_k_m().build();
        let (g, c) = kv_bytes(&m, &ctx(4096), &Placement::cpu_only(28));
        assert_eq!(g, 0);
        // 28 layers × 2 × 512 × 2 bytes × 4096 cells
        assert_eq!(c, 28 * 2 * 512 * 2 * 4096);
        let q8 = ContextSettings {
            type_k: KvType::Q8_0,
            type_v: KvType::Q8_0,
            ..ctx(4096)
        };
        let (_, c8) = kv_bytes(&m, &q8, &Placement::cpu_only(28));
        assert_eq!(c8, 28 * 2 * 16 * 34 * 4096);
    }

    #[test]
    fn swa_layers_are_capped_by_the_window() {
        let mut spec = SyntheticSpec::qwen2_7b_q4_k_m();
        spec.arch = "gemma3".into();
        spec.n_layer = 18;
        spec.n_swa = 512;
        let m = spec.build();
        let c = ctx(8000);
        let cells = kv_cells(&m, &c);
        assert_eq!(cells.base, 8192);
        assert_eq!(cells.swa, 1024); // pad256(512 + 512)
        let full = ContextSettings {
            swa_full: true,
            ..c.clone()
        };
        assert_eq!(kv_cells(&m, &full).swa, 8192);
        // unified cache with 9 sequences: the window is per sequence
        let many = ContextSettings { n_seq_max: 9, ..c };
        assert_eq!(kv_cells(&m, &many).swa, 5120);
    }
}
