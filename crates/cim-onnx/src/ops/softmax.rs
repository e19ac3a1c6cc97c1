//! Softmax over the last axis of a 2-D input: max, exp(x - max), sum and divide, as
//! reductions and element-wise `linalg.generic`s.

use crate::OnnxError;
use crate::emitter::{Emitter, Value, tensor_type};
use crate::proto::attribute;
use tract_onnx::pb::NodeProto;

impl Emitter {
    /// Softmax: only over the last axis (-1 or 1) of a 2-D input.
    pub(crate) fn softmax_node(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let fail = |emitter: &Self, message: String| emitter.unsupported(node, message);
        let int_attribute =
            |name: &str, default: i64| attribute(node, name).map_or(default, |a| a.i);
        let input = self.input(node, 0)?;
        let input = self.materialise(input);
        let axis = int_attribute("axis", -1);
        if input.dims.len() != 2 || !(axis == -1 || axis == 1) {
            return Err(fail(
                self,
                "only Softmax over the last axis of a 2-D input is supported".into(),
            ));
        }
        self.softmax(&input).map_err(|m| fail(self, m))
    }

    /// Softmax over the last axis of a 2-D tensor: max, exp(x - max), sum, divide.
    fn softmax(&mut self, input: &Value) -> Result<Value, String> {
        let rows = vec![input.dims[0]];
        // Reduces each row, then reshapes to a column (rows x 1) so element-wise
        // broadcasting lines it up.
        let reduce = |emitter: &mut Self, source: &Value, init: f32, combine: &str| {
            let domain = "(d0, d1)";
            let reduced = emitter.reduction(
                &[(source, format!("affine_map<{domain} -> (d0, d1)>"))],
                &rows,
                &format!("affine_map<{domain} -> (d0)>"),
                &["parallel", "reduction"],
                init,
                combine,
            );
            let column = emitter.fresh();
            let column_dims = vec![input.dims[0], Some(1)];
            let size = emitter.size_operand(source, 0);
            emitter.emit(format!(
                "{column} = tensor.expand_shape {} [[0, 1]] output_shape [{size}, 1] : {} into {}",
                reduced.ssa,
                tensor_type(&rows),
                tensor_type(&column_dims)
            ));
            Value {
                ssa: column,
                dims: column_dims,
                data: None,
            }
        };
        let max = reduce(self, input, f32::NEG_INFINITY, "maximumf");
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
        let sum = reduce(self, &exp, 0.0, "addf");
        self.elementwise(&[exp, sum], |x, next| {
            let t = next();
            (
                vec![format!("{t} = arith.divf {}, {} : f32", x[0], x[1])],
                t,
            )
        })
    }
}
