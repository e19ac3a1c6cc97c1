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
//! [`read`] puts the weights back and gives the module to run.

use crate::DriverError;
use cim_ir::{
    CimContext,
    attributes::{Cell, Converter, DacMode, Geometry, Place, Slice, Window},
    build,
    dialect::ops,
    query::{TensorShape, attribute, attribute_shape, context_of, op_name, string_attribute},
};
use melior::ir::{
    Attribute, Module,
    attribute::FlatSymbolRefAttribute,
    operation::{OperationLike, OperationMutLike, OperationRefMut, WalkOrder, WalkResult},
};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, path::Path};

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

/// The `cim.crossbar` operations of a module, in order.
fn crossbars<'c, 'a>(
    module: &'a Module<'c>,
) -> impl Iterator<Item = melior::ir::OperationRef<'c, 'a>> {
    cim_passes::mapped::top_level(module.as_operation()).filter(|op| op_name(op) == ops::CROSSBAR)
}

fn file_error(path: &Path, message: impl ToString) -> DriverError {
    DriverError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Writes the crossbar program of a mapped `module` into `dir`.
pub fn write(module: &Module, function: &str, dir: &Path) -> Result<Program, DriverError> {
    let mut arrays = Vec::new();
    let mut blocks: BTreeMap<String, (Vec<u8>, [usize; 2])> = BTreeMap::new();
    for op in crossbars(module) {
        let name = string_attribute(&op, "sym_name").unwrap_or_default();
        let invalid =
            |what: &str| DriverError::Run(format!("array @{name}: {what} (run cim-verify)"));
        let geometry = attribute(&op, "geometry")
            .and_then(Geometry::read)
            .ok_or_else(|| invalid("no geometry"))?;
        let slice = attribute(&op, "slice")
            .and_then(Slice::read)
            .ok_or_else(|| invalid("no slice"))?;
        let weights = attribute(&op, "weights").ok_or_else(|| invalid("no weights"))?;
        let shape = attribute_shape(weights).ok_or_else(|| invalid("weights without shape"))?;
        let values =
            build::read_dense_f32(weights).ok_or_else(|| invalid("weights are not f32 data"))?;
        let [rows, cols] = [shape.dims[0].unwrap_or(0), shape.dims[1].unwrap_or(0)];
        let tensor = format!("{name}.weights");
        blocks.insert(
            tensor.clone(),
            (
                values.iter().flat_map(|v| v.to_le_bytes()).collect(),
                [rows as usize, cols as usize],
            ),
        );
        arrays.push(ArrayEntry {
            name: name.clone(),
            geometry: [geometry.rows, geometry.cols],
            place: attribute(&op, "place")
                .and_then(Place::read)
                .map(|p| [p.chip, p.core, p.array]),
            round: cim_ir::query::int_attribute(&op, cim_passes::place::ROUND),
            cell_bits: attribute(&op, "cell").and_then(Cell::read).map(|c| c.bits),
            slice: [slice.index, slice.shift],
            sign: string_attribute(&op, "sign").unwrap_or_default(),
            weights: tensor,
            shape: [rows, cols],
        });
    }
    let mut mvms = Vec::new();
    module.as_operation().walk(WalkOrder::PreOrder, |op| {
        if op_name(&op) == ops::MVM {
            let converter = |name: &str| {
                attribute(&op, name)
                    .and_then(Converter::read)
                    .unwrap_or(Converter::Ideal)
                    .into()
            };
            let shape = |value: Option<melior::ir::Value>| {
                value
                    .and_then(TensorShape::of_value)
                    .map(|s| s.dims)
                    .unwrap_or_default()
            };
            let window = attribute(&op, "window")
                .and_then(Window::read)
                .unwrap_or(Window { row: 0, col: 0 });
            mvms.push(MvmEntry {
                array: attribute(&op, "array")
                    .and_then(|a| FlatSymbolRefAttribute::try_from(a).ok())
                    .map(|s| s.value().to_owned())
                    .unwrap_or_default(),
                window: [window.row, window.col],
                input: shape(op.operand(0).ok()),
                output: shape(op.result(0).ok().map(Into::into)),
                dac: converter("dac"),
                adc: converter("adc"),
            });
        }
        WalkResult::Advance
    });
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
        .map_err(|e| DriverError::Run(e.to_string()))?;
    let weights_path = dir.join("weights.safetensors");
    safetensors::serialize_to_file(views, None, &weights_path)
        .map_err(|e| file_error(&weights_path, e))?;
    let json =
        serde_json::to_string_pretty(&program).map_err(|e| DriverError::Run(e.to_string()))?;
    let json_path = dir.join("program.json");
    std::fs::write(&json_path, json).map_err(|e| file_error(&json_path, e))?;
    // program.mlir names each array's weights as a resource of weights.safetensors
    // (`dense_resource<name.weights>`, without the data), in a copy of the module.
    let copy = Module::parse(
        context_of(&module.as_operation()),
        &module.as_operation().to_string(),
    )
    .ok_or_else(|| DriverError::Run("the mapped module does not print back".into()))?;
    for op in crossbars(&copy) {
        let name = string_attribute(&op, "sym_name").unwrap_or_default();
        let entry = program
            .arrays
            .iter()
            .find(|a| a.name == name)
            .expect("every array was listed above");
        let text = format!(
            "dense_resource<{}> : tensor<{}x{}xf32>",
            entry.weights, entry.shape[0], entry.shape[1]
        );
        let reference = Attribute::parse(context_of(&op), &text).ok_or_else(|| {
            DriverError::Run(format!(
                "array @{name}: its name does not make a resource key"
            ))
        })?;
        // SAFETY: the op is live; nothing else refers to it while its attribute changes.
        let mut op = unsafe { OperationRefMut::from_raw(op.to_raw()) };
        op.set_attribute("weights", reference);
    }
    let text = copy.as_operation().to_string();
    let mlir_path = dir.join("program.mlir");
    std::fs::write(&mlir_path, text).map_err(|e| file_error(&mlir_path, e))?;
    Ok(program)
}

/// Reads a crossbar program back: `program.mlir` with every array's weights restored
/// from `weights.safetensors`, and `program.json`.
pub fn read<'c>(cim: &'c CimContext, dir: &Path) -> Result<(Module<'c>, Program), DriverError> {
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
    let (module, _) = crate::compile::parse_model(cim, &dir.join("program.mlir"))?;
    for op in crossbars(&module) {
        let name = string_attribute(&op, "sym_name").unwrap_or_default();
        let entry = program
            .arrays
            .iter()
            .find(|a| a.name == name)
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
        let attribute = build::dense_f32(context_of(&op), &entry.shape, &values);
        // SAFETY: the op is live; nothing else refers to it while its attribute changes.
        let mut op = unsafe { OperationRefMut::from_raw(op.to_raw()) };
        op.set_attribute("weights", attribute);
    }
    if !module.as_operation().verify() || cim_passes::verify::verify(module.as_operation()).is_err()
    {
        return Err(file_error(
            &dir.join("program.mlir"),
            "the program does not verify once its weights are restored",
        ));
    }
    Ok((module, program))
}
