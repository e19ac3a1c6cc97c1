//! `cim-verify`: the checks of the `cim` dialect that IRDL cannot express.
//!
//! IRDL (dialects/cim.irdl.mlir) already checks operand and result counts, attribute
//! kinds and enumerations. This pass checks what needs more than one operation or
//! arithmetic on shapes: a referenced array exists and is unique, a window fits its
//! array, shapes agree, weights of graph-level ops are constants, converter
//! resolutions and ranges make sense, and the significances given to `cim.shift_add`
//! agree with the slices of the arrays that feed it. `cim-opt` runs it after parsing
//! and after every pipeline step; `--no-cim-verify` turns that off.
//!
//! Each problem is an error at the operation's location, worded like MLIR's own
//! verifier (`'cim.mvm' op ...`); the pass reports every problem, then fails.
//!
//! Example. Before (`cim-opt --cim-verify`):
//!
//! ```mlir
//! "cim.crossbar"() {sym_name = "xb0", geometry = #cim.geometry<4 : i64, 4 : i64>, ...
//!                   weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
//! %y = "cim.mvm"(%x) {array = @xb0, window = #cim.window<2 : i64, 0 : i64>, ...}
//!     : (tensor<1x4xf32>) -> tensor<1x4xf32>
//! ```
//!
//! After: no change to the IR; an error
//! `'cim.mvm' op window rows 2..6 exceed array @xb0 (4x4)`.

use crate::options::PassOptions;
use crate::pass::{PassDef, PassFailed, PassId, PassResult};
use cim_ir::{
    attributes::{Cell, Converter, DacMode, Geometry, Place, Slice, Window},
    diagnostics::emit_error,
    dialect::ops,
    query::{
        TensorShape, attribute, attribute_shape, defining_op, float_attribute, format_dims,
        i64_array_attribute, int_attribute, op_name, ops_in, string_attribute, symbol_attribute,
    },
};
use melior::ir::{OperationRef, Value, ValueLike, operation::OperationLike};
use std::collections::HashMap;

static ID: PassId = PassId;

/// The pass definition.
pub static PASS: PassDef = PassDef {
    name: "cim-verify",
    summary: "Check the cim invariants IRDL cannot express (symbols, windows, shapes, significances)",
    options: &[],
    anchor: "builtin.module",
    run,
    id: &ID,
};

fn run(module: OperationRef<'_, '_>, _options: &PassOptions) -> PassResult {
    verify(module)
}

/// Verifies every `cim` operation under `root` (a module). Errors go to the
/// context's diagnostic handler.
pub fn verify(root: OperationRef<'_, '_>) -> PassResult {
    let mut checker = Checker::default();
    checker.collect_arrays(root);
    for op in ops_in(root) {
        checker.check(op);
    }
    if checker.failed {
        Err(PassFailed)
    } else {
        Ok(())
    }
}

/// What an array declares, as the MVMs that use it need it.
#[derive(Clone, Copy)]
struct ArrayInfo {
    geometry: Geometry,
    slice: Slice,
}

#[derive(Default)]
struct Checker {
    arrays: HashMap<String, ArrayInfo>,
    failed: bool,
}

impl Checker {
    fn error(&mut self, op: &OperationRef, message: impl AsRef<str>) {
        emit_error(
            op.location(),
            &format!("'{}' op {}", op_name(op), message.as_ref()),
        );
        self.failed = true;
    }

    /// Reads every array of the module first: an MVM may precede the array it uses.
    fn collect_arrays(&mut self, root: OperationRef) {
        // A slot holds one array per round (`cim.round`, on targets reprogrammed
        // between groups of layers; absent: round 0).
        let mut places: HashMap<(i64, Place), String> = HashMap::new();
        for op in cim_ir::mapped::crossbar_ops(root) {
            let Some(info) = self.check_crossbar(&op) else {
                continue;
            };
            let name = string_attribute(&op, "sym_name").unwrap_or_default();
            if self.arrays.contains_key(&name) {
                self.error(
                    &op,
                    format!("redefines array @{name}: array names must be unique"),
                );
                continue;
            }
            let round = cim_ir::marks::round(&op);
            if round.is_some_and(|round| round < 0) {
                self.error(&op, format!("{} must be >= 0", cim_ir::marks::ROUND));
            }
            if let Some(place) = attribute(&op, "place").and_then(Place::read) {
                let key = (round.unwrap_or(0), place);
                if let Some(other) = places.get(&key) {
                    self.error(
                        &op,
                        format!(
                            "array @{name} is placed on chip {} core {} array {}, already taken by @{other}",
                            place.chip, place.core, place.array
                        ),
                    );
                } else {
                    places.insert(key, name.clone());
                }
            }
            self.arrays.insert(name, info);
        }
    }

    fn check_crossbar(&mut self, op: &OperationRef) -> Option<ArrayInfo> {
        let geometry = attribute(op, "geometry").and_then(Geometry::read)?;
        let slice = attribute(op, "slice").and_then(Slice::read)?;
        // `#cim.unplaced` and an ideal (`#cim.ideal`) cell read as `None`.
        let place = attribute(op, "place").and_then(Place::read);
        let cell = attribute(op, "cell").and_then(Cell::read);
        let mut ok = true;
        if geometry.rows < 1 || geometry.cols < 1 {
            self.error(
                op,
                format!(
                    "geometry {}x{} must be at least 1x1",
                    geometry.rows, geometry.cols
                ),
            );
            ok = false;
        }
        if place.is_some_and(|place| place.chip < 0 || place.core < 0 || place.array < 0) {
            self.error(op, "place indices (chip, core, array) must be non-negative");
        }
        if let Some(cell) = cell.filter(|cell| !(1..=16).contains(&cell.bits)) {
            self.error(
                op,
                format!(
                    "cell bits {} out of range: a cell stores 1 to 16 bits",
                    cell.bits
                ),
            );
        }
        if slice.index < 0 || !(0..=62).contains(&slice.shift) {
            self.error(
                op,
                format!(
                    "slice index {} and shift {} must be >= 0 (shift <= 62)",
                    slice.index, slice.shift
                ),
            );
        }
        match attribute(op, "weights").and_then(attribute_shape) {
            Some(weights) if weights.rank() == 2 => {
                let (rows, cols) = (weights.dims[0].unwrap_or(0), weights.dims[1].unwrap_or(0));
                if ok && (rows as i64 > geometry.rows || cols as i64 > geometry.cols) {
                    self.error(
                        op,
                        format!(
                            "weights {rows}x{cols} do not fit the {}x{} array",
                            geometry.rows, geometry.cols
                        ),
                    );
                }
                if !weights.is_float() && weights.integer_width().is_none() {
                    self.error(op, "weights must have float or integer elements");
                }
            }
            Some(weights) => self.error(
                op,
                format!(
                    "weights must be a 2-D tensor (rows x cols), got rank {}",
                    weights.rank()
                ),
            ),
            None => self.error(op, "weights must be a dense elements attribute"),
        }
        Some(ArrayInfo { geometry, slice })
    }

    fn check(&mut self, op: OperationRef) {
        match op_name(&op).as_str() {
            ops::MATMUL => self.check_matmul(&op),
            ops::CONV2D => self.check_conv2d(&op),
            ops::MVM => self.check_mvm(&op),
            ops::SHIFT_ADD => self.check_shift_add(&op),
            ops::ACCUMULATE => {
                self.check_non_empty(&op);
            }
            ops::CROSSBAR => {
                let at_module = op
                    .parent_operation()
                    .is_some_and(|parent| op_name(&parent) == "builtin.module");
                if !at_module {
                    self.error(
                        &op,
                        "must be at module level (an array is a module-level symbol)",
                    );
                }
            }
            ops::CONCAT => self.check_concat(&op),
            ops::DIFF => self.check_diff(&op),
            ops::AFFINE => self.check_affine(&op),
            ops::ADAPTER => self.check_adapter(&op),
            ops::QUANTIZE => self.check_quantize(&op),
            ops::DEQUANTIZE => self.check_dequantize(&op),
            _ => {}
        }
    }

    /// Reads the ranked tensor type of operand or result `what`, or reports it.
    fn shape<'c>(
        &mut self,
        op: &OperationRef,
        value: Value<'c, '_>,
        what: &str,
    ) -> Option<TensorShape<'c>> {
        let shape = TensorShape::of_value(value);
        if shape.is_none() {
            self.error(
                op,
                format!("{what} must be a ranked tensor, got {}", value.r#type()),
            );
        }
        shape
    }

    fn operand_shape<'c>(
        &mut self,
        op: &OperationRef<'c, '_>,
        index: usize,
        what: &str,
    ) -> Option<TensorShape<'c>> {
        let value = op.operand(index).ok()?;
        self.shape(op, value, what)
    }

    fn result_shape<'c>(
        &mut self,
        op: &OperationRef<'c, '_>,
        what: &str,
    ) -> Option<TensorShape<'c>> {
        let value = op.result(0).ok()?;
        self.shape(op, value.into(), what)
    }

    /// Reports a dimension mismatch where both sides are static.
    fn expect_dim(
        &mut self,
        op: &OperationRef,
        what: &str,
        got: Option<u64>,
        want: Option<u64>,
    ) -> bool {
        match (got, want) {
            (Some(got), Some(want)) if got != want => {
                self.error(op, format!("{what}: expected {want}, got {got}"));
                false
            }
            _ => true,
        }
    }

    fn check_matmul(&mut self, op: &OperationRef) {
        let (Some(input), Some(weight), Some(output)) = (
            self.operand_shape(op, 0, "input"),
            self.operand_shape(op, 1, "weight"),
            self.result_shape(op, "result"),
        ) else {
            return;
        };
        if let Ok(value) = op.operand(1) {
            let constant = defining_op(value).is_some_and(|def| {
                matches!(op_name(&def).as_str(), "arith.constant" | "tosa.const")
            });
            if !constant {
                self.error(
                    op,
                    "weight must be a constant (arith.constant): analog weights are programmed once and stay",
                );
            }
        }
        if weight.rank() != 2 || weight.dims.iter().any(Option::is_none) {
            self.error(
                op,
                format!(
                    "weight must be a static 2-D tensor (KxN), got {}",
                    format_dims(&weight.dims)
                ),
            );
            return;
        }
        if input.rank() == 0 || output.rank() != input.rank() {
            self.error(
                op,
                format!(
                    "input (rank {}) and result (rank {}) must have one rank >= 1",
                    input.rank(),
                    output.rank()
                ),
            );
            return;
        }
        let rank = input.rank();
        self.expect_dim(
            op,
            "input inner dimension (K) vs weight rows",
            input.dims[rank - 1],
            weight.dims[0],
        );
        self.expect_dim(
            op,
            "result inner dimension (N) vs weight columns",
            output.dims[rank - 1],
            weight.dims[1],
        );
        for axis in 0..rank - 1 {
            self.expect_dim(
                op,
                &format!("result dimension {axis} vs input"),
                output.dims[axis],
                input.dims[axis],
            );
        }
        if !input.is_float() || !output.is_float() || !weight.is_float() {
            self.error(op, "input, weight and result must have float elements (quantization is explicit, with cim.quantize)");
        }
    }

    fn check_conv2d(&mut self, op: &OperationRef) {
        let (Some(input), Some(weight), Some(output)) = (
            self.operand_shape(op, 0, "input"),
            self.operand_shape(op, 1, "weight"),
            self.result_shape(op, "result"),
        ) else {
            return;
        };
        if let Ok(value) = op.operand(1) {
            let constant = defining_op(value).is_some_and(|def| op_name(&def) == "arith.constant");
            if !constant {
                self.error(op, "weight must be a constant (arith.constant): analog weights are programmed once and stay");
            }
        }
        let strides = i64_array_attribute(op, "strides").unwrap_or_default();
        let padding = i64_array_attribute(op, "padding").unwrap_or_default();
        let dilations = i64_array_attribute(op, "dilations").unwrap_or_default();
        let groups = int_attribute(op, "groups").unwrap_or(0);
        if strides.len() != 2 || strides.iter().any(|&s| s < 1) {
            self.error(
                op,
                format!("strides must be 2 values >= 1 (height, width), got {strides:?}"),
            );
            return;
        }
        if dilations.len() != 2 || dilations.iter().any(|&d| d < 1) {
            self.error(
                op,
                format!("dilations must be 2 values >= 1 (height, width), got {dilations:?}"),
            );
            return;
        }
        if padding.len() != 4 || padding.iter().any(|&p| p < 0) {
            self.error(
                op,
                format!(
                    "padding must be 4 values >= 0 (top, left, bottom, right), got {padding:?}"
                ),
            );
            return;
        }
        if input.rank() != 4 || weight.rank() != 4 || output.rank() != 4 {
            self.error(
                op,
                "input (NCHW), weight (FCHW) and result (NFHW) must be 4-D",
            );
            return;
        }
        if weight.dims.iter().any(Option::is_none) {
            self.error(
                op,
                format!(
                    "weight must have a static shape, got {}",
                    format_dims(&weight.dims)
                ),
            );
            return;
        }
        let filters = weight.dims[0].unwrap_or(0) as i64;
        if groups < 1 || filters % groups != 0 {
            self.error(
                op,
                format!("groups {groups} must be >= 1 and divide the {filters} filters"),
            );
            return;
        }
        let channels_per_group = weight.dims[1].map(|c| c * groups as u64);
        self.expect_dim(
            op,
            "input channels vs weight channels x groups",
            input.dims[1],
            channels_per_group,
        );
        self.expect_dim(
            op,
            "result batch vs input batch",
            output.dims[0],
            input.dims[0],
        );
        self.expect_dim(
            op,
            "result channels vs filters",
            output.dims[1],
            Some(filters as u64),
        );
        for (axis, (pad_lo, pad_hi)) in [(padding[0], padding[2]), (padding[1], padding[3])]
            .into_iter()
            .enumerate()
        {
            let kernel = weight.dims[2 + axis].unwrap_or(1) as i64;
            let Some(size) = input.dims[2 + axis] else {
                continue;
            };
            let span = size as i64 + pad_lo + pad_hi - dilations[axis] * (kernel - 1) - 1;
            if span < 0 {
                self.error(
                    op,
                    format!(
                        "kernel ({kernel}, dilation {}) is larger than the padded input ({})",
                        dilations[axis],
                        size as i64 + pad_lo + pad_hi
                    ),
                );
                return;
            }
            let expected = (span / strides[axis] + 1) as u64;
            self.expect_dim(
                op,
                &format!("result spatial dimension {axis}"),
                output.dims[2 + axis],
                Some(expected),
            );
        }
    }

    fn check_mvm(&mut self, op: &OperationRef) {
        let Some(array) = symbol_attribute(op, "array") else {
            self.error(op, "array must be a flat symbol reference (@name)");
            return;
        };
        let Some(info) = self.arrays.get(&array).copied() else {
            self.error(
                op,
                format!(
                    "array @{array} does not exist: declare it with cim.crossbar at module level"
                ),
            );
            return;
        };
        let (Some(input), Some(output)) = (
            self.operand_shape(op, 0, "input"),
            self.result_shape(op, "result"),
        ) else {
            return;
        };
        if input.rank() != 2 || output.rank() != 2 {
            self.error(
                op,
                format!(
                    "input ({}) and result ({}) must be 2-D (batch x rows, batch x cols)",
                    format_dims(&input.dims),
                    format_dims(&output.dims)
                ),
            );
            return;
        }
        self.expect_dim(
            op,
            "result batch vs input batch",
            output.dims[0],
            input.dims[0],
        );
        let (Some(rows), Some(cols)) = (input.dims[1], output.dims[1]) else {
            self.error(
                op,
                "the rows (input dimension 1) and columns (result dimension 1) must be static",
            );
            return;
        };
        if let Some(window) = attribute(op, "window").and_then(Window::read) {
            let geometry = info.geometry;
            if window.row < 0 || window.col < 0 {
                self.error(op, "window corner must be non-negative");
            } else if window.row + rows as i64 > geometry.rows {
                self.error(
                    op,
                    format!(
                        "window rows {}..{} exceed array @{array} ({}x{})",
                        window.row,
                        window.row + rows as i64,
                        geometry.rows,
                        geometry.cols
                    ),
                );
            } else if window.col + cols as i64 > geometry.cols {
                self.error(
                    op,
                    format!(
                        "window columns {}..{} exceed array @{array} ({}x{})",
                        window.col,
                        window.col + cols as i64,
                        geometry.rows,
                        geometry.cols
                    ),
                );
            }
        }
        for name in ["dac", "adc"] {
            let Some(converter) = attribute(op, name).and_then(Converter::read) else {
                continue;
            };
            if let Some(bits) = converter.bits().filter(|bits| !(1..=24).contains(bits)) {
                self.error(
                    op,
                    format!("{name} resolution {bits} bits out of range 1..=24"),
                );
            }
            if let Some((lo, hi)) = converter
                .range()
                .filter(|(lo, hi)| lo >= hi || !lo.is_finite() || !hi.is_finite())
            {
                self.error(
                    op,
                    format!("{name} range [{lo}, {hi}] must be finite with lo < hi"),
                );
            }
        }
        for converter in ["dac", "adc"]
            .into_iter()
            .filter_map(|name| attribute(op, name).and_then(Converter::read))
        {
            match converter {
                Converter::DacManaged { bits, .. } | Converter::AdcManaged { bits, .. }
                    if bits < 2 =>
                {
                    self.error(
                        op,
                        format!("a managed converter has 2^bits - 1 levels symmetric about 0: {bits} bits must be at least 2"),
                    );
                }
                Converter::DacManaged { constant, .. }
                    if !(constant.is_finite() && constant > 0.0) =>
                {
                    self.error(
                        op,
                        format!("managed DAC constant {constant} must be finite and > 0"),
                    );
                }
                Converter::AdcManaged { passes, .. } if !(1..=30).contains(&passes) => {
                    self.error(
                        op,
                        format!("managed ADC passes {passes} out of range 1..=30"),
                    );
                }
                _ => {}
            }
        }
        if let Some(Converter::AdcPerPlane { .. }) = attribute(op, "adc").and_then(Converter::read)
            && !matches!(
                attribute(op, "dac").and_then(Converter::read),
                Some(Converter::Dac {
                    mode: DacMode::BitSerial,
                    ..
                })
            )
        {
            self.error(
                op,
                "a per-plane ADC converts the bit planes of a bit-serial DAC: the dac must be #cim.dac<bits, \"bit_serial\", lo, hi>",
            );
        }
        if !input.is_float() && input.integer_width().is_none() {
            self.error(op, "input must have float or integer elements");
        }
    }

    /// The significance of a value built only from MVMs of arrays of one slice.
    fn slice_shift(&self, value: Value) -> Option<i64> {
        let def = defining_op(value)?;
        match op_name(&def).as_str() {
            ops::MVM => {
                let array = symbol_attribute(&def, "array")?;
                self.arrays.get(&array).map(|info| info.slice.shift)
            }
            ops::ACCUMULATE | ops::CONCAT | ops::DIFF => {
                let shifts: Vec<Option<i64>> =
                    def.operands().map(|v| self.slice_shift(v)).collect();
                let first = *shifts.first()?;
                shifts
                    .iter()
                    .all(|shift| *shift == first)
                    .then_some(first)
                    .flatten()
            }
            _ => None,
        }
    }

    fn check_shift_add(&mut self, op: &OperationRef) {
        if !self.check_non_empty(op) {
            return;
        }
        let shifts = i64_array_attribute(op, "shifts").unwrap_or_default();
        if shifts.len() != op.operand_count() {
            self.error(
                op,
                format!(
                    "has {} shifts for {} slices: give one shift per slice",
                    shifts.len(),
                    op.operand_count()
                ),
            );
            return;
        }
        if let Some(shift) = shifts.iter().find(|shift| !(0..=62).contains(*shift)) {
            self.error(op, format!("shift {shift} out of range 0..=62"));
        }
        let Some(output) = self.result_shape(op, "result") else {
            return;
        };
        for (index, (value, &shift)) in op.operands().zip(&shifts).enumerate() {
            let Some(slice) = self.shape(op, value, &format!("slice {index}")) else {
                return;
            };
            if slice.dims != output.dims {
                self.error(
                    op,
                    format!(
                        "slice {index} has shape {}, the result {}",
                        format_dims(&slice.dims),
                        format_dims(&output.dims)
                    ),
                );
            }
            if let Some(declared) = self
                .slice_shift(value)
                .filter(|declared| *declared != shift)
            {
                self.error(op, format!("shift {shift} of slice {index} disagrees with its arrays' #cim.slice significance {declared}"));
            }
        }
    }

    fn check_non_empty(&mut self, op: &OperationRef) -> bool {
        if op.operand_count() == 0 {
            self.error(op, "needs at least one operand");
            false
        } else {
            true
        }
    }

    fn check_concat(&mut self, op: &OperationRef) {
        let Some(output) = self.result_shape(op, "result") else {
            return;
        };
        let dimension = int_attribute(op, "dimension").unwrap_or(-1);
        if dimension < 0 || dimension as usize >= output.rank() {
            self.error(
                op,
                format!(
                    "dimension {dimension} out of range for rank {}",
                    output.rank()
                ),
            );
            return;
        }
        let dimension = dimension as usize;
        let mut total = Some(0u64);
        for (index, value) in op.operands().enumerate() {
            let Some(tile) = self.shape(op, value, &format!("tile {index}")) else {
                return;
            };
            if tile.rank() != output.rank() {
                self.error(
                    op,
                    format!(
                        "tile {index} has rank {}, the result {}",
                        tile.rank(),
                        output.rank()
                    ),
                );
                return;
            }
            for axis in (0..tile.rank()).filter(|&axis| axis != dimension) {
                self.expect_dim(
                    op,
                    &format!("tile {index} dimension {axis} vs result"),
                    tile.dims[axis],
                    output.dims[axis],
                );
            }
            total = total.zip(tile.dims[dimension]).map(|(a, b)| a + b);
        }
        self.expect_dim(
            op,
            &format!("result dimension {dimension} vs sum of tiles"),
            output.dims[dimension],
            total,
        );
    }

    fn check_diff(&mut self, op: &OperationRef) {
        let (Some(positive), Some(negative)) = (
            self.operand_shape(op, 0, "positive"),
            self.operand_shape(op, 1, "negative"),
        ) else {
            return;
        };
        let rank = positive.rank();
        let broadcast = negative.rank() == rank
            && rank >= 1
            && negative.dims[rank - 1] == Some(1)
            && negative.dims[..rank - 1] == positive.dims[..rank - 1];
        if negative.dims != positive.dims && !broadcast {
            self.error(
                op,
                format!(
                    "negative shape {} must equal the positive shape {} or differ only by a last dimension of 1",
                    format_dims(&negative.dims),
                    format_dims(&positive.dims)
                ),
            );
        }
        if negative.element != positive.element {
            self.error(op, "positive and negative must have one element type");
        }
    }

    fn check_affine(&mut self, op: &OperationRef) {
        let Some(input) = self.operand_shape(op, 0, "input") else {
            return;
        };
        let Some(columns) = input.last() else {
            self.error(op, "input must have rank >= 1");
            return;
        };
        for name in ["scale", "offset"] {
            let Some(shape) = attribute(op, name).and_then(attribute_shape) else {
                continue;
            };
            if shape.rank() != 1 {
                self.error(
                    op,
                    format!(
                        "{name} must be 1-D (one value per column), got {}",
                        format_dims(&shape.dims)
                    ),
                );
            } else {
                self.expect_dim(
                    op,
                    &format!("{name} length vs input columns"),
                    shape.dims[0],
                    columns,
                );
            }
        }
    }

    fn check_adapter(&mut self, op: &OperationRef) {
        let (Some(input), Some(base)) = (
            self.operand_shape(op, 0, "input"),
            self.operand_shape(op, 1, "base"),
        ) else {
            return;
        };
        let (Some(down), Some(up)) = (
            attribute(op, "down").and_then(attribute_shape),
            attribute(op, "up").and_then(attribute_shape),
        ) else {
            return;
        };
        if input.rank() != 2 || base.rank() != 2 || down.rank() != 2 || up.rank() != 2 {
            self.error(
                op,
                "input (BxK), base (BxN), down (KxR) and up (RxN) must be 2-D",
            );
            return;
        }
        self.expect_dim(op, "base batch vs input batch", base.dims[0], input.dims[0]);
        self.expect_dim(
            op,
            "down rows vs input columns (K)",
            down.dims[0],
            input.dims[1],
        );
        self.expect_dim(
            op,
            "up rows vs down columns (rank R)",
            up.dims[0],
            down.dims[1],
        );
        self.expect_dim(
            op,
            "up columns vs base columns (N)",
            up.dims[1],
            base.dims[1],
        );
    }

    fn check_scale(&mut self, op: &OperationRef) {
        if let Some(scale) =
            float_attribute(op, "scale").filter(|scale| !(scale.is_finite() && *scale > 0.0))
        {
            self.error(op, format!("scale {scale} must be finite and > 0"));
        }
    }

    fn check_same_shape<'c>(
        &mut self,
        op: &OperationRef<'c, '_>,
    ) -> Option<(TensorShape<'c>, TensorShape<'c>)> {
        let input = self.operand_shape(op, 0, "input")?;
        let output = self.result_shape(op, "result")?;
        if input.dims != output.dims {
            self.error(
                op,
                format!(
                    "input shape {} and result shape {} must agree",
                    format_dims(&input.dims),
                    format_dims(&output.dims)
                ),
            );
        }
        Some((input, output))
    }

    fn check_quantize(&mut self, op: &OperationRef) {
        self.check_scale(op);
        let Some((input, output)) = self.check_same_shape(op) else {
            return;
        };
        let bits = int_attribute(op, "bits").unwrap_or(0);
        if !input.is_float() {
            self.error(op, "input must have float elements");
        }
        match output.integer_width() {
            Some(width) if bits >= 1 && bits <= width as i64 => {}
            Some(width) => self.error(
                op,
                format!("bits {bits} must be in 1..={width} (the result element width)"),
            ),
            None => self.error(op, "result must have integer elements"),
        }
    }

    fn check_dequantize(&mut self, op: &OperationRef) {
        self.check_scale(op);
        let Some((input, output)) = self.check_same_shape(op) else {
            return;
        };
        if input.integer_width().is_none() {
            self.error(op, "input must have integer elements");
        }
        if !output.is_float() {
            self.error(op, "result must have float elements");
        }
    }
}
