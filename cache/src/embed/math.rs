//! Numeric kernels of the forward pass: dense layers (`x · Wᵀ` against weights transposed once at load,
//! in `crate::simd`), one attention head, layer norm, GELU, softmax.

/// PyTorch's [out × in] row-major weight → [in × out] row-major.
pub(crate) fn transpose(w: &[f32], out: usize, inp: usize) -> Vec<f32> {
    let mut t = vec![0f32; w.len()];
    for o in 0..out {
        for i in 0..inp {
            t[i * out + o] = w[o * inp + i];
        }
    }
    t
}

use crate::simd::dot;
pub(crate) use crate::simd::matmul_t;

/// One attention head over `t` tokens: `out[t×d] = softmax(q·kᵀ · scale) · v`, where q, k, v are
/// `d`-wide column blocks of rows with stride `row` (the fused QKV activations), `scores` is t×t scratch.
#[allow(clippy::too_many_arguments)]
pub(crate) fn attention_head(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    row: usize,
    t: usize,
    d: usize,
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
) {
    for i in 0..t {
        let qi = &q[i * row..i * row + d];
        let s = &mut scores[i * t..(i + 1) * t];
        for (j, sj) in s.iter_mut().enumerate() {
            *sj = dot(qi, &k[j * row..j * row + d]) * scale;
        }
        softmax(s);
        let o = &mut out[i * d..(i + 1) * d];
        o.iter_mut().for_each(|x| *x = 0.0);
        for (j, &p) in s.iter().enumerate() {
            let vj = &v[j * row..j * row + d];
            for (x, &y) in o.iter_mut().zip(vj) {
                *x += p * y;
            }
        }
    }
}

/// In-place layer norm of each row of width `w.len()` (statistics in f64).
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

/// GELU with erf, as BERT uses (`x/2 · (1 + erf(x/√2))`), in f32 with a 1.5e-7 erf approximation:
/// ~184k evaluations per sentence, so this must be cheap.
pub(crate) fn gelu(x: &mut [f32]) {
    for v in x {
        *v = 0.5 * *v * (1.0 + erf_f32(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// erf, Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7).
pub(crate) fn erf_f32(x: f32) -> f32 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let r = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 { r } else { -r }
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in [
            (0.0f32, 0.0f32),
            (0.5, 0.520_499_9),
            (1.0, 0.842_700_8),
            (-2.0, -0.995_322_3),
            (3.5, 0.999_999_3),
        ] {
            assert!(
                (erf_f32(x) - want).abs() < 1e-6,
                "erf({x}) = {}",
                erf_f32(x)
            );
        }
    }

    #[test]
    fn matmul_with_transposed_weights() {
        // a = [[1,2],[3,4]], w = [[1,0],[0,1],[1,1]] (3 outputs × 2 inputs), bias = [0, 1, 2]
        let wt = transpose(&[1.0, 0.0, 0.0, 1.0, 1.0, 1.0], 3, 2);
        let mut c = vec![0.0; 6];
        matmul_t(
            &[1.0, 2.0, 3.0, 4.0],
            2,
            2,
            &wt,
            3,
            &[0.0, 1.0, 2.0],
            &mut c,
        );
        assert_eq!(c, vec![1.0, 3.0, 5.0, 3.0, 5.0, 9.0]);
    }

    #[test]
    fn attention_head_on_two_tokens() {
        // identical keys: uniform attention, output = mean of values
        let qkv = [1.0, 1.0, 2.0, 0.0, /* row 2 */ 1.0, 1.0, 4.0, 2.0];
        let (mut scores, mut out) = (vec![0.0; 4], vec![0.0; 4]);
        attention_head(
            &qkv[0..],
            &qkv[1..],
            &qkv[2..],
            4,
            2,
            1,
            1.0,
            &mut scores,
            &mut out,
        );
        // d = 1: q = col 0, k = col 1, v = col 2 → v mean = 3
        assert!(
            (out[0] - 3.0).abs() < 1e-6 && (out[1] - 3.0).abs() < 1e-6,
            "{out:?}"
        );
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
