//! `affine.apply` on index values: the dynamic sizes torch-mlir computes from a
//! batch (`affine_map<()[s0] -> (s0 * 16)>`). Sums of scaled dimensions, symbols
//! and constants, as [`crate::generic`]'s indexing maps.

use crate::{InterpError, Operands, RtValue, generic::parse_map, malformed};
use cim_ir::query::attribute;
use melior::ir::operation::OperationLike;

pub(crate) fn step(operands: Operands, name: &str) -> Result<Vec<RtValue>, InterpError> {
    let op = operands.op;
    if name != "affine.apply" {
        return Err(InterpError::Unsupported(name.to_owned()));
    }
    let map = attribute(op, "map")
        .ok_or_else(|| malformed(op, "no map"))?
        .to_string();
    let unsupported = || {
        malformed(
            op,
            format!("{map}: only sums of scaled dimensions, symbols and constants are supported"),
        )
    };
    let text = as_dimensions(&map).ok_or_else(unsupported)?;
    let (count, results) = parse_map(&text).ok_or_else(unsupported)?;
    let [result] = results.as_slice() else {
        return Err(malformed(op, "the map must have one result"));
    };
    let values = (0..op.operand_count())
        .map(|index| match operands.runtime(index)? {
            RtValue::Index(value) => Ok(*value),
            _ => Err(malformed(op, "an operand is not an index")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if values.len() != count {
        return Err(malformed(
            op,
            "operands differ from the map's dimensions and symbols",
        ));
    }
    let value = result
        .terms
        .iter()
        .fold(result.constant, |sum, &(dim, coefficient)| {
            sum.wrapping_add(coefficient.wrapping_mul(values[dim]))
        });
    Ok(vec![RtValue::Index(value)])
}

/// `affine_map<(d0)[s0, s1] -> (...)>` with its symbols renamed as the dimensions
/// after the map's own (`d1`, `d2`), which is how `affine.apply` takes its operands.
fn as_dimensions(map: &str) -> Option<String> {
    let body = map.strip_prefix("affine_map<(")?;
    let (dims, rest) = body.split_once(')')?;
    let dims: Vec<&str> = dims
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    let (symbols, results) = match rest.trim_start().strip_prefix('[') {
        Some(rest) => {
            let (symbols, results) = rest.split_once(']')?;
            let symbols: Vec<&str> = symbols
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            (symbols.len(), results)
        }
        None => (0, rest),
    };
    let mut results = results.to_owned();
    // Highest first, so that s1 is not taken for the start of s10.
    for symbol in (0..symbols).rev() {
        results = results.replace(&format!("s{symbol}"), &format!("d{}", dims.len() + symbol));
    }
    let names: Vec<String> = (0..dims.len() + symbols).map(|d| format!("d{d}")).collect();
    Some(format!("affine_map<({}){}", names.join(", "), results))
}
