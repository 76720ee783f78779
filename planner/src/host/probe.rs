//! Probing this machine: NVML for the GPU, sysinfo for CPU and memory, CPUID for instruction sets.
//!
//! [`probe`] never fails. No NVML library, no NVIDIA GPU or any driver error gives a CPU-only profile with the
//! reason in [`HostProfile::notes`]: a clinic PC without a GPU is the normal case, not an error. Numbers that
//! cannot be measured cheaply (CPU bandwidth, effective GFLOP/s) are estimated and say so in the notes;
//! [`crate::calibrate`] measures the CPU bandwidth.

use super::{CpuFeatures, CpuProfile, GpuProfile, HostProfile, MIB, MemoryProfile, pcie_lane_gbps};

/// Probes this machine. Cheap enough (tens of milliseconds) for the daemon's periodic re-probe.
pub fn probe() -> HostProfile {
    let mut notes = Vec::new();
    let (cpu, memory) = probe_cpu_and_memory(&mut notes);
    let gpu = match probe_gpu() {
        Ok(gpu) => Some(gpu),
        Err(reason) => {
            notes.push(format!("CPU-only: {reason}"));
            None
        }
    };
    let name = sysinfo::System::host_name().unwrap_or_else(|_| "this-host".to_owned());
    HostProfile {
        name,
        description: "probed".to_owned(),
        cpu,
        memory,
        gpu,
        unified_memory: false,
        notes,
    }
}

/// Free GPU memory (MiB) and available RAM (MiB) only: the daemon's cheap periodic check of whether the
/// memory a plan relied on is still there. `None` for the GPU when NVML is unavailable.
pub fn probe_free_memory() -> (Option<u64>, u64) {
    let gpu = nvml_wrapper::Nvml::init()
        .ok()
        .and_then(|nvml| {
            nvml.device_by_index(0)
                .ok()
                .and_then(|d| d.memory_info().ok())
        })
        .map(|m| m.free / MIB);
    let mut notes = Vec::new();
    let (_, memory) = probe_cpu_and_memory(&mut notes);
    (gpu, memory.available_mib)
}

fn probe_cpu_and_memory(notes: &mut Vec<String>) -> (CpuProfile, MemoryProfile) {
    use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};
    let kind = RefreshKind::nothing().with_memory(MemoryRefreshKind::everything());
    let system = System::new_with_specifics(kind);
    let (brand, logical, freq_mhz, memory) = match system {
        Ok(mut sys) => {
            sys.refresh_cpu_list(CpuRefreshKind::nothing().with_frequency());
            let cpus = sys.cpus();
            let brand = cpus
                .first()
                .map(|c| c.brand().trim().to_owned())
                .unwrap_or_default();
            let freq = cpus.iter().map(|c| c.frequency()).max().unwrap_or(0);
            let mut available = sys.available_memory();
            let mut total = sys.total_memory();
            // A systemd unit with MemoryMax= (or a container) sees the whole machine through /proc/meminfo.
            if let Some(limits) = sys.cgroup_limits() {
                if limits.total_memory > 0 && limits.total_memory < total {
                    notes.push(format!(
                        "cgroup memory limit {} MiB",
                        limits.total_memory / MIB
                    ));
                    total = limits.total_memory;
                    available = available.min(limits.free_memory);
                }
            }
            let memory = MemoryProfile {
                total_mib: total / MIB,
                available_mib: (available / MIB).min(total / MIB),
                swap_total_mib: sys.total_swap() / MIB,
                swap_free_mib: sys.free_swap() / MIB,
            };
            (brand, cpus.len() as u32, freq, memory)
        }
        Err(e) => {
            notes.push(format!("sysinfo failed ({e}); memory unknown"));
            let memory = MemoryProfile {
                total_mib: 0,
                available_mib: 0,
                swap_total_mib: 0,
                swap_free_mib: 0,
            };
            (String::new(), 0, 0, memory)
        }
    };
    let logical = logical.max(std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
    let physical = sysinfo::System::physical_core_count()
        .map_or(logical, |n| n as u32)
        .clamp(1, logical);
    let features = detect_features();
    let ghz = if freq_mhz > 0 {
        freq_mhz as f64 / 1000.0
    } else {
        2.5
    };
    // FP32 FLOP per cycle per core with two FMA pipes; ggml's quantized kernels reach about half of it.
    let flop_per_cycle = if features.avx512f {
        64.0
    } else if features.avx2 && features.fma {
        32.0
    } else if features.neon {
        16.0
    } else {
        8.0
    };
    let gflops = physical as f64 * ghz * flop_per_cycle * 0.5;
    // Dual-channel desktop DDR4/DDR5 streams 25–60 GB/s; a few cores cannot saturate it. Estimate and say so.
    let bandwidth = (physical as f64 * 8.0).clamp(8.0, 40.0);
    notes.push(format!(
        "cpu bandwidth {bandwidth:.0} GB/s and {gflops:.0} GFLOP/s are estimates (run calibration to measure)"
    ));
    let cpu = CpuProfile {
        brand,
        physical_cores: physical,
        logical_cores: logical,
        features,
        mem_bandwidth_gbps: bandwidth,
        bandwidth_measured: false,
        gflops,
    };
    (cpu, memory)
}

/// CPU features from CPUID (and `/proc/cpuinfo` for AMX, whose detection macro is not stable in Rust).
pub fn detect_features() -> CpuFeatures {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        CpuFeatures {
            avx: has!("avx"),
            avx2: has!("avx2"),
            fma: has!("fma"),
            f16c: has!("f16c"),
            avx512f: has!("avx512f"),
            avx512_vnni: has!("avx512vnni"),
            avx512_bf16: has!("avx512bf16"),
            avx_vnni: has!("avxvnni"),
            amx_int8: cpuinfo_has_flag("amx_int8"),
            neon: false,
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        CpuFeatures {
            neon: true,
            ..CpuFeatures::default()
        }
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        CpuFeatures::default()
    }
}

#[cfg(target_arch = "x86_64")]
fn cpuinfo_has_flag(flag: &str) -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("flags"))
                .map(|l| l.split_whitespace().any(|f| f == flag))
        })
        .unwrap_or(false)
}

/// The first NVIDIA GPU, or why there is none usable.
fn probe_gpu() -> Result<GpuProfile, String> {
    use nvml_wrapper::{Nvml, enum_wrappers::device::Clock};
    let nvml = Nvml::init().map_err(|e| format!("NVML unavailable: {e}"))?;
    let count = nvml
        .device_count()
        .map_err(|e| format!("NVML device count: {e}"))?;
    if count == 0 {
        return Err("NVML reports no GPU".to_owned());
    }
    let device = nvml
        .device_by_index(0)
        .map_err(|e| format!("NVML device 0: {e}"))?;
    let memory = device
        .memory_info()
        .map_err(|e| format!("NVML memory info: {e}"))?;
    let name = device.name().unwrap_or_else(|_| "NVIDIA GPU".to_owned());
    let cc = device
        .cuda_compute_capability()
        .map(|c| [c.major as u32, c.minor as u32])
        .unwrap_or([0, 0]);
    let bus = device.memory_bus_width().unwrap_or(0);
    let mem_clock = device.max_clock_info(Clock::Memory).unwrap_or(0);
    // NVML's memory clock is half the data rate (DDR): bytes/s = bus/8 × clock × 2.
    let mut bandwidth = bus as f64 / 8.0 * mem_clock as f64 * 2.0 / 1000.0;
    if bandwidth <= 0.0 || !bandwidth.is_finite() {
        bandwidth = 200.0;
    }
    let generation = device.max_pcie_link_gen().unwrap_or(3);
    let width = device.max_pcie_link_width().unwrap_or(16);
    let pcie = pcie_lane_gbps(generation) * width.max(1) as f64;
    let cores = device.num_cores().unwrap_or(0);
    let clock = device.max_clock_info(Clock::Graphics).unwrap_or(1500);
    let fp32 = cores as f64 * clock as f64 * 2.0 / 1000.0;
    // ggml's MMQ kernels use int8 dot products (tensor cores from Turing RTX on): well above FP32 peak.
    let gflops = if fp32 > 0.0 {
        fp32 * if cc[0] >= 7 { 2.5 } else { 1.5 }
    } else {
        bandwidth * 40.0
    };
    Ok(GpuProfile {
        name,
        total_mib: memory.total / MIB,
        free_mib: memory.free / MIB,
        compute_capability: cc,
        mem_bus_width_bits: bus,
        mem_clock_mhz: mem_clock,
        mem_bandwidth_gbps: bandwidth,
        pcie_generation: generation,
        pcie_width: width,
        pcie_bandwidth_gbps: pcie,
        gflops,
        driver_version: nvml.sys_driver_version().unwrap_or_default(),
        backend_overhead_mib: super::default_backend_overhead_mib(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn probe_never_fails_and_is_sane() {
        let p = probe();
        assert!(p.cpu.physical_cores >= 1);
        assert!(p.cpu.logical_cores >= p.cpu.physical_cores);
        assert!(p.memory.total_mib > 0);
        assert!(p.memory.available_mib <= p.memory.total_mib);
        // This build machine has no NVIDIA driver: the reason must be recorded, not an error.
        if p.gpu.is_none() {
            assert!(
                p.notes.iter().any(|n| n.starts_with("CPU-only")),
                "{:?}",
                p.notes
            );
        }
        p.validate().unwrap();
    }
}
