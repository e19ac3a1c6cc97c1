//! `cim-bitslice{weight-bits cell-bits input-bits dac-bits scale weight-scaling
//! input-min input-max}`: quantizes the weights of each array and spreads their bits
//! over several arrays of multi-level cells, and sets how inputs reach the word lines.
//!
//! Each array with analog cells (`#cim.ideal`) whose weights are non-negative
//! (`positive`, `negative`, `offset`) or held by device pairs (`pair`; run
//! `cim-split-weights` first) is quantized to `weight-bits` bits:
//! |q| = round(|w| / s), 0 <= |q| < 2^bits, with the sign of w kept by a pair.
//! `weight-scaling` says what shares a scale s: `block` (default) gives every block an
//! MVM reads its own, so layers packed on one array each use the full range (blocks
//! that overlap share one); `array` one per array (aihwkit's per-tile scale); `column`
//! one per column of each block (aihwkit's `weight_scaling_columnwise`).
//! `scale=max` takes s = max|w| / (2^bits - 1), using the full range;
//! `scale=pow2` rounds s up to a power of two, which a digital unit applies with a
//! shift and which keeps integer weights exact. The bits of q are cut into
//! ceil(weight-bits / cell-bits) slices of `cell-bits`: slice i, on its own array with
//! `#cim.cell<cell-bits>` and `#cim.slice<i, i * cell-bits>`, holds
//! (|q| >> (i * cell-bits)) mod 2^cell-bits (signed like q on a pair). Every MVM on
//! the original array becomes one MVM per slice, a `cim.shift_add` that recombines
//! them, and a `cim.affine` that multiplies by the block's s (per column). The MVMs'
//! DAC becomes `#cim.dac<input-bits, mode, input-min, input-max>`: bit-serial for
//! `dac-bits=1`, multi-level for `dac-bits=input-bits`.
//!
//! An array that `cim-map{choose-encoding}` marked with `cim.cell_bits` is cut into
//! slices of that many bits instead of `cell-bits`.
//!
//! Example, `cim-bitslice{weight-bits=4 cell-bits=2}` on a 1x2 positive array with
//! weights [15, 6] (s = 1). Before:
//!
//! ```mlir
//! "cim.crossbar"() {sym_name = "a", cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>,
//!     sign = "positive", weights = dense<[[15.0, 6.0]]> : tensor<1x2xf32>, ...}
//! %y = "cim.mvm"(%x) {array = @a, ...} : (tensor<?x1xf32>) -> tensor<?x2xf32>
//! ```
//!
//! After:
//!
//! ```mlir
//! "cim.crossbar"() {sym_name = "a_s0", cell = #cim.cell<2 : i64>,
//!     slice = #cim.slice<0 : i64, 0 : i64>, weights = dense<[[3.0, 2.0]]> ...}
//! "cim.crossbar"() {sym_name = "a_s1", cell = #cim.cell<2 : i64>,
//!     slice = #cim.slice<1 : i64, 2 : i64>, weights = dense<[[3.0, 1.0]]> ...}
//! %0 = "cim.mvm"(%x) {array = @a_s0, dac = #cim.dac<8 : i64, "bit_serial", ...>, ...}
//! %1 = "cim.mvm"(%x) {array = @a_s1, dac = #cim.dac<8 : i64, "bit_serial", ...>, ...}
//! %2 = "cim.shift_add"(%0, %1) {shifts = array<i64: 0, 2>} : ...
//! %y = "cim.affine"(%2) {scale = dense<1.0> : tensor<2xf32>, offset = dense<0.0> ...}
//! ```

use crate::options::{OptionKind, OptionSpec, PassOptions};
use crate::pass::{PassDef, PassFailed, PassId, PassResult};
use cim_ir::mapped::{self, CrossbarOp};
use cim_ir::{
    attributes::{Cell, Converter, DacMode, Slice},
    build::{self, CrossbarSpec},
    diagnostics::emit_error,
    query::{TensorShape, context_of},
};
use melior::ir::{OperationRef, operation::OperationLike};

static ID: PassId = PassId;

/// The pass definition.
pub static PASS: PassDef = PassDef {
    name: "cim-bitslice",
    summary: "Quantize array weights and spread their bits over multi-level cells; set input DACs",
    options: &[
        OptionSpec {
            name: "weight-bits",
            kind: OptionKind::Int { min: 1, max: 24 },
            default: "8",
            doc: "bits of each quantized (non-negative) weight",
        },
        OptionSpec {
            name: "cell-bits",
            kind: OptionKind::Int { min: 1, max: 16 },
            default: "2",
            doc: "bits stored per memory cell",
        },
        OptionSpec {
            name: "input-bits",
            kind: OptionKind::Int { min: 1, max: 24 },
            default: "8",
            doc: "resolution of the inputs driven onto the word lines",
        },
        OptionSpec {
            name: "dac-bits",
            kind: OptionKind::Int { min: 1, max: 24 },
            default: "1",
            doc: "DAC resolution: 1 = bit-serial, input-bits = multi-level",
        },
        OptionSpec {
            name: "scale",
            kind: OptionKind::Enum(&["max", "pow2"]),
            default: "max",
            doc: "weight scale: full range, or rounded up to a power of two",
        },
        OptionSpec {
            name: "weight-scaling",
            kind: OptionKind::Enum(<Scaling as cim_choices::Choice>::WORDS),
            default: <Scaling as cim_choices::Choice>::DEFAULT_WORD,
            doc: "what shares a weight scale: the whole array, each MVM's block (packed layers each use the full range), or each column of a block",
        },
        OptionSpec {
            name: "input-min",
            kind: OptionKind::Float,
            default: "-1.0",
            doc: "lowest input the DAC represents",
        },
        OptionSpec {
            name: "input-max",
            kind: OptionKind::Float,
            default: "1.0",
            doc: "highest input the DAC represents",
        },
    ],
    anchor: "builtin.module",
    run,
    id: &ID,
};

struct Plan {
    weight_bits: i64,
    cell_bits: i64,
    pow2: bool,
    scaling: Scaling,
    dac: Converter,
}

cim_choices::choice! {
    /// What shares one weight scale (the weight a top level is worth).
    pub enum Scaling {
        /// The whole array (aihwkit's one scale per tile).
        Array = "array",
        /// Each block an MVM reads (blocks of packed layers each span the full
        /// range; blocks that overlap share one).
        Block = "block",
        /// Each column of each block (aihwkit's `weight_scaling_columnwise`).
        Column = "column",
    }
    default Block
}

fn run(module: OperationRef<'_, '_>, options: &PassOptions) -> PassResult {
    let (input_bits, dac_bits) = (options.int("input-bits"), options.int("dac-bits"));
    let (lo, hi) = (options.float("input-min"), options.float("input-max"));
    let problem = if dac_bits != 1 && dac_bits != input_bits {
        Some(format!(
            "cim-bitslice: dac-bits={dac_bits} must be 1 (bit-serial) or equal input-bits={input_bits} (multi-level)"
        ))
    } else if lo >= hi {
        Some(format!(
            "cim-bitslice: input-min={lo} must be below input-max={hi}"
        ))
    } else {
        None
    };
    if let Some(message) = problem {
        emit_error(module.location(), &message);
        return Err(PassFailed);
    }
    let plan = Plan {
        weight_bits: options.int("weight-bits"),
        cell_bits: options.int("cell-bits"),
        pow2: options.text("scale") == "pow2",
        scaling: options.choice("weight-scaling"),
        dac: Converter::Dac {
            bits: input_bits,
            mode: if dac_bits == 1 {
                DacMode::BitSerial
            } else {
                DacMode::MultiLevel
            },
            lo,
            hi,
        },
    };
    let mut arrays = mapped::Arrays::collect(module);
    let mut failed = false;
    for array in arrays.take_all() {
        if Cell::read(array.cell).is_some() {
            continue; // already sliced
        }
        if let Err(message) = slice_array(&mut arrays, &array, &plan) {
            emit_error(
                array.op.location(),
                &format!("'cim.crossbar' op cannot be bit-sliced: {message}"),
            );
            failed = true;
        }
    }
    if failed { Err(PassFailed) } else { Ok(()) }
}

/// The quantization scale of non-negative weights with maximum `max`.
pub fn weight_scale(max: f32, bits: i64, pow2: bool) -> f32 {
    if max <= 0.0 {
        return 1.0;
    }
    let full = max / ((1u64 << bits) - 1) as f32;
    if pow2 {
        2f32.powi(full.log2().ceil() as i32)
    } else {
        full
    }
}

/// A rectangle of an array: rows `r0..r1`, columns `c0..c1`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Rect {
    r0: usize,
    r1: usize,
    c0: usize,
    c1: usize,
}

impl Rect {
    fn overlaps(&self, other: &Rect) -> bool {
        self.r0 < other.r1 && other.r0 < self.r1 && self.c0 < other.c1 && other.c0 < self.c1
    }

    fn contains(&self, r: usize, c: usize) -> bool {
        (self.r0..self.r1).contains(&r) && (self.c0..self.c1).contains(&c)
    }
}

/// The regions of an array that get their own scale: every MVM's block, blocks
/// that overlap merged into one region (each listed by its blocks' indices).
fn regions(blocks: &[Rect]) -> Vec<Vec<usize>> {
    let mut region: Vec<usize> = (0..blocks.len()).collect();
    fn find(region: &mut [usize], i: usize) -> usize {
        let mut root = i;
        while region[root] != root {
            root = region[root];
        }
        region[i] = root;
        root
    }
    for i in 0..blocks.len() {
        for j in 0..i {
            if blocks[i].overlaps(&blocks[j]) {
                let (a, b) = (find(&mut region, i), find(&mut region, j));
                region[a] = b;
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for i in 0..blocks.len() {
        let root = find(&mut region, i);
        let slot = *index.entry(root).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[slot].push(i);
    }
    groups
}

fn slice_array<'c, 'a>(
    arrays: &mut mapped::Arrays<'c, 'a>,
    array: &CrossbarOp<'c, 'a>,
    plan: &Plan,
) -> Result<(), String> {
    if array.sign == "signed" {
        return Err(format!(
            "@{} holds signed weights: run cim-split-weights first",
            array.name
        ));
    }
    if array.is_placed() {
        return Err(format!(
            "@{} is already placed: split and slice before cim-place",
            array.name
        ));
    }
    let pair = array.sign == "pair";
    let weights = array.weights()?;
    if let Some(bad) = weights
        .values
        .iter()
        .find(|w| !w.is_finite() || (!pair && **w < 0.0))
    {
        return Err(format!(
            "@{} holds {bad}: a {} array must be finite{}",
            array.name,
            array.sign,
            if pair { "" } else { " and non-negative" }
        ));
    }
    let [rows, cols] = weights.shape.map(|d| d as usize);
    let at = |r: usize, c: usize| weights.values[r * cols + c].abs();
    // Scales: one per region of blocks (per column of it with `column` scaling),
    // so blocks of different layers packed on one array each span the full range.
    let mvms = arrays.mvms_of(&array.name);
    let mut blocks = Vec::new();
    for mvm in &mvms {
        let window = mvm.window().ok_or("MVM without a window")?;
        let (r0, c0) = (window.row as usize, window.col as usize);
        blocks.push(Rect {
            r0,
            r1: (r0 + mvm.rows() as usize).min(rows),
            c0,
            c1: (c0 + mvm.cols() as usize).min(cols),
        });
    }
    let whole = Rect {
        r0: 0,
        r1: rows,
        c0: 0,
        c1: cols,
    };
    let regions: Vec<Vec<usize>> = match plan.scaling {
        Scaling::Array => vec![(0..blocks.len()).collect()],
        Scaling::Block | Scaling::Column => regions(&blocks),
    };
    // Each region's extent (the whole array for one region), and scale per column.
    let extents: Vec<Rect> = regions
        .iter()
        .map(|members| {
            if plan.scaling == Scaling::Array || members.is_empty() {
                return whole;
            }
            members.iter().fold(blocks[members[0]], |e, &i| Rect {
                r0: e.r0.min(blocks[i].r0),
                r1: e.r1.max(blocks[i].r1),
                c0: e.c0.min(blocks[i].c0),
                c1: e.c1.max(blocks[i].c1),
            })
        })
        .collect();
    let max_of = |extent: &Rect, columns: std::ops::Range<usize>| -> f32 {
        let mut max = 0.0f32;
        for r in extent.r0..extent.r1 {
            for c in columns.clone() {
                max = max.max(at(r, c));
            }
        }
        max
    };
    // scales[region][c - c0] for the region's columns.
    let scales: Vec<Vec<f32>> = extents
        .iter()
        .map(|extent| match plan.scaling {
            Scaling::Column => (extent.c0..extent.c1)
                .map(|c| weight_scale(max_of(extent, c..c + 1), plan.weight_bits, plan.pow2))
                .collect(),
            _ => vec![
                weight_scale(
                    max_of(extent, extent.c0..extent.c1),
                    plan.weight_bits,
                    plan.pow2
                );
                extent.c1 - extent.c0
            ],
        })
        .collect();
    let array_scale = weight_scale(max_of(&whole, 0..cols), plan.weight_bits, plan.pow2);
    let scale_at = |r: usize, c: usize| -> f32 {
        extents
            .iter()
            .zip(&scales)
            .find(|(extent, _)| extent.contains(r, c))
            .map_or(array_scale, |(extent, scales)| scales[c - extent.c0])
    };
    let top = ((1u64 << plan.weight_bits) - 1) as f64;
    // Signed levels (non-negative unless a pair holds them).
    let levels: Vec<i64> = (0..rows * cols)
        .map(|k| {
            let (r, c) = (k / cols, k % cols);
            let w = weights.values[k];
            let magnitude = (f64::from(w.abs()) / f64::from(scale_at(r, c)))
                .round()
                .clamp(0.0, top) as i64;
            if w < 0.0 { -magnitude } else { magnitude }
        })
        .collect();
    let context = context_of(&array.op);
    // cim-map{choose-encoding} may have chosen the cell width per array.
    let cell_bits = array.cell_bits_mark().unwrap_or(plan.cell_bits);
    if !(1..=16).contains(&cell_bits) {
        return Err(format!(
            "{} = {cell_bits} is not in 1..=16",
            cim_ir::marks::CELL_BITS
        ));
    }
    let count = (plan.weight_bits + cell_bits - 1) / cell_bits;
    let mask = (1u64 << cell_bits) - 1;
    let mut names = Vec::new();
    let mut shifts = Vec::new();
    for index in 0..count {
        let shift = index * cell_bits;
        // A pair's slice holds the digits of the magnitude, signed.
        let values: Vec<f32> = levels
            .iter()
            .map(|&q| (((q.unsigned_abs() >> shift) & mask) as f32).copysign(q as f32))
            .collect();
        let name = arrays.fresh_name(&format!("{}_s{index}", array.name));
        let spec = CrossbarSpec {
            name: name.clone(),
            geometry: array.geometry,
            place: array.place,
            cell: Cell { bits: cell_bits }.build(context),
            slice: Slice { index, shift },
            sign: sign_of(&array.sign),
            weights: build::dense_f32(context, &weights.shape, &values),
        };
        arrays.add_before(array, build::crossbar(context, array.op.location(), spec));
        names.push(name);
        shifts.push(shift);
    }
    for (mvm, block) in mvms.iter().zip(&blocks) {
        let (input, result) = (mvm.input(), mvm.result_type());
        let location = mvm.op.location();
        let columns = TensorShape::of_type(result)
            .and_then(|shape| shape.last().flatten())
            .ok_or("MVM result columns must be static")? as usize;
        let mut partials = Vec::new();
        for name in &names {
            let mut spec = mvm.spec_on(name)?;
            spec.dac = plan.dac;
            partials.push(mvm.insert_before(build::mvm(context, location, input, result, &spec)));
        }
        let recombined = mvm.insert_before(build::shift_add(context, location, &partials, &shifts));
        // The block's scale per column (a row inside the block picks its region).
        let scale: Vec<f32> = (0..columns)
            .map(|j| scale_at(block.r0.min(rows.saturating_sub(1)), block.c0 + j))
            .collect();
        let scaled = mvm.insert_before(build::affine(
            context,
            location,
            recombined,
            &scale,
            &vec![0.0; columns],
        ));
        mvm.replace_with(scaled);
    }
    array.erase();
    Ok(())
}

/// The sign attribute as a `'static` string (the crossbar builder takes one).
fn sign_of(sign: &str) -> &'static str {
    match sign {
        "positive" => "positive",
        "negative" => "negative",
        "offset" => "offset",
        "pair" => "pair",
        _ => "signed",
    }
}
