//! The DACs that drive an MVM's word lines: the input rounded to the DAC's levels
//! (one conversion shared by every MVM that reads the same value through the same
//! DAC: the arrays of a pair, the slices of a weight), and, for a bit-serial DAC
//! whose planes are converted one by one, the input's bit planes.

use crate::levels::Uniform;
use cim_interp::kernels::{CHUNK_ROWS, for_chunks, wide_vectors};
use ndarray::{Array2, ArrayView2};
use std::{cell::RefCell, collections::HashMap, rc::Rc};

/// A DAC setting: resolution and range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dac {
    /// Resolution.
    pub bits: i64,
    /// Lowest input.
    pub lo: f64,
    /// Highest input.
    pub hi: f64,
}

impl Dac {
    /// The largest input magnitude: what drives the lines' full read voltage.
    pub fn full_scale(&self) -> f64 {
        self.lo.abs().max(self.hi.abs())
    }
}

/// A value driven through a DAC: the value's identity, the DAC's bits and range.
type DrivenKey = (usize, i64, u64, u64);

/// What the DACs of one run drove (f32: what a line carries needs no more):
/// MVMs reading one value through one DAC share its conversion.
#[derive(Default)]
pub struct Driven {
    inputs: RefCell<HashMap<DrivenKey, Rc<Array2<f32>>>>,
    /// Bit-serial inputs: their planes, and the planes stacked for one product.
    planes: RefCell<HashMap<DrivenKey, Rc<DrivenPlanes>>>,
}

/// A bit-serial input's planes, and the planes stacked along the batch.
pub type DrivenPlanes = (BitPlanes, Array2<f32>);

impl Driven {
    /// Forgets the last run's values.
    pub fn clear(&self) {
        self.inputs.borrow_mut().clear();
        self.planes.borrow_mut().clear();
    }

    /// The bit planes of `input` (the value `value_id`, if it has one) through a
    /// `planes`-bit bit-serial DAC over `[lo, hi]`, and those planes stacked.
    pub fn planes(
        &self,
        value_id: Option<usize>,
        input: ArrayView2<f64>,
        planes: i64,
        (lo, hi): (f64, f64),
    ) -> Rc<DrivenPlanes> {
        let key = value_id.map(|id| (id, planes, lo.to_bits(), hi.to_bits()));
        if let Some(found) = key.and_then(|key| self.planes.borrow().get(&key).cloned()) {
            return found;
        }
        let bit_planes = BitPlanes::new(input, planes, lo, hi);
        let stacked = bit_planes.stacked(input.nrows(), input.ncols());
        let made = Rc::new((bit_planes, stacked));
        if let Some(key) = key {
            self.planes.borrow_mut().insert(key, made.clone());
        }
        made
    }

    /// `input` (the value `value_id`, batch × rows) through `dac`.
    pub fn drive(&self, value_id: usize, input: ArrayView2<f64>, dac: Dac) -> Rc<Array2<f32>> {
        let key = (value_id, dac.bits, dac.lo.to_bits(), dac.hi.to_bits());
        if let Some(driven) = self.inputs.borrow().get(&key) {
            return driven.clone();
        }
        let levels = Uniform::new(dac.bits, dac.lo, dac.hi);
        let driven = Rc::new(narrow(input, move |x| levels.quantize(x)));
        self.inputs.borrow_mut().insert(key, driven.clone());
        driven
    }
}

/// `f(x)` of every value of `input`, as f32, in parallel.
pub fn narrow(input: ArrayView2<f64>, f: impl Fn(f64) -> f64 + Sync + Copy) -> Array2<f32> {
    narrow_gathered(input, None, None, move |x, _| f(x))
}

/// `f(x, factor)` of every value `x` of the rows `rows` of `input` (batch × rows),
/// in that order (`None`: every row), as f32, in parallel; `factor` is the row's
/// entry of `factors` (1 without). A row's factor is read once, outside the loop
/// over its values, and each piece works on its own copy of `f`, so that loop
/// vectorises (the compiler keeps what `f` captured in registers).
pub fn narrow_gathered(
    input: ArrayView2<f64>,
    rows: Option<&[usize]>,
    factors: Option<&[f64]>,
    f: impl Fn(f64, f64) -> f64 + Sync + Copy,
) -> Array2<f32> {
    let count = rows.map_or(input.nrows(), <[usize]>::len);
    let width = input.ncols().max(1);
    // Every element is written once below, so it is not cleared first.
    let mut out = Array2::<f32>::uninit((count, input.ncols()));
    let piece = CHUNK_ROWS * width;
    for_chunks(
        out.as_slice_mut().expect("a new array is contiguous"),
        piece,
        |index, chunk| {
            #[allow(clippy::redundant_locals)] // a copy of its own: see above
            let f = f;
            wide_vectors(
                #[inline(always)]
                || {
                    for (r, row) in chunk.chunks_mut(width).enumerate() {
                        let at = index * CHUNK_ROWS + r;
                        let source = rows.map_or(at, |rows| rows[at]);
                        let values = input.row(source);
                        let factor = factors.map_or(1.0, |factors| factors[source]);
                        // A contiguous row as a slice: a loop the compiler can vectorise.
                        match values.as_slice() {
                            Some(values) => {
                                for (y, &x) in row.iter_mut().zip(values) {
                                    y.write(f(x, factor) as f32);
                                }
                            }
                            None => {
                                for (y, &x) in row.iter_mut().zip(values) {
                                    y.write(f(x, factor) as f32);
                                }
                            }
                        }
                    }
                },
            )
        },
    );
    // SAFETY: every row of the output was written whole (it has the input's
    // width), and the pieces cover the output.
    unsafe { out.assume_init() }
}

/// The bit planes of a bit-serial input `x = lo + step·k`, `k = Σ_b 2^b k_b`: each
/// plane drives the rows with 0 or 1; an offset range (`lo ≠ 0`) adds the
/// all-ones plane, worth `lo`.
pub struct BitPlanes {
    /// The input's level `k` per value, row-major.
    levels: Vec<u64>,
    /// Bit planes.
    planes: u32,
    /// The DAC's step.
    step: f64,
    /// The DAC's low end.
    lo: f64,
}

impl BitPlanes {
    /// The planes of `input` (batch × rows) through a `planes`-bit bit-serial DAC
    /// over `[lo, hi]` (clipped and rounded to its levels).
    pub fn new(input: ArrayView2<f64>, planes: i64, lo: f64, hi: f64) -> Self {
        let step = (hi - lo) / ((1u64 << planes.clamp(1, 52)) - 1) as f64;
        let input = input.as_standard_layout();
        let x = input.as_slice().expect("standard layout");
        let width = input.ncols().max(1);
        let piece = CHUNK_ROWS * width;
        // The input levels, in parallel.
        let mut levels = vec![0u64; x.len()];
        for_chunks(&mut levels, piece, |index, chunk| {
            for (k, &x) in chunk.iter_mut().zip(&x[index * piece..]) {
                *k = ((x.clamp(lo, hi) - lo) / step).round() as u64;
            }
        });
        Self {
            levels,
            planes: planes.clamp(1, 52) as u32,
            step,
            lo,
        }
    }

    /// Planes to convert: the bit planes, then (for an offset range) the all-ones one.
    pub fn count(&self) -> u32 {
        self.planes + u32::from(self.lo != 0.0)
    }

    /// What plane `b` is worth in input units.
    pub fn worth(&self, b: u32) -> f64 {
        if b == self.planes {
            self.lo
        } else {
            self.step * (1u64 << b) as f64
        }
    }

    /// Every plane (0 or 1 per value) stacked along the batch: plane `b` is rows
    /// `b·batch..(b+1)·batch` of the result, so one GEMM drives them all.
    pub fn stacked(&self, batch: usize, rows: usize) -> Array2<f32> {
        let count = self.count() as usize;
        let mut stacked = Array2::<f32>::zeros((count * batch, rows));
        let levels = &self.levels;
        let (width, planes) = (rows.max(1), self.planes);
        let plane_rows = batch.max(1);
        for_chunks(
            stacked.as_slice_mut().expect("a new array is contiguous"),
            CHUNK_ROWS * width,
            |index, chunk| {
                for (r, row) in chunk.chunks_mut(width).enumerate() {
                    let at = index * CHUNK_ROWS + r;
                    let (b, i) = ((at / plane_rows) as u32, at % plane_rows);
                    if b == planes {
                        row.fill(1.0);
                        continue;
                    }
                    let source = &levels[i * width..(i + 1) * width];
                    for (v, &k) in row.iter_mut().zip(source) {
                        *v = ((k >> b) & 1) as f32;
                    }
                }
            },
        );
        stacked
    }
}
