#![warn(missing_docs)]
//! Mapping analog matrix products onto crossbar arrays by equality saturation.
//!
//! A weight-stationary product `x . W` is a term `(matmul W)`. Rewrites that keep its
//! meaning cut the weight into row tiles (partial products, `accumulate`) and column
//! tiles (`concat`), place a block that fits on one array (`mvm`), and pack blocks
//! that share an array: side by side when they read the same input (`hstack`), or
//! on the diagonal when they are independent layers (`diag`). The e-graph holds all
//! these mappings at once; extraction picks the cheapest under a [`CostModel`] read
//! from the target (arrays, ADC conversions, latency). Optionally a layer's signed
//! weights start unencoded (`signed`), and the e-graph also holds each encoding
//! (differential or offset) and cell width (`encode`), priced with an error term
//! from the device's read-out error ([`cost::Encodings`]).
//!
//! This crate knows no MLIR: the `cim-map` pass lifts `cim.matmul` ops into it and
//! writes the chosen term back as mapped ops.
//!
//! * [`language`]: the terms, and the shape of every e-class (merges assert shapes agree);
//! * [`rules`]: the rewrites, as a table of named rules;
//! * [`cost`]: the cost model, in saturating arithmetic with a finite "impossible";
//! * [`Mapper`]: saturation under named limits, and extraction.

pub mod cost;
pub mod language;
pub mod rules;

use cost::{CostModel, Encodings, MappingCost, Objective};
use egg::{EGraph, Extractor, RecExpr, Runner, StopReason};
use language::{Analog, Shapes};
use std::time::Duration;

/// Named limits of one saturation. The node and iteration limits make it stop at
/// the same e-graph on every machine; a wall-time limit (none by default) trades
/// that for a bound on time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// E-nodes in the e-graph.
    pub nodes: usize,
    /// Rewrite iterations.
    pub iterations: usize,
    /// Wall time, if bounded (then the result may depend on the machine).
    pub time: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            nodes: 20_000,
            iterations: 30,
            time: None,
        }
    }
}

/// One weight-stationary layer: a name and its weight shape (K rows x N columns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// Name of the weight.
    pub name: String,
    /// Input features (weight rows).
    pub rows: u64,
    /// Output features (weight columns).
    pub cols: u64,
}

/// The chosen mapping.
#[derive(Clone, Debug)]
pub struct Mapping {
    /// The extracted term.
    pub term: RecExpr<Analog>,
    /// Its cost.
    pub cost: MappingCost,
    /// E-nodes when saturation stopped.
    pub nodes: usize,
    /// Why saturation stopped.
    pub stop: String,
    /// The saturated e-graph (for dumps: `egraph.dot()`).
    pub egraph: EGraph<Analog, Shapes>,
}

/// Maps layers onto arrays of one geometry.
#[derive(Clone, Debug)]
pub struct Mapper {
    /// Array rows x cols.
    pub array: (u64, u64),
    /// Saturation limits.
    pub limits: Limits,
    /// The cost model.
    pub model: CostModel,
}

impl Mapper {
    /// A mapper for `rows x cols` arrays, default limits, `objective`.
    pub fn new(rows: u64, cols: u64, objective: Objective) -> Self {
        Self {
            array: (rows, cols),
            limits: Limits::default(),
            model: CostModel {
                objective,
                encodings: None,
            },
        }
    }

    /// The same mapper choosing each layer's signed-weight encoding and bits per
    /// cell among `encodings`.
    pub fn with_encodings(mut self, encodings: Encodings) -> Self {
        self.model.encodings = Some(encodings);
        self
    }

    /// The term every layer starts as: `(matmul W)` (`(signed (matmul W))` when
    /// encodings are chosen here), independent layers joined by `both`.
    pub fn start(&self, layers: &[Layer]) -> RecExpr<Analog> {
        let mut expr = RecExpr::default();
        let mut root = None;
        for layer in layers {
            let weight = expr.add(Analog::Weight(layer.name.as_str().into()));
            let mut product = expr.add(Analog::MatMul(weight));
            if self.model.encodings.is_some() {
                product = expr.add(Analog::Signed(product));
            }
            root = Some(match root {
                None => product,
                Some(previous) => expr.add(Analog::Both([previous, product])),
            });
        }
        expr
    }

    /// Saturates and extracts the cheapest mapping of `layers`.
    pub fn map(&self, layers: &[Layer]) -> Mapping {
        self.map_term(&self.start(layers), layers)
    }

    /// Saturates from the term `start` over the weights of `layers`, and extracts.
    pub fn map_term(&self, start: &RecExpr<Analog>, layers: &[Layer]) -> Mapping {
        let mut shapes = Shapes::new(
            self.array,
            layers.iter().map(|l| (l.name.clone(), (l.rows, l.cols))),
        );
        if let Some(encodings) = &self.model.encodings {
            shapes.choices = encodings
                .encodings
                .iter()
                .flat_map(|e| encodings.cells.iter().map(|&(bits, _)| (e.code(), bits)))
                .collect();
        }
        let runner: Runner<Analog, Shapes> = Runner::new(shapes)
            .with_node_limit(self.limits.nodes)
            .with_iter_limit(self.limits.iterations)
            .with_time_limit(self.limits.time.unwrap_or(Duration::MAX))
            .with_expr(start)
            .run(&rules::rules());
        let stop = match &runner.stop_reason {
            Some(StopReason::Saturated) => "saturated".to_owned(),
            Some(StopReason::NodeLimit(n)) => format!("node limit ({n})"),
            Some(StopReason::IterationLimit(n)) => format!("iteration limit ({n})"),
            Some(StopReason::TimeLimit(t)) => format!("time limit ({t:.3} s)"),
            Some(StopReason::Other(other)) => other.clone(),
            None => "not run".to_owned(),
        };
        let (cost, term) = Extractor::new(&runner.egraph, self.model.function(&runner.egraph))
            .find_best(runner.roots[0]);
        Mapping {
            term,
            cost,
            nodes: runner.egraph.total_number_of_nodes(),
            stop,
            egraph: runner.egraph,
        }
    }
}
