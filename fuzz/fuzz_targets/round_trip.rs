//! read → write → read: whatever header reads must write, and the written header must read back to the same
//! metadata and tensors, with the same layout, and write to the same bytes again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use medllm_gguf::{Limits, read_header_from_slice, write_header};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(h) = read_header_from_slice(data, &limits) else { return };
    let mut out = Vec::new();
    let n = write_header(&h, &mut out).expect("a header that reads must write");
    assert_eq!(n, h.data_offset());
    let again = read_header_from_slice(&out, &limits).expect("written header must read back");
    assert_eq!(again.tensors(), h.tensors());
    assert_eq!(again.data_offset(), h.data_offset());
    assert_eq!(again.data_len(), h.data_len());
    assert_eq!(again.metadata().len(), h.metadata().len());
    for (a, b) in again.metadata().entries().iter().zip(h.metadata().entries()) {
        assert_eq!(a.key, b.key);
        assert_eq!(a.value.value_type(), b.value.value_type());
    }
    // Float NaNs make PartialEq useless for values, so compare the encodings: the header's bytes (zero
    // padding aside) must equal the input's.
    let header_len = h.header_len() as usize;
    assert_eq!(&out[..header_len], &data[..header_len]);
    let mut out2 = Vec::new();
    write_header(&again, &mut out2).expect("second write");
    assert_eq!(out, out2);
});
