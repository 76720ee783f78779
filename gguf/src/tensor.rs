//! Tensor infos: name, shape, type and data offset, with the derived element count and byte size.
//!
//! A [`TensorInfo`] can only be built through [`TensorInfo::new`], which checks the shape against the type
//! (row length a whole number of blocks, element count and byte size representable), so code holding one
//! never needs checked arithmetic for its size.

use crate::error::{GgufError, Result};
use crate::ggml_type::GgmlType;

/// ggml's `GGML_MAX_DIMS`: no tensor has more dimensions.
pub const MAX_DIMS: usize = 4;

/// One tensor's description from the header (its data is not read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    name: String,
    dims: Vec<u64>,
    ggml_type: GgmlType,
    offset: u64,
    n_elements: u64,
    n_bytes: u64,
}

impl TensorInfo {
    /// Checks and builds a tensor info. `dims` are in ggml order (`dims[0]` is the row length, the fastest
    /// varying); `offset` is relative to the start of the data section.
    pub fn new(
        name: impl Into<String>,
        dims: Vec<u64>,
        ggml_type: GgmlType,
        offset: u64,
    ) -> Result<Self> {
        let name = name.into();
        match shape_size(&dims, ggml_type) {
            Ok((n_elements, n_bytes)) => Ok(Self {
                name,
                dims,
                ggml_type,
                offset,
                n_elements,
                n_bytes,
            }),
            Err(reason) => Err(GgufError::BadTensor {
                offset: 0,
                name,
                reason,
            }),
        }
    }

    /// The tensor's name, e.g. `blk.0.attn_q.weight`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The shape in ggml order (`dims()[0]` is the row length).
    pub fn dims(&self) -> &[u64] {
        &self.dims
    }

    /// The element type.
    pub fn ggml_type(&self) -> GgmlType {
        self.ggml_type
    }

    /// Offset of the data from the start of the data section (a multiple of the file's alignment).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Number of elements (product of the dims).
    pub fn n_elements(&self) -> u64 {
        self.n_elements
    }

    /// Size of the data in bytes, without padding.
    pub fn n_bytes(&self) -> u64 {
        self.n_bytes
    }

    /// The same tensor with another data offset (used when laying out a new file).
    pub(crate) fn with_offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }
}

/// Element count and byte size of a shape, or why it is not acceptable. Mirrors ggml's own checks: at most
/// [`MAX_DIMS`] dims, each and their product at most `i64::MAX`, row length a multiple of the block size.
pub(crate) fn shape_size(
    dims: &[u64],
    ggml_type: GgmlType,
) -> std::result::Result<(u64, u64), String> {
    if dims.len() > MAX_DIMS {
        return Err(format!(
            "{} dimensions, at most {MAX_DIMS} allowed",
            dims.len()
        ));
    }
    let max = i64::MAX.unsigned_abs();
    let mut n: u64 = 1;
    for (i, &d) in dims.iter().enumerate() {
        if d > max {
            return Err(format!("dimension {i} is {d}, above i64::MAX"));
        }
        n = match n.checked_mul(d) {
            Some(v) if v <= max => v,
            _ => return Err("element count overflows i64".to_owned()),
        };
    }
    let row = dims.first().copied().unwrap_or(1);
    if row % ggml_type.block_size() != 0 {
        return Err(format!(
            "row length {row} is not a multiple of the {} block size {}",
            ggml_type.name(),
            ggml_type.block_size()
        ));
    }
    let bytes = ggml_type
        .bytes_for(n)
        .ok_or_else(|| "byte size overflows u64".to_owned())?;
    Ok((n, bytes))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_rejections() {
        let t = TensorInfo::new("w", vec![3584, 512], GgmlType::Q4_K, 0).unwrap();
        assert_eq!(t.n_elements(), 3584 * 512);
        assert_eq!(t.n_bytes(), 3584 * 512 / 256 * 144);
        let scalar = TensorInfo::new("s", vec![], GgmlType::F32, 0).unwrap();
        assert_eq!((scalar.n_elements(), scalar.n_bytes()), (1, 4));
        let empty = TensorInfo::new("e", vec![0, 7], GgmlType::Q4_0, 0).unwrap();
        assert_eq!(empty.n_bytes(), 0);
        for (dims, ty) in [
            (vec![100, 2], GgmlType::Q4_K),
            (vec![1, 1, 1, 1, 1], GgmlType::F32),
            (vec![u64::MAX], GgmlType::F32),
            (vec![1 << 32, 1 << 32], GgmlType::F32),
            (vec![1 << 62, 1], GgmlType::F64),
        ] {
            assert!(
                matches!(
                    TensorInfo::new("bad", dims.clone(), ty, 0),
                    Err(GgufError::BadTensor { .. })
                ),
                "{dims:?}"
            );
        }
    }
}
