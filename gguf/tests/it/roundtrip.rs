//! `write(read(x)) == x` on real headers, and streaming a new file through [`GgufWriter`].

use std::io::{Read, Seek, SeekFrom};

use medllm_gguf::{
    Array, Completeness, GgmlType, GgufError, GgufHeader, GgufWriter, Limits, Metadata, TensorInfo,
    Value, read_header_from_path, read_header_from_slice, write_header,
};

use crate::real_files::{default_model, fixture_7b};

fn first_bytes(path: &std::path::Path, n: u64) -> Vec<u8> {
    let mut buf = Vec::new();
    std::fs::File::open(path)
        .unwrap()
        .take(n)
        .read_to_end(&mut buf)
        .unwrap();
    buf
}

fn assert_header_round_trip(path: &std::path::Path) {
    let h = read_header_from_path(path).unwrap();
    let original = first_bytes(path, h.data_offset());
    let mut written = Vec::new();
    let n = write_header(&h, &mut written).unwrap();
    assert_eq!(n, h.data_offset());
    assert_eq!(written.len(), original.len());
    if let Some(i) = written.iter().zip(&original).position(|(a, b)| a != b) {
        panic!("first difference at byte {i}");
    }
    // And reading what we wrote gives the same header.
    let again = read_header_from_slice(&written, &Limits::default()).unwrap();
    assert_eq!(again.metadata(), h.metadata());
    assert_eq!(again.tensors(), h.tensors());
}

#[test]
fn header_round_trip_7b_fixture() {
    assert_header_round_trip(&fixture_7b());
}

#[test]
fn header_round_trip_default_model() {
    if let Some(p) = default_model() {
        assert_header_round_trip(&p);
    }
}

#[test]
fn whole_file_round_trip_default_model_streaming() {
    let Some(path) = default_model() else { return };
    let h = read_header_from_path(&path).unwrap();
    let mut src = std::fs::File::open(&path).unwrap();
    let out_path = std::env::temp_dir().join(format!("medllm-gguf-rt-{}.gguf", std::process::id()));
    let out = std::fs::File::create(&out_path).unwrap();
    let mut w = GgufWriter::new(std::io::BufWriter::new(out), h.clone()).unwrap();
    while let Some(t) = w.next_tensor() {
        src.seek(SeekFrom::Start(h.tensor_file_offset(t))).unwrap();
        w.copy_tensor(&mut src).unwrap();
    }
    drop(w.finish().unwrap());
    let same = std::fs::read(&out_path).unwrap() == std::fs::read(&path).unwrap();
    std::fs::remove_file(&out_path).unwrap();
    assert!(same, "streamed copy differs from the original");
}

fn small_header() -> GgufHeader {
    let mut m = Metadata::new();
    m.push("general.architecture", Value::String("llama".into()))
        .unwrap();
    m.push("general.alignment", Value::U32(64)).unwrap();
    m.push("empty", Value::Array(Array::I16(vec![]))).unwrap();
    m.push(
        "nested",
        Value::Array(Array::Array(vec![
            Array::Bool(vec![true, false]),
            Array::F64(vec![1.5]),
        ])),
    )
    .unwrap();
    m.push("f", Value::F32(f32::NAN)).unwrap();
    let tensors = vec![
        TensorInfo::new("a", vec![10], GgmlType::F32, 999).unwrap(),
        TensorInfo::new("zero", vec![0], GgmlType::F16, 0).unwrap(),
        TensorInfo::new("b", vec![256, 2], GgmlType::Q4_K, 0).unwrap(),
    ];
    GgufHeader::new(3, m, tensors).unwrap()
}

#[test]
fn build_write_read_new_file() {
    let h = small_header();
    assert_eq!(h.alignment(), 64);
    let offsets: Vec<u64> = h.tensors().iter().map(|t| t.offset()).collect();
    assert_eq!(offsets, [0, 64, 64]);
    let mut w = GgufWriter::new(Vec::new(), h.clone()).unwrap();
    w.write_tensor(&[1u8; 40]).unwrap();
    w.write_tensor(&[]).unwrap();
    w.write_chunk(&[2u8; 100]).unwrap();
    w.write_chunk(&[3u8; 188]).unwrap();
    let bytes = w.finish().unwrap();
    assert_eq!(bytes.len() as u64, h.data_offset() + 64 + 320);
    let back = read_header_from_slice(&bytes, &Limits::default()).unwrap();
    assert_eq!(back.completeness(), Some(Completeness::Complete));
    assert_eq!(back.tensors(), h.tensors());
    assert_eq!(back.metadata().len(), 5);
    // NaN is not equal to itself, so compare the bits.
    match back.metadata().get("f") {
        Some(Value::F32(f)) => assert_eq!(f.to_bits(), f32::NAN.to_bits()),
        other => panic!("{other:?}"),
    }
    assert_eq!(back.metadata().get("nested"), h.metadata().get("nested"));
    let b = back.tensor("b").unwrap();
    let at = back.tensor_file_offset(b) as usize;
    assert_eq!(&bytes[at..at + 100], &[2u8; 100][..]);
}

#[test]
fn writer_refuses_wrong_data() {
    let mut w = GgufWriter::new(Vec::new(), small_header()).unwrap();
    assert!(matches!(
        w.write_tensor(&[0u8; 39]),
        Err(GgufError::Write { .. })
    ));
    assert!(matches!(
        w.write_chunk(&[0u8; 41]),
        Err(GgufError::Write { .. })
    ));
    w.write_chunk(&[0u8; 40]).unwrap();
    assert!(matches!(
        GgufWriter::new(Vec::new(), small_header())
            .unwrap()
            .finish(),
        Err(GgufError::Write { .. })
    ));
}

#[test]
fn header_builder_rejects_duplicates_and_bad_alignment() {
    let t = || TensorInfo::new("t", vec![8], GgmlType::F32, 0).unwrap();
    assert!(matches!(
        GgufHeader::new(3, Metadata::new(), vec![t(), t()]),
        Err(GgufError::DuplicateTensor { .. })
    ));
    let mut m = Metadata::new();
    m.push("general.alignment", Value::U32(3)).unwrap();
    assert!(matches!(
        GgufHeader::new(3, m, vec![]),
        Err(GgufError::BadAlignment { .. })
    ));
    assert!(matches!(
        GgufHeader::new(1, Metadata::new(), vec![]),
        Err(GgufError::UnsupportedVersion { .. })
    ));
}
