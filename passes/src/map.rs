//! `cim-map{rows=256 cols=256 objective=area}`: maps every weight-stationary
//! `cim.matmul` of the module onto crossbar arrays, choosing the mapping by equality
//! saturation ([`cim_egraph`]).
//!
//! Where `cim-tile` cuts each weight on a fixed grid and gives every tile its own
//! array, `cim-map` considers the ways to cut and pack at once: row tiles
//! (accumulated), column tiles (concatenated), blocks that read one input packed
//! side by side (one MVM), and whole small layers packed on the diagonal of a
//! shared array (each reads its own window). It keeps the
//! cheapest under `objective`: `area` (arrays, then ADC conversions, then latency),
//! `latency`, `energy` (ADC conversions), `balanced`, or `accuracy` (the error of
//! the chosen encodings). Then, unless the objective is
//! `latency`, the chosen blocks are packed into as few arrays as a shelf first-fit
//! (decreasing height) finds: blocks of any layers share an array and their MVMs
//! read their own windows one after another. The arrays are unplaced,
//! ideal and signed, as after `cim-tile`; matmuls reading one weight constant share
//! its arrays. Saturation is bounded by `node-limit` e-nodes and `iter-limit`
//! iterations; when a limit stops it early, the best mapping found so far is used
//! (every mapping the e-graph holds is correct).
//!
//! With `choose-encoding=true`, each layer starts as `(signed (matmul W))` and
//! the e-graph also holds every way to hold its signed weights: an encoding from
//! `encodings` (differential pairs, or an offset array and a reference column)
//! times a cell width from `cell-noise` (slices of that many bits, `weight-bits` in
//! all). Each costs its arrays and conversions, and an error term: the variance
//! of a weight given the read-out error of its cells (the device model's figure,
//! in `cell-noise`), which the `accuracy` objective minimises first and `area`
//! breaks ties with. The choice is written on the layer's arrays as `cim.encoding`
//! and `cim.cell_bits` (only blocks of one choice share an array), and
//! `cim-split-weights` and `cim-bitslice` follow it.
//!
//! With `duplicate-arrays=N`, up to N more arrays hold copies of the slowest layers
//! (layer pipelining: a layer's time is its rows per copy times the MVMs its
//! busiest array runs per row; the slowest gets one more copy while the budget
//! allows, so a copy never slows the pipeline). Each copy takes a contiguous share
//! of the batch rows (`tensor.extract_slice`), and `tensor.concat` joins the shares.
//! Only layers with static rows and one reader are copied (the steps of a
//! recurrence depend on each other). Packing then keeps every array's time within
//! the slowest stage's, so it never slows the pipeline (and never puts two copies
//! of a layer on one array).
//!
//! Example, `cim-map{rows=4 cols=4}` on two layers, 2x2 and 2x1: they fit on the
//! diagonal of one array. Before:
//!
//! ```mlir
//! %w = arith.constant dense<...> : tensor<2x2xf32>
//! %h = "cim.matmul"(%x, %w) : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
//! %v = arith.constant dense<...> : tensor<2x1xf32>
//! %y = "cim.matmul"(%h, %v) : (tensor<1x2xf32>, tensor<2x1xf32>) -> tensor<1x1xf32>
//! ```
//!
//! After:
//!
//! ```mlir
//! "cim.crossbar"() {sym_name = "f_packed_a0", geometry = #cim.geometry<4 : i64, 4 : i64>,
//!     place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>,
//!     sign = "signed", weights = dense<...> : tensor<4x3xf32>} : () -> ()
//! %h = "cim.mvm"(%x) {array = @f_packed_a0, window = #cim.window<0 : i64, 0 : i64>, ...}
//!     : (tensor<1x2xf32>) -> tensor<1x2xf32>
//! %y = "cim.mvm"(%h) {array = @f_packed_a0, window = #cim.window<2 : i64, 2 : i64>, ...}
//!     : (tensor<1x2xf32>) -> tensor<1x1xf32>
//! ```

use crate::mapped;
use crate::options::{OptionKind, OptionSpec, PassOptions};
use crate::pass::{PassDef, PassFailed, PassId, PassResult};
use crate::tile::{
    COLS, ROWS, WeightStationary, block_of, geometry_option, top_level_ancestor, unplaced_array,
};
use cim_egraph::{
    Layer, Limits, Mapper,
    cost::{Encoding, Encodings, Objective},
    language::Analog,
};
use cim_ir::{
    attributes::Window,
    diagnostics::emit_error,
    dialect::ops,
    query::{context_of, op_name},
};
use egg::{Id, RecExpr};
use melior::ir::{
    OperationRef, Value,
    operation::{OperationLike, WalkOrder, WalkResult},
};
use std::collections::HashMap;

static ID: PassId = PassId;

/// The pass definition.
pub static PASS: PassDef = PassDef {
    name: "cim-map",
    summary: "Map all weight-stationary cim.matmuls onto crossbar arrays by equality saturation",
    options: &[
        ROWS,
        COLS,
        OptionSpec {
            name: "objective",
            kind: OptionKind::Enum(&["area", "latency", "energy", "balanced", "accuracy"]),
            default: "area",
            doc: "what the chosen mapping minimises first",
        },
        OptionSpec {
            name: "node-limit",
            kind: OptionKind::Int {
                min: 1,
                max: 10_000_000,
            },
            default: "20000",
            doc: "e-nodes at most in the e-graph",
        },
        OptionSpec {
            name: "iter-limit",
            kind: OptionKind::Int { min: 1, max: 1000 },
            default: "30",
            doc: "rewrite iterations at most",
        },
        OptionSpec {
            name: "duplicate-arrays",
            kind: OptionKind::Int {
                min: 0,
                max: 1 << 30,
            },
            default: "0",
            doc: "extra arrays to spend on copies of the slowest layers, each copy taking a share of the batch rows (layer pipelining; 0: no copies)",
        },
        OptionSpec {
            name: "choose-encoding",
            kind: OptionKind::Bool,
            default: "false",
            doc: "choose each layer's signed-weight encoding (among `encodings`) and bits per cell (among `cell-noise`) by cost, and mark its arrays for cim-split-weights and cim-bitslice",
        },
        OptionSpec {
            name: "encodings",
            kind: OptionKind::Text,
            default: "differential,offset",
            doc: "the encodings to choose from (comma-separated: differential, offset)",
        },
        OptionSpec {
            name: "weight-bits",
            kind: OptionKind::Int { min: 1, max: 24 },
            default: "8",
            doc: "bits of each weight magnitude (what cim-bitslice will quantize to)",
        },
        OptionSpec {
            name: "cell-noise",
            kind: OptionKind::Text,
            default: "",
            doc: "the bits per cell to choose from, each with its cell's read-out error (standard deviation relative to the cell's range, from the device model): `bits:sigma` comma-separated, e.g. `1:0.02,2:0.02`",
        },
        OptionSpec {
            name: "dump-egraph",
            kind: OptionKind::Text,
            default: "",
            doc: "write the saturated e-graph to this file: Graphviz if it ends in .dot, else the chosen term and the e-graph's size as s-expressions",
        },
    ],
    anchor: "builtin.module",
    run,
    id: &ID,
};

fn run(module: OperationRef<'_, '_>, options: &PassOptions) -> PassResult {
    let geometry = geometry_option(options);
    let objective: Objective = options
        .text("objective")
        .parse()
        .expect("the option kind lists the objectives");
    let mut mapper = Mapper::new(geometry.rows as u64, geometry.cols as u64, objective);
    mapper.limits = Limits {
        nodes: options.int("node-limit") as usize,
        iterations: options.int("iter-limit") as usize,
        ..Limits::default()
    };
    if options.bool("choose-encoding") {
        match encodings(options) {
            Ok(encodings) => mapper = mapper.with_encodings(encodings),
            Err(message) => {
                emit_error(module.location(), &format!("cim-map: {message}"));
                return Err(PassFailed);
            }
        }
    }

    let mut raw_ops = Vec::new();
    module.walk(WalkOrder::PreOrder, |op| {
        if op_name(&op) == ops::MATMUL {
            raw_ops.push(op.to_raw());
        }
        WalkResult::Advance
    });
    let mut matmuls = Vec::new();
    let mut failed = false;
    for raw in raw_ops {
        // SAFETY: collected from this module above; nothing is erased yet.
        let op = unsafe { OperationRef::from_raw(raw) };
        match WeightStationary::read(op) {
            Ok(matmul) => matmuls.push(matmul),
            Err(message) => {
                fail(op, &message);
                failed = true;
            }
        }
    }
    if failed {
        return Err(PassFailed);
    }
    let Some(first) = matmuls.first() else {
        return Ok(());
    };

    // One layer per weight constant, in program order.
    let mut layer_of = HashMap::new();
    let mut layers: Vec<Layer> = Vec::new();
    let mut layer_index = Vec::with_capacity(matmuls.len());
    for matmul in &matmuls {
        let next = layers.len();
        let index = *layer_of.entry(matmul.weight_key()).or_insert_with(|| {
            layers.push(Layer {
                name: format!("w{next}"),
                rows: matmul.k,
                cols: matmul.n,
            });
            next
        });
        layer_index.push(index);
    }

    // The first matmul of each layer holds its weight values.
    let mut first_reader = vec![0; layers.len()];
    for (index, &layer) in layer_index.iter().enumerate().rev() {
        first_reader[layer] = index;
    }

    let mapping = mapper.map(&layers);
    let dump = options.text("dump-egraph");
    if !dump.is_empty() {
        let text = if dump.ends_with(".dot") {
            mapping.egraph.dot().to_string()
        } else {
            format!(
                "; {} e-nodes, {} e-classes, stopped: {}\n; cost: {:?}\n{}\n",
                mapping.nodes,
                mapping.egraph.number_of_classes(),
                mapping.stop,
                mapping.cost,
                mapping.term.pretty(80)
            )
        };
        if let Err(error) = std::fs::write(dump, text) {
            fail(
                first.op,
                &format!("cannot write the e-graph to '{dump}': {error}"),
            );
            return Err(PassFailed);
        }
    }
    let mut plan = match Planner::new(&mapping.term, &layers).plan() {
        Ok(plan) => plan,
        Err(message) => {
            fail(
                first.op,
                &format!(
                    "no mapping found ({message}; saturation stopped: {}): raise node-limit or iter-limit",
                    mapping.stop
                ),
            );
            return Err(PassFailed);
        }
    };

    // Copies need static rows to share, and one reader: the steps of a recurrent
    // layer depend on each other.
    let mut readers = vec![0usize; layers.len()];
    for &layer in &layer_index {
        readers[layer] += 1;
    }
    let rows: Vec<Option<u64>> = (0..layers.len())
        .map(|layer| {
            let matmul = &matmuls[first_reader[layer]];
            matmul.batch.filter(|_| readers[layer] == 1)
        })
        .collect();
    let budget = options.int("duplicate-arrays") as u64;
    let cap = (budget > 0).then(|| plan.duplicate(&rows, budget));
    if objective != Objective::Latency {
        let busy = plan.busy(&rows);
        plan.pack((geometry.rows as u64, geometry.cols as u64), &busy, cap);
    }

    // Arrays, at module level before the function of the first matmul.
    let context = context_of(&first.op);
    let location = first.op.location();
    let (top, function) = top_level_ancestor(first.op).ok_or(PassFailed)?;
    let mut arrays = mapped::Arrays::collect(module);
    let names: Vec<String> = plan
        .arrays
        .iter()
        .enumerate()
        .map(|(index, pieces)| {
            // Named by the layer held (`f_mm1_a0`), or `f_packed_a<k>` when several
            // layers share the array: reports group arrays by these prefixes.
            let first_layer = pieces.first().map_or(0, |p| p.layer);
            let wanted = if pieces.iter().all(|p| p.layer == first_layer) {
                format!("{function}_mm{first_layer}_a{index}")
            } else {
                format!("{function}_packed_a{index}")
            };
            let name = arrays.fresh_name(&wanted);
            let rows = pieces.iter().map(|p| p.at.0 + p.rows).max().unwrap_or(0);
            let cols = pieces.iter().map(|p| p.at.1 + p.cols).max().unwrap_or(0);
            let mut values = vec![0.0f32; (rows * cols) as usize];
            for piece in pieces {
                let source = &matmuls[first_reader[piece.layer]];
                let block = block_of(
                    &source.weights,
                    source.n,
                    piece.from.0,
                    piece.rows,
                    piece.from.1,
                    piece.cols,
                );
                for r in 0..piece.rows {
                    let to = ((piece.at.0 + r) * cols + piece.at.1) as usize;
                    let from = (r * piece.cols) as usize;
                    values[to..to + piece.cols as usize]
                        .copy_from_slice(&block[from..from + piece.cols as usize]);
                }
            }
            let mut array =
                unplaced_array(context, location, &name, geometry, &[rows, cols], &values);
            if let Some(choice) = plan.choice(index) {
                mapped::set_hints(
                    context,
                    &mut array,
                    choice.encoding.name(),
                    choice.cell_bits,
                );
            }
            arrays.insert_before_top_level(top, array);
            name
        })
        .collect();

    for (mut matmul, layer) in matmuls.into_iter().zip(layer_index) {
        matmul.set_layer(&format!("{function}_mm{layer}"));
        let copies = &plan.layers[layer];
        let output = if let [only] = copies.as_slice() {
            Emitter::new(&matmul, &names, matmul.input(), matmul.batch).emit(only)
        } else {
            // Each copy takes a contiguous share of the rows; the shares are joined.
            let rows = matmul
                .batch
                .expect("only layers with static rows are copied");
            let count = copies.len() as u64;
            let mut start = 0;
            let parts: Vec<Value> = copies
                .iter()
                .enumerate()
                .map(|(index, step)| {
                    let share = rows / count + u64::from((index as u64) < rows % count);
                    let input = matmul.input_rows(start, share);
                    start += share;
                    Emitter::new(&matmul, &names, input, Some(share)).emit(step)
                })
                .collect();
            matmul.concat_rows(&parts, rows)
        };
        matmul.replace_with(output);
    }
    Ok(())
}

/// The encodings and cell widths `choose-encoding` picks among.
fn encodings(options: &PassOptions) -> Result<Encodings, String> {
    let list = options.text("encodings");
    let encodings = list
        .split(',')
        .map(|name| {
            Encoding::ALL
                .into_iter()
                .find(|e| e.name() == name.trim())
                .ok_or_else(|| {
                    format!("encodings: unknown encoding '{name}' (differential, offset)")
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let cells = options
        .text("cell-noise")
        .split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| {
            let parsed = entry.split_once(':').and_then(|(bits, sigma)| {
                Some((bits.trim().parse::<u64>().ok()?, sigma.trim().parse::<f64>().ok()?))
            });
            match parsed {
                Some((bits, sigma)) if (1..=16).contains(&bits) && sigma.is_finite() && sigma >= 0.0 => {
                    Ok((bits, sigma))
                }
                _ => Err(format!(
                    "cell-noise: '{entry}' is not bits:sigma with bits in 1..=16 and a finite sigma >= 0"
                )),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    if cells.is_empty() {
        return Err("choose-encoding needs cell-noise: the cell widths to choose from, each with its read-out error".into());
    }
    Ok(Encodings {
        weight_bits: options.int("weight-bits") as u64,
        encodings,
        cells,
    })
}

fn fail(op: OperationRef, message: &str) {
    emit_error(
        op.location(),
        &format!("'{}' op cannot be mapped: {message}", ops::MATMUL),
    );
}

/// A part of a weight programmed into an array.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Piece {
    layer: usize,
    /// First weight row and column.
    from: (u64, u64),
    rows: u64,
    cols: u64,
    /// Top-left cell in the array.
    at: (u64, u64),
}

/// How one layer computes its product.
#[derive(Clone, Debug)]
enum Step {
    /// Input columns `inputs.0..inputs.0+inputs.1` through `array` at `window`,
    /// `cols` outputs.
    Mvm {
        array: usize,
        window: (u64, u64),
        inputs: (u64, u64),
        cols: u64,
    },
    Accumulate(Vec<Step>),
    Concat(Vec<Step>, u64),
}

impl Step {
    /// Calls `f` on every MVM's array and window.
    fn each_mvm(&mut self, f: &mut impl FnMut(&mut usize, &mut (u64, u64))) {
        match self {
            Step::Mvm { array, window, .. } => f(array, window),
            Step::Accumulate(parts) | Step::Concat(parts, _) => {
                parts.iter_mut().for_each(|part| part.each_mvm(f));
            }
        }
    }

    /// The arrays its MVMs read, with repeats.
    fn arrays(&self) -> Vec<usize> {
        match self {
            Step::Mvm { array, .. } => vec![*array],
            Step::Accumulate(parts) | Step::Concat(parts, _) => {
                parts.iter().flat_map(Step::arrays).collect()
            }
        }
    }
}

/// A layer's signed-weight encoding and bits per cell, when the mapper chose them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Choice {
    encoding: Encoding,
    cell_bits: u64,
}

/// The mapping written out: the arrays' contents and every layer's steps, once per
/// copy of the layer (each copy computes a share of the batch rows), and each
/// layer's encoding when chosen here (an array's is its layers').
struct Plan {
    arrays: Vec<Vec<Piece>>,
    layers: Vec<Vec<Step>>,
    choices: Vec<Option<Choice>>,
}

impl Plan {
    /// The encoding of the layers `array` holds.
    fn choice(&self, array: usize) -> Option<Choice> {
        self.arrays[array]
            .first()
            .and_then(|piece| self.choices[piece.layer])
    }

    /// The rows x cols a program's blocks span in `array`.
    fn extent(&self, array: usize) -> (u64, u64) {
        self.arrays[array]
            .iter()
            .fold((0, 0), |(rows, cols), piece| {
                (
                    rows.max(piece.at.0 + piece.rows),
                    cols.max(piece.at.1 + piece.cols),
                )
            })
    }

    /// Packs the arrays' contents into as few arrays of `geometry` as a shelf
    /// first-fit by decreasing height finds. Blocks keep their shape and get a new
    /// window; MVMs on one array read their own rows and columns only (undriven rows
    /// carry no current), so sharing costs time, not correctness: the latency
    /// objective skips this. With a `cap` (a pipeline's slowest stage, after
    /// copies), an array takes no more blocks than keep its `busy` time (rows times
    /// MVMs per inference) within the cap: packing then never slows the pipeline,
    /// and copies of a layer never share an array.
    fn pack(&mut self, geometry: (u64, u64), busy: &[u64], cap: Option<u64>) {
        struct Shelf {
            top: u64,
            height: u64,
            filled: u64,
        }
        let extents: Vec<(u64, u64)> = (0..self.arrays.len()).map(|a| self.extent(a)).collect();
        let mut order: Vec<usize> = (0..extents.len()).collect();
        order.sort_by_key(|&a| (std::cmp::Reverse(extents[a].0), a));
        let mut bins: Vec<Vec<Shelf>> = Vec::new();
        let mut kinds: Vec<Option<Choice>> = Vec::new();
        let mut load: Vec<u64> = Vec::new();
        let mut moved = vec![(0usize, (0u64, 0u64)); extents.len()];
        for array in order {
            let (height, width) = extents[array];
            let mut spot = None;
            'bins: for (index, shelves) in bins.iter_mut().enumerate() {
                if cap.is_some_and(|cap| load[index].saturating_add(busy[array]) > cap)
                    || kinds[index] != self.choice(array)
                {
                    continue;
                }
                for shelf in shelves.iter_mut() {
                    if height <= shelf.height && shelf.filled + width <= geometry.1 {
                        spot = Some((index, (shelf.top, shelf.filled)));
                        shelf.filled += width;
                        break 'bins;
                    }
                }
                let top = shelves.last().map_or(0, |s| s.top + s.height);
                if top + height <= geometry.0 {
                    shelves.push(Shelf {
                        top,
                        height,
                        filled: width,
                    });
                    spot = Some((index, (top, 0)));
                    break;
                }
            }
            moved[array] = spot.unwrap_or_else(|| {
                bins.push(vec![Shelf {
                    top: 0,
                    height,
                    filled: width,
                }]);
                load.push(0);
                kinds.push(self.choice(array));
                (bins.len() - 1, (0, 0))
            });
            load[moved[array].0] += busy[array];
        }
        let mut arrays = vec![Vec::new(); bins.len()];
        for (array, pieces) in std::mem::take(&mut self.arrays).into_iter().enumerate() {
            let (bin, (row, col)) = moved[array];
            arrays[bin].extend(pieces.into_iter().map(|piece| Piece {
                at: (piece.at.0 + row, piece.at.1 + col),
                ..piece
            }));
        }
        self.arrays = arrays;
        for step in self.layers.iter_mut().flatten() {
            step.each_mvm(&mut |array, window| {
                let (bin, (row, col)) = moved[*array];
                *array = bin;
                *window = (window.0 + row, window.1 + col);
            });
        }
    }

    /// Gives every layer that shares an array (packed on a diagonal by the
    /// e-graph) arrays of its own, so that it can be copied; packing comes after.
    fn unshare(&mut self) {
        for array in 0..self.arrays.len() {
            let first = self.arrays[array][0].layer;
            let others: Vec<usize> = self.arrays[array]
                .iter()
                .map(|piece| piece.layer)
                .filter(|&layer| layer != first)
                .collect();
            for layer in others {
                let (moved, kept): (Vec<Piece>, Vec<Piece>) =
                    std::mem::take(&mut self.arrays[array])
                        .into_iter()
                        .partition(|piece| piece.layer == layer);
                self.arrays[array] = kept;
                if moved.is_empty() {
                    continue;
                }
                let corner = moved.iter().fold((u64::MAX, u64::MAX), |(r, c), piece| {
                    (r.min(piece.at.0), c.min(piece.at.1))
                });
                let to = self.arrays.len();
                self.arrays.push(
                    moved
                        .into_iter()
                        .map(|piece| Piece {
                            at: (piece.at.0 - corner.0, piece.at.1 - corner.1),
                            ..piece
                        })
                        .collect(),
                );
                self.layers[layer][0].each_mvm(&mut |index, window| {
                    if *index == array {
                        *index = to;
                        *window = (window.0 - corner.0, window.1 - corner.1);
                    }
                });
            }
        }
    }

    /// Spends up to `budget` extra arrays on copies of the slowest layers, and
    /// returns the slowest layer's time then (the pipeline's stage time). A layer's time is its rows per copy
    /// times the MVMs its busiest array runs per row; while the slowest layer can be
    /// copied within the budget, it gets one more copy. A layer can be copied when
    /// its `rows` are known (static, one reader) and no other layer reads its arrays.
    /// Greedy on the slowest stage, so a copy never makes the pipeline slower.
    fn duplicate(&mut self, rows: &[Option<u64>], mut budget: u64) -> u64 {
        self.unshare();
        let layers = self.layers.len();
        let mut readers: Vec<Vec<usize>> = vec![Vec::new(); self.arrays.len()];
        for (layer, steps) in self.layers.iter().enumerate() {
            for array in steps[0].arrays() {
                if !readers[array].contains(&layer) {
                    readers[array].push(layer);
                }
            }
        }
        let busiest: Vec<u64> = (0..layers)
            .map(|layer| {
                let arrays = self.layers[layer][0].arrays();
                arrays
                    .iter()
                    .map(|a| arrays.iter().filter(|b| *b == a).count() as u64)
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut owned: Vec<Vec<usize>> = vec![Vec::new(); layers];
        for (array, users) in readers.iter().enumerate() {
            if let [only] = users.as_slice() {
                owned[*only].push(array);
            }
        }
        let copyable = |layer: usize| {
            rows[layer].is_some()
                && readers
                    .iter()
                    .all(|users| !users.contains(&layer) || users.len() == 1)
        };
        let mut copies = vec![1u64; layers];
        let time = |copies: &[u64], layer: usize| {
            rows[layer].unwrap_or(1).div_ceil(copies[layer]) * busiest[layer]
        };
        let slowest =
            |copies: &[u64]| (0..layers).max_by_key(|&l| (time(copies, l), std::cmp::Reverse(l)));
        while let Some(layer) = slowest(&copies) {
            let cost = owned[layer].len() as u64;
            if !copyable(layer) || cost > budget || copies[layer] >= rows[layer].unwrap_or(1) {
                break;
            }
            copies[layer] += 1;
            budget -= cost;
        }
        for (layer, &count) in copies.iter().enumerate() {
            for _ in 1..count {
                let mut moved = HashMap::new();
                for &array in &owned[layer] {
                    moved.insert(array, self.arrays.len());
                    self.arrays.push(self.arrays[array].clone());
                }
                let mut copy = self.layers[layer][0].clone();
                copy.each_mvm(&mut |array, _| *array = moved[array]);
                self.layers[layer].push(copy);
            }
        }
        slowest(&copies).map_or(0, |layer| time(&copies, layer))
    }

    /// Each array's time per inference: the MVMs on it, times the rows each reads
    /// (a copy's share; 1 when the rows are not known).
    fn busy(&self, rows: &[Option<u64>]) -> Vec<u64> {
        let mut busy = vec![0u64; self.arrays.len()];
        for (layer, copies) in self.layers.iter().enumerate() {
            let share = rows[layer].unwrap_or(1).div_ceil(copies.len() as u64);
            for array in copies.iter().flat_map(Step::arrays) {
                busy[array] = busy[array].saturating_add(share);
            }
        }
        busy
    }
}

/// Reads an extracted term into a [`Plan`].
struct Planner<'t> {
    term: &'t RecExpr<Analog>,
    layer_of: HashMap<String, usize>,
    shapes: Vec<(u64, u64)>,
    arrays: Vec<Vec<Piece>>,
    /// The encoding and bits per cell of the `encode` being read.
    choice: Option<Choice>,
    choices: Vec<Option<Choice>>,
}

impl<'t> Planner<'t> {
    fn new(term: &'t RecExpr<Analog>, layers: &[Layer]) -> Self {
        Self {
            term,
            layer_of: layers
                .iter()
                .enumerate()
                .map(|(i, layer)| (layer.name.clone(), i))
                .collect(),
            shapes: layers
                .iter()
                .map(|layer| (layer.rows, layer.cols))
                .collect(),
            arrays: Vec::new(),
            choice: None,
            choices: vec![None; layers.len()],
        }
    }

    fn plan(mut self) -> Result<Plan, String> {
        let root = Id::from(self.term.as_ref().len() - 1);
        let layers = self.products(root)?;
        Ok(Plan {
            arrays: self.arrays,
            layers: layers.into_iter().map(|step| vec![step]).collect(),
            choices: self.choices,
        })
    }

    fn num(&self, id: Id) -> Result<u64, String> {
        match &self.term[id] {
            Analog::Num(n) => Ok(*n),
            other => Err(format!("expected a number, found '{other}'")),
        }
    }

    /// A weight, or a slice of one, as a piece at (0, 0).
    fn slice(&self, id: Id) -> Result<Piece, String> {
        match &self.term[id] {
            Analog::Weight(name) => {
                let layer = *self
                    .layer_of
                    .get(name.as_str())
                    .ok_or_else(|| format!("unknown weight '{name}'"))?;
                let (rows, cols) = self.shapes[layer];
                Ok(Piece {
                    layer,
                    from: (0, 0),
                    rows,
                    cols,
                    at: (0, 0),
                })
            }
            Analog::Rows([block, start, len]) => {
                let inner = self.slice(*block)?;
                Ok(Piece {
                    from: (inner.from.0 + self.num(*start)?, inner.from.1),
                    rows: self.num(*len)?,
                    ..inner
                })
            }
            Analog::Cols([block, start, len]) => {
                let inner = self.slice(*block)?;
                Ok(Piece {
                    from: (inner.from.0, inner.from.1 + self.num(*start)?),
                    cols: self.num(*len)?,
                    ..inner
                })
            }
            other => Err(format!("expected a weight slice, found '{other}'")),
        }
    }

    /// Lays `block` out from `at` into `pieces`; returns its (rows, cols).
    fn layout(
        &self,
        id: Id,
        at: (u64, u64),
        pieces: &mut Vec<Piece>,
    ) -> Result<(u64, u64), String> {
        match &self.term[id] {
            Analog::HStack([a, b]) => {
                let (ra, ca) = self.layout(*a, at, pieces)?;
                let (rb, cb) = self.layout(*b, (at.0, at.1 + ca), pieces)?;
                Ok((ra.max(rb), ca + cb))
            }
            Analog::Diag([a, b]) => {
                let (ra, ca) = self.layout(*a, at, pieces)?;
                let (rb, cb) = self.layout(*b, (at.0 + ra, at.1 + ca), pieces)?;
                Ok((ra + rb, ca + cb))
            }
            _ => {
                let piece = Piece {
                    at,
                    ..self.slice(id)?
                };
                let size = (piece.rows, piece.cols);
                pieces.push(piece);
                Ok(size)
            }
        }
    }

    /// The steps of the layers a product term computes, in order.
    fn products(&mut self, id: Id) -> Result<Vec<Step>, String> {
        match self.term[id].clone() {
            Analog::Both([p, q]) => {
                let mut steps = self.products(p)?;
                steps.extend(self.products(q)?);
                Ok(steps)
            }
            Analog::Accumulate([p, q]) => Ok(vec![Step::Accumulate(vec![
                self.single(p)?,
                self.single(q)?,
            ])]),
            Analog::Concat([p, q]) => {
                let (p, q) = (self.single(p)?, self.single(q)?);
                let cols = step_cols(&p) + step_cols(&q);
                Ok(vec![Step::Concat(vec![p, q], cols)])
            }
            Analog::Encode([encoding, bits, product]) => {
                let encoding =
                    Encoding::from_code(self.num(encoding)?).ok_or("an unknown encoding")?;
                let outer = self.choice.replace(Choice {
                    encoding,
                    cell_bits: self.num(bits)?,
                });
                let steps = self.products(product);
                self.choice = outer;
                steps
            }
            Analog::Signed(_) => Err("a layer's encoding is left unchosen".into()),
            Analog::Mvm(block) => {
                let mut pieces = Vec::new();
                self.layout(block, (0, 0), &mut pieces)?;
                for piece in &pieces {
                    self.choices[piece.layer] = self.choice;
                }
                let array = self.arrays.len();
                self.arrays.push(pieces);
                self.reads(block, array, (0, 0)).map(|(steps, _)| steps)
            }
            Analog::MatMul(_) => Err("a product is left unmapped".into()),
            other => Err(format!("expected a product, found '{other}'")),
        }
    }

    /// A product of exactly one layer.
    fn single(&mut self, id: Id) -> Result<Step, String> {
        let mut steps = self.products(id)?;
        match steps.len() {
            1 => Ok(steps.remove(0)),
            n => Err(format!("a partial product spans {n} layers")),
        }
    }

    /// The MVMs that read `block` (at `at` of `array`), one per layer, and the
    /// block's (rows, cols).
    fn reads(
        &self,
        id: Id,
        array: usize,
        at: (u64, u64),
    ) -> Result<(Vec<Step>, (u64, u64)), String> {
        if let Analog::Diag([a, b]) = &self.term[id] {
            let (mut first, (ra, ca)) = self.reads(*a, array, at)?;
            let (second, (rb, cb)) = self.reads(*b, array, (at.0 + ra, at.1 + ca))?;
            first.extend(second);
            return Ok((first, (ra + rb, ca + cb)));
        }
        // One layer's block: its pieces share the input rows.
        let mut pieces = Vec::new();
        let (rows, cols) = self.layout(id, at, &mut pieces)?;
        let first = &pieces[0];
        if pieces
            .iter()
            .any(|p| p.layer != first.layer || p.from.0 != first.from.0 || p.rows != rows)
        {
            return Err("a packed block reads more than one input".into());
        }
        let step = Step::Mvm {
            array,
            window: at,
            inputs: (first.from.0, rows),
            cols,
        };
        Ok((vec![step], (rows, cols)))
    }
}

fn step_cols(step: &Step) -> u64 {
    match step {
        Step::Mvm { cols, .. } | Step::Concat(_, cols) => *cols,
        Step::Accumulate(parts) => step_cols(&parts[0]),
    }
}

/// Writes one matmul's steps as ops before it, on `input` (`batch` rows: the
/// matmul's input, or one copy's share of its rows).
struct Emitter<'m, 'c, 'a> {
    matmul: &'m WeightStationary<'c, 'a>,
    names: &'m [String],
    input: Value<'c, 'a>,
    batch: Option<u64>,
    /// The row count for slicing, made on first use.
    rows: Option<Result<u64, Value<'c, 'a>>>,
    /// Input column ranges already sliced.
    slices: HashMap<(u64, u64), Value<'c, 'a>>,
}

impl<'m, 'c, 'a> Emitter<'m, 'c, 'a> {
    fn new(
        matmul: &'m WeightStationary<'c, 'a>,
        names: &'m [String],
        input: Value<'c, 'a>,
        batch: Option<u64>,
    ) -> Self {
        Self {
            matmul,
            names,
            input,
            batch,
            rows: None,
            slices: HashMap::new(),
        }
    }

    fn emit(&mut self, step: &Step) -> Value<'c, 'a> {
        match step {
            Step::Mvm {
                array,
                window,
                inputs,
                cols,
            } => {
                let input = if *inputs == (0, self.matmul.k) {
                    self.input
                } else if let Some(&slice) = self.slices.get(inputs) {
                    slice
                } else {
                    let rows = *self
                        .rows
                        .get_or_insert_with(|| self.matmul.rows_of(self.input, self.batch));
                    let slice = self.matmul.columns_of(
                        self.input,
                        self.batch,
                        Some(rows),
                        inputs.0,
                        inputs.1,
                    );
                    self.slices.insert(*inputs, slice);
                    slice
                };
                let window = Window {
                    row: window.0 as i64,
                    col: window.1 as i64,
                };
                self.matmul
                    .mvm_of(input, self.batch, &self.names[*array], window, *cols)
            }
            Step::Accumulate(parts) => {
                let values: Vec<Value> = parts.iter().map(|p| self.emit(p)).collect();
                self.matmul.accumulate(&values)
            }
            Step::Concat(parts, cols) => {
                let values: Vec<Value> = parts.iter().map(|p| self.emit(p)).collect();
                self.matmul.concat_of(&values, self.batch, *cols, 1)
            }
        }
    }
}
