//! The exact IR-drop solve against an independent dense solve of the same nodal
//! equations (written out node by node here, solved by Gaussian elimination with
//! partial pivoting): 1e-9 relative on small arrays.

use cim_device::{
    irdrop::{Crossbar, IrDropError},
    rng::DeviceRng,
};

/// Node equations assembled densely, unknowns `a[i][j]` then `b[i][j]`.
fn dense_currents(
    rows: usize,
    cols: usize,
    g: &[f64],
    g_word: f64,
    g_bit: f64,
    leads: (usize, usize),
    v: &[f64],
) -> Vec<f64> {
    // Segments in series add their resistances.
    let g_drive = g_word / (1 + leads.0) as f64;
    let g_sense = g_bit / (1 + leads.1) as f64;
    let n = rows * cols;
    let size = 2 * n;
    let mut m = vec![vec![0.0; size + 1]; size];
    let a = |i: usize, j: usize| i * cols + j;
    let b = |i: usize, j: usize| n + i * cols + j;
    // Conductance `value` from node `from` to node `to` (or to a fixed voltage).
    let connect = |m: &mut Vec<Vec<f64>>, from: usize, to: Result<usize, f64>, value: f64| {
        m[from][from] += value;
        match to {
            Ok(to) => m[from][to] -= value,
            Err(voltage) => m[from][size] += value * voltage,
        }
    };
    for i in 0..rows {
        for j in 0..cols {
            let cell = g[i * cols + j];
            // Word-line node: towards the driver (or the previous column), the next
            // column, the cell.
            if j == 0 {
                connect(&mut m, a(i, j), Err(v[i]), g_drive);
            } else {
                connect(&mut m, a(i, j), Ok(a(i, j - 1)), g_word);
            }
            if j + 1 < cols {
                connect(&mut m, a(i, j), Ok(a(i, j + 1)), g_word);
            }
            connect(&mut m, a(i, j), Ok(b(i, j)), cell);
            // Bit-line node: the row above, towards ground (or the row below), the cell.
            if i > 0 {
                connect(&mut m, b(i, j), Ok(b(i - 1, j)), g_bit);
            }
            if i + 1 == rows {
                connect(&mut m, b(i, j), Err(0.0), g_sense);
            } else {
                connect(&mut m, b(i, j), Ok(b(i + 1, j)), g_bit);
            }
            connect(&mut m, b(i, j), Ok(a(i, j)), cell);
        }
    }
    // Gaussian elimination with partial pivoting.
    for col in 0..size {
        let pivot = (col..size)
            .max_by(|&x, &y| m[x][col].abs().total_cmp(&m[y][col].abs()))
            .unwrap();
        m.swap(col, pivot);
        let (top, rest) = m.split_at_mut(col + 1);
        let pivot_row = &top[col];
        for row in rest.iter_mut() {
            let factor = row[col] / pivot_row[col];
            if factor != 0.0 {
                for (value, above) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                    *value -= factor * above;
                }
            }
        }
    }
    let mut x = vec![0.0; size];
    for row in (0..size).rev() {
        let sum: f64 = (row + 1..size).map(|k| m[row][k] * x[k]).sum();
        x[row] = (m[row][size] - sum) / m[row][row];
    }
    (0..cols).map(|j| g_sense * x[b(rows - 1, j)]).collect()
}

fn random_array(rows: usize, cols: usize, rng: &mut DeviceRng) -> Vec<f64> {
    // 0 to 25 µS, in S.
    (0..rows * cols).map(|_| 25e-6 * rng.uniform()).collect()
}

#[test]
fn exact_solve_matches_a_dense_solve() {
    let mut rng = DeviceRng::new(21);
    // Wire segments of 1 Ω, 10 Ω and 1 kΩ: weak to severe IR drop.
    // Blocks at the corner of their array, and deeper in (leads before and after).
    let cases = [(1, 1), (1, 7), (6, 1), (3, 5), (8, 8), (16, 12)]
        .into_iter()
        .flat_map(|shape| [(shape, (0, 0)), (shape, (3, 5))]);
    for ((rows, cols), leads) in cases {
        for (g_word, g_bit) in [(1.0, 1.0), (0.1, 0.05), (1e-3, 2e-3)] {
            let g = random_array(rows, cols, &mut rng);
            let v: Vec<f64> = (0..rows).map(|_| 0.2 * (rng.uniform() - 0.5)).collect();
            let crossbar =
                Crossbar::with_leads(rows, cols, g.clone(), g_word, g_bit, leads).unwrap();
            let exact = crossbar.solve(&v).unwrap();
            let dense = dense_currents(rows, cols, &g, g_word, g_bit, leads, &v);
            let scale = dense.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            // The kilohm wires of the larger arrays lose much current: the
            // comparison is not one of ideal crossbars.
            if g_word < 0.01 && rows * cols >= 64 {
                let ideal = crossbar.ideal(&v).unwrap();
                let lost = ideal
                    .iter()
                    .zip(&dense)
                    .map(|(i, d)| (i - d).abs())
                    .fold(0.0, f64::max);
                assert!(lost > 0.1 * scale, "{rows}x{cols}: {lost} of {scale}");
            }
            for (j, (e, d)) in exact.iter().zip(&dense).enumerate() {
                assert!(
                    (e - d).abs() <= 1e-9 * scale,
                    "{rows}x{cols}, leads {leads:?}, g_word {g_word}, column {j}: {e} vs dense {d}"
                );
            }
        }
    }
}

#[test]
fn wire_resistance_only_loses_current() {
    let mut rng = DeviceRng::new(22);
    let (rows, cols) = (32, 32);
    let g = random_array(rows, cols, &mut rng);
    let v: Vec<f64> = (0..rows).map(|_| 0.2 * rng.uniform()).collect();
    let ideal = Crossbar::new(rows, cols, g.clone(), 1.0, 1.0)
        .unwrap()
        .ideal(&v)
        .unwrap();
    let mut previous = ideal.clone();
    // More resistance, less current in every column; nearly none, nearly ideal.
    for ohms in [1e-6, 1.0, 10.0, 100.0] {
        let crossbar = Crossbar::new(rows, cols, g.clone(), 1.0 / ohms, 1.0 / ohms).unwrap();
        let exact = crossbar.solve(&v).unwrap();
        for j in 0..cols {
            assert!(
                exact[j] <= previous[j] * (1.0 + 1e-9),
                "{ohms} Ω column {j}: {} after {}",
                exact[j],
                previous[j]
            );
            if ohms < 1e-3 {
                assert!((exact[j] - ideal[j]).abs() <= 1e-6 * ideal[j], "column {j}");
            }
        }
        previous = exact;
    }
}

#[test]
fn bad_input_is_refused() {
    let error = Crossbar::new(2, 2, vec![1.0; 3], 1.0, 1.0).unwrap_err();
    assert!(
        matches!(error, IrDropError::Shape { got: 3, .. }),
        "{error}"
    );
    let error = Crossbar::new(1, 2, vec![1.0, f64::NAN], 1.0, 1.0).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the conductance of cell (0, 1) is NaN: finite and >= 0"
    );
    let error = Crossbar::new(1, 1, vec![1.0], 0.0, 1.0).unwrap_err();
    assert!(error.to_string().starts_with("g_word is 0"), "{error}");
    let crossbar = Crossbar::new(2, 1, vec![1.0, 1.0], 1.0, 1.0).unwrap();
    assert_eq!(
        crossbar.solve(&[1.0]).unwrap_err(),
        IrDropError::Input { got: 1, rows: 2 }
    );
    assert!(crossbar.approximate(&[1.0, f64::INFINITY]).is_err());
}
