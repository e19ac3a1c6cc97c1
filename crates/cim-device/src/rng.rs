//! The seeded generator of every random effect: xoshiro256++ seeded through
//! SplitMix64, normals by Marsaglia's polar method. Both are fixed here (not taken
//! from a crate whose algorithm may change), so a seed gives the same bits on every
//! platform and in every version of cim.

/// A deterministic random source.
#[derive(Clone, Debug)]
pub struct DeviceRng {
    state: [u64; 4],
    /// The second normal of the last pair.
    spare: Option<f64>,
}

impl DeviceRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        let mut mix = seed;
        let mut next = || {
            mix = mix.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = mix;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Self {
            state: [next(), next(), next(), next()],
            spare: None,
        }
    }

    /// An independent generator for part `stream` of this one's work (a chip, an
    /// array): the same stream of the same seed always gives the same draws.
    pub fn fork(&self, stream: u64) -> Self {
        Self::new(self.state[0] ^ stream.wrapping_mul(0xd134_2543_de82_ef95))
    }

    /// 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal.
    pub fn normal(&mut self) -> f64 {
        if let Some(value) = self.spare.take() {
            return value;
        }
        // A point uniform in the unit disc (not its centre) gives two normals with
        // one logarithm and one square root, no trigonometry.
        loop {
            let u = 2.0 * self.uniform() - 1.0;
            let v = 2.0 * self.uniform() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let factor = (-2.0 * s.ln() / s).sqrt();
                self.spare = Some(v * factor);
                return u * factor;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bits_and_streams_differ() {
        let (mut a, mut b) = (DeviceRng::new(7), DeviceRng::new(7));
        for _ in 0..100 {
            assert_eq!(a.normal().to_bits(), b.normal().to_bits());
        }
        let (mut c, mut d) = (DeviceRng::new(7).fork(1), DeviceRng::new(7).fork(2));
        assert_ne!(c.next_u64(), d.next_u64());
    }

    #[test]
    fn normals_have_zero_mean_and_unit_variance() {
        let mut rng = DeviceRng::new(1);
        let n = 200_000;
        let samples: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let mean = samples.iter().sum::<f64>() / n as f64;
        let variance = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((variance - 1.0).abs() < 0.01, "{variance}");
    }
}
