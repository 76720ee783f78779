//! The plaintext form of one cache entry and its byte codec (encrypted before it reaches the disk).
//!
//! Hand-written, length-checked and versioned: a truncated or garbled plaintext is an error, never a panic
//! or a huge allocation. (Garbling is normally caught earlier by the AEAD tag; this is the second line.)

use crate::error::{CacheError, Result};

const VERSION: u8 = 1;
/// Embeddings longer than this are refused by the decoder (MiniLM has 384).
const MAX_DIM: usize = 4096;

/// One cached answer, as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    /// When it was stored (unix ms).
    pub created_ms: u64,
    /// When it stops being served (unix ms); reads also enforce the configured hard maximum.
    pub expires_ms: u64,
    /// Keyed hash of the namespace ([`crate::CacheKey`]): semantic candidates must share it.
    pub ns_id: [u8; 16],
    /// The question as asked (shown as "matched question" and re-checked by the guards).
    pub question: String,
    /// The cached answer.
    pub answer: String,
    /// Embedding of the question, with the fingerprint of the embedder that made it.
    pub embedding: Option<(u64, Vec<f32>)>,
}

impl Record {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let emb_len = self.embedding.as_ref().map_or(0, |(_, v)| v.len());
        let mut out =
            Vec::with_capacity(64 + self.question.len() + self.answer.len() + 4 * emb_len);
        out.push(VERSION);
        out.extend_from_slice(&self.created_ms.to_le_bytes());
        out.extend_from_slice(&self.expires_ms.to_le_bytes());
        out.extend_from_slice(&self.ns_id);
        for s in [&self.question, &self.answer] {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        match &self.embedding {
            None => out.push(0),
            Some((fp, v)) => {
                out.push(1);
                out.extend_from_slice(&fp.to_le_bytes());
                out.extend_from_slice(&(v.len() as u32).to_le_bytes());
                for x in v {
                    out.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Record> {
        let mut r = Reader { b: bytes, pos: 0 };
        let version = r.u8()?;
        if version != VERSION {
            return Err(CacheError::Corrupt(format!("record version {version}")));
        }
        let created_ms = r.u64()?;
        let expires_ms = r.u64()?;
        let mut ns_id = [0u8; 16];
        ns_id.copy_from_slice(r.take(16)?);
        let question = r.string()?;
        let answer = r.string()?;
        let embedding = match r.u8()? {
            0 => None,
            1 => {
                let fp = r.u64()?;
                let n = r.u32()? as usize;
                if n > MAX_DIM {
                    return Err(CacheError::Corrupt(format!("embedding dimension {n}")));
                }
                let raw = r.take(n * 4)?;
                let v = raw
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                Some((fp, v))
            }
            t => return Err(CacheError::Corrupt(format!("embedding tag {t}"))),
        };
        if r.pos != bytes.len() {
            return Err(CacheError::Corrupt("trailing bytes".into()));
        }
        Ok(Record {
            created_ms,
            expires_ms,
            ns_id,
            question,
            answer,
            embedding,
        })
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len());
        match end {
            Some(end) => {
                let s = &self.b[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(CacheError::Corrupt("record truncated".into())),
        }
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn string(&mut self) -> Result<String> {
        let n = self.u32()? as usize;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec()).map_err(|_| CacheError::Corrupt("invalid UTF-8".into()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            created_ms: 1,
            expires_ms: 2,
            ns_id: [3; 16],
            question: "Dose of amoxicillin?".into(),
            answer: "500 mg".into(),
            embedding: Some((9, vec![0.5, -0.25])),
        }
    }

    #[test]
    fn roundtrip() {
        let r = sample();
        assert_eq!(Record::decode(&r.encode()).unwrap(), r);
        let r2 = Record {
            embedding: None,
            ..sample()
        };
        assert_eq!(Record::decode(&r2.encode()).unwrap(), r2);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample().encode();
        for n in 0..bytes.len() {
            assert!(
                Record::decode(&bytes[..n]).is_err(),
                "prefix of {n} bytes decoded"
            );
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(Record::decode(&long).is_err());
    }
}
