//! Writes a seed corpus for the fuzz targets (see docs/gguf.md):
//! `cargo run -p medllm-gguf --example fuzz_seeds -- OUT_DIR [MODEL.gguf ...]`.
//!
//! For each real model given it writes (a) its header with every long array cut to 8 elements — a small,
//! valid header with real keys, real tensor names, shapes and types — and (b) its first 4 KiB. It also
//! writes hand-made files covering every value type, nested arrays, a custom alignment and no tensors.

use std::io::Read;
use std::path::{Path, PathBuf};

use medllm_gguf::{
    Array, GgmlType, GgufHeader, GgufString, Metadata, TensorInfo, Value, read_header_from_path,
    write_header,
};

fn shorten(a: &Array) -> Array {
    const N: usize = 8;
    fn cut<T: Clone>(v: &[T]) -> Vec<T> {
        v.iter().take(N).cloned().collect()
    }
    match a {
        Array::U8(v) => Array::U8(cut(v)),
        Array::I8(v) => Array::I8(cut(v)),
        Array::U16(v) => Array::U16(cut(v)),
        Array::I16(v) => Array::I16(cut(v)),
        Array::U32(v) => Array::U32(cut(v)),
        Array::I32(v) => Array::I32(cut(v)),
        Array::F32(v) => Array::F32(cut(v)),
        Array::Bool(v) => Array::Bool(cut(v)),
        Array::String(v) => Array::String(cut(v)),
        Array::Array(v) => Array::Array(v.iter().take(N).map(shorten).collect()),
        Array::U64(v) => Array::U64(cut(v)),
        Array::I64(v) => Array::I64(cut(v)),
        Array::F64(v) => Array::F64(cut(v)),
    }
}

fn write(dir: &Path, name: &str, header: &GgufHeader) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    write_header(header, &mut out)?;
    std::fs::write(dir.join(name), out)?;
    Ok(())
}

fn hand_made() -> Result<Vec<(&'static str, GgufHeader)>, medllm_gguf::GgufError> {
    let mut all = Metadata::new();
    all.push("general.architecture", Value::String("llama".into()))?;
    all.push("llama.block_count", Value::U32(2))?;
    all.push("llama.context_length", Value::U64(128))?;
    all.push("llama.embedding_length", Value::I32(64))?;
    all.push(
        "llama.attention.head_count",
        Value::Array(Array::U32(vec![4, 4])),
    )?;
    all.push("llama.attention.head_count_kv", Value::U16(2))?;
    all.push("u8", Value::U8(1))?;
    all.push("i8", Value::I8(-1))?;
    all.push("i16", Value::I16(-2))?;
    all.push("f32", Value::F32(0.5))?;
    all.push("bool", Value::Bool(true))?;
    all.push("i64", Value::I64(-3))?;
    all.push("f64", Value::F64(2.5))?;
    all.push(
        "tokenizer.ggml.tokens",
        Value::Array(Array::String(vec![GgufString::from("a"), "b".into()])),
    )?;
    all.push(
        "nested",
        Value::Array(Array::Array(vec![
            Array::Bool(vec![true]),
            Array::Array(vec![Array::I64(vec![])]),
        ])),
    )?;
    let tensors = |names: &[&str]| -> Result<Vec<TensorInfo>, medllm_gguf::GgufError> {
        names
            .iter()
            .map(|n| TensorInfo::new(*n, vec![256, 2], GgmlType::Q4_K, 0))
            .collect()
    };
    let layers = tensors(&[
        "token_embd.weight",
        "blk.0.attn_q.weight",
        "blk.1.ffn_up_exps.weight",
        "output.weight",
    ])?;
    let mut aligned = Metadata::new();
    aligned.push("general.alignment", Value::U32(64))?;
    Ok(vec![
        ("hand-all-types.gguf", GgufHeader::new(3, all, layers)?),
        (
            "hand-aligned-64.gguf",
            GgufHeader::new(2, aligned, tensors(&["a", "b"])?)?,
        ),
        (
            "hand-empty.gguf",
            GgufHeader::new(3, Metadata::new(), Vec::new())?,
        ),
    ])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: fuzz_seeds OUT_DIR [MODEL.gguf ...]")?,
    );
    std::fs::create_dir_all(&dir)?;
    for (name, header) in hand_made()? {
        write(&dir, name, &header)?;
    }
    for (i, model) in args.enumerate() {
        let h = read_header_from_path(&model)?;
        let mut m = Metadata::new();
        for e in h.metadata().entries() {
            let v = match &e.value {
                Value::Array(a) => Value::Array(shorten(a)),
                other => other.clone(),
            };
            m.push(e.key.clone(), v)?;
        }
        let small = GgufHeader::new(h.version(), m, h.tensors().to_vec())?;
        write(&dir, &format!("real-{i}-short-arrays.gguf"), &small)?;
        let mut head = Vec::new();
        std::fs::File::open(&model)?
            .take(4096)
            .read_to_end(&mut head)?;
        std::fs::write(dir.join(format!("real-{i}-first-4k.gguf")), head)?;
    }
    Ok(())
}
