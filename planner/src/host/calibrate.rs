//! Optional calibration: the CPU's streaming-read bandwidth, measured once and cached in a file.
//!
//! Decode on the CPU reads every CPU-resident weight once per token, so tokens/s ≈ bandwidth / bytes. The
//! probe can only estimate bandwidth; a short multi-threaded read of a buffer larger than the last-level cache
//! measures it (about a second). The result is cached in a TOML file the caller names and reused while the
//! CPU (brand and core count) is the same.

use super::{HostProfile, MIB};
use crate::error::{PlanError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// How to measure.
#[derive(Clone, Debug)]
pub struct CalibrationOptions {
    /// Size of the buffer read, MiB; must exceed the last-level cache (server parts have 100+ MiB).
    pub buffer_mib: u64,
    /// Passes over the buffer; the best one counts (the others absorb page faults and frequency ramps).
    pub passes: u32,
    /// Reader threads (the physical core count is what llama.cpp uses).
    pub threads: u32,
}

impl Default for CalibrationOptions {
    fn default() -> Self {
        Self {
            buffer_mib: 512,
            passes: 4,
            threads: 0,
        }
    }
}

/// A cached measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// CPU brand the measurement belongs to.
    pub cpu_brand: String,
    /// Physical cores when measured.
    pub physical_cores: u32,
    /// Measured streaming-read bandwidth, GB/s.
    pub mem_bandwidth_gbps: f64,
    /// Seconds since the Unix epoch.
    pub measured_at: u64,
}

/// Applies a cached calibration to `host`, or measures one (and writes the cache) when the cache is missing,
/// unreadable or from another CPU.
pub fn calibrate(
    host: &mut HostProfile,
    cache: &Path,
    options: &CalibrationOptions,
) -> Result<Calibration> {
    if let Some(cached) = read_cache(cache) {
        if cached.cpu_brand == host.cpu.brand && cached.physical_cores == host.cpu.physical_cores {
            apply(host, &cached);
            return Ok(cached);
        }
    }
    let threads = if options.threads == 0 {
        host.cpu.physical_cores
    } else {
        options.threads
    };
    let gbps = measure_read_bandwidth(options.buffer_mib, options.passes, threads);
    let calibration = Calibration {
        cpu_brand: host.cpu.brand.clone(),
        physical_cores: host.cpu.physical_cores,
        mem_bandwidth_gbps: gbps,
        measured_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    };
    let text = toml::to_string(&calibration).map_err(|e| PlanError::Toml {
        path: cache.to_path_buf(),
        message: e.to_string(),
    })?;
    if let Some(dir) = cache.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|source| PlanError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
    }
    std::fs::write(cache, text).map_err(|source| PlanError::Io {
        path: cache.to_path_buf(),
        source,
    })?;
    apply(host, &calibration);
    Ok(calibration)
}

fn read_cache(path: &Path) -> Option<Calibration> {
    let text = std::fs::read_to_string(path).ok()?;
    let c: Calibration = toml::from_str(&text).ok()?;
    (c.mem_bandwidth_gbps > 0.0 && c.mem_bandwidth_gbps.is_finite()).then_some(c)
}

fn apply(host: &mut HostProfile, c: &Calibration) {
    host.cpu.mem_bandwidth_gbps = c.mem_bandwidth_gbps;
    host.cpu.bandwidth_measured = true;
    host.notes.retain(|n| !n.starts_with("cpu bandwidth"));
    host.notes.push(format!(
        "cpu bandwidth {:.1} GB/s measured",
        c.mem_bandwidth_gbps
    ));
}

/// Streaming-read bandwidth in GB/s: `threads` threads each sum their slice of a `buffer_mib` buffer; the
/// fastest of `passes` passes counts.
pub fn measure_read_bandwidth(buffer_mib: u64, passes: u32, threads: u32) -> f64 {
    let words = (buffer_mib.max(1) * MIB / 8) as usize;
    // Touch every page first (the kernel maps zero pages lazily; reading them would measure nothing).
    let buffer: Vec<u64> = (0..words as u64).collect();
    let threads = threads.max(1) as usize;
    let chunk = words.div_ceil(threads);
    let mut best = 0.0f64;
    for _ in 0..passes.max(1) {
        let start = Instant::now();
        let total: u64 = std::thread::scope(|s| {
            let handles: Vec<_> = buffer
                .chunks(chunk)
                .map(|part| s.spawn(move || part.iter().fold(0u64, |a, &x| a.wrapping_add(x))))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(0))
                .fold(0u64, u64::wrapping_add)
        });
        std::hint::black_box(total);
        let secs = start.elapsed().as_secs_f64();
        if secs > 0.0 {
            best = best.max((words * 8) as f64 / secs / 1e9);
        }
    }
    best
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn calibration_is_cached_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("sub/cal.toml");
        let mut host = crate::host::probe::probe();
        let opts = CalibrationOptions {
            buffer_mib: 16,
            passes: 1,
            threads: 1,
        };
        let first = calibrate(&mut host, &cache, &opts).unwrap();
        assert!(first.mem_bandwidth_gbps > 0.0);
        assert!(host.cpu.bandwidth_measured);
        // Second call must read the file, not measure again: plant a recognisable value.
        let planted = Calibration {
            mem_bandwidth_gbps: 123.5,
            ..first.clone()
        };
        std::fs::write(&cache, toml::to_string(&planted).unwrap()).unwrap();
        let second = calibrate(&mut host, &cache, &opts).unwrap();
        assert_eq!(second.mem_bandwidth_gbps, 123.5);
        assert_eq!(host.cpu.mem_bandwidth_gbps, 123.5);
        // Another CPU invalidates the cache.
        host.cpu.brand.push_str(" (other)");
        let third = calibrate(&mut host, &cache, &opts).unwrap();
        assert_ne!(third.mem_bandwidth_gbps, 123.5);
    }
}
