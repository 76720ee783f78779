//! Deterministic pseudo-random numbers for synthetic weights: SplitMix64, seeded per (seed, tensor, chunk).
//!
//! Why not the `rand` crate: the streams must never change under a dependency bump (a test or a benchmark
//! that regenerates "the same" model must get the same bytes), and seeding each chunk of each tensor from its
//! own key is what lets chunks be generated on any number of threads with identical output. SplitMix64 is
//! ten lines, passes BigCrush, and is what `rand` itself uses to expand seeds.

/// SplitMix64 (Steele, Lea, Flood 2014).
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator from a 64-bit seed.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator for one chunk of one tensor: the same (seed, name, chunk) always gives the same stream,
    /// whatever order chunks are generated in.
    pub fn for_chunk(seed: u64, name: &str, chunk: u64) -> Self {
        let mut h = Self::new(seed ^ fnv1a(name.as_bytes()));
        let a = h.next_u64();
        Self::new(a ^ chunk.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float uniform in `[-1, 1)`.
    pub fn next_signed_unit(&mut self) -> f32 {
        // 24 random bits: exactly representable in f32.
        let bits = (self.next_u64() >> 40) as u32;
        (bits as f32) * (2.0 / 16_777_216.0) - 1.0
    }

    /// Fills `out` with floats uniform in `[-amplitude, amplitude)`.
    pub fn fill_uniform(&mut self, out: &mut [f32], amplitude: f32) {
        for x in out {
            *x = self.next_signed_unit() * amplitude;
        }
    }
}

/// FNV-1a, to turn a tensor name into part of a seed.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_distinct_and_in_range() {
        let a: Vec<u64> = {
            let mut r = SplitMix64::for_chunk(1, "blk.0.attn_q.weight", 3);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = SplitMix64::for_chunk(1, "blk.0.attn_q.weight", 3);
            (0..4).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        let mut other = SplitMix64::for_chunk(1, "blk.0.attn_k.weight", 3);
        assert_ne!(a[0], other.next_u64());
        let mut r = SplitMix64::new(7);
        let mut v = vec![0.0; 10_000];
        r.fill_uniform(&mut v, 0.5);
        assert!(v.iter().all(|x| (-0.5..0.5).contains(x)));
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        assert!(mean.abs() < 0.02, "mean {mean}");
    }
}
