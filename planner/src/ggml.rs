//! The few ggml type facts the planner needs: KV-cache element types and block sizes for row arithmetic.
//!
//! Tensor byte sizes of a real model come from the GGUF header; this table is only for what the planner
//! computes itself (KV cache rows, CUDA row padding, AMX packed rows, synthetic profiles). Ids and sizes
//! follow `enum ggml_type` and `type_traits` of the llama.cpp vendored by llama-cpp-sys-2 0.1.161.

use serde::{Deserialize, Serialize};
use std::fmt;

/// ggml type ids the planner reasons about by name.
pub mod type_id {
    /// 32-bit float.
    pub const F32: u32 = 0;
    /// 16-bit float.
    pub const F16: u32 = 1;
    /// 4-bit, blocks of 32.
    pub const Q4_0: u32 = 2;
    /// 4-bit with minimum, blocks of 32.
    pub const Q4_1: u32 = 3;
    /// 5-bit, blocks of 32.
    pub const Q5_0: u32 = 6;
    /// 5-bit with minimum, blocks of 32.
    pub const Q5_1: u32 = 7;
    /// 8-bit, blocks of 32.
    pub const Q8_0: u32 = 8;
    /// 2-bit k-quant.
    pub const Q2_K: u32 = 10;
    /// 3-bit k-quant.
    pub const Q3_K: u32 = 11;
    /// 4-bit k-quant.
    pub const Q4_K: u32 = 12;
    /// 5-bit k-quant.
    pub const Q5_K: u32 = 13;
    /// 6-bit k-quant.
    pub const Q6_K: u32 = 14;
    /// 4-bit non-linear, blocks of 32.
    pub const IQ4_NL: u32 = 20;
    /// 4.25-bit non-linear i-quant.
    pub const IQ4_XS: u32 = 23;
    /// bfloat16.
    pub const BF16: u32 = 30;
    /// Microscaling FP4.
    pub const MXFP4: u32 = 39;
}

/// `(block size, bytes per block)` of a ggml type id, for the types that occur in GGUF weights.
pub fn block_info(id: u32) -> Option<(u64, u64)> {
    const QK_K: u64 = 256;
    Some(match id {
        0 => (1, 4),
        1 => (1, 2),
        2 => (32, 18),
        3 => (32, 20),
        6 => (32, 22),
        7 => (32, 24),
        8 => (32, 34),
        9 => (32, 36),
        10 => (QK_K, 84),
        11 => (QK_K, 110),
        12 => (QK_K, 144),
        13 => (QK_K, 176),
        14 => (QK_K, 210),
        15 => (QK_K, 292),
        16 => (QK_K, 66),
        17 => (QK_K, 74),
        18 => (QK_K, 98),
        19 => (QK_K, 50),
        20 => (32, 18),
        21 => (QK_K, 110),
        22 => (QK_K, 82),
        23 => (QK_K, 136),
        24 => (1, 1),
        25 => (1, 2),
        26 => (1, 4),
        27 => (1, 8),
        28 => (1, 8),
        29 => (QK_K, 56),
        30 => (1, 2),
        34 => (QK_K, 54),
        35 => (QK_K, 66),
        39 => (32, 17),
        40 => (64, 36),
        41 => (128, 18),
        42 => (64, 18),
        _ => return None,
    })
}

/// Bytes of one row of `n` elements of type `id` (`ggml_row_size`), rounding a partial block up.
pub fn row_size(id: u32, n: u64) -> u64 {
    let (block, size) = block_info(id).unwrap_or((1, 4));
    n.div_ceil(block) * size
}

/// The element type of the KV cache (`type_k` / `type_v` in llama.cpp's context parameters).
///
/// Only the types llama.cpp accepts for the cache; quantized V needs flash attention (llama.cpp refuses a
/// quantized V cache without it), which the planner enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KvType {
    /// 32-bit float (rarely useful; twice f16).
    F32,
    /// 16-bit float: llama.cpp's default and the planner's first choice.
    F16,
    /// bfloat16.
    Bf16,
    /// 8-bit blocks of 32: about half of f16, negligible quality loss; needs flash attention for V.
    Q8_0,
    /// 4-bit blocks of 32.
    Q4_0,
    /// 4-bit blocks of 32 with minimum.
    Q4_1,
    /// 4-bit non-linear.
    Iq4Nl,
    /// 5-bit blocks of 32.
    Q5_0,
    /// 5-bit blocks of 32 with minimum.
    Q5_1,
}

impl KvType {
    /// The ggml type id.
    pub fn type_id(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Bf16 => 30,
            Self::Q8_0 => 8,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Iq4Nl => 20,
            Self::Q5_0 => 6,
            Self::Q5_1 => 7,
        }
    }

    /// Bytes of a row of `n` elements.
    pub fn row_bytes(self, n: u64) -> u64 {
        row_size(self.type_id(), n)
    }

    /// Whether llama.cpp treats it as quantized (V of this type needs flash attention).
    pub fn is_quantized(self) -> bool {
        !matches!(self, Self::F32 | Self::F16 | Self::Bf16)
    }

    /// The name llama.cpp's tools use (`--cache-type-k q8_0`).
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::Bf16 => "bf16",
            Self::Q8_0 => "q8_0",
            Self::Q4_0 => "q4_0",
            Self::Q4_1 => "q4_1",
            Self::Iq4Nl => "iq4_nl",
            Self::Q5_0 => "q5_0",
            Self::Q5_1 => "q5_1",
        }
    }
}

impl fmt::Display for KvType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn kv_rows() {
        assert_eq!(KvType::F16.row_bytes(256), 512);
        assert_eq!(KvType::Q8_0.row_bytes(256), 8 * 34);
        assert_eq!(KvType::F32.row_bytes(10), 40);
        assert!(KvType::Q8_0.is_quantized());
        assert!(!KvType::Bf16.is_quantized());
    }

    #[test]
    fn k_quant_rows() {
        assert_eq!(row_size(type_id::Q4_K, 3584), 14 * 144);
        assert_eq!(row_size(type_id::Q6_K, 512), 2 * 210);
        // partial blocks round up (CUDA row padding is computed with this)
        assert_eq!(row_size(type_id::Q4_0, 33), 2 * 18);
    }
}
