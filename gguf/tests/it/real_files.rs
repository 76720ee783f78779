//! The real files: the 7B header fixture (no weights) and the default model. The figures are the ones the
//! foundation issue lists; each is computed by the reader, so a reader bug changes them.

use std::path::{Path, PathBuf};

use medllm_gguf::{
    Completeness, FileType, GgmlType, HyperParams, ModelSummary, OutputProjection, VocabSource,
    read_header_from_path,
};

pub fn fixture_7b() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/deepseek-r1-distill-qwen-7b-q4_k_m.header.gguf")
}

/// The default model, or `None` (with a message) when `scripts/setup-models.sh` has not run.
pub fn default_model() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/gemma-3-270m-q4_k_m.gguf");
    if p.exists() {
        Some(p)
    } else {
        assert!(
            std::env::var_os("MEDLLM_TESTS_STRICT").is_none(),
            "MEDLLM_TESTS_STRICT: {} is missing",
            p.display()
        );
        eprintln!(
            "skipping: {} is missing (run scripts/setup-models.sh)",
            p.display()
        );
        None
    }
}

#[test]
fn deepseek_7b_header_fixture() {
    let h = read_header_from_path(fixture_7b()).unwrap();
    assert_eq!(h.version(), 3);
    assert_eq!(h.tensors().len(), 339);
    assert_eq!(h.data_offset(), 5_953_248);
    assert_eq!(h.data_len(), 4_677_120_000);
    assert_eq!(h.alignment(), 32);
    assert_eq!(
        h.completeness(),
        Some(Completeness::Truncated {
            expected_end: 5_953_248 + 4_677_120_000,
            file_len: 5_953_248
        })
    );

    let hp = HyperParams::from_header(&h).unwrap();
    assert_eq!(hp.architecture, "qwen2");
    assert_eq!(hp.block_count, 28);
    assert_eq!(hp.vocab_size, 152_064);
    assert_eq!(hp.vocab_source, VocabSource::TokenList);
    assert_eq!(hp.embedding_length, 3584);
    assert_eq!(hp.head_count.max(), 28);
    assert_eq!(hp.head_count_kv.max(), 4);
    assert_eq!((hp.key_length, hp.value_length), (128, 128));
    assert_eq!(hp.k_width(0), 512);
    assert_eq!(hp.file_type, Some(FileType(15)));
    assert_eq!(hp.file_type.unwrap().to_string(), "Q4_K_M");
    assert_eq!(hp.expert_count, None);
    assert!(hp.context_length >= 4096, "{}", hp.context_length);

    let s = ModelSummary::from_header(&h);
    assert_eq!(s.layers.len(), 28);
    let blk0 = s.layer(0).unwrap();
    assert_eq!(blk0.total(), 149_112_832);
    assert_eq!(blk0.tensors.len(), 12, "{:?}", blk0.tensors);
    assert!(blk0.attention > 0 && blk0.ffn > blk0.attention && blk0.norm > 0);
    assert_eq!(s.token_embedding, 306_561_024);
    assert_eq!(
        h.tensor("token_embd.weight").unwrap().n_bytes(),
        306_561_024
    );
    assert_eq!(s.output, OutputProjection::Separate { bytes: 447_068_160 });
    let layer_sum: u64 = s.layers.iter().map(|l| l.total()).sum();
    assert_eq!(layer_sum + s.global_bytes(), h.tensor_bytes());
    let type_sum: u64 = s.by_type.iter().map(|t| t.bytes).sum();
    assert_eq!(type_sum, h.tensor_bytes());
    assert!(s.by_type.iter().any(|t| t.ggml_type == GgmlType::Q4_K));
    // ~7.6 B parameters.
    assert!(
        (7_000_000_000..8_000_000_000).contains(&h.parameter_count()),
        "{}",
        h.parameter_count()
    );
}

#[test]
fn default_gemma3_model() {
    let Some(path) = default_model() else { return };
    let file_len = std::fs::metadata(&path).unwrap().len();
    let h = read_header_from_path(&path).unwrap();
    assert_eq!(h.tensors().len(), 236);
    assert_eq!(h.data_offset(), 6_525_120);
    assert_eq!(h.data_offset() + h.data_len(), 253_113_024);
    assert_eq!(file_len, 253_113_024);
    assert_eq!(h.completeness(), Some(Completeness::Complete));

    let hp = HyperParams::from_header(&h).unwrap();
    assert_eq!(hp.architecture, "gemma3");
    assert_eq!(hp.block_count, 18);
    assert!(hp.sliding_window.is_some());
    assert_eq!(
        hp.file_type.map(|f| f.to_string()).as_deref(),
        Some("Q4_K_M")
    );

    let s = ModelSummary::from_header(&h);
    assert_eq!(s.layers.len(), 18);
    // gemma3 ties its output projection to the token embedding.
    assert_eq!(s.output, OutputProjection::TiedToEmbedding);
    assert!(s.token_embedding > 0 && s.output_norm > 0);
}

#[test]
fn truncated_copy_of_the_default_model_is_readable_and_reported_truncated() {
    let Some(path) = default_model() else { return };
    let full = std::fs::read(&path).unwrap();
    let cut = &full[..7_000_000];
    let h = medllm_gguf::read_header_from_slice(cut, &medllm_gguf::Limits::default()).unwrap();
    assert_eq!(
        h.completeness(),
        Some(Completeness::Truncated {
            expected_end: 253_113_024,
            file_len: 7_000_000
        })
    );
}

/// A reader that counts the bytes handed out, to prove that only the header is read.
struct Counting<R> {
    inner: R,
    read: u64,
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R: std::io::Seek> std::io::Seek for Counting<R> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn only_the_header_is_read() {
    let Some(path) = default_model() else { return };
    let mut counting = Counting {
        inner: std::fs::File::open(&path).unwrap(),
        read: 0,
    };
    let h = medllm_gguf::read_header(&mut counting, &medllm_gguf::Limits::default()).unwrap();
    // The buffered reader may read ahead one buffer (64 KiB) past the header, no more.
    assert!(
        counting.read <= h.header_len() + 64 * 1024,
        "read {} of a {}-byte header",
        counting.read,
        h.header_len()
    );
    assert!(counting.read < std::fs::metadata(&path).unwrap().len() / 10);
}
