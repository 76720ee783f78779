//! The bounded byte source under the parser: every read states its size first and is refused if it would
//! pass the end of the file or the header-size limit, so nothing is read (or allocated) on trust.

use std::io::{BufReader, Read, Seek, SeekFrom};

use crate::error::{GgufError, Result};

/// A reader that knows its position and how many bytes the file has left.
pub(crate) struct Source<R> {
    inner: BufReader<R>,
    /// Bytes consumed since the start of the GGUF data.
    pos: u64,
    /// Length of the GGUF data (file length minus the starting position).
    len: u64,
    /// `pos` may not pass this (the header-size limit).
    header_limit: u64,
}

impl<R: Read + Seek> Source<R> {
    /// Starts at the reader's current position; measures the length with one seek to the end and back.
    pub fn new(mut reader: R, header_limit: u64) -> Result<Self> {
        let io = |source| GgufError::Io { offset: 0, source };
        let start = reader.stream_position().map_err(io)?;
        let end = reader.seek(SeekFrom::End(0)).map_err(io)?;
        reader.seek(SeekFrom::Start(start)).map_err(io)?;
        Ok(Self {
            inner: BufReader::with_capacity(64 * 1024, reader),
            pos: 0,
            len: end.saturating_sub(start),
            header_limit,
        })
    }
}

impl<R: Read> Source<R> {
    /// Current offset from the start of the GGUF data.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// Length of the GGUF data.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Refuses a read of `needed` bytes at the current position that the file or the limit cannot satisfy.
    pub fn ensure(&self, needed: u64, what: &'static str) -> Result<()> {
        let end = self.pos.checked_add(needed);
        if end.is_none_or(|e| e > self.len) {
            return Err(GgufError::UnexpectedEof {
                offset: self.pos,
                what,
                needed,
                remaining: self.len.saturating_sub(self.pos),
            });
        }
        if end.is_none_or(|e| e > self.header_limit) {
            return Err(GgufError::LimitExceeded {
                offset: self.pos,
                what: "header size",
                value: end.unwrap_or(u64::MAX),
                limit: self.header_limit,
            });
        }
        Ok(())
    }

    /// Checks a count of elements, each at least `min_size` bytes, against a limit and the bytes left.
    pub fn ensure_count(
        &self,
        count: u64,
        min_size: u64,
        limit: u64,
        what: &'static str,
    ) -> Result<()> {
        if count > limit {
            return Err(GgufError::LimitExceeded {
                offset: self.pos,
                what,
                value: count,
                limit,
            });
        }
        self.ensure(count.saturating_mul(min_size), what)
    }

    /// Reads exactly `buf.len()` bytes after [`Source::ensure`] allowed it.
    fn fill(&mut self, buf: &mut [u8], what: &'static str) -> Result<()> {
        let n = buf.len() as u64;
        self.ensure(n, what)?;
        self.inner.read_exact(buf).map_err(|source| GgufError::Io {
            offset: self.pos,
            source,
        })?;
        self.pos += n;
        Ok(())
    }

    /// Reads a fixed-size field.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let mut buf = [0u8; N];
        self.fill(&mut buf, what)?;
        Ok(buf)
    }

    /// Reads `n` bytes into a new vector; `n` is checked before the vector is allocated.
    pub fn bytes(&mut self, n: u64, what: &'static str) -> Result<Vec<u8>> {
        self.ensure(n, what)?;
        let len = usize::try_from(n).map_err(|_| GgufError::Overflow {
            offset: self.pos,
            what,
        })?;
        let mut buf = vec![0u8; len];
        self.fill(&mut buf, what)?;
        Ok(buf)
    }

    /// A little-endian `u8`.
    pub fn u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A little-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// A little-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
}
