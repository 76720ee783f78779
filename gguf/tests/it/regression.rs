//! Inputs found by `cargo fuzz` (see docs/gguf.md), kept as files under `tests/fixtures/fuzz/`. Each must
//! read without panicking, and a header that reads must survive write → read unchanged.
//!
//! - `round-trip-oom-alignment-1gib.gguf`: `general.alignment` = 2^30 in a 144-byte file. It read fine, but
//!   writing it back padded 1 GiB of zeros (out of memory in the fuzzer). Fixed by `Limits::max_alignment`.

use std::path::Path;

use medllm_gguf::{HyperParams, Limits, ModelSummary, read_header_from_slice, write_header};

#[test]
fn fuzz_found_inputs_do_not_panic_and_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        if let Ok(h) = read_header_from_slice(&bytes, &Limits::default()) {
            let _ = HyperParams::from_header(&h);
            let _ = ModelSummary::from_header(&h);
            let mut out = Vec::new();
            write_header(&h, &mut out).unwrap();
            let again = read_header_from_slice(&out, &Limits::default()).unwrap();
            assert_eq!(again.tensors(), h.tensors(), "{}", path.display());
            assert_eq!(
                again.metadata().len(),
                h.metadata().len(),
                "{}",
                path.display()
            );
        }
        n += 1;
    }
    eprintln!("{n} fuzz regression inputs checked");
    assert!(n >= 1, "no regression inputs found in {}", dir.display());
}

#[test]
fn huge_alignment_is_refused_by_the_limit() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz/round-trip-oom-alignment-1gib.gguf");
    let bytes = std::fs::read(path).unwrap();
    let e = read_header_from_slice(&bytes, &Limits::default()).unwrap_err();
    assert!(
        matches!(
            e,
            medllm_gguf::GgufError::LimitExceeded {
                what: "general.alignment",
                ..
            }
        ),
        "{e}"
    );
}
