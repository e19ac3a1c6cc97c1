//! Start => goal tests of the mapper, and the law it must keep: the extracted term
//! computes the same products as the layers it maps.

use cim_egraph::{
    Layer, Limits, Mapper,
    cost::{Encoding, Encodings, Objective},
    language::Analog,
};
use egg::{Id, RecExpr};
use std::collections::HashMap;

fn layer(name: &str, rows: u64, cols: u64) -> Layer {
    Layer {
        name: name.into(),
        rows,
        cols,
    }
}

/// A block evaluated: its matrix (row-major, rows x cols) and the input it reads.
#[derive(Clone)]
struct Block {
    rows: usize,
    cols: usize,
    values: Vec<f64>,
    input: Vec<f64>,
}

/// Evaluates a term on concrete weights and inputs (an independent reading of the
/// term semantics in `language`).
struct Eval<'t> {
    term: &'t RecExpr<Analog>,
    weights: &'t HashMap<String, Block>,
}

impl Eval<'_> {
    fn num(&self, id: Id) -> usize {
        match &self.term[id] {
            Analog::Num(n) => *n as usize,
            other => panic!("expected a number, got {other:?}"),
        }
    }

    fn block(&self, id: Id) -> Block {
        match &self.term[id] {
            Analog::Weight(name) => self.weights[name.as_str()].clone(),
            Analog::Rows([b, s, l]) => {
                let (b, s, l) = (self.block(*b), self.num(*s), self.num(*l));
                Block {
                    rows: l,
                    cols: b.cols,
                    values: b.values[s * b.cols..(s + l) * b.cols].to_vec(),
                    input: b.input[s..s + l].to_vec(),
                }
            }
            Analog::Cols([b, s, l]) => {
                let (b, s, l) = (self.block(*b), self.num(*s), self.num(*l));
                let values = (0..b.rows)
                    .flat_map(|r| b.values[r * b.cols + s..r * b.cols + s + l].to_vec())
                    .collect();
                Block {
                    rows: b.rows,
                    cols: l,
                    values,
                    input: b.input,
                }
            }
            Analog::HStack([a, b]) => {
                let (a, b) = (self.block(*a), self.block(*b));
                assert_eq!(a.input, b.input, "side by side blocks read one input");
                let values = (0..a.rows)
                    .flat_map(|r| {
                        a.values[r * a.cols..(r + 1) * a.cols]
                            .iter()
                            .chain(&b.values[r * b.cols..(r + 1) * b.cols])
                            .copied()
                            .collect::<Vec<_>>()
                    })
                    .collect();
                Block {
                    rows: a.rows,
                    cols: a.cols + b.cols,
                    values,
                    input: a.input,
                }
            }
            Analog::Diag([a, b]) => {
                let (a, b) = (self.block(*a), self.block(*b));
                let cols = a.cols + b.cols;
                let mut values = vec![0.0; (a.rows + b.rows) * cols];
                for r in 0..a.rows {
                    values[r * cols..r * cols + a.cols]
                        .copy_from_slice(&a.values[r * a.cols..(r + 1) * a.cols]);
                }
                for r in 0..b.rows {
                    let row = a.rows + r;
                    values[row * cols + a.cols..(row + 1) * cols]
                        .copy_from_slice(&b.values[r * b.cols..(r + 1) * b.cols]);
                }
                Block {
                    rows: a.rows + b.rows,
                    cols,
                    values,
                    input: [a.input, b.input].concat(),
                }
            }
            other => panic!("expected a block, got {other:?}"),
        }
    }

    fn product(&self, id: Id) -> Vec<f64> {
        match &self.term[id] {
            Analog::MatMul(b) | Analog::Mvm(b) => {
                let b = self.block(*b);
                (0..b.cols)
                    .map(|c| {
                        (0..b.rows)
                            .map(|r| b.input[r] * b.values[r * b.cols + c])
                            .sum()
                    })
                    .collect()
            }
            Analog::Accumulate([p, q]) => self
                .product(*p)
                .iter()
                .zip(self.product(*q))
                .map(|(a, b)| a + b)
                .collect(),
            Analog::Concat([p, q]) | Analog::Both([p, q]) => {
                [self.product(*p), self.product(*q)].concat()
            }
            // An encoding changes how weights are held, not what they compute.
            Analog::Encode([_, _, p]) => self.product(*p),
            other => panic!("expected a product, got {other:?}"),
        }
    }
}

/// Maps `layers` and checks the extracted term against direct products.
fn check(mapper: &Mapper, layers: &[Layer]) -> cim_egraph::Mapping {
    let mut weights = HashMap::new();
    let mut expected = Vec::new();
    for (index, layer) in layers.iter().enumerate() {
        let (rows, cols) = (layer.rows as usize, layer.cols as usize);
        // Small integers: every sum is exact.
        let values: Vec<f64> = (0..rows * cols)
            .map(|i| ((i * 7 + index * 3) % 11) as f64 - 5.0)
            .collect();
        let input: Vec<f64> = (0..rows)
            .map(|i| ((i * 5 + index) % 9) as f64 - 4.0)
            .collect();
        expected.extend((0..cols).map(|c| {
            (0..rows)
                .map(|r| input[r] * values[r * cols + c])
                .sum::<f64>()
        }));
        weights.insert(
            layer.name.clone(),
            Block {
                rows,
                cols,
                values,
                input,
            },
        );
    }
    let mapping = mapper.map(layers);
    assert!(
        mapping.cost.is_possible(),
        "no mapping found: {}",
        mapping.term
    );
    let root: Id = (mapping.term.as_ref().len() - 1).into();
    let got = Eval {
        term: &mapping.term,
        weights: &weights,
    }
    .product(root);
    assert_eq!(
        got, expected,
        "the mapped term computes something else: {}",
        mapping.term
    );
    mapping
}

#[test]
fn a_tall_weight_is_cut_into_row_tiles_and_accumulated() {
    let mapper = Mapper::new(256, 256, Objective::Area);
    let mapping = check(&mapper, &[layer("w", 300, 100)]);
    assert_eq!(mapping.cost.arrays, 2);
    let text = mapping.term.to_string();
    assert!(
        text.starts_with("(accumulate (mvm (rows w 0 256)) (mvm (rows w 256 44)))"),
        "{text}"
    );
}

#[test]
fn a_wide_weight_is_cut_into_column_tiles_and_concatenated() {
    let mapper = Mapper::new(256, 256, Objective::Area);
    let mapping = check(&mapper, &[layer("w", 100, 600)]);
    assert_eq!(mapping.cost.arrays, 3);
    assert_eq!(mapping.cost.adc, 600);
    assert!(mapping.term.to_string().contains("concat"));
}

#[test]
fn small_layers_share_one_array_on_the_diagonal() {
    let mapper = Mapper::new(256, 256, Objective::Area);
    let mapping = check(
        &mapper,
        &[
            layer("a", 100, 50),
            layer("b", 120, 60),
            layer("c", 30, 100),
        ],
    );
    assert_eq!(mapping.cost.arrays, 1, "{}", mapping.term);
    assert!(mapping.term.to_string().contains("diag"));
}

#[test]
fn narrow_layers_of_one_height_share_an_array() {
    let mapper = Mapper::new(256, 200, Objective::Area);
    let mapping = check(&mapper, &[layer("w", 100, 300)]);
    assert_eq!(mapping.cost.arrays, 2);
    let mapping = check(&mapper, &[layer("a", 100, 90), layer("b", 100, 90)]);
    assert_eq!(mapping.cost.arrays, 1);
}

#[test]
fn products_of_one_input_pack_side_by_side() {
    // Two column pieces of one weight, as a start: they read the same input, so they
    // go side by side on one array instead of two.
    let start: RecExpr<Analog> = "(concat (matmul (cols w 0 50)) (matmul (cols w 50 50)))"
        .parse()
        .unwrap();
    let mapping = Mapper::new(256, 256, Objective::Area).map_term(&start, &[layer("w", 100, 100)]);
    assert_eq!(mapping.cost.arrays, 1);
    assert_eq!(
        mapping.term.to_string(),
        "(mvm (hstack (cols w 0 50) (cols w 50 50)))"
    );
}

#[test]
fn mappings_are_deterministic_and_bounded() {
    let layers = [
        layer("a", 700, 300),
        layer("b", 90, 40),
        layer("c", 50, 200),
    ];
    let mapper = Mapper::new(256, 256, Objective::Area);
    let (first, second) = (check(&mapper, &layers), check(&mapper, &layers));
    assert_eq!(first.term.to_string(), second.term.to_string());
    assert!(
        first.nodes <= mapper.limits.nodes + 1000,
        "{} nodes",
        first.nodes
    );
    let tiny = Mapper {
        limits: Limits {
            nodes: 10,
            ..Limits::default()
        },
        ..mapper
    };
    let mapping = tiny.map(&layers);
    assert!(mapping.stop.starts_with("node limit"), "{}", mapping.stop);
}

#[test]
fn objectives_order_costs() {
    let layers = [layer("a", 300, 300)];
    for objective in [
        Objective::Area,
        Objective::Latency,
        Objective::Energy,
        Objective::Balanced,
    ] {
        let mapping = check(&Mapper::new(256, 256, objective), &layers);
        assert_eq!(mapping.cost.arrays, 4, "{objective:?}");
    }
    assert_eq!("latency".parse::<Objective>(), Ok(Objective::Latency));
    assert!("speed".parse::<Objective>().is_err());
}

#[test]
fn what_cannot_be_mapped_costs_impossible() {
    // Arrays of no cells: no block fits, whatever the splits.
    let mapper = Mapper {
        limits: Limits {
            iterations: 5,
            ..Limits::default()
        },
        ..Mapper::new(0, 0, Objective::Area)
    };
    let mapping = mapper.map(&[layer("w", 3, 3)]);
    assert!(!mapping.cost.is_possible(), "{}", mapping.term);
    // A weight the analysis does not know has no shape: it stays unmapped too.
    let start: RecExpr<Analog> = "(matmul ghost)".parse().unwrap();
    let mapping = Mapper::new(4, 4, Objective::Area).map_term(&start, &[layer("real", 2, 2)]);
    assert!(!mapping.cost.is_possible());
}

/// 8-bit weights on cells of 1, 2 or 4 bits that read with 3% error.
fn noisy_cells() -> Encodings {
    Encodings {
        weight_bits: 8,
        encodings: vec![Encoding::Differential, Encoding::Offset],
        cells: vec![(1, 0.03), (2, 0.03), (4, 0.03)],
    }
}

#[test]
fn encodings_and_cell_widths_are_chosen_by_objective() {
    let layers = [layer("a", 100, 40), layer("b", 40, 10)];
    let map = |objective| {
        check(
            &Mapper::new(256, 256, objective).with_encodings(noisy_cells()),
            &layers,
        )
    };
    // Accuracy: differential pairs of 1-bit cells, the least error: 8 slices x 2
    // arrays of the one shared block.
    let accurate = map(Objective::Accuracy);
    assert!(
        accurate
            .term
            .to_string()
            .starts_with("(encode 0 1 (mvm (diag a b)))"),
        "{}",
        accurate.term
    );
    assert_eq!(accurate.cost.arrays, 16);
    // The error: per weight (from the formula), times the 140 rows the outputs sum.
    assert_eq!(
        accurate.cost.error,
        noisy_cells().error_ppb(Encoding::Differential, 1) * 140
    );
    // Area: the widest cells (2 slices x 2 arrays), and of the two encodings of that
    // area the more accurate.
    let small = map(Objective::Area);
    assert!(
        small
            .term
            .to_string()
            .starts_with("(encode 0 4 (mvm (diag a b)))"),
        "{}",
        small.term
    );
    assert_eq!(small.cost.arrays, 4);
    assert!(small.cost.error > accurate.cost.error);
    // Energy: the fewest conversions, an offset (one reference column per MVM
    // instead of a second array's 50).
    let frugal = map(Objective::Energy);
    assert!(
        frugal.term.to_string().starts_with("(encode 1 4"),
        "{}",
        frugal.term
    );
    assert_eq!(frugal.cost.adc, (50 + 1) * 2);
    assert_eq!(small.cost.adc, 50 * 4);
}

#[test]
fn the_error_of_an_encoding_follows_its_formula() {
    let cells = Encodings {
        weight_bits: 2,
        encodings: vec![Encoding::Differential, Encoding::Offset],
        cells: vec![(1, 0.1), (2, 0.1)],
    };
    // One 2-bit cell per weight: σ² of the full range, twice for a pair.
    assert_eq!(cells.error_ppb(Encoding::Differential, 2), 20_000_000);
    // Two 1-bit slices worth 1 and 2 of 3 levels: σ²·(1 + 4)/9, twice.
    assert_eq!(cells.error_ppb(Encoding::Differential, 1), 11_111_111);
    // An offset cell spans twice the range, and so does its reference: 4 + 4.
    assert_eq!(cells.error_ppb(Encoding::Offset, 2), 80_000_000);
    // A width not offered cannot be chosen.
    assert_eq!(cells.error_ppb(Encoding::Offset, 3), u64::MAX);
    assert_eq!(cells.slices(1), 2);
}

#[test]
fn without_a_choice_a_signed_product_cannot_be_mapped() {
    let none = Encodings {
        cells: Vec::new(),
        ..noisy_cells()
    };
    let mapping = Mapper::new(256, 256, Objective::Area)
        .with_encodings(none)
        .map(&[layer("w", 10, 10)]);
    assert!(!mapping.cost.is_possible(), "{}", mapping.term);
}
