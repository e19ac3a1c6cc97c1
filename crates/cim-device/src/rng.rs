//! The seeded generator of every random effect: xoshiro256++ seeded through
//! SplitMix64 (the `rand_xoshiro` crate; both algorithms are fixed by their
//! reference papers, so a seed gives the same bits in every version of the crate),
//! normals by the ziggurat method (Marsaglia and Tsang, 128 layers; one 64-bit
//! draw for most normals). The normals are kept here rather than taken from
//! `rand_distr`: its ziggurat may change between versions (the crate promises
//! value stability only within one), and this one is pinned, so a seed gives the
//! same bits on every platform and in every version of cim (`pinned_bits` below).

use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use std::sync::OnceLock;

/// Layers of the ziggurat.
const LAYERS: usize = 128;
/// Where the tail starts.
const TAIL: f64 = 3.442_619_855_899;
/// The area of each layer.
const AREA: f64 = 9.912_563_035_262_17e-3;

/// The layers' right edges `x[0] > x[1] = TAIL > ... > x[128] = 0`; `x[0]` is the
/// width of the base layer's rectangle of the same area as the others.
fn edges() -> &'static [f64; LAYERS + 1] {
    static EDGES: OnceLock<[f64; LAYERS + 1]> = OnceLock::new();
    EDGES.get_or_init(|| {
        let density = |x: f64| (-0.5 * x * x).exp();
        let mut x = [0.0; LAYERS + 1];
        x[0] = AREA / density(TAIL);
        x[1] = TAIL;
        for i in 2..LAYERS {
            x[i] = (-2.0 * (AREA / x[i - 1] + density(x[i - 1])).ln()).sqrt();
        }
        x[LAYERS] = 0.0;
        x
    })
}

/// A deterministic random source.
#[derive(Clone, Debug)]
pub struct DeviceRng {
    bits: Xoshiro256PlusPlus,
    /// What its forks derive from: a word of the seeded state (SplitMix64's first
    /// output, the generator's first state word), fixed at seeding, so a fork
    /// does not depend on how much was drawn before it.
    key: u64,
}

impl DeviceRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        let key = {
            let z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Self {
            bits: Xoshiro256PlusPlus::seed_from_u64(seed),
            key,
        }
    }

    /// An independent generator for part `stream` of this one's work (a chip, an
    /// array): the same stream of the same seed always gives the same draws.
    pub fn fork(&self, stream: u64) -> Self {
        Self::new(self.key ^ stream.wrapping_mul(0xd134_2543_de82_ef95))
    }

    /// 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.bits.next_u64()
    }

    /// Uniform in [0, 1), 53 bits.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal. The common case (a point inside a layer's rectangle, 98.8%
    /// of draws) is inlined into the caller's loop; the rest is out of line.
    #[inline]
    pub fn normal(&mut self) -> f64 {
        let x = edges();
        let bits = self.next_u64();
        // The low 7 bits pick a layer, the top 53 a point across it.
        let layer = (bits & (LAYERS as u64 - 1)) as usize;
        let u = 2.0 * ((bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)) - 1.0;
        let candidate = u * x[layer];
        // Inside the part of the layer that lies under the curve: accepted.
        if candidate.abs() < x[layer + 1] {
            return candidate;
        }
        self.normal_beyond(layer, u, candidate)
    }

    /// The rest of [`Self::normal`]: the tail, the wedge, or a fresh draw.
    #[cold]
    #[inline(never)]
    fn normal_beyond(&mut self, mut layer: usize, mut u: f64, mut candidate: f64) -> f64 {
        let x = edges();
        loop {
            if layer == 0 {
                // The tail beyond TAIL (Marsaglia's method).
                loop {
                    let a = -(1.0 - self.uniform()).ln() / TAIL;
                    let b = -(1.0 - self.uniform()).ln();
                    if 2.0 * b > a * a {
                        return if u > 0.0 { TAIL + a } else { -(TAIL + a) };
                    }
                }
            }
            // The wedge between the layer's inner and outer edges.
            let density = |v: f64| (-0.5 * v * v).exp();
            let (outer, inner) = (density(x[layer]), density(x[layer + 1]));
            if outer + self.uniform() * (inner - outer) < density(candidate) {
                return candidate;
            }
            let bits = self.next_u64();
            layer = (bits & (LAYERS as u64 - 1)) as usize;
            u = 2.0 * ((bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)) - 1.0;
            candidate = u * x[layer];
            if candidate.abs() < x[layer + 1] {
                return candidate;
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

    /// The bits of a seed, its draws, its normals and its forks are those of the
    /// generator's first version (hand-written xoshiro256++ and SplitMix64):
    /// every figure measured so far depends on them.
    #[test]
    fn pinned_bits() {
        for (seed, expected) in [
            (
                0,
                [
                    0x53175d61490b23df,
                    0x61da6f3dc380d507,
                    0xef0f33a9b92e4fa3,
                    0xbfc1287d13e44cda,
                ],
            ),
            (
                7,
                [
                    0x0e2c1a002aae913d,
                    0x2c0fc8ddfa4e9e14,
                    0xc0b5602afe6fe35e,
                    0x3fd5a0aeb133263d,
                ],
            ),
            (
                u64::MAX,
                [
                    0x56ccf8ce948e27b2,
                    0xe68588432e5a5b90,
                    0xece18dbdd58dedb4,
                    0x40000adfef261e8c,
                ],
            ),
        ] {
            let mut a = DeviceRng::new(seed);
            let drawn = [a.next_u64(), a.next_u64()];
            // A fork of a generator that has drawn is the fork of a fresh one.
            let fork = a.fork(3).next_u64();
            assert_eq!(fork, DeviceRng::new(seed).fork(3).next_u64());
            let normal = a.normal().to_bits();
            assert_eq!([drawn[0], drawn[1], fork, normal], expected, "seed {seed}");
        }
    }

    #[test]
    fn normals_have_the_moments_and_tails_of_a_gaussian() {
        let mut rng = DeviceRng::new(1);
        let n = 1_000_000;
        let samples: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let moment = |k: i32| samples.iter().map(|x| x.powi(k)).sum::<f64>() / n as f64;
        assert!(moment(1).abs() < 0.005, "mean {}", moment(1));
        assert!((moment(2) - 1.0).abs() < 0.005, "variance {}", moment(2));
        assert!(moment(3).abs() < 0.02, "skewness {}", moment(3));
        assert!((moment(4) - 3.0).abs() < 0.05, "kurtosis {}", moment(4));
        // P(|x| > 2) = 0.04550, P(|x| > 3.5) = 4.653e-4 (beyond the ziggurat's base).
        let beyond = |t: f64| samples.iter().filter(|x| x.abs() > t).count() as f64 / n as f64;
        assert!((beyond(2.0) - 0.04550).abs() < 0.001, "{}", beyond(2.0));
        assert!((beyond(3.5) - 4.653e-4).abs() < 0.0001, "{}", beyond(3.5));
    }
}
