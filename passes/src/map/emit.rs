//! Writing a plan out: each layer's steps as `cim.mvm`, `cim.accumulate` and
//! `cim.concat` ops before the matmul they replace.

use super::plan::Step;
use crate::tile::WeightStationary;
use cim_ir::attributes::Window;
use melior::ir::Value;
use std::collections::HashMap;

pub(super) fn step_cols(step: &Step) -> u64 {
    match step {
        Step::Mvm { cols, .. } | Step::Concat(_, cols) => *cols,
        Step::Accumulate(parts) => step_cols(&parts[0]),
    }
}

/// Writes one matmul's steps as ops before it, on `input` (`batch` rows: the
/// matmul's input, or one copy's share of its rows).
pub(super) struct Emitter<'m, 'c, 'a> {
    pub(super) matmul: &'m WeightStationary<'c, 'a>,
    pub(super) names: &'m [String],
    pub(super) input: Value<'c, 'a>,
    pub(super) batch: Option<u64>,
    /// The row count for slicing, made on first use.
    pub(super) rows: Option<Result<u64, Value<'c, 'a>>>,
    /// Input column ranges already sliced.
    pub(super) slices: HashMap<(u64, u64), Value<'c, 'a>>,
}

impl<'m, 'c, 'a> Emitter<'m, 'c, 'a> {
    pub(super) fn new(
        matmul: &'m WeightStationary<'c, 'a>,
        names: &'m [String],
        input: Value<'c, 'a>,
        batch: Option<u64>,
    ) -> Self {
        Self {
            matmul,
            names,
            input,
            batch,
            rows: None,
            slices: HashMap::new(),
        }
    }

    pub(super) fn emit(&mut self, step: &Step) -> Value<'c, 'a> {
        match step {
            Step::Mvm {
                array,
                window,
                inputs,
                cols,
            } => {
                let input = if *inputs == (0, self.matmul.k) {
                    self.input
                } else if let Some(&slice) = self.slices.get(inputs) {
                    slice
                } else {
                    let rows = *self
                        .rows
                        .get_or_insert_with(|| self.matmul.rows_of(self.input, self.batch));
                    let slice = self.matmul.columns_of(
                        self.input,
                        self.batch,
                        Some(rows),
                        inputs.0,
                        inputs.1,
                    );
                    self.slices.insert(*inputs, slice);
                    slice
                };
                let window = Window {
                    row: window.0 as i64,
                    col: window.1 as i64,
                };
                self.matmul
                    .mvm_of(input, self.batch, &self.names[*array], window, *cols)
            }
            Step::Accumulate(parts) => {
                let values: Vec<Value> = parts.iter().map(|p| self.emit(p)).collect();
                self.matmul.accumulate(&values)
            }
            Step::Concat(parts, cols) => {
                let values: Vec<Value> = parts.iter().map(|p| self.emit(p)).collect();
                self.matmul.concat_of(&values, self.batch, *cols, 1)
            }
        }
    }
}
