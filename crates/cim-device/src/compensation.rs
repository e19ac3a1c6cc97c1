//! Drift compensation: every so often the chip reads a known input through each
//! array and rescales its outputs by how much that readout has shrunk since
//! programming (aihwkit's `GlobalDriftCompensation` and
//! `PerColumnDriftCompensation`). The factors are computed from readouts, so they
//! see the noise the readouts carry, as on a chip.

/// The readout below which a factor is not trusted (a dead array): its floor.
const FLOOR: f64 = 1e-4;

/// One factor for a whole array: the mean absolute readout at programming over the
/// mean absolute readout now.
pub fn global_factor(at_programming: &[f64], now: &[f64]) -> f64 {
    mean_abs(at_programming).max(FLOOR) / mean_abs(now).max(FLOOR)
}

/// One factor per column: `at_programming` and `now` are readouts of `columns`
/// columns for several inputs (input-major), averaged over the inputs per column.
pub fn per_column_factors(at_programming: &[f64], now: &[f64], columns: usize) -> Vec<f64> {
    let per_column = |readout: &[f64], column: usize| {
        let values: Vec<f64> = readout
            .iter()
            .skip(column)
            .step_by(columns)
            .copied()
            .collect();
        mean_abs(&values).max(FLOOR)
    };
    (0..columns)
        .map(|column| per_column(at_programming, column) / per_column(now, column))
        .collect()
}

fn mean_abs(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().map(|v| v.abs()).sum::<f64>() / values.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_undo_a_uniform_decay() {
        let before = [1.0, -2.0, 3.0, 4.0];
        let after: Vec<f64> = before.iter().map(|v| v * 0.8).collect();
        assert!((global_factor(&before, &after) - 1.25).abs() < 1e-12);
        // Two inputs, two columns; the second column decays twice as much.
        let now = [0.8, -1.2, 2.4, 2.4];
        let factors = per_column_factors(&before, &now, 2);
        assert!((factors[0] - 1.25).abs() < 1e-12, "{factors:?}");
        assert!((factors[1] - 6.0 / 3.6).abs() < 1e-12, "{factors:?}");
    }
}
