//! The rewrites, as a table of named rules. Each keeps the meaning of a term (the
//! product it computes) and is guarded by shapes, so no rule ever builds an
//! ill-formed term.

use crate::language::{Analog, Shape, Shapes};
use egg::{Applier, EGraph, Id, PatternAst, Rewrite, Subst, Symbol, Var, rewrite};

type Graph = EGraph<Analog, Shapes>;

fn block(egraph: &Graph, subst: &Subst, var: &Var) -> Option<(u64, u64)> {
    egraph[subst[*var]].data.block()
}

fn num(egraph: &mut Graph, n: u64) -> Id {
    egraph.add(Analog::Num(n))
}

/// Which way a split cuts a block.
#[derive(Clone, Copy)]
enum Axis {
    /// Row tiles (partial products, accumulated).
    Rows,
    /// Column tiles (concatenated).
    Cols,
}

/// `(matmul B)` with B larger than an array along `axis`: a tile of the array's
/// size, and the rest, accumulated (rows) or concatenated (columns).
struct Split {
    block: Var,
    axis: Axis,
}

impl Applier<Analog, Shapes> for Split {
    fn apply_one(
        &self,
        egraph: &mut Graph,
        eclass: Id,
        subst: &Subst,
        _: Option<&PatternAst<Analog>>,
        _: Symbol,
    ) -> Vec<Id> {
        let Some((rows, cols)) = block(egraph, subst, &self.block) else {
            return vec![];
        };
        let (length, tile) = match self.axis {
            Axis::Rows => (rows, egraph.analysis.array.0),
            Axis::Cols => (cols, egraph.analysis.array.1),
        };
        if tile == 0 || length <= tile {
            return vec![];
        }
        let b = subst[self.block];
        let (zero, tile_id, rest) = (
            num(egraph, 0),
            num(egraph, tile),
            num(egraph, length - tile),
        );
        let slice = |parts| match self.axis {
            Axis::Rows => Analog::Rows(parts),
            Axis::Cols => Analog::Cols(parts),
        };
        let first = egraph.add(slice([b, zero, tile_id]));
        let second = egraph.add(slice([b, tile_id, rest]));
        let (p, q) = (
            egraph.add(Analog::MatMul(first)),
            egraph.add(Analog::MatMul(second)),
        );
        let joined = egraph.add(match self.axis {
            Axis::Rows => Analog::Accumulate([p, q]),
            Axis::Cols => Analog::Concat([p, q]),
        });
        if egraph.union(eclass, joined) {
            vec![eclass]
        } else {
            vec![]
        }
    }
}

fn fits(block: &'static str) -> impl Fn(&mut Graph, Id, &Subst) -> bool {
    let var: Var = block.parse().expect("a pattern variable");
    move |egraph, _, subst| {
        egraph[subst[var]]
            .data
            .block()
            .is_some_and(|(rows, cols)| egraph.analysis.fits(rows, cols))
    }
}

/// Two blocks of one height fit side by side on one array.
fn side_by_side_fits(egraph: &mut Graph, _: Id, subst: &Subst) -> bool {
    let (a, b) = ("?a".parse().expect("var"), "?b".parse().expect("var"));
    match (egraph[subst[a]].data, egraph[subst[b]].data) {
        (Shape::Block { rows: ra, cols: ca }, Shape::Block { rows: rb, cols: cb }) => {
            ra == rb && egraph.analysis.fits(ra, ca + cb)
        }
        _ => false,
    }
}

/// Two blocks fit on the diagonal of one array.
fn diagonal_fits(egraph: &mut Graph, _: Id, subst: &Subst) -> bool {
    let (a, b) = ("?a".parse().expect("var"), "?b".parse().expect("var"));
    match (egraph[subst[a]].data.block(), egraph[subst[b]].data.block()) {
        (Some((ra, ca)), Some((rb, cb))) => egraph.analysis.fits(ra + rb, ca + cb),
        _ => false,
    }
}

/// `(signed P)`: every encoding and cell width the analysis allows, as
/// `(encode E B P)`.
struct Encode {
    product: Var,
}

impl Applier<Analog, Shapes> for Encode {
    fn apply_one(
        &self,
        egraph: &mut Graph,
        eclass: Id,
        subst: &Subst,
        _: Option<&PatternAst<Analog>>,
        _: Symbol,
    ) -> Vec<Id> {
        let mut changed = Vec::new();
        for (encoding, bits) in egraph.analysis.choices.clone() {
            let (e, b) = (num(egraph, encoding), num(egraph, bits));
            let encoded = egraph.add(Analog::Encode([e, b, subst[self.product]]));
            if egraph.union(eclass, encoded) {
                changed.push(eclass);
            }
        }
        changed
    }
}

/// Every rule, by name.
pub fn rules() -> Vec<Rewrite<Analog, Shapes>> {
    vec![
        rewrite!("choose-encoding"; "(signed ?p)" => { Encode { product: "?p".parse().expect("var") } }),
        rewrite!("pack-diagonal-encoded"; "(both (encode ?e ?c (mvm ?a)) (encode ?e ?c (mvm ?b)))" => "(encode ?e ?c (mvm (diag ?a ?b)))" if diagonal_fits),
        rewrite!("both-assoc-encoded"; "(both (encode ?e ?c ?p) (both (encode ?e ?c ?q) ?r))" => "(both (encode ?e ?c (both ?p ?q)) ?r)"),
        rewrite!("split-rows"; "(matmul ?b)" => { Split { block: "?b".parse().expect("var"), axis: Axis::Rows } }),
        rewrite!("split-cols"; "(matmul ?b)" => { Split { block: "?b".parse().expect("var"), axis: Axis::Cols } }),
        rewrite!("place"; "(matmul ?b)" => "(mvm ?b)" if fits("?b")),
        rewrite!("pack-side-by-side"; "(concat (mvm ?a) (mvm ?b))" => "(mvm (hstack ?a ?b))" if side_by_side_fits),
        rewrite!("pack-diagonal"; "(both (mvm ?a) (mvm ?b))" => "(mvm (diag ?a ?b))" if diagonal_fits),
        rewrite!("concat-assoc"; "(concat ?p (concat ?q ?r))" => "(concat (concat ?p ?q) ?r)"),
        rewrite!("both-assoc"; "(both ?p (both ?q ?r))" => "(both (both ?p ?q) ?r)"),
        rewrite!("both-assoc-back"; "(both (both ?p ?q) ?r)" => "(both ?p (both ?q ?r))"),
    ]
}
