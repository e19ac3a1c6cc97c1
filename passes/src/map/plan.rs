//! The plan of a mapping: the chosen term read back ([`Planner`]) as the arrays'
//! contents ([`Piece`]s) and each layer's [`Step`]s, in a form the packing
//! ([`super::pack`]) and the emitter ([`super::emit`]) work on.

use super::emit::step_cols;
use cim_egraph::{Layer, cost::Encoding, language::Analog};
use egg::{Id, RecExpr};
use std::collections::HashMap;

/// A part of a weight programmed into an array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Piece {
    pub(super) layer: usize,
    /// First weight row and column.
    pub(super) from: (u64, u64),
    pub(super) rows: u64,
    pub(super) cols: u64,
    /// Top-left cell in the array.
    pub(super) at: (u64, u64),
}

/// How one layer computes its product.
#[derive(Clone, Debug)]
pub(super) enum Step {
    /// Input columns `inputs.0..inputs.0+inputs.1` through `array` at `window`,
    /// `cols` outputs.
    Mvm {
        array: usize,
        window: (u64, u64),
        inputs: (u64, u64),
        cols: u64,
    },
    Accumulate(Vec<Step>),
    Concat(Vec<Step>, u64),
}

impl Step {
    /// Calls `f` on every MVM's array and window.
    pub(super) fn each_mvm(&mut self, f: &mut impl FnMut(&mut usize, &mut (u64, u64))) {
        match self {
            Step::Mvm { array, window, .. } => f(array, window),
            Step::Accumulate(parts) | Step::Concat(parts, _) => {
                parts.iter_mut().for_each(|part| part.each_mvm(f));
            }
        }
    }

    /// The arrays its MVMs read, with repeats.
    pub(super) fn arrays(&self) -> Vec<usize> {
        match self {
            Step::Mvm { array, .. } => vec![*array],
            Step::Accumulate(parts) | Step::Concat(parts, _) => {
                parts.iter().flat_map(Step::arrays).collect()
            }
        }
    }
}

/// A layer's signed-weight encoding and bits per cell, when the mapper chose them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Choice {
    pub(super) encoding: Encoding,
    pub(super) cell_bits: u64,
}

/// The mapping written out: the arrays' contents and every layer's steps, once per
/// copy of the layer (each copy computes a share of the batch rows), and each
/// layer's encoding when chosen here (an array's is its layers').
pub(super) struct Plan {
    pub(super) arrays: Vec<Vec<Piece>>,
    pub(super) layers: Vec<Vec<Step>>,
    pub(super) choices: Vec<Option<Choice>>,
}

impl Plan {
    /// The encoding of the layers `array` holds.
    pub(super) fn choice(&self, array: usize) -> Option<Choice> {
        self.arrays[array]
            .first()
            .and_then(|piece| self.choices[piece.layer])
    }

    /// The rows x cols a program's blocks span in `array`.
    pub(super) fn extent(&self, array: usize) -> (u64, u64) {
        self.arrays[array]
            .iter()
            .fold((0, 0), |(rows, cols), piece| {
                (
                    rows.max(piece.at.0 + piece.rows),
                    cols.max(piece.at.1 + piece.cols),
                )
            })
    }
}

/// Reads an extracted term into a [`Plan`].
pub(super) struct Planner<'t> {
    pub(super) term: &'t RecExpr<Analog>,
    pub(super) layer_of: HashMap<String, usize>,
    pub(super) shapes: Vec<(u64, u64)>,
    pub(super) arrays: Vec<Vec<Piece>>,
    /// The encoding and bits per cell of the `encode` being read.
    pub(super) choice: Option<Choice>,
    pub(super) choices: Vec<Option<Choice>>,
}

impl<'t> Planner<'t> {
    pub(super) fn new(term: &'t RecExpr<Analog>, layers: &[Layer]) -> Self {
        Self {
            term,
            layer_of: layers
                .iter()
                .enumerate()
                .map(|(i, layer)| (layer.name.clone(), i))
                .collect(),
            shapes: layers
                .iter()
                .map(|layer| (layer.rows, layer.cols))
                .collect(),
            arrays: Vec::new(),
            choice: None,
            choices: vec![None; layers.len()],
        }
    }

    pub(super) fn plan(mut self) -> Result<Plan, String> {
        let root = Id::from(self.term.as_ref().len() - 1);
        let layers = self.products(root)?;
        Ok(Plan {
            arrays: self.arrays,
            layers: layers.into_iter().map(|step| vec![step]).collect(),
            choices: self.choices,
        })
    }

    pub(super) fn num(&self, id: Id) -> Result<u64, String> {
        match &self.term[id] {
            Analog::Num(n) => Ok(*n),
            other => Err(format!("expected a number, found '{other}'")),
        }
    }

    /// A weight, or a slice of one, as a piece at (0, 0).
    pub(super) fn slice(&self, id: Id) -> Result<Piece, String> {
        match &self.term[id] {
            Analog::Weight(name) => {
                let layer = *self
                    .layer_of
                    .get(name.as_str())
                    .ok_or_else(|| format!("unknown weight '{name}'"))?;
                let (rows, cols) = self.shapes[layer];
                Ok(Piece {
                    layer,
                    from: (0, 0),
                    rows,
                    cols,
                    at: (0, 0),
                })
            }
            Analog::Rows([block, start, len]) => {
                let inner = self.slice(*block)?;
                Ok(Piece {
                    from: (inner.from.0 + self.num(*start)?, inner.from.1),
                    rows: self.num(*len)?,
                    ..inner
                })
            }
            Analog::Cols([block, start, len]) => {
                let inner = self.slice(*block)?;
                Ok(Piece {
                    from: (inner.from.0, inner.from.1 + self.num(*start)?),
                    cols: self.num(*len)?,
                    ..inner
                })
            }
            other => Err(format!("expected a weight slice, found '{other}'")),
        }
    }

    /// Lays `block` out from `at` into `pieces`; returns its (rows, cols).
    pub(super) fn layout(
        &self,
        id: Id,
        at: (u64, u64),
        pieces: &mut Vec<Piece>,
    ) -> Result<(u64, u64), String> {
        match &self.term[id] {
            Analog::HStack([a, b]) => {
                let (ra, ca) = self.layout(*a, at, pieces)?;
                let (rb, cb) = self.layout(*b, (at.0, at.1 + ca), pieces)?;
                Ok((ra.max(rb), ca + cb))
            }
            Analog::Diag([a, b]) => {
                let (ra, ca) = self.layout(*a, at, pieces)?;
                let (rb, cb) = self.layout(*b, (at.0 + ra, at.1 + ca), pieces)?;
                Ok((ra + rb, ca + cb))
            }
            _ => {
                let piece = Piece {
                    at,
                    ..self.slice(id)?
                };
                let size = (piece.rows, piece.cols);
                pieces.push(piece);
                Ok(size)
            }
        }
    }

    /// The steps of the layers a product term computes, in order.
    pub(super) fn products(&mut self, id: Id) -> Result<Vec<Step>, String> {
        match self.term[id].clone() {
            Analog::Both([p, q]) => {
                let mut steps = self.products(p)?;
                steps.extend(self.products(q)?);
                Ok(steps)
            }
            Analog::Accumulate([p, q]) => Ok(vec![Step::Accumulate(vec![
                self.single(p)?,
                self.single(q)?,
            ])]),
            Analog::Concat([p, q]) => {
                let (p, q) = (self.single(p)?, self.single(q)?);
                let cols = step_cols(&p) + step_cols(&q);
                Ok(vec![Step::Concat(vec![p, q], cols)])
            }
            Analog::Encode([encoding, bits, product]) => {
                let encoding =
                    Encoding::from_code(self.num(encoding)?).ok_or("an unknown encoding")?;
                let outer = self.choice.replace(Choice {
                    encoding,
                    cell_bits: self.num(bits)?,
                });
                let steps = self.products(product);
                self.choice = outer;
                steps
            }
            Analog::Signed(_) => Err("a layer's encoding is left unchosen".into()),
            Analog::Mvm(block) => {
                let mut pieces = Vec::new();
                self.layout(block, (0, 0), &mut pieces)?;
                for piece in &pieces {
                    self.choices[piece.layer] = self.choice;
                }
                let array = self.arrays.len();
                self.arrays.push(pieces);
                self.reads(block, array, (0, 0)).map(|(steps, _)| steps)
            }
            Analog::MatMul(_) => Err("a product is left unmapped".into()),
            other => Err(format!("expected a product, found '{other}'")),
        }
    }

    /// A product of exactly one layer.
    pub(super) fn single(&mut self, id: Id) -> Result<Step, String> {
        let mut steps = self.products(id)?;
        match steps.len() {
            1 => Ok(steps.remove(0)),
            n => Err(format!("a partial product spans {n} layers")),
        }
    }

    /// The MVMs that read `block` (at `at` of `array`), one per layer, and the
    /// block's (rows, cols).
    pub(super) fn reads(
        &self,
        id: Id,
        array: usize,
        at: (u64, u64),
    ) -> Result<(Vec<Step>, (u64, u64)), String> {
        if let Analog::Diag([a, b]) = &self.term[id] {
            let (mut first, (ra, ca)) = self.reads(*a, array, at)?;
            let (second, (rb, cb)) = self.reads(*b, array, (at.0 + ra, at.1 + ca))?;
            first.extend(second);
            return Ok((first, (ra + rb, ca + cb)));
        }
        // One layer's block: its pieces share the input rows.
        let mut pieces = Vec::new();
        let (rows, cols) = self.layout(id, at, &mut pieces)?;
        let first = &pieces[0];
        if pieces
            .iter()
            .any(|p| p.layer != first.layer || p.from.0 != first.from.0 || p.rows != rows)
        {
            return Err("a packed block reads more than one input".into());
        }
        let step = Step::Mvm {
            array,
            window: at,
            inputs: (first.from.0, rows),
            cols,
        };
        Ok((vec![step], (rows, cols)))
    }
}
