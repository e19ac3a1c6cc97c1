#![warn(missing_docs)]
//! The reference interpreter of cim IR: runs a function of a module on concrete
//! tensors, in `f64`, with the exact semantics of every `cim` op. It is the oracle
//! of the pass property tests (a pass must not change what a function computes)
//! and, at [`Fidelity::Quantized`] and [`Fidelity::Full`], the runtime that
//! predicts a chip: converters quantize, and on a [`Chip`] every cell reads what its
//! device does (`cim-device`).
//!
//! Supported: `func.return`, `arith.constant`, `arith.addf`, `tensor.dim`,
//! `tensor.extract_slice` (unit strides), `tensor.empty`, `tensor.collapse_shape`,
//! `tensor.expand_shape`, `tensor.pad` (static), `tensor.concat`, `linalg.fill`,
//! `linalg.matmul` (plain or right operand transposed), `linalg.transpose`,
//! `linalg.generic` (indexing maps of dimensions and constants; arith and math bodies),
//! `linalg.conv_2d_nchw_fchw`, `linalg.pooling_nchw_max` / `_sum`, `func.call`,
//! and every
//! `cim` op. Anything else is an error that names the op.

use cim_device::{
    adc::{AdcModel, ColumnError},
    devices::Devices,
    irdrop::{IrDropModel, Wires},
    rng::DeviceRng,
};
use cim_ir::{
    attributes::{Cell, Converter, DacMode, Geometry, Window},
    build::read_dense_f32,
    dialect::ops,
    query::{
        TensorShape, attribute, float_attribute, i64_array_attribute, int_attribute,
        linalg_matmul_transposes_rhs, op_name, string_attribute,
    },
};
use melior::ir::{
    BlockLike, BlockRef, Module, OperationRef, RegionLike, TypeLike, Value, ValueLike,
    attribute::FlatSymbolRefAttribute, operation::OperationLike,
};
use ndarray::{Array2, ArrayD, Axis, IxDyn, Slice, concatenate};
use std::collections::HashMap;
use thiserror::Error;

pub mod digital;
mod elementwise;
mod generic;
mod lines;

pub use digital::{Digital, Format};

/// A runtime value.
#[derive(Clone, Debug, PartialEq)]
pub enum RtValue {
    /// A tensor of any rank (integers are held exactly up to 2^53).
    Tensor(ArrayD<f64>),
    /// An `index` or integer scalar.
    Index(i64),
    /// A float scalar.
    Scalar(f64),
}

/// Why interpretation stopped.
#[derive(Debug, Error, PartialEq)]
pub enum InterpError {
    /// No function of that name.
    #[error("no function @{0} in the module")]
    NoFunction(String),
    /// The inputs do not match the signature.
    #[error("@{function} takes {expected} arguments, got {got}")]
    Arity {
        /// Function name.
        function: String,
        /// Parameter count.
        expected: usize,
        /// Inputs given.
        got: usize,
    },
    /// An input's shape does not fit its parameter type.
    #[error("argument {index}: shape {got:?} does not fit {expected}")]
    InputShape {
        /// Argument number.
        index: usize,
        /// The parameter type.
        expected: String,
        /// The shape given.
        got: Vec<usize>,
    },
    /// An op the interpreter does not know.
    #[error("operation '{0}' is not supported by the reference interpreter")]
    Unsupported(String),
    /// The chip cannot be programmed as asked (the message says why and what to do).
    #[error("{0}")]
    Chip(String),
    /// The digital work cannot run on the NMDU as asked (the message says why).
    #[error("NMDU: {0}")]
    Digital(String),
    /// An op whose operands or attributes are not as the dialect requires (the IR
    /// did not pass cim-verify).
    #[error("'{op}': {message}")]
    Malformed {
        /// Operation name.
        op: String,
        /// What is wrong.
        message: String,
    },
}

fn malformed(op: &OperationRef, message: impl Into<String>) -> InterpError {
    InterpError::Malformed {
        op: op_name(op),
        message: message.into(),
    }
}

/// How faithfully `cim.mvm` is executed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fidelity {
    /// The exact semantics: converters are ideal.
    #[default]
    Exact,
    /// Inputs go through the MVM's DAC (clipped to its range, rounded to its levels)
    /// and results through its ADC. The ADC converts the MVM's result (one
    /// conversion per MVM, not one per bit plane of a bit-serial input).
    Quantized,
    /// Quantized, on a programmed chip: every cell holds what its device reads
    /// ([`Interpreter::program`]: programming noise, drift, read noise, faults,
    /// drift compensation), and each conversion adds the ADC's noise.
    Full,
}

/// The chip a full-fidelity run reads.
#[derive(Clone, Debug)]
pub struct Chip<'d> {
    /// The devices.
    pub devices: &'d Devices,
    /// Seconds since programming.
    pub time: f64,
    /// Seed of every random draw (programming, and conversion noise).
    pub seed: u64,
    /// The ADCs' non-idealities.
    pub adc: AdcModel,
    /// Word and bit lines: with an IR-drop model, MVMs compute currents through them.
    pub wires: &'d Wires,
}

/// Called after every `cim.mvm` with the op's [`mvm_key`], its input (before the
/// DAC) and its result (before the ADC): calibration watches ranges through it.
pub type MvmObserver<'o> = &'o mut dyn FnMut(usize, &ArrayD<f64>, &ArrayD<f64>);

/// Identifies an MVM operation for the life of its module.
pub fn mvm_key(op: &OperationRef) -> usize {
    op.to_raw().ptr as usize
}

/// Rows per piece of work spread over the cores. Work is cut the same way on every
/// machine, so results never depend on how many cores there are.
pub(crate) const CHUNK_ROWS: usize = 128;

/// Rows per piece of a matrix product: larger, as each piece packs the whole
/// weight block again.
const GEMM_ROWS: usize = 512;

/// Runs `work(index, chunk)` on the consecutive `chunk`-element pieces of `values`,
/// spread over the machine's cores (rayon's pool: no thread is started per call,
/// which small blocks would pay for).
pub(crate) fn for_chunks(
    values: &mut [f64],
    chunk: usize,
    work: impl Fn(usize, &mut [f64]) + Sync,
) {
    use rayon::prelude::*;
    let chunk = chunk.max(1);
    if values.len() <= chunk {
        if !values.is_empty() {
            work(0, values);
        }
        return;
    }
    values
        .par_chunks_mut(chunk)
        .enumerate()
        .for_each(|(index, piece)| work(index, piece));
}

/// Rounds `value` to the nearest of the 2^bits levels spanning [lo, hi], clipping.
pub fn quantize(value: f64, bits: i64, lo: f64, hi: f64) -> f64 {
    let steps = ((1u64 << bits.clamp(1, 62)) - 1) as f64;
    let step = (hi - lo) / steps;
    // Non-negative and at most 2^62: adding a half and truncating rounds half up,
    // as `round` does here, without a call into libm.
    let level = ((value.clamp(lo, hi) - lo) / step + 0.5) as i64;
    lo + level as f64 * step
}

/// A module ready to run: its arrays read once.
pub struct Interpreter<'m, 'c> {
    module: &'m Module<'c>,
    arrays: HashMap<String, Array2<f64>>,
    /// Each array's bits per cell (`None`: analog cells), its place in the module,
    /// and its word lines.
    cells: HashMap<String, (Option<i64>, usize, usize)>,
    /// Resistive lines, for full fidelity with an IR-drop model.
    lines: Option<lines::Lines>,
    fidelity: Fidelity,
    /// The ADCs, their generator, and the MVMs run so far (each MVM draws from its
    /// own stream), for full fidelity.
    adc: Option<(AdcModel, DeviceRng, std::cell::Cell<u64>)>,
    /// Each array's columns' gain and offset, for full fidelity.
    columns: HashMap<String, Vec<ColumnError>>,
    /// Where the digital ops run, and their lowering when on the NMDU.
    digital: Digital,
    plan: Option<digital::Plan>,
    /// Generated kernels, for [`Digital::Generated`].
    jit: std::cell::RefCell<cim_nmdu::codegen::JitCache>,
    /// The elementwise unit's reference and its tables.
    pointwise: cim_nmdu::pointwise::Evaluator,
    /// The DAC-driven inputs of the current run, by (value, bits, range).
    driven: std::cell::RefCell<HashMap<DrivenKey, std::rc::Rc<ArrayD<f64>>>>,
}

type DrivenKey = (usize, i64, u64, u64);

fn key(value: Value) -> usize {
    value.to_raw().ptr as usize
}

fn operations<'c, 'a>(block: BlockRef<'c, 'a>) -> impl Iterator<Item = OperationRef<'c, 'a>> {
    std::iter::successors(block.first_operation(), |op| op.next_in_block())
}

impl<'m, 'c> Interpreter<'m, 'c> {
    /// Reads the module's `cim.crossbar` arrays.
    pub fn new(module: &'m Module<'c>) -> Result<Self, InterpError> {
        let mut arrays = HashMap::new();
        let mut cells = HashMap::new();
        for op in operations(module.body()) {
            if op_name(&op) != ops::CROSSBAR {
                continue;
            }
            let name =
                string_attribute(&op, "sym_name").ok_or_else(|| malformed(&op, "no sym_name"))?;
            let weights = attribute(&op, "weights").ok_or_else(|| malformed(&op, "no weights"))?;
            let shape = cim_ir::query::attribute_shape(weights)
                .ok_or_else(|| malformed(&op, "weights without shape"))?;
            let values = read_dense_f32(weights)
                .ok_or_else(|| malformed(&op, "weights must be inline dense f32 to interpret"))?;
            let (rows, cols) = (
                shape.dims[0].unwrap_or(0) as usize,
                shape.dims[1].unwrap_or(0) as usize,
            );
            let block =
                Array2::from_shape_vec((rows, cols), values.into_iter().map(f64::from).collect())
                    .map_err(|error| malformed(&op, error.to_string()))?;
            let bits = attribute(&op, "cell")
                .and_then(Cell::read)
                .map(|cell| cell.bits);
            let word_lines = attribute(&op, "geometry")
                .and_then(Geometry::read)
                .map_or(rows, |geometry| geometry.rows as usize);
            cells.insert(name.clone(), (bits, cells.len(), word_lines));
            arrays.insert(name, block);
        }
        Ok(Self {
            module,
            arrays,
            cells,
            fidelity: Fidelity::Exact,
            adc: None,
            columns: HashMap::new(),
            lines: None,
            digital: Digital::Float,
            plan: None,
            jit: Default::default(),
            pointwise: Default::default(),
            driven: Default::default(),
        })
    }

    /// Programs the arrays onto `chip` and reads them `chip.time` seconds later:
    /// from now on the interpreter runs at [`Fidelity::Full`]. Every array must be
    /// bit-sliced (`cell = #cim.cell<bits>`): its weights are cell levels. Each array
    /// draws from its own stream of the seed (by its place in the module), so a
    /// chip is the same whatever else the module holds after it.
    pub fn program(mut self, chip: &Chip) -> Result<Self, InterpError> {
        let root = DeviceRng::new(chip.seed);
        let mut names: Vec<&String> = self.arrays.keys().collect();
        names.sort_by_key(|name| self.cells[*name].1);
        let mut programmed = HashMap::new();
        for name in names {
            let (bits, index, _) = self.cells[name];
            let Some(bits) = bits else {
                return Err(InterpError::Chip(format!(
                    "full fidelity programs bit-sliced arrays (cell = #cim.cell<bits>), but @{name} has analog cells: run the mapped program (quantized), not the exact one"
                )));
            };
            let block = &self.arrays[name];
            let levels: Vec<f64> = block.iter().copied().collect();
            let max_level = ((1u64 << bits.clamp(1, 52)) - 1) as f64;
            let mut rng = root.fork(index as u64);
            let read = chip
                .devices
                .program_array(&levels, block.ncols(), max_level, chip.time, &mut rng)
                .map_err(InterpError::Chip)?;
            let read = Array2::from_shape_vec(block.raw_dim(), read)
                .map_err(|error| InterpError::Unsupported(error.to_string()))?;
            programmed.insert(name.clone(), read);
        }
        self.arrays = programmed;
        self.fidelity = Fidelity::Full;
        if chip.adc.has_column_errors() {
            for (name, (_, index, _)) in &self.cells {
                let mut rng = root.fork(u64::MAX - 1 - *index as u64);
                let width = self.arrays[name].ncols();
                let columns = (0..width).map(|_| chip.adc.column(&mut rng)).collect();
                self.columns.insert(name.clone(), columns);
            }
        }
        self.adc = Some((
            chip.adc.clone(),
            root.fork(u64::MAX),
            std::cell::Cell::new(0),
        ));
        self.lines = (chip.wires.ir_drop != IrDropModel::None).then(|| lines::Lines {
            wires: chip.wires.clone(),
            g_min: chip.devices.g_min,
            g_max: chip.devices.g_max,
        });
        Ok(self)
    }

    /// The programmed block of an array, by name.
    pub fn array(&self, name: &str) -> Option<&Array2<f64>> {
        self.arrays.get(name)
    }

    /// The same interpreter at another fidelity.
    pub fn with_fidelity(mut self, fidelity: Fidelity) -> Self {
        self.fidelity = fidelity;
        self
    }

    /// Runs the digital ops after the MVMs on `digital`: with the NMDU (reference
    /// or generated code), every tree of `cim.shift_add` / `cim.diff` /
    /// `cim.accumulate` / `cim.affine` over MVM results is lowered to a fixed-point
    /// kernel in `format` ([`digital`]), and every `linalg.generic` that computes
    /// runs as a program of the NMDU's elementwise unit in Q.`format.fraction_bits`
    /// ([`cim_nmdu::pointwise`]). The NMDU reads ADC codes: runs must be at
    /// quantized or full fidelity.
    pub fn with_digital(mut self, digital: Digital, format: Format) -> Result<Self, InterpError> {
        self.plan = match digital {
            Digital::Float => None,
            Digital::Reference | Digital::Generated => {
                Some(digital::plan(self.module.body(), format)?)
            }
        };
        self.digital = digital;
        Ok(self)
    }

    /// The lowering of the digital ops, when they run on the NMDU.
    pub fn digital_plan(&self) -> Option<&digital::Plan> {
        self.plan.as_ref()
    }

    /// Runs a lowered group on the ADC codes of its MVMs.
    fn run_group(
        &self,
        op: &OperationRef,
        group: &digital::Group,
        env: &HashMap<usize, RtValue>,
    ) -> Result<ArrayD<f64>, InterpError> {
        if self.fidelity == Fidelity::Exact {
            return Err(InterpError::Digital(
                "the NMDU reads ADC codes: run at quantized or full fidelity, or with float digital work".into(),
            ));
        }
        let cols = group.tables.cols;
        let mut shape: Option<Vec<usize>> = None;
        let mut planes = Vec::with_capacity(group.planes.len());
        for plane in &group.planes {
            let Some(RtValue::Tensor(values)) = env.get(&plane.value) else {
                return Err(malformed(op, "an MVM of the group has no value"));
            };
            if values.shape().last() != Some(&plane.width) {
                return Err(malformed(op, "an MVM's columns differ from its type's"));
            }
            let mut dims = values.shape().to_vec();
            if let Some(last) = dims.last_mut() {
                *last = cols;
            }
            match &shape {
                Some(existing) if *existing != dims => {
                    return Err(malformed(op, "the group's MVMs differ in rows"));
                }
                _ => shape = Some(dims),
            }
            let values = values.as_standard_layout();
            let flat = values.as_slice().expect("standard layout");
            planes.push(plane.codes(flat, cols));
        }
        let shape = shape.ok_or_else(|| malformed(op, "a group without MVMs"))?;
        let rows = shape.iter().product::<usize>() / cols.max(1);
        let views: Vec<&[i32]> = planes.iter().map(Vec::as_slice).collect();
        let out = match self.digital {
            Digital::Generated => {
                let mut jit = self.jit.borrow_mut();
                let kernel = jit
                    .get(&group.kernel)
                    .map_err(|error| InterpError::Digital(error.to_string()))?;
                kernel
                    .run(&group.tables, &views, rows)
                    .map_err(|error| InterpError::Digital(error.to_string()))?
            }
            _ => cim_nmdu::reference::run(&group.kernel, &group.tables, &views, rows)
                .map_err(InterpError::Digital)?,
        };
        ArrayD::from_shape_vec(
            IxDyn(&shape),
            out.into_iter().map(|q| f64::from(q) * group.unit).collect(),
        )
        .map_err(|error| malformed(op, error.to_string()))
    }

    /// The plan's elementwise program for `op`, when the NMDU runs its work.
    fn nmdu_program(&self, op: &OperationRef) -> Option<&cim_nmdu::pointwise::Program> {
        let plan = self.plan.as_ref()?;
        let index = *plan.programs.get(&mvm_key(op))?;
        Some(&plan.pointwise[index].program)
    }

    /// `program`, ready to run on the reference or as generated code.
    fn elementwise<'p>(
        &'p self,
        program: &'p cim_nmdu::pointwise::Program,
    ) -> Result<elementwise::Elementwise<'p>, InterpError> {
        elementwise::Elementwise::new(
            program,
            &self.pointwise,
            (self.digital == Digital::Generated).then_some(&self.jit),
        )
    }

    /// `init + a · b` on the NMDU in Q.F ([`cim_nmdu::matmul`]): `a` is `[..., k]`,
    /// `b` is `k × n`, `init` has `a`'s shape with `n` last.
    fn nmdu_matmul(
        &self,
        op: &OperationRef,
        a: &ArrayD<f64>,
        b: &Array2<f64>,
        init: &ArrayD<f64>,
    ) -> Result<ArrayD<f64>, InterpError> {
        let k = a.shape().last().copied().unwrap_or(0);
        let n = b.ncols();
        let m = a.len() / k.max(1);
        if b.nrows() != k || init.len() != m * n || init.shape().last() != Some(&n) {
            return Err(malformed(
                op,
                format!(
                    "operands {:?} x {:?} + {:?} do not fit a matrix product",
                    a.shape(),
                    b.shape(),
                    init.shape()
                ),
            ));
        }
        // The plan records the matrix products' format (it saw this op).
        let fraction = self
            .plan
            .as_ref()
            .and_then(|plan| plan.matmul)
            .ok_or_else(|| malformed(op, "the NMDU plan has no matrix products"))?;
        let fixed = |values: &mut dyn Iterator<Item = f64>| -> Result<Vec<i32>, InterpError> {
            values
                .map(|x| {
                    cim_nmdu::pointwise::to_fixed(x, fraction).ok_or_else(|| {
                        malformed(op, "a NaN reaches the digital unit's matrix product")
                    })
                })
                .collect()
        };
        let (qa, qb, qinit) = (
            fixed(&mut a.iter().copied())?,
            fixed(&mut b.iter().copied())?,
            fixed(&mut init.iter().copied())?,
        );
        let out = match self.digital {
            Digital::Generated => self
                .jit
                .borrow_mut()
                .matmul(&qa, &qb, &qinit, [m, k, n], fraction)
                .map_err(|error| InterpError::Digital(error.to_string()))?,
            _ => cim_nmdu::matmul::reference(&qa, &qb, &qinit, [m, k, n], fraction)
                .map_err(InterpError::Digital)?,
        };
        ArrayD::from_shape_vec(
            init.raw_dim(),
            out.into_iter()
                .map(|q| cim_nmdu::pointwise::from_fixed(q, fraction))
                .collect(),
        )
        .map_err(|error| malformed(op, error.to_string()))
    }

    /// Runs `@function` on `inputs` and returns its results.
    pub fn run(
        &self,
        function: &str,
        inputs: &[ArrayD<f64>],
    ) -> Result<Vec<ArrayD<f64>>, InterpError> {
        self.run_observed(function, inputs, &mut |_, _, _| {})
    }

    /// [`run`](Self::run), calling `observer` after every `cim.mvm`.
    pub fn run_observed(
        &self,
        function: &str,
        inputs: &[ArrayD<f64>],
        observer: MvmObserver,
    ) -> Result<Vec<ArrayD<f64>>, InterpError> {
        let func = operations(self.module.body())
            .find(|op| {
                op_name(op) == "func.func"
                    && string_attribute(op, "sym_name").as_deref() == Some(function)
            })
            .ok_or_else(|| InterpError::NoFunction(function.to_owned()))?;
        let block = func
            .region(0)
            .ok()
            .and_then(|region| region.first_block())
            .ok_or_else(|| InterpError::NoFunction(function.to_owned()))?;
        if block.argument_count() != inputs.len() {
            return Err(InterpError::Arity {
                function: function.to_owned(),
                expected: block.argument_count(),
                got: inputs.len(),
            });
        }
        // Values belong to this run: driven inputs of an earlier one do not.
        self.driven.borrow_mut().clear();
        let mut env: HashMap<usize, RtValue> = HashMap::new();
        for (index, input) in inputs.iter().enumerate() {
            let argument: Value = block.argument(index).expect("counted above").into();
            let expected = TensorShape::of_value(argument);
            let fits = expected.as_ref().is_some_and(|shape| {
                shape.rank() == input.ndim()
                    && shape
                        .dims
                        .iter()
                        .zip(input.shape())
                        .all(|(dim, &got)| dim.is_none_or(|dim| dim as usize == got))
            });
            if !fits || input.iter().any(|value| value.is_nan()) {
                return Err(InterpError::InputShape {
                    index,
                    expected: argument.r#type().to_string(),
                    got: input.shape().to_vec(),
                });
            }
            env.insert(key(argument), RtValue::Tensor(input.clone()));
        }
        for op in operations(block) {
            if op_name(&op) == "func.return" {
                return op
                    .operands()
                    .map(|value| tensor(&env, &op, value))
                    .collect();
            }
            let results = match &self.plan {
                Some(plan) if plan.skipped.contains(&mvm_key(&op)) => continue,
                Some(plan) => match plan.groups.get(&mvm_key(&op)) {
                    Some(group) => vec![RtValue::Tensor(self.run_group(&op, group, &env)?)],
                    None => self.step(&op, &env, observer)?,
                },
                None => self.step(&op, &env, observer)?,
            };
            for (index, result) in results.into_iter().enumerate() {
                let value: Value = op
                    .result(index)
                    .map_err(|_| malformed(&op, "result count"))?
                    .into();
                env.insert(key(value), result);
            }
        }
        Err(InterpError::Unsupported(
            "function without func.return".into(),
        ))
    }

    /// Converts `output` (an MVM's result on columns `c0..` of `array`) through an
    /// ADC of `bits` over [lo, hi], in place: quantization, and on a chip the ADC's
    /// noise (its own stream per conversion) and column errors.
    #[allow(clippy::too_many_arguments)]
    fn convert(
        &self,
        op: &OperationRef,
        output: &mut ArrayD<f64>,
        array: &str,
        c0: usize,
        bits: i64,
        lo: f64,
        hi: f64,
    ) -> Result<(), InterpError> {
        let width = output.shape().last().copied().unwrap_or(1).max(1);
        let values = output
            .as_slice_mut()
            .ok_or_else(|| malformed(op, "result not contiguous"))?;
        match &self.adc {
            Some((adc, root, count)) if !adc.is_ideal() => {
                // This block's columns' gains and offsets, once.
                let errors: Vec<ColumnError> = (0..width)
                    .map(|j| {
                        self.columns
                            .get(array)
                            .and_then(|columns| columns.get(c0 + j))
                            .copied()
                            .unwrap_or(ColumnError {
                                gain: 1.0,
                                offset: 0.0,
                            })
                    })
                    .collect();
                let stream = root.fork(count.get());
                count.set(count.get() + 1);
                let noisy = adc.noise > 0.0;
                // Noise alone (the common case) needs no per-column work.
                let plain = !adc.has_column_errors() && adc.s_curve == 0.0;
                let sigma = adc.noise * (hi - lo);
                for_chunks(values, CHUNK_ROWS * width, |index, chunk| {
                    let mut rng = stream.fork(index as u64);
                    if plain {
                        for y in chunk.iter_mut() {
                            *y = quantize(*y + sigma * rng.normal(), bits, lo, hi);
                        }
                        return;
                    }
                    for row in chunk.chunks_mut(width) {
                        for (y, error) in row.iter_mut().zip(&errors) {
                            let draw = if noisy { rng.normal() } else { 0.0 };
                            let analog = adc.analog(*y, lo, hi, *error, draw);
                            *y = quantize(analog, bits, lo, hi);
                        }
                    }
                });
            }
            _ => for_chunks(values, CHUNK_ROWS * width, |_, chunk| {
                for y in chunk {
                    *y = quantize(*y, bits, lo, hi);
                }
            }),
        }
        Ok(())
    }

    fn step(
        &self,
        op: &OperationRef,
        env: &HashMap<usize, RtValue>,
        observer: MvmObserver,
    ) -> Result<Vec<RtValue>, InterpError> {
        let operand = |index: usize| -> Result<ArrayD<f64>, InterpError> {
            tensor(
                env,
                op,
                op.operand(index)
                    .map_err(|_| malformed(op, "missing operand"))?,
            )
        };
        let all = || -> Result<Vec<ArrayD<f64>>, InterpError> {
            op.operands().map(|value| tensor(env, op, value)).collect()
        };
        // Borrowed operands: large tensors are read, not copied.
        let borrowed = |index: usize| -> Result<&ArrayD<f64>, InterpError> {
            let value = op
                .operand(index)
                .map_err(|_| malformed(op, "missing operand"))?;
            tensor_ref(env, op, value)
        };
        let all_borrowed = || -> Result<Vec<&ArrayD<f64>>, InterpError> {
            op.operands()
                .map(|value| tensor_ref(env, op, value))
                .collect()
        };
        let one = |value: ArrayD<f64>| Ok(vec![RtValue::Tensor(value)]);
        match op_name(op).as_str() {
            "arith.constant" => {
                let value = attribute(op, "value").ok_or_else(|| malformed(op, "no value"))?;
                if let Some(integer) = int_attribute(op, "value") {
                    return Ok(vec![RtValue::Index(integer)]);
                }
                if let Some(scalar) = float_attribute(op, "value") {
                    return Ok(vec![RtValue::Scalar(scalar)]);
                }
                let shape = cim_ir::query::attribute_shape(value)
                    .ok_or_else(|| malformed(op, "unsupported constant"))?;
                let values = read_dense_f32(value)
                    .ok_or_else(|| malformed(op, "only f32 tensor constants are supported"))?;
                let dims: Vec<usize> = shape
                    .dims
                    .iter()
                    .map(|dim| dim.unwrap_or(0) as usize)
                    .collect();
                one(ArrayD::from_shape_vec(
                    IxDyn(&dims),
                    values.into_iter().map(f64::from).collect(),
                )
                .map_err(|error| malformed(op, error.to_string()))?)
            }
            "tensor.dim" => {
                let source = operand(0)?;
                let RtValue::Index(axis) = operand_value(env, op, 1)? else {
                    return Err(malformed(op, "index operand is not an index"));
                };
                let size = *source
                    .shape()
                    .get(axis as usize)
                    .ok_or_else(|| malformed(op, "dimension out of range"))?;
                Ok(vec![RtValue::Index(size as i64)])
            }
            "tensor.empty" => {
                let shape = result_dims(op, env, 0)?;
                one(ArrayD::zeros(IxDyn(&shape)))
            }
            "tensor.collapse_shape" | "tensor.expand_shape" => {
                // Both keep the row-major order of the elements: a reshape.
                let source = operand(0)?;
                let shape = TensorShape::of_value(
                    op.result(0).map_err(|_| malformed(op, "no result"))?.into(),
                )
                .ok_or_else(|| malformed(op, "result is not a ranked tensor"))?;
                let known: usize = shape.dims.iter().flatten().map(|&d| d as usize).product();
                let dims: Vec<usize> = shape
                    .dims
                    .iter()
                    .map(|dim| dim.map_or(source.len() / known.max(1), |d| d as usize))
                    .collect();
                one(source
                    .as_standard_layout()
                    .into_owned()
                    .into_shape_with_order(IxDyn(&dims))
                    .map_err(|error| malformed(op, error.to_string()))?)
            }
            "tensor.pad" => {
                let source = operand(0)?;
                let low = i64_array_attribute(op, "static_low")
                    .ok_or_else(|| malformed(op, "no static_low"))?;
                let high = i64_array_attribute(op, "static_high")
                    .ok_or_else(|| malformed(op, "no static_high"))?;
                if low.iter().chain(&high).any(|&p| p < 0)
                    || low.len() != source.ndim()
                    || high.len() != source.ndim()
                {
                    return Err(malformed(
                        op,
                        "only static, non-negative padding is supported",
                    ));
                }
                let fill = pad_value(op, env)?;
                let dims: Vec<usize> = source
                    .shape()
                    .iter()
                    .zip(low.iter().zip(&high))
                    .map(|(&size, (&l, &h))| size + l as usize + h as usize)
                    .collect();
                let mut padded = ArrayD::from_elem(IxDyn(&dims), fill);
                let mut view = padded.view_mut();
                for (axis, &l) in low.iter().enumerate() {
                    let size = source.shape()[axis];
                    view.slice_axis_inplace(Axis(axis), Slice::from(l as usize..l as usize + size));
                }
                view.assign(&source);
                one(padded)
            }
            "tensor.extract_slice" => {
                let source = operand(0)?;
                let offsets = i64_array_attribute(op, "static_offsets")
                    .ok_or_else(|| malformed(op, "offsets"))?;
                let strides = i64_array_attribute(op, "static_strides")
                    .ok_or_else(|| malformed(op, "strides"))?;
                if offsets.iter().any(|&offset| offset < 0)
                    || strides.iter().any(|&stride| stride != 1)
                {
                    return Err(malformed(
                        op,
                        "only static offsets and unit strides are supported",
                    ));
                }
                let sizes = result_dims(op, env, 1)?;
                let mut view = source.view();
                for (axis, (&offset, &size)) in offsets.iter().zip(&sizes).enumerate() {
                    let (start, end) = (offset as usize, offset as usize + size);
                    if end > view.shape()[axis] {
                        return Err(malformed(op, "slice out of bounds"));
                    }
                    view.slice_axis_inplace(Axis(axis), Slice::from(start..end));
                }
                one(view.to_owned())
            }
            "arith.addf" => match (operand_value(env, op, 0)?, operand_value(env, op, 1)?) {
                (RtValue::Tensor(a), RtValue::Tensor(b)) if a.shape() == b.shape() => {
                    match self.nmdu_program(op) {
                        Some(program) => {
                            let mut unit = self.elementwise(program)?;
                            let mut sum = a;
                            for (x, &y) in sum.iter_mut().zip(&b) {
                                *x = unit.scalar(op, &[*x, y])?;
                            }
                            one(sum)
                        }
                        None => one(a + b),
                    }
                }
                (RtValue::Scalar(a), RtValue::Scalar(b)) => Ok(vec![RtValue::Scalar(a + b)]),
                _ => Err(malformed(
                    op,
                    "operands must be two tensors of one shape or two scalars",
                )),
            },
            "linalg.generic" => {
                if op.result_count() == 0 {
                    return Err(malformed(
                        op,
                        "only linalg.generic on tensors (with results) is supported",
                    ));
                }
                let inputs = all()?;
                let mode = match self.nmdu_program(op) {
                    Some(program) => generic::Mode::Fixed(self.elementwise(program)?),
                    None => generic::Mode::Float,
                };
                generic::run(op, env, inputs, mode)
            }
            "linalg.fill" => {
                let RtValue::Scalar(fill) = operand_value(env, op, 0)? else {
                    return Err(malformed(op, "the fill value must be a float scalar"));
                };
                one(operand(1)?.mapv(|_| fill))
            }
            "linalg.transpose" => {
                let permutation = i64_array_attribute(op, "permutation")
                    .ok_or_else(|| malformed(op, "no permutation"))?;
                let axes: Vec<usize> = permutation.iter().map(|&axis| axis as usize).collect();
                let source = operand(0)?;
                if axes.len() != source.ndim() {
                    return Err(malformed(op, "permutation length differs from the rank"));
                }
                one(source
                    .permuted_axes(IxDyn(&axes))
                    .as_standard_layout()
                    .into_owned())
            }
            "linalg.conv_2d_nchw_fchw" | "linalg.pooling_nchw_max" | "linalg.pooling_nchw_sum" => {
                let window = |name: &str| {
                    attribute(op, name)
                        .and_then(cim_ir::query::dense_i64_values)
                        .filter(|v| v.len() == 2 && v.iter().all(|&x| x >= 1))
                        .ok_or_else(|| malformed(op, format!("{name} must be two values >= 1")))
                };
                let (strides, dilations) = (window("strides")?, window("dilations")?);
                let (input, kernel, init) = (operand(0)?, operand(1)?, operand(2)?);
                let name = op_name(op);
                let conv = name == "linalg.conv_2d_nchw_fchw";
                // One step of the window: on the NMDU, its program (max, add, or
                // multiply-add, each rounded and saturated).
                let mut step: Box<dyn FnMut(f64, f64, f64) -> Result<f64, InterpError>> = match self
                    .nmdu_program(op)
                {
                    Some(program) => {
                        let mut unit = self.elementwise(program)?;
                        Box::new(move |acc, x, w| {
                            let mut result = [0.0];
                            let arguments = [acc, x, w];
                            unit.apply(op, &arguments[..if conv { 3 } else { 2 }], &mut result)?;
                            Ok(result[0])
                        })
                    }
                    None if conv => Box::new(|acc, x, w| Ok(acc + x * w)),
                    None if name == "linalg.pooling_nchw_max" => {
                        Box::new(|acc: f64, x, _| Ok(acc.max(x)))
                    }
                    None => Box::new(|acc, x, _| Ok(acc + x)),
                };
                one(window_op(
                    op,
                    conv,
                    &input,
                    &kernel,
                    init,
                    ([strides[0], strides[1]], [dilations[0], dilations[1]]),
                    &mut *step,
                )?)
            }
            "func.call" => {
                let callee = attribute(op, "callee")
                    .and_then(|a| FlatSymbolRefAttribute::try_from(a).ok())
                    .map(|s| s.value().to_owned())
                    .ok_or_else(|| malformed(op, "no callee"))?;
                let arguments = all()?;
                Ok(self
                    .run_observed(&callee, &arguments, observer)?
                    .into_iter()
                    .map(RtValue::Tensor)
                    .collect())
            }
            "linalg.matmul" => {
                let transposed = linalg_matmul_transposes_rhs(op).ok_or_else(|| {
                    malformed(
                        op,
                        "only (m,k)x(k,n) and (m,k)x(n,k) indexing maps are supported",
                    )
                })?;
                let (a, b, init) = (operand(0)?, operand(1)?, operand(2)?);
                let b: Array2<f64> = b
                    .into_dimensionality()
                    .map_err(|_| malformed(op, "right operand is not 2-D"))?;
                let b = if transposed {
                    b.reversed_axes().as_standard_layout().into_owned()
                } else {
                    b
                };
                if self.digital != Digital::Float {
                    return one(self.nmdu_matmul(op, &a, &b, &init)?);
                }
                one(init + matmul(op, &a, &b)?)
            }
            ops::MATMUL => {
                let (input, weight) = (operand(0)?, operand(1)?);
                one(matmul(
                    op,
                    &input,
                    &weight
                        .into_dimensionality()
                        .map_err(|_| malformed(op, "weight is not 2-D"))?,
                )?)
            }
            ops::MVM => {
                let array = attribute(op, "array")
                    .and_then(|attribute| FlatSymbolRefAttribute::try_from(attribute).ok())
                    .map(|symbol| symbol.value().to_owned())
                    .ok_or_else(|| malformed(op, "no array"))?;
                let weights = self
                    .arrays
                    .get(&array)
                    .ok_or_else(|| malformed(op, format!("no array @{array}")))?;
                let window = attribute(op, "window")
                    .and_then(Window::read)
                    .ok_or_else(|| malformed(op, "no window"))?;
                let input = borrowed(0)?;
                let cols = result_dims(op, env, usize::MAX)?[1];
                let rows = input.shape()[1];
                // The block the MVM reads: a view when it lies within the programmed
                // weights; else a copy in which cells beyond them hold zero.
                let (r0, c0) = (window.row as usize, window.col as usize);
                let inside = r0 + rows <= weights.nrows() && c0 + cols <= weights.ncols();
                let copied;
                let block = if inside {
                    weights.slice(ndarray::s![r0..r0 + rows, c0..c0 + cols])
                } else {
                    copied = Array2::from_shape_fn((rows, cols), |(r, c)| {
                        weights.get((r0 + r, c0 + c)).copied().unwrap_or(0.0)
                    });
                    copied.view()
                };
                let converter = |name: &str| attribute(op, name).and_then(Converter::read);
                let converted = self.fidelity != Fidelity::Exact;
                // What the DACs drive: MVMs that read one value through one DAC (the
                // arrays of a pair, the slices of a weight) share it.
                let quantized;
                let driven: &ArrayD<f64> = match (converted, converter("dac")) {
                    (true, Some(Converter::Dac { bits, lo, hi, .. })) => {
                        let key = (
                            key(op
                                .operand(0)
                                .map_err(|_| malformed(op, "missing operand"))?),
                            bits,
                            lo.to_bits(),
                            hi.to_bits(),
                        );
                        let known = self.driven.borrow().get(&key).cloned();
                        quantized = match known {
                            Some(driven) => driven,
                            None => {
                                let mut driven = input.as_standard_layout().into_owned();
                                let width = driven.shape().last().copied().unwrap_or(1).max(1);
                                if let Some(values) = driven.as_slice_mut() {
                                    for_chunks(values, CHUNK_ROWS * width, |_, chunk| {
                                        for x in chunk {
                                            *x = quantize(*x, bits, lo, hi);
                                        }
                                    });
                                }
                                let driven = std::rc::Rc::new(driven);
                                self.driven.borrow_mut().insert(key, driven.clone());
                                driven
                            }
                        };
                        &quantized
                    }
                    _ => input,
                };
                // The block's product with what the rows are driven with (`scale`
                // maps inputs to the lines' read voltage).
                let product =
                    |driven: &ArrayD<f64>, scale: f64| -> Result<ArrayD<f64>, InterpError> {
                        let output = match (&self.lines, self.cells.get(&array)) {
                            (Some(lines), Some(&(Some(bits), _, word_lines))) => {
                                let max_level = ((1u64 << bits.clamp(1, 52)) - 1) as f64;
                                let flat = driven
                                    .view()
                                    .into_dimensionality::<ndarray::Ix2>()
                                    .map_err(|_| malformed(op, "input is not 2-D"))?;
                                let leads = (c0, word_lines.saturating_sub(r0 + rows));
                                lines
                                    .product(
                                        flat,
                                        block,
                                        max_level,
                                        leads,
                                        scale.max(f64::MIN_POSITIVE),
                                    )
                                    .map_err(|error| malformed(op, error.to_string()))?
                                    .into_dyn()
                            }
                            _ => matmul(op, driven, &block)?,
                        };
                        // The ADC writes in place (a product is already in standard layout).
                        Ok(if output.is_standard_layout() {
                            output
                        } else {
                            output.as_standard_layout().into_owned()
                        })
                    };
                let dac_scale = match converter("dac") {
                    Some(Converter::Dac { lo, hi, .. }) => lo.abs().max(hi.abs()),
                    _ => 1.0,
                };
                match (converted, converter("adc")) {
                    (true, Some(Converter::AdcPerPlane { bits, lo, hi })) => {
                        let Some(Converter::Dac {
                            bits: planes,
                            mode: DacMode::BitSerial,
                            lo: x_lo,
                            hi: x_hi,
                        }) = converter("dac")
                        else {
                            return Err(malformed(op, "a per-plane ADC needs a bit-serial DAC"));
                        };
                        // x = x_lo + step·k, k = Σ_b 2^b k_b: each plane drives rows with
                        // 0 or 1 and is converted on its own; an offset range adds the
                        // all-ones plane, worth x_lo.
                        let step = (x_hi - x_lo) / ((1u64 << planes.clamp(1, 52)) - 1) as f64;
                        let driven = driven.as_standard_layout();
                        let x = driven.as_slice().expect("standard layout");
                        let width = driven.shape().last().copied().unwrap_or(1).max(1);
                        let piece = CHUNK_ROWS * width;
                        // The input levels, then each plane in one buffer, in parallel.
                        let mut levels = vec![0.0; x.len()];
                        for_chunks(&mut levels, piece, |index, chunk| {
                            for (k, &x) in chunk.iter_mut().zip(&x[index * piece..]) {
                                *k = ((x - x_lo) / step).round();
                            }
                        });
                        let planes = planes.clamp(1, 52) as u32;
                        let mut plane = ArrayD::zeros(driven.raw_dim());
                        let (mut analog, mut total) =
                            (ArrayD::zeros(IxDyn(&[0])), ArrayD::zeros(IxDyn(&[0])));
                        // `acc += worth · sums`, in parallel (the same sums as
                        // `scaled_add`).
                        let accumulate = |acc: &mut ArrayD<f64>, worth: f64, sums: &ArrayD<f64>| {
                            if acc.len() != sums.len() {
                                *acc = ArrayD::zeros(sums.raw_dim());
                            }
                            let piece =
                                CHUNK_ROWS * sums.shape().last().copied().unwrap_or(1).max(1);
                            let (Some(acc), Some(sums)) = (acc.as_slice_mut(), sums.as_slice())
                            else {
                                return;
                            };
                            for_chunks(acc, piece, |index, chunk| {
                                for (a, s) in chunk.iter_mut().zip(&sums[index * piece..]) {
                                    *a += worth * s;
                                }
                            });
                        };
                        // The bit planes, then (for an offset range) the all-ones one.
                        let count = planes + u32::from(x_lo != 0.0);
                        for b in 0..count {
                            let ones = b == planes;
                            let worth = if ones {
                                x_lo
                            } else {
                                step * (1u64 << b) as f64
                            };
                            let values = plane.as_slice_mut().expect("standard layout");
                            for_chunks(values, piece, |index, chunk| {
                                for (v, &k) in chunk.iter_mut().zip(&levels[index * piece..]) {
                                    *v = if ones {
                                        1.0
                                    } else {
                                        ((k as u64 >> b) & 1) as f64
                                    };
                                }
                            });
                            let mut sums = product(&plane, 1.0)?;
                            accumulate(&mut analog, worth, &sums);
                            self.convert(op, &mut sums, &array, c0, bits, lo, hi)?;
                            accumulate(&mut total, worth, &sums);
                        }
                        observer(mvm_key(op), input, &analog);
                        one(total)
                    }
                    (true, Some(Converter::Adc { bits, lo, hi })) => {
                        let mut output = product(driven, dac_scale)?;
                        observer(mvm_key(op), input, &output);
                        self.convert(op, &mut output, &array, c0, bits, lo, hi)?;
                        one(output)
                    }
                    _ => {
                        let output = product(driven, dac_scale)?;
                        observer(mvm_key(op), input, &output);
                        one(output)
                    }
                }
            }
            ops::ACCUMULATE => {
                let partials = all_borrowed()?;
                let (first, rest) = partials
                    .split_first()
                    .ok_or_else(|| malformed(op, "no operands"))?;
                let mut sum = (*first).clone();
                for partial in rest {
                    sum += *partial;
                }
                one(sum)
            }
            ops::CONCAT => {
                let dimension = int_attribute(op, "dimension")
                    .ok_or_else(|| malformed(op, "no dimension"))?
                    as usize;
                let tiles = all()?;
                let views: Vec<_> = tiles.iter().map(ArrayD::view).collect();
                one(concatenate(Axis(dimension), &views)
                    .map_err(|error| malformed(op, error.to_string()))?)
            }
            // ndarray broadcasts a trailing dimension of 1, as cim.diff specifies.
            "tensor.concat" => {
                let dimension =
                    int_attribute(op, "dim").ok_or_else(|| malformed(op, "no dim"))? as usize;
                let tiles = all()?;
                let views: Vec<_> = tiles.iter().map(ArrayD::view).collect();
                one(concatenate(Axis(dimension), &views)
                    .map_err(|error| malformed(op, error.to_string()))?)
            }
            ops::DIFF => one(borrowed(0)? - borrowed(1)?),
            ops::SHIFT_ADD => {
                let shifts =
                    i64_array_attribute(op, "shifts").ok_or_else(|| malformed(op, "no shifts"))?;
                let slices = all_borrowed()?;
                let first = slices.first().ok_or_else(|| malformed(op, "no operands"))?;
                let mut sum = ArrayD::zeros(first.raw_dim());
                for (slice, shift) in slices.iter().zip(shifts) {
                    // A power of two scales exactly: the same bits as a product and a sum.
                    sum.scaled_add(2f64.powi(shift as i32), *slice);
                }
                one(sum)
            }
            ops::AFFINE => {
                let input = borrowed(0)?;
                let column_vector = |name: &str| -> Result<ArrayD<f64>, InterpError> {
                    let values = attribute(op, name)
                        .and_then(read_dense_f32)
                        .ok_or_else(|| malformed(op, format!("{name} must be dense f32")))?;
                    Ok(ArrayD::from_shape_vec(
                        IxDyn(&[values.len()]),
                        values.into_iter().map(f64::from).collect(),
                    )
                    .expect("1-D"))
                };
                one(input * &column_vector("scale")? + &column_vector("offset")?)
            }
            ops::ADAPTER => {
                let (input, base) = (operand(0)?, operand(1)?);
                let matrix = |name: &str| -> Result<Array2<f64>, InterpError> {
                    let attribute =
                        attribute(op, name).ok_or_else(|| malformed(op, format!("no {name}")))?;
                    let shape = cim_ir::query::attribute_shape(attribute)
                        .ok_or_else(|| malformed(op, "shape"))?;
                    let values = read_dense_f32(attribute)
                        .ok_or_else(|| malformed(op, format!("{name} must be dense f32")))?;
                    Array2::from_shape_vec(
                        (
                            shape.dims[0].unwrap_or(0) as usize,
                            shape.dims[1].unwrap_or(0) as usize,
                        ),
                        values.into_iter().map(f64::from).collect(),
                    )
                    .map_err(|error| malformed(op, error.to_string()))
                };
                let (down, up) = (matrix("down")?, matrix("up")?);
                if self.digital != Digital::Float {
                    let mut shape = input.shape().to_vec();
                    if let Some(last) = shape.last_mut() {
                        *last = down.ncols();
                    }
                    let zeros = ArrayD::zeros(IxDyn(&shape));
                    let low = self.nmdu_matmul(op, &input, &down, &zeros)?;
                    return one(self.nmdu_matmul(op, &low, &up, &base)?);
                }
                let low = matmul(op, &input, &down)?;
                one(base + matmul(op, &low, &up)?)
            }
            ops::QUANTIZE => {
                let input = operand(0)?;
                let (scale, zero) = scale_and_zero(op)?;
                let bits = int_attribute(op, "bits").ok_or_else(|| malformed(op, "no bits"))?;
                let unsigned = TensorShape::of_value(
                    op.result(0).map_err(|_| malformed(op, "result"))?.into(),
                )
                .is_some_and(|shape| is_unsigned(shape.element));
                let (lo, hi) = if unsigned {
                    (0.0, 2f64.powi(bits as i32) - 1.0)
                } else {
                    (
                        -(2f64.powi(bits as i32 - 1)),
                        2f64.powi(bits as i32 - 1) - 1.0,
                    )
                };
                one(input.mapv(|x| ((x / scale).round_ties_even() + zero).clamp(lo, hi)))
            }
            ops::DEQUANTIZE => {
                let input = operand(0)?;
                let (scale, zero) = scale_and_zero(op)?;
                one(input.mapv(|q| (q - zero) * scale))
            }
            other => Err(InterpError::Unsupported(other.to_owned())),
        }
    }
}

/// The `scale` and `zero_point` of a quantize or dequantize.
fn scale_and_zero(op: &OperationRef) -> Result<(f64, f64), InterpError> {
    let scale = float_attribute(op, "scale").ok_or_else(|| malformed(op, "no scale"))?;
    let zero = int_attribute(op, "zero_point").ok_or_else(|| malformed(op, "no zero_point"))?;
    Ok((scale, zero as f64))
}

/// The constant a `tensor.pad` fills with: yielded by its region, defined inside it
/// or above.
fn pad_value(op: &OperationRef, env: &HashMap<usize, RtValue>) -> Result<f64, InterpError> {
    let block = op
        .region(0)
        .ok()
        .and_then(|region| region.first_block())
        .ok_or_else(|| malformed(op, "no padding region"))?;
    let yielded = operations(block)
        .find(|inner| op_name(inner) == "tensor.yield")
        .and_then(|inner| inner.operand(0).ok())
        .ok_or_else(|| malformed(op, "the padding region yields nothing"))?;
    if let Some(RtValue::Scalar(value)) = env.get(&key(yielded)) {
        return Ok(*value);
    }
    cim_ir::query::defining_op(yielded)
        .filter(|def| op_name(def) == "arith.constant")
        .and_then(|def| float_attribute(&def, "value"))
        .ok_or_else(|| malformed(op, "the padding value must be a float constant"))
}

fn is_unsigned(r#type: melior::ir::Type) -> bool {
    // SAFETY: queries on a valid type.
    unsafe {
        mlir_sys::mlirTypeIsAInteger(r#type.to_raw())
            && mlir_sys::mlirIntegerTypeIsUnsigned(r#type.to_raw())
    }
}

/// The runtime value of operand `index` of `op`.
fn operand_value(
    env: &HashMap<usize, RtValue>,
    op: &OperationRef,
    index: usize,
) -> Result<RtValue, InterpError> {
    value(
        env,
        op,
        op.operand(index)
            .map_err(|_| malformed(op, "missing operand"))?,
    )
}

fn value(
    env: &HashMap<usize, RtValue>,
    op: &OperationRef,
    value: Value,
) -> Result<RtValue, InterpError> {
    env.get(&key(value))
        .cloned()
        .ok_or_else(|| malformed(op, "operand has no value (defined by an unsupported op?)"))
}

fn tensor_ref<'e>(
    env: &'e HashMap<usize, RtValue>,
    op: &OperationRef,
    operand: Value,
) -> Result<&'e ArrayD<f64>, InterpError> {
    match env.get(&key(operand)) {
        Some(RtValue::Tensor(tensor)) => Ok(tensor),
        Some(_) => Err(malformed(op, "expected a tensor operand, got a scalar")),
        None => Err(malformed(
            op,
            "operand has no value (defined by an unsupported op?)",
        )),
    }
}

fn tensor(
    env: &HashMap<usize, RtValue>,
    op: &OperationRef,
    operand: Value,
) -> Result<ArrayD<f64>, InterpError> {
    match value(env, op, operand)? {
        RtValue::Tensor(tensor) => Ok(tensor),
        RtValue::Index(_) | RtValue::Scalar(_) => {
            Err(malformed(op, "expected a tensor operand, got a scalar"))
        }
    }
}

/// The result's dimensions: static ones from its type, dynamic ones from the index
/// operands starting at `first_dynamic` (in order), as `tensor.empty` and
/// `tensor.extract_slice` take them. With `usize::MAX`, dynamic sizes are not needed
/// and read as 0.
fn result_dims(
    op: &OperationRef,
    env: &HashMap<usize, RtValue>,
    first_dynamic: usize,
) -> Result<Vec<usize>, InterpError> {
    let shape = TensorShape::of_value(op.result(0).map_err(|_| malformed(op, "no result"))?.into())
        .ok_or_else(|| malformed(op, "result is not a ranked tensor"))?;
    let mut next = first_dynamic;
    shape
        .dims
        .iter()
        .map(|dim| match dim {
            Some(size) => Ok(*size as usize),
            None if first_dynamic == usize::MAX => Ok(0),
            None => {
                let operand = op
                    .operand(next)
                    .map_err(|_| malformed(op, "missing dynamic size"))?;
                next += 1;
                match value(env, op, operand)? {
                    RtValue::Index(size) if size >= 0 => Ok(size as usize),
                    _ => Err(malformed(op, "dynamic size is not a non-negative index")),
                }
            }
        })
        .collect()
}

/// A 2-D window operation on NCHW values, accumulated into `init` by `step(acc,
/// x, w)`: the NCHW x FCHW convolution (`conv`), or max / sum pooling (the kernel
/// operand only gives the window; `w` is 0).
fn window_op(
    op: &OperationRef,
    conv: bool,
    input: &ArrayD<f64>,
    kernel: &ArrayD<f64>,
    mut init: ArrayD<f64>,
    (strides, dilations): ([i64; 2], [i64; 2]),
    step: &mut dyn FnMut(f64, f64, f64) -> Result<f64, InterpError>,
) -> Result<ArrayD<f64>, InterpError> {
    let (kh, kw) = (
        kernel.shape()[kernel.ndim() - 2],
        kernel.shape()[kernel.ndim() - 1],
    );
    if input.ndim() != 4
        || init.ndim() != 4
        || (conv && (kernel.ndim() != 4 || kernel.shape()[1] != input.shape()[1]))
    {
        return Err(malformed(op, "operands do not fit NCHW / FCHW"));
    }
    let [n, outs, oh, ow] = [
        init.shape()[0],
        init.shape()[1],
        init.shape()[2],
        init.shape()[3],
    ];
    let channels = input.shape()[1];
    for b in 0..n {
        for o in 0..outs {
            for y in 0..oh {
                for x in 0..ow {
                    let mut acc = init[[b, o, y, x]];
                    for i in 0..kh {
                        for j in 0..kw {
                            let (r, c) = (
                                y * strides[0] as usize + i * dilations[0] as usize,
                                x * strides[1] as usize + j * dilations[1] as usize,
                            );
                            if r >= input.shape()[2] || c >= input.shape()[3] {
                                return Err(malformed(op, "the window reads outside the input"));
                            }
                            if conv {
                                for ch in 0..channels {
                                    acc = step(acc, input[[b, ch, r, c]], kernel[[o, ch, i, j]])?;
                                }
                            } else {
                                acc = step(acc, input[[b, o, r, c]], 0.0)?;
                            }
                        }
                    }
                    init[[b, o, y, x]] = acc;
                }
            }
        }
    }
    Ok(init)
}

/// `input . weight` over the last axis of `input`.
fn matmul<S: ndarray::Data<Elem = f64>>(
    op: &OperationRef,
    input: &ArrayD<f64>,
    weight: &ndarray::ArrayBase<S, ndarray::Ix2>,
) -> Result<ArrayD<f64>, InterpError> {
    let shape = input.shape().to_vec();
    let k = *shape
        .last()
        .ok_or_else(|| malformed(op, "input has rank 0"))?;
    if k != weight.nrows() {
        return Err(malformed(
            op,
            format!(
                "input inner dimension {k} vs weight rows {}",
                weight.nrows()
            ),
        ));
    }
    let rows = input.len() / k.max(1);
    let flat = input
        .to_shape((rows, k))
        .map_err(|error| malformed(op, error.to_string()))?;
    let n = weight.ncols();
    let mut product = Array2::<f64>::zeros((rows, n));
    let weight = weight.view();
    let values = product.as_slice_mut().expect("a new array is contiguous");
    for_chunks(values, GEMM_ROWS * n.max(1), |index, chunk| {
        let start = index * GEMM_ROWS;
        let count = chunk.len() / n.max(1);
        let mut target =
            ndarray::ArrayViewMut2::from_shape((count, n), chunk).expect("chunks hold whole rows");
        ndarray::linalg::general_mat_mul(
            1.0,
            &flat.slice(ndarray::s![start..start + count, ..]),
            &weight,
            0.0,
            &mut target,
        );
    });
    let mut out_shape = shape;
    *out_shape.last_mut().expect("rank >= 1") = weight.ncols();
    product
        .into_shape_with_order(IxDyn(&out_shape))
        .map_err(|error| malformed(op, error.to_string()))
}
