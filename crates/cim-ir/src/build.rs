//! Building operations and attributes for passes: typed arguments in, verified-shape
//! IR out. Each builder creates a detached operation; the caller inserts it.

use crate::attributes::{Converter, Geometry, Slice, Window};
use crate::dialect::ops;
use melior::{
    Context,
    ir::{
        Attribute, AttributeLike, BlockLike, Identifier, Location, Operation, OperationRef, Type,
        TypeLike, Value, ValueLike, operation::OperationBuilder, operation::OperationLike,
        r#type::RankedTensorType,
    },
};

/// MLIR's marker for a dynamic size in static size lists (`ShapedType::kDynamic`).
pub fn dynamic_size() -> i64 {
    // SAFETY: a constant query.
    unsafe { mlir_sys::mlirShapedTypeGetDynamicSize() }
}

/// `tensor<d0 x d1 x ... x element>`; `None` dimensions are dynamic.
pub fn tensor_type<'c>(dims: &[Option<u64>], element: Type<'c>) -> Type<'c> {
    let sizes: Vec<u64> = dims
        .iter()
        .map(|dim| dim.unwrap_or(dynamic_size() as u64))
        .collect();
    RankedTensorType::new(&sizes, element, None).into()
}

/// A dense f32 elements attribute of the given static shape, row-major values.
pub fn dense_f32<'c>(context: &'c Context, shape: &[u64], values: &[f32]) -> Attribute<'c> {
    assert_eq!(
        shape.iter().product::<u64>() as usize,
        values.len(),
        "dense_f32: shape and value count differ"
    );
    let dims: Vec<Option<u64>> = shape.iter().copied().map(Some).collect();
    let r#type = tensor_type(&dims, Type::float32(context));
    // SAFETY: the type is a static tensor of `values.len()` f32 elements; MLIR copies.
    unsafe {
        Attribute::from_raw(mlir_sys::mlirDenseElementsAttrFloatGet(
            r#type.to_raw(),
            values.len() as isize,
            values.as_ptr(),
        ))
    }
}

/// The values of a dense f32 elements attribute, row-major (a splat is expanded), or
/// of a `dense_resource` blob (as torch-mlir writes weights); `None` for any other
/// attribute or element type, or a resource without data (elided).
pub fn read_dense_f32(attribute: Attribute) -> Option<Vec<f32>> {
    let shape = crate::query::attribute_shape(attribute)?;
    // SAFETY: a query on a valid type.
    if !unsafe { mlir_sys::mlirTypeIsAF32(shape.element.to_raw()) } {
        return None;
    }
    // SAFETY: queries on a valid attribute, guarded by the kind checks; a resource is
    // read only when its blob exists.
    unsafe {
        let raw = attribute.to_raw();
        let count = mlir_sys::mlirElementsAttrGetNumElements(raw).max(0) as usize;
        if mlir_sys::mlirAttributeIsADenseResourceElements(raw) {
            if !cimDenseResourceHasData(raw) {
                return None;
            }
            return Some(
                (0..count)
                    .map(|index| {
                        mlir_sys::mlirDenseFloatResourceElementsAttrGetValue(raw, index as isize)
                    })
                    .collect(),
            );
        }
        if !mlir_sys::mlirAttributeIsADenseElements(raw) {
            return None;
        }
        if mlir_sys::mlirDenseElementsAttrIsSplat(raw) {
            let value = mlir_sys::mlirDenseElementsAttrGetFloatSplatValue(raw);
            return Some(vec![value; count]);
        }
        // f32 elements are stored packed: one copy, not a call per element (a
        // pre-trained model holds tens of millions). Read as bytes: the buffer need
        // not be aligned for f32.
        let data = mlir_sys::mlirDenseElementsAttrGetRawData(raw).cast::<u8>();
        if !data.is_null() {
            let bytes = std::slice::from_raw_parts(data, count * 4);
            return Some(
                bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            );
        }
        Some(
            (0..count)
                .map(|index| mlir_sys::mlirDenseElementsAttrGetFloatValue(raw, index as isize))
                .collect(),
        )
    }
}

/// The values of a dense integer elements attribute (i64, i32 or i1; a splat
/// expanded) or of such a `dense_resource` blob (torch-mlir's position-id buffers),
/// row-major; `None` for any other attribute or element type, or a resource without
/// data.
pub fn read_dense_integers(attribute: Attribute) -> Option<Vec<i64>> {
    let shape = crate::query::attribute_shape(attribute)?;
    let element = shape.element.to_raw();
    // SAFETY: queries on a valid type.
    let width = unsafe {
        if !mlir_sys::mlirTypeIsAInteger(element) {
            return None;
        }
        mlir_sys::mlirIntegerTypeGetWidth(element)
    };
    if !matches!(width, 1 | 32 | 64) {
        return None;
    }
    // SAFETY: queries on a valid attribute of that element type, guarded by the kind
    // checks; a resource is read only when its blob exists.
    unsafe {
        let raw = attribute.to_raw();
        let count = mlir_sys::mlirElementsAttrGetNumElements(raw).max(0) as isize;
        if mlir_sys::mlirAttributeIsADenseResourceElements(raw) {
            if !cimDenseResourceHasData(raw) {
                return None;
            }
            return Some(
                (0..count)
                    .map(|i| match width {
                        1 => i64::from(mlir_sys::mlirDenseBoolResourceElementsAttrGetValue(raw, i)),
                        32 => {
                            i64::from(mlir_sys::mlirDenseInt32ResourceElementsAttrGetValue(raw, i))
                        }
                        _ => mlir_sys::mlirDenseInt64ResourceElementsAttrGetValue(raw, i),
                    })
                    .collect(),
            );
        }
        if !mlir_sys::mlirAttributeIsADenseElements(raw) {
            return None;
        }
        let splat = mlir_sys::mlirDenseElementsAttrIsSplat(raw);
        Some(
            (0..count)
                .map(|i| {
                    let i = if splat { 0 } else { i };
                    match width {
                        1 => i64::from(mlir_sys::mlirDenseElementsAttrGetBoolValue(raw, i)),
                        32 => i64::from(mlir_sys::mlirDenseElementsAttrGetInt32Value(raw, i)),
                        _ => mlir_sys::mlirDenseElementsAttrGetInt64Value(raw, i),
                    }
                })
                .collect(),
        )
    }
}

unsafe extern "C" {
    /// cpp/shim.cpp: whether a `dense_resource` attribute has its blob.
    fn cimDenseResourceHasData(attribute: mlir_sys::MlirAttribute) -> bool;
}

fn named<'c>(
    context: &'c Context,
    name: &str,
    attribute: Attribute<'c>,
) -> (Identifier<'c>, Attribute<'c>) {
    (Identifier::new(context, name), attribute)
}

fn parse<'c>(context: &'c Context, text: &str) -> Attribute<'c> {
    Attribute::parse(context, text).unwrap_or_else(|| panic!("builder attribute {text} must parse"))
}

fn finish(builder: OperationBuilder) -> Operation {
    builder
        .build()
        .expect("builders pass operation names and operands that MLIR accepts")
}

/// Everything a `cim.crossbar` declares.
pub struct CrossbarSpec<'c> {
    /// Symbol name.
    pub name: String,
    /// Physical size.
    pub geometry: Geometry,
    /// `#cim.place<...>` or `#cim.unplaced`.
    pub place: Attribute<'c>,
    /// `#cim.cell<bits>` or `#cim.ideal`.
    pub cell: Attribute<'c>,
    /// Bit slice and significance.
    pub slice: Slice,
    /// `signed`, `positive`, `negative` or `offset`.
    pub sign: &'static str,
    /// Programmed block (rows x cols, at most the geometry).
    pub weights: Attribute<'c>,
}

/// `cim.crossbar`.
pub fn crossbar<'c>(
    context: &'c Context,
    location: Location<'c>,
    spec: CrossbarSpec<'c>,
) -> Operation<'c> {
    finish(
        OperationBuilder::new(ops::CROSSBAR, location).add_attributes(&[
            named(
                context,
                "sym_name",
                parse(context, &format!("\"{}\"", spec.name)),
            ),
            named(context, "geometry", spec.geometry.build(context)),
            named(context, "place", spec.place),
            named(context, "cell", spec.cell),
            named(context, "slice", spec.slice.build(context)),
            named(
                context,
                "sign",
                parse(context, &format!("\"{}\"", spec.sign)),
            ),
            named(context, "weights", spec.weights),
        ]),
    )
}

/// Where and through which converters a `cim.mvm` reads its array.
pub struct MvmSpec<'s> {
    /// The `cim.crossbar` symbol.
    pub array: &'s str,
    /// Top-left corner of the block read.
    pub window: Window,
    /// Input converter.
    pub dac: Converter,
    /// Output converter.
    pub adc: Converter,
}

/// `cim.mvm` of `input` producing `result`.
pub fn mvm<'c>(
    context: &'c Context,
    location: Location<'c>,
    input: Value<'c, '_>,
    result: Type<'c>,
    spec: &MvmSpec,
) -> Operation<'c> {
    finish(
        OperationBuilder::new(ops::MVM, location)
            .add_operands(&[input])
            .add_results(&[result])
            .add_attributes(&[
                named(
                    context,
                    "array",
                    parse(context, &format!("@{}", spec.array)),
                ),
                named(context, "window", spec.window.build(context)),
                named(context, "dac", spec.dac.build(context)),
                named(context, "adc", spec.adc.build(context)),
            ]),
    )
}

/// `cim.accumulate` of same-typed partial products.
pub fn accumulate<'c>(location: Location<'c>, partials: &[Value<'c, '_>]) -> Operation<'c> {
    let r#type = partials[0].r#type();
    finish(
        OperationBuilder::new(ops::ACCUMULATE, location)
            .add_operands(partials)
            .add_results(&[r#type]),
    )
}

/// `cim.concat` along `dimension`, producing `result`.
pub fn concat<'c>(
    context: &'c Context,
    location: Location<'c>,
    tiles: &[Value<'c, '_>],
    result: Type<'c>,
    dimension: i64,
) -> Operation<'c> {
    finish(
        OperationBuilder::new(ops::CONCAT, location)
            .add_operands(tiles)
            .add_results(&[result])
            .add_attributes(&[named(
                context,
                "dimension",
                parse(context, &format!("{dimension} : i64")),
            )]),
    )
}

/// `tensor.concat` of `parts` along `dimension` (their sizes there may differ),
/// producing `result`.
pub fn tensor_concat<'c>(
    context: &'c Context,
    location: Location<'c>,
    parts: &[Value<'c, '_>],
    result: Type<'c>,
    dimension: i64,
) -> Operation<'c> {
    finish(
        OperationBuilder::new("tensor.concat", location)
            .add_operands(parts)
            .add_results(&[result])
            .add_attributes(&[named(
                context,
                "dim",
                parse(context, &format!("{dimension} : i64")),
            )]),
    )
}

/// `arith.constant N : index`.
pub fn index_constant<'c>(
    context: &'c Context,
    location: Location<'c>,
    value: i64,
) -> Operation<'c> {
    finish(
        OperationBuilder::new("arith.constant", location)
            .add_results(&[Type::index(context)])
            .add_attributes(&[named(
                context,
                "value",
                parse(context, &format!("{value} : index")),
            )]),
    )
}

/// `tensor.dim %source, %index`.
pub fn tensor_dim<'c>(
    context: &'c Context,
    location: Location<'c>,
    source: Value<'c, '_>,
    index: Value<'c, '_>,
) -> Operation<'c> {
    finish(
        OperationBuilder::new("tensor.dim", location)
            .add_operands(&[source, index])
            .add_results(&[Type::index(context)]),
    )
}

/// `tensor.extract_slice` of columns `start..start+width` of a 2-D tensor, all rows.
/// `rows` is the row count: a static size, or the SSA value of a dynamic one.
pub fn extract_columns<'c>(
    context: &'c Context,
    location: Location<'c>,
    source: Value<'c, '_>,
    rows: Result<u64, Value<'c, '_>>,
    start: u64,
    width: u64,
    result: Type<'c>,
) -> Operation<'c> {
    extract_2d(context, location, source, [0, start], rows, width, result)
}

/// `tensor.extract_slice` of rows `start..start+count` of a 2-D tensor with a
/// static row count, all `width` columns.
pub fn extract_rows<'c>(
    context: &'c Context,
    location: Location<'c>,
    source: Value<'c, '_>,
    start: u64,
    count: u64,
    width: u64,
    result: Type<'c>,
) -> Operation<'c> {
    extract_2d(
        context,
        location,
        source,
        [start, 0],
        Ok(count),
        width,
        result,
    )
}

/// `tensor.extract_slice` of `rows x width` from `offset` of a 2-D tensor.
fn extract_2d<'c>(
    context: &'c Context,
    location: Location<'c>,
    source: Value<'c, '_>,
    offset: [u64; 2],
    rows: Result<u64, Value<'c, '_>>,
    width: u64,
    result: Type<'c>,
) -> Operation<'c> {
    let (static_rows, dynamic) = match rows {
        Ok(rows) => (rows as i64, 0),
        Err(_) => (dynamic_size(), 1),
    };
    let mut operands = vec![source];
    if let Err(value) = rows {
        operands.push(value);
    }
    let [row, col] = offset;
    finish(
        OperationBuilder::new("tensor.extract_slice", location)
            .add_operands(&operands)
            .add_results(&[result])
            .add_attributes(&[
                named(
                    context,
                    "static_offsets",
                    parse(context, &format!("array<i64: {row}, {col}>")),
                ),
                named(
                    context,
                    "static_sizes",
                    parse(context, &format!("array<i64: {static_rows}, {width}>")),
                ),
                named(
                    context,
                    "static_strides",
                    parse(context, "array<i64: 1, 1>"),
                ),
                named(
                    context,
                    "operandSegmentSizes",
                    parse(context, &format!("array<i32: 1, 0, {dynamic}, 0>")),
                ),
            ]),
    )
}

/// `cim.diff`: `positive - negative` (a last dimension of 1 in `negative` broadcasts).
pub fn diff<'c>(
    location: Location<'c>,
    positive: Value<'c, '_>,
    negative: Value<'c, '_>,
) -> Operation<'c> {
    let r#type = positive.r#type();
    finish(
        OperationBuilder::new(ops::DIFF, location)
            .add_operands(&[positive, negative])
            .add_results(&[r#type]),
    )
}

/// `cim.shift_add`: `sum_i slices[i] * 2^shifts[i]`, of the slices' type.
pub fn shift_add<'c>(
    context: &'c Context,
    location: Location<'c>,
    slices: &[Value<'c, '_>],
    shifts: &[i64],
) -> Operation<'c> {
    let r#type = slices[0].r#type();
    let list = shifts
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    finish(
        OperationBuilder::new(ops::SHIFT_ADD, location)
            .add_operands(slices)
            .add_results(&[r#type])
            .add_attributes(&[named(
                context,
                "shifts",
                parse(context, &format!("array<i64: {list}>")),
            )]),
    )
}

/// `cim.affine`: `scale[j] * x[..., j] + offset[j]`, of the input's type.
pub fn affine<'c>(
    context: &'c Context,
    location: Location<'c>,
    input: Value<'c, '_>,
    scale: &[f32],
    offset: &[f32],
) -> Operation<'c> {
    let r#type = input.r#type();
    finish(
        OperationBuilder::new(ops::AFFINE, location)
            .add_operands(&[input])
            .add_results(&[r#type])
            .add_attributes(&[
                named(
                    context,
                    "scale",
                    dense_f32(context, &[scale.len() as u64], scale),
                ),
                named(
                    context,
                    "offset",
                    dense_f32(context, &[offset.len() as u64], offset),
                ),
            ]),
    )
}

/// `arith.constant` holding a dense f32 tensor of `shape`.
pub fn f32_constant<'c>(
    context: &'c Context,
    location: Location<'c>,
    shape: &[u64],
    values: &[f32],
) -> Operation<'c> {
    let value = dense_f32(context, shape, values);
    let dims: Vec<Option<u64>> = shape.iter().copied().map(Some).collect();
    finish(
        OperationBuilder::new("arith.constant", location)
            .add_results(&[tensor_type(&dims, Type::float32(context))])
            .add_attributes(&[named(context, "value", value)]),
    )
}

/// `cim.matmul` of `input` and the constant `weight`, producing `result`.
pub fn matmul<'c>(
    location: Location<'c>,
    input: Value<'c, '_>,
    weight: Value<'c, '_>,
    result: Type<'c>,
) -> Operation<'c> {
    finish(
        OperationBuilder::new(ops::MATMUL, location)
            .add_operands(&[input, weight])
            .add_results(&[result]),
    )
}

/// The `[[0, 1], [2]]` reassociation attribute of a reshape.
fn reassociation<'c>(context: &'c Context, groups: &[Vec<usize>]) -> Attribute<'c> {
    let groups: Vec<String> = groups
        .iter()
        .map(|g| {
            let axes: Vec<String> = g.iter().map(usize::to_string).collect();
            format!("[{}]", axes.join(", "))
        })
        .collect();
    parse(context, &format!("[{}]", groups.join(", ")))
}

/// `tensor.collapse_shape` of `source` by `groups` into `result`.
pub fn collapse_shape<'c>(
    context: &'c Context,
    location: Location<'c>,
    source: Value<'c, '_>,
    groups: &[Vec<usize>],
    result: Type<'c>,
) -> Operation<'c> {
    finish(
        OperationBuilder::new("tensor.collapse_shape", location)
            .add_operands(&[source])
            .add_results(&[result])
            .add_attributes(&[named(
                context,
                "reassociation",
                reassociation(context, groups),
            )]),
    )
}

/// `tensor.expand_shape` of `source` by `groups` into a tensor of `dims`, each
/// dynamic one sized by the next of `sizes` (index values).
pub fn expand_shape<'c>(
    context: &'c Context,
    location: Location<'c>,
    source: Value<'c, '_>,
    groups: &[Vec<usize>],
    dims: &[Option<u64>],
    sizes: &[Value<'c, '_>],
) -> Operation<'c> {
    let static_shape: Vec<String> = dims
        .iter()
        .map(|d| d.map_or(dynamic_size(), |d| d as i64).to_string())
        .collect();
    let mut operands = vec![source];
    operands.extend_from_slice(sizes);
    finish(
        OperationBuilder::new("tensor.expand_shape", location)
            .add_operands(&operands)
            .add_results(&[tensor_type(dims, Type::float32(context))])
            .add_attributes(&[
                named(context, "reassociation", reassociation(context, groups)),
                named(
                    context,
                    "static_output_shape",
                    parse(context, &format!("array<i64: {}>", static_shape.join(", "))),
                ),
            ]),
    )
}

/// `arith.addf` of two values of one type (tensors add elementwise).
pub fn addf<'c>(location: Location<'c>, lhs: Value<'c, '_>, rhs: Value<'c, '_>) -> Operation<'c> {
    let r#type = lhs.r#type();
    finish(
        OperationBuilder::new("arith.addf", location)
            .add_operands(&[lhs, rhs])
            .add_results(&[r#type]),
    )
}

/// Inserts `new` right before `before` (in its block) and returns `new`'s single
/// result.
pub fn insert_before<'c, 'a>(before: OperationRef<'c, 'a>, new: Operation<'c>) -> Value<'c, 'a> {
    let block = before
        .block()
        .expect("an operation that gets a neighbour lives in a block");
    let inserted = block.insert_operation_before(before, new);
    inserted.result(0).expect("builders make one result").into()
}

/// `cim.adapter`: `base + (input . down) . up`, of the base's type; `down` is
/// `k x rank` and `up` `rank x n`, row-major.
pub fn adapter<'c>(
    context: &'c Context,
    location: Location<'c>,
    input: Value<'c, '_>,
    base: Value<'c, '_>,
    (k, rank, n): (u64, u64, u64),
    down: &[f32],
    up: &[f32],
) -> Operation<'c> {
    let r#type = base.r#type();
    finish(
        OperationBuilder::new(ops::ADAPTER, location)
            .add_operands(&[input, base])
            .add_results(&[r#type])
            .add_attributes(&[
                named(context, "down", dense_f32(context, &[k, rank], down)),
                named(context, "up", dense_f32(context, &[rank, n], up)),
            ]),
    )
}
