//! The ADCs that read an MVM's column sums out: every conversion in one place.
//! An ideal ADC rounds to its levels; on a programmed chip each conversion also
//! draws its noise (its own stream, by the conversion's place in the run) and goes
//! through its column's gain, offset and transfer curve (`cim_device::adc`).

use crate::levels::{Symmetric, Uniform};
use cim_device::{
    adc::{AdcModel, ColumnError},
    rng::{DeviceRng, LARGEST_NORMAL, Normals},
};
use cim_interp::kernels::{CHUNK_ROWS, abs_max, wide_vectors};
use ndarray::{Array2, ArrayView2};
use std::{cell::Cell, collections::HashMap};

/// An ADC setting: resolution and range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adc {
    /// Resolution.
    pub bits: i64,
    /// Lowest output.
    pub lo: f64,
    /// Highest output.
    pub hi: f64,
}

/// The ADCs of a programmed chip: their non-idealities, each column's gain and
/// offset, and the stream every conversion draws its noise from.
pub struct ChipAdcs {
    /// The model.
    pub model: AdcModel,
    /// Each array's columns' gain and offset (when the model spreads them).
    pub columns: HashMap<String, Vec<ColumnError>>,
    /// The root of the conversions' streams.
    pub stream: DeviceRng,
    /// Conversions so far in this chip's life: each draws from its own stream.
    pub conversions: Cell<u64>,
    /// Vectors converted so far (a conversion converts a batch of them): the work
    /// the arrays did, bound management's repeats and bit planes included.
    pub vectors: Cell<u64>,
}

/// Converts `sums` (an MVM's column sums on columns `c0..` of `array`, batch ×
/// columns) through `adc`: quantization, and on a chip (`chip`) the ADC's noise
/// and column errors. One pass over the output.
pub fn convert(
    sums: ArrayView2<f32>,
    chip: Option<&ChipAdcs>,
    array: &str,
    c0: usize,
    adc: Adc,
) -> Array2<f64> {
    let mut output = Array2::<f64>::uninit(sums.raw_dim());
    through_uniform(
        sums,
        chip,
        (array, c0),
        adc,
        output.as_slice_mut().expect("a new array is contiguous"),
        |slot, level| {
            slot.write(level);
        },
    );
    // SAFETY: `through` wrote every element (one output row per row of the sums).
    unsafe { output.assume_init() }
}

/// [`convert`], adding `worth` times each conversion to `total` (batch × columns,
/// standard layout) instead of returning them: a bit plane's conversions summed as
/// they are made, bit for bit what converting and then adding gives.
pub fn convert_accumulating(
    sums: ArrayView2<f32>,
    chip: Option<&ChipAdcs>,
    (array, c0): (&str, usize),
    adc: Adc,
    (total, worth): (&mut Array2<f64>, f64),
) {
    assert_eq!(total.dim(), sums.dim(), "one sum per total");
    through_uniform(
        sums,
        chip,
        (array, c0),
        adc,
        total.as_slice_mut().expect("totals in standard layout"),
        move |slot, level| *slot += worth * level,
    );
}

/// `sums` through an ADC's uniform levels (it never reports saturation: only a
/// managed ADC's bound management asks); `store` as in [`through`].
fn through_uniform<Slot: Send>(
    sums: ArrayView2<f32>,
    chip: Option<&ChipAdcs>,
    place: (&str, usize),
    Adc { bits, lo, hi }: Adc,
    output: &mut [Slot],
    store: impl Fn(&mut Slot, f64) + Sync,
) {
    let levels = Uniform::new(bits, lo, hi);
    through(
        sums,
        chip,
        place,
        (lo, hi),
        None,
        None,
        move |y| (levels.quantize(y), false),
        output,
        store,
    );
}

/// Converts `sums` (an MVM's column sums on columns `c0..` of `array`) through a
/// managed ADC of `bits` over [−bound, bound]: on a chip, the ADC's noise and
/// column errors, then the symmetric levels (ties to even), clipped; each row
/// multiplied back by its input's `row_scale`. Returns the conversions and, per
/// row, whether any of its values saturated (reached the top or bottom level:
/// aihwkit's test for bound management). One pass over the output. With
/// `redone_if_saturated` (a pass of bound management before its last), a row the
/// caller will convert again if it saturated draws no noise when no draw could
/// keep it from saturating (what it converts to is then never read).
pub fn convert_managed(
    sums: ArrayView2<f32>,
    chip: Option<&ChipAdcs>,
    (array, c0): (&str, usize),
    (bits, bound): (i64, f64),
    row_scale: &[f64],
    redone_if_saturated: bool,
) -> (Array2<f64>, Vec<bool>) {
    let levels = Symmetric::new(bits, bound);
    let saturates_at = redone_if_saturated.then(|| levels.saturates_at());
    let mut output = Array2::<f64>::uninit(sums.raw_dim());
    let saturated = through(
        sums,
        chip,
        (array, c0),
        (-bound, bound),
        Some(row_scale),
        saturates_at,
        move |y| levels.quantize(y),
        output.as_slice_mut().expect("a new array is contiguous"),
        |slot, value| {
            slot.write(value);
        },
    );
    // SAFETY: `through` wrote every element (one output row per row of the sums).
    (unsafe { output.assume_init() }, saturated)
}

/// `sums` through an ADC over [lo, hi] whose levels `levels` rounds to (and says
/// whether it saturated): on a chip, each conversion draws its noise (its own
/// stream, by the conversion's place in the chip's life) and goes through its
/// column's gain, offset and curve first; each row is multiplied by its
/// `row_scale`; `store` puts each result in its slot of `output` (batch × columns,
/// every slot visited once). Returns, per row, whether any of its values
/// saturated. Each row draws from its own stream (the conversion's key and the
/// row's index), so pieces of rows run in parallel and a row may skip its draws:
/// with `saturates_at` (a magnitude at which `levels` surely saturates), a row of
/// noise alone with a value beyond it by more than any draw can move it saturates
/// whatever is drawn, and draws nothing.
#[allow(clippy::too_many_arguments)]
fn through<Slot: Send>(
    sums: ArrayView2<f32>,
    chip: Option<&ChipAdcs>,
    (array, c0): (&str, usize),
    (lo, hi): (f64, f64),
    row_scale: Option<&[f64]>,
    saturates_at: Option<f64>,
    levels: impl Fn(f64) -> (f64, bool) + Sync,
    output: &mut [Slot],
    store: impl Fn(&mut Slot, f64) + Sync,
) -> Vec<bool> {
    use rayon::prelude::*;
    let sums = sums.as_standard_layout();
    let x = sums.as_slice().expect("standard layout");
    let (batch, width) = (sums.nrows(), sums.ncols().max(1));
    let piece = CHUNK_ROWS * width;
    assert_eq!(output.len(), x.len(), "one output slot per sum");
    let mut saturated = vec![false; batch];
    // What a chip adds: this block's columns' gains and offsets, and a stream.
    let analog = chip.filter(|chip| !chip.model.is_ideal()).map(|chip| {
        let errors: Vec<ColumnError> = (0..width)
            .map(|j| {
                chip.columns
                    .get(array)
                    .and_then(|columns| columns.get(c0 + j))
                    .copied()
                    .unwrap_or(ColumnError {
                        gain: 1.0,
                        offset: 0.0,
                    })
            })
            .collect();
        let count = &chip.conversions;
        let key = chip.stream.fork(count.get()).next_u64();
        count.set(count.get() + 1);
        (&chip.model, errors, key)
    });
    if let Some(chip) = chip {
        chip.vectors.set(chip.vectors.get() + batch as u64);
    }
    let conversion = Conversion {
        x,
        width,
        piece,
        analog: analog.as_ref(),
        row_scale,
        range: (lo, hi),
        saturates_at,
        levels,
        store,
    };
    let convert_piece = |index: usize, chunk: &mut [Slot], flags: &mut [bool]| {
        wide_vectors(
            #[inline(always)]
            || conversion.piece(index, chunk, flags),
        )
    };
    if output.len() <= piece {
        convert_piece(0, output, &mut saturated);
    } else {
        output
            .par_chunks_mut(piece)
            .zip(saturated.par_chunks_mut(CHUNK_ROWS))
            .enumerate()
            .for_each(|(index, (chunk, flags))| convert_piece(index, chunk, flags));
    }
    saturated
}

/// What [`through`] converts, for its pieces.
struct Conversion<'a, L, S> {
    /// The sums, batch × columns.
    x: &'a [f32],
    width: usize,
    /// Sums per piece.
    piece: usize,
    /// On a chip: its ADC model, the block's columns' errors, the conversion's key.
    analog: Option<&'a (&'a AdcModel, Vec<ColumnError>, u64)>,
    row_scale: Option<&'a [f64]>,
    range: (f64, f64),
    /// Where the levels surely saturate, when a saturated row's draws do not matter.
    saturates_at: Option<f64>,
    levels: L,
    store: S,
}

impl<L: Fn(f64) -> (f64, bool), S> Conversion<'_, L, S> {
    /// Converts piece `index` into `chunk`, marking the rows that saturated in
    /// `flags`. Inlined into [`wide_vectors`]' AVX2 copy, loops and all.
    #[inline(always)]
    fn piece<Slot>(&self, index: usize, chunk: &mut [Slot], flags: &mut [bool])
    where
        S: Fn(&mut Slot, f64),
    {
        let (width, (lo, hi)) = (self.width, self.range);
        let x = &self.x[index * self.piece..];
        // What reaches the converter, a row at a time, and the row's noise draws.
        let mut reached = vec![0.0f64; width];
        let mut draws = vec![0.0f64; width];
        for (r, ((row, x), flag)) in chunk
            .chunks_mut(width)
            .zip(x.chunks(width))
            .zip(flags.iter_mut())
            .enumerate()
        {
            let at = index * CHUNK_ROWS + r;
            let scale = self.row_scale.map_or(1.0, |scales| scales[at]);
            // First what reaches the converter (a loop over the noise stream alone),
            // then the levels (a loop without a carried dependence, which the
            // compiler can vectorise).
            match self.analog {
                Some((model, errors, key)) => {
                    // This row's noise: a stream of its own.
                    let draw = |draws: &mut [f64]| {
                        Normals::keyed(Normals::part_key(*key, at as u64)).fill(draws)
                    };
                    // Noise alone (the common case) needs no per-column work.
                    if !model.has_column_errors() && model.s_curve == 0.0 {
                        let sigma = model.noise * (hi - lo);
                        // A row that saturates whatever is drawn, when that is all
                        // that matters of it.
                        let certain = self
                            .saturates_at
                            .is_some_and(|top| abs_max(x) >= top + LARGEST_NORMAL * sigma);
                        if model.noise > 0.0 && !certain {
                            draw(&mut draws);
                            for ((y, &x), draw) in reached.iter_mut().zip(x).zip(&draws) {
                                *y = f64::from(x) + sigma * draw;
                            }
                        } else {
                            for (y, &x) in reached.iter_mut().zip(x) {
                                *y = f64::from(x);
                            }
                        }
                    } else {
                        if model.noise > 0.0 {
                            draw(&mut draws);
                        }
                        for (((y, &x), error), draw) in
                            reached.iter_mut().zip(x).zip(errors).zip(&draws)
                        {
                            *y = model.analog(f64::from(x), lo, hi, *error, *draw);
                        }
                    }
                }
                None => {
                    for (y, &x) in reached.iter_mut().zip(x) {
                        *y = f64::from(x);
                    }
                }
            }
            let mut top = 0u8;
            for (y, &v) in row.iter_mut().zip(&reached) {
                let (level, at_top) = (self.levels)(v);
                top |= u8::from(at_top);
                (self.store)(y, level * scale);
            }
            *flag |= top != 0;
        }
    }
}
