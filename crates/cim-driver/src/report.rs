//! Per-layer figures of a mapped module: arrays, utilisation, MVMs, ADC conversions,
//! and latency and energy estimated from the target's cost figures.
//!
//! A layer is what one weight matrix computes. The mappers name the location of
//! every op they write for a layer (`loc("main_mm0"(...))`), and later passes keep
//! an op's location, so an MVM on an array shared by packed layers still counts for
//! its own layer. Ops without such a name fall back to their array's name prefix.
//!
//! The time and energy model, per inference (one sample of the batch):
//!
//! * an MVM reads `vectors` input vectors (rows of its input per sample: 1 for a
//!   dense layer, the output pixels for a convolution) in `planes` input planes
//!   (the DAC bits when bit-serial, else 1); each plane takes `mvm_ns` on its array;
//! * arrays work in parallel, the MVMs on one array one after another: a layer takes
//!   the longest of its arrays' busy times, the model the sum over layers (layer by
//!   layer), and a layer-pipelined chip accepts a sample every `interval_ns` (the
//!   busiest array);
//! * energy: `adc_pj` per conversion, `dac_pj` per driven word line and plane,
//!   `digital_pj` per value of every digital op (accumulate, shift-add, difference,
//!   affine correction).

use cim_ir::{
    attributes::{Place, Window},
    dialect::ops,
    mapped::{CrossbarOp, MvmOp},
    marks,
    query::{TensorShape, defining_op, op_name, ops_in},
};
use cim_target::{CostSpec, Target};
use melior::ir::{Module, OperationRef, Value, ValueLike, operation::OperationLike};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One layer (the arrays cut from one weight matrix).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct LayerReport {
    /// Layer name (`main_mm0`).
    pub layer: String,
    /// Arrays its MVMs read (an array shared by packed layers counts in each).
    pub arrays: usize,
    /// Cores those arrays are on (partial sums of one layer meet across them).
    pub cores: usize,
    /// Cells its MVMs read.
    pub cells_used: u64,
    /// Cells of those arrays.
    pub cells_available: u64,
    /// `cells_used / cells_available`.
    pub utilisation: f64,
    /// Analog MVMs per input vector.
    pub mvms: usize,
    /// ADC conversions per inference (result columns, times the input bits of a
    /// bit-serial DAC, times the input vectors).
    pub adc_conversions: u64,
    /// Input vectors per inference (1 for a dense layer, output pixels for a
    /// convolution).
    pub vectors: u64,
    /// Estimated time per inference, in ns: its busiest array.
    pub latency_ns: f64,
    /// Estimated energy per inference, in nJ: converters and digital ops.
    pub energy_nj: f64,
}

/// The whole mapping.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Report {
    /// Per layer, in the order the program first reads them.
    pub layers: Vec<LayerReport>,
    /// Arrays in all.
    pub arrays: usize,
    /// Distinct chips used.
    pub chips: usize,
    /// Distinct (chip, core) pairs used.
    pub cores: usize,
    /// Mean utilisation over all arrays.
    pub utilisation: f64,
    /// ADC conversions per inference, all layers.
    pub adc_conversions: u64,
    /// Estimated time of one inference, layer after layer, in ns.
    pub latency_ns: f64,
    /// Estimated time between inferences when layers are pipelined (the busiest
    /// array's time per inference), in ns.
    pub interval_ns: f64,
    /// Estimated energy per inference, in nJ.
    pub energy_nj: f64,
    /// Estimated silicon area of the arrays used and their ADCs, in mm² (a slot
    /// reused from round to round counts once).
    pub area_mm2: f64,
    /// Rounds the model runs in: 1, or more on a target whose arrays are
    /// reprogrammed between groups of layers (`cim.round`).
    pub rounds: usize,
    /// With more than one round, the time to reprogram the chips for every round of
    /// one batch, in µs: per round, the most arrays one core holds times the
    /// target's `program_us` (cores program in parallel); 0 with one round.
    pub reprogram_us: f64,
    /// The digital work between MVMs (what no array computes), when counted
    /// ([`with_digital_work`]): not in the layers' figures above.
    pub digital: Option<DigitalReport>,
    /// The digital corrections of analog layers (`cim-adapters`), when there are
    /// any; their work is in `digital`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapters: Option<AdapterReport>,
}

/// The digital corrections of a program: per-column affines and low-rank adapters.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct AdapterReport {
    /// Layers with a correction.
    pub layers: usize,
    /// Their adapters' rank, largest.
    pub rank: usize,
    /// Parameters the corrections add (adapter factors, scales, offsets).
    pub parameters: u64,
    /// Weights of the corrected layers (on the arrays).
    pub analog_weights: u64,
    /// `parameters / analog_weights`, in %.
    pub percent: f64,
}

/// The corrections of `module`, if it has any.
pub fn adapters(module: &Module) -> Option<AdapterReport> {
    let layers = crate::calibrate::corrected_layers(module);
    if layers.is_empty() {
        return None;
    }
    let parameters: u64 = layers
        .values()
        .map(|&(k, r, n)| (k * r + r * n + 2 * n) as u64)
        .sum();
    let analog_weights: u64 = layers.values().map(|&(k, _, n)| (k * n) as u64).sum();
    Some(AdapterReport {
        layers: layers.len(),
        rank: layers.values().map(|l| l.1).max().unwrap_or(0),
        parameters,
        analog_weights,
        percent: 100.0 * parameters as f64 / analog_weights.max(1) as f64,
    })
}

/// The digital work between MVMs per inference, and its estimated cost on the NMDU.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct DigitalReport {
    /// Multiply-accumulates of products between computed values.
    pub macs: u64,
    /// Scalar operations of element-wise ops and reductions.
    pub operations: u64,
    /// `(macs + operations) * digital_ns`, in ns.
    pub latency_ns: f64,
    /// `(macs + operations) * digital_pj`, in nJ.
    pub energy_nj: f64,
}

/// `report` with the digital work between its MVMs, priced by `target`'s
/// `digital_ns` and `digital_pj`.
pub fn with_digital_work(
    mut report: Report,
    work: &crate::digital_work::DigitalWork,
    target: &Target,
) -> Report {
    let count = (work.macs + work.operations) as f64;
    report.digital = Some(DigitalReport {
        macs: work.macs,
        operations: work.operations,
        latency_ns: count * target.cost.digital_ns,
        energy_nj: count * target.cost.digital_pj / 1000.0,
    });
    report
}

/// The layer an array belongs to: its name up to `_r<i>_c<j>` (as cim-tile names
/// arrays) or `_a<k>` (as cim-map does; `<function>_packed` for arrays shared by
/// several layers), or the whole name.
pub fn layer_of(array: &str) -> String {
    let parts: Vec<&str> = array.split('_').collect();
    let numbered = |part: &str, prefix: char| {
        part.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    for index in 1..parts.len() {
        let tile = index + 1 < parts.len()
            && numbered(parts[index], 'r')
            && numbered(parts[index + 1], 'c');
        if tile || numbered(parts[index], 'a') {
            return parts[..index].join("_");
        }
    }
    array.to_owned()
}

/// The batch of a module's entry function: the leading dimension of its first
/// argument when it is static, else 1 (a dynamic batch: figures are per sample
/// already).
fn static_batch(module: &Module) -> u64 {
    crate::artifact::entry_argument_shapes(module)
        .and_then(|shapes| {
            shapes
                .into_iter()
                .next()
                .flatten()?
                .dims
                .first()
                .copied()
                .flatten()
        })
        .unwrap_or(1)
        .max(1)
}

/// Input vectors per sample that `value` (batch x K) holds: its static rows over
/// the model's static `batch`, or for a dynamic batch the static dimensions a
/// reshape folded into it (a convolution's output pixels), else 1.
fn vectors_per_sample(value: Value, batch: u64) -> u64 {
    let Some(shape) = TensorShape::of_type(value.r#type()) else {
        return 1;
    };
    if let Some(Some(rows)) = shape.dims.first().filter(|_| shape.dims.len() == 2) {
        return if rows % batch == 0 {
            (rows / batch).max(1)
        } else {
            (*rows).max(1)
        };
    }
    let Some(op) = defining_op(value) else {
        return 1;
    };
    let source = op.operand(0).ok();
    match op_name(&op).as_str() {
        // The static extents folded into the dynamic rows: all the source's static
        // elements over the result's static columns.
        "tensor.collapse_shape" => source.map_or(1, |source| {
            let statics = |value: Value| {
                TensorShape::of_type(value.r#type())
                    .map_or(1, |s| s.dims.iter().flatten().product::<u64>())
            };
            let (from, to) = (statics(source), statics(value).max(1));
            if from % to == 0 {
                (from / to).max(1)
            } else {
                1
            }
        }),
        "tensor.extract_slice" | "tensor.cast" => {
            source.map_or(1, |source| vectors_per_sample(source, batch))
        }
        _ => 1,
    }
}

/// The layer of an op written for one: its location's name, else `fallback`.
fn layer_of_op(op: &OperationRef, fallback: impl FnOnce() -> String) -> String {
    marks::layer(op).unwrap_or_else(fallback)
}

/// What one MVM reads and costs.
pub(crate) struct MvmRead {
    pub(crate) array: String,
    /// The layer it computes for.
    pub(crate) layer: String,
    /// Its block of the array: row, col, rows, cols.
    pub(crate) block: [u64; 4],
    /// Input planes per vector.
    planes: u64,
    /// Input vectors per sample.
    vectors: u64,
}

impl MvmRead {
    /// ADC conversions per inference.
    fn conversions(&self) -> u64 {
        self.block[3] * self.planes * self.vectors
    }

    /// Time on its array per inference, in ns: per input plane, the array's read
    /// and, when ADCs are shared, one more conversion for each further column an
    /// ADC serves.
    fn busy_ns(&self, cost: &CostSpec, columns_per_adc: u64) -> f64 {
        let turns = columns_per_adc.min(self.block[3]).max(1) - 1;
        (self.vectors * self.planes) as f64 * (cost.mvm_ns + turns as f64 * cost.adc_ns)
    }

    /// Converter energy per inference, in pJ.
    fn energy_pj(&self, cost: &CostSpec) -> f64 {
        let [_, _, rows, cols] = self.block;
        (self.vectors * self.planes) as f64
            * (cols as f64 * cost.adc_pj + rows as f64 * cost.dac_pj)
    }
}

pub(crate) fn mvm_reads(module: &Module) -> Vec<MvmRead> {
    let batch = static_batch(module);
    MvmOp::all(module.as_operation())
        .iter()
        .map(|mvm| {
            let array = mvm.array().unwrap_or_default();
            let window = mvm.window().unwrap_or(Window { row: 0, col: 0 });
            MvmRead {
                layer: layer_of_op(&mvm.op, || layer_of(&array)),
                array,
                block: [window.row as u64, window.col as u64, mvm.rows(), mvm.cols()],
                planes: mvm.input_planes(),
                vectors: vectors_per_sample(mvm.input(), batch),
            }
        })
        .collect()
}

/// Digital values computed per inference by each layer's digital ops.
fn digital_values(module: &Module) -> BTreeMap<String, u64> {
    let mut values = BTreeMap::new();
    let batch = static_batch(module);
    for op in ops_in(module.as_operation()) {
        let name = op_name(&op);
        let digital = [ops::ACCUMULATE, ops::SHIFT_ADD, ops::DIFF, ops::AFFINE];
        if digital.contains(&name.as_str())
            && let (Ok(result), Some(layer)) = (op.result(0), marks::layer(&op))
        {
            let columns = TensorShape::of_type(result.r#type())
                .and_then(|s| s.last().flatten())
                .unwrap_or(0);
            let vectors = op
                .operand(0)
                .map_or(1, |value| vectors_per_sample(value, batch));
            // n operands take n - 1 operations per value (affine: one).
            let per_value = (op.operand_count() as u64).saturating_sub(1).max(1);
            *values.entry(layer).or_insert(0) += columns * vectors * per_value;
        }
    }
    values
}

/// Cells of a `rows x cols` weight block that `blocks` read (arrays shared by
/// packed layers hold zeros between their blocks).
fn cells_read(rows: u64, cols: u64, blocks: &[[u64; 4]]) -> u64 {
    let mut read = vec![false; (rows * cols) as usize];
    for &[row, col, height, width] in blocks {
        for r in row..(row + height).min(rows) {
            for c in col..(col + width).min(cols) {
                read[(r * cols + c) as usize] = true;
            }
        }
    }
    read.iter().filter(|&&cell| cell).count() as u64
}

/// One `cim.crossbar` as the report sees it.
struct ArrayFacts {
    /// Rows x cols of its weights.
    weights: Option<(u64, u64)>,
    /// Cells of its geometry.
    cells: u64,
    /// Columns of its geometry.
    columns: u64,
    /// Its chip and core, once placed.
    core: Option<(i64, i64)>,
    /// Its slot, once placed.
    place: Option<Place>,
    /// Its round (0 unless the chips are reprogrammed).
    round: i64,
}

/// The report of a compiled artifact for `target`, with the digital work between
/// MVMs counted by running the exact program once (when it cannot be counted, the
/// report without it and why).
pub fn of_artifact(
    artifact: &crate::artifact::Artifact,
    target: &Target,
) -> Result<(Report, Option<String>), crate::DriverError> {
    let summary = report(artifact.mapped()?, target);
    Ok(match crate::digital_work::digital_work(artifact.exact()?) {
        Ok(work) => (with_digital_work(summary, &work, target), None),
        Err(why) => (summary, Some(why)),
    })
}

/// Builds the report of a mapped module, with time and energy from `target`'s cost
/// figures and ADC sharing.
pub fn report(module: &Module, target: &Target) -> Report {
    let cost = &target.costs();
    let columns_per_adc = u64::from(target.adc.columns_per_adc);
    let reads = mvm_reads(module);
    let (mut chips, mut cores) = (BTreeSet::new(), BTreeSet::new());
    let mut arrays: BTreeMap<String, ArrayFacts> = BTreeMap::new();
    for array in CrossbarOp::all(module.as_operation()) {
        let geometry = array.geometry;
        let place = array.placed();
        if let Some(place) = place {
            chips.insert(place.chip);
            cores.insert((place.chip, place.core));
        }
        arrays.insert(
            array.name.clone(),
            ArrayFacts {
                weights: array.weights_shape().map(|[rows, cols]| (rows, cols)),
                cells: (geometry.rows * geometry.cols) as u64,
                columns: geometry.cols as u64,
                core: place.map(|p| (p.chip, p.core)),
                place,
                round: array.round().unwrap_or(0),
            },
        );
    }

    // Per layer: the blocks it reads on each array, its MVMs' costs.
    let mut layers: BTreeMap<String, LayerReport> = BTreeMap::new();
    let mut blocks: BTreeMap<(String, String), Vec<[u64; 4]>> = BTreeMap::new();
    let mut busy: BTreeMap<(String, String), f64> = BTreeMap::new();
    for read in &reads {
        if !arrays.contains_key(&read.array) {
            continue;
        }
        let entry = layers
            .entry(read.layer.clone())
            .or_insert_with(|| LayerReport {
                layer: read.layer.clone(),
                ..Default::default()
            });
        entry.mvms += 1;
        entry.adc_conversions += read.conversions();
        entry.vectors = entry.vectors.max(read.vectors);
        entry.energy_nj += read.energy_pj(cost) / 1000.0;
        let key = (read.layer.clone(), read.array.clone());
        blocks.entry(key.clone()).or_default().push(read.block);
        *busy.entry(key).or_default() += read.busy_ns(cost, columns_per_adc);
    }
    // Arrays no MVM reads count, whole, for the layer their name says.
    for name in arrays.keys() {
        if !reads.iter().any(|read| &read.array == name) {
            let layer = layer_of(name);
            layers.entry(layer.clone()).or_insert_with(|| LayerReport {
                layer: layer.clone(),
                ..Default::default()
            });
            blocks.insert((layer, name.clone()), Vec::new());
        }
    }
    let mut layer_cores: BTreeMap<&str, BTreeSet<(i64, i64)>> = BTreeMap::new();
    for (layer, array) in blocks.keys() {
        if let Some(core) = arrays[array].core {
            layer_cores.entry(layer.as_str()).or_default().insert(core);
        }
    }
    for (layer, cores) in layer_cores {
        layers.get_mut(layer).expect("inserted above").cores = cores.len();
    }
    let mut used_per_array: BTreeMap<&str, Vec<[u64; 4]>> = BTreeMap::new();
    for ((layer, array), read) in &blocks {
        let facts = &arrays[array];
        let (rows, cols) = facts.weights.unwrap_or((0, 0));
        let entry = layers.get_mut(layer).expect("inserted above");
        entry.arrays += 1;
        entry.cells_available += facts.cells;
        entry.cells_used += if read.is_empty() {
            rows * cols
        } else {
            cells_read(rows, cols, read)
        };
        used_per_array.entry(array.as_str()).or_default().extend(
            read.iter()
                .copied()
                .chain(read.is_empty().then_some([0, 0, rows, cols])),
        );
    }
    for ((layer, _), time) in &busy {
        let entry = layers.get_mut(layer).expect("inserted above");
        entry.latency_ns = entry.latency_ns.max(*time);
    }
    for (layer, values) in digital_values(module) {
        if let Some(entry) = layers.get_mut(&layer) {
            entry.energy_nj += values as f64 * cost.digital_pj / 1000.0;
        }
    }
    let mut per_array_busy: BTreeMap<&str, f64> = BTreeMap::new();
    for ((_, array), time) in &busy {
        *per_array_busy.entry(array.as_str()).or_default() += time;
    }

    // Layers in the order the program first reads them.
    let mut order: Vec<&str> = Vec::new();
    for read in &reads {
        if !order.contains(&read.layer.as_str()) {
            order.push(&read.layer);
        }
    }
    let rank = |layer: &LayerReport| {
        order
            .iter()
            .position(|name| *name == layer.layer)
            .unwrap_or(order.len())
    };
    let mut layers: Vec<LayerReport> = layers.into_values().collect();
    layers.sort_by_key(|layer| rank(layer));
    for layer in &mut layers {
        layer.utilisation = ratio(layer.cells_used, layer.cells_available);
    }
    let used: u64 = used_per_array
        .iter()
        .map(|(array, read)| {
            let (rows, cols) = arrays[*array].weights.unwrap_or((0, 0));
            cells_read(rows, cols, read)
        })
        .sum();
    let available: u64 = arrays.values().map(|facts| facts.cells).sum();
    // Physical arrays: one per slot (reused across rounds), and every unplaced one.
    let mut slots: BTreeMap<(i64, i64, i64), &ArrayFacts> = BTreeMap::new();
    let mut unplaced = Vec::new();
    for facts in arrays.values() {
        match facts.place {
            Some(p) => {
                slots.entry((p.chip, p.core, p.array)).or_insert(facts);
            }
            None => unplaced.push(facts),
        }
    }
    let rounds = arrays
        .values()
        .map(|f| f.round)
        .max()
        .map_or(1, |r| r as usize + 1);
    let mut per_core: BTreeMap<(i64, (i64, i64)), u64> = BTreeMap::new();
    for facts in arrays.values() {
        if let Some(core) = facts.core {
            *per_core.entry((facts.round, core)).or_default() += 1;
        }
    }
    let reprogram_us = if rounds > 1 {
        (0..rounds as i64)
            .map(|round| {
                per_core
                    .iter()
                    .filter(|((r, _), _)| *r == round)
                    .map(|(_, &count)| count)
                    .max()
                    .unwrap_or(0) as f64
                    * cost.program_us
            })
            .sum()
    } else {
        0.0
    };
    Report {
        digital: None,
        adapters: adapters(module),
        rounds,
        reprogram_us,
        arrays: arrays.len(),
        chips: chips.len(),
        cores: cores.len(),
        utilisation: ratio(used, available),
        adc_conversions: layers.iter().map(|l| l.adc_conversions).sum(),
        latency_ns: layers.iter().map(|l| l.latency_ns).sum(),
        interval_ns: per_array_busy.values().copied().fold(0.0, f64::max),
        energy_nj: layers.iter().map(|l| l.energy_nj).sum(),
        area_mm2: slots
            .values()
            .copied()
            .chain(unplaced)
            .map(|facts| {
                let adcs = facts.columns.div_ceil(columns_per_adc.max(1));
                cost.array_um2 + adcs as f64 * cost.adc_um2
            })
            .sum::<f64>()
            / 1e6,
        layers,
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<20} {:>6} {:>5} {:>11} {:>8} {:>5} {:>9} {:>7} {:>12} {:>11}",
            "layer",
            "arrays",
            "cores",
            "cells used",
            "util.",
            "MVMs",
            "ADC conv.",
            "vectors",
            "latency ns",
            "energy nJ"
        )?;
        for l in &self.layers {
            writeln!(
                f,
                "{:<20} {:>6} {:>5} {:>11} {:>7.1}% {:>5} {:>9} {:>7} {:>12.0} {:>11.3}",
                l.layer,
                l.arrays,
                l.cores,
                l.cells_used,
                100.0 * l.utilisation,
                l.mvms,
                l.adc_conversions,
                l.vectors,
                l.latency_ns,
                l.energy_nj
            )?;
        }
        writeln!(
            f,
            "total: {} arrays on {} chips / {} cores, mean utilisation {:.1}%, {} ADC conversions per inference",
            self.arrays,
            self.chips,
            self.cores,
            100.0 * self.utilisation,
            self.adc_conversions
        )?;
        writeln!(
            f,
            "estimated per inference: {:.0} ns layer by layer, one every {:.0} ns pipelined, {:.3} nJ; area {:.3} mm²",
            self.latency_ns, self.interval_ns, self.energy_nj, self.area_mm2
        )?;
        if self.rounds > 1 {
            writeln!(
                f,
                "in {} rounds: the chips are reprogrammed for each, {:.0} µs per batch",
                self.rounds, self.reprogram_us
            )?;
        }
        if let Some(digital) = &self.digital {
            writeln!(
                f,
                "digital work between MVMs (NMDU), per inference: {} MACs, {} operations, {:.0} ns, {:.3} nJ",
                digital.macs, digital.operations, digital.latency_ns, digital.energy_nj
            )?;
        }
        if let Some(adapters) = &self.adapters {
            writeln!(
                f,
                "digital corrections: {} layers, adapters of rank {}, {} parameters ({:.2}% of their {} analog weights)",
                adapters.layers,
                adapters.rank,
                adapters.parameters,
                adapters.percent,
                adapters.analog_weights
            )?;
        }
        Ok(())
    }
}
