//! The crate's one error type.
//!
//! Every error found while parsing carries the byte offset (from the start of the GGUF data) at which the
//! offending field begins, so that a bad file can be diagnosed with a hex dump. Errors about the *meaning* of
//! a well-formed file (a missing hyper-parameter, a value of the wrong type) carry the metadata key instead.

use std::io;

use crate::value::ValueType;

/// Everything that can go wrong while reading, interpreting or writing a GGUF file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GgufError {
    /// The file could not be opened.
    #[error("cannot open file")]
    Open {
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The underlying reader or writer failed (not a format problem).
    #[error("I/O error at byte {offset}")]
    Io {
        /// Where the failing operation started.
        offset: u64,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The file ends inside the header: a field needs more bytes than are left.
    #[error(
        "file ends inside the header at byte {offset}: {what} needs {needed} bytes, {remaining} left"
    )]
    UnexpectedEof {
        /// Where the field starts.
        offset: u64,
        /// Which field was being read.
        what: &'static str,
        /// Bytes the field needs (for counted fields: the smallest size the count implies).
        needed: u64,
        /// Bytes left in the file at `offset`.
        remaining: u64,
    },

    /// The first four bytes are not `GGUF`.
    #[error("bad magic at byte {offset}: expected \"GGUF\", found \"{}\" (not a GGUF file)", .found.escape_ascii())]
    BadMagic {
        /// Always 0 (kept for uniformity with the other variants).
        offset: u64,
        /// The bytes found instead.
        found: [u8; 4],
    },

    /// A GGUF version other than 2 or 3 (version 1 used 32-bit counts; a huge number hints at a big-endian file).
    #[error("unsupported GGUF version {version} at byte {offset} (supported: 2, 3)")]
    UnsupportedVersion {
        /// Where the version field starts.
        offset: u64,
        /// The version found.
        version: u32,
    },

    /// A count, length or size is above the configured [`crate::Limits`].
    #[error("{what} at byte {offset} is {value}, above the limit of {limit}")]
    LimitExceeded {
        /// Where the offending field starts.
        offset: u64,
        /// Which limit was hit.
        what: &'static str,
        /// The value found.
        value: u64,
        /// The configured limit.
        limit: u64,
    },

    /// A metadata value type id that GGUF does not define.
    #[error("unknown metadata value type {type_id} at byte {offset}")]
    UnknownValueType {
        /// Where the type id starts.
        offset: u64,
        /// The id found.
        type_id: u32,
    },

    /// A boolean stored as a byte other than 0 or 1.
    #[error("invalid boolean byte {value} at byte {offset}")]
    InvalidBool {
        /// Where the byte is.
        offset: u64,
        /// The byte found.
        value: u8,
    },

    /// A metadata key or tensor name that is not UTF-8 (string *values* may hold any bytes).
    #[error("{what} at byte {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// Where the string's length prefix starts.
        offset: u64,
        /// Which kind of string.
        what: &'static str,
    },

    /// A metadata key of length zero.
    #[error("empty metadata key at byte {offset}")]
    EmptyKey {
        /// Where the key starts.
        offset: u64,
    },

    /// The same metadata key appears twice.
    #[error("duplicate metadata key {key:?} at byte {offset}")]
    DuplicateKey {
        /// Where the second occurrence starts (0 when building a file in memory).
        offset: u64,
        /// The key.
        key: String,
    },

    /// The same tensor name appears twice.
    #[error("duplicate tensor name {name:?} at byte {offset}")]
    DuplicateTensor {
        /// Where the second occurrence starts (0 when building a file in memory).
        offset: u64,
        /// The name.
        name: String,
    },

    /// `general.alignment` is not a `u32`, or is zero, or is not a power of two.
    #[error("invalid general.alignment at byte {offset}: {reason}")]
    BadAlignment {
        /// Where the key's entry starts.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },

    /// A tensor's shape or type is not acceptable.
    #[error("tensor {name:?} (info at byte {offset}): {reason}")]
    BadTensor {
        /// Where the tensor's info starts (0 when building a file in memory).
        offset: u64,
        /// The tensor's name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A tensor's data offset is not a multiple of the alignment.
    #[error(
        "tensor {name:?} (info at byte {offset}): data offset {data_offset} is not a multiple of the alignment {alignment}"
    )]
    MisalignedTensor {
        /// Where the tensor's info starts.
        offset: u64,
        /// The tensor's name.
        name: String,
        /// The tensor's offset inside the data section.
        data_offset: u64,
        /// The file's alignment.
        alignment: u64,
    },

    /// Two tensors' data ranges overlap.
    #[error("tensor {name:?} (info at byte {offset}): data overlaps tensor {other:?}")]
    OverlappingTensors {
        /// Where the later tensor's info starts.
        offset: u64,
        /// The tensor whose data starts later.
        name: String,
        /// The tensor it overlaps.
        other: String,
    },

    /// An offset or size computation would overflow 64 bits.
    #[error("arithmetic overflow at byte {offset} computing {what}")]
    Overflow {
        /// The file position the computation concerns.
        offset: u64,
        /// What was being computed.
        what: &'static str,
    },

    /// A metadata key that the caller requires is absent.
    #[error("missing metadata key {key:?}")]
    MissingKey {
        /// The key.
        key: String,
    },

    /// A metadata value has a type or value that the caller cannot use.
    #[error("metadata key {key:?}: {reason}")]
    BadValue {
        /// The key.
        key: String,
        /// What is wrong (e.g. "expected an unsigned integer, found string").
        reason: String,
    },

    /// A file being written does not match the header it was started with.
    #[error("write error: {reason}")]
    Write {
        /// What the caller did wrong (e.g. "tensor data too long").
        reason: String,
    },
}

impl GgufError {
    /// The byte offset the error refers to, for errors found while parsing.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Self::Io { offset, .. }
            | Self::UnexpectedEof { offset, .. }
            | Self::BadMagic { offset, .. }
            | Self::UnsupportedVersion { offset, .. }
            | Self::LimitExceeded { offset, .. }
            | Self::UnknownValueType { offset, .. }
            | Self::InvalidBool { offset, .. }
            | Self::InvalidUtf8 { offset, .. }
            | Self::EmptyKey { offset }
            | Self::DuplicateKey { offset, .. }
            | Self::DuplicateTensor { offset, .. }
            | Self::BadAlignment { offset, .. }
            | Self::BadTensor { offset, .. }
            | Self::MisalignedTensor { offset, .. }
            | Self::OverlappingTensors { offset, .. }
            | Self::Overflow { offset, .. } => Some(*offset),
            Self::Open { .. }
            | Self::MissingKey { .. }
            | Self::BadValue { .. }
            | Self::Write { .. } => None,
        }
    }

    /// Shorthand for a [`GgufError::BadValue`] with the found value type.
    pub(crate) fn wrong_type(key: &str, expected: &str, found: ValueType) -> Self {
        Self::BadValue {
            key: key.to_owned(),
            reason: format!("expected {expected}, found {}", found.name()),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = GgufError> = std::result::Result<T, E>;
