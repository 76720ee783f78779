//! Writing an output file so that it appears whole or not at all.
//!
//! Writing a 5 GB model takes minutes; a run killed halfway must not leave a file under the final name that
//! the daemon would try to load. Data goes to `<name>.partial` next to the target and is renamed over it
//! only after the writer finished (and flushed) successfully.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use medllm_gguf::{GgufHeader, GgufWriter};

use crate::error::{QuantError, Result};

/// A GGUF being written to a temporary name.
#[derive(Debug)]
pub struct Output {
    target: PathBuf,
    partial: PathBuf,
    /// `None` only inside `commit`.
    writer: Option<GgufWriter<BufWriter<File>>>,
}

impl Output {
    /// Creates `<target>.partial` and writes `header` to it.
    pub fn create(target: &Path, header: GgufHeader) -> Result<Self> {
        let mut name = target.as_os_str().to_owned();
        name.push(".partial");
        let partial = PathBuf::from(name);
        let file = File::create(&partial).map_err(|e| QuantError::io(&partial, e))?;
        let writer = GgufWriter::new(BufWriter::with_capacity(1 << 20, file), header)
            .map_err(|e| QuantError::gguf(&partial, e))?;
        Ok(Self {
            target: target.to_path_buf(),
            partial,
            writer: Some(writer),
        })
    }

    /// The GGUF writer (tensor data goes here, in data order).
    pub fn writer(&mut self) -> Result<&mut GgufWriter<BufWriter<File>>> {
        self.writer
            .as_mut()
            .ok_or_else(|| QuantError::Config("output already committed".into()))
    }

    /// Finishes the file (checks every tensor was written, pads, flushes, syncs) and renames it into place;
    /// returns its size in bytes.
    pub fn commit(mut self) -> Result<u64> {
        let (target, partial) = (self.target.clone(), self.partial.clone());
        let Some(writer) = self.writer.take() else {
            return Err(QuantError::Config("output already committed".into()));
        };
        let buf = writer.finish().map_err(|e| QuantError::gguf(&partial, e))?;
        let file = buf
            .into_inner()
            .map_err(|e| QuantError::io(&partial, e.into_error()))?;
        file.sync_all().map_err(|e| QuantError::io(&partial, e))?;
        let len = file
            .metadata()
            .map_err(|e| QuantError::io(&partial, e))?
            .len();
        drop(file);
        std::fs::rename(&partial, &target).map_err(|e| QuantError::io(&target, e))?;
        Ok(len)
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // After a successful commit the partial file no longer exists; otherwise remove the debris.
        if self.partial.exists() {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}
