//! The cost of a mapping, in saturating arithmetic with a finite "impossible", and the
//! objective that orders costs.

use crate::language::{Analog, Shapes};
use egg::{CostFunction, EGraph, Id};
use std::cmp::Ordering;

/// What to minimise first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Objective {
    /// Arrays, then ADC conversions, then latency.
    #[default]
    Area,
    /// Latency, then arrays.
    Latency,
    /// ADC conversions (the dominant energy), then arrays.
    Energy,
    /// A weighted sum of all.
    Balanced,
}

impl std::str::FromStr for Objective {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "area" => Ok(Self::Area),
            "latency" => Ok(Self::Latency),
            "energy" => Ok(Self::Energy),
            "balanced" => Ok(Self::Balanced),
            other => Err(format!(
                "unknown objective '{other}': area, latency, energy or balanced"
            )),
        }
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
            objective: self.objective,
        }
    }

    fn key(&self) -> [u64; 4] {
        match self.objective {
            Objective::Area => [self.arrays, self.adc, self.latency, self.digital],
            Objective::Latency => [self.latency, self.arrays, self.adc, self.digital],
            Objective::Energy => [self.adc, self.arrays, self.latency, self.digital],
            Objective::Balanced => {
                let total = self
                    .arrays
                    .saturating_mul(64)
                    .saturating_add(self.adc)
                    .saturating_add(self.latency.saturating_mul(16))
                    .saturating_add(self.digital);
                [total, self.arrays, self.adc, self.latency]
            }
        }
    }
}

impl PartialOrd for MappingCost {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.key().cmp(&other.key()))
    }
}

/// The cost model read from the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CostModel {
    /// The objective.
    pub objective: Objective,
}

impl CostModel {
    /// The cost function over an e-graph (it reads block shapes).
    pub fn function<'a>(&self, egraph: &'a EGraph<Analog, Shapes>) -> MapCost<'a> {
        MapCost {
            egraph,
            objective: self.objective,
        }
    }
}

/// [`CostFunction`] of the mapping language.
pub struct MapCost<'a> {
    egraph: &'a EGraph<Analog, Shapes>,
    objective: Objective,
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
