//! Reading an operand of a `linalg.generic` along its iteration domain: the
//! operand's element at a domain point lies at `base + sum(step[d] * point[d])` of
//! its buffer (the indexing map is affine), and [`Gather`] copies the elements of
//! consecutive points (the domain in row-major order) into a contiguous block.
//! Adjacent dimensions the operand walks as one are merged first, so a broadcast
//! bias or a convolution window is copied in runs as long as the operand allows,
//! and an operand laid out like the domain is read in place.

/// Where an operand's elements lie along a domain, its dimensions merged.
pub struct Gather {
    base: i64,
    /// Bounds and steps of the merged dimensions, outermost first.
    bounds: Vec<usize>,
    steps: Vec<i64>,
}

impl Gather {
    /// The operand read at `base + sum(steps[d] * point[d])` over a domain of
    /// `bounds` (every read in bounds: the caller checked the map's range).
    pub fn new(base: i64, steps: &[i64], bounds: &[usize]) -> Self {
        let mut merged_bounds: Vec<usize> = Vec::with_capacity(bounds.len());
        let mut merged_steps: Vec<i64> = Vec::with_capacity(bounds.len());
        for (&bound, &step) in bounds.iter().zip(steps) {
            match (merged_bounds.last_mut(), merged_steps.last_mut()) {
                // The outer dimension steps over exactly one sweep of this one.
                (Some(outer_bound), Some(outer_step)) if *outer_step == step * bound as i64 => {
                    *outer_bound *= bound;
                    *outer_step = step;
                }
                _ => {
                    merged_bounds.push(bound);
                    merged_steps.push(step);
                }
            }
        }
        Self {
            base,
            bounds: merged_bounds,
            steps: merged_steps,
        }
    }

    /// Where the points `start..` lie, `shift` elements further on, when they are
    /// consecutive elements of the operand: it is then read in place.
    pub fn contiguous_from(&self, shift: i64, start: usize) -> Option<usize> {
        match self.steps.as_slice() {
            [1] => Some((self.base + shift + start as i64) as usize),
            _ => None,
        }
    }

    /// Copies the operand's elements at the points `start..start + into.len()` of the
    /// domain (row-major), `shift` elements further on, from `values` into `into`.
    pub fn copy(&self, values: &[f64], shift: i64, start: usize, into: &mut [f64]) {
        let dims = self.bounds.len();
        if dims == 0 {
            into.fill(values[(self.base + shift) as usize]);
            return;
        }
        // The multi-index of `start`, and the offset there.
        let mut index = vec![0usize; dims];
        let mut rest = start;
        for dim in (0..dims).rev() {
            index[dim] = rest % self.bounds[dim];
            rest /= self.bounds[dim];
        }
        let mut offset = self.base
            + shift
            + index
                .iter()
                .zip(&self.steps)
                .map(|(&i, &step)| i as i64 * step)
                .sum::<i64>();
        let (inner_bound, inner_step) = (self.bounds[dims - 1], self.steps[dims - 1]);
        let mut written = 0;
        while written < into.len() {
            // The rest of the innermost run.
            let run = (inner_bound - index[dims - 1]).min(into.len() - written);
            let target = &mut into[written..written + run];
            match inner_step {
                // Short runs (a 3-wide window) cost more in a memcpy call than
                // in a loop.
                1 if run < 16 => {
                    let from = offset as usize;
                    for (value, &source) in target.iter_mut().zip(&values[from..from + run]) {
                        *value = source;
                    }
                }
                1 => {
                    let from = offset as usize;
                    target.copy_from_slice(&values[from..from + run]);
                }
                0 => target.fill(values[offset as usize]),
                step => {
                    for (k, value) in target.iter_mut().enumerate() {
                        *value = values[(offset + step * k as i64) as usize];
                    }
                }
            }
            written += run;
            offset += inner_step * run as i64;
            index[dims - 1] += run;
            // Carry into the outer dimensions.
            let mut dim = dims - 1;
            while index[dim] == self.bounds[dim] && dim > 0 {
                offset -= self.steps[dim] * self.bounds[dim] as i64;
                index[dim] = 0;
                dim -= 1;
                index[dim] += 1;
                offset += self.steps[dim];
            }
        }
    }
}
