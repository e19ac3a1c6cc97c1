//! Digital corrections of analog layers, fitted without retraining: a per-column
//! affine and a low-rank adapter (`cim-adapters` writes them as `cim.affine` and
//! `cim.adapter`), and the hook through which a run sees and replaces each
//! layer's corrected output.
//!
//! A layer's correction maps what the chip computes, `C = x . W_chip`, to
//!
//! ```text
//! y = scale * C + offset + (x . down) . up
//! ```
//!
//! Given calibration rows of the layer's input `X` (m x K), the chip's output `C`
//! and what the float layer makes of that input, `T = X . W` (m x N;
//! [`float_map`] recovers `W` from the float model's own rows), [`fit`] minimises `|T - y|²` over the
//! affine and the rank-r product `M = down . up` by alternating its two exact
//! block minimisers, from the identity:
//!
//! 1. the adapter, given the affine: a reduced-rank regression of the residual
//!    `E = T - scale * C - offset` on `X` in closed form: the ridge solution
//!    `B = (XᵀX + λI)⁻¹ XᵀE`, then `M = B V Vᵀ`, `V` the top-r eigenvectors of
//!    `(XB)ᵀ(XB)` (the best rank-r approximation of the fitted values);
//! 2. the affine, given the adapter: per column, the chip's output as a
//!    least-squares line of what it should be, `C_j = g_j (T - X M)_j + o_j`,
//!    inverted (`scale = 1/g`, `offset = -o/g`: a gain and offset calibration,
//!    which does not shrink noisy columns towards their mean).
//!
//! The alternation runs from each block, and the better of the two and the
//! identity on the calibration rows is kept, so the correction is never worse
//! there than none. A chip whose error is a rank-r change of the weights and
//! nothing else has it removed exactly (up to the ridge) by the adapter's first
//! step, and per-column gains and offsets by the affine's. `λ` is `ridge` times the mean diagonal of
//! `XᵀX`, which keeps directions the calibration data never excites at zero.
//!
//! Cost per layer: `m K²` for `XᵀX`, `K³/3` for its Cholesky factor, `m K N` and
//! `K² N` for the regression, `N³` for the eigenvectors, times `2 rounds`.

use crate::Simulator;
use cim_interp::{Backend, Env, InterpError, Operands, RtValue, ScalarUnit};
use cim_ir::{dialect::ops, query::op_name};
use melior::ir::OperationRef;
use nalgebra::{DMatrix, SymmetricEigen};
use ndarray::{Array1, Array2, ArrayD, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// How a correction is fitted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitOptions {
    /// Rank of the adapter (cut to the layer's).
    pub rank: usize,
    /// Ridge, relative to the mean diagonal of `XᵀX`.
    pub ridge: f64,
    /// Rounds of (adapter, affine).
    pub rounds: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            rank: 8,
            ridge: 1e-4,
            rounds: 3,
        }
    }
}

/// One layer's correction: `scale * C + offset + (x . down) . up`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    /// Per output column.
    pub scale: Vec<f32>,
    /// Per output column.
    pub offset: Vec<f32>,
    /// `K x rank`, row-major.
    pub down: Vec<f32>,
    /// `rank x N`, row-major.
    pub up: Vec<f32>,
    /// Input columns K.
    pub inputs: usize,
    /// Output columns N.
    pub outputs: usize,
    /// The adapter's rank.
    pub rank: usize,
}

impl Correction {
    /// The identity: scale 1, offset 0, a zero adapter of `rank`.
    pub fn identity(inputs: usize, outputs: usize, rank: usize) -> Self {
        Self {
            scale: vec![1.0; outputs],
            offset: vec![0.0; outputs],
            down: vec![0.0; inputs * rank],
            up: vec![0.0; rank * outputs],
            inputs,
            outputs,
            rank,
        }
    }

    /// `down` as a matrix.
    pub fn down(&self) -> Array2<f64> {
        Array2::from_shape_fn((self.inputs, self.rank), |(i, r)| {
            f64::from(self.down[i * self.rank + r])
        })
    }

    /// `up` as a matrix.
    pub fn up(&self) -> Array2<f64> {
        Array2::from_shape_fn((self.rank, self.outputs), |(r, j)| {
            f64::from(self.up[r * self.outputs + j])
        })
    }

    /// The corrected output for `input` (m x K) and the chip's `base` (m x N).
    pub fn apply(&self, input: ArrayView2<f64>, base: ArrayView2<f64>) -> Array2<f64> {
        let mut output = input.dot(&self.down()).dot(&self.up());
        for (mut row, base) in output.outer_iter_mut().zip(base.outer_iter()) {
            for (j, (y, c)) in row.iter_mut().zip(base).enumerate() {
                *y += f64::from(self.scale[j]) * c + f64::from(self.offset[j]);
            }
        }
        output
    }

    /// The identity moved by `weight` (0 to 1) of the way to this correction.
    pub fn weighted(&self, weight: f64) -> Self {
        let w = weight as f32;
        Self {
            scale: self.scale.iter().map(|s| 1.0 + w * (s - 1.0)).collect(),
            offset: self.offset.iter().map(|o| w * o).collect(),
            down: self.down.clone(),
            up: self.up.iter().map(|u| w * u).collect(),
            ..self.clone()
        }
    }

    /// What is wrong with a correction read from a file, if anything: sizes that
    /// disagree with its shape, or values that are not finite.
    pub fn problem(&self) -> Option<String> {
        let (k, r, n) = (self.inputs, self.rank, self.outputs);
        let sizes = [
            ("scale", self.scale.len(), n),
            ("offset", self.offset.len(), n),
            ("down", self.down.len(), k * r),
            ("up", self.up.len(), r * n),
        ];
        if let Some((name, got, want)) = sizes.iter().find(|(_, got, want)| got != want) {
            return Some(format!(
                "{name} holds {got} values, its shape {k}x{n} of rank {r} needs {want}"
            ));
        }
        let values = [&self.scale, &self.offset, &self.down, &self.up];
        if values.iter().any(|v| v.iter().any(|x| !x.is_finite())) {
            return Some("a value is NaN or infinite".into());
        }
        (r == 0).then(|| "rank 0".into())
    }

    /// Parameters the correction adds: the adapter's and the affine's.
    pub fn parameters(&self) -> usize {
        self.down.len() + self.up.len() + self.scale.len() + self.offset.len()
    }
}

/// Squared error of `output` against `target`.
pub fn loss(output: ArrayView2<f64>, target: ArrayView2<f64>) -> f64 {
    output
        .iter()
        .zip(target)
        .map(|(y, t)| (y - t) * (y - t))
        .sum()
}

/// How far (0 to 1) to go from `base` towards `moved` to come nearest `goal`:
/// the squared error of `base + w (moved - base)` to `goal` is quadratic in `w`,
/// and the weight kept is its least in `0..=1` (0 when `moved` is `base`). So a
/// correction weighted by it is never farther from `goal` than the identity or
/// the full correction.
pub fn weight_towards(base: ArrayView2<f64>, moved: ArrayView2<f64>, goal: ArrayView2<f64>) -> f64 {
    let (mut along, mut norm) = (0.0, 0.0);
    for ((b, m), g) in base.iter().zip(moved).zip(goal) {
        let step = m - b;
        along += (g - b) * step;
        norm += step * step;
    }
    if norm > 0.0 {
        (along / norm).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Fits the correction of a layer from calibration rows: its `input` (m x K), the
/// chip's output `chip` (m x N) and the float model's `target` (m x N).
pub fn fit<'a>(
    input: ArrayView2<'a, f64>,
    chip: ArrayView2<'a, f64>,
    target: ArrayView2<'a, f64>,
    options: FitOptions,
) -> Result<Correction, InterpError> {
    let (m, k) = input.dim();
    let n = chip.ncols();
    if chip.nrows() != m || target.dim() != (m, n) {
        return Err(InterpError::Digital(format!(
            "calibration rows disagree: input {:?}, chip {:?}, target {:?}",
            input.dim(),
            chip.dim(),
            target.dim()
        )));
    }
    for (what, values) in [
        ("inputs", &input),
        ("chip outputs", &chip),
        ("float outputs", &target),
    ] {
        if values.iter().any(|v| !v.is_finite()) {
            return Err(InterpError::Digital(format!(
                "the layer's calibration {what} hold NaN or infinity: calibrate on finite data"
            )));
        }
    }
    let rank = options.rank.min(k).min(n).max(1);
    let cholesky = ridged_gram_factor(input, options.ridge.max(0.0)).ok_or_else(|| {
        InterpError::Digital(
            "the calibration inputs' Gram matrix is singular: give a ridge > 0 or more rows".into(),
        )
    })?;

    let rows = Rows {
        input,
        chip,
        target,
        rank,
        cholesky: &cholesky,
    };
    // Block descent reaches the joint optimum only in the limit: start from each
    // block and keep the better (a pure weight error is the adapter's at once, a
    // pure column error the affine's).
    // The identity is a candidate: the fit is never worse on its rows than none.
    let candidates = [
        Correction::identity(k, n, rank),
        rows.alternate(options.rounds, false),
        rows.alternate(options.rounds, true),
    ];
    let loss_of = |c: &Correction| loss(c.apply(input, chip).view(), target);
    let best = candidates
        .into_iter()
        .map(|c| (loss_of(&c), c))
        .reduce(|best, next| if next.0 < best.0 { next } else { best })
        .map(|(_, c)| c);
    Ok(best.expect("three candidates"))
}

/// The linear map a layer computes in the float model, from its own rows there:
/// the least-squares `W` (K x N) with `input . W = output` (exact when the float
/// inputs span the K input directions; a ridge of 1e-9 of the mean diagonal picks
/// the smallest map otherwise). A chip's rows are then fitted to what the float
/// layer makes of the chip's own input (`chip input . W`), so a correction removes
/// the layer's own error rather than regress the float output on inputs the
/// chip's earlier layers moved (which biases every correction toward none).
pub fn float_map(
    input: ArrayView2<f64>,
    output: ArrayView2<f64>,
) -> Result<Array2<f64>, InterpError> {
    let (k, n) = (input.ncols(), output.ncols());
    if input.nrows() != output.nrows() {
        return Err(InterpError::Digital(format!(
            "float rows disagree: input {:?}, output {:?}",
            input.dim(),
            output.dim()
        )));
    }
    let cholesky = ridged_gram_factor(input, FLOAT_MAP_RIDGE).ok_or_else(|| {
        InterpError::Digital("the float inputs' Gram matrix is not positive definite".into())
    })?;
    let moments = input.t().dot(&output);
    let solved = cholesky.solve(&DMatrix::from_fn(k, n, |i, j| moments[[i, j]]));
    Ok(Array2::from_shape_fn((k, n), |(i, j)| solved[(i, j)]))
}

/// The Cholesky factor of `XᵀX + λI`, `λ` being `ridge` times the mean diagonal
/// of `XᵀX` (what [`fit`] and [`float_map`] solve with); `None` when it is not
/// positive definite.
fn ridged_gram_factor(
    input: ArrayView2<f64>,
    ridge: f64,
) -> Option<nalgebra::Cholesky<f64, nalgebra::Dyn>> {
    let k = input.ncols();
    let gram = input.t().dot(&input);
    let mean_diagonal = gram.diag().sum() / k.max(1) as f64;
    let ridge = ridge * mean_diagonal.max(f64::MIN_POSITIVE);
    let mut regularised = DMatrix::from_fn(k, k, |i, j| gram[[i, j]]);
    for i in 0..k {
        regularised[(i, i)] += ridge;
    }
    regularised.cholesky()
}

/// [`float_map`]'s ridge, relative to the mean diagonal of the Gram matrix.
const FLOAT_MAP_RIDGE: f64 = 1e-9;

/// The calibration rows of one fit, with the factor of their Gram matrix.
struct Rows<'a, 'f> {
    input: ArrayView2<'a, f64>,
    chip: ArrayView2<'a, f64>,
    target: ArrayView2<'a, f64>,
    rank: usize,
    cholesky: &'f nalgebra::Cholesky<f64, nalgebra::Dyn>,
}

impl Rows<'_, '_> {
    /// `rounds` of (adapter, affine), from the identity; with `affine_first`, the
    /// affine's step comes first.
    fn alternate(&self, rounds: usize, affine_first: bool) -> Correction {
        let (input, chip, target, rank) = (self.input, self.chip, self.target, self.rank);
        let (k, n) = (input.ncols(), chip.ncols());
        let mut scale = Array1::<f64>::ones(n);
        let mut offset = Array1::<f64>::zeros(n);
        let mut down = Array2::<f64>::zeros((k, rank));
        let mut up = Array2::<f64>::zeros((rank, n));
        for round in 0..rounds.max(1) {
            if !(affine_first && round == 0) {
                (down, up) = self.adapter_step(&scale, &offset);
            }
            // The affine, given the adapter: a least-squares line per column.
            let rest = &target - &input.dot(&down).dot(&up);
            (scale, offset) = affine_step(chip, rest.view());
            if affine_first && round + 1 == rounds.max(1) {
                (down, up) = self.adapter_step(&scale, &offset);
            }
        }
        let to_f32 =
            |values: &Array2<f64>| -> Vec<f32> { values.iter().map(|&v| v as f32).collect() };
        Correction {
            scale: scale.iter().map(|&v| v as f32).collect(),
            offset: offset.iter().map(|&v| v as f32).collect(),
            down: to_f32(&down),
            up: to_f32(&up),
            inputs: k,
            outputs: n,
            rank,
        }
    }

    /// The adapter, given the affine: reduced-rank ridge regression of the
    /// residual on the inputs; `(down, up)` with balanced magnitudes.
    fn adapter_step(
        &self,
        scale: &Array1<f64>,
        offset: &Array1<f64>,
    ) -> (Array2<f64>, Array2<f64>) {
        let (input, rank) = (self.input, self.rank);
        let (k, n) = (input.ncols(), self.chip.ncols());
        let residual = &self.target - &(&self.chip * scale) - offset;
        let moments = input.t().dot(&residual);
        let rhs = DMatrix::from_fn(k, n, |i, j| moments[[i, j]]);
        let solved = self.cholesky.solve(&rhs);
        let coefficients = Array2::from_shape_fn((k, n), |(i, j)| solved[(i, j)]);
        let fitted = input.dot(&coefficients);
        let directions = top_eigenvectors(&fitted.t().dot(&fitted), rank);
        let mut down = coefficients.dot(&directions);
        let mut up = directions.t().to_owned();
        // Balance the factors' magnitudes (fixed-point NMDU formats hold both).
        for r in 0..rank {
            let norm = down.column(r).iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 0.0 {
                let factor = norm.sqrt();
                down.column_mut(r).mapv_inplace(|v| v / factor);
                up.row_mut(r).mapv_inplace(|v| v * factor);
            }
        }
        (down, up)
    }
}

/// Sides up to which the eigenvectors come from a full decomposition.
const FULL_EIGEN_LIMIT: usize = 256;

/// The `rank` eigenvectors of the symmetric `spread` (n x n) of largest
/// eigenvalues, as columns (n x rank). Beyond [`FULL_EIGEN_LIMIT`], by subspace
/// iteration on `2 rank + 8` vectors from a fixed start with Rayleigh-Ritz (a full
/// decomposition of a 1536-wide layer costs seconds per fit; a spread of rank at
/// most `2 rank + 8`, as an exact rank-r error makes it, is found in one step).
fn top_eigenvectors(spread: &Array2<f64>, rank: usize) -> Array2<f64> {
    let n = spread.nrows();
    let ordered =
        |values: &nalgebra::DVector<f64>, vectors: &DMatrix<f64>, basis: Option<&DMatrix<f64>>| {
            let mut order: Vec<usize> = (0..values.len()).collect();
            order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
            let picked = DMatrix::from_fn(vectors.nrows(), rank, |i, r| vectors[(i, order[r])]);
            let picked = match basis {
                Some(basis) => basis * picked,
                None => picked,
            };
            Array2::from_shape_fn((n, rank), |(i, r)| picked[(i, r)])
        };
    let matrix = DMatrix::from_fn(n, n, |i, j| spread[[i, j]]);
    if n <= FULL_EIGEN_LIMIT {
        let eigen = SymmetricEigen::new(matrix);
        return ordered(&eigen.eigenvalues, &eigen.eigenvectors, None);
    }
    let width = (2 * rank + 8).min(n);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut basis = DMatrix::from_fn(n, width, |_, _| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    });
    for _ in 0..12 {
        basis = (&matrix * &basis).qr().q();
    }
    let small = basis.transpose() * &matrix * &basis;
    let eigen = SymmetricEigen::new(small);
    ordered(&eigen.eigenvalues, &eigen.eigenvectors, Some(&basis))
}

/// The affine, given what the adapter leaves (`rest`): per column, the chip's
/// output as a line of what it should be (`chip = g * rest + o`, least squares),
/// inverted (`scale = 1 / g`, `offset = -o / g`). Regressing the other way round
/// would shrink every column towards its mean wherever the chip is noisy (the
/// slope of a noisy regressor is attenuated): better in squared error, worse for
/// the layers after it, whose thresholds and arg-maxes need the signal's size. A
/// column whose gain is not clearly positive keeps scale 1 and moves by its mean.
fn affine_step(chip: ArrayView2<f64>, rest: ArrayView2<f64>) -> (Array1<f64>, Array1<f64>) {
    let n = chip.ncols();
    let mut scale = Array1::<f64>::ones(n);
    let mut offset = Array1::<f64>::zeros(n);
    for j in 0..n {
        let (c, r) = (chip.column(j), rest.column(j));
        let (c_mean, r_mean) = (c.mean().unwrap_or(0.0), r.mean().unwrap_or(0.0));
        let spread: f64 = r.iter().map(|v| (v - r_mean).powi(2)).sum();
        let covariance: f64 = c
            .iter()
            .zip(r)
            .map(|(cv, rv)| (cv - c_mean) * (rv - r_mean))
            .sum();
        let gain = if spread > 0.0 {
            covariance / spread
        } else {
            0.0
        };
        let s = if gain > 0.1 { 1.0 / gain } else { 1.0 };
        scale[j] = s;
        offset[j] = r_mean - s * c_mean;
    }
    (scale, offset)
}

/// Stacks row blocks of equal width (calibration rows of several uses or chips).
pub fn stack(blocks: &[Array2<f64>]) -> Result<Array2<f64>, InterpError> {
    let views: Vec<ArrayView2<f64>> = blocks.iter().map(|b| b.view()).collect();
    ndarray::concatenate(Axis(0), &views)
        .map_err(|error| InterpError::Digital(format!("calibration rows: {error}")))
}

/// What a run does at each `cim.adapter`: it sees the layer (by name, as
/// `cim-adapters` wrote it), the layer's input and the chip's output through the
/// affine before it, and returns the output to continue with, or `None` to run
/// the op as the module says.
pub trait AdapterHook {
    /// At one `cim.adapter` of `layer`.
    fn at_adapter(
        &self,
        layer: &str,
        input: &ArrayD<f64>,
        base: &ArrayD<f64>,
    ) -> Option<Result<ArrayD<f64>, InterpError>>;
}

/// A simulator whose adapters a hook may take over.
struct Hooked<'s, 'm, 'c> {
    simulator: &'s Simulator<'m, 'c>,
    hook: &'s dyn AdapterHook,
}

impl Backend for Hooked<'_, '_, '_> {
    fn start_run(&self) {
        self.simulator.start_run();
    }

    fn skips(&self, op: &OperationRef) -> bool {
        self.simulator.skips(op)
    }

    fn run(&self, operands: Operands) -> Option<Result<Vec<RtValue>, InterpError>> {
        if op_name(operands.op) == ops::ADAPTER {
            let layer = cim_ir::marks::layer(operands.op).unwrap_or_default();
            let (input, base) = match (operands.tensor(0), operands.tensor(1)) {
                (Ok(input), Ok(base)) => (input, base),
                (Err(error), _) | (_, Err(error)) => return Some(Err(error)),
            };
            if let Some(output) = self.hook.at_adapter(&layer, input, base) {
                return Some(output.map(|output| vec![RtValue::Tensor(output)]));
            }
        }
        Backend::run(self.simulator, operands)
    }

    fn scalar_unit(
        &self,
        op: &OperationRef,
        env: &Env,
    ) -> Result<Option<Box<dyn ScalarUnit + '_>>, InterpError> {
        self.simulator.scalar_unit(op, env)
    }

    fn matmul(
        &self,
        op: &OperationRef,
        a: &ArrayD<f64>,
        b: &Array2<f64>,
        init: &ArrayD<f64>,
    ) -> Option<Result<ArrayD<f64>, InterpError>> {
        self.simulator.matmul(op, a, b, init)
    }
}

impl Simulator<'_, '_> {
    /// [`Simulator::run`], with `hook` at every `cim.adapter`.
    pub fn run_hooked(
        &self,
        function: &str,
        inputs: &[ArrayD<f64>],
        hook: &dyn AdapterHook,
    ) -> Result<Vec<ArrayD<f64>>, InterpError> {
        let hooked = Hooked {
            simulator: self,
            hook,
        };
        self.interpreter.run_with(&hooked, function, inputs)
    }
}

/// The rows of a layer's values: batch x columns (a 2-D tensor, as `cim.adapter`
/// reads them).
pub fn rows(values: &ArrayD<f64>) -> Result<Array2<f64>, InterpError> {
    values
        .view()
        .into_dimensionality::<ndarray::Ix2>()
        .map(|view| view.to_owned())
        .map_err(|_| {
            InterpError::Digital(format!(
                "an adapter's values of shape {:?}: expected batch x columns",
                values.shape()
            ))
        })
}
