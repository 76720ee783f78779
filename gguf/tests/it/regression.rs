//! Inputs found by `cargo fuzz` (see docs/gguf.md), kept as files under `tests/fixtures/fuzz/`. Each must
//! read without panicking, and a header that reads must survive write → read unchanged.

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
}
