//! The DACs that drive an MVM's word lines: the input rounded to the DAC's levels
//! (one conversion shared by every MVM that reads the same value through the same
//! DAC: the arrays of a pair, the slices of a weight), and, for a bit-serial DAC
//! whose planes are converted one by one, the input's bit planes.

use crate::levels::quantize;
use cim_interp::kernels::{CHUNK_ROWS, for_chunks};
use ndarray::ArrayD;
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

/// What the DACs of one run drove: MVMs reading one value through one DAC share
/// its conversion.
#[derive(Default)]
pub struct Driven {
    inputs: RefCell<HashMap<DrivenKey, Rc<ArrayD<f64>>>>,
}

impl Driven {
    /// Forgets the last run's values.
    pub fn clear(&self) {
        self.inputs.borrow_mut().clear();
    }

    /// `input` (the value `value_id`) through `dac`.
    pub fn drive(&self, value_id: usize, input: &ArrayD<f64>, dac: Dac) -> Rc<ArrayD<f64>> {
        let key = (value_id, dac.bits, dac.lo.to_bits(), dac.hi.to_bits());
        if let Some(driven) = self.inputs.borrow().get(&key) {
            return driven.clone();
        }
        let mut driven = input.as_standard_layout().into_owned();
        let width = driven.shape().last().copied().unwrap_or(1).max(1);
        if let Some(values) = driven.as_slice_mut() {
            for_chunks(values, CHUNK_ROWS * width, |_, chunk| {
                for x in chunk {
                    *x = quantize(*x, dac.bits, dac.lo, dac.hi);
                }
            });
        }
        let driven = Rc::new(driven);
        self.inputs.borrow_mut().insert(key, driven.clone());
        driven
    }
}

/// The bit planes of a bit-serial input `x = lo + step·k`, `k = Σ_b 2^b k_b`: each
/// plane drives the rows with 0 or 1; an offset range (`lo ≠ 0`) adds the
/// all-ones plane, worth `lo`.
pub struct BitPlanes {
    /// The input's level `k` per value, row-major.
    levels: Vec<f64>,
    /// Bit planes.
    planes: u32,
    /// The DAC's step.
    step: f64,
    /// The DAC's low end.
    lo: f64,
    /// Values per chunk of work.
    piece: usize,
}

impl BitPlanes {
    /// The planes of `driven` (already on the DAC's levels), a `planes`-bit
    /// bit-serial DAC over `[lo, hi]`.
    pub fn new(driven: &ArrayD<f64>, planes: i64, lo: f64, hi: f64) -> Self {
        let step = (hi - lo) / ((1u64 << planes.clamp(1, 52)) - 1) as f64;
        let driven = driven.as_standard_layout();
        let x = driven.as_slice().expect("standard layout");
        let width = driven.shape().last().copied().unwrap_or(1).max(1);
        let piece = CHUNK_ROWS * width;
        // The input levels, in parallel.
        let mut levels = vec![0.0; x.len()];
        for_chunks(&mut levels, piece, |index, chunk| {
            for (k, &x) in chunk.iter_mut().zip(&x[index * piece..]) {
                *k = ((x - lo) / step).round();
            }
        });
        Self {
            levels,
            planes: planes.clamp(1, 52) as u32,
            step,
            lo,
            piece,
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

    /// Writes plane `b` (0 or 1 per value) into `plane`, which has the input's shape.
    pub fn write(&self, b: u32, plane: &mut ArrayD<f64>) {
        let ones = b == self.planes;
        let levels = &self.levels;
        let piece = self.piece;
        let values = plane.as_slice_mut().expect("standard layout");
        for_chunks(values, piece, |index, chunk| {
            for (v, &k) in chunk.iter_mut().zip(&levels[index * piece..]) {
                *v = if ones {
                    1.0
                } else {
                    ((k as u64 >> b) & 1) as f64
                };
            }
        });
    }
}

/// `acc += worth · sums`, in parallel (the same sums as `scaled_add`); `acc` takes
/// `sums`' shape when it has another size.
pub fn accumulate(acc: &mut ArrayD<f64>, worth: f64, sums: &ArrayD<f64>) {
    if acc.len() != sums.len() {
        *acc = ArrayD::zeros(sums.raw_dim());
    }
    let piece = CHUNK_ROWS * sums.shape().last().copied().unwrap_or(1).max(1);
    let (Some(acc), Some(sums)) = (acc.as_slice_mut(), sums.as_slice()) else {
        return;
    };
    for_chunks(acc, piece, |index, chunk| {
        for (a, s) in chunk.iter_mut().zip(&sums[index * piece..]) {
            *a += worth * s;
        }
    });
}
