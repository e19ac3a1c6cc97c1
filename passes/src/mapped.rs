//! Shared machinery of the passes that rewrite mapped IR (split, slice, place): the
//! module's arrays, the MVMs that read each, and the edits they make.

use cim_ir::{
    attributes::{Converter, Geometry, Slice, Window},
    build::{self, CrossbarSpec, MvmSpec},
    dialect::ops,
    query::{attribute, attribute_shape, context_of, int_attribute, op_name, string_attribute},
};
use melior::{
    Context,
    ir::{
        Attribute, BlockLike, BlockRef, Operation, OperationRef, RegionLike, Type, Value,
        ValueLike,
        attribute::FlatSymbolRefAttribute,
        operation::{OperationLike, WalkOrder, WalkResult},
    },
};
use std::collections::HashSet;

/// The discardable attribute with which `cim-map{choose-encoding}` tells
/// `cim-split-weights` how to encode an array's signed weights.
pub const ENCODING_HINT: &str = "cim.encoding";
/// The discardable attribute with which `cim-map{choose-encoding}` tells
/// `cim-bitslice` the bits per cell of an array (split arrays inherit it).
pub const CELL_BITS_HINT: &str = "cim.cell_bits";

/// Marks `array` with its encoding and bits per cell.
pub fn set_hints<'c>(
    context: &'c Context,
    array: &mut Operation<'c>,
    encoding: &str,
    cell_bits: u64,
) {
    use melior::ir::{
        attribute::{IntegerAttribute, StringAttribute},
        operation::OperationMutLike,
        r#type::IntegerType,
    };
    array.set_discardable_attribute(
        ENCODING_HINT,
        StringAttribute::new(context, encoding).into(),
    );
    array.set_discardable_attribute(
        CELL_BITS_HINT,
        IntegerAttribute::new(IntegerType::new(context, 64).into(), cell_bits as i64).into(),
    );
}

/// The body of a module.
pub fn module_body<'c, 'a>(module: OperationRef<'c, 'a>) -> Option<BlockRef<'c, 'a>> {
    module.region(0).ok()?.first_block()
}

/// The operations directly in the module body.
pub fn top_level<'c, 'a>(
    module: OperationRef<'c, 'a>,
) -> impl Iterator<Item = OperationRef<'c, 'a>> {
    let first = module_body(module).and_then(|block| block.first_operation());
    std::iter::successors(first, |op| op.next_in_block())
}

/// A weight block read out of an array: shape (rows, cols) and row-major values.
pub struct Weights {
    /// `[rows, cols]`.
    pub shape: [u64; 2],
    /// Row-major values.
    pub values: Vec<f32>,
}

/// A `cim.crossbar` and its attributes.
pub struct ArrayOp<'c, 'a> {
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

impl<'c, 'a> ArrayOp<'c, 'a> {
    fn read(op: OperationRef<'c, 'a>) -> Option<Self> {
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

    /// The programmed block; an error for weights that are not inline dense f32.
    pub fn weights(&self) -> Result<Weights, String> {
        let shape = attribute_shape(self.weights).ok_or("weights have no shape")?;
        let values = build::read_dense_f32(self.weights).ok_or_else(|| {
            format!(
                "weights of @{} must be inline dense f32 (dense_resource is not supported here yet)",
                self.name
            )
        })?;
        match shape.dims.as_slice() {
            [Some(rows), Some(cols)] => Ok(Weights {
                shape: [*rows, *cols],
                values,
            }),
            _ => Err("weights must be a static 2-D tensor".into()),
        }
    }

    /// The encoding `cim-map` chose for it, if it chose.
    pub fn encoding_hint(&self) -> Option<String> {
        string_attribute(&self.op, ENCODING_HINT)
    }

    /// The bits per cell `cim-map` chose for it, if it chose.
    pub fn cell_bits_hint(&self) -> Option<i64> {
        int_attribute(&self.op, CELL_BITS_HINT)
    }

    /// Whether the array has been placed.
    pub fn is_placed(&self) -> bool {
        self.place.to_string() != "#cim.unplaced"
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
    /// The context.
    pub fn context(&self) -> &'c Context {
        context_of(&self.op)
    }

    /// The input operand.
    pub fn input(&self) -> Value<'c, 'a> {
        self.op.operand(0).expect("cim.mvm has one operand (IRDL)")
    }

    /// The result type.
    pub fn result_type(&self) -> Type<'c> {
        self.op
            .result(0)
            .expect("cim.mvm has one result (IRDL)")
            .r#type()
    }

    /// This MVM's window and converters, reading `array` instead.
    pub fn spec_on<'s>(&self, array: &'s str) -> Result<MvmSpec<'s>, String> {
        let read = |name: &str| attribute(&self.op, name).and_then(Converter::read);
        Ok(MvmSpec {
            array,
            window: attribute(&self.op, "window")
                .and_then(Window::read)
                .ok_or("MVM without a window")?,
            dac: read("dac").ok_or("MVM without a dac")?,
            adc: read("adc").ok_or("MVM without an adc")?,
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

/// The arrays of a module and the names taken.
pub struct Arrays<'c, 'a> {
    module: OperationRef<'c, 'a>,
    names: HashSet<String>,
    arrays: Vec<ArrayOp<'c, 'a>>,
}

impl<'c, 'a> Arrays<'c, 'a> {
    /// Reads the module's arrays (in module order) and every symbol name.
    pub fn collect(module: OperationRef<'c, 'a>) -> Self {
        let names = top_level(module)
            .filter_map(|op| string_attribute(&op, "sym_name"))
            .collect();
        let arrays = top_level(module)
            .filter(|op| op_name(op) == ops::CROSSBAR)
            .filter_map(ArrayOp::read)
            .collect();
        Self {
            module,
            names,
            arrays,
        }
    }

    /// The arrays read, leaving none here (arrays added later are not listed).
    pub fn take_all(&mut self) -> Vec<ArrayOp<'c, 'a>> {
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
        like: &ArrayOp<'c, 'a>,
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
        if let Ok(bits) = like.op.discardable_attribute(CELL_BITS_HINT) {
            use melior::ir::operation::OperationMutLike;
            array.set_discardable_attribute(CELL_BITS_HINT, bits);
        }
        self.add_before(like, array);
        Ok(name)
    }

    /// Inserts a new array right before `like`.
    pub fn add_before(&mut self, like: &ArrayOp<'c, 'a>, array: Operation<'c>) {
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
        let mut found = Vec::new();
        self.module.walk(WalkOrder::PreOrder, |op| {
            if op_name(&op) == ops::MVM {
                let reads = attribute(&op, "array")
                    .and_then(|symbol| FlatSymbolRefAttribute::try_from(symbol).ok())
                    .is_some_and(|symbol| symbol.value() == array);
                if reads {
                    found.push(op.to_raw());
                }
            }
            WalkResult::Advance
        });
        found
            .into_iter()
            // SAFETY: collected from this module just above.
            .map(|raw| MvmOp {
                op: unsafe { OperationRef::from_raw(raw) },
            })
            .collect()
    }
}
