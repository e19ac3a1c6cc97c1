//! `cim-place{target=ideal strategy=dataflow}`: puts every array on a chip, core
//! and array slot of the target.
//!
//! `strategy=dataflow` (the default) places layer by layer in the order the
//! program reads them (the layers of a pipeline), keeping each layer's arrays on
//! as few cores as it can: a layer that fits the rest of the current core goes
//! there, one that fits a core goes to the next core with room, a larger one starts
//! on a free core and fills cores in order. Partial sums then meet within a core,
//! and consecutive layers sit on neighbouring cores. A layer is the name of the
//! location of the MVMs that read an array (the mappers name it); an array shared
//! by several layers goes with the first. `strategy=first-fit` fills slots in module
//! order.
//!
//! Arrays already placed keep their slot (and the slot is taken). Every array must
//! have the target's geometry and at most its cell bits; an array with analog cells
//! (`#cim.ideal`) is accepted, for exact studies before bit-slicing. A model that
//! does not fit is an error naming the shortfall, unless the target's arrays can
//! be reprogrammed (`[hierarchy] reprogrammable = true`): then the layers run in
//! rounds, each a group of consecutive layers that fits the whole board (a layer
//! larger than the board spans rounds of its own), and every array is marked with
//! its round (`cim.round`); slots are reused from round to round. `target` is a preset name
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

use crate::options::{OptionKind, OptionSpec, PassOptions};
use crate::pass::{PassDef, PassFailed, PassId, PassResult};
use cim_choices::Choice;
use cim_ir::{
    attributes::{Cell, Place},
    diagnostics::emit_error,
    mapped::{self, CrossbarOp, MvmOp},
    marks,
    query::context_of,
};
use cim_target::Target;
use melior::ir::{
    OperationRef,
    operation::{OperationLike, OperationMutLike},
};
use std::collections::{HashMap, HashSet};

cim_choices::choice! {
    /// How `cim-place` assigns slots to arrays.
    pub enum Strategy {
        /// Layer by layer in program order, each layer on as few cores as fit,
        /// neighbouring layers on neighbouring cores.
        Dataflow = "dataflow",
        /// Arrays in module order, each in the first free slot.
        FirstFit = "first-fit",
    }
    default Dataflow
}

static ID: PassId = PassId;

/// The pass definition.
pub static PASS: PassDef = PassDef {
    name: "cim-place",
    summary: "Place every array on the target's chips, cores and array slots, layer by layer in dataflow order",
    options: &[
        OptionSpec {
            name: "target",
            kind: OptionKind::Text,
            default: "ideal",
            doc: "a preset name (targets/*.toml) or the path of a target file",
        },
        OptionSpec {
            name: "strategy",
            kind: OptionKind::Enum(<Strategy as Choice>::WORDS),
            default: <Strategy as Choice>::DEFAULT_WORD,
            doc: "dataflow: layer by layer in program order, each on as few cores as fit; first-fit: module order",
        },
    ],
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
    let mut check = |array: &CrossbarOp, problem: Option<String>| {
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
    let unplaced: Vec<&CrossbarOp> = arrays.iter().filter(|array| !array.is_placed()).collect();
    // The free slots, grouped by core in place order.
    let free_cores = || {
        let mut cores: Vec<Vec<Place>> = Vec::new();
        let free = (0..target.capacity())
            .filter_map(|index| target.place_of(index))
            .map(|(chip, core, array)| Place {
                chip: chip as i64,
                core: core as i64,
                array: array as i64,
            })
            .filter(|place| !taken.contains(place));
        for place in free {
            match cores.last_mut() {
                Some(core) if (core[0].chip, core[0].core) == (place.chip, place.core) => {
                    core.push(place)
                }
                _ => cores.push(vec![place]),
            }
        }
        cores
    };
    let free: usize = free_cores().iter().map(Vec::len).sum();
    let reprogram = target.hierarchy.reprogrammable && taken.is_empty();
    if unplaced.len() > free && !reprogram {
        let needed = taken.len() + unplaced.len();
        emit_error(
            unplaced[free].op.location(),
            &format!(
                "cim-place: the model needs {needed} arrays but target '{}' has {} ({} chips x {} cores x {} arrays): {} do not fit; use a larger target, a mapping that packs arrays (cimc compile --mapper egraph), or a target whose arrays can be reprogrammed between layers ([hierarchy] reprogrammable = true)",
                target.name,
                target.capacity(),
                target.hierarchy.chips,
                target.hierarchy.cores_per_chip,
                target.hierarchy.arrays_per_core,
                unplaced.len() - free,
            ),
        );
        return Err(PassFailed);
    }
    let stages: Vec<Vec<usize>> = if options.choice::<Strategy>("strategy") == Strategy::FirstFit {
        vec![(0..unplaced.len()).collect()]
    } else {
        dataflow_stages(module, &unplaced)
    };
    let rounds = rounds(stages, free);
    let per_core = target.hierarchy.arrays_per_core as usize;
    let mut places: Vec<Option<(Place, usize)>> = vec![None; unplaced.len()];
    for (round, stages) in rounds.iter().enumerate() {
        // Each round has the whole board.
        let mut cores = free_cores();
        let mut cursor = 0;
        for stage in stages {
            let slots = take_slots(&mut cores, &mut cursor, stage.len(), per_core);
            for (array, place) in stage.iter().zip(slots) {
                places[*array] = Some((place, round));
            }
        }
    }
    for (array, place) in unplaced.iter().zip(places) {
        // Every round has as many free slots as its arrays (by construction).
        let Some((place, round)) = place else {
            return Err(PassFailed);
        };
        let context = context_of(&array.op);
        let mut op = array.op_mut();
        op.set_attribute("place", place.build(context));
        if rounds.len() > 1 {
            marks::set_round(context, &mut op, round as i64);
        }
    }
    Ok(())
}

/// Cuts the layers' stages (in order) into rounds of at most `capacity` arrays: a
/// layer that does not fit the rest of a round starts the next one, and a layer
/// larger than the board fills rounds of its own.
fn rounds(stages: Vec<Vec<usize>>, capacity: usize) -> Vec<Vec<Vec<usize>>> {
    let mut rounds: Vec<Vec<Vec<usize>>> = vec![Vec::new()];
    let mut room = capacity;
    for stage in stages {
        let mut rest = stage.as_slice();
        if rest.len() > room && rest.len() <= capacity {
            rounds.push(Vec::new());
            room = capacity;
        }
        while !rest.is_empty() {
            if room == 0 {
                rounds.push(Vec::new());
                room = capacity;
            }
            let count = rest.len().min(room);
            rounds
                .last_mut()
                .expect("there is always a round")
                .push(rest[..count].to_vec());
            room -= count;
            rest = &rest[count..];
        }
    }
    rounds
}

/// The unplaced arrays grouped by layer, layers in the order the program first
/// reads them; arrays no MVM reads come last, one group each.
fn dataflow_stages(module: OperationRef, unplaced: &[&CrossbarOp]) -> Vec<Vec<usize>> {
    let index: HashMap<&str, usize> = unplaced
        .iter()
        .enumerate()
        .map(|(i, array)| (array.name.as_str(), i))
        .collect();
    let mut stage_of_layer: HashMap<String, usize> = HashMap::new();
    let mut stages: Vec<Vec<usize>> = Vec::new();
    let mut seen = vec![false; unplaced.len()];
    for mvm in MvmOp::all(module) {
        if let Some(symbol) = mvm.array()
            && let Some(&array) = index.get(symbol.as_str())
            && !seen[array]
        {
            seen[array] = true;
            let layer = mvm.layer().unwrap_or(symbol);
            let stage = *stage_of_layer.entry(layer).or_insert_with(|| {
                stages.push(Vec::new());
                stages.len() - 1
            });
            stages[stage].push(array);
        }
    }
    stages.extend((0..unplaced.len()).filter(|&a| !seen[a]).map(|a| vec![a]));
    stages
}

/// Takes `count` free slots for one layer from `cores` (free slots per core, in
/// place order), starting at core `cursor`: the rest of the current core if it
/// holds the layer, else the next core that does, else (a layer larger than a
/// core) from the next empty core on. When no such room is left, any free slots.
/// Moves `cursor` to the last core used.
fn take_slots(
    cores: &mut [Vec<Place>],
    cursor: &mut usize,
    count: usize,
    per_core: usize,
) -> Vec<Place> {
    let start = if cores.get(*cursor).is_some_and(|core| core.len() >= count) {
        Some(*cursor)
    } else if count <= per_core {
        (*cursor + 1..cores.len()).find(|&c| cores[c].len() >= count)
    } else {
        (*cursor..cores.len()).find(|&c| cores[c].len() == per_core)
    };
    let order: Vec<usize> = match start {
        Some(start) => (start..cores.len()).chain(0..start).collect(),
        None => (0..cores.len()).collect(),
    };
    let mut taken = Vec::with_capacity(count);
    for core in order {
        while taken.len() < count && !cores[core].is_empty() {
            taken.push(cores[core].remove(0));
            *cursor = core;
        }
        if taken.len() == count {
            break;
        }
    }
    taken
}
