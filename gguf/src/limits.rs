//! Limits on what a header may claim, checked before anything is allocated.
//!
//! Every count and length in a GGUF header is attacker-controlled. Each is checked twice before use: against
//! the limit here (so a huge but "possible" file still cannot make us allocate gigabytes) and against the
//! bytes actually left in the file (so a short file cannot claim a long array). The defaults are far above
//! what real models use (a 256k-token vocabulary header is ~20 MB) and well below what would hurt a 8 GB
//! workstation.

/// Bounds applied while reading a header. Construct with `Limits::default()` and adjust fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest header (magic to end of tensor infos) in bytes; reading stops with an error beyond it.
    pub max_header_bytes: u64,
    /// Most metadata entries.
    pub max_metadata_entries: u64,
    /// Most tensors.
    pub max_tensors: u64,
    /// Longest string value or key, in bytes.
    pub max_string_len: u64,
    /// Longest tensor name in bytes (ggml's `GGML_MAX_NAME` is 64 including the NUL, hence 63).
    pub max_tensor_name_len: u64,
    /// Most elements in one array.
    pub max_array_len: u64,
    /// Deepest nesting of arrays inside arrays (1 = arrays of scalars only).
    pub max_array_depth: u32,
    /// Most dimensions of a tensor (ggml's `GGML_MAX_DIMS`).
    pub max_dims: u32,
    /// Largest `general.alignment`. GGUF allows any power of two up to 2^31, but the padding before the
    /// data section is up to one alignment long, and a writer copying the header would emit it: a 1 GiB
    /// alignment in a 150-byte file made the fuzzer's read→write round trip allocate 1 GiB of zeros.
    /// Real files use 32 (a few use 64 or a page).
    pub max_alignment: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_header_bytes: 256 << 20,
            max_metadata_entries: 1 << 16,
            max_tensors: 1 << 20,
            max_string_len: 16 << 20,
            max_tensor_name_len: 63,
            max_array_len: 1 << 26,
            max_array_depth: 8,
            max_dims: 4,
            max_alignment: 1 << 20,
        }
    }
}
