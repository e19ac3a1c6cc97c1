//! `linalg.generic`: the iteration domain from the indexing maps and operand shapes,
//! the body compiled once ([`crate::body`]), then run at every point: in `f64`, or
//! on a backend's [`ScalarUnit`].

use crate::{
    Env, InterpError, RtValue, ScalarUnit,
    body::{Body, Source, compile, evaluate},
    malformed,
};
use cim_ir::query::{attribute, i64_array_attribute};
use melior::ir::{OperationRef, attribute::ArrayAttribute};
use ndarray::{ArrayD, IxDyn};

/// One result of an indexing map: `sum(coefficient * d_k) + constant`.
#[derive(Clone, Debug, PartialEq)]
struct MapResult {
    terms: Vec<(usize, i64)>,
    constant: i64,
}

impl MapResult {
    /// The loop dimension, when the result is exactly one (`d3`).
    fn single_dim(&self) -> Option<usize> {
        match self.terms.as_slice() {
            [(dim, 1)] if self.constant == 0 => Some(*dim),
            _ => None,
        }
    }

    fn at(&self, point: &[usize]) -> i64 {
        self.terms
            .iter()
            .map(|&(dim, c)| c * point[dim] as i64)
            .sum::<i64>()
            + self.constant
    }
}

/// Parses one term: `d3`, `d3 * 2`, `2 * d3` or `5`.
fn parse_term(term: &str) -> Option<(Option<usize>, i64)> {
    let factors: Vec<&str> = term.split('*').map(str::trim).collect();
    let mut dim = None;
    let mut coefficient = 1i64;
    for factor in factors {
        if let Some(index) = factor.strip_prefix('d') {
            if dim.replace(index.parse().ok()?).is_some() {
                return None;
            }
        } else {
            coefficient *= factor.parse::<i64>().ok()?;
        }
    }
    Some((dim, coefficient))
}

/// Parses `affine_map<(d0, d1) -> (d0 * 2 + d1, 0)>`: sums of scaled dimensions and
/// constants (what convolution and pooling windows need).
fn parse_map(text: &str) -> Option<(usize, Vec<MapResult>)> {
    let body = text.strip_prefix("affine_map<")?.strip_suffix('>')?;
    let (dims, results) = body.split_once("->")?;
    let count = dims
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .filter(|d| !d.trim().is_empty())
        .count();
    let results = results.trim().strip_prefix('(')?.strip_suffix(')')?;
    let parsed = results
        .split(',')
        .filter(|r| !r.trim().is_empty())
        .map(|result| {
            let mut parsed = MapResult {
                terms: Vec::new(),
                constant: 0,
            };
            for term in result.split('+') {
                match parse_term(term.trim())? {
                    (Some(dim), coefficient) => parsed.terms.push((dim, coefficient)),
                    (None, constant) => parsed.constant += constant,
                }
            }
            Some(parsed)
        })
        .collect::<Option<Vec<_>>>()?;
    Some((count, parsed))
}

/// Runs a `linalg.generic` on tensors.
pub fn run(
    op: &OperationRef,
    env: &Env,
    operands: Vec<ArrayD<f64>>,
    mut unit: Option<Box<dyn ScalarUnit + '_>>,
) -> Result<Vec<RtValue>, InterpError> {
    let segments = i64_array_attribute(op, "operandSegmentSizes")
        .or_else(|| {
            // operandSegmentSizes is an i32 array.
            attribute(op, "operandSegmentSizes").and_then(|a| {
                let text = a.to_string();
                let list = text.strip_prefix("array<i32: ")?.strip_suffix('>')?;
                list.split(',').map(|v| v.trim().parse().ok()).collect()
            })
        })
        .ok_or_else(|| malformed(op, "no operandSegmentSizes"))?;
    let inputs = segments.first().copied().unwrap_or(0) as usize;
    let maps = ArrayAttribute::try_from(
        attribute(op, "indexing_maps").ok_or_else(|| malformed(op, "no indexing_maps"))?,
    )
    .map_err(|_| malformed(op, "indexing_maps is not an array"))?;
    let mut parsed = Vec::new();
    for index in 0..maps.len() {
        let text = maps
            .element(index)
            .map_err(|_| malformed(op, "map"))?
            .to_string();
        parsed.push(
            parse_map(&text)
                .ok_or_else(|| malformed(op, format!("unsupported indexing map {text}")))?,
        );
    }
    if parsed.len() != operands.len() {
        return Err(malformed(op, "one indexing map per operand expected"));
    }
    let dims = parsed.first().map_or(0, |(count, _)| *count);
    let mut bounds = vec![None; dims];
    for ((_, results), operand) in parsed.iter().zip(&operands) {
        if results.len() != operand.ndim() {
            return Err(malformed(
                op,
                "an indexing map's results differ from its operand's rank",
            ));
        }
        for (axis, result) in results.iter().enumerate() {
            if let Some(dim) = result.single_dim() {
                let size = operand.shape()[axis];
                match bounds[dim] {
                    None => bounds[dim] = Some(size),
                    Some(known) if known != size => {
                        return Err(malformed(op, format!("d{dim} is {known} and {size}")));
                    }
                    _ => {}
                }
            }
        }
    }
    let bounds: Vec<usize> = bounds.into_iter().map(|b| b.unwrap_or(1)).collect();
    let body = match &unit {
        // The unit stands for the body.
        Some(elementwise) => Body {
            instructions: Vec::new(),
            yields: (0..elementwise.result_count())
                .map(Source::Temporary)
                .collect(),
            integer: false,
        },
        None => compile(op, &|value| env.scalar(value))?,
    };
    let mut results = vec![0.0; body.yields.len()];
    let mut outputs: Vec<ArrayD<f64>> = operands[inputs..].to_vec();
    let mut arguments = vec![0.0; operands.len()];
    let mut temporaries = Vec::with_capacity(body.instructions.len());
    let total: usize = bounds.iter().product();
    let mut point = vec![0usize; dims];
    let mut index = vec![0usize; 8];
    for _ in 0..total {
        for (slot, ((_, results), operand)) in parsed.iter().zip(&operands).enumerate() {
            index.resize(results.len(), 0);
            for (axis, result) in results.iter().enumerate() {
                let at = result.at(&point);
                if at < 0 || at as usize >= operand.shape()[axis] {
                    return Err(malformed(
                        op,
                        format!(
                            "indexing map reads position {at} of a dimension of size {}",
                            operand.shape()[axis]
                        ),
                    ));
                }
                index[axis] = at as usize;
            }
            arguments[slot] = if slot >= inputs {
                outputs[slot - inputs][IxDyn(&index)]
            } else {
                operand[IxDyn(&index)]
            };
        }
        match &mut unit {
            None => {
                evaluate(&body.instructions, &arguments, &mut temporaries);
                for (result, source) in results.iter_mut().zip(&body.yields) {
                    *result = match *source {
                        Source::Argument(i) => arguments[i],
                        Source::Outer(value) => value,
                        Source::Temporary(i) => temporaries[i],
                    };
                }
            }
            Some(elementwise) => elementwise.apply(op, &arguments, &mut results)?,
        }
        for (output, &value) in results.iter().enumerate() {
            let (_, results) = &parsed[inputs + output];
            let index: Vec<usize> = results
                .iter()
                .map(|result| result.at(&point).max(0) as usize)
                .collect();
            outputs[output][IxDyn(&index)] = value;
        }
        // Next point, last dimension fastest.
        for dim in (0..dims).rev() {
            point[dim] += 1;
            if point[dim] < bounds[dim] {
                break;
            }
            point[dim] = 0;
        }
    }
    Ok(outputs.into_iter().map(RtValue::Tensor).collect())
}
