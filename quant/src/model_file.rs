//! [`ModelFile`]: a GGUF file opened for reading tensor data — the header plus positional reads.
//!
//! Positional reads (`pread`) rather than seek + read, so that worker threads can each read their own rows
//! of the same tensor from one shared handle without a lock.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use medllm_gguf::{Completeness, GgufHeader, TensorInfo, read_header_from_path};

use crate::error::{QuantError, Result};
use crate::ggml;

/// An open GGUF file whose tensor data is all present.
#[derive(Debug)]
pub struct ModelFile {
    path: PathBuf,
    header: GgufHeader,
    file: File,
}

impl ModelFile {
    /// Opens a model and checks that it holds all the data its header describes (a header-only fixture or
    /// an interrupted download is refused here, not halfway through a 5 GB write).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let header = Self::header_only(&path)?;
        if let Some(Completeness::Truncated {
            expected_end,
            file_len,
        }) = header.completeness()
        {
            return Err(QuantError::bad_input(
                &path,
                format!(
                    "the file has {file_len} bytes but its tensor data ends at {expected_end} \
                     (a header-only fixture or an incomplete download)"
                ),
            ));
        }
        let file = File::open(&path).map_err(|e| QuantError::io(&path, e))?;
        Ok(Self { path, header, file })
    }

    /// Reads only the header (the file may lack its tensor data, e.g. a fixture).
    pub fn header_only(path: &Path) -> Result<GgufHeader> {
        read_header_from_path(path).map_err(|e| QuantError::gguf(path, e))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The header.
    pub fn header(&self) -> &GgufHeader {
        &self.header
    }

    /// Reads `len` bytes of a tensor's data starting `offset` bytes into it.
    pub fn read_bytes(&self, t: &TensorInfo, offset: u64, len: usize) -> Result<Vec<u8>> {
        let end = offset.checked_add(len as u64);
        if end.is_none_or(|e| e > t.n_bytes()) {
            return Err(QuantError::Shape {
                tensor: t.name().to_owned(),
                reason: format!(
                    "read of {len} bytes at {offset} past its {} bytes",
                    t.n_bytes()
                ),
            });
        }
        let mut buf = vec![0u8; len];
        let at = self.header.tensor_file_offset(t).saturating_add(offset);
        self.file
            .read_exact_at(&mut buf, at)
            .map_err(|e| QuantError::io(&self.path, e))?;
        Ok(buf)
    }

    /// Reads a whole tensor's bytes (for small tensors: LoRA factors, norms).
    pub fn read_tensor(&self, t: &TensorInfo) -> Result<Vec<u8>> {
        let len = usize::try_from(t.n_bytes()).map_err(|_| QuantError::Shape {
            tensor: t.name().to_owned(),
            reason: "too large to read at once".into(),
        })?;
        self.read_bytes(t, 0, len)
    }

    /// Reads `nrows` rows starting at row `first` and de-quantizes them through ggml into `out`
    /// (`nrows × row length` floats).
    pub fn read_rows_f32(
        &self,
        t: &TensorInfo,
        first: u64,
        nrows: usize,
        out: &mut Vec<f32>,
    ) -> Result<()> {
        let shape = RowShape::of(t)?;
        let bytes = self.read_bytes(t, first * shape.row_bytes as u64, nrows * shape.row_bytes)?;
        out.clear();
        out.resize(nrows * shape.row_len, 0.0);
        ggml::dequantize(t.ggml_type(), &bytes, out, t.name())
    }

    /// Reads a whole tensor as floats (for small tensors).
    pub fn read_f32(&self, t: &TensorInfo) -> Result<Vec<f32>> {
        let shape = RowShape::of(t)?;
        let mut out = Vec::new();
        self.read_rows_f32(t, 0, shape.rows as usize, &mut out)?;
        Ok(out)
    }

    /// A reader positioned at a tensor's data, for byte-for-byte copies.
    pub fn tensor_reader(&self, t: &TensorInfo) -> TensorReader<'_> {
        TensorReader {
            file: &self.file,
            pos: self.header.tensor_file_offset(t),
        }
    }
}

/// `Read` over a file from a position, using positional reads (does not move a shared cursor).
#[derive(Debug)]
pub struct TensorReader<'a> {
    file: &'a File,
    pos: u64,
}

impl std::io::Read for TensorReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// A tensor seen as rows: ggml's view (row = `dims[0]` elements, all higher dims flattened).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowShape {
    /// Elements per row (`dims[0]`).
    pub row_len: usize,
    /// Number of rows (product of the other dims).
    pub rows: u64,
    /// Bytes per row in the tensor's type.
    pub row_bytes: usize,
}

impl RowShape {
    /// The row view of a tensor.
    pub fn of(t: &TensorInfo) -> Result<Self> {
        let row_len = t.dims().first().copied().unwrap_or(1);
        let rows = t.dims().iter().skip(1).product::<u64>();
        let row_bytes =
            ggml::row_size(t.ggml_type(), row_len).ok_or_else(|| QuantError::Shape {
                tensor: t.name().to_owned(),
                reason: format!(
                    "row length {row_len} is not a whole number of {} blocks",
                    t.ggml_type()
                ),
            })?;
        Ok(Self {
            row_len: usize::try_from(row_len).map_err(|_| QuantError::Shape {
                tensor: t.name().to_owned(),
                reason: "row too long".into(),
            })?,
            rows,
            row_bytes,
        })
    }
}
