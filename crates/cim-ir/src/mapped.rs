//! Typed views of mapped IR (DESIGN.md, level 3): the module's crossbar arrays
//! ([`CrossbarOp`]), the analog products that read them ([`MvmOp`]), and the edits
//! the mapping passes make ([`Arrays`]). Every pass, backend and report that needs
//! an array or an MVM finds it here, so no one walks the IR for them by hand.

use crate::{
    attributes::{Cell, Converter, DacMode, Geometry, Place, Slice, Window},
    build::{self, CrossbarSpec, MvmSpec},
    dialect::ops,
    marks,
    query::{
        TensorShape, attribute, attribute_shape, context_of, op_name, ops_in, string_attribute,
        symbol_attribute,
    },
};
use melior::ir::{
    Attribute, BlockLike, BlockRef, Operation, OperationRef, RegionLike, Type, Value, ValueLike,
    operation::{OperationLike, OperationMutLike, OperationRefMut},
};
use std::collections::HashSet;

/// The body of a module.
pub fn module_body<'c, 'a>(module: OperationRef<'c, 'a>) -> Option<BlockRef<'c, 'a>> {
    module.region(0).ok()?.first_block()
}

/// The operations directly in the module body, in order.
pub fn top_level<'c, 'a>(
    module: OperationRef<'c, 'a>,
) -> impl Iterator<Item = OperationRef<'c, 'a>> {
    let first = module_body(module).and_then(|block| block.first_operation());
    std::iter::successors(first, |op| op.next_in_block())
}

/// The `cim.crossbar` operations of a module, in module order, whatever their
/// attributes (the verifier reads malformed ones too; others use [`CrossbarOp`]).
pub fn crossbar_ops<'c, 'a>(
    module: OperationRef<'c, 'a>,
) -> impl Iterator<Item = OperationRef<'c, 'a>> {
    top_level(module).filter(|op| op_name(op) == ops::CROSSBAR)
}

/// The `cim.mvm` operations anywhere in `root`, in program order.
pub fn mvm_ops<'c, 'a>(root: OperationRef<'c, 'a>) -> Vec<OperationRef<'c, 'a>> {
    ops_in(root)
        .into_iter()
        .filter(|op| op_name(op) == ops::MVM)
        .collect()
}

/// A weight block read out of an array: shape (rows, cols) and row-major values.
pub struct Weights {
    /// `[rows, cols]`.
    pub shape: [u64; 2],
    /// Row-major values.
    pub values: Vec<f32>,
}

/// A `cim.crossbar` and its attributes.
pub struct CrossbarOp<'c, 'a> {
    /// The operation.
    pub op: OperationRef<'c, 'a>,
    /// Symbol name.
    pub name: String,
    /// Sign encoding.
    pub sign: String,
    /// Physical size.
    pub geometry: Geometry,
    /// Bit slice.
    pub slice: Slice,
    /// `#cim.place` or `#cim.unplaced`.
    pub place: Attribute<'c>,
    /// `#cim.cell` or `#cim.ideal`.
    pub cell: Attribute<'c>,
    weights: Attribute<'c>,
}

impl<'c, 'a> CrossbarOp<'c, 'a> {
    /// The view of `op`, when it is a `cim.crossbar` with every attribute IRDL
    /// requires.
    pub fn read(op: OperationRef<'c, 'a>) -> Option<Self> {
        if op_name(&op) != ops::CROSSBAR {
            return None;
        }
        Some(Self {
            name: string_attribute(&op, "sym_name")?,
            sign: string_attribute(&op, "sign")?,
            geometry: attribute(&op, "geometry").and_then(Geometry::read)?,
            slice: attribute(&op, "slice").and_then(Slice::read)?,
            place: attribute(&op, "place")?,
            cell: attribute(&op, "cell")?,
            weights: attribute(&op, "weights")?,
            op,
        })
    }

    /// The arrays of a module, in module order.
    pub fn all(module: OperationRef<'c, 'a>) -> Vec<Self> {
        crossbar_ops(module).filter_map(Self::read).collect()
    }

    /// The programmed block; an error for weights that are not inline dense f32.
    pub fn weights(&self) -> Result<Weights, String> {
        let [rows, cols] = self
            .weights_shape()
            .ok_or("weights must be a static 2-D tensor")?;
        let values = build::read_dense_f32(self.weights).ok_or_else(|| {
            format!(
                "weights of @{} must be inline dense f32 (dense_resource is not supported here yet)",
                self.name
            )
        })?;
        Ok(Weights {
            shape: [rows, cols],
            values,
        })
    }

    /// Rows and columns of the weights, when static and 2-D.
    pub fn weights_shape(&self) -> Option<[u64; 2]> {
        match attribute_shape(self.weights)?.dims.as_slice() {
            [Some(rows), Some(cols)] => Some([*rows, *cols]),
            _ => None,
        }
    }

    /// Where it is placed; `None` before `cim-place`.
    pub fn placed(&self) -> Option<Place> {
        Place::read(self.place)
    }

    /// Bits per cell; `None` for analog cells (`#cim.ideal`).
    pub fn cell_bits(&self) -> Option<i64> {
        Cell::read(self.cell).map(|cell| cell.bits)
    }

    /// The encoding `cim-map` chose for it ([`marks::ENCODING`]), if it chose.
    pub fn encoding_mark(&self) -> Option<String> {
        marks::encoding(&self.op)
    }

    /// The bits per cell `cim-map` chose for it ([`marks::CELL_BITS`]), if it chose.
    pub fn cell_bits_mark(&self) -> Option<i64> {
        marks::cell_bits(&self.op)
    }

    /// Its round ([`marks::ROUND`]), if `cim-place` gave it one.
    pub fn round(&self) -> Option<i64> {
        marks::round(&self.op)
    }

    /// Whether the array has been placed.
    pub fn is_placed(&self) -> bool {
        self.place.to_string() != "#cim.unplaced"
    }

    /// The op, to change its attributes.
    pub fn op_mut(&self) -> OperationRefMut<'c, 'a> {
        // SAFETY: the op is live; views are short-lived and an attribute change
        // does not invalidate them.
        unsafe { OperationRefMut::from_raw(self.op.to_raw()) }
    }

    /// Erases the array (its MVMs must be gone).
    pub fn erase(&self) {
        // SAFETY: no operation refers to the array's op (symbols are by name).
        unsafe { mlir_sys::mlirOperationDestroy(self.op.to_raw()) }
    }
}

/// A `cim.mvm`.
pub struct MvmOp<'c, 'a> {
    /// The operation.
    pub op: OperationRef<'c, 'a>,
}

impl<'c, 'a> MvmOp<'c, 'a> {
    /// The view of `op`, when it is a `cim.mvm`.
    pub fn read(op: OperationRef<'c, 'a>) -> Option<Self> {
        (op_name(&op) == ops::MVM).then_some(Self { op })
    }

    /// Every MVM in `root`, in program order.
    pub fn all(root: OperationRef<'c, 'a>) -> Vec<Self> {
        mvm_ops(root).into_iter().map(|op| Self { op }).collect()
    }

    /// The context.
    pub fn context(&self) -> &'c melior::Context {
        context_of(&self.op)
    }

    /// The array it reads (its symbol's name); `None` if malformed.
    pub fn array(&self) -> Option<String> {
        symbol_attribute(&self.op, "array")
    }

    /// The top-left corner of the block it reads; `None` if malformed.
    pub fn window(&self) -> Option<Window> {
        attribute(&self.op, "window").and_then(Window::read)
    }

    /// Its input converter.
    pub fn dac(&self) -> Option<Converter> {
        attribute(&self.op, "dac").and_then(Converter::read)
    }

    /// Its output converter.
    pub fn adc(&self) -> Option<Converter> {
        attribute(&self.op, "adc").and_then(Converter::read)
    }

    /// Input bit planes per vector: the DAC's bits when bit-serial, else 1.
    pub fn input_planes(&self) -> u64 {
        match self.dac() {
            Some(Converter::Dac {
                mode: DacMode::BitSerial,
                bits,
                ..
            }) => bits.max(1) as u64,
            _ => 1,
        }
    }

    /// Sets its converter `name` (`"dac"` or `"adc"`).
    pub fn set_converter(&self, name: &str, converter: Converter) {
        let built = converter.build(self.context());
        // SAFETY: the op is live; nothing else refers to it while its attribute changes.
        let mut op = unsafe { OperationRefMut::from_raw(self.op.to_raw()) };
        op.set_attribute(name, built);
    }

    /// The layer it computes for ([`marks::layer`]).
    pub fn layer(&self) -> Option<String> {
        marks::layer(&self.op)
    }

    /// The input operand.
    pub fn input(&self) -> Value<'c, 'a> {
        self.op.operand(0).expect("cim.mvm has one operand (IRDL)")
    }

    /// The result.
    pub fn result(&self) -> Value<'c, 'a> {
        self.op
            .result(0)
            .expect("cim.mvm has one result (IRDL)")
            .into()
    }

    /// The result type.
    pub fn result_type(&self) -> Type<'c> {
        self.result().r#type()
    }

    /// Rows it reads: its input's last dimension (0 if not static).
    pub fn rows(&self) -> u64 {
        last_dim(self.input())
    }

    /// Columns it reads: its result's last dimension (0 if not static).
    pub fn cols(&self) -> u64 {
        last_dim(self.result())
    }

    /// This MVM's window and converters, reading `array` instead.
    pub fn spec_on<'s>(&self, array: &'s str) -> Result<MvmSpec<'s>, String> {
        Ok(MvmSpec {
            array,
            window: self.window().ok_or("MVM without a window")?,
            dac: self.dac().ok_or("MVM without a dac")?,
            adc: self.adc().ok_or("MVM without an adc")?,
        })
    }

    /// Inserts `new` before this MVM and returns its result.
    pub fn insert_before(&self, new: Operation<'c>) -> Value<'c, 'a> {
        build::insert_before(self.op, new)
    }

    /// Makes every user read `value` instead and erases this MVM.
    pub fn replace_with(&self, value: Value<'c, 'a>) {
        let result = self.op.result(0).expect("one result");
        // SAFETY: after the replacement nothing uses the MVM, which is then erased.
        unsafe {
            mlir_sys::mlirValueReplaceAllUsesOfWith(result.to_raw(), value.to_raw());
            mlir_sys::mlirOperationDestroy(self.op.to_raw());
        }
    }
}

/// The static last dimension of a value's tensor type, or 0.
fn last_dim(value: Value) -> u64 {
    TensorShape::of_value(value)
        .and_then(|shape| shape.last().flatten())
        .unwrap_or(0)
}

/// The arrays of a module and the names taken, for passes that add and remove
/// arrays.
pub struct Arrays<'c, 'a> {
    module: OperationRef<'c, 'a>,
    names: HashSet<String>,
    arrays: Vec<CrossbarOp<'c, 'a>>,
}

impl<'c, 'a> Arrays<'c, 'a> {
    /// Reads the module's arrays (in module order) and every symbol name.
    pub fn collect(module: OperationRef<'c, 'a>) -> Self {
        let names = top_level(module)
            .filter_map(|op| string_attribute(&op, "sym_name"))
            .collect();
        Self {
            module,
            names,
            arrays: CrossbarOp::all(module),
        }
    }

    /// The arrays read, leaving none here (arrays added later are not listed).
    pub fn take_all(&mut self) -> Vec<CrossbarOp<'c, 'a>> {
        std::mem::take(&mut self.arrays)
    }

    /// A name not yet used, `wanted` if free.
    pub fn fresh_name(&mut self, wanted: &str) -> String {
        let mut name = wanted.to_owned();
        let mut suffix = 1;
        while self.names.contains(&name) {
            name = format!("{wanted}_{suffix}");
            suffix += 1;
        }
        self.names.insert(name.clone());
        name
    }

    /// Adds an array next to `like` (same place, cell and slice), named
    /// `<like>_<suffix>`, and returns its name.
    pub fn add_like(
        &mut self,
        like: &CrossbarOp<'c, 'a>,
        suffix: &str,
        sign: &'static str,
        geometry: Geometry,
        shape: &[u64],
        values: &[f32],
    ) -> Result<String, String> {
        if like.is_placed() {
            return Err(format!(
                "@{} is already placed: split and slice before cim-place",
                like.name
            ));
        }
        let name = self.fresh_name(&format!("{}_{suffix}", like.name));
        let context = context_of(&like.op);
        let spec = CrossbarSpec {
            name: name.clone(),
            geometry,
            place: like.place,
            cell: like.cell,
            slice: like.slice,
            sign,
            weights: build::dense_f32(context, shape, values),
        };
        let mut array = build::crossbar(context, like.op.location(), spec);
        // The bits per cell chosen for the array hold for its parts.
        if let Ok(bits) = like.op.discardable_attribute(marks::CELL_BITS) {
            array.set_discardable_attribute(marks::CELL_BITS, bits);
        }
        self.add_before(like, array);
        Ok(name)
    }

    /// Inserts a new array right before `like`.
    pub fn add_before(&mut self, like: &CrossbarOp<'c, 'a>, array: Operation<'c>) {
        self.insert_before_top_level(like.op, array);
    }

    /// Inserts a module-level operation right before `top`, an operation of the
    /// module body.
    pub fn insert_before_top_level(&mut self, top: OperationRef<'c, 'a>, new: Operation<'c>) {
        let body = module_body(self.module).expect("a module has a body");
        body.insert_operation_before(top, new);
    }

    /// Every MVM of the module that reads `array`.
    pub fn mvms_of(&self, array: &str) -> Vec<MvmOp<'c, 'a>> {
        MvmOp::all(self.module)
            .into_iter()
            .filter(|mvm| mvm.array().as_deref() == Some(array))
            .collect()
    }
}
