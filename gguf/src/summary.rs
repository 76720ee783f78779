//! Where a model's bytes are: per layer (attention, FFN, norm, other), global tensors, and per ggml type.
//!
//! Classification is by llama.cpp's tensor naming (`blk.N.<stem>.<suffix>`):
//! - **norm**: a stem that ends in `norm` (`attn_norm`, `ffn_norm`, `post_attention_norm`, and also the
//!   attention's `attn_q_norm`/`attn_k_norm`: they are tiny vectors that live wherever the layer lives, and
//!   counting them as norms keeps "attention" equal to the matrices the planner may quantize or offload);
//! - **attention**: other stems starting `attn_` (`attn_q`, `attn_k`, `attn_v`, `attn_qkv`, `attn_output`,
//!   MLA's `attn_q_a`…, `attn_sinks`), weights and biases alike;
//! - **FFN**: stems starting `ffn_` (`ffn_gate`, `ffn_up`, `ffn_down`, the router `ffn_gate_inp`, experts
//!   `*_exps`, shared experts `*_shexp`) and `exp_probs_b`; experts are also counted separately;
//! - **other**: anything else in a block (SSM, RWKV time-mix, …).
//!
//! Outside blocks: `token_embd.*`, `output.*` (absent: the output projection is tied to the token
//! embedding), `output_norm.*`, and other globals (e.g. `rope_freqs.weight`).

use std::collections::BTreeMap;

use crate::ggml_type::GgmlType;
use crate::header::GgufHeader;

/// The group a tensor belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TensorGroup {
    /// Attention matrices and biases of block `layer`.
    Attention {
        /// The block index.
        layer: u64,
    },
    /// Feed-forward (dense, expert, shared-expert, router) tensors of block `layer`.
    Ffn {
        /// The block index.
        layer: u64,
        /// Whether the tensor holds routed experts (`*_exps`).
        experts: bool,
    },
    /// Normalisation weights of block `layer`.
    Norm {
        /// The block index.
        layer: u64,
    },
    /// Other tensors of block `layer`.
    OtherInLayer {
        /// The block index.
        layer: u64,
    },
    /// `token_embd.*`.
    TokenEmbedding,
    /// `output.*`.
    Output,
    /// `output_norm.*`.
    OutputNorm,
    /// Any other tensor outside the blocks.
    OtherGlobal,
}

/// Classifies a tensor by name.
pub fn classify(name: &str) -> TensorGroup {
    let mut parts = name.split('.');
    let first = parts.next().unwrap_or_default();
    if first == "blk" {
        if let Some(layer) = parts.next().and_then(|n| n.parse::<u64>().ok()) {
            let stem = parts.next().unwrap_or_default();
            return if stem.ends_with("norm") {
                TensorGroup::Norm { layer }
            } else if stem.starts_with("attn_") {
                TensorGroup::Attention { layer }
            } else if stem.starts_with("ffn_") || stem == "exp_probs_b" {
                TensorGroup::Ffn {
                    layer,
                    experts: stem.ends_with("_exps"),
                }
            } else {
                TensorGroup::OtherInLayer { layer }
            };
        }
        return TensorGroup::OtherGlobal;
    }
    match first {
        "token_embd" => TensorGroup::TokenEmbedding,
        "output" => TensorGroup::Output,
        "output_norm" => TensorGroup::OutputNorm,
        _ => TensorGroup::OtherGlobal,
    }
}

/// Bytes of one block, by group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LayerBytes {
    /// The block index N of `blk.N.*`.
    pub layer: u64,
    /// Attention tensors.
    pub attention: u64,
    /// FFN tensors (routed experts included).
    pub ffn: u64,
    /// The routed-expert part of [`LayerBytes::ffn`].
    pub ffn_experts: u64,
    /// Norm tensors.
    pub norm: u64,
    /// Everything else in the block.
    pub other: u64,
    /// Names of the block's tensors, in file order.
    pub tensors: Vec<String>,
}

impl LayerBytes {
    /// All bytes of the block.
    pub fn total(&self) -> u64 {
        self.attention
            .saturating_add(self.ffn)
            .saturating_add(self.norm)
            .saturating_add(self.other)
    }
}

/// How the output projection is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputProjection {
    /// A separate `output.*` tensor of this many bytes.
    Separate {
        /// Bytes of the `output.*` tensors.
        bytes: u64,
    },
    /// No `output.weight`: llama.cpp reuses the token embedding (tied weights).
    TiedToEmbedding,
}

/// A tensor outside the blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalTensor {
    /// The name.
    pub name: String,
    /// Its group.
    pub group: TensorGroup,
    /// Its bytes.
    pub bytes: u64,
}

/// Bytes and tensor count of one ggml type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeBytes {
    /// The type.
    pub ggml_type: GgmlType,
    /// Tensors of this type.
    pub tensors: u64,
    /// Elements in them.
    pub elements: u64,
    /// Bytes in them.
    pub bytes: u64,
}

/// The byte map of a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSummary {
    /// One entry per block that has tensors, by increasing index.
    pub layers: Vec<LayerBytes>,
    /// Bytes of `token_embd.*`.
    pub token_embedding: u64,
    /// The output projection.
    pub output: OutputProjection,
    /// Bytes of `output_norm.*`.
    pub output_norm: u64,
    /// Every tensor outside the blocks, in file order (token embedding and output included).
    pub globals: Vec<GlobalTensor>,
    /// Bytes per ggml type, by type id.
    pub by_type: Vec<TypeBytes>,
}

impl ModelSummary {
    /// Summarises a header's tensors.
    pub fn from_header(header: &GgufHeader) -> Self {
        let mut layers: BTreeMap<u64, LayerBytes> = BTreeMap::new();
        let mut by_type: BTreeMap<u32, TypeBytes> = BTreeMap::new();
        let (mut token_embedding, mut output, mut output_norm) = (0u64, None::<u64>, 0u64);
        let mut globals = Vec::new();
        for t in header.tensors() {
            let bytes = t.n_bytes();
            let ty = by_type.entry(t.ggml_type().id()).or_insert(TypeBytes {
                ggml_type: t.ggml_type(),
                tensors: 0,
                elements: 0,
                bytes: 0,
            });
            ty.tensors += 1;
            ty.elements = ty.elements.saturating_add(t.n_elements());
            ty.bytes = ty.bytes.saturating_add(bytes);
            let group = classify(t.name());
            let layer = match group {
                TensorGroup::Attention { layer }
                | TensorGroup::Ffn { layer, .. }
                | TensorGroup::Norm { layer }
                | TensorGroup::OtherInLayer { layer } => Some(layer),
                _ => None,
            };
            if let Some(layer) = layer {
                let l = layers.entry(layer).or_insert_with(|| LayerBytes {
                    layer,
                    ..LayerBytes::default()
                });
                let slot = match group {
                    TensorGroup::Attention { .. } => &mut l.attention,
                    TensorGroup::Ffn { experts, .. } => {
                        if experts {
                            l.ffn_experts = l.ffn_experts.saturating_add(bytes);
                        }
                        &mut l.ffn
                    }
                    TensorGroup::Norm { .. } => &mut l.norm,
                    _ => &mut l.other,
                };
                *slot = slot.saturating_add(bytes);
                l.tensors.push(t.name().to_owned());
                continue;
            }
            match group {
                TensorGroup::TokenEmbedding => {
                    token_embedding = token_embedding.saturating_add(bytes)
                }
                TensorGroup::Output => output = Some(output.unwrap_or(0).saturating_add(bytes)),
                TensorGroup::OutputNorm => output_norm = output_norm.saturating_add(bytes),
                _ => {}
            }
            globals.push(GlobalTensor {
                name: t.name().to_owned(),
                group,
                bytes,
            });
        }
        Self {
            layers: layers.into_values().collect(),
            token_embedding,
            output: match output {
                Some(bytes) => OutputProjection::Separate { bytes },
                None => OutputProjection::TiedToEmbedding,
            },
            output_norm,
            globals,
            by_type: by_type.into_values().collect(),
        }
    }

    /// The block with index `layer`, if it has tensors.
    pub fn layer(&self, layer: u64) -> Option<&LayerBytes> {
        self.layers.iter().find(|l| l.layer == layer)
    }

    /// Bytes of all tensors outside the blocks.
    pub fn global_bytes(&self) -> u64 {
        self.globals
            .iter()
            .fold(0u64, |acc, g| acc.saturating_add(g.bytes))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        use TensorGroup::*;
        let cases = [
            ("blk.0.attn_q.weight", Attention { layer: 0 }),
            ("blk.3.attn_qkv.bias", Attention { layer: 3 }),
            ("blk.1.attn_output.weight", Attention { layer: 1 }),
            ("blk.1.attn_q_norm.weight", Norm { layer: 1 }),
            ("blk.1.attn_norm.weight", Norm { layer: 1 }),
            ("blk.1.post_ffw_norm.weight", Norm { layer: 1 }),
            (
                "blk.2.ffn_down.weight",
                Ffn {
                    layer: 2,
                    experts: false,
                },
            ),
            (
                "blk.2.ffn_gate_exps.weight",
                Ffn {
                    layer: 2,
                    experts: true,
                },
            ),
            (
                "blk.2.ffn_up_shexp.weight",
                Ffn {
                    layer: 2,
                    experts: false,
                },
            ),
            (
                "blk.2.ffn_gate_inp.weight",
                Ffn {
                    layer: 2,
                    experts: false,
                },
            ),
            ("blk.2.ssm_conv1d.weight", OtherInLayer { layer: 2 }),
            ("blk.x.attn_q.weight", OtherGlobal),
            ("token_embd.weight", TokenEmbedding),
            ("output.weight", Output),
            ("output_norm.weight", OutputNorm),
            ("rope_freqs.weight", OtherGlobal),
        ];
        for (name, want) in cases {
            assert_eq!(classify(name), want, "{name}");
        }
    }
}
