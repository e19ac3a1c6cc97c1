//! `cim-tile{rows=256 cols=256}`: maps each weight-stationary `cim.matmul` onto
//! crossbar arrays of `rows x cols` cells.
//!
//! The K x N weight is cut into ceil(K/rows) row tiles and ceil(N/cols) column tiles;
//! the last tile of each kind may be smaller (the array is then partly used). Each
//! tile becomes a module-level `cim.crossbar` holding its block of the weight
//! (unplaced, analog cells, one signed slice: the later passes split signs, slice
//! bits and place arrays). In the function, the input is cut into the matching
//! column ranges (`tensor.extract_slice`), each tile runs a `cim.mvm` with ideal
//! converters, row tiles are summed with `cim.accumulate`, and column tiles are
//! joined with `cim.concat`. Matmuls that read the same weight constant (the steps of
//! an unrolled recurrent layer, shared layers) share its arrays. The input must be
//! 2-D (batch x K; the batch may be dynamic) and the weight an inline f32
//! `arith.constant`.
//!
//! Example, `cim-tile{rows=2 cols=2}` on a 3x3 weight. Before:
//!
//! ```mlir
//! %w = arith.constant dense<...> : tensor<3x3xf32>
//! %y = "cim.matmul"(%x, %w) : (tensor<?x3xf32>, tensor<3x3xf32>) -> tensor<?x3xf32>
//! ```
//!
//! After:
//!
//! ```mlir
//! "cim.crossbar"() {sym_name = "f_mm0_r0_c0", geometry = #cim.geometry<2 : i64, 2 : i64>,
//!     place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>,
//!     sign = "signed", weights = dense<...> : tensor<2x2xf32>} : () -> ()
//! ... three more arrays: r0_c1 (2x1), r1_c0 (1x2), r1_c1 (1x1)
//! func.func @f(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
//!   %x0 = tensor.extract_slice %x[0, 0] [%b, 2] [1, 1] : tensor<?x3xf32> to tensor<?x2xf32>
//!   %x1 = tensor.extract_slice %x[0, 2] [%b, 1] [1, 1] : tensor<?x3xf32> to tensor<?x1xf32>
//!   %m00 = "cim.mvm"(%x0) {array = @f_mm0_r0_c0, ...} : (tensor<?x2xf32>) -> tensor<?x2xf32>
//!   %m10 = "cim.mvm"(%x1) {array = @f_mm0_r1_c0, ...} : (tensor<?x1xf32>) -> tensor<?x2xf32>
//!   %c0 = "cim.accumulate"(%m00, %m10) : ... -> tensor<?x2xf32>
//!   ... %c1 likewise from r0_c1 and r1_c1, tensor<?x1xf32>
//!   %y = "cim.concat"(%c0, %c1) {dimension = 1 : i64} : ... -> tensor<?x3xf32>
//! ```

use crate::options::{OptionKind, OptionSpec, PassOptions};
use crate::pass::{PassDef, PassFailed, PassId, PassResult};
use cim_ir::mapped;
use cim_ir::{
    attributes::{Converter, Geometry, Slice, Window},
    build::{self, CrossbarSpec, MvmSpec},
    diagnostics::emit_error,
    dialect::ops,
    query::{
        TensorShape, attribute, context_of, defining_op, format_dims, op_name, ops_in,
        string_attribute,
    },
};
use melior::{
    Context,
    ir::{Attribute, AttributeLike, OperationRef, Value, ValueLike, operation::OperationLike},
};
use std::collections::HashMap;

static ID: PassId = PassId;

/// The pass definition.
pub static PASS: PassDef = PassDef {
    name: "cim-tile",
    summary: "Map each weight-stationary cim.matmul onto crossbar arrays of rows x cols",
    options: &[ROWS, COLS],
    anchor: "builtin.module",
    run,
    id: &ID,
};

/// The array's word lines, an option of every pass that maps onto arrays.
pub(crate) const ROWS: OptionSpec = OptionSpec {
    name: "rows",
    kind: OptionKind::Int {
        min: 1,
        max: 1 << 20,
    },
    default: "256",
    doc: "word lines (inputs) per array",
};

/// The array's bit lines.
pub(crate) const COLS: OptionSpec = OptionSpec {
    name: "cols",
    kind: OptionKind::Int {
        min: 1,
        max: 1 << 20,
    },
    default: "256",
    doc: "bit lines (outputs) per array",
};

/// The array geometry the `rows` and `cols` options give.
pub(crate) fn geometry_option(options: &PassOptions) -> Geometry {
    Geometry {
        rows: options.int("rows"),
        cols: options.int("cols"),
    }
}

fn run(module: OperationRef<'_, '_>, options: &PassOptions) -> PassResult {
    let geometry = geometry_option(options);
    let matmuls: Vec<_> = ops_in(module)
        .into_iter()
        .filter(|op| op_name(op) == ops::MATMUL)
        .collect();
    let mut arrays = mapped::Arrays::collect(module);
    let mut tiled = HashMap::new();
    let mut failed = false;
    // Only the op being tiled is erased, so the others stay valid.
    for (index, op) in matmuls.into_iter().enumerate() {
        if let Err(message) = tile(&mut arrays, &mut tiled, op, geometry, index) {
            emit_error(
                op.location(),
                &format!("'{}' op cannot be tiled: {message}", ops::MATMUL),
            );
            failed = true;
        }
    }
    if failed { Err(PassFailed) } else { Ok(()) }
}

/// The ancestor of `op` directly in the module body, and the name of the function
/// (or other symbol) it is.
pub(crate) fn top_level_ancestor<'c, 'a>(
    op: OperationRef<'c, 'a>,
) -> Option<(OperationRef<'c, 'a>, String)> {
    let mut current = op;
    loop {
        let parent = current.parent_operation()?;
        if op_name(&parent) == "builtin.module" {
            let name = string_attribute(&current, "sym_name").unwrap_or_else(|| "top".to_owned());
            return Some((current, name));
        }
        current = parent;
    }
}

/// Ceil-divides `total` into tiles of at most `size`: (start, length) pairs.
pub fn tiles(total: u64, size: u64) -> Vec<(u64, u64)> {
    (0..total.div_ceil(size))
        .map(|index| {
            let start = index * size;
            (start, size.min(total - start))
        })
        .collect()
}

/// The arrays already holding a weight constant's tiles, by the constant op: every
/// matmul reading the same weight (a recurrent layer's steps, shared layers) uses
/// the same arrays.
type Tiled = HashMap<usize, (String, Vec<Vec<String>>)>;

/// The layer of each of `matmuls` (in program order) for the passes that map
/// whole models (`cim-map`, `cim-adapters`): one layer per weight constant,
/// numbered in the order of their first readers, so the steps of a recurrent
/// layer share its number.
pub(crate) fn layer_indices(matmuls: &[WeightStationary]) -> Vec<usize> {
    let mut layer_of = HashMap::new();
    matmuls
        .iter()
        .map(|matmul| {
            let next = layer_of.len();
            *layer_of.entry(matmul.weight_key()).or_insert(next)
        })
        .collect()
}

/// The name of layer `index` of `function` (`main_mm0`), as the ops written for it
/// are named (`loc("main_mm0"(...))`).
pub(crate) fn layer_name(function: &str, index: usize) -> String {
    format!("{function}_mm{index}")
}

/// A weight-stationary `cim.matmul`: a 2-D input times an inline f32 constant.
pub(crate) struct WeightStationary<'c, 'a> {
    /// The matmul.
    pub op: OperationRef<'c, 'a>,
    weight_value: Value<'c, 'a>,
    weight_op: Option<OperationRef<'c, 'a>>,
    /// Weight rows (K) and columns (N).
    pub k: u64,
    /// Weight columns.
    pub n: u64,
    /// The weight, row-major.
    pub weights: Vec<f32>,
    /// The static batch, if any.
    pub batch: Option<u64>,
    element: melior::ir::Type<'c>,
    /// The layer the ops written for this matmul belong to: their location is named
    /// by it, so later passes (which keep an op's location) and reports can tell.
    layer: Option<String>,
}

impl<'c, 'a> WeightStationary<'c, 'a> {
    /// Reads `op`; the error says what keeps it from being mapped.
    pub fn read(op: OperationRef<'c, 'a>) -> Result<Self, String> {
        let input = op.operand(0).map_err(|_| "missing input")?;
        let weight_value = op.operand(1).map_err(|_| "missing weight")?;
        let shape = TensorShape::of_value(input).ok_or("input is not a ranked tensor")?;
        if shape.rank() != 2 {
            return Err(format!(
                "input must be 2-D (batch x K), got {}: flatten the leading dimensions first",
                format_dims(&shape.dims)
            ));
        }
        let weight_op = defining_op(weight_value).filter(|def| op_name(def) == "arith.constant");
        let weight_attribute = weight_op
            .as_ref()
            .and_then(|def| attribute(def, "value"))
            .ok_or("the weight is not an arith.constant")?;
        let weight_shape =
            cim_ir::query::attribute_shape(weight_attribute).ok_or("weight has no shape")?;
        let (Some(k), Some(n)) = (weight_shape.dims[0], weight_shape.dims[1]) else {
            return Err("the weight must have a static 2-D shape".into());
        };
        let weights = build::read_dense_f32(weight_attribute).ok_or_else(|| {
            format!(
                "the weight must be an inline dense f32 constant, got {}",
                weight_attribute.r#type()
            )
        })?;
        op.result(0).map_err(|_| "missing result")?;
        Ok(Self {
            op,
            weight_value,
            weight_op,
            k,
            n,
            weights,
            batch: shape.dims[0],
            element: shape.element,
            layer: None,
        })
    }

    /// Names the layer of the ops written from now on (see [`Self::location`]).
    pub fn set_layer(&mut self, layer: &str) {
        self.layer = Some(layer.to_owned());
    }

    /// The location of the ops written for this matmul: the matmul's, named by the
    /// layer (`loc("main_mm0"(...))`) once one is set.
    pub fn location(&self) -> melior::ir::Location<'c> {
        let location = self.op.location();
        match &self.layer {
            Some(layer) => melior::ir::Location::name(context_of(&self.op), layer, location),
            None => location,
        }
    }

    /// The input, batch x K, read afresh: mapping an earlier matmul replaces values.
    pub fn input(&self) -> Value<'c, 'a> {
        self.op.operand(0).expect("checked in read")
    }

    /// Identifies the weight constant: matmuls reading one constant share arrays.
    pub fn weight_key(&self) -> usize {
        self.weight_op.as_ref().map_or(0, cim_ir::query::op_id)
    }

    /// Inserts `new` before the matmul and returns its result.
    pub fn insert(&self, new: melior::ir::Operation<'c>) -> Value<'c, 'a> {
        build::insert_before(self.op, new)
    }

    /// The `batch x cols` tensor type of this matmul's element type.
    fn rows_type(&self, batch: Option<u64>, cols: u64) -> melior::ir::Type<'c> {
        build::tensor_type(&[batch, Some(cols)], self.element)
    }

    /// The batch size for slicing: static, or a `tensor.dim` of the input.
    pub fn batch_rows(&self) -> Result<u64, Value<'c, 'a>> {
        self.rows_of(self.input(), self.batch)
    }

    /// The rows of `input` for slicing: `batch` if static, else a `tensor.dim`.
    pub fn rows_of(&self, input: Value<'c, 'a>, batch: Option<u64>) -> Result<u64, Value<'c, 'a>> {
        let context = context_of(&self.op);
        let location = self.location();
        match batch {
            Some(rows) => Ok(rows),
            None => {
                let zero = self.insert(build::index_constant(context, location, 0));
                Err(self.insert(build::tensor_dim(context, location, input, zero)))
            }
        }
    }

    /// Input columns `start..start+len` (the input itself when that is all of it).
    pub fn input_columns(
        &self,
        rows: Result<u64, Value<'c, 'a>>,
        start: u64,
        len: u64,
    ) -> Value<'c, 'a> {
        self.columns_of(self.input(), self.batch, Some(rows), start, len)
    }

    /// Columns `start..start+len` of `input` (`batch` rows; `rows` its row count
    /// for slicing, found when not given).
    pub fn columns_of(
        &self,
        input: Value<'c, 'a>,
        batch: Option<u64>,
        rows: Option<Result<u64, Value<'c, 'a>>>,
        start: u64,
        len: u64,
    ) -> Value<'c, 'a> {
        if start == 0 && len == self.k {
            return input;
        }
        let rows = rows.unwrap_or_else(|| self.rows_of(input, batch));
        let context = context_of(&self.op);
        self.insert(build::extract_columns(
            context,
            self.location(),
            input,
            rows,
            start,
            len,
            self.rows_type(batch, len),
        ))
    }

    /// Rows `start..start+count` of the input (whose batch is static).
    pub fn input_rows(&self, start: u64, count: u64) -> Value<'c, 'a> {
        let context = context_of(&self.op);
        self.insert(build::extract_rows(
            context,
            self.location(),
            self.input(),
            start,
            count,
            self.k,
            self.rows_type(Some(count), self.k),
        ))
    }

    /// One MVM of `input` on `array` at `window`, `cols` outputs, ideal converters.
    pub fn mvm(
        &self,
        input: Value<'c, 'a>,
        array: &str,
        window: Window,
        cols: u64,
    ) -> Value<'c, 'a> {
        self.mvm_of(input, self.batch, array, window, cols)
    }

    /// [`Self::mvm`] of an input of `batch` rows.
    pub fn mvm_of(
        &self,
        input: Value<'c, 'a>,
        batch: Option<u64>,
        array: &str,
        window: Window,
        cols: u64,
    ) -> Value<'c, 'a> {
        let spec = MvmSpec {
            array,
            window,
            dac: Converter::Ideal,
            adc: Converter::Ideal,
        };
        let context = context_of(&self.op);
        self.insert(build::mvm(
            context,
            self.location(),
            input,
            self.rows_type(batch, cols),
            &spec,
        ))
    }

    /// `cim.concat` of `parts` along the columns, `cols` in all.
    pub fn concat(&self, parts: &[Value<'c, 'a>], cols: u64) -> Value<'c, 'a> {
        self.concat_of(parts, self.batch, cols, 1)
    }

    /// `cim.concat` of `parts` along `dimension` into `batch x cols`.
    pub fn concat_of(
        &self,
        parts: &[Value<'c, 'a>],
        batch: Option<u64>,
        cols: u64,
        dimension: i64,
    ) -> Value<'c, 'a> {
        let context = context_of(&self.op);
        self.insert(build::concat(
            context,
            self.location(),
            parts,
            self.rows_type(batch, cols),
            dimension,
        ))
    }

    /// The row shares of copies joined into the `rows x n` result.
    pub fn concat_rows(&self, parts: &[Value<'c, 'a>], rows: u64) -> Value<'c, 'a> {
        let context = context_of(&self.op);
        self.insert(build::tensor_concat(
            context,
            self.location(),
            parts,
            self.rows_type(Some(rows), self.n),
            0,
        ))
    }

    /// `cim.accumulate` of `parts`.
    pub fn accumulate(&self, parts: &[Value<'c, 'a>]) -> Value<'c, 'a> {
        self.insert(build::accumulate(self.location(), parts))
    }

    /// Makes every user of the matmul read `output`, erases the matmul, and its weight
    /// constant once nothing else reads it.
    pub fn replace_with(self, output: Value<'c, 'a>) {
        let result = self.op.result(0).expect("checked in read");
        // SAFETY: every use of the matmul now reads `output`; the matmul is then
        // erased, and so is its weight constant once nothing else reads it.
        unsafe {
            mlir_sys::mlirValueReplaceAllUsesOfWith(result.to_raw(), output.to_raw());
            mlir_sys::mlirOperationDestroy(self.op.to_raw());
            if let Some(constant) = self.weight_op
                && mlir_sys::mlirOpOperandIsNull(mlir_sys::mlirValueGetFirstUse(
                    self.weight_value.to_raw(),
                ))
            {
                mlir_sys::mlirOperationDestroy(constant.to_raw());
            }
        }
    }
}

/// A new unplaced, ideal, signed array named `name` holding `shape` weights.
pub(crate) fn unplaced_array<'c>(
    context: &'c Context,
    location: melior::ir::Location<'c>,
    name: &str,
    geometry: Geometry,
    shape: &[u64],
    values: &[f32],
) -> melior::ir::Operation<'c> {
    let spec = CrossbarSpec {
        name: name.to_owned(),
        geometry,
        place: parse(context, "#cim.unplaced"),
        cell: Converter::Ideal.build(context),
        slice: Slice { index: 0, shift: 0 },
        sign: "signed",
        weights: build::dense_f32(context, shape, values),
    };
    build::crossbar(context, location, spec)
}

fn tile<'c, 'a>(
    arrays: &mut mapped::Arrays<'c, 'a>,
    tiled: &mut Tiled,
    op: OperationRef<'c, 'a>,
    geometry: Geometry,
    index: usize,
) -> Result<(), String> {
    let context = context_of(&op);
    let location = op.location();
    let mut matmul = WeightStationary::read(op)?;
    let (k, n) = (matmul.k, matmul.n);
    let (top, function) = top_level_ancestor(op).ok_or("the op is not inside a module")?;
    let row_tiles = tiles(k, geometry.rows as u64);
    let col_tiles = tiles(n, geometry.cols as u64);

    // Arrays, at module level before the function that first uses them.
    let (layer, array_names) = tiled
        .entry(matmul.weight_key())
        .or_insert_with(|| {
            let mut names = vec![vec![String::new(); col_tiles.len()]; row_tiles.len()];
            for (i, &(k0, kr)) in row_tiles.iter().enumerate() {
                for (j, &(n0, nc)) in col_tiles.iter().enumerate() {
                    let name = arrays.fresh_name(&format!("{function}_mm{index}_r{i}_c{j}"));
                    let block_values = block_of(&matmul.weights, n, k0, kr, n0, nc);
                    let array = unplaced_array(
                        context,
                        location,
                        &name,
                        geometry,
                        &[kr, nc],
                        &block_values,
                    );
                    arrays.insert_before_top_level(top, array);
                    names[i][j] = name;
                }
            }
            (format!("{function}_mm{index}"), names)
        })
        .clone();
    matmul.set_layer(&layer);

    // The input's column ranges (only when there is more than one row tile).
    let pieces: Vec<Value> = if row_tiles.len() == 1 {
        vec![matmul.input()]
    } else {
        let rows = matmul.batch_rows();
        row_tiles
            .iter()
            .map(|&(k0, kr)| matmul.input_columns(rows, k0, kr))
            .collect()
    };

    // One MVM per tile, accumulated over row tiles, concatenated over column tiles.
    let mut columns = Vec::new();
    for (j, &(_, nc)) in col_tiles.iter().enumerate() {
        let partials: Vec<Value> = pieces
            .iter()
            .enumerate()
            .map(|(i, &piece)| matmul.mvm(piece, &array_names[i][j], Window { row: 0, col: 0 }, nc))
            .collect();
        columns.push(if partials.len() == 1 {
            partials[0]
        } else {
            matmul.accumulate(&partials)
        });
    }
    let output = if columns.len() == 1 {
        columns[0]
    } else {
        matmul.concat(&columns, n)
    };
    matmul.replace_with(output);
    Ok(())
}

fn parse<'c>(context: &'c Context, text: &str) -> Attribute<'c> {
    Attribute::parse(context, text).expect("dialect attribute parses")
}

/// The `kr x nc` block at (k0, n0) of a row-major matrix with `n` columns.
pub(crate) fn block_of(weights: &[f32], n: u64, k0: u64, kr: u64, n0: u64, nc: u64) -> Vec<f32> {
    let mut block = Vec::with_capacity((kr * nc) as usize);
    for row in k0..k0 + kr {
        let start = (row * n + n0) as usize;
        block.extend_from_slice(&weights[start..start + nc as usize]);
    }
    block
}
