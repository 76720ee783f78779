//! Numeric kernels of the forward pass: matrix multiply with a transposed weight, layer norm, exact GELU,
//! softmax. Weights are stored as PyTorch writes them ([out, in], row-major); `matmul_wt` reads them
//! transposed through strides, so no copy is made.

pub(crate) use crate::simd::matmul_wt;

/// `c[m×n] = a[m×k] · b[n×k]ᵀ` for row-major slices with explicit row strides (attention scores).
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_strided(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    a_row: usize,
    b: &[f32],
    b_row: usize,
    b_transposed: bool,
    c: &mut [f32],
) {
    assert!(a.len() >= (m - 1) * a_row + k);
    if b_transposed {
        assert!(b.len() >= (n - 1) * b_row + k);
    } else {
        assert!(b.len() >= (k - 1) * b_row + n);
    }
    assert!(c.len() >= m * n);
    let (rsb, csb) = if b_transposed {
        (1, b_row as isize)
    } else {
        (b_row as isize, 1)
    };
    // SAFETY: bounds asserted above for every element the strides address.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            a_row as isize,
            1,
            b.as_ptr(),
            rsb,
            csb,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// In-place layer norm of each row of width `w.len()`.
pub(crate) fn layer_norm(x: &mut [f32], w: &[f32], b: &[f32], eps: f32) {
    let d = w.len();
    for row in x.chunks_exact_mut(d) {
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / d as f64;
        let var = row
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / d as f64;
        let inv = 1.0 / (var + f64::from(eps)).sqrt();
        for ((v, g), bb) in row.iter_mut().zip(w).zip(b) {
            *v = ((f64::from(*v) - mean) * inv) as f32 * g + bb;
        }
    }
}

/// Exact GELU, `x/2 · (1 + erf(x/√2))`, as BERT uses.
pub(crate) fn gelu(x: &mut [f32]) {
    for v in x {
        let xf = f64::from(*v);
        *v = (0.5 * xf * (1.0 + erf(xf / std::f64::consts::SQRT_2))) as f32;
    }
}

/// erf with |error| < 1.2e-7 (Numerical Recipes' erfc Chebyshev fit).
pub(crate) fn erf(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { 1.0 - r } else { r - 1.0 }
}

/// In-place softmax of a row.
pub(crate) fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in row.iter_mut() {
        *v /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in [
            (0.0, 0.0),
            (0.5, 0.520_499_877_8),
            (1.0, 0.842_700_792_9),
            (-2.0, -0.995_322_265),
        ] {
            assert!((erf(x) - want).abs() < 2e-7, "erf({x}) = {}", erf(x));
        }
    }

    #[test]
    fn matmul_with_transposed_weights() {
        // a = [[1,2],[3,4]], w = [[1,0],[0,1],[1,1]] (3 outputs), bias = [0, 1, 2]
        let mut c = vec![0.0; 6];
        matmul_wt(
            &[1.0, 2.0, 3.0, 4.0],
            2,
            2,
            &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0],
            3,
            &[0.0, 1.0, 2.0],
            &mut c,
        );
        assert_eq!(c, vec![1.0, 3.0, 5.0, 3.0, 5.0, 9.0]);
    }

    #[test]
    fn layer_norm_and_softmax() {
        let mut x = vec![1.0, 3.0];
        layer_norm(&mut x, &[1.0, 1.0], &[0.0, 0.0], 1e-12);
        assert!((x[0] + 1.0).abs() < 1e-5 && (x[1] - 1.0).abs() < 1e-5);
        let mut r = vec![0.0, 0.0];
        softmax(&mut r);
        assert_eq!(r, vec![0.5, 0.5]);
    }
}
