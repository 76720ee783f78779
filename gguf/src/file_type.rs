//! llama.cpp's file types (`general.file_type`, `enum llama_ftype` in `llama.h`): the quantization mix a
//! model was made with, e.g. `Q4_K_M`.
//!
//! The id is kept as a number so that a file type newer than this table still reads (it displays as
//! `unknown (N)`). The test `tests/ggml_table.rs` checks the table against the vendored `llama.h`.

use std::fmt;

/// The file types llama.cpp defines, `(id, name)`; names drop the `LLAMA_FTYPE_MOSTLY_`/`ALL_` prefix.
pub const FILE_TYPES: &[(u32, &str)] = &[
    (0, "F32"),
    (1, "F16"),
    (2, "Q4_0"),
    (3, "Q4_1"),
    (7, "Q8_0"),
    (8, "Q5_0"),
    (9, "Q5_1"),
    (10, "Q2_K"),
    (11, "Q3_K_S"),
    (12, "Q3_K_M"),
    (13, "Q3_K_L"),
    (14, "Q4_K_S"),
    (15, "Q4_K_M"),
    (16, "Q5_K_S"),
    (17, "Q5_K_M"),
    (18, "Q6_K"),
    (19, "IQ2_XXS"),
    (20, "IQ2_XS"),
    (21, "Q2_K_S"),
    (22, "IQ3_XS"),
    (23, "IQ3_XXS"),
    (24, "IQ1_S"),
    (25, "IQ4_NL"),
    (26, "IQ3_S"),
    (27, "IQ3_M"),
    (28, "IQ2_S"),
    (29, "IQ2_M"),
    (30, "IQ4_XS"),
    (31, "IQ1_M"),
    (32, "BF16"),
    (36, "TQ1_0"),
    (37, "TQ2_0"),
    (38, "MXFP4_MOE"),
    (39, "NVFP4"),
    (40, "Q1_0"),
    (41, "Q2_0"),
    (1024, "GUESSED"),
];

/// A llama.cpp file type id, as stored in `general.file_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileType(pub u32);

impl FileType {
    /// The name (e.g. `Q4_K_M`), if llama.cpp defines this id.
    pub fn name(self) -> Option<&'static str> {
        FILE_TYPES
            .iter()
            .find(|(id, _)| *id == self.0)
            .map(|(_, name)| *name)
    }

    /// The file type with this name (case-insensitive), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        FILE_TYPES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(id, _)| Self(*id))
    }
}

impl fmt::Display for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "unknown ({})", self.0),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_and_unknown_ids() {
        assert_eq!(FileType(15).to_string(), "Q4_K_M");
        assert_eq!(FileType::from_name("q4_k_m"), Some(FileType(15)));
        assert_eq!(FileType(4).name(), None);
        assert_eq!(FileType(999).to_string(), "unknown (999)");
    }
}
