//! [`DiskStore`] on sled: one tree, atomic batches, explicit flush.

use std::path::{Path, PathBuf};

use super::{DiskStore, Op, ScanItem};
use crate::error::Result;

/// sled database in a directory (opened through [`super::open_with_recovery`]).
#[derive(Debug)]
pub struct SledStore {
    db: sled::Db,
    path: PathBuf,
}

impl SledStore {
    /// Opens (or creates) the database. May fail, or panic inside sled, on a corrupt directory: callers go
    /// through the recovery wrapper, which handles both.
    pub(crate) fn open_raw(
        path: &Path,
        page_cache_bytes: u64,
    ) -> std::result::Result<Self, sled::Error> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(page_cache_bytes)
            .flush_every_ms(Some(500))
            .mode(sled::Mode::LowSpace)
            .open()?;
        Ok(SledStore {
            db,
            path: path.to_path_buf(),
        })
    }

    /// The directory of the database.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl DiskStore for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(key)?.map(|v| v.to_vec()))
    }

    fn apply(&self, ops: Vec<Op>) -> Result<()> {
        let mut batch = sled::Batch::default();
        for op in ops {
            match op {
                Op::Put(k, v) => batch.insert(k, v),
                Op::Delete(k) => batch.remove(k),
            }
        }
        self.db.apply_batch(batch)?;
        Ok(())
    }

    fn scan_prefix<'a>(&'a self, prefix: &[u8]) -> Box<dyn Iterator<Item = ScanItem> + 'a> {
        Box::new(
            self.db
                .scan_prefix(prefix)
                .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(Into::into)),
        )
    }

    fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    fn clear(&self) -> Result<()> {
        self.db.clear()?;
        self.db.flush()?;
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?)
    }
}
