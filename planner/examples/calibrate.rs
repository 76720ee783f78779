//! Measures this CPU's streaming-read bandwidth (cached in the given file) and prints the probed profile.
//!
//! `cargo run --release -p medllm-planner --example calibrate -- [CACHE.toml]`

use medllm_planner::{CalibrationOptions, calibrate, probe};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cache = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/medllm-calibration.toml".to_owned());
    let mut host = probe();
    let c = calibrate(
        &mut host,
        std::path::Path::new(&cache),
        &CalibrationOptions::default(),
    )?;
    println!(
        "{:.1} GB/s streaming read ({} threads), cached in {cache}",
        c.mem_bandwidth_gbps, c.physical_cores
    );
    print!("{}", host.to_toml());
    Ok(())
}
