//! `cim-place{target=ideal}`: puts every array on a chip, core and array slot of the
//! target, first fit in module order.
//!
//! Arrays already placed keep their slot (and the slot is taken). Every array must
//! have the target's geometry and at most its cell bits; an array with analog cells
//! (`#cim.ideal`) is accepted, for exact studies before bit-slicing. A model that
//! does not fit is an error naming the shortfall. `target` is a preset name
//! (`targets/*.toml`) or a path to a target file.
//!
//! Example, `cim-place{target=ideal}` (16 arrays per core). Before:
//!
//! ```mlir
//! "cim.crossbar"() {sym_name = "a", place = #cim.unplaced, geometry = #cim.geometry<256 : i64, 256 : i64>, ...}
//! "cim.crossbar"() {sym_name = "b", place = #cim.unplaced, geometry = #cim.geometry<256 : i64, 256 : i64>, ...}
//! ```
//!
//! After:
//!
//! ```mlir
//! "cim.crossbar"() {sym_name = "a", place = #cim.place<0 : i64, 0 : i64, 0 : i64>, ...}
//! "cim.crossbar"() {sym_name = "b", place = #cim.place<0 : i64, 0 : i64, 1 : i64>, ...}
//! ```

use crate::mapped::{self, ArrayOp};
use crate::options::{OptionKind, OptionSpec, PassOptions};
use crate::pass::{PassDef, PassFailed, PassId, PassResult};
use cim_ir::{
    attributes::{Cell, Place},
    diagnostics::emit_error,
    query::context_of,
};
use cim_target::Target;
use melior::ir::{
    OperationRef,
    operation::{OperationLike, OperationMutLike, OperationRefMut},
};
use std::collections::HashSet;

static ID: PassId = PassId;

/// The pass definition.
pub static PASS: PassDef = PassDef {
    name: "cim-place",
    summary: "Place every array on the target's chips, cores and array slots (first fit)",
    options: &[OptionSpec {
        name: "target",
        kind: OptionKind::Text,
        default: "ideal",
        doc: "a preset name (targets/*.toml) or the path of a target file",
    }],
    anchor: "builtin.module",
    run,
    id: &ID,
};

fn run(module: OperationRef<'_, '_>, options: &PassOptions) -> PassResult {
    let target = match Target::load(options.text("target")) {
        Ok(target) => target,
        Err(error) => {
            emit_error(module.location(), &format!("cim-place: {error}"));
            return Err(PassFailed);
        }
    };
    let arrays = mapped::Arrays::collect(module).take_all();
    let mut failed = false;
    let mut check = |array: &ArrayOp, problem: Option<String>| {
        if let Some(message) = problem {
            emit_error(
                array.op.location(),
                &format!(
                    "'cim.crossbar' op cannot be placed on target '{}': {message}",
                    target.name
                ),
            );
            failed = true;
        }
    };
    for array in &arrays {
        let geometry = array.geometry;
        let (rows, cols) = (i64::from(target.array.rows), i64::from(target.array.cols));
        check(
            array,
            ((geometry.rows, geometry.cols) != (rows, cols)).then(|| {
                format!(
                    "@{} is {}x{} but the target's arrays are {rows}x{cols}: tile with cim-tile{{rows={rows} cols={cols}}}",
                    array.name, geometry.rows, geometry.cols
                )
            }),
        );
        let cell = Cell::read(array.cell);
        check(
            array,
            cell.filter(|cell| cell.bits > i64::from(target.array.cell_bits)).map(|cell| {
                format!(
                    "@{} stores {} bits per cell, the target's cells hold {}: slice with cim-bitslice{{cell-bits={}}}",
                    array.name, cell.bits, target.array.cell_bits, target.array.cell_bits
                )
            }),
        );
    }
    if failed {
        return Err(PassFailed);
    }
    let taken: HashSet<Place> = arrays
        .iter()
        .filter_map(|array| Place::read(array.place))
        .collect();
    let unplaced: Vec<&ArrayOp> = arrays.iter().filter(|array| !array.is_placed()).collect();
    let mut slots = (0..target.capacity())
        .filter_map(|index| target.place_of(index))
        .map(|(chip, core, array)| Place {
            chip: chip as i64,
            core: core as i64,
            array: array as i64,
        })
        .filter(|place| !taken.contains(place));
    for (count, array) in unplaced.iter().enumerate() {
        let Some(place) = slots.next() else {
            let needed = taken.len() + unplaced.len();
            emit_error(
                array.op.location(),
                &format!(
                    "cim-place: the model needs {needed} arrays but target '{}' has {} ({} chips x {} cores x {} arrays): {} do not fit, from @{} on; use a larger target, or a mapping that packs arrays",
                    target.name,
                    target.capacity(),
                    target.hierarchy.chips,
                    target.hierarchy.cores_per_chip,
                    target.hierarchy.arrays_per_core,
                    unplaced.len() - count,
                    array.name
                ),
            );
            return Err(PassFailed);
        };
        // SAFETY: the op is live and nothing else refers to it while it changes.
        let mut op = unsafe { OperationRefMut::from_raw(array.op.to_raw()) };
        op.set_attribute("place", place.build(context_of(&array.op)));
    }
    Ok(())
}
