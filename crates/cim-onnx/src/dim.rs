//! Dimension sizes as the importer knows them: a number, or a multiple of one of the
//! graph's dynamic sizes (a graph input's dimension named by its `dim_param`, such as
//! the batch). Transformer exports merge the batch with the attention heads
//! (`(16, B, 16) -> (16, 2B, 8)`) and split it again, so a reshape must know that `2B`
//! is twice `B`; [`reshape_plan`] finds the expand and collapse that do such a
//! reshape, or says why none does.

use std::fmt;

/// The size of one dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dim {
    /// Known at import.
    Known(u64),
    /// `factor` times the dynamic size `symbol` (an index into the emitter's table of
    /// dynamic sizes, each a graph input's dimension).
    Dynamic {
        /// Which dynamic size.
        symbol: usize,
        /// Its multiple.
        factor: u64,
    },
}

impl Dim {
    /// The size, when known at import.
    pub(crate) fn known(self) -> Option<u64> {
        match self {
            Dim::Known(size) => Some(size),
            Dim::Dynamic { .. } => None,
        }
    }

    /// Whether the size is only known at run time.
    pub(crate) fn is_dynamic(self) -> bool {
        matches!(self, Dim::Dynamic { .. })
    }

    /// The product of two sizes; `None` when both are dynamic (a product of two
    /// dynamic sizes is not a multiple of one) or it overflows.
    pub(crate) fn times(self, other: Dim) -> Option<Dim> {
        match (self, other) {
            (Dim::Known(a), Dim::Known(b)) => a.checked_mul(b).map(Dim::Known),
            (Dim::Known(0), Dim::Dynamic { .. }) | (Dim::Dynamic { .. }, Dim::Known(0)) => {
                Some(Dim::Known(0))
            }
            (Dim::Known(k), Dim::Dynamic { symbol, factor })
            | (Dim::Dynamic { symbol, factor }, Dim::Known(k)) => factor
                .checked_mul(k)
                .map(|factor| Dim::Dynamic { symbol, factor }),
            (Dim::Dynamic { .. }, Dim::Dynamic { .. }) => None,
        }
    }

    /// `self / other` when `other` divides `self` for every value of the dynamic
    /// size: `4B / 2 = 2B`, `4B / 2B = 2`; `None` otherwise.
    pub(crate) fn divided_by(self, other: Dim) -> Option<Dim> {
        match (self, other) {
            (_, Dim::Known(0)) => None,
            (Dim::Known(a), Dim::Known(b)) => a.is_multiple_of(b).then(|| Dim::Known(a / b)),
            (Dim::Dynamic { symbol, factor }, Dim::Known(b)) => {
                factor.is_multiple_of(b).then(|| Dim::Dynamic {
                    symbol,
                    factor: factor / b,
                })
            }
            (
                Dim::Dynamic { symbol, factor },
                Dim::Dynamic {
                    symbol: s,
                    factor: f,
                },
            ) if s == symbol && f > 0 => factor.is_multiple_of(f).then(|| Dim::Known(factor / f)),
            _ => None,
        }
    }
}

impl From<u64> for Dim {
    fn from(size: u64) -> Self {
        Dim::Known(size)
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Known(size) => write!(f, "{size}"),
            Dim::Dynamic { symbol, factor: 1 } => write!(f, "s{symbol}"),
            Dim::Dynamic { symbol, factor } => write!(f, "{factor}*s{symbol}"),
        }
    }
}

/// The product of `dims`, if it is a multiple of at most one dynamic size.
pub(crate) fn product(dims: &[Dim]) -> Option<Dim> {
    dims.iter()
        .try_fold(Dim::Known(1), |total, &dim| total.times(dim))
}

/// Shapes in messages: `[s0, 16, 2*s0]`.
pub(crate) fn shape_text(dims: &[Dim]) -> String {
    let parts: Vec<String> = dims.iter().map(Dim::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// How a reshape is done in row-major order: an expand of the input into `atoms` (each
/// input dimension split into the consecutive atoms of `expand[i]`), then a collapse of
/// the atoms into the output (output dimension `j` the product of the atoms of
/// `collapse[j]`). Unit dimensions are atoms of their own.
#[derive(Debug, PartialEq)]
pub(crate) struct ReshapePlan {
    /// The common refinement of the two shapes.
    pub(crate) atoms: Vec<Dim>,
    /// For each input dimension, its atoms.
    pub(crate) expand: Vec<Vec<usize>>,
    /// For each output dimension, its atoms.
    pub(crate) collapse: Vec<Vec<usize>>,
}

/// An atom of a reshape: its size, and its input and output dimension (a unit atom
/// has one side only until it joins a neighbour's).
type Atom = (Dim, Option<usize>, Option<usize>);

/// The common refinement of `input` and `output` (shapes of equal element count): the
/// sequence of sizes both are products of consecutive runs of. It exists when every
/// boundary of one shape's running product divides the other's, which is what merging
/// and splitting neighbouring dimensions (any row-major reshape) produces. A dynamic
/// size is one factor that cannot be split: `(2B, 8) -> (B, 16)` and `(B, 6) -> (2B, 3)`
/// work, `(B, 2) -> (2, B)` does not (it moves elements).
pub(crate) fn reshape_plan(input: &[Dim], output: &[Dim]) -> Result<ReshapePlan, String> {
    let cannot = || {
        format!(
            "cannot reshape {} into {}: it is not a merge or split of neighbouring dimensions",
            shape_text(input),
            shape_text(output)
        )
    };
    let (Some(total_in), Some(total_out)) = (product(input), product(output)) else {
        return Err(format!(
            "cannot reshape {} into {}: a product of two dynamic sizes is not supported",
            shape_text(input),
            shape_text(output)
        ));
    };
    if total_in != total_out {
        return Err(format!(
            "cannot reshape {} into {}: the element counts differ",
            shape_text(input),
            shape_text(output)
        ));
    }
    let one = Dim::Known(1);
    // The refinement of the dimensions that are not 1: walk both shapes, each step
    // taking the smaller of what remains of the current input and output dimension
    // (one must divide the other). Each atom records its input and output dimension.
    let core_in: Vec<usize> = (0..input.len()).filter(|&i| input[i] != one).collect();
    let core_out: Vec<usize> = (0..output.len()).filter(|&j| output[j] != one).collect();
    let mut core: Vec<(Dim, usize, usize)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    let (mut rest_in, mut rest_out) = (
        core_in.first().map(|&a| input[a]),
        core_out.first().map(|&b| output[b]),
    );
    while let (Some(a), Some(b)) = (rest_in, rest_out) {
        let atom = if a == b || b.divided_by(a).is_some() {
            a
        } else if a.divided_by(b).is_some() {
            b
        } else {
            return Err(cannot());
        };
        core.push((atom, core_in[i], core_out[j]));
        rest_in = a.divided_by(atom).filter(|&r| r != one);
        rest_out = b.divided_by(atom).filter(|&r| r != one);
        if rest_in.is_none() {
            i += 1;
            rest_in = core_in.get(i).map(|&a| input[a]);
        }
        if rest_out.is_none() {
            j += 1;
            rest_out = core_out.get(j).map(|&b| output[b]);
        }
    }
    if rest_in.is_some() || rest_out.is_some() {
        return Err(cannot());
    }
    // Unit dimensions are atoms of their own, placed where their side has them:
    // after the atoms of that side's earlier dimensions.
    let mut atoms: Vec<Atom> = Vec::new();
    let mut next_core = 0;
    let (mut next_in, mut next_out) = (0, 0);
    loop {
        // A unit dimension is due when every dimension before it is placed.
        let in_due = next_in < input.len()
            && input[next_in] == one
            && core[next_core..].iter().all(|&(_, a, _)| a > next_in);
        let out_due = next_out < output.len()
            && output[next_out] == one
            && core[next_core..].iter().all(|&(_, _, b)| b > next_out);
        if in_due {
            atoms.push((one, Some(next_in), None));
            next_in += 1;
        } else if out_due {
            atoms.push((one, None, Some(next_out)));
            next_out += 1;
        } else if let Some(&(atom, a, b)) = core.get(next_core) {
            atoms.push((atom, Some(a), Some(b)));
            next_core += 1;
            next_in = next_in.max(a);
            next_out = next_out.max(b);
            // Move past the dimensions this atom finishes.
            if core.get(next_core).is_none_or(|&(_, a2, _)| a2 != a) {
                next_in = a + 1;
            }
            if core.get(next_core).is_none_or(|&(_, _, b2)| b2 != b) {
                next_out = b + 1;
            }
        } else {
            break;
        }
    }
    if next_in != input.len() || next_out != output.len() {
        return Err(cannot());
    }
    // A unit atom of one side joins the other side's dimension of the atom before it
    // (or, first of all, after it).
    let side = |pick: fn(&Atom) -> Option<usize>| {
        (0..atoms.len())
            .map(|k| {
                atoms[..=k]
                    .iter()
                    .rev()
                    .find_map(pick)
                    .or_else(|| atoms[k..].iter().find_map(pick))
            })
            .collect::<Option<Vec<usize>>>()
    };
    let in_of = side(|a| a.1).ok_or_else(cannot)?;
    let out_of = side(|a| a.2).ok_or_else(cannot)?;
    let mut plan = ReshapePlan {
        atoms: atoms.iter().map(|a| a.0).collect(),
        expand: vec![Vec::new(); input.len()],
        collapse: vec![Vec::new(); output.len()],
    };
    for k in 0..atoms.len() {
        plan.expand[in_of[k]].push(k);
        plan.collapse[out_of[k]].push(k);
    }
    if plan.expand.iter().chain(&plan.collapse).any(Vec::is_empty) {
        return Err(cannot());
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Dim = Dim::Dynamic {
        symbol: 0,
        factor: 1,
    };

    fn k(size: u64) -> Dim {
        Dim::Known(size)
    }

    fn b(factor: u64) -> Dim {
        Dim::Dynamic { symbol: 0, factor }
    }

    /// The plan's two halves rebuild both shapes.
    fn check(input: &[Dim], output: &[Dim]) -> ReshapePlan {
        let plan = reshape_plan(input, output).unwrap();
        for (dims, groups) in [(input, &plan.expand), (output, &plan.collapse)] {
            let rebuilt: Vec<Dim> = groups
                .iter()
                .map(|g| product(&g.iter().map(|&a| plan.atoms[a]).collect::<Vec<_>>()).unwrap())
                .collect();
            assert_eq!(rebuilt, dims);
            let flat: Vec<usize> = groups.concat();
            assert_eq!(flat, (0..plan.atoms.len()).collect::<Vec<_>>());
        }
        plan
    }

    #[test]
    fn heads_merge_into_the_batch_and_split_out_again() {
        let plan = check(&[k(16), B, k(16)], &[k(16), b(2), k(8)]);
        assert_eq!(plan.atoms, [k(16), B, k(2), k(8)]);
        check(&[b(2), k(16), k(8)], &[B, k(2), k(16), k(8)]);
        check(&[b(2), k(8)], &[B, k(16)]);
        check(&[B, k(6)], &[b(2), k(3)]);
        check(&[b(3)], &[B, k(3)]);
    }

    #[test]
    fn unit_dimensions_come_and_go() {
        check(&[B, k(1), k(4)], &[B, k(4)]);
        check(&[B, k(4)], &[k(1), B, k(1), k(2), k(2), k(1)]);
        check(&[k(1)], &[k(1), k(1)]);
        check(&[k(1), k(1)], &[k(1)]);
    }

    #[test]
    fn what_is_not_a_regrouping_is_refused() {
        assert!(reshape_plan(&[B, k(2)], &[k(2), B]).is_err());
        assert!(reshape_plan(&[b(3)], &[b(2)]).is_err());
        assert!(reshape_plan(&[k(4), k(6)], &[k(3), k(8)]).is_err());
        assert!(reshape_plan(&[B, B], &[B, B]).is_err());
        assert!(reshape_plan(&[B, k(4)], &[B, k(5)]).is_err());
    }

    #[test]
    fn dynamic_sizes_divide_only_by_what_divides_them() {
        assert_eq!(b(4).divided_by(k(2)), Some(b(2)));
        assert_eq!(b(4).divided_by(b(2)), Some(k(2)));
        assert_eq!(b(3).divided_by(k(2)), None);
        assert_eq!(k(4).divided_by(B), None);
        assert_eq!(B.times(B), None);
    }
}
