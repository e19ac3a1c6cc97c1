//! IR drop: the time of the exact nodal solve of a 128x128 array for 4 input
//! vectors, and the error of the first-order approximation against it.
//!
//! `cargo bench -p cim-device --bench irdrop`

use cim_device::{irdrop::Crossbar, rng::DeviceRng};
use std::time::Instant;

fn main() -> Result<(), String> {
    let mut rng = DeviceRng::new(5);
    let (rows, cols) = (128, 128);
    // Cells 0..25 µS (a PCM pair's range), inputs 0..0.2 V read pulses.
    let g: Vec<f64> = (0..rows * cols).map(|_| 25e-6 * rng.uniform()).collect();
    let inputs: Vec<Vec<f64>> = (0..4)
        .map(|_| (0..rows).map(|_| 0.2 * rng.uniform()).collect())
        .collect();
    println!("{rows}x{cols} array, cells uniform in 0..25 µS, 4 input vectors uniform in 0..0.2 V");
    println!(
        "{:>9} {:>14} {:>14} {:>13} {:>14} {:>16}",
        "wire (Ω)", "exact, 1 core", "exact, batch", "approx.", "IR drop (max)", "approx. error"
    );
    for ohms in [0.5, 1.0, 2.5, 10.0] {
        let crossbar = Crossbar::new(rows, cols, g.clone(), 1.0 / ohms, 1.0 / ohms)
            .map_err(|e| e.to_string())?;
        // Best of 5: one vector after another on one core, and the batch over all.
        let (mut best, mut best_batch) = (f64::INFINITY, f64::INFINITY);
        let mut exact = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            exact = inputs
                .iter()
                .map(|v| crossbar.solve(v))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            best = best.min(start.elapsed().as_secs_f64());
            let start = Instant::now();
            let batch = crossbar.solve_batch(&inputs);
            best_batch = best_batch.min(start.elapsed().as_secs_f64());
            let batch = batch.map_err(|e| e.to_string())?;
            if batch != exact {
                return Err("the batch solve differs from one-by-one solves".into());
            }
        }
        let start = Instant::now();
        let approximate = inputs
            .iter()
            .map(|v| crossbar.approximate(v))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let approximate_time = start.elapsed().as_secs_f64();
        let (mut drop, mut error) = (0.0f64, 0.0f64);
        for ((v, e), a) in inputs.iter().zip(&exact).zip(&approximate) {
            let ideal = crossbar.ideal(v).map_err(|e| e.to_string())?;
            for j in 0..cols {
                drop = drop.max((ideal[j] - e[j]) / ideal[j]);
                error = error.max((a[j] - e[j]).abs() / e[j]);
            }
        }
        println!(
            "{ohms:>9} {:>11.2} ms {:>11.2} ms {:>10.3} ms {:>13.2}% {:>15.3}%",
            1e3 * best,
            1e3 * best_batch,
            1e3 * approximate_time,
            100.0 * drop,
            100.0 * error
        );
    }
    Ok(())
}
