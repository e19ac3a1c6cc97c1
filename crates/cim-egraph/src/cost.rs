//! The cost of a mapping, in saturating arithmetic with a finite "impossible", and the
//! objective that orders costs.

use crate::language::{Analog, Shapes};
use egg::{CostFunction, EGraph, Id};
use std::cmp::Ordering;

cim_choices::choice! {
    /// What to minimise first.
    pub enum Objective {
        /// Arrays, then the encodings' error, then ADC conversions, then latency.
        Area = "area",
        /// Latency (no packing), then arrays.
        Latency = "latency",
        /// ADC conversions (the dominant energy), then arrays.
        Energy = "energy",
        /// A weighted sum of all: 64·arrays + ADC conversions + 16·latency + digital
        /// operations + the error in parts per million.
        Balanced = "balanced",
        /// The error the encodings let through, then arrays, then ADC conversions.
        Accuracy = "accuracy",
    }
    default Area
}

cim_choices::choice! {
    /// How signed weights are held in cells.
    pub enum Encoding {
        /// Two arrays, `max(w, 0)` and `max(−w, 0)`, subtracted.
        Differential = "differential",
        /// One array of `w + c` and a reference column of `c`, subtracted.
        Offset = "offset",
        /// One array of device pairs, `max(w, 0)` and `max(−w, 0)` per cell, whose
        /// currents subtract in analog before one conversion.
        Pair = "pair",
    }
    default Differential
}

impl Encoding {
    /// Every encoding, by code.
    pub const ALL: [Encoding; 3] = [Encoding::Differential, Encoding::Offset, Encoding::Pair];

    /// Its number in `(encode E B P)`.
    pub fn code(self) -> u64 {
        match self {
            Self::Differential => 0,
            Self::Offset => 1,
            Self::Pair => 2,
        }
    }

    /// The encoding of a code.
    pub fn from_code(code: u64) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.code() == code)
    }

    /// The variance of one weight (in units of the largest weight, squared) per
    /// unit variance of a cell's read-out (relative to the cell's range): a pair of
    /// cells each spanning the whole range, 1 + 1; a shifted cell spanning twice the
    /// range, 4, and its reference cell, 4.
    pub fn variance_factor(self) -> f64 {
        match self {
            Self::Differential | Self::Pair => 2.0,
            Self::Offset => 8.0,
        }
    }
}

/// The encodings a `signed` product may take, and the device figures that price
/// their error.
#[derive(Clone, Debug, PartialEq)]
pub struct Encodings {
    /// Bits of each weight magnitude.
    pub weight_bits: u64,
    /// The encodings allowed.
    pub encodings: Vec<Encoding>,
    /// The bits per cell allowed, each with the read-out error of such a cell:
    /// its standard deviation relative to the cell's range (from the device model).
    pub cells: Vec<(u64, f64)>,
}

impl Encodings {
    /// Slices of `cell_bits` that hold a weight.
    pub fn slices(&self, cell_bits: u64) -> u64 {
        self.weight_bits.div_ceil(cell_bits.max(1))
    }

    /// The variance of one weight, relative to the largest weight squared, in parts
    /// per billion: slice i is worth `2^(i·b)` levels of `2^b − 1`, each cell reads
    /// with error σ_b of its range, the encoding multiplies ([`Encoding::variance_factor`]).
    pub fn error_ppb(&self, encoding: Encoding, cell_bits: u64) -> u64 {
        let Some(&(_, sigma)) = self.cells.iter().find(|(b, _)| *b == cell_bits) else {
            return MappingCost::IMPOSSIBLE;
        };
        let b = cell_bits as i32;
        let levels = 2f64.powi(b) - 1.0;
        let full = 2f64.powi(self.weight_bits as i32) - 1.0;
        let spread: f64 = (0..self.slices(cell_bits))
            .map(|i| 4f64.powi(b * i as i32))
            .sum();
        let variance =
            encoding.variance_factor() * sigma * sigma * levels * levels * spread / (full * full);
        // Saturates (and NaN becomes 0: σ is checked finite where it is read).
        (variance * 1e9).round() as u64
    }
}

/// The cost of a term. Every figure saturates at [`MappingCost::IMPOSSIBLE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappingCost {
    /// Arrays programmed.
    pub arrays: u64,
    /// ADC conversions per input vector.
    pub adc: u64,
    /// Steps on the critical path (an MVM, a digital add).
    pub latency: u64,
    /// Digital operations (accumulations) per input vector.
    pub digital: u64,
    /// The error of the weights' encodings: per layer, the variance of one weight
    /// relative to the largest squared, in parts per billion, times the weights an
    /// output sums (its rows); summed over the layers.
    pub error: u64,
    objective: Objective,
}

impl MappingCost {
    /// A figure that no mapping reaches: an unmapped product costs this.
    pub const IMPOSSIBLE: u64 = u64::MAX;

    fn zero(objective: Objective) -> Self {
        Self {
            arrays: 0,
            adc: 0,
            latency: 0,
            digital: 0,
            error: 0,
            objective,
        }
    }

    fn impossible(objective: Objective) -> Self {
        let i = Self::IMPOSSIBLE;
        Self {
            arrays: i,
            adc: i,
            latency: i,
            digital: i,
            error: i,
            objective,
        }
    }

    /// Whether the term can run.
    pub fn is_possible(&self) -> bool {
        self.arrays != Self::IMPOSSIBLE
    }

    /// Two parts computed at once (side by side): figures add, latency is the longer.
    fn parallel(self, other: Self) -> Self {
        Self {
            arrays: self.arrays.saturating_add(other.arrays),
            adc: self.adc.saturating_add(other.adc),
            latency: self.latency.max(other.latency),
            digital: self.digital.saturating_add(other.digital),
            error: self.error.saturating_add(other.error),
            objective: self.objective,
        }
    }

    fn key(&self) -> [u64; 5] {
        match self.objective {
            // Of two mappings of one area, the more accurate.
            Objective::Area => [
                self.arrays,
                self.error,
                self.adc,
                self.latency,
                self.digital,
            ],
            Objective::Latency => [
                self.latency,
                self.arrays,
                self.adc,
                self.digital,
                self.error,
            ],
            Objective::Energy => [
                self.adc,
                self.arrays,
                self.latency,
                self.digital,
                self.error,
            ],
            Objective::Balanced => {
                let total = self
                    .arrays
                    .saturating_mul(64)
                    .saturating_add(self.adc)
                    .saturating_add(self.latency.saturating_mul(16))
                    .saturating_add(self.digital)
                    .saturating_add(self.error / 1000);
                [total, self.arrays, self.adc, self.latency, self.error]
            }
            Objective::Accuracy => [
                self.error,
                self.arrays,
                self.adc,
                self.latency,
                self.digital,
            ],
        }
    }
}

impl PartialOrd for MappingCost {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.key().cmp(&other.key()))
    }
}

/// The cost model read from the target.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CostModel {
    /// The objective.
    pub objective: Objective,
    /// The encodings `signed` products choose from, when they are chosen here.
    pub encodings: Option<Encodings>,
}

impl CostModel {
    /// The cost function over an e-graph (it reads block shapes).
    pub fn function<'a>(&'a self, egraph: &'a EGraph<Analog, Shapes>) -> MapCost<'a> {
        MapCost {
            egraph,
            objective: self.objective,
            encodings: self.encodings.as_ref(),
        }
    }
}

/// [`CostFunction`] of the mapping language.
pub struct MapCost<'a> {
    egraph: &'a EGraph<Analog, Shapes>,
    objective: Objective,
    encodings: Option<&'a Encodings>,
}

impl CostFunction<Analog> for MapCost<'_> {
    type Cost = MappingCost;

    fn cost<C>(&mut self, enode: &Analog, mut costs: C) -> MappingCost
    where
        C: FnMut(Id) -> MappingCost,
    {
        let zero = MappingCost::zero(self.objective);
        match enode {
            // Data: weights, slices, offsets.
            Analog::Num(_)
            | Analog::Weight(_)
            | Analog::Rows(_)
            | Analog::Cols(_)
            | Analog::HStack(_)
            | Analog::Diag(_) => zero,
            // Not mapped: cannot run.
            Analog::MatMul(_) => MappingCost::impossible(self.objective),
            Analog::Mvm(block) => match self.egraph[*block].data.block() {
                Some((_, cols)) => MappingCost {
                    arrays: 1,
                    adc: cols,
                    latency: 1,
                    ..zero
                },
                None => MappingCost::impossible(self.objective),
            },
            Analog::Accumulate([p, q]) => {
                let (p, q) = (costs(*p), costs(*q));
                let sum = p.parallel(q);
                let columns = self.egraph[*enode_first(enode)].data.product().unwrap_or(0);
                MappingCost {
                    latency: sum.latency.saturating_add(1),
                    digital: sum.digital.saturating_add(columns),
                    ..sum
                }
            }
            Analog::Concat([p, q]) | Analog::Both([p, q]) => costs(*p).parallel(costs(*q)),
            // An encoding must be chosen.
            Analog::Signed(_) => MappingCost::impossible(self.objective),
            Analog::Encode([e, b, p]) => {
                let num = |id: &Id| match self.egraph[*id].data {
                    crate::language::Shape::Num(n) => Some(n),
                    _ => None,
                };
                let (Some(encodings), Some(encoding), Some(bits)) =
                    (self.encodings, num(e).and_then(Encoding::from_code), num(b))
                else {
                    return MappingCost::impossible(self.objective);
                };
                let inner = costs(*p);
                if !inner.is_possible() {
                    return inner;
                }
                let slices = encodings.slices(bits);
                // Every slice is two arrays (a pair, or a shifted array and its
                // reference), or one array of device pairs.
                let copies = match encoding {
                    Encoding::Pair => slices,
                    _ => slices.saturating_mul(2),
                };
                let (rows, columns) = self.egraph[*p].data.product_shape().unwrap_or((0, 0));
                let adc = match encoding {
                    Encoding::Differential | Encoding::Pair => inner.adc.saturating_mul(copies),
                    // One reference column per MVM.
                    Encoding::Offset => inner
                        .adc
                        .saturating_add(inner.arrays)
                        .saturating_mul(slices),
                };
                // The digital subtraction (none for a pair), and the shift-and-add
                // of slices.
                let steps = u64::from(encoding != Encoding::Pair) + u64::from(slices > 1);
                MappingCost {
                    arrays: inner.arrays.saturating_mul(copies),
                    adc,
                    latency: inner.latency.saturating_add(steps),
                    digital: inner
                        .digital
                        .saturating_mul(copies)
                        .saturating_add(columns.saturating_mul(steps)),
                    // Each output sums `rows` weights' errors.
                    error: inner
                        .error
                        .saturating_add(encodings.error_ppb(encoding, bits).saturating_mul(rows)),
                    objective: self.objective,
                }
            }
        }
    }
}

/// The first child of a node (its product shape is the node's for `accumulate`).
fn enode_first(enode: &Analog) -> &Id {
    match enode {
        Analog::Accumulate([p, _]) => p,
        _ => unreachable!("only called for accumulate"),
    }
}
