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
//! iterations, which give the same mapping on every machine, and by `time-limit`
//! seconds if one is given; when a limit stops it early, the best mapping found so
//! far is used (every mapping the e-graph holds is correct).
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

mod emit;
mod pack;
mod plan;

use crate::options::{OptionKind, OptionSpec, PassOptions};
use crate::pass::{PassDef, PassFailed, PassId, PassResult};
use crate::tile::{
    COLS, ROWS, WeightStationary, block_of, geometry_option, layer_indices, layer_name,
    top_level_ancestor, unplaced_array,
};
use cim_choices::Choice as _;
use cim_egraph::{
    Layer, Limits, Mapper,
    cost::{Encoding, Encodings, Objective},
};
use cim_ir::mapped;
use cim_ir::{
    diagnostics::emit_error,
    dialect::ops,
    query::{context_of, op_name, ops_in},
};
use emit::Emitter;
use melior::ir::{OperationRef, Value, operation::OperationLike};
use plan::Planner;

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
            kind: OptionKind::Enum(<Objective as cim_choices::Choice>::WORDS),
            default: <Objective as cim_choices::Choice>::DEFAULT_WORD,
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
            name: "time-limit",
            kind: OptionKind::Float,
            default: "0",
            doc: "seconds of saturation at most; 0: no limit (node and iteration limits alone give the same mapping on every machine, a time limit may not)",
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
    let objective: Objective = options.choice("objective");
    let mut mapper = Mapper::new(geometry.rows as u64, geometry.cols as u64, objective);
    mapper.limits = Limits {
        nodes: options.int("node-limit") as usize,
        iterations: options.int("iter-limit") as usize,
        time: match options.float("time-limit") {
            seconds if seconds > 0.0 => Some(std::time::Duration::from_secs_f64(seconds)),
            _ => None,
        },
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

    let mut matmuls = Vec::new();
    let mut failed = false;
    for op in ops_in(module)
        .into_iter()
        .filter(|op| op_name(op) == ops::MATMUL)
    {
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
    let layer_index = layer_indices(&matmuls);
    let mut layers: Vec<Layer> = Vec::new();
    for (matmul, &index) in matmuls.iter().zip(&layer_index) {
        if index == layers.len() {
            layers.push(Layer {
                name: format!("w{index}"),
                rows: matmul.k,
                cols: matmul.n,
            });
        }
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
                format!("{}_a{index}", layer_name(&function, first_layer))
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
                cim_ir::marks::set_encoding(
                    context,
                    &mut array,
                    choice.encoding.word(),
                    choice.cell_bits,
                );
            }
            arrays.insert_before_top_level(top, array);
            name
        })
        .collect();

    for (mut matmul, layer) in matmuls.into_iter().zip(layer_index) {
        matmul.set_layer(&layer_name(&function, layer));
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
                .find(|e| e.word() == name.trim())
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
