//! The bridge to ggml's own type traits: de-quantizing (`to_float`), quantizing (`ggml_quantize_chunk`),
//! validating blocks (`ggml_validate_row_data`), row sizes. This is the only module with `unsafe`.
//!
//! Why ggml and not our own kernels: a block layout we re-implemented could drift from the one llama.cpp
//! reads, and the file would load and answer nonsense. Going through the very functions llama.cpp's own
//! `llama-quantize` and `llama-export-lora` use makes "valid blocks" true by construction.
//!
//! Every precondition ggml checks with `GGML_ASSERT` (which aborts the process) is checked here first and
//! returned as a [`QuantError`]: row lengths a whole number of blocks, buffer lengths, the importance matrix
//! for the types that need one.

use llama_cpp_sys_2 as sys;
use medllm_gguf::GgmlType;

use crate::error::{QuantError, Result};

/// The types `ggml_quantize_chunk` can produce (its `switch`); anything else is a ggml `assert`.
const QUANTIZABLE: &[GgmlType] = &[
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q1_0,
    GgmlType::Q2_0,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
    GgmlType::TQ1_0,
    GgmlType::TQ2_0,
    GgmlType::IQ2_XXS,
    GgmlType::IQ2_XS,
    GgmlType::IQ2_S,
    GgmlType::IQ3_XXS,
    GgmlType::IQ3_S,
    GgmlType::IQ1_S,
    GgmlType::IQ1_M,
    GgmlType::IQ4_NL,
    GgmlType::IQ4_XS,
    GgmlType::MXFP4,
    GgmlType::NVFP4,
];

fn ffi(ty: GgmlType) -> sys::ggml_type {
    ty.id()
}

/// ggml's traits for a type (static data inside ggml; never null for a type ggml defines).
fn traits(ty: GgmlType) -> Option<&'static sys::ggml_type_traits> {
    if ty.id() >= sys::GGML_TYPE_COUNT {
        return None;
    }
    // SAFETY: the id is below GGML_TYPE_COUNT, so ggml returns a pointer into its static table.
    unsafe { sys::ggml_get_type_traits(ffi(ty)).as_ref() }
}

/// Elements per block, as ggml says (`ggml_blck_size`).
pub fn block_size(ty: GgmlType) -> u64 {
    // SAFETY: a pure table lookup; ids come from medllm-gguf's table, checked against ggml.h.
    let n = unsafe { sys::ggml_blck_size(ffi(ty)) };
    u64::try_from(n).unwrap_or(1)
}

/// Bytes of a row of `n` elements (`ggml_row_size`), or `None` if `n` is not a whole number of blocks.
pub fn row_size(ty: GgmlType, n: u64) -> Option<usize> {
    if n % block_size(ty) != 0 {
        return None;
    }
    let n = i64::try_from(n).ok()?;
    // SAFETY: a pure computation on the type table; `n` is a whole number of blocks.
    Some(unsafe { sys::ggml_row_size(ffi(ty), n) })
}

/// Whether ggml can turn this type back into floats.
pub fn can_dequantize(ty: GgmlType) -> bool {
    ty == GgmlType::F32 || traits(ty).is_some_and(|t| t.to_float.is_some())
}

/// Whether `ggml_quantize_chunk` can produce this type.
pub fn can_quantize(ty: GgmlType) -> bool {
    QUANTIZABLE.contains(&ty)
}

/// Whether quantizing to this type needs an importance matrix (`ggml_quantize_requires_imatrix`).
pub fn requires_imatrix(ty: GgmlType) -> bool {
    // SAFETY: a pure predicate on the type id.
    can_quantize(ty) && unsafe { sys::ggml_quantize_requires_imatrix(ffi(ty)) }
}

/// De-quantizes `src` (whole rows of `ty`) into `dst`; `dst.len()` elements are produced and `src` must be
/// exactly their size. `what` names the data for errors.
pub fn dequantize(ty: GgmlType, src: &[u8], dst: &mut [f32], what: &str) -> Result<()> {
    let n = dst.len() as u64;
    let expected = row_size(ty, n).ok_or_else(|| QuantError::Shape {
        tensor: what.to_owned(),
        reason: format!("{n} elements are not a whole number of {ty} blocks"),
    })?;
    if src.len() != expected {
        return Err(QuantError::Shape {
            tensor: what.to_owned(),
            reason: format!(
                "{} bytes for {n} {ty} elements, expected {expected}",
                src.len()
            ),
        });
    }
    if ty == GgmlType::F32 {
        for (d, s) in dst.iter_mut().zip(src.chunks_exact(4)) {
            *d = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
        }
        return Ok(());
    }
    let to_float = traits(ty)
        .and_then(|t| t.to_float)
        .ok_or_else(|| QuantError::Unsupported {
            tensor: what.to_owned(),
            what: "dequantize",
            ty,
        })?;
    if n == 0 {
        return Ok(());
    }
    let k = i64::try_from(n).map_err(|_| QuantError::Shape {
        tensor: what.to_owned(),
        reason: "too many elements".into(),
    })?;
    // SAFETY: `src` holds exactly row_size(ty, k) bytes (checked above), `dst` has room for k floats, and k
    // is a whole number of blocks; to_float reads and writes nothing else.
    unsafe { to_float(src.as_ptr().cast(), dst.as_mut_ptr(), k) };
    Ok(())
}

/// Quantizes `src` (`src.len() / n_per_row` rows) to `ty`, appending the result to `dst`, and validates the
/// blocks with `ggml_validate_row_data`. `imatrix`, if given, holds one weight per column (`n_per_row`).
pub fn quantize(
    ty: GgmlType,
    src: &[f32],
    n_per_row: usize,
    imatrix: Option<&[f32]>,
    dst: &mut Vec<u8>,
    what: &str,
) -> Result<()> {
    let shape_err = |reason: String| QuantError::Shape {
        tensor: what.to_owned(),
        reason,
    };
    if !can_quantize(ty) {
        return Err(QuantError::Unsupported {
            tensor: what.to_owned(),
            what: "quantize to",
            ty,
        });
    }
    if n_per_row == 0 || src.len() % n_per_row != 0 {
        return Err(shape_err(format!(
            "{} values are not whole rows of {n_per_row}",
            src.len()
        )));
    }
    let row = row_size(ty, n_per_row as u64).ok_or_else(|| {
        shape_err(format!(
            "row length {n_per_row} is not a multiple of the {ty} block size {}",
            block_size(ty)
        ))
    })?;
    match imatrix {
        Some(w) if w.len() != n_per_row => {
            return Err(shape_err(format!(
                "importance matrix has {} weights for rows of {n_per_row}",
                w.len()
            )));
        }
        None if requires_imatrix(ty) => {
            return Err(QuantError::Unsupported {
                tensor: format!("{what} (no importance matrix)"),
                what: "quantize to",
                ty,
            });
        }
        _ => {}
    }
    let nrows = src.len() / n_per_row;
    let start = dst.len();
    let bytes = nrows * row;
    dst.resize(start + bytes, 0);
    if nrows > 0 {
        let (nr, npr) = (
            i64::try_from(nrows).map_err(|_| shape_err("too many rows".into()))?,
            i64::try_from(n_per_row).map_err(|_| shape_err("row too long".into()))?,
        );
        let out = &mut dst[start..];
        let im = imatrix.map_or(std::ptr::null(), <[f32]>::as_ptr);
        // SAFETY: the type is one ggml_quantize_chunk handles; `src` holds nrows × n_per_row floats; `out`
        // holds nrows × row_size bytes (ggml asserts it wrote exactly that); n_per_row is a whole number of
        // blocks; start = 0 satisfies both of its alignment asserts; the importance matrix, when present,
        // has n_per_row weights, and is present when the type requires one.
        let written = unsafe {
            sys::ggml_quantize_chunk(
                ffi(ty),
                src.as_ptr(),
                out.as_mut_ptr().cast(),
                0,
                nr,
                npr,
                im,
            )
        };
        debug_assert_eq!(written, bytes);
        // SAFETY: `out` holds `bytes` bytes of `ty` rows.
        let ok = unsafe { sys::ggml_validate_row_data(ffi(ty), out.as_ptr().cast(), bytes) };
        if !ok {
            dst.truncate(start);
            return Err(QuantError::InvalidBlocks {
                tensor: what.to_owned(),
                ty,
            });
        }
    }
    Ok(())
}

/// Whether `data` (whole rows of `ty`) passes ggml's own validation (finite scales, valid codes).
pub fn validate(ty: GgmlType, data: &[u8]) -> bool {
    if ty.id() >= sys::GGML_TYPE_COUNT {
        return false;
    }
    // SAFETY: ggml reads exactly data.len() bytes and checks the length is a multiple of the block size.
    unsafe { sys::ggml_validate_row_data(ffi(ty), data.as_ptr().cast(), data.len()) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sizes_agree_with_the_gguf_table() {
        for &ty in GgmlType::ALL {
            assert_eq!(block_size(ty), ty.block_size(), "{ty}");
            let n = ty.block_size() * 4;
            assert_eq!(row_size(ty, n).map(|b| b as u64), ty.bytes_for(n), "{ty}");
        }
    }

    #[test]
    fn round_trips_through_ggml_within_the_type_precision() {
        let n = 512;
        let src: Vec<f32> = (0..2 * n)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 70.0)
            .collect();
        for (ty, tol) in [
            (GgmlType::F32, 0.0),
            (GgmlType::F16, 1e-3),
            (GgmlType::Q8_0, 0.01),
            (GgmlType::Q6_K, 0.03),
            (GgmlType::Q4_K, 0.1),
        ] {
            let mut q = Vec::new();
            quantize(ty, &src, n, None, &mut q, "t").unwrap();
            assert_eq!(q.len(), row_size(ty, n as u64).unwrap() * 2);
            assert!(validate(ty, &q));
            let mut back = vec![0.0; src.len()];
            dequantize(ty, &q, &mut back, "t").unwrap();
            let err = src
                .iter()
                .zip(&back)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(err <= tol, "{ty}: max error {err}");
        }
    }

    #[test]
    fn refuses_what_ggml_would_abort_on() {
        let src = vec![0.5f32; 100];
        let mut out = Vec::new();
        assert!(matches!(
            quantize(GgmlType::Q4_K, &src, 100, None, &mut out, "t"),
            Err(QuantError::Shape { .. })
        ));
        assert!(matches!(
            quantize(GgmlType::IQ2_XXS, &[0.0; 256], 256, None, &mut out, "t"),
            Err(QuantError::Unsupported { .. })
        ));
        assert!(matches!(
            quantize(GgmlType::I32, &[0.0; 4], 4, None, &mut out, "t"),
            Err(QuantError::Unsupported { .. })
        ));
        let mut nan = vec![0.1f32; 256];
        nan[3] = f32::NAN;
        assert!(quantize(GgmlType::F16, &nan, 256, None, &mut out, "t").is_err());
        assert!(out.is_empty());
        let mut dst = vec![0.0; 32];
        assert!(dequantize(GgmlType::Q8_0, &[0u8; 10], &mut dst, "t").is_err());
    }
}
