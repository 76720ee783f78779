//! The two hot loops, with an AVX2+FMA path chosen at run time (the crate is built for baseline x86-64,
//! so without this the compiler may only use SSE2): dot products for the semantic index, and
//! `x · Wᵀ` for the embedder's dense layers, which streams each weight row once instead of packing the
//! whole matrix per call (packing dominated for ~20-token inputs).

/// Dot product of two equal-length slices.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above); lengths are equal (asserted).
            return unsafe { x86::dot(a, b) };
        }
    }
    dot_generic(a, b)
}

fn dot_generic(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8;
    for c in 0..chunks {
        for j in 0..8 {
            acc[j] += a[c * 8 + j] * b[c * 8 + j];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for i in chunks * 8..a.len() {
        s += a[i] * b[i];
    }
    s
}

/// `c[m×n] = a[m×k] · wᵀ + bias` with `w` stored [n×k] row-major.
pub(crate) fn matmul_wt(
    a: &[f32],
    m: usize,
    k: usize,
    w: &[f32],
    n: usize,
    bias: &[f32],
    c: &mut [f32],
) {
    assert!(a.len() == m * k && w.len() == n * k && bias.len() == n && c.len() == m * n);
    #[cfg(target_arch = "x86_64")]
    {
        if k % 8 == 0
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: AVX2/FMA present (checked); all slice lengths match the dimensions (asserted above)
            // and k is a multiple of 8, which the kernel's unaligned 8-wide loads rely on.
            unsafe { x86::matmul_wt(a, m, k, w, n, bias, c) };
            return;
        }
    }
    for j in 0..n {
        let wj = &w[j * k..(j + 1) * k];
        for i in 0..m {
            c[i * n + j] = bias[j] + dot_generic(&a[i * k..(i + 1) * k], wj);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum(v: __m256) -> f32 {
        let hi = _mm256_extractf128_ps(v, 1);
        let lo = _mm256_castps256_ps128(v);
        let s = _mm_add_ps(hi, lo);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
        _mm_cvtss_f32(s)
    }

    /// SAFETY (caller): AVX2+FMA available, `a.len() == b.len()`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY: every load reads 8 floats at offset i with i + 8 <= n (loop conditions).
        unsafe {
            while i + 16 <= n {
                acc0 =
                    _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
                acc1 = _mm256_fmadd_ps(
                    _mm256_loadu_ps(pa.add(i + 8)),
                    _mm256_loadu_ps(pb.add(i + 8)),
                    acc1,
                );
                i += 16;
            }
            while i + 8 <= n {
                acc0 =
                    _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
                i += 8;
            }
            let mut s = hsum(_mm256_add_ps(acc0, acc1));
            while i < n {
                s += *pa.add(i) * *pb.add(i);
                i += 1;
            }
            s
        }
    }

    /// SAFETY (caller): AVX2+FMA available; `a` is m×k, `w` n×k, `bias` n, `c` m×n; `k % 8 == 0`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn matmul_wt(
        a: &[f32],
        m: usize,
        k: usize,
        w: &[f32],
        n: usize,
        bias: &[f32],
        c: &mut [f32],
    ) {
        let pa = a.as_ptr();
        let pw = w.as_ptr();
        let mut j = 0;
        // SAFETY: rows i..i+4 < m and j..j+2 < n are in bounds; kk + 8 <= k; output indices < m*n.
        unsafe {
            while j + 2 <= n {
                let w0 = pw.add(j * k);
                let w1 = pw.add((j + 1) * k);
                let mut i = 0;
                while i + 4 <= m {
                    let x = [
                        pa.add(i * k),
                        pa.add((i + 1) * k),
                        pa.add((i + 2) * k),
                        pa.add((i + 3) * k),
                    ];
                    let mut acc = [_mm256_setzero_ps(); 8];
                    let mut kk = 0;
                    while kk < k {
                        let v0 = _mm256_loadu_ps(w0.add(kk));
                        let v1 = _mm256_loadu_ps(w1.add(kk));
                        for r in 0..4 {
                            let xv = _mm256_loadu_ps(x[r].add(kk));
                            acc[2 * r] = _mm256_fmadd_ps(xv, v0, acc[2 * r]);
                            acc[2 * r + 1] = _mm256_fmadd_ps(xv, v1, acc[2 * r + 1]);
                        }
                        kk += 8;
                    }
                    for r in 0..4 {
                        c[(i + r) * n + j] = bias[j] + hsum(acc[2 * r]);
                        c[(i + r) * n + j + 1] = bias[j + 1] + hsum(acc[2 * r + 1]);
                    }
                    i += 4;
                }
                while i < m {
                    let xi = std::slice::from_raw_parts(pa.add(i * k), k);
                    c[i * n + j] = bias[j] + dot(xi, std::slice::from_raw_parts(w0, k));
                    c[i * n + j + 1] = bias[j + 1] + dot(xi, std::slice::from_raw_parts(w1, k));
                    i += 1;
                }
                j += 2;
            }
            while j < n {
                let wj = std::slice::from_raw_parts(pw.add(j * k), k);
                for i in 0..m {
                    c[i * n + j] = bias[j] + dot(std::slice::from_raw_parts(pa.add(i * k), k), wj);
                }
                j += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_paths_agree_with_plain_arithmetic() {
        let k = 40;
        let (m, n) = (7, 5);
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 48.0)
            .collect();
        let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.1).collect();
        let mut c = vec![0.0; m * n];
        matmul_wt(&a, m, k, &w, n, &bias, &mut c);
        for i in 0..m {
            for j in 0..n {
                let want: f32 = bias[j] + (0..k).map(|t| a[i * k + t] * w[j * k + t]).sum::<f32>();
                assert!(
                    (c[i * n + j] - want).abs() < 1e-4,
                    "c[{i}][{j}] = {} want {want}",
                    c[i * n + j]
                );
            }
        }
        let d = dot(&a[..37], &w[..37]);
        let want: f32 = (0..37).map(|t| a[t] * w[t]).sum();
        assert!((d - want).abs() < 1e-4);
    }
}
