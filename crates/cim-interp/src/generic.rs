//! `linalg.generic`: the iteration domain from the indexing maps and operand shapes,
//! the body compiled once ([`crate::body`]), then run at every point: in `f64`, or
//! on a backend's [`ScalarUnit`].
//!
//! The maps are affine, so every operand is read at `base + sum(step[d] * d)` of its
//! buffer, and the bounds of every read are checked once, before the loop. When
//! the outputs are indexed by the parallel dimensions in order and any reduction
//! is short (elementwise ops, pooling windows, im2col), the op runs by blocks of
//! output elements ([`Blocks`]), its operands read in place or gathered in runs
//! ([`crate::gather`]). Otherwise the
//! loop nest runs reductions outermost; the rest is computed in blocks of points,
//! one body instruction over the whole block at a time ([`evaluate_lanes`]); a body
//! that yields an input unchanged (im2col) is a gather; the outer dimension is cut
//! across the cores when the outputs' rows are its own. Each output element is
//! computed by the same operations in the same order as in the op's own loop nest,
//! so the bits are those of a point-by-point run, on any number of cores.

use crate::{
    Env, InterpError, RtValue, ScalarUnit,
    body::{Body, Source, compile_reading, evaluate, evaluate_lanes},
    gather::Gather,
    malformed,
};
use cim_ir::query::{as_kind, attribute, i64_array_attribute};
use melior::ir::{Attribute, AttributeLike, OperationRef, attribute::ArrayAttribute};
use ndarray::ArrayD;

/// One result of an indexing map: `sum(coefficient * d_k) + constant`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MapResult {
    pub(crate) terms: Vec<(usize, i64)>,
    pub(crate) constant: i64,
}

impl MapResult {
    /// The loop dimension, when the result is exactly one (`d3`).
    fn single_dim(&self) -> Option<usize> {
        match self.terms.as_slice() {
            [(dim, 1)] if self.constant == 0 => Some(*dim),
            _ => None,
        }
    }
}

/// Parses one term: `d3`, `d3 * 2`, `2 * d3` or `5`.
fn parse_term(term: &str) -> Option<(Option<usize>, i64)> {
    let factors: Vec<&str> = term.split('*').map(str::trim).collect();
    let mut dim = None;
    let mut coefficient = 1i64;
    for factor in factors {
        if let Some(index) = factor.strip_prefix('d') {
            if dim.replace(index.parse().ok()?).is_some() {
                return None;
            }
        } else {
            coefficient *= factor.parse::<i64>().ok()?;
        }
    }
    Some((dim, coefficient))
}

/// Parses `affine_map<(d0, d1) -> (d0 * 2 + d1, 0)>`: sums of scaled dimensions and
/// constants (what convolution and pooling windows need).
pub(crate) fn parse_map(text: &str) -> Option<(usize, Vec<MapResult>)> {
    let body = text.strip_prefix("affine_map<")?.strip_suffix('>')?;
    let (dims, results) = body.split_once("->")?;
    let count = dims
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .filter(|d| !d.trim().is_empty())
        .count();
    let results = results.trim().strip_prefix('(')?.strip_suffix(')')?;
    let parsed = results
        .split(',')
        .filter(|r| !r.trim().is_empty())
        .map(|result| {
            let mut parsed = MapResult {
                terms: Vec::new(),
                constant: 0,
            };
            for term in result.split('+') {
                match parse_term(term.trim())? {
                    (Some(dim), coefficient) => parsed.terms.push((dim, coefficient)),
                    (None, constant) => parsed.constant += constant,
                }
            }
            Some(parsed)
        })
        .collect::<Option<Vec<_>>>()?;
    Some((count, parsed))
}

/// Runs a `linalg.generic` on tensors.
pub fn run(
    op: &OperationRef,
    env: &Env,
    operands: Vec<&ArrayD<f64>>,
    mut unit: Option<Box<dyn ScalarUnit + '_>>,
) -> Result<Vec<RtValue>, InterpError> {
    let segments = i64_array_attribute(op, "operandSegmentSizes")
        .or_else(|| {
            // operandSegmentSizes is an i32 array.
            attribute(op, "operandSegmentSizes").and_then(|a| {
                let text = a.to_string();
                let list = text.strip_prefix("array<i32: ")?.strip_suffix('>')?;
                list.split(',').map(|v| v.trim().parse().ok()).collect()
            })
        })
        .ok_or_else(|| malformed(op, "no operandSegmentSizes"))?;
    let mut inputs = segments.first().copied().unwrap_or(0) as usize;
    let maps: ArrayAttribute = as_kind(
        attribute(op, "indexing_maps").ok_or_else(|| malformed(op, "no indexing_maps"))?,
        Attribute::is_array,
    )
    .ok_or_else(|| malformed(op, "indexing_maps is not an array"))?;
    let mut parsed = Vec::new();
    for index in 0..maps.len() {
        let text = maps
            .element(index)
            .map_err(|_| malformed(op, "map"))?
            .to_string();
        parsed.push(
            parse_map(&text)
                .ok_or_else(|| malformed(op, format!("unsupported indexing map {text}")))?,
        );
    }
    if parsed.len() != operands.len() {
        return Err(malformed(op, "one indexing map per operand expected"));
    }
    let dims = parsed.first().map_or(0, |(count, _)| *count);
    let mut bounds = vec![None; dims];
    for ((_, results), operand) in parsed.iter().zip(&operands) {
        if results.len() != operand.ndim() {
            return Err(malformed(
                op,
                "an indexing map's results differ from its operand's rank",
            ));
        }
        for (axis, result) in results.iter().enumerate() {
            if let Some(dim) = result.single_dim() {
                let size = operand.shape()[axis];
                match bounds[dim] {
                    None => bounds[dim] = Some(size),
                    Some(known) if known != size => {
                        return Err(malformed(op, format!("d{dim} is {known} and {size}")));
                    }
                    _ => {}
                }
            }
        }
    }
    let bounds: Vec<usize> = bounds.into_iter().map(|b| b.unwrap_or(1)).collect();
    let body = match &unit {
        // The unit stands for the body.
        Some(elementwise) => Body {
            instructions: Vec::new(),
            yields: (0..elementwise.result_count())
                .map(Source::Temporary)
                .collect(),
            integer: false,
            indices: Vec::new(),
            tensors: Vec::new(),
        },
        None => compile_reading(
            op,
            &|value| env.scalar(value),
            &|value| match env.get(value) {
                Some(RtValue::Tensor(tensor)) => Some(tensor.clone()),
                _ => None,
            },
        )?,
    };
    // `linalg.index d` reads the point's coordinate d: one more input each, a
    // vector of the coordinates read along d, placed after the real inputs.
    let coordinates: Vec<ArrayD<f64>> = body
        .indices
        .iter()
        .map(|&dim| {
            let bound = *bounds
                .get(dim)
                .ok_or_else(|| malformed(op, format!("linalg.index {dim} beyond the loops")))?;
            Ok(ndarray::Array1::from_iter((0..bound).map(|i| i as f64)).into_dyn())
        })
        .collect::<Result<_, InterpError>>()?;
    let (operands, body) = if coordinates.is_empty() {
        (operands, body)
    } else {
        let arguments = operands.len();
        let added = coordinates.len();
        let remap = |source: &mut Source| {
            if let Source::Argument(i) = source {
                *i = match *i {
                    i if i >= arguments => inputs + (i - arguments),
                    i if i >= inputs => i + added,
                    i => i,
                };
            }
        };
        let mut body = body;
        for instruction in &mut body.instructions {
            instruction.sources.iter_mut().for_each(remap);
        }
        body.yields.iter_mut().for_each(remap);
        for (j, &dim) in body.indices.iter().enumerate() {
            parsed.insert(
                inputs + j,
                (
                    dims,
                    vec![MapResult {
                        terms: vec![(dim, 1)],
                        constant: 0,
                    }],
                ),
            );
        }
        let mut all = operands[..inputs].to_vec();
        all.extend(coordinates.iter());
        all.extend_from_slice(&operands[inputs..]);
        inputs += added;
        (all, body)
    };
    let total: usize = bounds.iter().product();
    // Inputs are read in place; only the outputs are copied (they are written).
    let operands: Vec<std::borrow::Cow<ArrayD<f64>>> = operands
        .into_iter()
        .map(|operand| {
            if operand.is_standard_layout() {
                std::borrow::Cow::Borrowed(operand)
            } else {
                std::borrow::Cow::Owned(crate::kernels::standard_layout(operand.view()))
            }
        })
        .collect();
    let strides: Vec<Strides> = parsed
        .iter()
        .zip(&operands)
        .map(|((_, results), operand)| Strides::new(op, results, operand.shape(), &bounds, total))
        .collect::<Result<_, _>>()?;
    let inputs_of: Vec<&[f64]> = operands[..inputs]
        .iter()
        .map(|operand| operand.as_slice().expect("standard layout"))
        .collect();
    // The loop order: the dimensions no output is indexed by (reductions) outermost,
    // then the others, each group in its own order. Every output element then sees
    // its reduction in the same order as in the op's own loop nest, and one sweep
    // of the inner dimensions writes each output element once, so a block of its
    // points is computed at once ("independent").
    let reduction = |dim: usize| {
        parsed[inputs..].iter().all(|(_, results)| {
            results
                .iter()
                .all(|r| r.terms.iter().all(|&(d, _)| d != dim))
        })
    };
    // By blocks of output elements ([`Blocks`]): when every output is
    // indexed by the parallel dimensions in order and a reduction (a pooling
    // window) is short beside them.
    let parallel: Vec<usize> = (0..dims).filter(|&dim| !reduction(dim)).collect();
    let reduced: Vec<usize> = (0..dims).filter(|&dim| reduction(dim)).collect();
    let parallel_points: usize = parallel.iter().map(|&dim| bounds[dim]).product();
    let reduction_points: usize = reduced.iter().map(|&dim| bounds[dim]).product();
    let by_output_blocks = unit.is_none()
        && !parallel.is_empty()
        && (reduced.is_empty() || reduction_points * 64 <= parallel_points)
        && parsed[inputs..].iter().all(|(_, results)| {
            results.len() == parallel.len()
                && results
                    .iter()
                    .zip(&parallel)
                    .all(|(result, &dim)| result.single_dim() == Some(dim))
        });
    let mut outputs: Vec<ArrayD<f64>> = operands[inputs..]
        .iter()
        .enumerate()
        .map(|(output, operand)| {
            if by_output_blocks && !body.reads(inputs + output) {
                // Every element is written before it could be read.
                ArrayD::zeros(operand.raw_dim())
            } else {
                operand.as_ref().clone()
            }
        })
        .collect();
    if by_output_blocks && total > 0 {
        let domain = Blocks {
            body: &body,
            inputs: &inputs_of,
            strides: &strides[..inputs],
            bounds: &bounds,
            parallel: &parallel,
            reduced: &reduced,
        };
        domain.run(&mut outputs);
        return Ok(outputs.into_iter().map(RtValue::Tensor).collect());
    }
    let order: Vec<usize> = (0..dims)
        .filter(|&dim| reduction(dim))
        .chain((0..dims).filter(|&dim| !reduction(dim)))
        .collect();
    let independent = dims > 0
        && !reduction(order[dims - 1])
        && parsed[inputs..].iter().all(|(_, results)| {
            let mut seen = vec![false; dims];
            results.iter().all(|result| match result.single_dim() {
                Some(dim) if !seen[dim] => {
                    seen[dim] = true;
                    true
                }
                _ => false,
            }) && (0..dims).all(|dim| seen[dim] || reduction(dim))
        });
    let order = if independent {
        order
    } else {
        (0..dims).collect()
    };
    let sweep_dims = if independent {
        (0..dims).filter(|&dim| reduction(dim)).count()
    } else {
        0
    };
    let domain = Domain {
        bounds: &bounds,
        strides: &strides,
        inputs: &inputs_of,
        body: &body,
        independent,
        order: &order,
        sweep_dims,
    };
    if total == 0 {
        return Ok(outputs.into_iter().map(RtValue::Tensor).collect());
    }
    // The outer loop dimension is cut across the cores when every output holds it
    // as its first axis and nowhere else: the pieces then write disjoint rows, each
    // computed in the same order as one piece would, so the bits do not depend on
    // the cut. A backend's unit runs on this thread.
    let splittable = unit.is_none()
        && dims > 0
        && bounds[0] > 1
        && total >= PARALLEL_POINTS
        && parsed[inputs..].iter().all(|(_, results)| {
            results.first().and_then(MapResult::single_dim) == Some(0)
                && results[1..]
                    .iter()
                    .all(|r| r.terms.iter().all(|&(d, _)| d != 0))
        });
    if splittable {
        use rayon::prelude::*;
        let rows_per_piece = bounds[0]
            .div_ceil(crate::kernels::threads().max(1) * 4)
            .max(1);
        let mut pieces: Vec<Vec<ndarray::ArrayViewMutD<f64>>> = Vec::new();
        for output in outputs.iter_mut() {
            for (index, rows) in output
                .axis_chunks_iter_mut(ndarray::Axis(0), rows_per_piece)
                .enumerate()
            {
                if pieces.len() <= index {
                    pieces.push(Vec::new());
                }
                pieces[index].push(rows);
            }
        }
        pieces
            .into_par_iter()
            .enumerate()
            .try_for_each(|(index, mut rows)| {
                let mut slices: Vec<&mut [f64]> = rows
                    .iter_mut()
                    .map(|view| view.as_slice_mut().expect("rows of a standard layout"))
                    .collect();
                let first = index * rows_per_piece;
                let count = rows_per_piece.min(bounds[0] - first);
                domain.run(first..first + count, &mut slices, None)
            })?;
    } else {
        let mut slices: Vec<&mut [f64]> = outputs
            .iter_mut()
            .map(|output| output.as_slice_mut().expect("standard layout"))
            .collect();
        let outer = if dims > 0 { 0..bounds[0] } else { 0..1 };
        domain.run(
            outer,
            &mut slices,
            unit.as_deref_mut().map(|unit| (op, unit)),
        )?;
    }
    Ok(outputs.into_iter().map(RtValue::Tensor).collect())
}

/// Points of the iteration domain worth spreading over the cores.
const PARALLEL_POINTS: usize = 1 << 14;

/// Output elements of a [`Blocks`] computed at once.
const OUTPUT_BLOCK: usize = 2048;

/// A `linalg.generic` whose outputs are indexed by its parallel dimensions in
/// order, so the parallel dimensions in row-major order are each output's element
/// order. It runs in blocks of [`OUTPUT_BLOCK`] consecutive output elements,
/// spread over the cores: for each point of the reduction (in the op's loop
/// order), each input's elements over the block are read in place or gathered
/// ([`Gather`]), the body runs over the block one instruction at a time, and its
/// yields are the outputs' elements. A body that yields an input unchanged (im2col,
/// a transpose) gathers straight into the output. Every element is computed by the
/// same operations in the same order as in the op's own loop nest, so the bits are
/// the same, however the blocks fall on the cores.
struct Blocks<'a> {
    body: &'a Body,
    inputs: &'a [&'a [f64]],
    strides: &'a [Strides],
    bounds: &'a [usize],
    /// The dimensions the outputs are indexed by, in order.
    parallel: &'a [usize],
    /// The others, in order.
    reduced: &'a [usize],
}

impl Blocks<'_> {
    fn run(&self, outputs: &mut [ArrayD<f64>]) {
        let inputs = self.inputs.len();
        let parallel_bounds: Vec<usize> = self.parallel.iter().map(|&d| self.bounds[d]).collect();
        let gathers: Vec<Gather> = self
            .strides
            .iter()
            .map(|strides| {
                let steps: Vec<i64> = self.parallel.iter().map(|&d| strides.step[d]).collect();
                Gather::new(strides.base, &steps, &parallel_bounds)
            })
            .collect();
        // Each input's shift at each point of the reduction, in loop order.
        let reduction_points: usize = self.reduced.iter().map(|&d| self.bounds[d]).product();
        let shifts: Vec<Vec<i64>> = (0..reduction_points)
            .map(|point| {
                let mut rest = point;
                let mut shift = vec![0i64; inputs];
                for &dim in self.reduced.iter().rev() {
                    let at = (rest % self.bounds[dim]) as i64;
                    rest /= self.bounds[dim];
                    for (shift, strides) in shift.iter_mut().zip(self.strides) {
                        *shift += strides.step[dim] * at;
                    }
                }
                shift
            })
            .collect();
        let outputs_read: Vec<bool> = (0..outputs.len())
            .map(|output| self.body.reads(inputs + output))
            .collect();
        let copies = self
            .body
            .copied_input(inputs)
            .filter(|_| self.reduced.is_empty());
        let points: usize = parallel_bounds.iter().product();
        let mut blocks: Vec<Vec<&mut [f64]>> = Vec::with_capacity(points.div_ceil(OUTPUT_BLOCK));
        for output in outputs.iter_mut() {
            let values = output.as_slice_mut().expect("standard layout");
            for (index, block) in values.chunks_mut(OUTPUT_BLOCK).enumerate() {
                if blocks.len() <= index {
                    blocks.push(Vec::new());
                }
                blocks[index].push(block);
            }
        }
        let block = |index: usize, outputs: &mut Vec<&mut [f64]>, scratch: &mut Scratch| {
            let start = index * OUTPUT_BLOCK;
            let count = outputs[0].len();
            if let Some(slot) = copies {
                gathers[slot].copy(self.inputs[slot], 0, start, outputs[0]);
                return;
            }
            // The scratch of earlier blocks, resized: every temporary is written
            // whole before it is read, so what a block left there is never read.
            let Scratch {
                gathered,
                temporaries,
            } = scratch;
            gathered.resize_with(inputs + outputs.len(), Vec::new);
            temporaries.resize_with(self.body.instructions.len(), Vec::new);
            for temporary in temporaries.iter_mut() {
                temporary.resize(count, 0.0);
            }
            let mut in_place = vec![None; inputs];
            for shift in &shifts {
                // The inputs' values at the block's points (in place when they lie
                // one after another), then the outputs' values the body reads.
                for (slot, gather) in gathers.iter().enumerate() {
                    in_place[slot] = gather.contiguous_from(shift[slot], start);
                    if in_place[slot].is_none() {
                        gathered[slot].resize(count, 0.0);
                        gather.copy(self.inputs[slot], shift[slot], start, &mut gathered[slot]);
                    }
                }
                for ((values, output), &read) in gathered[inputs..]
                    .iter_mut()
                    .zip(outputs.iter())
                    .zip(&outputs_read)
                {
                    if read {
                        values.clear();
                        values.extend_from_slice(output);
                    }
                }
                let arguments: Vec<&[f64]> = gathered
                    .iter()
                    .enumerate()
                    .map(|(slot, values)| match in_place.get(slot) {
                        Some(&Some(from)) => &self.inputs[slot][from..from + count],
                        _ => values.as_slice(),
                    })
                    .collect();
                evaluate_lanes(
                    &self.body.instructions,
                    &self.body.tensors,
                    &arguments,
                    temporaries,
                    count,
                );
                for (output, source) in outputs.iter_mut().zip(&self.body.yields) {
                    match *source {
                        Source::Argument(slot) => output.copy_from_slice(arguments[slot]),
                        Source::Temporary(i) => output.copy_from_slice(&temporaries[i]),
                        Source::Outer(value) => output.fill(value),
                    }
                }
            }
        };
        if points * reduction_points >= PARALLEL_POINTS {
            use rayon::prelude::*;
            blocks
                .into_par_iter()
                .enumerate()
                .for_each_init(Scratch::default, |scratch, (index, mut outputs)| {
                    block(index, &mut outputs, scratch)
                });
        } else {
            let mut scratch = Scratch::default();
            for (index, mut outputs) in blocks.into_iter().enumerate() {
                block(index, &mut outputs, &mut scratch);
            }
        }
    }
}

/// What a block of points works in, kept from block to block on a thread (blocks
/// allocating and clearing their own took 4% of the unseen CNN's ten chips'
/// instructions).
#[derive(Default)]
struct Scratch {
    /// The operands' values at the block's points, where not read in place.
    gathered: Vec<Vec<f64>>,
    /// The body's instructions' values at the block's points.
    temporaries: Vec<Vec<f64>>,
}

/// Where an operand's element lies in its (standard-layout) buffer, as a linear
/// function of the loop point: `base + sum(step[d] * point[d])`. The maps are
/// affine, so the bounds of every read are known before the loop starts.
struct Strides {
    base: i64,
    step: Vec<i64>,
}

impl Strides {
    /// The strides of an operand of `shape` read through `results`; an error when
    /// some point of the domain would read outside it.
    fn new(
        op: &OperationRef,
        results: &[MapResult],
        shape: &[usize],
        bounds: &[usize],
        total: usize,
    ) -> Result<Self, InterpError> {
        let mut element_strides = vec![1i64; shape.len()];
        for axis in (0..shape.len().saturating_sub(1)).rev() {
            element_strides[axis] = element_strides[axis + 1] * shape[axis + 1] as i64;
        }
        let mut base = 0;
        let mut step = vec![0i64; bounds.len()];
        for (axis, result) in results.iter().enumerate() {
            // The result's least and greatest value over the domain's box.
            let (mut low, mut high) = (result.constant, result.constant);
            for &(dim, coefficient) in &result.terms {
                let far = coefficient * (bounds[dim] as i64 - 1);
                low += far.min(0);
                high += far.max(0);
            }
            if total > 0 {
                let size = shape[axis] as i64;
                if low < 0 || high >= size {
                    let at = if low < 0 { low } else { high };
                    return Err(malformed(
                        op,
                        format!("indexing map reads position {at} of a dimension of size {size}"),
                    ));
                }
            }
            base += result.constant * element_strides[axis];
            for &(dim, coefficient) in &result.terms {
                step[dim] += coefficient * element_strides[axis];
            }
        }
        Ok(Self { base, step })
    }
}

/// The loop nest of one `linalg.generic`: its bounds, where each operand is read,
/// its inputs and its body.
struct Domain<'a> {
    bounds: &'a [usize],
    strides: &'a [Strides],
    inputs: &'a [&'a [f64]],
    body: &'a Body,
    /// Every output element is written once per sweep of the dimensions after the
    /// first `sweep_dims` of `order`.
    independent: bool,
    /// The loop order (outermost first).
    order: &'a [usize],
    /// How many of `order`'s dimensions are reductions.
    sweep_dims: usize,
}

/// Points computed at once by [`evaluate_lanes`].
const LANES: usize = 256;

/// A block of points gathered for [`evaluate_lanes`]: each operand's offset and
/// value at each point, and the body's values there.
struct Lanes {
    offsets: Vec<Vec<usize>>,
    arguments: Vec<Vec<f64>>,
    temporaries: Vec<Vec<f64>>,
    filled: usize,
}

impl Domain<'_> {
    /// Runs the points whose outer dimension lies in `outer`, writing `outputs`:
    /// whole outputs, or (when `outer` is a piece of the outer dimension) the rows
    /// of the outputs that piece writes, which start at its first row.
    fn run(
        &self,
        outer: std::ops::Range<usize>,
        outputs: &mut [&mut [f64]],
        mut unit: Option<(&OperationRef, &mut (dyn ScalarUnit + '_))>,
    ) -> Result<(), InterpError> {
        let inputs = self.inputs.len();
        let dims = self.bounds.len();
        let whole = dims == 0 || outer == (0..self.bounds[0]);
        // The offset of each operand at the first point of the piece; an output
        // piece starts at its first row.
        let mut offsets: Vec<i64> = self
            .strides
            .iter()
            .enumerate()
            .map(|(slot, strides)| {
                let first = if dims > 0 { outer.start as i64 } else { 0 };
                if slot < inputs || whole {
                    strides.base + strides.step.first().map_or(0, |s| s * first)
                } else {
                    strides.base
                }
            })
            .collect();
        let mut piece_bounds = self.bounds.to_vec();
        if dims > 0 {
            piece_bounds[0] = outer.len();
        }
        // Bounds and steps in loop order, dimensions every operand walks as one
        // (the outer one's step is the inner one's times its bound) merged into one
        // loop, within the reductions and within the rest.
        let mut bounds: Vec<usize> = Vec::with_capacity(dims);
        let mut steps: Vec<Vec<i64>> = vec![Vec::with_capacity(dims); self.strides.len()];
        let mut sweep_dims = 0;
        for (position, &dim) in self.order.iter().enumerate() {
            let bound = piece_bounds[dim];
            let same_group = position != self.sweep_dims;
            let merges = position > 0
                && same_group
                && self.strides.iter().zip(&steps).all(|(strides, steps)| {
                    steps.last() == Some(&(strides.step[dim] * bound as i64))
                });
            if merges {
                *bounds.last_mut().expect("merged into a dimension") *= bound;
                for (steps, strides) in steps.iter_mut().zip(self.strides) {
                    *steps.last_mut().expect("merged into a dimension") = strides.step[dim];
                }
            } else {
                bounds.push(bound);
                for (steps, strides) in steps.iter_mut().zip(self.strides) {
                    steps.push(strides.step[dim]);
                }
            }
            if position + 1 == self.sweep_dims {
                sweep_dims = bounds.len();
            }
        }
        let dims = bounds.len();
        // The innermost dimension runs as a tight loop; the others count rows.
        let (inner, inner_steps): (usize, Vec<i64>) = match dims {
            0 => (1, vec![0; offsets.len()]),
            _ => (
                bounds[dims - 1],
                steps.iter().map(|s| s[dims - 1]).collect(),
            ),
        };
        let rows: usize = bounds[..dims.saturating_sub(1)].iter().product();
        let outer_dims = dims.saturating_sub(1);
        // Rows per sweep of the inner (non-reduction) dimensions.
        let sweep_rows: usize = bounds[sweep_dims.min(outer_dims)..outer_dims]
            .iter()
            .product();
        let mut point = vec![0usize; outer_dims];
        let mut arguments = vec![0.0; self.strides.len()];
        let mut results = vec![0.0; self.body.yields.len()];
        let mut temporaries = vec![0.0; self.body.instructions.len()];
        // Each operand's offset at the current point of a row.
        let mut at = vec![0i64; offsets.len()];
        // A body that yields one of its inputs unchanged (a gather: im2col, a
        // transpose written as a generic) copies.
        let copies = self.body.copied_input(inputs).filter(|_| unit.is_none());
        let mut lanes = (self.independent && unit.is_none() && copies.is_none()).then(|| Lanes {
            offsets: vec![vec![0; LANES]; self.strides.len()],
            arguments: vec![vec![0.0; LANES]; self.strides.len()],
            temporaries: vec![vec![0.0; LANES]; self.body.instructions.len()],
            filled: 0,
        });
        for row in 0..rows {
            if let Some(lanes) = &mut lanes {
                let mut k = 0;
                while k < inner {
                    let count = (inner - k).min(LANES - lanes.filled);
                    for ((offsets, &offset), &step) in
                        lanes.offsets.iter_mut().zip(&offsets).zip(&inner_steps)
                    {
                        let first = offset + step * k as i64;
                        for (j, slot) in offsets[lanes.filled..lanes.filled + count]
                            .iter_mut()
                            .enumerate()
                        {
                            *slot = (first + step * j as i64) as usize;
                        }
                    }
                    lanes.filled += count;
                    k += count;
                    if lanes.filled == LANES {
                        self.flush(lanes, outputs);
                    }
                }
                // The next sweep reads what this one wrote.
                if (row + 1) % sweep_rows.max(1) == 0 {
                    self.flush(lanes, outputs);
                }
            } else if let Some(slot) = copies {
                let (source, step) = (self.inputs[slot], inner_steps[slot]);
                let (target, target_step) = (&mut *outputs[0], inner_steps[inputs]);
                let (mut from, mut to) = (offsets[slot], offsets[inputs]);
                for _ in 0..inner {
                    target[to as usize] = source[from as usize];
                    from += step;
                    to += target_step;
                }
            } else {
                at.copy_from_slice(&offsets);
                for _ in 0..inner {
                    for (slot, argument) in arguments.iter_mut().enumerate() {
                        let at = at[slot] as usize;
                        *argument = if slot < inputs {
                            self.inputs[slot][at]
                        } else {
                            outputs[slot - inputs][at]
                        };
                    }
                    match &mut unit {
                        None => {
                            evaluate(
                                &self.body.instructions,
                                &self.body.tensors,
                                &arguments,
                                &mut temporaries,
                            );
                            for (result, source) in results.iter_mut().zip(&self.body.yields) {
                                *result = match *source {
                                    Source::Argument(i) => arguments[i],
                                    Source::Outer(value) => value,
                                    Source::Temporary(i) => temporaries[i],
                                };
                            }
                        }
                        Some((op, elementwise)) => {
                            elementwise.apply(op, &arguments, &mut results)?
                        }
                    }
                    for (output, &value) in results.iter().enumerate() {
                        outputs[output][at[inputs + output] as usize] = value;
                    }
                    for (offset, step) in at.iter_mut().zip(&inner_steps) {
                        *offset += step;
                    }
                }
            }
            // Next row, the last outer dimension fastest.
            for dim in (0..outer_dims).rev() {
                point[dim] += 1;
                for (offset, steps) in offsets.iter_mut().zip(&steps) {
                    *offset += steps[dim];
                }
                if point[dim] < bounds[dim] {
                    break;
                }
                for (offset, steps) in offsets.iter_mut().zip(&steps) {
                    *offset -= steps[dim] * bounds[dim] as i64;
                }
                point[dim] = 0;
            }
        }
        if let Some(lanes) = &mut lanes {
            self.flush(lanes, outputs);
        }
        Ok(())
    }

    /// Computes the gathered block of points and writes their results.
    fn flush(&self, lanes: &mut Lanes, outputs: &mut [&mut [f64]]) {
        let n = lanes.filled;
        if n == 0 {
            return;
        }
        let inputs = self.inputs.len();
        for (slot, (arguments, offsets)) in
            lanes.arguments.iter_mut().zip(&lanes.offsets).enumerate()
        {
            let values: &[f64] = if slot < inputs {
                self.inputs[slot]
            } else {
                &*outputs[slot - inputs]
            };
            for (argument, &offset) in arguments[..n].iter_mut().zip(&offsets[..n]) {
                *argument = values[offset];
            }
        }
        evaluate_lanes(
            &self.body.instructions,
            &self.body.tensors,
            &lanes.arguments,
            &mut lanes.temporaries,
            n,
        );
        for (output, source) in self.body.yields.iter().enumerate() {
            let target = &mut *outputs[output];
            let offsets = &lanes.offsets[inputs + output][..n];
            match *source {
                Source::Argument(i) => {
                    for (k, &offset) in offsets.iter().enumerate() {
                        target[offset] = lanes.arguments[i][k];
                    }
                }
                Source::Temporary(i) => {
                    for (k, &offset) in offsets.iter().enumerate() {
                        target[offset] = lanes.temporaries[i][k];
                    }
                }
                Source::Outer(value) => {
                    for &offset in offsets {
                        target[offset] = value;
                    }
                }
            }
        }
        lanes.filled = 0;
    }
}
