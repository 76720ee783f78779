//! Writing GGUF: the mirror of the reader. The header is written from a [`GgufHeader`] (metadata in order,
//! tensor infos, zero padding to the data offset); tensor data is then streamed in, tensor by tensor in data
//! order, so a multi-GB model never has to be held in memory.
//!
//! For any header read from a file, `write_header(read_header(file))` reproduces the file's first
//! `data_offset` bytes exactly (given zero padding, which every known writer uses).

use std::io::{self, Read, Write};

use crate::error::{GgufError, Result};
use crate::header::{GgufHeader, MAGIC};
use crate::tensor::TensorInfo;
use crate::value::{Array, GgufString, Value};

/// A writer that counts bytes, so errors can carry the offset and the header length can be measured.
struct Counting<W> {
    inner: W,
    pos: u64,
}

impl<W: Write> Counting<W> {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.inner
            .write_all(bytes)
            .map_err(|source| GgufError::Io {
                offset: self.pos,
                source,
            })?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    fn zeros(&mut self, mut n: u64) -> Result<()> {
        const ZEROS: [u8; 4096] = [0; 4096];
        while n > 0 {
            let k = n.min(ZEROS.len() as u64);
            self.put(&ZEROS[..k as usize])?;
            n -= k;
        }
        Ok(())
    }

    fn string(&mut self, s: &[u8]) -> Result<()> {
        self.put(&(s.len() as u64).to_le_bytes())?;
        self.put(s)
    }

    fn value(&mut self, v: &Value) -> Result<()> {
        match v {
            Value::U8(x) => self.put(&x.to_le_bytes()),
            Value::I8(x) => self.put(&x.to_le_bytes()),
            Value::U16(x) => self.put(&x.to_le_bytes()),
            Value::I16(x) => self.put(&x.to_le_bytes()),
            Value::U32(x) => self.put(&x.to_le_bytes()),
            Value::I32(x) => self.put(&x.to_le_bytes()),
            Value::F32(x) => self.put(&x.to_le_bytes()),
            Value::Bool(x) => self.put(&[u8::from(*x)]),
            Value::String(s) => self.string(s.as_bytes()),
            Value::Array(a) => self.array(a),
            Value::U64(x) => self.put(&x.to_le_bytes()),
            Value::I64(x) => self.put(&x.to_le_bytes()),
            Value::F64(x) => self.put(&x.to_le_bytes()),
        }
    }

    fn array(&mut self, a: &Array) -> Result<()> {
        self.put(&a.element_type().id().to_le_bytes())?;
        self.put(&(a.len() as u64).to_le_bytes())?;
        fn each<W: Write, T>(
            w: &mut Counting<W>,
            xs: &[T],
            f: impl Fn(&T) -> Vec<u8>,
        ) -> Result<()> {
            // Batched so that a 150k-element array is a few large writes, not 150k tiny ones.
            let mut buf = Vec::with_capacity(64 * 1024);
            for x in xs {
                buf.extend_from_slice(&f(x));
                if buf.len() >= 60 * 1024 {
                    w.put(&buf)?;
                    buf.clear();
                }
            }
            w.put(&buf)
        }
        match a {
            Array::U8(v) => self.put(v),
            Array::I8(v) => each(self, v, |x| x.to_le_bytes().to_vec()),
            Array::U16(v) => each(self, v, |x| x.to_le_bytes().to_vec()),
            Array::I16(v) => each(self, v, |x| x.to_le_bytes().to_vec()),
            Array::U32(v) => each(self, v, |x| x.to_le_bytes().to_vec()),
            Array::I32(v) => each(self, v, |x| x.to_le_bytes().to_vec()),
            Array::F32(v) => each(self, v, |x| x.to_le_bytes().to_vec()),
            Array::Bool(v) => each(self, v, |x| vec![u8::from(*x)]),
            Array::U64(v) => each(self, v, |x| x.to_le_bytes().to_vec()),
            Array::I64(v) => each(self, v, |x| x.to_le_bytes().to_vec()),
            Array::F64(v) => each(self, v, |x| x.to_le_bytes().to_vec()),
            Array::String(v) => {
                let mut buf = Vec::with_capacity(64 * 1024);
                for s in v {
                    encode_string(&mut buf, s);
                    if buf.len() >= 60 * 1024 {
                        self.put(&buf)?;
                        buf.clear();
                    }
                }
                self.put(&buf)
            }
            Array::Array(v) => v.iter().try_for_each(|inner| self.array(inner)),
        }
    }

    fn tensor_info(&mut self, t: &TensorInfo) -> Result<()> {
        self.string(t.name().as_bytes())?;
        self.put(&(t.dims().len() as u32).to_le_bytes())?;
        for d in t.dims() {
            self.put(&d.to_le_bytes())?;
        }
        self.put(&t.ggml_type().id().to_le_bytes())?;
        self.put(&t.offset().to_le_bytes())
    }

    /// Magic to the end of the tensor infos (no padding).
    fn header(&mut self, h: &GgufHeader) -> Result<()> {
        self.put(&MAGIC)?;
        self.put(&h.version().to_le_bytes())?;
        self.put(&(h.tensors().len() as u64).to_le_bytes())?;
        self.put(&(h.metadata().len() as u64).to_le_bytes())?;
        for e in h.metadata().entries() {
            self.string(e.key.as_bytes())?;
            self.put(&e.value.value_type().id().to_le_bytes())?;
            self.value(&e.value)?;
        }
        h.tensors().iter().try_for_each(|t| self.tensor_info(t))
    }
}

fn encode_string(buf: &mut Vec<u8>, s: &GgufString) {
    buf.extend_from_slice(&(s.as_bytes().len() as u64).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

/// The length of the header's encoding, magic to the end of the tensor infos (before padding).
pub(crate) fn encoded_header_len(h: &GgufHeader) -> Result<u64> {
    let mut c = Counting {
        inner: io::sink(),
        pos: 0,
    };
    c.header(h)?;
    Ok(c.pos)
}

/// Writes the header and the zero padding up to [`GgufHeader::data_offset`]; returns the bytes written.
pub fn write_header<W: Write>(header: &GgufHeader, writer: W) -> Result<u64> {
    let mut c = Counting {
        inner: writer,
        pos: 0,
    };
    c.header(header)?;
    c.zeros(header.data_offset().saturating_sub(c.pos))?;
    c.inner.flush().map_err(|source| GgufError::Io {
        offset: c.pos,
        source,
    })?;
    Ok(c.pos)
}

/// Streams a whole GGUF file: the header on creation, then each tensor's data in data order (ascending
/// offset, which for a header from [`GgufHeader::new`] is the order the tensors were given), then
/// [`GgufWriter::finish`]. Gaps and the end of the data section are padded with zeros.
pub struct GgufWriter<W: Write> {
    out: Counting<W>,
    header: GgufHeader,
    /// Tensor indices in data order.
    order: Vec<usize>,
    /// Position in `order` of the tensor being written.
    next: usize,
    /// Bytes of that tensor written so far.
    written: u64,
}

impl<W: Write> std::fmt::Debug for GgufWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufWriter")
            .field("pos", &self.out.pos)
            .field("next", &self.next)
            .finish()
    }
}

impl<W: Write> GgufWriter<W> {
    /// Writes the header (and padding) and gets ready for tensor data.
    pub fn new(writer: W, header: GgufHeader) -> Result<Self> {
        let mut out = Counting {
            inner: writer,
            pos: 0,
        };
        out.header(&header)?;
        out.zeros(header.data_offset().saturating_sub(out.pos))?;
        let mut order: Vec<usize> = (0..header.tensors().len()).collect();
        order.sort_by_key(|&i| (header.tensors().get(i).map_or(0, TensorInfo::offset), i));
        Ok(Self {
            out,
            header,
            order,
            next: 0,
            written: 0,
        })
    }

    /// The header being written.
    pub fn header(&self) -> &GgufHeader {
        &self.header
    }

    /// The tensor whose data is expected next (`None` once all are written).
    pub fn next_tensor(&self) -> Option<&TensorInfo> {
        self.order
            .get(self.next)
            .and_then(|&i| self.header.tensors().get(i))
    }

    /// Appends bytes of the current tensor's data; a tensor may arrive in any number of chunks. A chunk
    /// that runs past the end of the current tensor is refused (write tensors one at a time).
    pub fn write_chunk(&mut self, chunk: &[u8]) -> Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        // Zero-byte tensors need no data: step over them.
        while self.written == 0 && self.next_tensor().is_some_and(|t| t.n_bytes() == 0) {
            self.begin_current()?;
            self.next += 1;
        }
        let n_bytes = self.begin_current()?;
        let left = n_bytes - self.written;
        let len = chunk.len() as u64;
        if len > left {
            return Err(GgufError::Write {
                reason: format!("chunk runs {} bytes past the end of the tensor", len - left),
            });
        }
        self.out.put(chunk)?;
        self.written += len;
        if self.written == n_bytes {
            self.next += 1;
            self.written = 0;
        }
        Ok(())
    }

    /// Writes one whole tensor's data; its length must be exactly the tensor's byte size.
    pub fn write_tensor(&mut self, data: &[u8]) -> Result<()> {
        let expected = self.next_tensor().map(TensorInfo::n_bytes);
        if self.written != 0 || expected != Some(data.len() as u64) {
            return Err(GgufError::Write {
                reason: format!(
                    "tensor data is {} bytes, expected {expected:?} (written so far {})",
                    data.len(),
                    self.written
                ),
            });
        }
        if data.is_empty() {
            self.begin_current()?;
            self.next += 1;
            return Ok(());
        }
        self.write_chunk(data)
    }

    /// Copies exactly the current tensor's byte size from `src` (e.g. another GGUF file positioned at that
    /// tensor's data), in bounded chunks.
    pub fn copy_tensor<R: Read>(&mut self, src: &mut R) -> Result<()> {
        let Some(n) = self.next_tensor().map(TensorInfo::n_bytes) else {
            return Err(GgufError::Write {
                reason: "all tensors are already written".into(),
            });
        };
        let mut left = n - self.written;
        let mut buf = vec![0u8; 1 << 20];
        if left == 0 {
            self.begin_current()?;
            self.next += 1;
        }
        while left > 0 {
            let k = left.min(buf.len() as u64) as usize;
            let part = &mut buf[..k];
            src.read_exact(part).map_err(|source| GgufError::Io {
                offset: self.out.pos,
                source,
            })?;
            self.write_chunk(part)?;
            left -= k as u64;
        }
        Ok(())
    }

    /// Checks that every tensor was written, pads the data section to the alignment, flushes, and returns
    /// the inner writer.
    pub fn finish(mut self) -> Result<W> {
        while let Some(t) = self.next_tensor() {
            if t.n_bytes() != 0 || self.written != 0 {
                return Err(GgufError::Write {
                    reason: format!("tensor {:?} was not written", t.name()),
                });
            }
            self.next += 1;
        }
        let end = self.header.expected_file_len();
        self.out.zeros(end.saturating_sub(self.out.pos))?;
        self.out.inner.flush().map_err(|source| GgufError::Io {
            offset: self.out.pos,
            source,
        })?;
        Ok(self.out.inner)
    }

    /// Pads up to the current tensor's data offset if its first byte is about to be written; returns its
    /// byte size.
    fn begin_current(&mut self) -> Result<u64> {
        let t = self.next_tensor().ok_or_else(|| GgufError::Write {
            reason: "more data than the header describes".into(),
        })?;
        let (start, n) = (self.header.tensor_file_offset(t), t.n_bytes());
        if self.written == 0 {
            if self.out.pos > start {
                return Err(GgufError::Write {
                    reason: format!("tensor {:?} overlaps the previous one", t.name()),
                });
            }
            self.out.zeros(start - self.out.pos)?;
        }
        Ok(n)
    }
}
