//! The host profile: what the machine offers (CPU, RAM, at most one GPU) as plain serde data.
//!
//! A profile comes from [`probe`] (this machine) or from a TOML file ([`HostProfile::load`]) so that plans can
//! be made for a clinic machine one does not have (`configs/hosts/*.toml`). Memory sizes are in MiB, rates in
//! GB/s (10⁹ bytes per second) and GFLOP/s, because those are the units the data sheets and the files use.
//! This module owns the data and its file format; measuring lives in [`probe`] and [`calibrate`].

pub mod calibrate;
pub mod probe;

use crate::error::{PlanError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One MiB in bytes.
pub const MIB: u64 = 1024 * 1024;

/// Everything the planner needs to know about a machine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostProfile {
    /// Short name shown in plans (`gtx1650-4gb`, or the host name when probed).
    pub name: String,
    /// Free text: where the numbers come from.
    #[serde(default)]
    pub description: String,
    /// The processor.
    pub cpu: CpuProfile,
    /// System memory.
    pub memory: MemoryProfile,
    /// The GPU, if any (the planner uses one GPU: clinic machines have at most one).
    #[serde(default)]
    pub gpu: Option<GpuProfile>,
    /// GPU and CPU share one physical memory pool (Jetson, integrated GPUs): every byte the GPU gets is taken
    /// from [`MemoryProfile::available_mib`], and both sides read at the same bandwidth.
    #[serde(default)]
    pub unified_memory: bool,
    /// How the profile was obtained and anything that went wrong (e.g. "NVML unavailable: …").
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The processor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuProfile {
    /// Brand string (`Intel(R) Core(TM) i5-10400`).
    pub brand: String,
    /// Physical cores: llama.cpp's decode is memory bound and hyper-threads only add contention, so the
    /// planner sets `threads` to this.
    pub physical_cores: u32,
    /// Logical CPUs (hyper-threads included).
    pub logical_cores: u32,
    /// Instruction-set features; they decide which of llama.cpp's CPU weight layouts (AMX, repacked) apply.
    #[serde(default)]
    pub features: CpuFeatures,
    /// Sustained streaming-read bandwidth of main memory, GB/s. Decode on the CPU is bounded by it.
    pub mem_bandwidth_gbps: f64,
    /// Whether `mem_bandwidth_gbps` was measured on this machine ([`calibrate`]) rather than estimated.
    #[serde(default)]
    pub bandwidth_measured: bool,
    /// Sustained matrix-multiply throughput, GFLOP/s (prefill on the CPU is bounded by it).
    pub gflops: f64,
}

/// CPU instruction-set features relevant to ggml's CPU backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CpuFeatures {
    /// AVX.
    pub avx: bool,
    /// AVX2 (ggml's repacked Q4_0/Q4_K/IQ4_NL layouts need it).
    pub avx2: bool,
    /// FMA3.
    pub fma: bool,
    /// F16C.
    pub f16c: bool,
    /// AVX-512 foundation.
    pub avx512f: bool,
    /// AVX-512 VNNI (with AMX, enables ggml's AMX weight buffer).
    pub avx512_vnni: bool,
    /// AVX-512 BF16.
    pub avx512_bf16: bool,
    /// AVX-VNNI (256-bit).
    pub avx_vnni: bool,
    /// AMX int8 tiles (Sapphire Rapids and later): ggml packs eligible weights into an "AMX" buffer.
    pub amx_int8: bool,
    /// ARM NEON.
    pub neon: bool,
}

/// System memory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryProfile {
    /// Installed RAM, MiB.
    pub total_mib: u64,
    /// RAM the planner may count on (free + reclaimable cache, capped by a cgroup limit), MiB.
    pub available_mib: u64,
    /// Swap, MiB (never planned into: weights in swap make decode crawl; reported only).
    #[serde(default)]
    pub swap_total_mib: u64,
    /// Free swap, MiB.
    #[serde(default)]
    pub swap_free_mib: u64,
}

/// One GPU.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuProfile {
    /// Marketing name (`NVIDIA GeForce GTX 1650`).
    pub name: String,
    /// Installed memory, MiB.
    pub total_mib: u64,
    /// Free memory when probed, MiB (the desktop and other programs hold the rest).
    pub free_mib: u64,
    /// CUDA compute capability `[major, minor]`.
    #[serde(default)]
    pub compute_capability: [u32; 2],
    /// Memory bus width, bits (with the memory clock it gives the bandwidth).
    #[serde(default)]
    pub mem_bus_width_bits: u32,
    /// Maximum memory clock as NVML reports it, MHz.
    #[serde(default)]
    pub mem_clock_mhz: u32,
    /// Memory bandwidth, GB/s. Decode of offloaded layers is bounded by it.
    pub mem_bandwidth_gbps: f64,
    /// PCIe generation of the link (hand-offs and prefill weight streaming cross it).
    #[serde(default)]
    pub pcie_generation: u32,
    /// PCIe lanes.
    #[serde(default)]
    pub pcie_width: u32,
    /// One-direction PCIe bandwidth, GB/s.
    pub pcie_bandwidth_gbps: f64,
    /// Matrix-multiply throughput for quantized weights, GFLOP/s (prefill on the GPU is bounded by it).
    pub gflops: f64,
    /// Driver version (informational; part of the plan fingerprint).
    #[serde(default)]
    pub driver_version: String,
    /// VRAM the CUDA backend itself takes before any model buffer (context, cuBLAS workspace, kernels), MiB.
    #[serde(default = "default_backend_overhead_mib")]
    pub backend_overhead_mib: u64,
}

fn default_backend_overhead_mib() -> u64 {
    // A CUDA 12 context with cuBLAS on a consumer card: ~250–450 MiB depending on lazy module loading.
    400
}

impl HostProfile {
    /// Reads a TOML profile (`configs/hosts/*.toml`).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PlanError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            PlanError::Toml { message, .. } => PlanError::Toml {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parses a TOML profile and checks that its numbers are usable.
    pub fn from_toml(text: &str) -> Result<Self> {
        let profile: Self = toml::from_str(text).map_err(|e| PlanError::Toml {
            path: "<string>".into(),
            message: e.to_string(),
        })?;
        profile.validate()?;
        Ok(profile)
    }

    /// The profile as TOML (what [`HostProfile::load`] reads back).
    pub fn to_toml(&self) -> String {
        // Serialising plain structs of numbers, strings and arrays cannot fail.
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Rejects profiles whose numbers would make the cost model divide by zero or plan into nothing.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| {
            Err(PlanError::InvalidRequest(format!(
                "host profile {}: {what}",
                self.name
            )))
        };
        if self.cpu.physical_cores == 0 {
            return bad("cpu.physical_cores is 0");
        }
        if !positive(self.cpu.mem_bandwidth_gbps) || !positive(self.cpu.gflops) {
            return bad("cpu.mem_bandwidth_gbps and cpu.gflops must be positive");
        }
        if self.memory.available_mib > self.memory.total_mib {
            return bad("memory.available_mib exceeds memory.total_mib");
        }
        if let Some(gpu) = &self.gpu {
            if gpu.free_mib > gpu.total_mib {
                return bad("gpu.free_mib exceeds gpu.total_mib");
            }
            if !positive(gpu.mem_bandwidth_gbps)
                || !positive(gpu.gflops)
                || !positive(gpu.pcie_bandwidth_gbps)
            {
                return bad("gpu bandwidths and gflops must be positive");
            }
        }
        Ok(())
    }

    /// A copy with every memory budget scaled: used by what-if plans and by the monotonicity test.
    pub fn with_memory(&self, ram_available_mib: u64, gpu_free_mib: Option<u64>) -> Self {
        let mut out = self.clone();
        out.memory.total_mib = out.memory.total_mib.max(ram_available_mib);
        out.memory.available_mib = ram_available_mib;
        if let (Some(gpu), Some(free)) = (out.gpu.as_mut(), gpu_free_mib) {
            gpu.total_mib = gpu.total_mib.max(free);
            gpu.free_mib = free;
        }
        out
    }
}

/// A usable rate: positive and finite (NaN fails too).
fn positive(x: f64) -> bool {
    x > 0.0 && x.is_finite()
}

/// One-direction PCIe bandwidth per lane in GB/s for a link generation (after encoding overhead).
pub fn pcie_lane_gbps(generation: u32) -> f64 {
    match generation {
        0 | 1 => 0.25,
        2 => 0.5,
        3 => 0.985,
        4 => 1.969,
        5 => 3.938,
        _ => 7.563,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
name = "t"
[cpu]
brand = "x"
physical_cores = 4
logical_cores = 8
mem_bandwidth_gbps = 30.0
gflops = 300.0
[cpu.features]
avx2 = true
[memory]
total_mib = 16384
available_mib = 12000
[gpu]
name = "g"
total_mib = 4096
free_mib = 3800
mem_bandwidth_gbps = 128.0
pcie_bandwidth_gbps = 15.7
gflops = 6000.0
"#;

    #[test]
    fn toml_round_trip() {
        let p = HostProfile::from_toml(SAMPLE).unwrap();
        assert!(p.cpu.features.avx2);
        assert_eq!(p.gpu.as_ref().unwrap().backend_overhead_mib, 400);
        let again = HostProfile::from_toml(&p.to_toml()).unwrap();
        assert_eq!(p, again);
    }

    #[test]
    fn rejects_impossible_numbers() {
        let bad = SAMPLE.replace("available_mib = 12000", "available_mib = 20000");
        assert!(HostProfile::from_toml(&bad).is_err());
        let unknown = SAMPLE.replace("[memory]", "[memory]\nbogus = 1");
        assert!(matches!(
            HostProfile::from_toml(&unknown),
            Err(PlanError::Toml { .. })
        ));
    }
}
