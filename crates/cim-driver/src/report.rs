//! Per-layer figures of a mapped module: arrays, utilisation, MVMs, ADC conversions.

use cim_ir::{
    attributes::{Converter, DacMode, Geometry, Place, Window},
    dialect::ops,
    query::{TensorShape, attribute, attribute_shape, op_name, string_attribute},
};
use melior::ir::{
    BlockLike, Module, ValueLike,
    attribute::FlatSymbolRefAttribute,
    operation::{OperationLike, WalkOrder, WalkResult},
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One layer (the arrays cut from one weight matrix).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct LayerReport {
    /// Layer name: the arrays' common name prefix (`main_mm0`).
    pub layer: String,
    /// Arrays used.
    pub arrays: usize,
    /// Programmed cells.
    pub cells_used: u64,
    /// Cells of those arrays.
    pub cells_available: u64,
    /// `cells_used / cells_available`.
    pub utilisation: f64,
    /// Analog MVMs per input vector.
    pub mvms: usize,
    /// ADC conversions per input vector (result columns, times the input bits of a
    /// bit-serial DAC).
    pub adc_conversions: u64,
}

/// The whole mapping.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Report {
    /// Per layer, in name order.
    pub layers: Vec<LayerReport>,
    /// Arrays in all.
    pub arrays: usize,
    /// Distinct chips used.
    pub chips: usize,
    /// Distinct (chip, core) pairs used.
    pub cores: usize,
    /// Mean utilisation over all arrays.
    pub utilisation: f64,
    /// ADC conversions per input vector, all layers.
    pub adc_conversions: u64,
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

/// What one MVM reads: its array, its block (row, col, rows, cols) and the ADC
/// conversions per input vector.
pub(crate) struct MvmRead {
    pub(crate) array: String,
    pub(crate) block: [u64; 4],
    conversions: u64,
}

pub(crate) fn mvm_reads(module: &Module) -> Vec<MvmRead> {
    let mut reads = Vec::new();
    module.as_operation().walk(WalkOrder::PreOrder, |op| {
        if op_name(&op) == ops::MVM {
            let array = attribute(&op, "array")
                .and_then(|a| FlatSymbolRefAttribute::try_from(a).ok())
                .map(|s| s.value().to_owned())
                .unwrap_or_default();
            let last = |r#type| {
                TensorShape::of_type(r#type)
                    .and_then(|s| s.last().flatten())
                    .unwrap_or(0)
            };
            let columns = op.result(0).map_or(0, |r| last(r.r#type()));
            let rows = op.operand(0).map_or(0, |v| last(v.r#type()));
            let window = attribute(&op, "window")
                .and_then(Window::read)
                .unwrap_or(Window { row: 0, col: 0 });
            let planes = match attribute(&op, "dac").and_then(Converter::read) {
                Some(Converter::Dac {
                    mode: DacMode::BitSerial,
                    bits,
                    ..
                }) => bits as u64,
                _ => 1,
            };
            reads.push(MvmRead {
                array,
                block: [window.row as u64, window.col as u64, rows, columns],
                conversions: columns * planes,
            });
        }
        WalkResult::Advance
    });
    reads
}

/// Cells of a `rows x cols` weight block that some MVM reads (arrays shared by
/// packed layers hold zeros between their blocks); all of them if none is read.
fn cells_read(rows: u64, cols: u64, blocks: &[[u64; 4]]) -> u64 {
    if blocks.is_empty() {
        return rows * cols;
    }
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

/// Builds the report of a mapped module.
pub fn report(module: &Module) -> Report {
    let reads = mvm_reads(module);
    let mut layers: BTreeMap<String, LayerReport> = BTreeMap::new();
    let mut layer_of_array = BTreeMap::new();
    let (mut chips, mut cores) = (BTreeSet::new(), BTreeSet::new());
    let first = module.body().first_operation();
    for op in std::iter::successors(first, |op| op.next_in_block())
        .filter(|op| op_name(op) == ops::CROSSBAR)
    {
        let name = string_attribute(&op, "sym_name").unwrap_or_default();
        let layer = layer_of(&name);
        let geometry = attribute(&op, "geometry")
            .and_then(Geometry::read)
            .unwrap_or(Geometry { rows: 0, cols: 0 });
        let blocks: Vec<[u64; 4]> = reads
            .iter()
            .filter(|read| read.array == name)
            .map(|read| read.block)
            .collect();
        let used =
            attribute(&op, "weights")
                .and_then(attribute_shape)
                .map_or(0, |shape| match shape.dims.as_slice() {
                    [Some(rows), Some(cols)] => cells_read(*rows, *cols, &blocks),
                    dims => dims.iter().map(|d| d.unwrap_or(0)).product::<u64>(),
                });
        if let Some(place) = attribute(&op, "place").and_then(Place::read) {
            chips.insert(place.chip);
            cores.insert((place.chip, place.core));
        }
        let entry = layers.entry(layer.clone()).or_insert_with(|| LayerReport {
            layer: layer.clone(),
            ..Default::default()
        });
        entry.arrays += 1;
        entry.cells_used += used;
        entry.cells_available += (geometry.rows * geometry.cols) as u64;
        layer_of_array.insert(name, layer);
    }
    for read in &reads {
        if let Some(entry) = layer_of_array
            .get(&read.array)
            .and_then(|layer| layers.get_mut(layer))
        {
            entry.mvms += 1;
            entry.adc_conversions += read.conversions;
        }
    }
    let mut layers: Vec<LayerReport> = layers.into_values().collect();
    for layer in &mut layers {
        layer.utilisation = ratio(layer.cells_used, layer.cells_available);
    }
    let used: u64 = layers.iter().map(|l| l.cells_used).sum();
    let available: u64 = layers.iter().map(|l| l.cells_available).sum();
    Report {
        arrays: layers.iter().map(|l| l.arrays).sum(),
        chips: chips.len(),
        cores: cores.len(),
        utilisation: ratio(used, available),
        adc_conversions: layers.iter().map(|l| l.adc_conversions).sum(),
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
            "{:<24} {:>7} {:>12} {:>11} {:>6} {:>15}",
            "layer", "arrays", "cells used", "utilisation", "MVMs", "ADC conv/input"
        )?;
        for l in &self.layers {
            writeln!(
                f,
                "{:<24} {:>7} {:>12} {:>10.1}% {:>6} {:>15}",
                l.layer,
                l.arrays,
                l.cells_used,
                100.0 * l.utilisation,
                l.mvms,
                l.adc_conversions
            )?;
        }
        writeln!(
            f,
            "total: {} arrays on {} chips / {} cores, mean utilisation {:.1}%, {} ADC conversions per input",
            self.arrays,
            self.chips,
            self.cores,
            100.0 * self.utilisation,
            self.adc_conversions
        )
    }
}
