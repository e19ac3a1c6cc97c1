//! The crossbar program: what a simulator or a chip loader needs, without MLIR.
//!
//! A directory with
//! * `program.json`: the arrays (geometry, place, cell bits, bit slice, sign
//!   encoding, the name of their weights) and the analog MVMs (array, window, input
//!   and output shapes, DAC and ADC), in program order, plus the entry function;
//! * `weights.safetensors`: every array's programmed block, f32, rows x cols;
//! * `program.mlir`: the whole mapped module, each array's weights named as the
//!   resource `dense_resource<ARRAY.weights>` of `weights.safetensors` (without the
//!   data); it holds the digital glue between the MVMs.
//!
//! [`read`] puts the weights back and gives the module to run (unverified: the
//! caller runs the verifier, as `cim_driver::artifact::read_program` does).

use cim_ir::{
    CimContext,
    attributes::{Converter, DacMode},
    build,
    diagnostics::DiagnosticSink,
    mapped::{CrossbarOp, MvmOp},
    query::{TensorShape, context_of},
    source::parse_module,
};
use melior::ir::{
    Attribute, Module,
    operation::{OperationLike, OperationMutLike},
};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, path::Path};
use thiserror::Error;

/// Why a crossbar program could not be written or read.
#[derive(Debug, Error)]
pub enum ProgramError {
    /// A file could not be read or written, or holds something else.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong and what to do.
        message: String,
    },
    /// `program.mlir` does not parse; the diagnostics say where.
    #[error("{path}: invalid input:\n{diagnostics}")]
    Input {
        /// The file.
        path: String,
        /// Rendered MLIR diagnostics.
        diagnostics: String,
    },
    /// The module is not a mapped program (the message says what is wrong).
    #[error("{0}")]
    Invalid(String),
}

/// The current program format.
pub const PROGRAM_FORMAT: u32 = 1;

/// One physical array.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ArrayEntry {
    /// Symbol name.
    pub name: String,
    /// Rows x cols of the physical array.
    pub geometry: [i64; 2],
    /// (chip, core, array), or `None` when unplaced.
    pub place: Option<[i64; 3]>,
    /// The round the array is programmed in, on a target reprogrammed between
    /// groups of layers (absent: the one round).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<i64>,
    /// Bits per cell, or `None` for analog cells.
    pub cell_bits: Option<i64>,
    /// Bit slice index and significance shift.
    pub slice: [i64; 2],
    /// `signed`, `positive`, `negative` or `offset`.
    pub sign: String,
    /// The tensor in `weights.safetensors` holding the programmed block.
    pub weights: String,
    /// Rows x cols of the programmed block.
    pub shape: [u64; 2],
}

/// A converter setting.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConverterEntry {
    /// No converter (infinite precision).
    Ideal,
    /// An input DAC.
    Dac {
        /// Resolution.
        bits: i64,
        /// `bit_serial` or `multi_level`.
        mode: String,
        /// Input range.
        range: [f64; 2],
    },
    /// An output ADC.
    Adc {
        /// Resolution.
        bits: i64,
        /// Output range.
        range: [f64; 2],
    },
    /// An output ADC converting each bit plane of a bit-serial input.
    AdcPerPlane {
        /// Resolution.
        bits: i64,
        /// Range of one plane's sum, in cell levels.
        range: [f64; 2],
    },
    /// A managed input DAC: each input vector scaled (`none`, `abs_max`,
    /// `constant`), then 2^bits − 1 symmetric levels over ±bound.
    DacManaged {
        /// Resolution.
        bits: i64,
        /// How each vector's scale is chosen.
        scaling: String,
        /// The scale of `constant` scaling.
        constant: f64,
        /// The levels span ±bound.
        bound: f64,
    },
    /// A managed output ADC: 2^bits − 1 symmetric levels over ±bound, and
    /// bound management over `passes` conversions.
    AdcManaged {
        /// Resolution.
        bits: i64,
        /// The levels span ±bound.
        bound: f64,
        /// Conversions at most per input vector.
        passes: i64,
    },
}

impl From<Converter> for ConverterEntry {
    fn from(converter: Converter) -> Self {
        match converter {
            Converter::Ideal => Self::Ideal,
            Converter::Dac { bits, mode, lo, hi } => Self::Dac {
                bits,
                mode: match mode {
                    DacMode::BitSerial => "bit_serial",
                    DacMode::MultiLevel => "multi_level",
                }
                .into(),
                range: [lo, hi],
            },
            Converter::Adc { bits, lo, hi } => Self::Adc {
                bits,
                range: [lo, hi],
            },
            Converter::AdcPerPlane { bits, lo, hi } => Self::AdcPerPlane {
                bits,
                range: [lo, hi],
            },
            Converter::DacManaged {
                bits,
                scaling,
                constant,
                bound,
            } => Self::DacManaged {
                bits,
                scaling: scaling.as_str().into(),
                constant,
                bound,
            },
            Converter::AdcManaged {
                bits,
                bound,
                passes,
            } => Self::AdcManaged {
                bits,
                bound,
                passes,
            },
        }
    }
}

/// One analog matrix-vector product, in program order.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MvmEntry {
    /// The array it reads.
    pub array: String,
    /// Top-left corner of the block read.
    pub window: [i64; 2],
    /// Input shape (`null` for a dynamic batch).
    pub input: Vec<Option<u64>>,
    /// Output shape.
    pub output: Vec<Option<u64>>,
    /// Input converter.
    pub dac: ConverterEntry,
    /// Output converter.
    pub adc: ConverterEntry,
}

/// `program.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Program {
    /// Format version.
    pub format: u32,
    /// The entry function.
    pub function: String,
    /// Every array of the module, in module order.
    pub arrays: Vec<ArrayEntry>,
    /// Every MVM, in program order.
    pub mvms: Vec<MvmEntry>,
}

fn file_error(path: &Path, message: impl ToString) -> ProgramError {
    ProgramError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Writes the crossbar program of a mapped `module` into `dir`.
pub fn write(module: &Module, function: &str, dir: &Path) -> Result<Program, ProgramError> {
    let mut arrays = Vec::new();
    let mut blocks: BTreeMap<String, (Vec<u8>, [usize; 2])> = BTreeMap::new();
    for op in cim_ir::mapped::crossbar_ops(module.as_operation()) {
        let array = CrossbarOp::read(op).ok_or_else(|| {
            ProgramError::Invalid(format!(
                "{}: a cim.crossbar lacks an attribute (run cim-verify)",
                op.location()
            ))
        })?;
        let name = array.name.clone();
        let weights = array.weights().map_err(|what| {
            ProgramError::Invalid(format!("array @{name}: {what} (run cim-verify)"))
        })?;
        let [rows, cols] = weights.shape;
        let tensor = format!("{name}.weights");
        blocks.insert(
            tensor.clone(),
            (
                weights
                    .values
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
                [rows as usize, cols as usize],
            ),
        );
        arrays.push(ArrayEntry {
            geometry: [array.geometry.rows, array.geometry.cols],
            place: array.placed().map(|p| [p.chip, p.core, p.array]),
            round: array.round(),
            cell_bits: array.cell_bits(),
            slice: [array.slice.index, array.slice.shift],
            sign: array.sign.clone(),
            weights: tensor,
            shape: [rows, cols],
            name,
        });
    }
    let shape = |value: melior::ir::Value| {
        TensorShape::of_value(value)
            .map(|s| s.dims)
            .unwrap_or_default()
    };
    let mvms = MvmOp::all(module.as_operation())
        .iter()
        .map(|mvm| {
            let window = mvm
                .window()
                .unwrap_or(cim_ir::attributes::Window { row: 0, col: 0 });
            MvmEntry {
                array: mvm.array().unwrap_or_default(),
                window: [window.row, window.col],
                input: shape(mvm.input()),
                output: shape(mvm.result()),
                dac: mvm.dac().unwrap_or(Converter::Ideal).into(),
                adc: mvm.adc().unwrap_or(Converter::Ideal).into(),
            }
        })
        .collect();
    let program = Program {
        format: PROGRAM_FORMAT,
        function: function.to_owned(),
        arrays,
        mvms,
    };

    std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    let views: Vec<(String, TensorView)> = blocks
        .iter()
        .map(|(name, (bytes, shape))| {
            TensorView::new(Dtype::F32, shape.to_vec(), bytes).map(|view| (name.clone(), view))
        })
        .collect::<Result<_, _>>()
        .map_err(|e| ProgramError::Invalid(e.to_string()))?;
    let weights_path = dir.join("weights.safetensors");
    safetensors::serialize_to_file(views, None, &weights_path)
        .map_err(|e| file_error(&weights_path, e))?;
    let json =
        serde_json::to_string_pretty(&program).map_err(|e| ProgramError::Invalid(e.to_string()))?;
    let json_path = dir.join("program.json");
    std::fs::write(&json_path, json).map_err(|e| file_error(&json_path, e))?;
    // program.mlir names each array's weights as a resource of weights.safetensors
    // (`dense_resource<name.weights>`, without the data), in a copy of the module.
    let copy = Module::parse(
        context_of(&module.as_operation()),
        &module.as_operation().to_string(),
    )
    .ok_or_else(|| ProgramError::Invalid("the mapped module does not print back".into()))?;
    for array in CrossbarOp::all(copy.as_operation()) {
        let name = &array.name;
        let entry = program
            .arrays
            .iter()
            .find(|a| &a.name == name)
            .expect("every array was listed above");
        let text = format!(
            "dense_resource<{}> : tensor<{}x{}xf32>",
            entry.weights, entry.shape[0], entry.shape[1]
        );
        let reference = Attribute::parse(context_of(&array.op), &text).ok_or_else(|| {
            ProgramError::Invalid(format!(
                "array @{name}: its name does not make a resource key"
            ))
        })?;
        array.op_mut().set_attribute("weights", reference);
    }
    let text = copy.as_operation().to_string();
    let mlir_path = dir.join("program.mlir");
    std::fs::write(&mlir_path, text).map_err(|e| file_error(&mlir_path, e))?;
    Ok(program)
}

/// Reads a crossbar program back: `program.mlir` with every array's weights restored
/// from `weights.safetensors`, and `program.json`. The module is not verified.
pub fn read<'c>(cim: &'c CimContext, dir: &Path) -> Result<(Module<'c>, Program), ProgramError> {
    let json_path = dir.join("program.json");
    let text = std::fs::read_to_string(&json_path).map_err(|e| {
        file_error(
            &json_path,
            format!("{e}: is this a directory written by cim-translate --to-crossbar-program?"),
        )
    })?;
    let program: Program = serde_json::from_str(&text).map_err(|e| file_error(&json_path, e))?;
    if program.format != PROGRAM_FORMAT {
        return Err(file_error(
            &json_path,
            format!("program format {} is not {PROGRAM_FORMAT}", program.format),
        ));
    }
    let weights_path = dir.join("weights.safetensors");
    let bytes = std::fs::read(&weights_path).map_err(|e| file_error(&weights_path, e))?;
    let tensors = SafeTensors::deserialize(&bytes).map_err(|e| file_error(&weights_path, e))?;
    let mlir_path = dir.join("program.mlir");
    let source = std::fs::read_to_string(&mlir_path).map_err(|e| file_error(&mlir_path, e))?;
    let name = mlir_path.display().to_string();
    let sink = DiagnosticSink::attach(cim.context());
    let module = parse_module(cim.context(), &source, &name).ok_or_else(|| {
        let lookup = |file: &str| (file == name).then(|| source.clone());
        ProgramError::Input {
            diagnostics: sink.take().iter().map(|d| d.render(&lookup)).collect(),
            path: name.clone(),
        }
    })?;
    drop(sink);
    for array in CrossbarOp::all(module.as_operation()) {
        let name = &array.name;
        let entry = program
            .arrays
            .iter()
            .find(|a| &a.name == name)
            .ok_or_else(|| {
                file_error(
                    &json_path,
                    format!("array @{name} of program.mlir is not listed"),
                )
            })?;
        let view = tensors.tensor(&entry.weights).map_err(|e| {
            file_error(
                &weights_path,
                format!("tensor {} of array @{name}: {e}", entry.weights),
            )
        })?;
        if view.dtype() != Dtype::F32
            || view.shape() != [entry.shape[0] as usize, entry.shape[1] as usize]
        {
            return Err(file_error(
                &weights_path,
                format!(
                    "tensor {} must be f32 {:?}, is {:?} {:?}",
                    entry.weights,
                    entry.shape,
                    view.dtype(),
                    view.shape()
                ),
            ));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let attribute = build::dense_f32(context_of(&array.op), &entry.shape, &values);
        array.op_mut().set_attribute("weights", attribute);
    }
    Ok((module, program))
}
