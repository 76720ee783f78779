//! Parsing a GGUF header from any `Read + Seek`: magic, version, metadata, tensor infos. Tensor data is never
//! read; the reader stops at the end of the tensor infos, so planning a 5 GB model reads a few MB.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;

use crate::error::{GgufError, Result};
use crate::ggml_type::GgmlType;
use crate::header::{GgufHeader, MAGIC, RawHeader};
use crate::limits::Limits;
use crate::metadata::{DEFAULT_ALIGNMENT, KEY_ALIGNMENT, Metadata};
use crate::source::Source;
use crate::tensor::{TensorInfo, shape_size};
use crate::value::{Array, GgufString, Value, ValueType};

/// Smallest possible metadata entry: empty-length key (8), type (4), one-byte value (1).
const MIN_KV_LEN: u64 = 13;
/// Smallest possible tensor info: name length (8), dim count (4), type (4), offset (8).
const MIN_TENSOR_INFO_LEN: u64 = 24;

/// Reads the header of the GGUF file at `path` with default [`Limits`].
pub fn read_header_from_path(path: impl AsRef<Path>) -> Result<GgufHeader> {
    let file = File::open(path).map_err(|source| GgufError::Open { source })?;
    read_header(file, &Limits::default())
}

/// Reads a GGUF header starting at the reader's current position (offsets in errors and in the header are
/// relative to it). Only the header is read; the reader's length is measured with a seek to its end so that
/// every count can be checked against the bytes that are really there.
pub fn read_header<R: Read + Seek>(reader: R, limits: &Limits) -> Result<GgufHeader> {
    let mut src = Source::new(reader, limits.max_header_bytes)?;
    Parser {
        src: &mut src,
        limits,
    }
    .parse()
}

/// Reads a GGUF header from bytes in memory (e.g. a fuzzer's input).
pub fn read_header_from_slice(bytes: &[u8], limits: &Limits) -> Result<GgufHeader> {
    read_header(std::io::Cursor::new(bytes), limits)
}

struct Parser<'a, R> {
    src: &'a mut Source<R>,
    limits: &'a Limits,
}

impl<R: Read> Parser<'_, R> {
    fn parse(mut self) -> Result<GgufHeader> {
        let magic = self.src.array::<4>("magic")?;
        if magic != MAGIC {
            return Err(GgufError::BadMagic {
                offset: 0,
                found: magic,
            });
        }
        let version_at = self.src.pos();
        let version = self.src.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(GgufError::UnsupportedVersion {
                offset: version_at,
                version,
            });
        }
        let tensor_count = self.src.u64("tensor count")?;
        let kv_count = self.src.u64("metadata count")?;
        // The counts are checked against the bytes left only once both are known, so that a bad tensor
        // count is reported as such and not as a bad metadata count.
        self.src.ensure_count(
            kv_count,
            MIN_KV_LEN,
            self.limits.max_metadata_entries,
            "metadata count",
        )?;
        let (metadata, alignment) = self.metadata(kv_count)?;
        self.src.ensure_count(
            tensor_count,
            MIN_TENSOR_INFO_LEN,
            self.limits.max_tensors,
            "tensor count",
        )?;
        let (tensors, tensor_index, tensor_offsets) = self.tensors(tensor_count, alignment)?;
        GgufHeader::from_raw(RawHeader {
            version,
            metadata,
            tensors,
            tensor_index,
            tensor_offsets,
            alignment,
            header_len: self.src.pos(),
            file_len: self.src.len(),
        })
    }

    fn metadata(&mut self, count: u64) -> Result<(Metadata, u64)> {
        let mut metadata = Metadata::new();
        let mut alignment = DEFAULT_ALIGNMENT;
        for _ in 0..count {
            let entry_at = self.src.pos();
            let key = self.utf8_string(self.limits.max_string_len, "metadata key")?;
            if key.is_empty() {
                return Err(GgufError::EmptyKey { offset: entry_at });
            }
            if metadata.contains(&key) {
                return Err(GgufError::DuplicateKey {
                    offset: entry_at,
                    key,
                });
            }
            let type_at = self.src.pos();
            let type_id = self.src.u32("value type")?;
            let ty = ValueType::from_id(type_id).ok_or(GgufError::UnknownValueType {
                offset: type_at,
                type_id,
            })?;
            let value = self.value(ty)?;
            if key == KEY_ALIGNMENT {
                alignment = match value {
                    Value::U32(a)
                        if a.is_power_of_two() && u64::from(a) <= self.limits.max_alignment =>
                    {
                        u64::from(a)
                    }
                    Value::U32(a) if a.is_power_of_two() => {
                        return Err(GgufError::LimitExceeded {
                            offset: entry_at,
                            what: "general.alignment",
                            value: a.into(),
                            limit: self.limits.max_alignment,
                        });
                    }
                    Value::U32(a) => {
                        let reason = format!("{a} is not a non-zero power of two");
                        return Err(GgufError::BadAlignment {
                            offset: entry_at,
                            reason,
                        });
                    }
                    ref other => {
                        let reason = format!("must be u32, found {}", other.value_type().name());
                        return Err(GgufError::BadAlignment {
                            offset: entry_at,
                            reason,
                        });
                    }
                };
            }
            metadata.push(key, value)?;
        }
        Ok((metadata, alignment))
    }

    fn value(&mut self, ty: ValueType) -> Result<Value> {
        Ok(match ty {
            ValueType::U8 => Value::U8(self.src.u8("u8 value")?),
            ValueType::I8 => Value::I8(i8::from_le_bytes(self.src.array("i8 value")?)),
            ValueType::U16 => Value::U16(u16::from_le_bytes(self.src.array("u16 value")?)),
            ValueType::I16 => Value::I16(i16::from_le_bytes(self.src.array("i16 value")?)),
            ValueType::U32 => Value::U32(self.src.u32("u32 value")?),
            ValueType::I32 => Value::I32(i32::from_le_bytes(self.src.array("i32 value")?)),
            ValueType::F32 => Value::F32(f32::from_le_bytes(self.src.array("f32 value")?)),
            ValueType::Bool => Value::Bool(self.bool()?),
            ValueType::String => {
                Value::String(self.string(self.limits.max_string_len, "string value")?)
            }
            ValueType::Array => Value::Array(self.array(1)?),
            ValueType::U64 => Value::U64(self.src.u64("u64 value")?),
            ValueType::I64 => Value::I64(i64::from_le_bytes(self.src.array("i64 value")?)),
            ValueType::F64 => Value::F64(f64::from_le_bytes(self.src.array("f64 value")?)),
        })
    }

    fn bool(&mut self) -> Result<bool> {
        let at = self.src.pos();
        match self.src.u8("bool value")? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(GgufError::InvalidBool { offset: at, value }),
        }
    }

    fn string(&mut self, max_len: u64, what: &'static str) -> Result<GgufString> {
        let len = self.src.u64(what)?;
        self.src.ensure_count(len, 1, max_len, what)?;
        Ok(GgufString::from_bytes(self.src.bytes(len, what)?))
    }

    fn utf8_string(&mut self, max_len: u64, what: &'static str) -> Result<String> {
        let at = self.src.pos();
        let s = self.string(max_len, what)?;
        String::from_utf8(s.as_bytes().to_vec())
            .map_err(|_| GgufError::InvalidUtf8 { offset: at, what })
    }

    /// An array whose type tag has been read; `depth` is 1 for a top-level array.
    fn array(&mut self, depth: u32) -> Result<Array> {
        if depth > self.limits.max_array_depth {
            let limit = self.limits.max_array_depth.into();
            return Err(GgufError::LimitExceeded {
                offset: self.src.pos(),
                what: "array nesting depth",
                value: depth.into(),
                limit,
            });
        }
        let type_at = self.src.pos();
        let type_id = self.src.u32("array element type")?;
        let ty = ValueType::from_id(type_id).ok_or(GgufError::UnknownValueType {
            offset: type_at,
            type_id,
        })?;
        let n = self.src.u64("array length")?;
        self.src.ensure_count(
            n,
            ty.min_encoded_len(),
            self.limits.max_array_len,
            "array length",
        )?;
        Ok(match ty {
            ValueType::U8 => Array::U8(self.fixed(n, u8::from_le_bytes)?),
            ValueType::I8 => Array::I8(self.fixed(n, i8::from_le_bytes)?),
            ValueType::U16 => Array::U16(self.fixed(n, u16::from_le_bytes)?),
            ValueType::I16 => Array::I16(self.fixed(n, i16::from_le_bytes)?),
            ValueType::U32 => Array::U32(self.fixed(n, u32::from_le_bytes)?),
            ValueType::I32 => Array::I32(self.fixed(n, i32::from_le_bytes)?),
            ValueType::F32 => Array::F32(self.fixed(n, f32::from_le_bytes)?),
            ValueType::U64 => Array::U64(self.fixed(n, u64::from_le_bytes)?),
            ValueType::I64 => Array::I64(self.fixed(n, i64::from_le_bytes)?),
            ValueType::F64 => Array::F64(self.fixed(n, f64::from_le_bytes)?),
            ValueType::Bool => Array::Bool(self.each(n, Self::bool)?),
            ValueType::String => Array::String(self.each(n, |p| {
                p.string(p.limits.max_string_len, "string array element")
            })?),
            ValueType::Array => Array::Array(self.each(n, |p| p.array(depth + 1))?),
        })
    }

    /// `n` fixed-size elements, read in one go (the caller checked `n` × size against the bytes left).
    fn fixed<const N: usize, T>(&mut self, n: u64, from: fn([u8; N]) -> T) -> Result<Vec<T>> {
        let total = n.checked_mul(N as u64).ok_or(GgufError::Overflow {
            offset: self.src.pos(),
            what: "array size",
        })?;
        let bytes = self.src.bytes(total, "array data")?;
        Ok(bytes
            .chunks_exact(N)
            .map(|c| {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                from(a)
            })
            .collect())
    }

    /// `n` variable-size elements. The vector grows as elements arrive, so memory follows the bytes actually
    /// read, never the count the file claims.
    fn each<T>(&mut self, n: u64, mut one: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(usize::try_from(n.min(4096)).unwrap_or(0));
        for _ in 0..n {
            out.push(one(self)?);
        }
        Ok(out)
    }

    #[allow(clippy::type_complexity)]
    fn tensors(
        &mut self,
        count: u64,
        alignment: u64,
    ) -> Result<(Vec<TensorInfo>, HashMap<String, usize>, Vec<u64>)> {
        let cap = usize::try_from(count.min(4096)).unwrap_or(0);
        let (mut tensors, mut index, mut offsets) =
            (Vec::with_capacity(cap), HashMap::new(), Vec::new());
        for i in 0..count {
            let info_at = self.src.pos();
            let name = self.utf8_string(self.limits.max_tensor_name_len, "tensor name")?;
            if index.contains_key(&name) {
                return Err(GgufError::DuplicateTensor {
                    offset: info_at,
                    name,
                });
            }
            let n_dims = self.src.u32("tensor dim count")?;
            self.src.ensure_count(
                n_dims.into(),
                8,
                self.limits.max_dims.into(),
                "tensor dim count",
            )?;
            let mut dims = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                dims.push(self.src.u64("tensor dim")?);
            }
            let type_id = self.src.u32("tensor type")?;
            let bad = |reason: String| GgufError::BadTensor {
                offset: info_at,
                name: name.clone(),
                reason,
            };
            let ty = GgmlType::from_id(type_id)
                .ok_or_else(|| bad(format!("unknown ggml type id {type_id}")))?;
            shape_size(&dims, ty).map_err(bad)?;
            let data_offset = self.src.u64("tensor data offset")?;
            if data_offset % alignment != 0 {
                return Err(GgufError::MisalignedTensor {
                    offset: info_at,
                    name,
                    data_offset,
                    alignment,
                });
            }
            let info = TensorInfo::new(name.clone(), dims, ty, data_offset).map_err(|_| {
                GgufError::BadTensor {
                    offset: info_at,
                    name: name.clone(),
                    reason: "shape".into(),
                }
            })?;
            index.insert(
                name,
                usize::try_from(i).map_err(|_| GgufError::Overflow {
                    offset: info_at,
                    what: "tensor index",
                })?,
            );
            tensors.push(info);
            offsets.push(info_at);
        }
        Ok((tensors, index, offsets))
    }
}
