//! Shape arithmetic folded at import. Exporters compute reshape targets at run time:
//! `Shape -> Gather -> Unsqueeze -> Concat -> Reshape`, and for attention the head
//! size and `batch * heads` (`Div`, `Mul`, `Mod`, `Slice` and `Cast` on shape
//! vectors). Each such 1-D integer vector is kept as [`SymDim`]s, a number or a
//! multiple of a dynamic size, so the reshape it feeds knows its target at import.
//! Integer constants (initializers and Constant nodes of integer type) are shape
//! vectors too; a shape vector Cast to float is a float constant (the
//! `1 / sqrt(head size)` of attention).

use crate::OnnxError;
use crate::dim::Dim;
use crate::emitter::{Emitter, Value};
use crate::fold::SymDim;
use crate::ops::axis_in;
use crate::proto::{attribute, data_type, tensor_values};
use tract_onnx::pb::NodeProto;

impl Emitter {
    /// Whether a ConstantOfShape fills an integer tensor (a shape vector) of a
    /// constant shape.
    fn is_integer_fill(&self, node: &NodeProto) -> bool {
        let integer = attribute(node, "value")
            .and_then(|a| a.t.as_ref())
            .is_some_and(|t| {
                t.data_type == data_type::BOOL || data_type::is_integer(i64::from(t.data_type))
            });
        integer
            && self
                .sym_vector(node, 0)
                .is_some_and(|v| v.iter().all(|d| matches!(d, SymDim::Const(_))))
    }

    /// Whether input `index` of `node` is a shape vector.
    fn is_shape_vector(&self, node: &NodeProto, index: usize) -> bool {
        node.input
            .get(index)
            .is_some_and(|name| self.symbolic.contains_key(name))
    }

    /// Folds `node` when it computes a shape vector (or a float constant from one);
    /// `false` when it computes a tensor, for the tensor operators to import.
    pub(crate) fn shape_vector_op(&mut self, node: &NodeProto) -> Result<bool, OnnxError> {
        let op = node.op_type.as_str();
        let fail = |emitter: &Self, message: String| emitter.unsupported(node, message);
        let vector = match op {
            "Shape" if self.is_shape_vector(node, 0) => {
                // The shape of a shape vector: its length.
                vec![SymDim::Const(self.symbolic[&node.input[0]].len() as i64)]
            }
            "Shape" => {
                let input = self.input(node, 0)?;
                let rank = input.dims.len() as i64;
                let bound = |name: &str, default: i64| {
                    let v = attribute(node, name).map_or(default, |a| a.i);
                    (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize
                };
                let (start, end) = (bound("start", 0), bound("end", rank));
                input.dims[start..end.max(start)]
                    .iter()
                    .map(|&d| SymDim::of(d))
                    .collect()
            }
            "Identity" | "Unsqueeze" | "Squeeze" | "Reshape" | "Expand"
                if self.is_shape_vector(node, 0) =>
            {
                self.symbolic[&node.input[0]].clone()
            }
            "Cast" if self.is_shape_vector(node, 0) => {
                let vector = self.symbolic[&node.input[0]].clone();
                let to = attribute(node, "to").map_or(0, |a| a.i);
                // To an integer or bool type a shape vector stays one.
                if data_type::is_integer(to) || to == i64::from(data_type::BOOL) {
                    vector
                } else {
                    // A number for float arithmetic: known sizes only.
                    let data = vector
                        .iter()
                        .map(|d| match d {
                            SymDim::Const(v) => Ok(*v as f32),
                            SymDim::Size(dim) => Err(fail(
                                self,
                                format!(
                                    "the dynamic size {dim} is used as a number: fix that dimension at export"
                                ),
                            )),
                        })
                        .collect::<Result<Vec<f32>, _>>()?;
                    let value = Value {
                        ssa: String::new(),
                        dims: vec![Dim::Known(data.len() as u64)],
                        data: Some(data),
                    };
                    self.values.insert(node.output[0].clone(), value);
                    return Ok(true);
                }
            }
            "Gather" if self.is_shape_vector(node, 0) => {
                let vector = self.symbolic[&node.input[0]].clone();
                let indices = self.constant_ints(node, 1, "the indices")?;
                if attribute(node, "axis").is_some_and(|a| a.i != 0) {
                    return Err(fail(
                        self,
                        "Gather from a shape vector along an axis other than 0".into(),
                    ));
                }
                indices
                    .iter()
                    .map(|&i| {
                        axis_in(i, vector.len())
                            .map(|i| vector[i])
                            .ok_or_else(|| fail(self, format!("index {i} is out of range")))
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            "Concat" if (0..node.input.len()).any(|i| self.is_shape_vector(node, i)) => {
                let mut all = Vec::new();
                for index in 0..node.input.len() {
                    let part = self.sym_vector(node, index).ok_or_else(|| {
                        fail(self, format!("input {index} is not a constant or a shape"))
                    })?;
                    all.extend(part);
                }
                all
            }
            "Slice" if self.is_shape_vector(node, 0) => {
                let vector = self.symbolic[&node.input[0]].clone();
                let starts = self.constant_ints(node, 1, "starts")?;
                let ends = self.constant_ints(node, 2, "ends")?;
                let step = match self.optional_input(node, 4)? {
                    Some(_) => self.constant_ints(node, 4, "steps")?,
                    None => vec![1],
                };
                let (Some(&start), Some(&end), Some(&step)) =
                    (starts.first(), ends.first(), step.first())
                else {
                    return Err(fail(self, "empty starts, ends or steps".into()));
                };
                slice_range(vector.len() as i64, start, end, step)
                    .ok_or_else(|| fail(self, "a step of 0".into()))?
                    .into_iter()
                    .map(|i| vector[i])
                    .collect()
            }
            "ConstantOfShape" if self.is_integer_fill(node) => {
                let shape = self.constant_ints(node, 0, "the shape")?;
                let fill = attribute(node, "value")
                    .and_then(|a| a.t.as_ref())
                    .map(tensor_values)
                    .transpose()
                    .map_err(|m| fail(self, m))?
                    .and_then(|v| v.first().copied())
                    .unwrap_or(0.0);
                match shape.as_slice() {
                    [] => vec![SymDim::Const(fill as i64)],
                    [n] if (0..=4096).contains(n) => vec![SymDim::Const(fill as i64); *n as usize],
                    _ => return Ok(false),
                }
            }
            "Range"
                if (0..3).all(|i| {
                    self.sym_vector(node, i)
                        .is_some_and(|v| v.len() == 1 && matches!(v[0], SymDim::Const(_)))
                }) =>
            {
                let value = |i: usize| match self.sym_vector(node, i).as_deref() {
                    Some([SymDim::Const(v)]) => *v,
                    _ => 0,
                };
                let (start, limit, delta) = (value(0), value(1), value(2));
                if delta == 0 {
                    return Err(fail(self, "a Range with delta 0".into()));
                }
                let count = ((limit - start + delta - delta.signum()) / delta).clamp(0, 4096);
                (0..count)
                    .map(|i| SymDim::Const(start + i * delta))
                    .collect()
            }
            "Equal" | "Where" | "Not" | "Max" | "Min"
                if (0..node.input.len()).any(|i| self.is_shape_vector(node, i))
                    && (0..node.input.len()).all(|i| self.sym_vector(node, i).is_some()) =>
            {
                let vectors = (0..node.input.len())
                    .map(|i| {
                        self.sym_vector(node, i).ok_or_else(|| {
                            fail(self, format!("input {i} is not a constant or a shape"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let length = vectors.iter().map(Vec::len).max().unwrap_or(0);
                if vectors.iter().any(|v| v.len() != length && v.len() != 1) {
                    return Err(fail(self, "shape vectors of different lengths".into()));
                }
                (0..length)
                    .map(|i| {
                        let x: Vec<SymDim> =
                            vectors.iter().map(|v| v[i.min(v.len() - 1)]).collect();
                        shape_logic(op, &x).ok_or_else(|| {
                            fail(
                                self,
                                format!("{op} of {x:?} is not a size the importer can follow"),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            "Add" | "Sub" | "Mul" | "Div" | "Mod"
                if (self.is_shape_vector(node, 0) || self.is_shape_vector(node, 1))
                    && self.sym_vector(node, 0).is_some()
                    && self.sym_vector(node, 1).is_some() =>
            {
                let operand = |emitter: &Self, index: usize| {
                    emitter.sym_vector(node, index).ok_or_else(|| {
                        fail(
                            emitter,
                            format!("input {index} is not a constant or a shape"),
                        )
                    })
                };
                let (a, b) = (operand(self, 0)?, operand(self, 1)?);
                let length = a.len().max(b.len());
                if (a.len() != length && a.len() != 1) || (b.len() != length && b.len() != 1) {
                    return Err(fail(
                        self,
                        format!("shape vectors of {} and {} entries", a.len(), b.len()),
                    ));
                }
                (0..length)
                    .map(|i| {
                        let (x, y) = (a[i.min(a.len() - 1)], b[i.min(b.len() - 1)]);
                        shape_arithmetic(op, x, y).ok_or_else(|| {
                            fail(
                                self,
                                format!(
                                    "{op} of {x:?} and {y:?} is not a size the importer can follow"
                                ),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            _ => return Ok(false),
        };
        self.define_symbolic(node, vector);
        Ok(true)
    }
}

/// Equal, Where, Not, Max and Min on shape entries (booleans as 1 and 0). A size is
/// never negative, so it differs from any negative constant (the `-1` an exporter
/// compares a shape against before an Expand).
fn shape_logic(op: &str, x: &[SymDim]) -> Option<SymDim> {
    use SymDim::{Const, Size};
    Some(match (op, x) {
        ("Equal", [Const(a), Const(b)]) => Const(i64::from(a == b)),
        ("Equal", [Size(_), Const(c)] | [Const(c), Size(_)]) if *c < 0 => Const(0),
        ("Equal", [Size(a), Size(b)]) if a == b => Const(1),
        ("Not", [Const(a)]) => Const(i64::from(*a == 0)),
        ("Where", [Const(c), a, b]) => {
            if *c != 0 {
                *a
            } else {
                *b
            }
        }
        ("Max", [Const(a), Const(b)]) => Const(*a.max(b)),
        ("Min", [Const(a), Const(b)]) => Const(*a.min(b)),
        ("Max", [Size(d), Const(c)] | [Const(c), Size(d)]) if *c <= 1 => Size(*d),
        _ => return None,
    })
}

/// The indices a Slice with `start`, `end` and `step` takes from `length` entries
/// (ONNX's clamping rules); `None` for a zero step.
pub(crate) fn slice_range(length: i64, start: i64, end: i64, step: i64) -> Option<Vec<usize>> {
    if step == 0 {
        return None;
    }
    let resolve = |v: i64, low: i64, high: i64| {
        let v = if v < 0 { v.saturating_add(length) } else { v };
        v.clamp(low, high)
    };
    let mut taken = Vec::new();
    if step > 0 {
        let (start, end) = (resolve(start, 0, length), resolve(end, 0, length));
        let mut i = start;
        while i < end {
            taken.push(i as usize);
            i += step;
        }
    } else {
        let (start, end) = (resolve(start, -1, length - 1), resolve(end, -1, length - 1));
        let mut i = start;
        while i > end {
            taken.push(i as usize);
            i += step;
        }
    }
    Some(taken)
}

/// Integer arithmetic on shape entries (ONNX's: Div truncates, Mod takes the
/// divisor's sign); a dynamic size may be scaled, divided exactly, or offset by 0.
fn shape_arithmetic(op: &str, x: SymDim, y: SymDim) -> Option<SymDim> {
    use SymDim::{Const, Size};
    Some(match (op, x, y) {
        ("Add", Const(a), Const(b)) => Const(a.checked_add(b)?),
        ("Sub", Const(a), Const(b)) => Const(a.checked_sub(b)?),
        ("Mul", Const(a), Const(b)) => Const(a.checked_mul(b)?),
        ("Div", Const(a), Const(b)) => Const(a.checked_div(b)?),
        ("Mod", Const(a), Const(b)) => {
            let r = a.checked_rem(b)?;
            Const(if r != 0 && (r < 0) != (b < 0) {
                r + b
            } else {
                r
            })
        }
        ("Add" | "Sub", Size(d), Const(0)) | ("Add", Const(0), Size(d)) => Size(d),
        ("Mul", Size(d), Const(k)) | ("Mul", Const(k), Size(d)) => {
            SymDim::of(d.times(Dim::Known(u64::try_from(k).ok()?))?)
        }
        ("Div", Size(d), Const(k)) => SymDim::of(d.divided_by(Dim::Known(u64::try_from(k).ok()?))?),
        ("Div", Size(d), Size(e)) => SymDim::of(d.divided_by(e)?),
        ("Sub", Size(d), Size(e)) if d == e => Const(0),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_follow_onnx_clamping() {
        assert_eq!(slice_range(4, 1, i64::MAX, 1), Some(vec![1, 2, 3]));
        assert_eq!(slice_range(4, -1, i64::MIN, -1), Some(vec![3, 2, 1, 0]));
        assert_eq!(slice_range(5, 0, 5, 2), Some(vec![0, 2, 4]));
        assert_eq!(slice_range(3, 0, 3, 0), None);
    }

    #[test]
    fn batch_times_heads_is_followed() {
        let b = Dim::Dynamic {
            symbol: 0,
            factor: 1,
        };
        let two_b = shape_arithmetic("Mul", SymDim::Size(b), SymDim::Const(2)).unwrap();
        assert_eq!(
            two_b,
            SymDim::Size(Dim::Dynamic {
                symbol: 0,
                factor: 2
            })
        );
        assert_eq!(
            shape_arithmetic("Div", two_b, SymDim::Size(b)),
            Some(SymDim::Const(2))
        );
        assert_eq!(
            shape_arithmetic("Mod", SymDim::Const(-3), SymDim::Const(2)),
            Some(SymDim::Const(1))
        );
        assert_eq!(
            shape_arithmetic("Add", SymDim::Size(b), SymDim::Const(1)),
            None
        );
    }
}
