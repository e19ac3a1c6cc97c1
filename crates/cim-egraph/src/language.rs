//! The terms of analog mapping, and the shape of every e-class.
//!
//! | term | meaning | shape |
//! | --- | --- | --- |
//! | `W` (a name) | a weight matrix | block K x N |
//! | `(rows B s l)` | rows s..s+l of block B | block l x N |
//! | `(cols B s l)` | columns s..s+l of block B | block K x l |
//! | `(hstack A B)` | A and B side by side (one input) | block K x (Na + Nb) |
//! | `(diag A B)` | A and B on the diagonal (two inputs) | block (Ka + Kb) x (Na + Nb) |
//! | `(matmul B)` | the input times B, not mapped yet | product of N columns |
//! | `(mvm B)` | B programmed on one array, one analog MVM | product of N columns |
//! | `(accumulate P Q)` | P + Q (row tiles) | product |
//! | `(concat P Q)` | P, then Q (column tiles) | product of Np + Nq columns |
//! | `(both P Q)` | two independent products, outputs one after the other | product of Np + Nq columns |
//! | `(signed P)` | P of signed weights, its encoding not chosen yet | P's |
//! | `(encode E B P)` | P with signed weights encoded as E (0 differential pairs, 1 offset and reference column), their bits cut into slices of B bits per cell | P's |
//!
//! A product's shape also counts the inputs it reads (`rows`: the weight rows
//! behind it), which the error of an encoding grows with.

use egg::{Analysis, DidMerge, EGraph, Id, Symbol};
use std::collections::HashMap;

// define_language! takes no docs on variants: the table above documents them.
#[allow(missing_docs)]
mod terms {
    use egg::{Id, Symbol, define_language};

    define_language! {
        /// The analog mapping language.
        pub enum Analog {
            "matmul" = MatMul(Id),
            "mvm" = Mvm(Id),
            "rows" = Rows([Id; 3]),
            "cols" = Cols([Id; 3]),
            "hstack" = HStack([Id; 2]),
            "diag" = Diag([Id; 2]),
            "accumulate" = Accumulate([Id; 2]),
            "concat" = Concat([Id; 2]),
            "both" = Both([Id; 2]),
            "signed" = Signed(Id),
            "encode" = Encode([Id; 3]),
            Num(u64),
            Weight(Symbol),
        }
    }
}

pub use terms::Analog;

/// What an e-class is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// An integer (offsets and lengths).
    Num(u64),
    /// A block of weights.
    Block {
        /// Rows (inputs).
        rows: u64,
        /// Columns (outputs).
        cols: u64,
    },
    /// A product: a batch of vectors of `cols` outputs, from `rows` inputs.
    Product {
        /// Inputs read (weight rows behind the product).
        rows: u64,
        /// Output columns.
        cols: u64,
    },
    /// Not well formed (an unknown weight, a slice out of range): never extracted.
    Invalid,
}

impl Shape {
    /// The block's (rows, cols), if a block.
    pub fn block(self) -> Option<(u64, u64)> {
        match self {
            Self::Block { rows, cols } => Some((rows, cols)),
            _ => None,
        }
    }

    /// The product's columns, if a product.
    pub fn product(self) -> Option<u64> {
        self.product_shape().map(|(_, cols)| cols)
    }

    /// The product's (rows, cols), if a product.
    pub fn product_shape(self) -> Option<(u64, u64)> {
        match self {
            Self::Product { rows, cols } => Some((rows, cols)),
            _ => None,
        }
    }
}

/// The e-class analysis: the array geometry and weight shapes it reads shapes from,
/// and the encodings a `signed` product may take.
#[derive(Clone, Debug, Default)]
pub struct Shapes {
    /// Array rows x cols.
    pub array: (u64, u64),
    weights: HashMap<Symbol, (u64, u64)>,
    /// The (encoding, bits per cell) pairs to choose from.
    pub choices: Vec<(u64, u64)>,
}

impl Shapes {
    /// The analysis for arrays of `array` and the named weight shapes.
    pub fn new(array: (u64, u64), weights: impl IntoIterator<Item = (String, (u64, u64))>) -> Self {
        Self {
            array,
            weights: weights
                .into_iter()
                .map(|(name, shape)| (Symbol::from(name), shape))
                .collect(),
            choices: Vec::new(),
        }
    }

    /// Whether a block fits one array.
    pub fn fits(&self, rows: u64, cols: u64) -> bool {
        rows <= self.array.0 && cols <= self.array.1
    }
}

impl Analysis<Analog> for Shapes {
    type Data = Shape;

    fn make(egraph: &mut EGraph<Analog, Self>, enode: &Analog) -> Shape {
        let shape = |id: &Id| egraph[*id].data;
        let num = |id: &Id| match egraph[*id].data {
            Shape::Num(n) => Some(n),
            _ => None,
        };
        let made = match enode {
            Analog::Num(n) => Some(Shape::Num(*n)),
            Analog::Weight(name) => egraph
                .analysis
                .weights
                .get(name)
                .map(|&(rows, cols)| Shape::Block { rows, cols }),
            Analog::Rows([block, start, len]) => shape(block)
                .block()
                .zip(num(start).zip(num(len)))
                .and_then(|((rows, cols), (s, l))| {
                    (l > 0 && s + l <= rows).then_some(Shape::Block { rows: l, cols })
                }),
            Analog::Cols([block, start, len]) => shape(block)
                .block()
                .zip(num(start).zip(num(len)))
                .and_then(|((rows, cols), (s, l))| {
                    (l > 0 && s + l <= cols).then_some(Shape::Block { rows, cols: l })
                }),
            Analog::HStack([a, b]) => {
                shape(a)
                    .block()
                    .zip(shape(b).block())
                    .and_then(|((ra, ca), (rb, cb))| {
                        (ra == rb).then_some(Shape::Block {
                            rows: ra,
                            cols: ca + cb,
                        })
                    })
            }
            Analog::Diag([a, b]) => {
                shape(a)
                    .block()
                    .zip(shape(b).block())
                    .map(|((ra, ca), (rb, cb))| Shape::Block {
                        rows: ra + rb,
                        cols: ca + cb,
                    })
            }
            Analog::MatMul(block) | Analog::Mvm(block) => shape(block)
                .block()
                .map(|(rows, cols)| Shape::Product { rows, cols }),
            // Row tiles: the same outputs from disjoint inputs.
            Analog::Accumulate([p, q]) => shape(p)
                .product_shape()
                .zip(shape(q).product_shape())
                .and_then(|((ra, ca), (rb, cb))| {
                    (ca == cb).then_some(Shape::Product {
                        rows: ra + rb,
                        cols: ca,
                    })
                }),
            // Column tiles: one input.
            Analog::Concat([p, q]) => shape(p)
                .product_shape()
                .zip(shape(q).product_shape())
                .and_then(|((ra, ca), (rb, cb))| {
                    (ra == rb).then_some(Shape::Product {
                        rows: ra,
                        cols: ca + cb,
                    })
                }),
            Analog::Both([p, q]) => shape(p).product_shape().zip(shape(q).product_shape()).map(
                |((ra, ca), (rb, cb))| Shape::Product {
                    rows: ra + rb,
                    cols: ca + cb,
                },
            ),
            Analog::Signed(p) => shape(p)
                .product_shape()
                .map(|(rows, cols)| Shape::Product { rows, cols }),
            Analog::Encode([e, b, p]) => num(e)
                .zip(num(b))
                .and(shape(p).product_shape())
                .map(|(rows, cols)| Shape::Product { rows, cols }),
        };
        made.unwrap_or(Shape::Invalid)
    }

    fn merge(&mut self, to: &mut Shape, from: Shape) -> DidMerge {
        // Rewrites keep meaning, so merged classes have one shape; a difference is a
        // bug in a rule, not in the input.
        assert_eq!(
            *to, from,
            "merged e-classes have different shapes: a rewrite rule is unsound"
        );
        DidMerge(false, false)
    }
}
