//! [`GgufHeader`]: everything before the tensor data, plus where that data lies and whether the file holds it.
//!
//! A header comes from [`crate::read_header`] (a file) or from [`GgufHeader::new`] (a file about to be
//! written). Both paths enforce the same layout rules, so a header that exists is one the writer can write
//! and llama.cpp's rules on names, types and alignment accept.

use std::collections::HashMap;

use crate::error::{GgufError, Result};
use crate::metadata::Metadata;
use crate::tensor::TensorInfo;
use crate::writer;

/// The GGUF magic, `GGUF` read as bytes.
pub const MAGIC: [u8; 4] = *b"GGUF";

/// Whether a file holds all the tensor data its header describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completeness {
    /// The file is at least as long as the data section.
    Complete,
    /// The file ends before the data section does (e.g. a header-only fixture, an interrupted download).
    Truncated {
        /// Where the data section ends.
        expected_end: u64,
        /// The file's actual length.
        file_len: u64,
    },
}

/// A parsed or constructed GGUF header.
#[derive(Clone, Debug, PartialEq)]
pub struct GgufHeader {
    version: u32,
    metadata: Metadata,
    tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
    alignment: u64,
    header_len: u64,
    data_offset: u64,
    data_len: u64,
    file_len: Option<u64>,
}

/// The parts of a header that [`crate::read_header`] has already checked, before the layout is derived.
pub(crate) struct RawHeader {
    pub version: u32,
    pub metadata: Metadata,
    pub tensors: Vec<TensorInfo>,
    pub tensor_index: HashMap<String, usize>,
    pub tensor_offsets: Vec<u64>,
    pub alignment: u64,
    pub header_len: u64,
    pub file_len: u64,
}

impl GgufHeader {
    /// Builds a header for a new file. Tensor data offsets are assigned here, in the order given, each
    /// padded to the alignment (llama.cpp's layout); the offsets inside `tensors` are ignored.
    pub fn new(version: u32, metadata: Metadata, tensors: Vec<TensorInfo>) -> Result<Self> {
        if !(2..=3).contains(&version) {
            return Err(GgufError::UnsupportedVersion { offset: 4, version });
        }
        let alignment = metadata.alignment()?;
        let mut tensor_index = HashMap::with_capacity(tensors.len());
        let mut laid_out = Vec::with_capacity(tensors.len());
        let mut next: u64 = 0;
        for (i, t) in tensors.into_iter().enumerate() {
            if tensor_index.insert(t.name().to_owned(), i).is_some() {
                return Err(GgufError::DuplicateTensor {
                    offset: 0,
                    name: t.name().to_owned(),
                });
            }
            let end = next
                .checked_add(t.n_bytes())
                .and_then(|e| align_up(e, alignment));
            let offset = next;
            next = end.ok_or(GgufError::Overflow {
                offset: 0,
                what: "tensor data layout",
            })?;
            laid_out.push(t.with_offset(offset));
        }
        let mut header = Self {
            version,
            metadata,
            tensors: laid_out,
            tensor_index,
            alignment,
            header_len: 0,
            data_offset: 0,
            data_len: next,
            file_len: None,
        };
        header.header_len = writer::encoded_header_len(&header)?;
        header.data_offset = align_up(header.header_len, alignment).ok_or(GgufError::Overflow {
            offset: header.header_len,
            what: "data offset",
        })?;
        header
            .data_offset
            .checked_add(header.data_len)
            .ok_or(GgufError::Overflow {
                offset: header.data_offset,
                what: "end of data section",
            })?;
        Ok(header)
    }

    /// Derives the data layout of a header read from a file and checks it: tensor data aligned, inside
    /// 64-bit range and not overlapping.
    pub(crate) fn from_raw(raw: RawHeader) -> Result<Self> {
        let RawHeader {
            version,
            metadata,
            tensors,
            tensor_index,
            tensor_offsets,
            alignment,
            header_len,
            file_len,
        } = raw;
        let data_offset = align_up(header_len, alignment).ok_or(GgufError::Overflow {
            offset: header_len,
            what: "data offset",
        })?;
        let mut order: Vec<usize> = (0..tensors.len()).collect();
        order.sort_by_key(|&i| (tensors.get(i).map_or(0, TensorInfo::offset), i));
        let mut data_end: u64 = 0;
        let mut prev: Option<usize> = None;
        for &i in &order {
            let (Some(t), Some(&info_at)) = (tensors.get(i), tensor_offsets.get(i)) else {
                continue;
            };
            let end = t
                .offset()
                .checked_add(t.n_bytes())
                .ok_or(GgufError::Overflow {
                    offset: info_at,
                    what: "tensor data end",
                })?;
            if let Some(p) = prev.and_then(|p| tensors.get(p)) {
                // Sorted by offset, so only the previous tensor can overlap this one.
                if t.n_bytes() > 0 && p.offset().saturating_add(p.n_bytes()) > t.offset() {
                    return Err(GgufError::OverlappingTensors {
                        offset: info_at,
                        name: t.name().to_owned(),
                        other: p.name().to_owned(),
                    });
                }
            }
            if t.n_bytes() > 0 {
                prev = Some(i);
            }
            data_end = data_end.max(end);
        }
        let data_len = align_up(data_end, alignment).ok_or(GgufError::Overflow {
            offset: data_offset,
            what: "data length",
        })?;
        data_offset
            .checked_add(data_len)
            .ok_or(GgufError::Overflow {
                offset: data_offset,
                what: "end of data section",
            })?;
        Ok(Self {
            version,
            metadata,
            tensors,
            tensor_index,
            alignment,
            header_len,
            data_offset,
            data_len,
            file_len: Some(file_len),
        })
    }

    /// The GGUF version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The metadata, in file order.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The tensor infos, in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// A tensor by name.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index
            .get(name)
            .and_then(|&i| self.tensors.get(i))
    }

    /// The data alignment (from `general.alignment`, default 32).
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Bytes from the magic to the end of the tensor infos.
    pub fn header_len(&self) -> u64 {
        self.header_len
    }

    /// Where the tensor data section starts (the header length rounded up to the alignment).
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// Length of the data section: the end of the last tensor's data, rounded up to the alignment.
    pub fn data_len(&self) -> u64 {
        self.data_len
    }

    /// Where the file should end: the end of the data section (or of the header, for a file without tensors).
    pub fn expected_file_len(&self) -> u64 {
        if self.tensors.is_empty() {
            self.header_len
        } else {
            // Checked when the header was built.
            self.data_offset.saturating_add(self.data_len)
        }
    }

    /// Sum of the tensors' unpadded byte sizes.
    pub fn tensor_bytes(&self) -> u64 {
        self.tensors
            .iter()
            .fold(0u64, |acc, t| acc.saturating_add(t.n_bytes()))
    }

    /// Sum of the tensors' element counts: the model's parameter count.
    pub fn parameter_count(&self) -> u64 {
        self.tensors
            .iter()
            .fold(0u64, |acc, t| acc.saturating_add(t.n_elements()))
    }

    /// Absolute file offset of a tensor's data.
    pub fn tensor_file_offset(&self, tensor: &TensorInfo) -> u64 {
        self.data_offset.saturating_add(tensor.offset())
    }

    /// Length of the file this header was read from (`None` for a header built in memory).
    pub fn file_len(&self) -> Option<u64> {
        self.file_len
    }

    /// Whether a file of `file_len` bytes holds all the data this header describes.
    pub fn completeness_for(&self, file_len: u64) -> Completeness {
        let expected_end = self.expected_file_len();
        if file_len >= expected_end {
            Completeness::Complete
        } else {
            Completeness::Truncated {
                expected_end,
                file_len,
            }
        }
    }

    /// Whether the file this header was read from holds all its tensor data (`None` for a header built in
    /// memory).
    pub fn completeness(&self) -> Option<Completeness> {
        self.file_len.map(|len| self.completeness_for(len))
    }
}

/// Rounds `n` up to a multiple of `alignment` (a power of two), or `None` on overflow.
pub fn align_up(n: u64, alignment: u64) -> Option<u64> {
    let mask = alignment.checked_sub(1)?;
    n.checked_add(mask).map(|v| v & !mask)
}
