//! Prints how long reading a header takes and how many bytes it touched:
//! `cargo run --release -p medllm-gguf --example read_speed -- MODEL.gguf [REPEATS]`.
//! A figure-printing command, not a test (timings are never asserted).

use std::time::Instant;

use medllm_gguf::{HyperParams, ModelSummary, read_header_from_path};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: read_speed MODEL.gguf [REPEATS]")?;
    let repeats: u32 = args.next().map(|r| r.parse()).transpose()?.unwrap_or(5);
    let file_len = std::fs::metadata(&path)?.len();
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        let h = read_header_from_path(&path)?;
        let hp = HyperParams::from_header(&h)?;
        let s = ModelSummary::from_header(&h);
        best = best.min(start.elapsed().as_secs_f64());
        std::hint::black_box((hp, s));
    }
    let h = read_header_from_path(&path)?;
    println!(
        "{path}: file {file_len} bytes, header {} bytes ({:.3}% of the file), {} keys, {} tensors; \
         read + hparams + summary best of {repeats}: {:.1} ms",
        h.header_len(),
        h.header_len() as f64 * 100.0 / file_len.max(1) as f64,
        h.metadata().len(),
        h.tensors().len(),
        best * 1e3
    );
    Ok(())
}
