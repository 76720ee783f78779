//! [`Placement`]: which layers, groups and the output layer live on the GPU, in llama.cpp's suffix terms.

use crate::model::TensorGroup;
use serde::{Deserialize, Serialize};

/// Which parts of the model live on the GPU.
///
/// llama.cpp offloads a suffix: `n_gpu_layers = k ≥ 1` puts the output layer and the last `k − 1` repeating
/// layers on the GPU (the output layer is offloaded *first*). Within offloaded layers a group may stay on the
/// CPU for layers `[first_gpu_layer, group_gpu_from[g])`: monotone, so one regex per group expresses it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Placement {
    /// Repeating layers in the model.
    pub n_layer: u32,
    /// First offloaded repeating layer (`n_layer`: none).
    pub first_gpu_layer: u32,
    /// The output layer (output norm and matrix) is on the GPU.
    pub output_on_gpu: bool,
    /// Per [`TensorGroup`] (by index): first layer where the group is on the GPU (≥ `first_gpu_layer`).
    pub group_gpu_from: [u32; 6],
}

impl Placement {
    /// Everything on the CPU.
    pub fn cpu_only(n_layer: u32) -> Self {
        Self {
            n_layer,
            first_gpu_layer: n_layer,
            output_on_gpu: false,
            group_gpu_from: [n_layer; 6],
        }
    }

    /// Everything llama.cpp can offload on the GPU.
    pub fn all_gpu(n_layer: u32) -> Self {
        Self::suffix(n_layer, n_layer)
    }

    /// The last `k` repeating layers and the output on the GPU (`k = 0`: only the output).
    pub fn suffix(n_layer: u32, k: u32) -> Self {
        let first = n_layer - k.min(n_layer);
        Self {
            n_layer,
            first_gpu_layer: first,
            output_on_gpu: true,
            group_gpu_from: [first; 6],
        }
    }

    /// Whether repeating layer `layer` is offloaded.
    pub fn layer_on_gpu(&self, layer: u32) -> bool {
        layer >= self.first_gpu_layer && layer < self.n_layer
    }

    /// Whether group `g` of layer `layer` is on the GPU (only overridable groups can stay behind).
    pub fn group_on_gpu(&self, g: TensorGroup, layer: u32) -> bool {
        if !self.layer_on_gpu(layer) {
            return false;
        }
        !TensorGroup::OVERRIDABLE.contains(&g) || layer >= self.group_gpu_from[g.index()]
    }

    /// Whether anything is on the GPU.
    pub fn uses_gpu(&self) -> bool {
        self.output_on_gpu || self.first_gpu_layer < self.n_layer
    }

    /// Offloaded repeating layers.
    pub fn offloaded_layers(&self) -> u32 {
        self.n_layer - self.first_gpu_layer.min(self.n_layer)
    }

    /// llama.cpp's `n_gpu_layers` (repeating layers + 1 for the output layer).
    pub fn n_gpu_layers(&self) -> u32 {
        if self.output_on_gpu {
            self.offloaded_layers() + 1
        } else {
            0
        }
    }

    /// Layers `[from, to)` of group `g` kept on the CPU although offloaded (empty range: none).
    pub fn cpu_range(&self, g: TensorGroup) -> (u32, u32) {
        let to = self.group_gpu_from[g.index()].clamp(self.first_gpu_layer, self.n_layer);
        (self.first_gpu_layer.min(self.n_layer), to)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn suffix_semantics_match_llama_cpp() {
        // n_gpu_layers = 1: only the output layer; = n_layer + 1: everything.
        let p = Placement::suffix(28, 0);
        assert_eq!(p.n_gpu_layers(), 1);
        assert!(!p.layer_on_gpu(27));
        let p = Placement::suffix(28, 5);
        assert_eq!(p.n_gpu_layers(), 6);
        assert!(p.layer_on_gpu(23) && !p.layer_on_gpu(22));
        assert_eq!(Placement::all_gpu(28).n_gpu_layers(), 29);
        assert_eq!(Placement::cpu_only(28).n_gpu_layers(), 0);
        let mut q = Placement::suffix(28, 10);
        q.group_gpu_from[TensorGroup::Ffn.index()] = 22;
        assert!(!q.group_on_gpu(TensorGroup::Ffn, 20));
        assert!(q.group_on_gpu(TensorGroup::Attn, 20));
        assert!(q.group_on_gpu(TensorGroup::Ffn, 22));
        assert_eq!(q.cpu_range(TensorGroup::Ffn), (18, 22));
    }
}
