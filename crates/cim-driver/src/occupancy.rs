//! A picture of array occupancy: every array of a mapped module, in place order
//! (chip, core, array), with the blocks its MVMs read filled in, as SVG.

use crate::report::mvm_reads;
use cim_ir::{
    attributes::{Geometry, Place},
    mapped::CrossbarOp,
};
use melior::ir::Module;
use std::fmt::Write;

/// Side of one array's square in the picture, in pixels.
const CELL: f64 = 120.0;
/// Gap around each array (room for its label).
const GAP: f64 = 24.0;
/// Arrays per row of the picture.
const PER_ROW: usize = 8;
/// Fill colours, one per layer in order of appearance.
const COLOURS: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f",
];

struct ArrayInfo {
    name: String,
    geometry: Geometry,
    place: Option<Place>,
}

/// The SVG picture of `module`'s arrays.
pub fn occupancy_svg(module: &Module) -> String {
    let mut arrays: Vec<ArrayInfo> = CrossbarOp::all(module.as_operation())
        .into_iter()
        .map(|array| ArrayInfo {
            place: array.placed(),
            geometry: array.geometry,
            name: array.name,
        })
        .collect();
    arrays.sort_by_key(|a| (a.place.map(|p| (p.chip, p.core, p.array)), a.name.clone()));
    let reads = mvm_reads(module);
    let mut layers: Vec<String> = Vec::new();
    let rows = arrays.len().div_ceil(PER_ROW).max(1);
    let width = PER_ROW.min(arrays.len().max(1)) as f64 * (CELL + GAP) + GAP;
    let height = rows as f64 * (CELL + GAP) + GAP;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="9">"#
    );
    for (index, array) in arrays.iter().enumerate() {
        let x = GAP + (index % PER_ROW) as f64 * (CELL + GAP);
        let y = GAP + (index / PER_ROW) as f64 * (CELL + GAP);
        let scale = CELL / array.geometry.rows.max(array.geometry.cols).max(1) as f64;
        let (w, h) = (
            array.geometry.cols as f64 * scale,
            array.geometry.rows as f64 * scale,
        );
        let place = array.place.map_or("unplaced".to_owned(), |p| {
            format!("chip {} core {} array {}", p.chip, p.core, p.array)
        });
        let _ = writeln!(
            svg,
            r#"<text x="{x}" y="{}">{}</text><text x="{x}" y="{}">{place}</text>"#,
            y - 12.0,
            array.name,
            y - 3.0
        );
        let _ = writeln!(
            svg,
            r##"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="#f4f4f4" stroke="#333"/>"##
        );
        let mut drawn: Vec<[u64; 4]> = Vec::new();
        for read in reads.iter().filter(|r| r.array == array.name) {
            if drawn.contains(&read.block) {
                continue;
            }
            drawn.push(read.block);
            // One colour per layer, so the layers packed on an array stand apart.
            let position = layers
                .iter()
                .position(|l| *l == read.layer)
                .unwrap_or_else(|| {
                    layers.push(read.layer.clone());
                    layers.len() - 1
                });
            let colour = COLOURS[position % COLOURS.len()];
            let [row, col, rows, cols] = read.block;
            let _ = writeln!(
                svg,
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{colour}" fill-opacity="0.8"><title>{}</title></rect>"#,
                x + col as f64 * scale,
                y + row as f64 * scale,
                cols as f64 * scale,
                rows as f64 * scale,
                read.layer
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}
