//! What several test binaries share. Each binary uses part of it.
#![allow(dead_code)]

use proptest::prelude::ProptestConfig;

/// A proptest configuration with a fixed seed: every run (and CI) tries the same
/// cases, so a failure reproduces.
pub fn seeded(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x00C1_3E5E_ED00),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Small signed integers from a seed (xorshift64): test data whose products and
/// sums are exact in floating point.
pub struct Ints(u64);

impl Ints {
    /// The generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// An integer in `-span..=span`.
    pub fn next(&mut self, span: i32) -> i32 {
        let state = &mut self.0;
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        (*state % (2 * span as u64 + 1)) as i32 - span
    }
}
