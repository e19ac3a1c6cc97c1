//! The seeded generator of every random effect: xoshiro256++ seeded through
//! SplitMix64 (the `rand_xoshiro` crate; both algorithms are fixed by their
//! reference papers, so a seed gives the same bits in every version of the crate),
//! normals by the ziggurat method (Marsaglia and Tsang, 128 layers; one 64-bit
//! draw for most normals). The normals are kept here rather than taken from
//! `rand_distr`: its ziggurat may change between versions (the crate promises
//! value stability only within one), and this one is pinned, so a seed gives the
//! same bits on every platform and in every version of cim (`pinned_bits` below).
//!
//! [`Normals`] draws normals in bulk for the converters' noise, one per converted
//! value: SplitMix64 used as a counter-based generator (word n, from 1, of a stream
//! keyed `k` is SplitMix64's mixing function of `k + n·γ`, no state carried from
//! one word to the next), eight words side by side (a loop the compiler vectorises), two
//! normals from each 64-bit word (7 bits pick the layer, 24 place the point: a step
//! of 2^-23 of a layer's width, far below any noise it models). A stream is a key,
//! so each row of a conversion has its own at the cost of one mixing step, and a
//! row whose draws cannot matter is skipped without moving any other row's draws.

use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::{SplitMix64, Xoshiro256PlusPlus};

/// Layers of the ziggurat.
const LAYERS: usize = 128;
/// Where the tail starts.
const TAIL: f64 = 3.442_619_855_899;
/// The area of each layer (the table [`EDGES`] is derived from it).
#[cfg(test)]
const AREA: f64 = 9.912_563_035_262_17e-3;

/// The layers' right edges `x[0] > x[1] = TAIL > ... > x[128] = 0`; `x[0]` is the
/// width of the base layer's rectangle of the same area as the others. Written out
/// (from `x[i] = sqrt(-2 ln(AREA / x[i-1] + f(x[i-1])))`, `f(x) = exp(-x²/2)`,
/// checked by `edges_follow_from_the_layers_area`): a constant table is read
/// without a call in the normals' loop, and its bits do not depend on the libm of
/// the machine.
#[rustfmt::skip]
const EDGES: [f64; LAYERS + 1] = [
    3.7130862467425505, 3.442619855899, 3.2230849845811416, 3.0832288582168683,
    2.9786962526477803, 2.894344007021529, 2.8231253505489105, 2.761169372387177,
    2.7061135731218195, 2.6564064112613597, 2.6109722484318474, 2.569033625924938,
    2.5300096723888275, 2.493454522095372, 2.4590181774118305, 2.42642064553375,
    2.3954342780110625, 2.3658713701176386, 2.3375752413392368, 2.310413683698763,
    2.2842740596774718, 2.2590595738691985, 2.2346863955909795, 2.2110814088787034,
    2.188180432076049, 2.165926793748922, 2.1442701823603953, 2.1231657086739766,
    2.1025731351892385, 2.082456237992017, 2.0627822745083084, 2.0435215366550676,
    2.0246469733773855, 2.006133869963472, 1.98795957412762, 1.9701032608543265,
    1.9525457295535567, 1.9352692282966228, 1.9182573008645099, 1.901494653105151,
    1.884967035707759, 1.8686611409944887, 1.8525645117280911, 1.836665460258446,
    1.8209529965961255, 1.8054167642192285, 1.7900469825998586, 1.7748343955860695,
    1.7597702248995934, 1.7448461281138004, 1.7300541605637305, 1.7153867407136676,
    1.7008366185699169, 1.6863968467791681, 1.672060754097601, 1.6578219209540241,
    1.6436741568628686, 1.6296114794706347, 1.615628095043161, 1.6017183802213781,
    1.5878768648905761, 1.5740982160230008, 1.560377222366169, 1.5467087798599104,
    1.5330878776740433, 1.5195095847659401, 1.5059690368632033, 1.492461423781354,
    1.4789819769899242, 1.4655259573427108, 1.4520886428892246, 1.4386653166845635,
    1.42525125451406, 1.4118417124470577, 1.3984319141310053, 1.3850170377326518,
    1.3715922024273426, 1.3581524543301435, 1.344692751753547, 1.3312079496656273,
    1.317692783209414, 1.3041418501286168, 1.2905495919261964, 1.2769102735601556,
    1.263217961454621, 1.2494664995730682, 1.2356494832633627, 1.2217602305399964,
    1.2077917504159497, 1.1937367078331287, 1.1795873846639882, 1.1653356361647524,
    1.1509728421488674, 1.1364898520131608, 1.1218769225825422, 1.107123647534036,
    1.0922188769072774, 1.0771506248928957, 1.0619059636948243, 1.0464709007640454,
    1.0308302360681956, 1.0149673952513305, 0.9988642334929836, 0.982500803515429,
    0.9658550794011499, 0.9489026255113064, 0.9316161966151508, 0.9139652510230323,
    0.8959153525809377, 0.8774274291129234, 0.8584568431938132, 0.8389522142975774,
    0.8188539067003573, 0.7980920606440569, 0.7765839878947599, 0.7542306644540556,
    0.7309119106424888, 0.7064796113354365, 0.6807479186691546, 0.6534786387399752,
    0.6243585973360507, 0.5929629424714483, 0.5586921784081852, 0.5206560387620606,
    0.4774378372966898, 0.4265479863554235, 0.36287143109703196, 0.27232086481396467,
    0.0,
];

/// The standard normal's density up to its constant factor.
#[inline]
fn density(x: f64) -> f64 {
    (-0.5 * x * x).exp()
}

/// [`density`] at each of the [`EDGES`], computed once: two of the three
/// exponentials a candidate in a wedge needs.
static DENSITIES: std::sync::LazyLock<[f64; LAYERS + 1]> =
    std::sync::LazyLock::new(|| EDGES.map(density));

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
        let key = SplitMix64::seed_from_u64(seed).next_u64();
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
        let x = &EDGES;
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
        let x = &EDGES;
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
            let densities = &*DENSITIES;
            let (outer, inner) = (densities[layer], densities[layer + 1]);
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

/// Words [`Normals`] makes side by side.
const LANES: usize = 8;
/// Normals a block of [`Normals`] holds: two from each word.
const BLOCK: usize = 2 * LANES;
/// SplitMix64's increment (the golden ratio's fraction, odd).
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output function: a bijection of 64-bit words whose outputs at
/// `k + γ`, `k + 2γ`, ... are SplitMix64's stream seeded with `k`.
#[inline(always)]
fn mix(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The largest magnitude a normal of this module can have: the tail's
/// `TAIL + a` with `a = -ln(1 - u) / TAIL` and `u` at most `1 - 2^-53`
/// (`ln 2^53 = 36.74`), with room for rounding. A conversion whose value is this
/// many standard deviations beyond its converter's top saturates whatever is
/// drawn.
pub const LARGEST_NORMAL: f64 = TAIL + 36.8 / TAIL;

/// Standard normals in bulk ([module docs](self)): the stream of a key. The bits
/// it gives depend only on its key, not on how its draws are split into calls to
/// [`Normals::fill`].
#[derive(Clone, Debug)]
pub struct Normals {
    /// The stream's key.
    key: u64,
    /// Words made so far.
    counter: u64,
    /// Draws the rare candidate outside its layer's rectangle needs (made from the
    /// key when one first does).
    spill: Option<DeviceRng>,
    block: [f64; BLOCK],
    /// How much of `block` holds normals, and how much of it was handed out.
    filled: usize,
    used: usize,
}

impl Normals {
    /// Bulk normals keyed by `rng`'s next draw.
    pub fn new(rng: &mut DeviceRng) -> Self {
        Self::keyed(rng.next_u64())
    }

    /// The normals of stream `key`.
    #[inline]
    pub fn keyed(key: u64) -> Self {
        Self {
            key,
            counter: 0,
            spill: None,
            block: [0.0; BLOCK],
            filled: 0,
            used: 0,
        }
    }

    /// The key of part `part` of the work keyed `key` (a row of a conversion):
    /// SplitMix64's word `part + 1` of `key`, so the parts' streams are unrelated.
    #[inline]
    pub fn part_key(key: u64, part: u64) -> u64 {
        mix(key.wrapping_add(part.wrapping_add(1).wrapping_mul(GOLDEN)))
    }

    /// Writes a normal into every element of `out`. Inlined where it is called
    /// (the ADC's conversions compile it with their AVX2 copy). Normal `2n` and
    /// `2n + 1` of the stream come from its word `n`, whatever the calls.
    #[inline]
    pub fn fill(&mut self, out: &mut [f64]) {
        let mut out = out;
        while !out.is_empty() {
            if self.used == self.filled {
                if out.len() >= BLOCK {
                    // Whole blocks straight into `out`.
                    let (head, rest) = out.split_at_mut(BLOCK);
                    self.next_block(head.try_into().expect("a block"));
                    out = rest;
                    continue;
                }
                // The words the rest needs, not a whole block: a row of a few
                // columns makes no normals it does not use.
                self.short_block(out.len().div_ceil(2));
            }
            let take = (self.filled - self.used).min(out.len());
            let (head, rest) = out.split_at_mut(take);
            head.copy_from_slice(&self.block[self.used..self.used + take]);
            self.used += take;
            out = rest;
        }
    }

    /// The next `words` (fewer than eight) words' normals into `self.block`.
    #[inline(never)]
    fn short_block(&mut self, words: usize) {
        let halves = self.next_words(words);
        let count = 2 * words;
        let mut block = [0.0; BLOCK];
        self.normals_of(&halves[..count], &mut block[..count]);
        self.block = block;
        self.used = 0;
        self.filled = count;
    }

    /// The generator of the rare candidates outside their layer's rectangle.
    fn spill(&mut self) -> &mut DeviceRng {
        let key = self.key;
        self.spill
            .get_or_insert_with(|| DeviceRng::new(mix(key ^ 0x5bd1_e995_5bd1_e995)))
    }

    /// The next eight words, two normals from each.
    #[inline]
    fn next_block(&mut self, out: &mut [f64; BLOCK]) {
        let halves = self.next_words(LANES);
        self.normals_of(&halves, out);
    }

    /// The stream's next `count` (at most eight) words, each split into its two
    /// 32-bit halves.
    #[inline(always)]
    fn next_words(&mut self, count: usize) -> [u32; BLOCK] {
        let base = self.key.wrapping_add(self.counter.wrapping_mul(GOLDEN));
        self.counter = self.counter.wrapping_add(count as u64);
        let mut bits = [0u64; LANES];
        for (lane, bits) in bits.iter_mut().enumerate().take(count) {
            *bits = mix(base.wrapping_add((lane as u64 + 1).wrapping_mul(GOLDEN)));
        }
        let mut halves = [0u32; BLOCK];
        for (pair, bits) in halves.chunks_exact_mut(2).zip(bits) {
            pair[0] = bits as u32;
            pair[1] = (bits >> 32) as u32;
        }
        halves
    }

    /// The normals of `halves` (one each) into `out`: the ziggurat's candidates,
    /// the rare ones outside their layer's rectangle finished in order.
    #[inline(always)]
    fn normals_of(&mut self, halves: &[u32], out: &mut [f64]) {
        let mut inside = true;
        for (normal, &half) in out.iter_mut().zip(halves) {
            let (candidate, edge) = candidate(half);
            *normal = candidate;
            inside &= candidate.abs() < edge;
        }
        if !inside {
            self.finish_block(halves, out);
        }
    }

    /// The candidates in `out` outside their layer's rectangle (1.2% of them),
    /// finished as [`DeviceRng::normal`] finishes them.
    #[cold]
    #[inline(never)]
    fn finish_block(&mut self, halves: &[u32], out: &mut [f64]) {
        // `out` holds the candidates: only their layers' edges are looked up again.
        for (normal, &half) in out.iter_mut().zip(halves) {
            let layer = (half & (LAYERS as u32 - 1)) as usize;
            if normal.abs() >= EDGES[layer + 1] {
                let (layer, u) = point(half);
                *normal = self.spill().normal_beyond(layer, u, *normal);
            }
        }
    }
}

/// The ziggurat's candidate from 32 random bits (the low 7 pick a layer, the top
/// 24 a point across it) and the edge under which it is accepted at once.
#[inline(always)]
fn candidate(word: u32) -> (f64, f64) {
    let (layer, u) = point(word);
    (u * EDGES[layer], EDGES[layer + 1])
}

/// The layer and the point across it (in [-1, 1)) that 32 random bits pick.
#[inline(always)]
fn point(word: u32) -> (usize, f64) {
    let layer = (word & (LAYERS as u32 - 1)) as usize;
    (
        layer,
        2.0 * (f64::from(word >> 8) * (1.0 / (1u32 << 24) as f64)) - 1.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINNED_KEY_1: [u64; 3] = [0x3fbb6112029e538e, 0x3fbe8847cf4063ae, 0xbfc9fa9fec2257c7];
    const PINNED_PART_2: [u64; 3] = [0xbfffa2354f2a8e5e, 0x3fe7d6b9dacf7062, 0x3fcd4b087dc9d49f];

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
    fn bulk_normals_do_not_depend_on_how_they_are_split() {
        let mut whole = vec![0.0; 1000];
        Normals::new(&mut DeviceRng::new(5)).fill(&mut whole);
        let mut pieces = vec![0.0; 1000];
        let mut normals = Normals::new(&mut DeviceRng::new(5));
        let mut rest = pieces.as_mut_slice();
        for size in [1, 15, 16, 17, 3, 100, 33].into_iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (head, tail) = rest.split_at_mut(size.min(rest.len()));
            normals.fill(head);
            rest = tail;
        }
        assert_eq!(
            whole.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            pieces.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        let mut other = vec![0.0; 1000];
        Normals::new(&mut DeviceRng::new(6)).fill(&mut other);
        assert_ne!(whole, other);
    }

    /// The tail's largest value (its uniform draws at `1 - 2^-53`) is below
    /// [`LARGEST_NORMAL`], and so is every normal of a long bulk stream.
    #[test]
    fn largest_normal_bounds_every_normal() {
        let uniform_top = ((1u64 << 53) - 1) as f64 * (1.0 / (1u64 << 53) as f64);
        let a = -(1.0 - uniform_top).ln() / TAIL;
        assert!(
            TAIL + a <= LARGEST_NORMAL,
            "{} > {LARGEST_NORMAL}",
            TAIL + a
        );
        assert!(LARGEST_NORMAL < TAIL + a + 0.05, "a tight bound");
        let mut draws = vec![0.0; 1 << 20];
        Normals::keyed(3).fill(&mut draws);
        assert!(draws.iter().all(|x| x.abs() <= LARGEST_NORMAL));
    }

    /// A stream is its key: the first normals of key 1 and of part 2 of key 1 are
    /// those of cim's first counter-based version (figures measured since depend
    /// on them), and parts of one key differ.
    #[test]
    fn bulk_normals_are_pinned_by_their_key() {
        let first = |key: u64| {
            let mut draws = [0.0; 3];
            Normals::keyed(key).fill(&mut draws);
            draws.map(f64::to_bits)
        };
        assert_eq!(first(1), PINNED_KEY_1);
        assert_eq!(first(Normals::part_key(1, 2)), PINNED_PART_2);
        assert_ne!(first(Normals::part_key(1, 3)), PINNED_PART_2);
    }

    #[test]
    fn edges_follow_from_the_layers_area() {
        assert!((EDGES[0] - AREA / density(TAIL)).abs() < 1e-14 * EDGES[0]);
        assert_eq!(EDGES[1], TAIL);
        for i in 2..LAYERS {
            let edge = (-2.0 * (AREA / EDGES[i - 1] + density(EDGES[i - 1])).ln()).sqrt();
            assert!(
                (EDGES[i] - edge).abs() < 1e-14,
                "layer {i}: {} vs {edge}",
                EDGES[i]
            );
        }
        assert_eq!(EDGES[LAYERS], 0.0);
    }

    #[test]
    fn normals_have_the_moments_and_tails_of_a_gaussian() {
        let n = 1_000_000;
        let mut rng = DeviceRng::new(1);
        let one_by_one: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let mut in_bulk = vec![0.0; n];
        Normals::new(&mut DeviceRng::new(1)).fill(&mut in_bulk);
        for samples in [one_by_one, in_bulk] {
            gaussian(&samples);
        }
    }

    /// Asserts that `samples` have the moments and the tails of a standard normal.
    fn gaussian(samples: &[f64]) {
        let n = samples.len();
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
