//! Softmax over any axis: max, exp(x - max), sum and divide, as reductions that keep
//! the axis and element-wise `linalg.generic`s that broadcast against it.

use crate::OnnxError;
use crate::emitter::{Emitter, Value};
use crate::proto::attribute;
use tract_onnx::pb::NodeProto;

impl Emitter {
    /// Softmax (opset 13 and later: along one axis, by default the last).
    pub(crate) fn softmax_node(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let input = self.input(node, 0)?;
        let input = self.materialise(input);
        let rank = input.dims.len();
        let axis = attribute(node, "axis").map_or(-1, |a| a.i);
        let axis = crate::ops::axis_in(axis, rank).ok_or_else(|| {
            self.unsupported(
                node,
                format!("axis {axis} is outside a tensor of rank {rank}"),
            )
        })?;
        self.softmax(&input, axis)
            .map_err(|m| self.unsupported(node, m))
    }

    /// Softmax along `axis`: max, exp(x - max), sum, divide.
    pub(crate) fn softmax(&mut self, input: &Value, axis: usize) -> Result<Value, String> {
        let max = self.reduce_keeping(input, &[axis], f32::NEG_INFINITY, "maximumf")?;
        let exp = self.elementwise(&[input.clone(), max], |x, next| {
            let (d, e) = (next(), next());
            (
                vec![
                    format!("{d} = arith.subf {}, {} : f32", x[0], x[1]),
                    format!("{e} = math.exp {d} : f32"),
                ],
                e,
            )
        })?;
        let sum = self.reduce_keeping(&exp, &[axis], 0.0, "addf")?;
        self.elementwise(&[exp, sum], |x, next| {
            let t = next();
            (
                vec![format!("{t} = arith.divf {}, {} : f32", x[0], x[1])],
                t,
            )
        })
    }
}
