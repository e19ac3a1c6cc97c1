#![warn(missing_docs)]
//! The simulated crossbar runtime: runs a mapped module as a chip would, at a
//! [`Fidelity`] the user picks, to predict the accuracy of the real chip.
//!
//! The exact semantics of every op are `cim-interp`'s; the [`Simulator`] takes over,
//! through its [`Backend`] hook, what hardware does differently. One effect, one
//! file:
//!
//! | file | what it models |
//! | --- | --- |
//! | [`chip`] | programming a chip: cell levels into devices (`cim-device`), one device or a device pair per cell, read back after drift, per-column ADC errors drawn |
//! | [`compensation`] | drift compensation from readouts through each MVM's converters, applied after conversion |
//! | [`dac`] | the input DACs: levels, one conversion shared by the MVMs that read it, bit planes |
//! | [`adapters`] | digital corrections of analog layers (per-column affine, low-rank adapter) fitted from calibration rows, and the hook a run calls at each |
//! | [`adc`] | the output ADCs: quantization, noise, column gain and offset, S-curve; managed (symmetric) ADCs and their saturation |
//! | [`levels`] | a converter's levels: full range, or symmetric about 0 (managed converters) |
//! | [`irdrop`] | resistive word and bit lines (exact nodal solve or approximation), and aihwkit's empirical IR drop |
//! | [`read_noise`] | weight noise at every read (aihwkit's `PCM_READ`) |
//! | [`mvm`] | the `cim.mvm` executor that puts them together |
//! | [`digital`] | where the digital work runs: `f64`, or the NMDU (`backends/nmdu`) |
//! | [`montecarlo`] | many chips of one design, each seeded |
//! | [`program`] | the crossbar program a chip loader takes (JSON, safetensors, MLIR) |
//!
//! Every random effect draws from a stream of the chip's seed, and work is cut into
//! pieces the same way on every machine: the same seed gives the same bits
//! whatever the thread count.

pub mod adapters;
pub mod adc;
pub mod chip;
pub mod compensation;
pub mod dac;
pub mod digital;
pub mod irdrop;
pub mod levels;
pub mod montecarlo;
pub mod mvm;
pub mod program;
pub mod read_noise;

pub use chip::Chip;
pub use digital::Digital;

use chip::{ArrayCells, Programmed, ReadBlock};
use cim_interp::{Backend, Env, InterpError, Interpreter, Operands, RtValue, ScalarUnit};
use cim_ir::{
    dialect::ops,
    mapped::{CrossbarOp, MvmOp},
    query::op_name,
};
use cim_nmdu::{Format, exec::Executor, lower::Plan};
use melior::ir::{Module, OperationRef};
use ndarray::{Array2, ArrayD};
use std::collections::HashMap;

/// How faithfully `cim.mvm` is executed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fidelity {
    /// The exact semantics: converters are ideal.
    #[default]
    Exact,
    /// Inputs go through the MVM's DAC (clipped to its range, rounded to its levels)
    /// and results through its ADC (once per MVM, or once per input bit plane as
    /// the ADC says); weights are the programmed cell levels.
    Quantized,
    /// Quantized, on a programmed chip: every cell holds what its device reads
    /// ([`Simulator::program`]: programming noise, drift, read noise, faults,
    /// drift compensation), and each conversion adds the ADC's errors.
    Full,
}

/// A mapped module ready to run as a chip would.
pub struct Simulator<'m, 'c> {
    pub(crate) interpreter: Interpreter<'m, 'c>,
    pub(crate) cells: HashMap<String, ArrayCells>,
    /// Which cells of each array the MVMs read, row-major (all a chip programs),
    /// for the arrays they do not read whole.
    read: HashMap<String, Vec<bool>>,
    /// The module's cell levels as the quantized runtime reads them (f32).
    levels: HashMap<String, Array2<f32>>,
    fidelity: Fidelity,
    pub(crate) chip: Option<Programmed>,
    nmdu: Option<(Executor, Format)>,
    pub(crate) driven: dac::Driven,
    /// Each MVM's drift-compensation factor on the programmed chip (by op id).
    pub(crate) compensation: HashMap<usize, compensation::Factor>,
}

impl<'m, 'c> Simulator<'m, 'c> {
    /// Reads the module's arrays; runs at exact fidelity until told otherwise.
    pub fn new(module: &'m Module<'c>) -> Result<Self, InterpError> {
        let interpreter = Interpreter::new(module)?;
        let cells: HashMap<String, ArrayCells> = CrossbarOp::all(module.as_operation())
            .into_iter()
            .enumerate()
            .map(|(index, array)| {
                let cells = ArrayCells {
                    bits: array.cell_bits(),
                    index,
                    word_lines: array.geometry.rows as usize,
                    pair: array.sign == "pair",
                };
                (array.name, cells)
            })
            .collect();
        let mut blocks: HashMap<String, Vec<ReadBlock>> = HashMap::new();
        for mvm in MvmOp::all(module.as_operation()) {
            // An MVM without a window (malformed: its run reports it) reads all.
            let Some(array) = mvm.array() else { continue };
            let block = match mvm.window() {
                Some(window) => ReadBlock {
                    row: window.row as usize,
                    col: window.col as usize,
                    rows: mvm.rows() as usize,
                    cols: mvm.cols() as usize,
                },
                None => ReadBlock {
                    row: 0,
                    col: 0,
                    rows: usize::MAX,
                    cols: usize::MAX,
                },
            };
            blocks.entry(array).or_default().push(block);
        }
        let read = cells
            .keys()
            .filter_map(|name| {
                let shape = interpreter.array(name)?.dim();
                let blocks = blocks.get(name).map_or(&[][..], Vec::as_slice);
                Some((name.clone(), chip::read_mask(shape, blocks)?))
            })
            .collect();
        Ok(Self {
            interpreter,
            cells,
            read,
            levels: HashMap::new(),
            fidelity: Fidelity::Exact,
            chip: None,
            nmdu: None,
            driven: Default::default(),
            compensation: HashMap::new(),
        })
    }

    /// The same simulator at another fidelity.
    pub fn with_fidelity(mut self, fidelity: Fidelity) -> Self {
        self.fidelity = fidelity;
        if fidelity == Fidelity::Quantized && self.levels.is_empty() {
            self.levels = self
                .cells
                .keys()
                .filter_map(|name| {
                    let levels = self.interpreter.array(name)?;
                    Some((name.clone(), levels.mapv(|level| level as f32)))
                })
                .collect();
        }
        self
    }

    /// Programs the arrays onto `chip` and reads them `chip.time` seconds later:
    /// from now on the simulator runs at [`Fidelity::Full`]. Every array must be
    /// bit-sliced (`cell = #cim.cell<bits>`): its weights are cell levels.
    pub fn program(mut self, chip: &Chip) -> Result<Self, InterpError> {
        self.reprogram(chip)?;
        Ok(self)
    }

    /// [`Self::program`] in place: the chip it held is replaced by a new one, the
    /// module's arrays read once for every chip of a Monte Carlo run.
    pub fn reprogram(&mut self, chip: &Chip) -> Result<(), InterpError> {
        let interpreter = &self.interpreter;
        self.chip = Some(chip::program(chip, &self.cells, &self.read, |name| {
            interpreter.array(name)
        })?);
        self.fidelity = Fidelity::Full;
        // Readouts draw from their own streams of the seed (beyond the arrays').
        let readouts = cim_device::rng::DeviceRng::new(chip.seed).fork(1 << 62);
        self.compensation =
            compensation::factors(self, chip.devices.drift_compensation, &readouts)?;
        if let Some(programmed) = &mut self.chip {
            programmed.at_programming = HashMap::new();
        }
        self.fold_compensation()
    }

    /// On the NMDU, the chip's drift compensation is the kernels': each MVM's
    /// factors become part of its multipliers.
    fn fold_compensation(&mut self) -> Result<(), InterpError> {
        let factors: cim_nmdu::lower::Factors = self
            .compensation
            .iter()
            .map(|(&op, factor)| {
                let factors = match factor {
                    compensation::Factor::Global(factor) => vec![*factor],
                    compensation::Factor::PerColumn(factors) => factors.clone(),
                };
                (op, factors)
            })
            .collect();
        let module = self.interpreter.module().as_operation();
        if let Some((nmdu, format)) = &mut self.nmdu
            && !factors.is_empty()
        {
            nmdu.compensate(module, *format, &factors)?;
        }
        Ok(())
    }

    /// Runs the digital work on `digital` ([`Digital`]): on the NMDU, every tree of
    /// digital ops over MVM results is lowered to a fixed-point kernel in `format`
    /// and every other computing op to an NMDU program (`cim_nmdu::lower`). The
    /// NMDU reads ADC codes: runs must be at quantized or full fidelity.
    pub fn with_digital(mut self, digital: Digital, format: Format) -> Result<Self, InterpError> {
        self.nmdu = match digital.engine() {
            None => None,
            Some(engine) => Some((
                Executor::new(self.interpreter.module().as_operation(), format, engine)?,
                format,
            )),
        };
        self.fold_compensation()?;
        Ok(self)
    }

    /// The lowering of the digital work, when it runs on the NMDU.
    pub fn digital_plan(&self) -> Option<&Plan> {
        self.nmdu.as_ref().map(|(nmdu, _)| nmdu.plan())
    }

    /// The cell levels an array holds, as the runtime reads them: as programmed on
    /// the chip at full fidelity, else the module's.
    pub fn array(&self, name: &str) -> Option<&Array2<f32>> {
        match &self.chip {
            Some(chip) => chip.arrays.get(name),
            None => self.levels.get(name),
        }
    }

    /// Vectors the chip's ADCs have converted since it was programmed (every run,
    /// bound management's repeats and bit planes included); 0 off a chip.
    pub fn converted_vectors(&self) -> u64 {
        self.chip.as_ref().map_or(0, |chip| chip.adcs.vectors.get())
    }

    /// Whether the digital work runs on the NMDU (which folds drift compensation
    /// into its kernels).
    pub(crate) fn on_nmdu(&self) -> bool {
        self.nmdu.is_some()
    }

    /// Runs `@function` on `inputs` and returns its results.
    pub fn run(
        &self,
        function: &str,
        inputs: &[ArrayD<f64>],
    ) -> Result<Vec<ArrayD<f64>>, InterpError> {
        self.interpreter.run_with(self, function, inputs)
    }
}

impl Backend for Simulator<'_, '_> {
    fn start_run(&self) {
        self.driven.clear();
    }

    fn skips(&self, op: &OperationRef) -> bool {
        self.nmdu.as_ref().is_some_and(|(nmdu, _)| nmdu.skips(op))
    }

    fn run(&self, operands: Operands) -> Option<Result<Vec<RtValue>, InterpError>> {
        if let Some((nmdu, _)) = &self.nmdu
            && nmdu.runs(operands.op)
        {
            if self.fidelity == Fidelity::Exact {
                return Some(Err(InterpError::Digital(
                    "the NMDU reads ADC codes: run at quantized or full fidelity, or with float digital work".into(),
                )));
            }
            return nmdu.run(operands);
        }
        if self.fidelity != Fidelity::Exact && op_name(operands.op) == ops::MVM {
            return Some(mvm::run(self, operands).map(|output| vec![RtValue::Tensor(output)]));
        }
        None
    }

    fn scalar_unit(
        &self,
        op: &OperationRef,
        env: &Env,
    ) -> Result<Option<Box<dyn ScalarUnit + '_>>, InterpError> {
        match &self.nmdu {
            Some((nmdu, _)) => nmdu.scalar_unit(op, env),
            None => Ok(None),
        }
    }

    fn matmul(
        &self,
        op: &OperationRef,
        a: &ArrayD<f64>,
        b: &Array2<f64>,
        init: &ArrayD<f64>,
    ) -> Option<Result<ArrayD<f64>, InterpError>> {
        self.nmdu.as_ref()?.0.matmul(op, a, b, init)
    }
}
