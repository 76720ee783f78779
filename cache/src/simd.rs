//! The two hot loops, with AVX-512 / AVX2+FMA paths chosen at run time (the crate is built for baseline
//! x86-64, so the compiler alone would use SSE2): dot products for the semantic index, and the embedder's
//! dense layers against pre-transposed weights. A general sgemm (matrixmultiply) packs the whole weight
//! matrix on every call, which dominated (~50 % of the time, measured with perf) for ~20-token inputs.

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

/// Dot product of int8 codes with an f32 vector (the semantic index scan; multiply by the row's scale).
pub(crate) fn dot_i8(codes: &[i8], q: &[f32]) -> f32 {
    assert_eq!(codes.len(), q.len());
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: AVX2 and FMA present (checked); equal lengths (asserted).
            return unsafe { x86::dot_i8(codes, q) };
        }
    }
    codes.iter().zip(q).map(|(&c, &x)| f32::from(c) * x).sum()
}

/// `c[m×n] = a[m×k] · wt + bias` with `wt` stored **transposed**, [k×n] row-major (the embedder
/// transposes its weights once at load). Each output row is a sum of weight rows scaled by the inputs,
/// so the kernels keep whole output vectors in registers and need no horizontal sums or packing.
pub(crate) fn matmul_t(
    a: &[f32],
    m: usize,
    k: usize,
    wt: &[f32],
    n: usize,
    bias: &[f32],
    c: &mut [f32],
) {
    assert!(a.len() == m * k && wt.len() == k * n && bias.len() == n && c.len() == m * n);
    #[cfg(target_arch = "x86_64")]
    {
        if n.is_multiple_of(64) && std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F present (checked); lengths match the dimensions (asserted); n % 64 == 0 as
            // the kernel's 4×16-wide column blocks require.
            unsafe { x86::matmul_t_avx512(a, m, k, wt, n, bias, c) };
            return;
        }
        if n.is_multiple_of(16)
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: AVX2/FMA present (checked); lengths asserted; n % 16 == 0 for 2×8-wide blocks.
            unsafe { x86::matmul_t_avx2(a, m, k, wt, n, bias, c) };
            return;
        }
    }
    for i in 0..m {
        let ci = &mut c[i * n..(i + 1) * n];
        ci.copy_from_slice(bias);
        for kk in 0..k {
            let x = a[i * k + kk];
            for (o, w) in ci.iter_mut().zip(&wt[kk * n..(kk + 1) * n]) {
                *o += x * w;
            }
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

    /// SAFETY (caller): AVX2+FMA available, `codes.len() == q.len()`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot_i8(codes: &[i8], q: &[f32]) -> f32 {
        let n = codes.len();
        let (pc, pq) = (codes.as_ptr(), q.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY: each iteration reads 16 codes and 16 floats at offset i with i + 16 <= n.
        unsafe {
            while i + 16 <= n {
                let c16 = _mm_loadu_si128(pc.add(i) as *const __m128i);
                let lo = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(c16));
                let hi = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(c16, 8)));
                acc0 = _mm256_fmadd_ps(lo, _mm256_loadu_ps(pq.add(i)), acc0);
                acc1 = _mm256_fmadd_ps(hi, _mm256_loadu_ps(pq.add(i + 8)), acc1);
                i += 16;
            }
            let mut s = hsum(_mm256_add_ps(acc0, acc1));
            while i < n {
                s += f32::from(*pc.add(i)) * *pq.add(i);
                i += 1;
            }
            s
        }
    }

    /// One block: rows `i..i+R`, columns `j..j+64`, full k. SAFETY (caller): AVX-512F; bounds as in
    /// `matmul_t_avx512`.
    #[allow(clippy::too_many_arguments)] // raw pointers + block origin; internal to the kernel
    #[target_feature(enable = "avx512f")]
    unsafe fn block512<const R: usize>(
        pa: *const f32,
        k: usize,
        pw: *const f32,
        n: usize,
        pb: *const f32,
        pc: *mut f32,
        i: usize,
        j: usize,
    ) {
        // SAFETY: rows i..i+R < m, columns j..j+64 <= n, kk < k: every address is inside a, wt, bias, c.
        unsafe {
            let mut acc = [[_mm512_setzero_ps(); 4]; R];
            for row in acc.iter_mut() {
                for (c, v) in row.iter_mut().enumerate() {
                    *v = _mm512_loadu_ps(pb.add(j + 16 * c));
                }
            }
            for kk in 0..k {
                let wrow = pw.add(kk * n + j);
                let w = [
                    _mm512_loadu_ps(wrow),
                    _mm512_loadu_ps(wrow.add(16)),
                    _mm512_loadu_ps(wrow.add(32)),
                    _mm512_loadu_ps(wrow.add(48)),
                ];
                for (r, row) in acc.iter_mut().enumerate() {
                    let x = _mm512_set1_ps(*pa.add((i + r) * k + kk));
                    for c in 0..4 {
                        row[c] = _mm512_fmadd_ps(x, w[c], row[c]);
                    }
                }
            }
            for (r, row) in acc.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    _mm512_storeu_ps(pc.add((i + r) * n + j + 16 * c), *v);
                }
            }
        }
    }

    /// SAFETY (caller): AVX-512F available; `a` m×k, `wt` k×n, `bias` n, `c` m×n; `n % 64 == 0`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn matmul_t_avx512(
        a: &[f32],
        m: usize,
        k: usize,
        wt: &[f32],
        n: usize,
        bias: &[f32],
        c: &mut [f32],
    ) {
        let (pa, pw, pb, pc) = (a.as_ptr(), wt.as_ptr(), bias.as_ptr(), c.as_mut_ptr());
        let mut j = 0;
        while j < n {
            let mut i = 0;
            // SAFETY: i + R <= m and j + 64 <= n in every call (loop conditions; n % 64 == 0).
            unsafe {
                while i + 4 <= m {
                    block512::<4>(pa, k, pw, n, pb, pc, i, j);
                    i += 4;
                }
                match m - i {
                    3 => block512::<3>(pa, k, pw, n, pb, pc, i, j),
                    2 => block512::<2>(pa, k, pw, n, pb, pc, i, j),
                    1 => block512::<1>(pa, k, pw, n, pb, pc, i, j),
                    _ => {}
                }
            }
            j += 64;
        }
    }

    /// One block of rows `i..i+R`, columns `j..j+16`. SAFETY (caller): AVX2+FMA; bounds as in
    /// `matmul_t_avx2`.
    #[allow(clippy::too_many_arguments)] // raw pointers + block origin; internal to the kernel
    #[target_feature(enable = "avx2,fma")]
    unsafe fn block256<const R: usize>(
        pa: *const f32,
        k: usize,
        pw: *const f32,
        n: usize,
        pb: *const f32,
        pc: *mut f32,
        i: usize,
        j: usize,
    ) {
        // SAFETY: rows i..i+R < m, columns j..j+16 <= n, kk < k: every address is in bounds.
        unsafe {
            let mut acc = [[_mm256_setzero_ps(); 2]; R];
            for row in acc.iter_mut() {
                row[0] = _mm256_loadu_ps(pb.add(j));
                row[1] = _mm256_loadu_ps(pb.add(j + 8));
            }
            for kk in 0..k {
                let wrow = pw.add(kk * n + j);
                let (w0, w1) = (_mm256_loadu_ps(wrow), _mm256_loadu_ps(wrow.add(8)));
                for (r, row) in acc.iter_mut().enumerate() {
                    let x = _mm256_set1_ps(*pa.add((i + r) * k + kk));
                    row[0] = _mm256_fmadd_ps(x, w0, row[0]);
                    row[1] = _mm256_fmadd_ps(x, w1, row[1]);
                }
            }
            for (r, row) in acc.iter().enumerate() {
                _mm256_storeu_ps(pc.add((i + r) * n + j), row[0]);
                _mm256_storeu_ps(pc.add((i + r) * n + j + 8), row[1]);
            }
        }
    }

    /// SAFETY (caller): AVX2+FMA available; `a` m×k, `wt` k×n, `bias` n, `c` m×n; `n % 16 == 0`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn matmul_t_avx2(
        a: &[f32],
        m: usize,
        k: usize,
        wt: &[f32],
        n: usize,
        bias: &[f32],
        c: &mut [f32],
    ) {
        let (pa, pw, pb, pc) = (a.as_ptr(), wt.as_ptr(), bias.as_ptr(), c.as_mut_ptr());
        let mut j = 0;
        while j < n {
            let mut i = 0;
            // SAFETY: i + R <= m and j + 16 <= n in every call.
            unsafe {
                while i + 4 <= m {
                    block256::<4>(pa, k, pw, n, pb, pc, i, j);
                    i += 4;
                }
                match m - i {
                    3 => block256::<3>(pa, k, pw, n, pb, pc, i, j),
                    2 => block256::<2>(pa, k, pw, n, pb, pc, i, j),
                    1 => block256::<1>(pa, k, pw, n, pb, pc, i, j),
                    _ => {}
                }
            }
            j += 16;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn simd_paths_agree_with_plain_arithmetic() {
        let k = 40;
        for (m, n) in [(7, 128), (4, 64), (1, 16), (3, 20)] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
                .collect();
            let w: Vec<f32> = (0..n * k)
                .map(|i| ((i * 53 % 97) as f32 - 48.0) / 48.0)
                .collect(); // [n×k]
            let mut wt = vec![0.0; k * n];
            for j in 0..n {
                for t in 0..k {
                    wt[t * n + j] = w[j * k + t];
                }
            }
            let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.1).collect();
            let mut c = vec![0.0; m * n];
            matmul_t(&a, m, k, &wt, n, &bias, &mut c);
            for i in 0..m {
                for j in 0..n {
                    let want: f32 =
                        bias[j] + (0..k).map(|t| a[i * k + t] * w[j * k + t]).sum::<f32>();
                    assert!(
                        (c[i * n + j] - want).abs() < 1e-4,
                        "{m}x{n}: c[{i}][{j}] = {} want {want}",
                        c[i * n + j]
                    );
                }
            }
        }
        let a: Vec<f32> = (0..37).map(|i| i as f32 / 37.0).collect();
        let b: Vec<f32> = (0..37).map(|i| 1.0 - i as f32 / 37.0).collect();
        let want: f32 = (0..37).map(|t| a[t] * b[t]).sum();
        assert!((dot(&a, &b) - want).abs() < 1e-4);
    }
}
