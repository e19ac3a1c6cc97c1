//! Small, safe questions about IR that every pass asks: shapes, element types,
//! defining operations, attribute values.

use melior::ir::{
    Attribute, AttributeLike, OperationRef, Type, TypeLike, Value, ValueLike,
    attribute::{
        DenseI64ArrayAttribute, FlatSymbolRefAttribute, FloatAttribute, IntegerAttribute,
        StringAttribute,
    },
    operation::OperationLike,
    r#type::{DimSize, RankedTensorType, ShapedTypeLike},
};

/// The name a location gives (`loc("main_mm0"(...))`, also inside a fused
/// location): the mappers name the ops they write for a layer so, and later passes
/// keep an op's location.
pub fn location_name(location: melior::ir::Location) -> Option<String> {
    // SAFETY: kind queries on a valid location, then accessors of that kind.
    unsafe {
        let raw = location.to_raw();
        if mlir_sys::mlirLocationIsAName(raw) {
            return location
                .name_value()
                .as_string_ref()
                .as_str()
                .ok()
                .map(str::to_owned);
        }
        if mlir_sys::mlirLocationIsAFused(raw) {
            return (0..location.fused_num_locations())
                .find_map(|index| location_name(location.fused_location(index)));
        }
    }
    None
}

/// A ranked tensor type, read out: dimensions (`None` = dynamic) and element type.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorShape<'c> {
    /// Dimensions; `None` for `?`.
    pub dims: Vec<Option<u64>>,
    /// The element type.
    pub element: Type<'c>,
}

impl<'c> TensorShape<'c> {
    /// Reads a ranked tensor type; `None` for any other type.
    pub fn of_type(r#type: Type<'c>) -> Option<Self> {
        let tensor = RankedTensorType::try_from(r#type).ok()?;
        let dims = (0..tensor.rank())
            .map(|index| match tensor.dim_size(index) {
                Ok(DimSize::Static(size)) => Some(size),
                _ => None,
            })
            .collect();
        Some(Self {
            dims,
            element: tensor.element(),
        })
    }

    /// Reads the type of a value.
    pub fn of_value(value: Value<'c, '_>) -> Option<Self> {
        Self::of_type(value.r#type())
    }

    /// Rank.
    pub fn rank(&self) -> usize {
        self.dims.len()
    }

    /// The last dimension, if the rank is at least one.
    pub fn last(&self) -> Option<Option<u64>> {
        self.dims.last().copied()
    }

    /// Whether the element type is a float type.
    pub fn is_float(&self) -> bool {
        is_float(self.element)
    }

    /// The width of an integer element type.
    pub fn integer_width(&self) -> Option<u32> {
        integer_width(self.element)
    }
}

/// Formats dimensions the way MLIR writes them (`4x?x8`).
pub fn format_dims(dims: &[Option<u64>]) -> String {
    dims.iter()
        .map(|dim| dim.map_or("?".to_owned(), |size| size.to_string()))
        .collect::<Vec<_>>()
        .join("x")
}

/// Whether a type is a float type (f16, bf16, f32, f64, ...).
pub fn is_float(r#type: Type) -> bool {
    // SAFETY: a query on a valid type.
    unsafe { mlir_sys::mlirTypeIsAFloat(r#type.to_raw()) }
}

/// The width of an integer type; `None` for other types.
pub fn integer_width(r#type: Type) -> Option<u32> {
    // SAFETY: queries on a valid type; the width is read only from an integer type.
    unsafe {
        mlir_sys::mlirTypeIsAInteger(r#type.to_raw())
            .then(|| mlir_sys::mlirIntegerTypeGetWidth(r#type.to_raw()))
    }
}

/// The operation that defines a value; `None` for a block argument.
pub fn defining_op<'c, 'a>(value: Value<'c, 'a>) -> Option<OperationRef<'c, 'a>> {
    // SAFETY: queries on a valid value; the owner of an op result is a live op.
    unsafe {
        if mlir_sys::mlirValueIsAOpResult(value.to_raw()) {
            OperationRef::from_option_raw(mlir_sys::mlirOpResultGetOwner(value.to_raw()))
        } else {
            None
        }
    }
}

/// The name of an operation as a `String`.
pub fn op_name(op: &OperationRef) -> String {
    op.name()
        .as_string_ref()
        .as_str()
        .unwrap_or("<invalid>")
        .to_owned()
}

/// An attribute of an operation, if present.
pub fn attribute<'c>(op: &OperationRef<'c, '_>, name: &str) -> Option<Attribute<'c>> {
    op.attribute(name).ok()
}

/// `attribute` as a `T` when `is_kind` says it is one. The kind is asked first
/// because melior's `TryFrom` of an attribute of another kind prints the attribute
/// into the error it returns: a weight tensor asked whether it is an integer became
/// megabytes of text, a tenth of a small network's ten-chip eval.
pub fn as_kind<'c, T: TryFrom<Attribute<'c>>>(
    attribute: Attribute<'c>,
    is_kind: impl Fn(&Attribute<'c>) -> bool,
) -> Option<T> {
    if is_kind(&attribute) {
        T::try_from(attribute).ok()
    } else {
        None
    }
}

/// An integer attribute's value.
pub fn int_attribute(op: &OperationRef, name: &str) -> Option<i64> {
    as_kind::<IntegerAttribute>(attribute(op, name)?, Attribute::is_integer)
        .map(|attribute| attribute.value())
}

/// A float attribute's value.
pub fn float_attribute(op: &OperationRef, name: &str) -> Option<f64> {
    as_kind::<FloatAttribute>(attribute(op, name)?, Attribute::is_float)
        .map(|attribute| attribute.value())
}

/// A string attribute's value.
pub fn string_attribute(op: &OperationRef, name: &str) -> Option<String> {
    as_kind::<StringAttribute>(attribute(op, name)?, Attribute::is_string)
        .map(|attribute| attribute.value().to_owned())
}

/// A flat symbol reference's name (`@name`).
pub fn symbol_attribute(op: &OperationRef, name: &str) -> Option<String> {
    as_kind::<FlatSymbolRefAttribute>(attribute(op, name)?, Attribute::is_flat_symbol_ref)
        .map(|symbol| symbol.value().to_owned())
}

/// An `array<i64: ...>` attribute's values.
pub fn i64_array_attribute(op: &OperationRef, name: &str) -> Option<Vec<i64>> {
    let array: DenseI64ArrayAttribute =
        as_kind(attribute(op, name)?, Attribute::is_dense_i64_array)?;
    (0..array.len())
        .map(|index| array.element(index).ok())
        .collect()
}

/// The shape of a typed attribute (dense or resource elements).
pub fn attribute_shape(attribute: Attribute) -> Option<TensorShape> {
    // SAFETY: the type is read only from an attribute that has one.
    let r#type = unsafe {
        if !mlir_sys::mlirAttributeIsAElements(attribute.to_raw()) {
            return None;
        }
        Type::from_raw(mlir_sys::mlirAttributeGetType(attribute.to_raw()))
    };
    TensorShape::of_type(r#type)
}

/// The context of an operation as `&Context`, for the builders.
///
/// melior hands out a `ContextRef` by value; a `&Context` borrowed from that
/// temporary would dangle. Each context's `ContextRef` is kept once, per thread, at
/// a stable address (a few bytes per context for the life of the process).
pub fn context_of<'c>(op: &OperationRef<'c, '_>) -> &'c melior::Context {
    use melior::ContextRef;
    use std::{cell::RefCell, collections::HashMap};
    thread_local! {
        static KEPT: RefCell<HashMap<usize, &'static ContextRef<'static>>> = RefCell::new(HashMap::new());
    }
    // SAFETY: a query on a live operation.
    let raw = unsafe { mlir_sys::mlirOperationGetContext(op.to_raw()) };
    let kept = KEPT.with(|kept| {
        *kept
            .borrow_mut()
            .entry(raw.ptr as usize)
            .or_insert_with(|| {
                // SAFETY: a ContextRef is only a pointer; it is used while its context lives.
                Box::leak(Box::new(unsafe { ContextRef::from_raw(raw) }))
            })
    });
    // SAFETY: `kept` lives for the whole process at a fixed address, and the context
    // outlives the operation `op` that names it.
    unsafe { kept.to_ref() }
}

/// How a `linalg.matmul` reads its right operand, from its indexing maps: `Some(false)`
/// for B[k, n], `Some(true)` for B[n, k] (transposed); `None` for any other maps.
pub fn linalg_matmul_transposes_rhs(op: &OperationRef) -> Option<bool> {
    use melior::ir::attribute::ArrayAttribute;
    let maps = ArrayAttribute::try_from(attribute(op, "indexing_maps")?).ok()?;
    let map = |index: usize| maps.element(index).ok().map(|map| map.to_string());
    let (a, b, c) = (map(0)?, map(1)?, map(2)?);
    if a != "affine_map<(d0, d1, d2) -> (d0, d2)>" || c != "affine_map<(d0, d1, d2) -> (d0, d1)>" {
        return None;
    }
    match b.as_str() {
        "affine_map<(d0, d1, d2) -> (d2, d1)>" => Some(false),
        "affine_map<(d0, d1, d2) -> (d1, d2)>" => Some(true),
        _ => None,
    }
}

/// The integers of a dense integer elements attribute of any shape (tensor or
/// vector, as linalg's `strides = dense<2> : vector<2xi64>`); a splat is expanded.
pub fn dense_i64_values(attribute: Attribute) -> Option<Vec<i64>> {
    // SAFETY: queries on a valid attribute, guarded by the kind checks.
    unsafe {
        let raw = attribute.to_raw();
        if !mlir_sys::mlirAttributeIsADenseElements(raw) {
            return None;
        }
        let element = mlir_sys::mlirShapedTypeGetElementType(mlir_sys::mlirAttributeGetType(raw));
        if !mlir_sys::mlirTypeIsAInteger(element)
            || mlir_sys::mlirIntegerTypeGetWidth(element) != 64
        {
            return None;
        }
        let count = mlir_sys::mlirElementsAttrGetNumElements(raw).max(0) as usize;
        if mlir_sys::mlirDenseElementsAttrIsSplat(raw) {
            return Some(vec![
                mlir_sys::mlirDenseElementsAttrGetInt64SplatValue(raw);
                count
            ]);
        }
        Some(
            (0..count)
                .map(|i| mlir_sys::mlirDenseElementsAttrGetInt64Value(raw, i as isize))
                .collect(),
        )
    }
}

/// Every operation nested in `root` (not `root` itself), in pre-order: each op
/// before the ops of its regions, ops in program order.
pub fn ops_in<'c, 'a>(root: OperationRef<'c, 'a>) -> Vec<OperationRef<'c, 'a>> {
    use melior::ir::operation::{WalkOrder, WalkResult};
    let mut found = Vec::new();
    root.walk(WalkOrder::PreOrder, |op| {
        found.push(op.to_raw());
        WalkResult::Advance
    });
    found
        .into_iter()
        .skip(1)
        // SAFETY: collected from `root` just above; the borrow of `root` keeps them live.
        .map(|raw| unsafe { OperationRef::from_raw(raw) })
        .collect()
}

/// Identifies an operation for the life of its module (its address).
pub fn op_id(op: &OperationRef) -> usize {
    op.to_raw().ptr as usize
}

/// Identifies a value for the life of its module (its address).
pub fn value_id(value: Value) -> usize {
    value.to_raw().ptr as usize
}

/// The operations that read `value`, with the operand position at which each reads
/// it, in use-list order.
pub fn users<'c, 'a>(value: Value<'c, 'a>) -> Vec<(OperationRef<'c, 'a>, usize)> {
    let mut found = Vec::new();
    // SAFETY: walks the use list of a live value; each use's owner is a live op.
    unsafe {
        let mut operand = mlir_sys::mlirValueGetFirstUse(value.to_raw());
        while !mlir_sys::mlirOpOperandIsNull(operand) {
            if let Some(owner) =
                OperationRef::from_option_raw(mlir_sys::mlirOpOperandGetOwner(operand))
            {
                found.push((
                    owner,
                    mlir_sys::mlirOpOperandGetOperandNumber(operand) as usize,
                ));
            }
            operand = mlir_sys::mlirOpOperandGetNextUse(operand);
        }
    }
    found
}
