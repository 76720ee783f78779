//! Every parse error the reader reports, each from a hand-built buffer, with the byte offset it must carry.

use medllm_gguf::{Completeness, GgufError, Limits, read_header_from_slice};

use crate::bytes::Gguf;

fn err(bytes: &[u8]) -> GgufError {
    err_with(bytes, &Limits::default())
}

fn err_with(bytes: &[u8], limits: &Limits) -> GgufError {
    match read_header_from_slice(bytes, limits) {
        Ok(h) => panic!("expected an error, read {} tensors", h.tensors().len()),
        Err(e) => e,
    }
}

/// A valid file with one key and one F32 tensor [8] at offset 0, and its data.
fn valid() -> Gguf {
    let mut g = Gguf::start(3, 1, 1);
    g.kv_str("general.architecture", "llama")
        .tensor("t", &[8], 0, 0)
        .pad(32)
        .zeros(32);
    g
}

#[test]
fn valid_minimal_file_reads_and_is_complete() {
    let g = valid();
    let h = read_header_from_slice(&g.buf, &Limits::default()).unwrap();
    assert_eq!(h.tensors().len(), 1);
    assert_eq!(h.header_len(), 102);
    assert_eq!(h.data_offset(), 128);
    assert_eq!(h.data_len(), 32);
    assert_eq!(h.completeness(), Some(Completeness::Complete));
    let short = &g.buf[..g.buf.len() - 1];
    let h = read_header_from_slice(short, &Limits::default()).unwrap();
    assert_eq!(
        h.completeness(),
        Some(Completeness::Truncated {
            expected_end: 160,
            file_len: 159
        })
    );
}

#[test]
fn empty_and_short_magic() {
    assert!(matches!(
        err(b""),
        GgufError::UnexpectedEof {
            offset: 0,
            what: "magic",
            ..
        }
    ));
    assert!(matches!(
        err(b"GGU"),
        GgufError::UnexpectedEof { offset: 0, .. }
    ));
}

#[test]
fn bad_magic() {
    let e = err(b"GGML\x03\0\0\0");
    assert!(matches!(e, GgufError::BadMagic { offset: 0, found } if &found == b"GGML"));
    assert!(e.to_string().starts_with("bad magic at byte 0"), "{e}");
}

#[test]
fn versions() {
    for v in [0u32, 1, 4, 0x0300_0000] {
        let g = Gguf::start(v, 0, 0);
        assert!(
            matches!(err(&g.buf), GgufError::UnsupportedVersion { offset: 4, version } if version == v)
        );
    }
    for v in [2u32, 3] {
        assert!(read_header_from_slice(&Gguf::start(v, 0, 0).buf, &Limits::default()).is_ok());
    }
}

#[test]
fn truncated_counts() {
    let g = Gguf::start(3, 0, 0);
    assert!(matches!(
        err(&g.buf[..10]),
        GgufError::UnexpectedEof {
            offset: 8,
            what: "tensor count",
            ..
        }
    ));
    assert!(matches!(
        err(&g.buf[..20]),
        GgufError::UnexpectedEof {
            offset: 16,
            what: "metadata count",
            ..
        }
    ));
}

#[test]
fn counts_above_limits_and_above_remaining_bytes() {
    let limits = Limits {
        max_tensors: 10,
        max_metadata_entries: 10,
        ..Limits::default()
    };
    let e = err_with(&Gguf::start(3, 11, 0).buf, &limits);
    assert!(
        matches!(
            e,
            GgufError::LimitExceeded {
                what: "tensor count",
                value: 11,
                limit: 10,
                ..
            }
        ),
        "{e}"
    );
    let e = err_with(&Gguf::start(3, 0, 11).buf, &limits);
    assert!(
        matches!(
            e,
            GgufError::LimitExceeded {
                what: "metadata count",
                ..
            }
        ),
        "{e}"
    );
    // Within limits but more than the file could hold: refused before allocating.
    let e = err(&Gguf::start(3, 0, 1000).buf);
    assert!(
        matches!(
            e,
            GgufError::UnexpectedEof {
                what: "metadata count",
                needed: 13000,
                ..
            }
        ),
        "{e}"
    );
    let e = err(&Gguf::start(3, u64::MAX, 0).buf);
    assert!(
        matches!(
            e,
            GgufError::LimitExceeded {
                what: "tensor count",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn empty_duplicate_and_non_utf8_keys() {
    let mut g = Gguf::start(3, 0, 1);
    g.str("").u32(4).u32(1);
    assert!(matches!(err(&g.buf), GgufError::EmptyKey { offset: 24 }));
    let mut g = Gguf::start(3, 0, 2);
    g.kv_u32("a", 1);
    let second = g.len();
    g.kv_u32("a", 2);
    assert!(
        matches!(err(&g.buf), GgufError::DuplicateKey { offset, ref key } if offset == second && key == "a")
    );
    let mut g = Gguf::start(3, 0, 1);
    g.u64(2).raw(&[0xff, 0xfe]).u32(4).u32(1);
    assert!(matches!(
        err(&g.buf),
        GgufError::InvalidUtf8 {
            offset: 24,
            what: "metadata key"
        }
    ));
}

#[test]
fn unknown_value_types() {
    let mut g = Gguf::start(3, 0, 1);
    g.str("k").u32(13);
    assert!(matches!(
        err(&g.buf),
        GgufError::UnknownValueType {
            offset: 33,
            type_id: 13
        }
    ));
    let mut g = Gguf::start(3, 0, 1);
    g.str("k").u32(9).u32(99).u64(0);
    assert!(matches!(
        err(&g.buf),
        GgufError::UnknownValueType {
            offset: 37,
            type_id: 99
        }
    ));
}

#[test]
fn invalid_bool_scalar_and_in_array() {
    let mut g = Gguf::start(3, 0, 1);
    g.str("k").u32(7).u8(2);
    assert!(matches!(
        err(&g.buf),
        GgufError::InvalidBool {
            offset: 37,
            value: 2
        }
    ));
    let mut g = Gguf::start(3, 0, 1);
    g.str("k").u32(9).u32(7).u64(3).raw(&[1, 0, 9]);
    assert!(matches!(
        err(&g.buf),
        GgufError::InvalidBool {
            offset: 51,
            value: 9
        }
    ));
}

#[test]
fn strings_over_limit_or_past_the_end() {
    let limits = Limits {
        max_string_len: 4,
        ..Limits::default()
    };
    let mut g = Gguf::start(3, 0, 1);
    g.kv_str("k", "hello");
    let e = err_with(&g.buf, &limits);
    assert!(
        matches!(
            e,
            GgufError::LimitExceeded {
                what: "string value",
                value: 5,
                limit: 4,
                ..
            }
        ),
        "{e}"
    );
    let mut g = Gguf::start(3, 0, 1);
    g.str("k").u32(8).u64(1 << 40).raw(b"abc");
    let e = err(&g.buf);
    assert!(
        matches!(
            e,
            GgufError::LimitExceeded {
                what: "string value",
                ..
            }
        ),
        "{e}"
    );
    let mut g = Gguf::start(3, 0, 1);
    g.str("k").u32(8).u64(100).raw(b"abc");
    assert!(matches!(
        err(&g.buf),
        GgufError::UnexpectedEof {
            offset: 45,
            needed: 100,
            remaining: 3,
            ..
        }
    ));
}

#[test]
fn arrays_over_limit_past_the_end_and_too_deep() {
    let limits = Limits {
        max_array_len: 2,
        ..Limits::default()
    };
    let mut g = Gguf::start(3, 0, 1);
    g.str("k").u32(9).u32(4).u64(3).u32(1).u32(2).u32(3);
    let e = err_with(&g.buf, &limits);
    assert!(
        matches!(
            e,
            GgufError::LimitExceeded {
                what: "array length",
                value: 3,
                ..
            }
        ),
        "{e}"
    );
    // A million strings claimed in a few bytes: refused before any allocation.
    let mut g = Gguf::start(3, 0, 1);
    g.str("k").u32(9).u32(8).u64(1_000_000).str("a");
    let e = err(&g.buf);
    assert!(
        matches!(
            e,
            GgufError::UnexpectedEof {
                what: "array length",
                needed: 8_000_000,
                ..
            }
        ),
        "{e}"
    );
    // Nesting: an array of arrays of arrays with depth limit 2.
    let limits = Limits {
        max_array_depth: 2,
        ..Limits::default()
    };
    let mut g = Gguf::start(3, 0, 1);
    g.str("k").u32(9).u32(9).u64(1).u32(9).u64(1).u32(4).u64(0);
    let e = err_with(&g.buf, &limits);
    assert!(
        matches!(
            e,
            GgufError::LimitExceeded {
                what: "array nesting depth",
                value: 3,
                ..
            }
        ),
        "{e}"
    );
    // The same file is fine with the default depth, and nested values are kept.
    let h = read_header_from_slice(&g.buf, &Limits::default()).unwrap();
    let outer = h.metadata().get("k").unwrap().as_array().unwrap();
    assert_eq!(outer.element_type(), medllm_gguf::ValueType::Array);
    assert_eq!(outer.len(), 1);
}

#[test]
fn alignment_must_be_a_u32_power_of_two() {
    for (value_type, value, reason) in [
        (4u32, 0u64, "power of two"),
        (4, 48, "power of two"),
        (10, 64, "must be u32"),
    ] {
        let mut g = Gguf::start(3, 0, 2);
        g.kv_u32("a", 1);
        let at = g.len();
        g.str("general.alignment").u32(value_type);
        if value_type == 4 {
            g.u32(value as u32);
        } else {
            g.u64(value);
        }
        let e = err(&g.buf);
        assert!(
            matches!(e, GgufError::BadAlignment { offset, .. } if offset == at),
            "{e}"
        );
        assert!(e.to_string().contains(reason), "{e}");
    }
    // A legal but huge alignment is refused by the limit (its padding would be written out in full).
    let mut g = Gguf::start(3, 0, 1);
    g.kv_u32("general.alignment", 1 << 30);
    let e = err(&g.buf);
    assert!(
        matches!(
            e,
            GgufError::LimitExceeded {
                offset: 24,
                what: "general.alignment",
                ..
            }
        ),
        "{e}"
    );
    let mut g = Gguf::start(3, 1, 1);
    g.kv_u32("general.alignment", 64).tensor("t", &[16], 0, 0);
    let h = read_header_from_slice(&g.buf, &Limits::default()).unwrap();
    assert_eq!((h.alignment(), h.data_offset() % 64), (64, 0));
}

#[test]
fn tensor_names_too_long_duplicate_or_not_utf8() {
    let mut g = Gguf::start(3, 1, 0);
    g.tensor(&"x".repeat(64), &[1], 0, 0);
    assert!(matches!(
        err(&g.buf),
        GgufError::LimitExceeded {
            what: "tensor name",
            value: 64,
            limit: 63,
            ..
        }
    ));
    let mut g = Gguf::start(3, 2, 0);
    g.tensor("t", &[8], 0, 0);
    let at = g.len();
    g.tensor("t", &[8], 0, 32);
    assert!(matches!(err(&g.buf), GgufError::DuplicateTensor { offset, .. } if offset == at));
    let mut g = Gguf::start(3, 1, 0);
    g.u64(1).u8(0x80).u32(1).u64(1).u32(0).u64(0);
    assert!(matches!(
        err(&g.buf),
        GgufError::InvalidUtf8 {
            offset: 24,
            what: "tensor name"
        }
    ));
}

#[test]
fn tensor_shapes_and_types() {
    let bad = |dims: &[u64], ty: u32| {
        let mut g = Gguf::start(3, 1, 0);
        g.tensor("t", dims, ty, 0);
        err(&g.buf)
    };
    assert!(matches!(
        bad(&[1, 1, 1, 1, 1], 0),
        GgufError::LimitExceeded {
            what: "tensor dim count",
            value: 5,
            ..
        }
    ));
    for removed in [4u32, 5, 31, 36, 43, 1000] {
        let e = bad(&[32], removed);
        assert!(
            matches!(e, GgufError::BadTensor { offset: 24, ref reason, .. } if reason.contains("unknown ggml type")),
            "{e}"
        );
    }
    let e = bad(&[100], 12);
    assert!(
        matches!(e, GgufError::BadTensor { ref reason, .. } if reason.contains("block size")),
        "{e}"
    );
    let e = bad(&[1 << 32, 1 << 32], 0);
    assert!(
        matches!(e, GgufError::BadTensor { ref reason, .. } if reason.contains("overflows")),
        "{e}"
    );
    let e = bad(&[u64::MAX], 0);
    assert!(
        matches!(e, GgufError::BadTensor { ref reason, .. } if reason.contains("i64::MAX")),
        "{e}"
    );
    let e = bad(&[1 << 62], 28);
    assert!(
        matches!(e, GgufError::BadTensor { ref reason, .. } if reason.contains("byte size")),
        "{e}"
    );
}

#[test]
fn tensor_offsets_aligned_inside_u64_and_not_overlapping() {
    let mut g = Gguf::start(3, 1, 0);
    g.tensor("t", &[8], 0, 16);
    assert!(matches!(
        err(&g.buf),
        GgufError::MisalignedTensor {
            data_offset: 16,
            alignment: 32,
            ..
        }
    ));
    let mut g = Gguf::start(3, 2, 0);
    g.tensor("a", &[16], 0, 0);
    let at = g.len();
    g.tensor("b", &[8], 0, 32);
    assert!(
        matches!(err(&g.buf), GgufError::OverlappingTensors { offset, ref name, ref other } if offset == at && name == "b" && other == "a")
    );
    let mut g = Gguf::start(3, 1, 0);
    g.tensor("t", &[64], 0, u64::MAX - 31);
    assert!(matches!(
        err(&g.buf),
        GgufError::Overflow {
            offset: 24,
            what: "tensor data end"
        }
    ));
    // Out of order but disjoint is fine; zero-size tensors may share an offset.
    let mut g = Gguf::start(3, 3, 0);
    g.tensor("b", &[8], 0, 32)
        .tensor("a", &[8], 0, 0)
        .tensor("z", &[0], 0, 0);
    let h = read_header_from_slice(&g.buf, &Limits::default()).unwrap();
    assert_eq!(h.data_len(), 64);
}

#[test]
fn header_size_limit() {
    let limits = Limits {
        max_header_bytes: 40,
        ..Limits::default()
    };
    let mut g = Gguf::start(3, 0, 1);
    g.kv_str("k", "a long enough value");
    let e = err_with(&g.buf, &limits);
    assert!(
        matches!(
            e,
            GgufError::LimitExceeded {
                what: "header size",
                limit: 40,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn every_prefix_of_a_valid_file_is_an_error_or_truncated_not_a_panic() {
    let g = valid();
    let header_len = read_header_from_slice(&g.buf, &Limits::default())
        .unwrap()
        .header_len() as usize;
    for cut in 0..g.buf.len() {
        match read_header_from_slice(&g.buf[..cut], &Limits::default()) {
            Err(e) => {
                assert!(cut < header_len, "cut {cut}: {e}");
                assert!(e.offset().unwrap() <= cut as u64, "cut {cut}: {e}");
            }
            Ok(h) => assert!(
                matches!(h.completeness(), Some(Completeness::Truncated { .. })),
                "cut {cut}"
            ),
        }
    }
}
