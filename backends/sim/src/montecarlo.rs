//! Monte Carlo over chips: a design's prediction is a distribution, one sample per
//! programmed chip. Chip `i` of a run seeded `seed` is seeded `seed + i`, so any
//! chip can be reproduced alone.

use std::sync::{
    Mutex,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

/// The chips of a Monte Carlo run handed out to workers running at once (threads
/// of their own: a worker may hold what only its thread may touch): each worker
/// [`take`](Self::take)s the next chip in order while any is left, runs it and
/// [`put`](Self::put)s its result. A chip's result depends on its seed alone, so
/// the results are the same whichever worker runs a chip and however many there
/// are; [`gather`](Self::gather) returns them in chip order.
pub struct ChipQueue<T, E> {
    seed: u64,
    chips: u64,
    next: AtomicU64,
    failed: AtomicBool,
    results: Mutex<Vec<Option<Result<T, E>>>>,
    /// Why a worker could not start, if one could not.
    unstarted: Mutex<Option<E>>,
}

impl<T, E> ChipQueue<T, E> {
    /// The `chips` chips of a run seeded `seed`.
    pub fn new(seed: u64, chips: u64) -> Self {
        Self {
            seed,
            chips,
            next: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            results: Mutex::new((0..chips).map(|_| None).collect()),
            unstarted: Mutex::new(None),
        }
    }

    /// The next chip and its seed, as `(chip, seed)`; `None` when all are taken or
    /// one failed (no further chips start then).
    pub fn take(&self) -> Option<(u64, u64)> {
        if self.failed.load(Ordering::Relaxed) {
            return None;
        }
        let chip = self.next.fetch_add(1, Ordering::Relaxed);
        (chip < self.chips).then(|| (chip, self.seed.wrapping_add(chip)))
    }

    /// Chip `chip`'s result.
    pub fn put(&self, chip: u64, result: Result<T, E>) {
        if result.is_err() {
            self.failed.store(true, Ordering::Relaxed);
        }
        self.results.lock().unwrap_or_else(|e| e.into_inner())[chip as usize] = Some(result);
    }

    /// A worker could not start: why (the run stops).
    pub fn unstarted(&self, error: E) {
        self.failed.store(true, Ordering::Relaxed);
        self.unstarted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(error);
    }

    /// The results in chip order; on failures, the first failing chip's error,
    /// else why a worker could not start.
    pub fn gather(self) -> Result<Vec<T>, E> {
        let results = self.results.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut gathered = Vec::with_capacity(results.len());
        for result in results.into_iter().flatten() {
            gathered.push(result?);
        }
        if let Some(error) = self
            .unstarted
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
        {
            return Err(error);
        }
        Ok(gathered)
    }
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
