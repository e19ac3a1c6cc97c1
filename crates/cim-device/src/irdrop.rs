//! IR drop: the currents of a crossbar whose word and bit lines have resistance.
//!
//! Word line `i` is driven at its left end with voltage `v[i]`; between neighbouring
//! columns each segment conducts `g_word`, and so does the segment from the driver
//! to column 0 (or, with `lead` segments before it, `g_word / (1 + lead)`: a block
//! that starts further into a larger array). Bit line `j` is held at virtual ground
//! by its sense amplifier below the last row; between neighbouring rows each segment
//! conducts `g_bit`, and so does the one from the last row to the amplifier (or
//! `g_bit / (1 + lead)` across the rows below a block). Cell `(i, j)` conducts `g[i][j]` from word-line node
//! `a[i][j]` to bit-line node `b[i][j]`. The output of column `j` is the current
//! into its amplifier, `g_bit·b[R-1][j]`. Any consistent units (S and V give A).
//!
//! * [`Crossbar::solve`]: exact. Kirchhoff's current law at all 2·R·C nodes is a
//!   sparse symmetric positive definite system; conjugate gradients, preconditioned
//!   by exact solves along every line (tridiagonal), converge in a few dozen
//!   iterations, each O(R·C).
//! * [`Crossbar::approximate`]: first order. The ideal cell currents flow through the
//!   lines, the voltages they drop on the way are subtracted, and the cell currents
//!   are computed once more from what is left. O(R·C), no iteration; its error
//!   against the exact solve is measured by `cargo bench -p cim-device --bench irdrop`.
//! * [`Crossbar::ideal`]: no wire resistance, `I[j] = Σ_i v[i]·g[i][j]`.

use thiserror::Error;

/// Why a crossbar or an input is refused.
#[derive(Debug, Error, PartialEq)]
pub enum IrDropError {
    /// The conductances do not fill `rows x cols`.
    #[error("{got} cell conductances for a {rows}x{cols} array: give rows*cols, row-major")]
    Shape {
        /// Values given.
        got: usize,
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
    },
    /// A value is NaN, infinite, or of the wrong sign.
    #[error("{what} is {value}: {expected}")]
    Invalid {
        /// Which value.
        what: String,
        /// Its value.
        value: f64,
        /// What it must be.
        expected: &'static str,
    },
    /// The input has the wrong length.
    #[error("an input of {got} voltages for {rows} word lines")]
    Input {
        /// Values given.
        got: usize,
        /// Word lines.
        rows: usize,
    },
    /// Conjugate gradients stopped short of the tolerance.
    #[error(
        "the nodal solve did not converge in {iterations} iterations (relative residual {residual:e})"
    )]
    NoConvergence {
        /// Iterations run.
        iterations: usize,
        /// Where the residual stood.
        residual: f64,
    },
}

/// A crossbar with resistive lines.
#[derive(Clone, Debug)]
pub struct Crossbar {
    rows: usize,
    cols: usize,
    g: Vec<f64>,
    g_word: f64,
    g_bit: f64,
    /// The segments from the driver to column 0, and from the last row to ground.
    g_drive: f64,
    g_sense: f64,
    /// Diagonals of the word-line and bit-line node equations, row-major.
    word_diagonal: Vec<f64>,
    bit_diagonal: Vec<f64>,
    /// Every line's tridiagonal block factored (Thomas algorithm: the upper
    /// coefficients and reciprocal pivots), row-major, so that the bit lines are
    /// swept together, row by row, through contiguous memory.
    word_upper: Vec<f64>,
    word_pivot: Vec<f64>,
    bit_upper: Vec<f64>,
    bit_pivot: Vec<f64>,
}

/// Passes of the approximation: currents, the drops they cause, currents again.
const APPROXIMATE_PASSES: usize = 2;

/// Relative tolerance of the exact solve, on the preconditioned residual.
const TOLERANCE: f64 = 1e-14;

impl Crossbar {
    /// A `rows x cols` crossbar of cell conductances `g` (row-major) with wire
    /// segments conducting `g_word` (word lines) and `g_bit` (bit lines).
    pub fn new(
        rows: usize,
        cols: usize,
        g: Vec<f64>,
        g_word: f64,
        g_bit: f64,
    ) -> Result<Self, IrDropError> {
        Self::with_leads(rows, cols, g, g_word, g_bit, (0, 0))
    }

    /// [`Self::new`] for a block inside a larger array: `leads.0` more word-line
    /// segments between the driver and its first column, `leads.1` more bit-line
    /// segments between its last row and the amplifiers.
    pub fn with_leads(
        rows: usize,
        cols: usize,
        g: Vec<f64>,
        g_word: f64,
        g_bit: f64,
        leads: (usize, usize),
    ) -> Result<Self, IrDropError> {
        if g.len() != rows * cols || rows == 0 || cols == 0 {
            return Err(IrDropError::Shape {
                got: g.len(),
                rows,
                cols,
            });
        }
        if let Some((index, &value)) = g
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite() || **v < 0.0)
        {
            return Err(IrDropError::Invalid {
                what: format!(
                    "the conductance of cell ({}, {})",
                    index / cols,
                    index % cols
                ),
                value,
                expected: "finite and >= 0",
            });
        }
        for (what, value) in [("g_word", g_word), ("g_bit", g_bit)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(IrDropError::Invalid {
                    what: what.to_owned(),
                    value,
                    expected: "a finite wire-segment conductance > 0",
                });
            }
        }
        let n = rows * cols;
        let g_drive = g_word / (1.0 + leads.0 as f64);
        let g_sense = g_bit / (1.0 + leads.1 as f64);
        // Word-line node: the segment towards the driver (or the previous column),
        // the one to the next column (none after the last), the cell. Bit-line node:
        // the one to the previous row (none above the first), the one towards the
        // amplifier (or the next row), the cell.
        let word_diagonal: Vec<f64> = (0..n)
            .map(|k| {
                let j = k % cols;
                let left = if j == 0 { g_drive } else { g_word };
                let right = if j + 1 < cols { g_word } else { 0.0 };
                left + right + g[k]
            })
            .collect();
        let bit_diagonal: Vec<f64> = (0..n)
            .map(|k| {
                let up = if k >= cols { g_bit } else { 0.0 };
                let down = if k + cols < n { g_bit } else { g_sense };
                up + down + g[k]
            })
            .collect();
        let (mut word_upper, mut word_pivot) = (vec![0.0; n], vec![0.0; n]);
        for k in 0..n {
            let previous = if k % cols == 0 {
                0.0
            } else {
                word_upper[k - 1]
            };
            word_pivot[k] = 1.0 / (word_diagonal[k] + g_word * previous);
            word_upper[k] = -g_word * word_pivot[k];
        }
        let (mut bit_upper, mut bit_pivot) = (vec![0.0; n], vec![0.0; n]);
        for k in 0..n {
            let previous = if k < cols { 0.0 } else { bit_upper[k - cols] };
            bit_pivot[k] = 1.0 / (bit_diagonal[k] + g_bit * previous);
            bit_upper[k] = -g_bit * bit_pivot[k];
        }
        Ok(Self {
            rows,
            cols,
            g,
            g_word,
            g_bit,
            g_drive,
            g_sense,
            word_diagonal,
            bit_diagonal,
            word_upper,
            word_pivot,
            bit_upper,
            bit_pivot,
        })
    }

    fn check(&self, v: &[f64]) -> Result<(), IrDropError> {
        if v.len() != self.rows {
            return Err(IrDropError::Input {
                got: v.len(),
                rows: self.rows,
            });
        }
        match v.iter().position(|x| !x.is_finite()) {
            Some(i) => Err(IrDropError::Invalid {
                what: format!("input voltage {i}"),
                value: v[i],
                expected: "finite",
            }),
            None => Ok(()),
        }
    }

    /// Column currents without wire resistance.
    pub fn ideal(&self, v: &[f64]) -> Result<Vec<f64>, IrDropError> {
        self.check(v)?;
        let mut out = vec![0.0; self.cols];
        for (i, &vi) in v.iter().enumerate() {
            for (o, g) in out
                .iter_mut()
                .zip(&self.g[i * self.cols..(i + 1) * self.cols])
            {
                *o += vi * g;
            }
        }
        Ok(out)
    }

    /// `y = A·x` for the nodal system (word-line nodes, then bit-line nodes).
    fn apply(&self, x: &[f64], y: &mut [f64]) {
        let (rows, cols, n) = (self.rows, self.cols, self.rows * self.cols);
        let (a, b) = x.split_at(n);
        let (ya, yb) = y.split_at_mut(n);
        for k in 0..n {
            ya[k] = self.word_diagonal[k] * a[k] - self.g[k] * b[k];
            yb[k] = self.bit_diagonal[k] * b[k] - self.g[k] * a[k];
        }
        for i in 0..rows {
            let row = i * cols;
            for k in row + 1..row + cols {
                ya[k] -= self.g_word * a[k - 1];
                ya[k - 1] -= self.g_word * a[k];
            }
        }
        for k in cols..n {
            yb[k] -= self.g_bit * b[k - cols];
            yb[k - cols] -= self.g_bit * b[k];
        }
    }

    /// `z = M⁻¹·r`, M the lines' own (tridiagonal) blocks.
    fn precondition(&self, r: &[f64], z: &mut [f64]) {
        let (cols, n) = (self.cols, self.rows * self.cols);
        z.copy_from_slice(r);
        let (za, zb) = z.split_at_mut(n);
        // Word lines, each along its row.
        for row in (0..n).step_by(cols) {
            za[row] *= self.word_pivot[row];
            for k in row + 1..row + cols {
                za[k] = (za[k] + self.g_word * za[k - 1]) * self.word_pivot[k];
            }
            for k in (row..row + cols - 1).rev() {
                za[k] -= self.word_upper[k] * za[k + 1];
            }
        }
        // Bit lines, all at once, row by row.
        for (z, pivot) in zb[..cols].iter_mut().zip(&self.bit_pivot) {
            *z *= pivot;
        }
        for k in cols..n {
            zb[k] = (zb[k] + self.g_bit * zb[k - cols]) * self.bit_pivot[k];
        }
        for k in (0..n - cols).rev() {
            zb[k] -= self.bit_upper[k] * zb[k + cols];
        }
    }

    /// Column currents with wire resistance, by the exact nodal solve.
    pub fn solve(&self, v: &[f64]) -> Result<Vec<f64>, IrDropError> {
        self.check(v)?;
        let (rows, cols) = (self.rows, self.cols);
        let n = rows * cols;
        let mut rhs = vec![0.0; 2 * n];
        for (i, &vi) in v.iter().enumerate() {
            rhs[i * cols] = self.g_drive * vi;
        }
        // Start from the lines' own solution (cells as loads, the other lines ideal).
        let mut x = vec![0.0; 2 * n];
        self.precondition(&rhs, &mut x);
        let scale = dot(&rhs, &x).sqrt().max(f64::MIN_POSITIVE);
        let mut r = vec![0.0; 2 * n];
        self.apply(&x, &mut r);
        for (r, b) in r.iter_mut().zip(&rhs) {
            *r = b - *r;
        }
        let mut z = vec![0.0; 2 * n];
        self.precondition(&r, &mut z);
        let mut p = z.clone();
        let mut rz = dot(&r, &z);
        let mut ap = vec![0.0; 2 * n];
        let limit = 10 * (rows + cols) + 100;
        let mut iterations = 0;
        while rz.max(0.0).sqrt() > TOLERANCE * scale {
            if iterations == limit {
                return Err(IrDropError::NoConvergence {
                    iterations,
                    residual: rz.max(0.0).sqrt() / scale,
                });
            }
            iterations += 1;
            self.apply(&p, &mut ap);
            let alpha = rz / dot(&p, &ap);
            for k in 0..2 * n {
                x[k] += alpha * p[k];
                r[k] -= alpha * ap[k];
            }
            self.precondition(&r, &mut z);
            let next = dot(&r, &z);
            let beta = next / rz;
            rz = next;
            for k in 0..2 * n {
                p[k] = z[k] + beta * p[k];
            }
        }
        let last = n + (rows - 1) * cols;
        Ok(x[last..last + cols]
            .iter()
            .map(|b| self.g_sense * b)
            .collect())
    }

    /// [`Self::solve`] for several inputs, spread over the machine's cores (each
    /// input is solved alone: the result does not depend on the threads).
    pub fn solve_batch(&self, inputs: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, IrDropError> {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(inputs.len().max(1));
        let chunk = inputs.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let handles: Vec<_> = inputs
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || part.iter().map(|v| self.solve(v)).collect::<Vec<_>>())
                })
                .collect();
            // A panic in a worker is re-raised here, as if solved on this thread.
            handles
                .into_iter()
                .flat_map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    }

    /// Column currents with wire resistance, to first order: the ideal cell
    /// currents drop voltages along the lines, and the cells conduct once more
    /// with what is left.
    pub fn approximate(&self, v: &[f64]) -> Result<Vec<f64>, IrDropError> {
        self.check(v)?;
        let (rows, cols) = (self.rows, self.cols);
        let mut cell: Vec<f64> = (0..rows * cols).map(|k| v[k / cols] * self.g[k]).collect();
        let mut word = vec![0.0; rows * cols];
        let mut bit = vec![0.0; rows * cols];
        for _ in 0..APPROXIMATE_PASSES {
            // Word line i: the segment into column j carries the currents of columns
            // j..; the node voltage is the drive less the drops of segments 0..=j.
            for (i, &drive) in v.iter().enumerate() {
                let line = i * cols..(i + 1) * cols;
                let mut carried: f64 = cell[line.clone()].iter().sum();
                let mut voltage = drive;
                for k in line {
                    let segment = if k % cols == 0 {
                        self.g_drive
                    } else {
                        self.g_word
                    };
                    voltage -= carried / segment;
                    word[k] = voltage;
                    carried -= cell[k];
                }
            }
            // Bit line j: the segment below row i carries the currents of rows ..=i;
            // the node voltage is the sum of the drops of the segments below it.
            for j in 0..cols {
                let mut carried: f64 = (0..rows).map(|i| cell[i * cols + j]).sum();
                let mut voltage = 0.0;
                for i in (0..rows).rev() {
                    let k = i * cols + j;
                    let segment = if i + 1 == rows {
                        self.g_sense
                    } else {
                        self.g_bit
                    };
                    voltage += carried / segment;
                    bit[k] = voltage;
                    carried -= cell[k];
                }
            }
            for k in 0..rows * cols {
                cell[k] = self.g[k] * (word[k] - bit[k]);
            }
        }
        let mut out = vec![0.0; cols];
        for (k, current) in cell.iter().enumerate() {
            out[k % cols] += current;
        }
        Ok(out)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// How the runtime computes the currents of an MVM.
#[derive(Clone, Copy, Debug, Default, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IrDropModel {
    /// Ideal lines.
    #[default]
    None,
    /// [`Crossbar::approximate`].
    Approximate,
    /// [`Crossbar::solve`].
    Exact,
    /// aihwkit's empirical first-order model (`forward.ir_drop`,
    /// `ir_drop_g_ratio`): each output loses `c_i · scale · Σ_j w_ij x_j (1 − (1 −
    /// j/n)²)`, with `a_i = n/g_ratio · Σ_j |w_ij x_j|` and `c_i = a_i (a_i (0.05 a_i
    /// − 0.2) + 0.5)`, weights in units of the block's largest and `n` its rows. No
    /// line resistances: `word_ohms` and `bit_ohms` are not read.
    Aihwkit,
}

/// The `[wires]` section of a target.
#[derive(Clone, Debug, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Wires {
    /// Resistance of one word-line segment (one cell pitch), Ω.
    pub word_ohms: f64,
    /// Resistance of one bit-line segment, Ω.
    pub bit_ohms: f64,
    /// The read voltage of a full-scale input, V.
    pub read_volts: f64,
    /// How the runtime computes IR drop.
    pub ir_drop: IrDropModel,
    /// `ir_drop = "aihwkit"`: the strength of the drop (aihwkit's `ir_drop`).
    pub drop_scale: f64,
    /// `ir_drop = "aihwkit"`: the ratio of a wire's conductance to a device's
    /// (aihwkit's `ir_drop_g_ratio`).
    pub g_ratio: f64,
}

impl Default for Wires {
    fn default() -> Self {
        Self {
            word_ohms: 0.0,
            bit_ohms: 0.0,
            read_volts: 0.2,
            ir_drop: IrDropModel::None,
            drop_scale: 1.0,
            g_ratio: 1.0 / 0.35 / 5e-6,
        }
    }
}

impl Wires {
    /// What is wrong with the parameters, as (key, message), if anything.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        let line = |value: f64| value.is_finite() && value >= 0.0;
        if !line(self.word_ohms) {
            return Some((
                "wires.word_ohms",
                format!("{} must be finite and >= 0", self.word_ohms),
            ));
        }
        if !line(self.bit_ohms) {
            return Some((
                "wires.bit_ohms",
                format!("{} must be finite and >= 0", self.bit_ohms),
            ));
        }
        if !(self.read_volts.is_finite() && self.read_volts > 0.0) {
            return Some((
                "wires.read_volts",
                format!("{} must be finite and > 0", self.read_volts),
            ));
        }
        if !(self.drop_scale.is_finite() && self.drop_scale >= 0.0) {
            return Some((
                "wires.drop_scale",
                format!("{} must be finite and >= 0", self.drop_scale),
            ));
        }
        if !(self.g_ratio.is_finite() && self.g_ratio > 0.0) {
            return Some((
                "wires.g_ratio",
                format!("{} must be finite and > 0", self.g_ratio),
            ));
        }
        if matches!(self.ir_drop, IrDropModel::Approximate | IrDropModel::Exact)
            && (self.word_ohms == 0.0 || self.bit_ohms == 0.0)
        {
            return Some((
                "wires.ir_drop",
                "an IR-drop model needs word_ohms and bit_ohms above 0".into(),
            ));
        }
        None
    }
}
