//! The seeded generator of every random effect: xoshiro256++ seeded through
//! SplitMix64, normals by the ziggurat method (Marsaglia and Tsang, 128 layers;
//! one 64-bit draw for most normals). Both are fixed here (not taken from a crate
//! whose algorithm may change), so a seed gives the same bits on every platform and
//! in every version of cim.

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
    state: [u64; 4],
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
        }
    }

    /// An independent generator for part `stream` of this one's work (a chip, an
    /// array): the same stream of the same seed always gives the same draws.
    pub fn fork(&self, stream: u64) -> Self {
        Self::new(self.state[0] ^ stream.wrapping_mul(0xd134_2543_de82_ef95))
    }

    /// 64 random bits.
    #[inline]
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
