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

/// `(matmul B)` with B taller than an array: a tile of the array's rows, and the rest,
/// accumulated.
struct SplitRows {
    block: Var,
}

impl Applier<Analog, Shapes> for SplitRows {
    fn apply_one(
        &self,
        egraph: &mut Graph,
        eclass: Id,
        subst: &Subst,
        _: Option<&PatternAst<Analog>>,
        _: Symbol,
    ) -> Vec<Id> {
        let Some((rows, _)) = block(egraph, subst, &self.block) else {
            return vec![];
        };
        let tile = egraph.analysis.array.0;
        if tile == 0 || rows <= tile {
            return vec![];
        }
        let b = subst[self.block];
        let (zero, tile_id, start, rest) = (
            num(egraph, 0),
            num(egraph, tile),
            num(egraph, tile),
            num(egraph, rows - tile),
        );
        let top = egraph.add(Analog::Rows([b, zero, tile_id]));
        let bottom = egraph.add(Analog::Rows([b, start, rest]));
        let (p, q) = (
            egraph.add(Analog::MatMul(top)),
            egraph.add(Analog::MatMul(bottom)),
        );
        let sum = egraph.add(Analog::Accumulate([p, q]));
        if egraph.union(eclass, sum) {
            vec![eclass]
        } else {
            vec![]
        }
    }
}

/// `(matmul B)` with B wider than an array: a tile of the array's columns, and the
/// rest, concatenated.
struct SplitCols {
    block: Var,
}

impl Applier<Analog, Shapes> for SplitCols {
    fn apply_one(
        &self,
        egraph: &mut Graph,
        eclass: Id,
        subst: &Subst,
        _: Option<&PatternAst<Analog>>,
        _: Symbol,
    ) -> Vec<Id> {
        let Some((_, cols)) = block(egraph, subst, &self.block) else {
            return vec![];
        };
        let tile = egraph.analysis.array.1;
        if tile == 0 || cols <= tile {
            return vec![];
        }
        let b = subst[self.block];
        let (zero, tile_id, start, rest) = (
            num(egraph, 0),
            num(egraph, tile),
            num(egraph, tile),
            num(egraph, cols - tile),
        );
        let left = egraph.add(Analog::Cols([b, zero, tile_id]));
        let right = egraph.add(Analog::Cols([b, start, rest]));
        let (p, q) = (
            egraph.add(Analog::MatMul(left)),
            egraph.add(Analog::MatMul(right)),
        );
        let joined = egraph.add(Analog::Concat([p, q]));
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

/// Every rule, by name.
pub fn rules() -> Vec<Rewrite<Analog, Shapes>> {
    vec![
        rewrite!("split-rows"; "(matmul ?b)" => { SplitRows { block: "?b".parse().expect("var") } }),
        rewrite!("split-cols"; "(matmul ?b)" => { SplitCols { block: "?b".parse().expect("var") } }),
        rewrite!("place"; "(matmul ?b)" => "(mvm ?b)" if fits("?b")),
        rewrite!("pack-side-by-side"; "(concat (mvm ?a) (mvm ?b))" => "(mvm (hstack ?a ?b))" if side_by_side_fits),
        rewrite!("pack-diagonal"; "(both (mvm ?a) (mvm ?b))" => "(mvm (diag ?a ?b))" if diagonal_fits),
        rewrite!("concat-assoc"; "(concat ?p (concat ?q ?r))" => "(concat (concat ?p ?q) ?r)"),
        rewrite!("both-assoc"; "(both ?p (both ?q ?r))" => "(both (both ?p ?q) ?r)"),
        rewrite!("both-assoc-back"; "(both (both ?p ?q) ?r)" => "(both ?p (both ?q ?r))"),
    ]
}
