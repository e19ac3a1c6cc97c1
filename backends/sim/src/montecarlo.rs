//! Monte Carlo over chips: a design's prediction is a distribution, one sample per
//! programmed chip. Chip `i` of a run seeded `seed` is seeded `seed + i`, so any
//! chip can be reproduced alone.

/// The seeds of `chips` chips, the first seeded `seed`.
pub fn seeds(seed: u64, chips: u64) -> impl Iterator<Item = u64> {
    (0..chips).map(move |chip| seed.wrapping_add(chip))
}

/// Runs `each` on every chip's seed in order (`progress` hears of each chip, as
/// `(chip, chips)`, before it runs) and gathers what they give.
pub fn over_chips<T, E>(
    seed: u64,
    chips: u64,
    mut progress: impl FnMut(u64, u64),
    mut each: impl FnMut(u64) -> Result<T, E>,
) -> Result<Vec<T>, E> {
    seeds(seed, chips)
        .enumerate()
        .map(|(chip, seed)| {
            progress(chip as u64, chips);
            each(seed)
        })
        .collect()
}

/// The mean and the sample standard deviation of chips' figures (0 for one chip).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1).
    pub std: f64,
}

impl Spread {
    /// The spread of `values` (NaN mean for none).
    pub fn of(values: &[f64]) -> Self {
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let std = if values.len() > 1 {
            (values.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (values.len() - 1) as f64)
                .sqrt()
        } else {
            0.0
        };
        Self { mean, std }
    }
}
