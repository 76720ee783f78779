//! Streaming a tensor's data into a [`GgufWriter`] chunk by chunk, the chunks computed on worker threads.
//!
//! A 7B model is 4.7 GB quantized and 30 GB as floats, so nothing here ever holds a whole tensor: a tensor
//! is cut into chunks of whole rows (about [`CHUNK_ELEMENTS`] floats each), up to `threads` chunks are
//! computed at once, and they are written in order before the next round starts. Memory is therefore
//! bounded by `threads × chunk`, whatever the model size. Chunk boundaries depend only on the tensor's
//! shape — never on the thread count — so a generator seeded per chunk writes the same bytes on 1 or 16
//! threads.

use std::io::Write;

use medllm_gguf::{GgufWriter, TensorInfo};

use crate::error::{QuantError, Result};
use crate::model_file::RowShape;

/// Target floats per chunk (4 MiB of f32): large enough to amortise thread start-up, small enough to keep a
/// few in flight on a 24 GB machine shared with others.
pub const CHUNK_ELEMENTS: usize = 1 << 20;

/// How many threads work on chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threads(pub usize);

impl Default for Threads {
    /// Two, or fewer if the machine has fewer cores: these tools run next to a serving daemon.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self(cores.min(2))
    }
}

/// One chunk of a tensor: rows `[first_row, first_row + nrows)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Index of the chunk within the tensor (for seeding).
    pub index: u64,
    /// First row.
    pub first_row: u64,
    /// Number of rows.
    pub nrows: usize,
    /// Elements per row.
    pub row_len: usize,
}

/// The chunks of a tensor, in order.
pub fn chunks(t: &TensorInfo) -> Result<Vec<Chunk>> {
    let shape = RowShape::of(t)?;
    let per = (CHUNK_ELEMENTS / shape.row_len.max(1)).max(1) as u64;
    let mut out = Vec::new();
    let mut first = 0u64;
    while first < shape.rows {
        let n = per.min(shape.rows - first);
        out.push(Chunk {
            index: out.len() as u64,
            first_row: first,
            nrows: n as usize,
            row_len: shape.row_len,
        });
        first += n;
    }
    Ok(out)
}

/// Writes the writer's current tensor (which must be `t`) from chunks produced by `make` (the chunk's bytes
/// in the tensor's final type), computing up to `threads` chunks at once and writing them in order.
pub fn write_tensor<W, F>(
    writer: &mut GgufWriter<W>,
    t: &TensorInfo,
    threads: Threads,
    make: F,
) -> Result<()>
where
    W: Write,
    F: Fn(Chunk) -> Result<Vec<u8>> + Sync,
{
    let gguf = |e| QuantError::Header(e);
    if writer.next_tensor().map(TensorInfo::name) != Some(t.name()) {
        return Err(QuantError::Config(format!(
            "writer expects {:?}, not {:?}",
            writer.next_tensor().map(TensorInfo::name),
            t.name()
        )));
    }
    if t.n_bytes() == 0 {
        return writer.write_tensor(&[]).map_err(gguf);
    }
    let all = chunks(t)?;
    let width = threads.0.max(1);
    for round in all.chunks(width) {
        let results: Vec<Result<Vec<u8>>> = if round.len() == 1 {
            vec![make(round[0])]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = round
                    .iter()
                    .map(|&c| {
                        let make = &make;
                        s.spawn(move || make(c))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(QuantError::Worker(t.name().to_owned())))
                    })
                    .collect()
            })
        };
        for r in results {
            writer.write_chunk(&r?).map_err(gguf)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use medllm_gguf::GgmlType;

    use super::*;

    #[test]
    fn chunks_cover_the_tensor_in_whole_rows() {
        let t = TensorInfo::new("w", vec![3000, 1000], GgmlType::F32, 0).unwrap();
        let c = chunks(&t).unwrap();
        assert_eq!(c.iter().map(|c| c.nrows as u64).sum::<u64>(), 1000);
        assert!(c.iter().all(|c| c.nrows * 3000 <= CHUNK_ELEMENTS));
        assert!(
            c.windows(2)
                .all(|w| w[0].first_row + w[0].nrows as u64 == w[1].first_row)
        );
        // A row longer than a chunk is still one row per chunk.
        let wide =
            TensorInfo::new("e", vec![(CHUNK_ELEMENTS * 2) as u64, 3], GgmlType::F32, 0).unwrap();
        assert_eq!(chunks(&wide).unwrap().len(), 3);
    }
}
