//! The ggml tensor types: id, name, block size and bytes per block.
//!
//! The table mirrors `type_traits` in ggml's `ggml.c` and the ids of `enum ggml_type` in `ggml.h`, as vendored
//! by llama-cpp-sys-2 0.1.161. Ids whose support ggml removed (4, 5, 31–33, 36–38) are not types here: a file
//! that uses them is rejected, as llama.cpp rejects it. The test `tests/ggml_table.rs` parses the vendored C
//! source when it is on disk and fails if this table drifts from it.

use std::fmt;

macro_rules! ggml_types {
    ($( $(#[$doc:meta])* $variant:ident = $id:literal, $name:literal, $ggml:literal, $block:expr, $size:expr; )*) => {
        /// A ggml tensor element type, as stored in a GGUF tensor info.
        ///
        /// Quantized types store `block_size` elements in `type_size` bytes; plain types have a block size of 1.
        ///
        /// Variant names are ggml's own (`Q4_K`, `IQ2_XXS`) so they can be grepped across both code bases.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        #[allow(non_camel_case_types)]
        pub enum GgmlType {
            $( $(#[$doc])* $variant = $id, )*
        }

        impl GgmlType {
            /// Every type ggml knows, in id order.
            pub const ALL: &'static [GgmlType] = &[ $( GgmlType::$variant, )* ];

            /// The type with this on-disk id, if ggml still supports it.
            pub fn from_id(id: u32) -> Option<Self> {
                match id {
                    $( $id => Some(Self::$variant), )*
                    _ => None,
                }
            }

            /// The upper-case name used by llama.cpp's tools and gguf-py (e.g. `Q4_K`).
            pub fn name(self) -> &'static str {
                match self { $( Self::$variant => $name, )* }
            }

            /// ggml's own `type_name` (e.g. `q4_K`).
            pub fn ggml_name(self) -> &'static str {
                match self { $( Self::$variant => $ggml, )* }
            }

            /// Elements per block (`blck_size` in ggml).
            pub fn block_size(self) -> u64 {
                match self { $( Self::$variant => $block, )* }
            }

            /// Bytes per block (`type_size` in ggml).
            pub fn type_size(self) -> u64 {
                match self { $( Self::$variant => $size, )* }
            }
        }
    };
}

/// `QK_K`: the super-block size of the k-quants and most i-quants.
const QK_K: u64 = 256;

ggml_types! {
    /// 32-bit float.
    F32 = 0, "F32", "f32", 1, 4;
    /// 16-bit IEEE float.
    F16 = 1, "F16", "f16", 1, 2;
    /// 4-bit, one f16 scale per 32.
    Q4_0 = 2, "Q4_0", "q4_0", 32, 2 + 16;
    /// 4-bit, f16 scale and minimum per 32.
    Q4_1 = 3, "Q4_1", "q4_1", 32, 2 * 2 + 16;
    /// 5-bit, one f16 scale per 32.
    Q5_0 = 6, "Q5_0", "q5_0", 32, 2 + 4 + 16;
    /// 5-bit, f16 scale and minimum per 32.
    Q5_1 = 7, "Q5_1", "q5_1", 32, 2 * 2 + 4 + 16;
    /// 8-bit, one f16 scale per 32.
    Q8_0 = 8, "Q8_0", "q8_0", 32, 2 + 32;
    /// 8-bit with scale and sum (activations).
    Q8_1 = 9, "Q8_1", "q8_1", 32, 2 * 2 + 32;
    /// 2-bit k-quant.
    Q2_K = 10, "Q2_K", "q2_K", QK_K, 2 * 2 + QK_K / 16 + QK_K / 4;
    /// 3-bit k-quant.
    Q3_K = 11, "Q3_K", "q3_K", QK_K, 2 + QK_K / 4 + QK_K / 8 + 12;
    /// 4-bit k-quant.
    Q4_K = 12, "Q4_K", "q4_K", QK_K, 2 * 2 + 12 + QK_K / 2;
    /// 5-bit k-quant.
    Q5_K = 13, "Q5_K", "q5_K", QK_K, 2 * 2 + 12 + QK_K / 2 + QK_K / 8;
    /// 6-bit k-quant.
    Q6_K = 14, "Q6_K", "q6_K", QK_K, 2 + QK_K / 16 + 3 * QK_K / 4;
    /// 8-bit k-quant (intermediate results).
    Q8_K = 15, "Q8_K", "q8_K", QK_K, 4 + QK_K + QK_K / 16 * 2;
    /// 2.06 bits per weight i-quant.
    IQ2_XXS = 16, "IQ2_XXS", "iq2_xxs", QK_K, 2 + QK_K / 8 * 2;
    /// 2.31 bits per weight i-quant.
    IQ2_XS = 17, "IQ2_XS", "iq2_xs", QK_K, 2 + QK_K / 8 * 2 + QK_K / 32;
    /// 3.06 bits per weight i-quant.
    IQ3_XXS = 18, "IQ3_XXS", "iq3_xxs", QK_K, 2 + 3 * (QK_K / 8);
    /// 1.56 bits per weight i-quant.
    IQ1_S = 19, "IQ1_S", "iq1_s", QK_K, 2 + QK_K / 8 + QK_K / 16;
    /// 4-bit non-linear, blocks of 32.
    IQ4_NL = 20, "IQ4_NL", "iq4_nl", 32, 2 + 16;
    /// 3.44 bits per weight i-quant.
    IQ3_S = 21, "IQ3_S", "iq3_s", QK_K, 2 + 13 * (QK_K / 32) + QK_K / 64;
    /// 2.5 bits per weight i-quant.
    IQ2_S = 22, "IQ2_S", "iq2_s", QK_K, 2 + QK_K / 4 + QK_K / 16;
    /// 4.25 bits per weight non-linear.
    IQ4_XS = 23, "IQ4_XS", "iq4_xs", QK_K, 2 + 2 + QK_K / 64 + QK_K / 2;
    /// 8-bit integer.
    I8 = 24, "I8", "i8", 1, 1;
    /// 16-bit integer.
    I16 = 25, "I16", "i16", 1, 2;
    /// 32-bit integer.
    I32 = 26, "I32", "i32", 1, 4;
    /// 64-bit integer.
    I64 = 27, "I64", "i64", 1, 8;
    /// 64-bit float.
    F64 = 28, "F64", "f64", 1, 8;
    /// 1.75 bits per weight i-quant.
    IQ1_M = 29, "IQ1_M", "iq1_m", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32;
    /// bfloat16.
    BF16 = 30, "BF16", "bf16", 1, 2;
    /// Ternary, 1.69 bits per weight.
    TQ1_0 = 34, "TQ1_0", "tq1_0", QK_K, 2 + QK_K / 64 + (QK_K - 4 * QK_K / 64) / 5;
    /// Ternary, 2.06 bits per weight.
    TQ2_0 = 35, "TQ2_0", "tq2_0", QK_K, 2 + QK_K / 4;
    /// Microscaling FP4 (one E8M0 scale per 32).
    MXFP4 = 39, "MXFP4", "mxfp4", 32, 1 + 16;
    /// NVIDIA FP4 (four E4M3 scales per 64).
    NVFP4 = 40, "NVFP4", "nvfp4", 64, 64 / 16 + 32;
    /// 1-bit, one f16 scale per 128.
    Q1_0 = 41, "Q1_0", "q1_0", 128, 2 + 128 / 8;
    /// 2-bit, one f16 scale per 64.
    Q2_0 = 42, "Q2_0", "q2_0", 64, 2 + 64 / 4;
}

impl GgmlType {
    /// The on-disk id.
    pub fn id(self) -> u32 {
        self as u32
    }

    /// Bytes needed for `n_elements` elements, or `None` when `n_elements` is not a whole number of blocks
    /// or the size overflows `u64`.
    pub fn bytes_for(self, n_elements: u64) -> Option<u64> {
        if n_elements % self.block_size() != 0 {
            return None;
        }
        (n_elements / self.block_size()).checked_mul(self.type_size())
    }

    /// Average storage bits per element (for display and rough planning).
    pub fn bits_per_element(self) -> f64 {
        // Both factors are small constants, so the conversions are exact.
        (self.type_size() * 8) as f64 / self.block_size() as f64
    }

    /// Whether the type is block-quantized (block size above one).
    pub fn is_quantized(self) -> bool {
        self.block_size() > 1
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_removed_ids_are_rejected() {
        for &t in GgmlType::ALL {
            assert_eq!(GgmlType::from_id(t.id()), Some(t));
        }
        for removed in [4, 5, 31, 32, 33, 36, 37, 38, 43, u32::MAX] {
            assert_eq!(GgmlType::from_id(removed), None, "id {removed}");
        }
    }

    #[test]
    fn known_sizes() {
        assert_eq!(GgmlType::Q4_K.type_size(), 144);
        assert_eq!(GgmlType::Q6_K.type_size(), 210);
        assert_eq!(GgmlType::Q8_0.type_size(), 34);
        assert_eq!(GgmlType::TQ1_0.type_size(), 54);
        assert_eq!(
            GgmlType::Q4_K.bytes_for(3584 * 512),
            Some(3584 * 512 / 256 * 144)
        );
        assert_eq!(GgmlType::Q4_K.bytes_for(100), None);
        assert_eq!(GgmlType::F32.bytes_for(u64::MAX), None);
        assert!((GgmlType::Q4_K.bits_per_element() - 4.5).abs() < 1e-9);
    }
}
