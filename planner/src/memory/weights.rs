//! Weight buffers: which llama.cpp buffer each tensor lands in, and how big each buffer is.
//!
//! Mirrors `llama_model::load_tensors` and the loader's `select_weight_buft` in the vendored llama.cpp:
//! - the token embedding (input layer) is always on the CPU; the output layer follows `n_gpu_layers ≥ 1`;
//!   repeating layers `[n_layer + 1 − n_gpu_layers, n_layer)` are offloaded; a CPU override moves a tensor of
//!   an offloaded layer back to the CPU buffer list.
//! - on the CPU, without a GPU backend, a matrix weight goes to the first "extra" buffer that accepts it: AMX
//!   (Sapphire Rapids; packed rows), then CPU_REPACK (interleaved Q4_0/Q4_K/IQ4_NL… on AVX2/NEON); everything
//!   else stays in the mmap'd file (`CPU_Mapped`: the byte range from the first to the last such tensor).
//!   With a GPU backend the CPU list starts with the pinned host buffer, which under mmap becomes the plain
//!   CPU buffer: no repacking then.
//! - CUDA buffers pad each quantized tensor by one 512-element row (`MATRIX_ROW_PADDING`) and align to 128.

use super::{Buffer, BufferKind, Device};
use crate::ggml::{block_info, row_size, type_id as t};
use crate::host::CpuFeatures;
use crate::model::{ModelProfile, TensorProfile, TensorRole};
use crate::plan::Placement;

/// CPU buffers align tensors to 32 bytes (`TENSOR_ALIGNMENT`), CUDA to 128.
const CPU_ALIGN: u64 = 32;
const CUDA_ALIGN: u64 = 128;
const CUDA_ROW_PADDING: u64 = 512;

/// Which CPU weight layouts this host's ggml CPU backend offers.
#[derive(Clone, Copy, Debug)]
pub struct CpuLayouts {
    /// The AMX buffer (x86 with AMX-INT8 and AVX512-VNNI; ggml's best CPU variant enables it).
    pub amx: bool,
    /// Instruction sets deciding the CPU_REPACK layouts.
    pub features: CpuFeatures,
    /// A GPU backend is in use (then no extra CPU buffers, see the module docs).
    pub gpu_backend: bool,
    /// Weights are mmap'd (llama.cpp's default).
    pub mmap: bool,
}

impl CpuLayouts {
    /// The layouts for a host.
    pub fn for_host(features: CpuFeatures, gpu_backend: bool, mmap: bool) -> Self {
        Self {
            amx: features.amx_int8 && features.avx512_vnni,
            features,
            gpu_backend,
            mmap,
        }
    }
}

/// Weight bytes per device and per llama.cpp buffer.
#[derive(Clone, Debug, Default)]
pub struct WeightBuffers {
    /// Buffers as llama.cpp logs them (`model buffer size`).
    pub buffers: Vec<Buffer>,
    /// Bytes the GPU holds.
    pub gpu_bytes: u64,
    /// Bytes of RAM the CPU side needs resident (mapped tensors actually used plus extra buffers).
    pub cpu_resident_bytes: u64,
    /// Largest matrix weight left on the CPU (the GPU copies it per op when offloading prefill ops).
    pub largest_cpu_matrix: u64,
}

/// The device a tensor lands on.
pub fn device_of(tensor: &TensorProfile, placement: &Placement, n_layer: u32) -> Device {
    match tensor.role {
        TensorRole::TokenEmbd | TensorRole::Global => Device::Cpu,
        TensorRole::Output | TensorRole::OutputNorm => {
            if placement.output_on_gpu {
                Device::Gpu
            } else {
                Device::Cpu
            }
        }
        TensorRole::Layer { layer, group } => {
            if layer >= n_layer || !placement.layer_on_gpu(layer) {
                Device::Cpu
            } else if placement.group_on_gpu(group, layer) {
                Device::Gpu
            } else {
                Device::Cpu
            }
        }
    }
}

/// Computes the weight buffers of `model` under `placement`.
pub fn weight_buffers(
    model: &ModelProfile,
    placement: &Placement,
    layouts: &CpuLayouts,
) -> WeightBuffers {
    let n_layer = model.hparams.n_layer;
    let mut out = WeightBuffers::default();
    let (mut amx, mut repack, mut cuda, mut host_plain) = (0u64, 0u64, 0u64, 0u64);
    let mut mapped_first = u64::MAX;
    let mut mapped_last = 0u64;
    for tensor in &model.tensors {
        match device_of(tensor, placement, n_layer) {
            Device::Gpu => {
                cuda += align(cuda_alloc_size(tensor), CUDA_ALIGN);
            }
            Device::Cpu => {
                if tensor.matmul {
                    out.largest_cpu_matrix = out.largest_cpu_matrix.max(tensor.bytes);
                }
                let extra = if layouts.gpu_backend || !tensor.matmul {
                    None
                } else if layouts.amx && amx_eligible(tensor) {
                    Some((true, amx_alloc_size(tensor)))
                } else if repack_eligible(tensor, &layouts.features) {
                    Some((false, tensor.bytes))
                } else {
                    None
                };
                match extra {
                    Some((true, size)) => amx += align(size, CPU_ALIGN),
                    Some((false, size)) => repack += align(size, CPU_ALIGN),
                    None if layouts.mmap => {
                        mapped_first = mapped_first.min(tensor.offset);
                        mapped_last = mapped_last.max(tensor.offset + tensor.bytes);
                        if !tensor.duplicate {
                            out.cpu_resident_bytes += tensor.bytes;
                        }
                    }
                    None => host_plain += align(tensor.bytes, CPU_ALIGN),
                }
            }
        }
    }
    let mapped = mapped_last.saturating_sub(mapped_first.min(mapped_last));
    let mut push = |name: &str, device: Device, bytes: u64| {
        if bytes > 0 {
            out.buffers.push(Buffer {
                name: name.to_owned(),
                device,
                kind: BufferKind::Model,
                bytes,
            });
        }
    };
    push("CPU_Mapped", Device::Cpu, mapped);
    push(
        if layouts.gpu_backend {
            "CUDA_Host"
        } else {
            "CPU"
        },
        Device::Cpu,
        host_plain,
    );
    push("AMX", Device::Cpu, amx);
    push("CPU_REPACK", Device::Cpu, repack);
    push("CUDA0", Device::Gpu, cuda);
    out.cpu_resident_bytes += amx + repack + host_plain;
    out.gpu_bytes = cuda;
    out
}

/// `(CPU resident bytes, GPU bytes)` of one tensor when a GPU backend is loaded (no extra CPU buffers then):
/// the per-tensor form of [`weight_buffers`] the ILP sums over layer ranges.
pub fn tensor_sizes_with_gpu(tensor: &TensorProfile, mmap: bool) -> (u64, u64) {
    let cpu = if tensor.duplicate && mmap {
        0
    } else if mmap {
        tensor.bytes
    } else {
        align(tensor.bytes, CPU_ALIGN)
    };
    (cpu, align(cuda_alloc_size(tensor), CUDA_ALIGN))
}

fn align(n: u64, a: u64) -> u64 {
    n.div_ceil(a) * a
}

/// `ggml_backend_cuda_buffer_type_get_alloc_size`: quantized tensors get one padded row at the end.
fn cuda_alloc_size(tensor: &TensorProfile) -> u64 {
    let ne0 = tensor.dims.first().copied().unwrap_or(1);
    let quantized = block_info(tensor.type_id).is_some_and(|(b, _)| b > 1);
    if quantized && ne0 % CUDA_ROW_PADDING != 0 {
        tensor.bytes + row_size(tensor.type_id, CUDA_ROW_PADDING - ne0 % CUDA_ROW_PADDING)
    } else {
        tensor.bytes
    }
}

/// The AMX extra buffer's `supports_op` for the loader's probe `mul_mat(w, f32[ne0, 512])`.
fn amx_eligible(tensor: &TensorProfile) -> bool {
    let ne0 = tensor.dims.first().copied().unwrap_or(0);
    let ne1 = tensor.dims.get(1).copied().unwrap_or(0);
    if tensor.dims.len() != 2 || ne1 % 32 != 0 {
        return false;
    }
    let alignment = match tensor.type_id {
        t::Q4_0 | t::Q4_1 | t::Q8_0 => 32,
        t::Q4_K | t::Q5_K | t::Q6_K | t::IQ4_XS => 256,
        t::F16 => 16,
        _ => return false,
    };
    ne0 % alignment == 0
}

/// `ggml_backend_amx_get_alloc_size`: VNNI-packed rows carry extra compensation/scale bytes.
fn amx_alloc_size(tensor: &TensorProfile) -> u64 {
    let ne0 = tensor.dims.first().copied().unwrap_or(0);
    let ne1 = tensor.dims.get(1).copied().unwrap_or(0);
    let Some((block, size)) = block_info(tensor.type_id) else {
        return tensor.bytes;
    };
    if tensor.type_id == t::F16 {
        return tensor.bytes;
    }
    let kb = ne0 / block;
    let mut row = kb * size;
    match tensor.type_id {
        t::Q8_0 => row += kb * 4,
        t::Q4_K | t::Q5_K => row += kb * 4,
        t::IQ4_XS => row += kb * 2,
        _ => {}
    }
    ne1 * row
}

/// `ggml_repack_get_optimal_repack_type` for the instruction sets of the host.
fn repack_eligible(tensor: &TensorProfile, f: &CpuFeatures) -> bool {
    let ne1 = tensor.dims.get(1).copied().unwrap_or(0);
    let rows = |m: u64| ne1 > 0 && ne1 % m == 0;
    // 2-D matrices (MUL_MAT) and 3-D expert stacks (MUL_MAT_ID) only.
    if !(2..=3).contains(&tensor.dims.len()) {
        return false;
    }
    match tensor.type_id {
        t::Q4_0 => (f.avx2 && rows(8)) || (f.neon && rows(4)),
        t::Q4_K => (f.avx2 && rows(8)) || (f.neon && rows(8)),
        t::Q2_K => f.avx512f && rows(8),
        t::IQ4_NL => (f.avx2 && rows(8)) || (f.neon && rows(4)),
        t::MXFP4 => (f.avx2 && rows(8)) || (f.neon && rows(4)),
        t::Q5_K | t::Q6_K => f.neon && rows(8),
        t::Q8_0 => f.neon && rows(4),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::synthetic::SyntheticSpec;

    #[test]
    fn all_gpu_puts_only_the_embedding_on_the_cpu() {
        let m = SyntheticSpec::qwen2_7b_q4_k_m().build();
        let layouts = CpuLayouts::for_host(CpuFeatures::default(), true, true);
        let all = weight_buffers(&m, &Placement::all_gpu(m.hparams.n_layer), &layouts);
        let embd = m
            .tensors
            .iter()
            .find(|t| t.name == "token_embd.weight")
            .unwrap()
            .bytes;
        assert_eq!(all.cpu_resident_bytes, embd);
        assert!(all.gpu_bytes >= m.weight_bytes() - embd);
        let none = weight_buffers(&m, &Placement::cpu_only(m.hparams.n_layer), &layouts);
        assert_eq!(none.gpu_bytes, 0);
        assert_eq!(none.cpu_resident_bytes, m.weight_bytes());
    }

    #[test]
    fn avx2_repacks_q4_k_only() {
        let m = SyntheticSpec::qwen2_7b_q4_k_m().build();
        let f = CpuFeatures {
            avx2: true,
            ..CpuFeatures::default()
        };
        let w = weight_buffers(
            &m,
            &Placement::cpu_only(28),
            &CpuLayouts::for_host(f, false, true),
        );
        let repack = w
            .buffers
            .iter()
            .find(|b| b.name == "CPU_REPACK")
            .unwrap()
            .bytes;
        let q4k_matrices: u64 = m
            .tensors
            .iter()
            .filter(|t| t.type_id == t::Q4_K && t.matmul)
            .map(|t| t.bytes.div_ceil(32) * 32)
            .sum();
        assert_eq!(repack, q4k_matrices);
        // Resident = everything once: repacked copies replace their mapped pages.
        assert_eq!(
            w.cpu_resident_bytes,
            m.weight_bytes() - q4k_matrices + repack
        );
    }
}
