//! The marks passes leave on operations for later passes and for people: discardable
//! attributes in the `cim.` namespace, and the layer names in locations.
//! `dialects/marks.md` documents each one, who writes it and who reads it.

use crate::query::{int_attribute, location_name, string_attribute};
use melior::{
    Context,
    ir::{
        OperationRef,
        attribute::{IntegerAttribute, StringAttribute},
        operation::{OperationLike, OperationMutLike},
        r#type::IntegerType,
    },
};

/// On a `cim.crossbar`: the signed-weight encoding `cim-map{choose-encoding}`
/// chose (`"differential"` or `"offset"`); `cim-split-weights` follows it.
pub const ENCODING: &str = "cim.encoding";

/// On a `cim.crossbar`: the bits per cell `cim-map{choose-encoding}` chose;
/// `cim-bitslice` follows it, and the arrays split from a marked one keep it.
pub const CELL_BITS: &str = "cim.cell_bits";

/// On a `cim.crossbar`: the round in which `cim-place` programs it, on targets
/// reprogrammed between groups of layers (absent: round 0).
pub const ROUND: &str = "cim.round";

/// The layer an op was written for: the mappers name the ops they write for a
/// layer by its location (`loc("main_mm0"(...))`), which later passes keep.
pub fn layer(op: &OperationRef) -> Option<String> {
    location_name(op.location())
}

/// The encoding mark of an array, if it has one.
pub fn encoding(op: &OperationRef) -> Option<String> {
    string_attribute(op, ENCODING)
}

/// The bits-per-cell mark of an array, if it has one.
pub fn cell_bits(op: &OperationRef) -> Option<i64> {
    int_attribute(op, CELL_BITS)
}

/// The round mark of an array, if it has one.
pub fn round(op: &OperationRef) -> Option<i64> {
    int_attribute(op, ROUND)
}

fn integer<'c>(context: &'c Context, value: i64) -> melior::ir::Attribute<'c> {
    IntegerAttribute::new(IntegerType::new(context, 64).into(), value).into()
}

/// Marks an array with its encoding and bits per cell.
pub fn set_encoding<'c: 'a, 'a>(
    context: &'c Context,
    array: &mut impl OperationMutLike<'c, 'a>,
    encoding: &str,
    cell_bits: u64,
) {
    array.set_discardable_attribute(ENCODING, StringAttribute::new(context, encoding).into());
    array.set_discardable_attribute(CELL_BITS, integer(context, cell_bits as i64));
}

/// Marks an array with its round.
pub fn set_round<'c: 'a, 'a>(
    context: &'c Context,
    array: &mut impl OperationMutLike<'c, 'a>,
    round: i64,
) {
    array.set_discardable_attribute(ROUND, integer(context, round));
}
