//! Reads arbitrary bytes as a GGUF header, then asks every question the planner asks of it. Any panic,
//! overflow (debug assertions are on under cargo fuzz) or out-of-memory is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medllm_gguf::{HyperParams, Limits, ModelSummary, read_header_from_slice};

fuzz_target!(|data: &[u8]| {
    // Small limits as well as the defaults, so the limit paths are exercised too.
    let small = Limits { max_header_bytes: 1 << 16, max_array_len: 1 << 10, max_array_depth: 3, ..Limits::default() };
    for limits in [Limits::default(), small] {
        if let Ok(h) = read_header_from_slice(data, &limits) {
            let _ = h.completeness();
            let _ = h.parameter_count();
            let _ = HyperParams::from_header(&h).map(|hp| (hp.k_width(0), hp.v_width(usize::MAX)));
            let s = ModelSummary::from_header(&h);
            let _ = s.global_bytes();
            for l in &s.layers {
                let _ = l.total();
            }
        }
    }
});
