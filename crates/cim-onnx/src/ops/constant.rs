//! Operators that compute nothing: Constant (its value tensor becomes a constant,
//! materialised on first use), and Identity and Dropout (at inference, the input).

use crate::OnnxError;
use crate::dim::Dim;
use crate::emitter::{Emitter, Value};
use crate::proto::{Values, attribute, checked_tensor};
use tract_onnx::pb::NodeProto;

impl Emitter {
    /// Constant: its `value` tensor, a constant materialised on first use.
    pub(crate) fn constant_node(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let fail = |emitter: &Self, message: String| emitter.unsupported(node, message);
        let tensor = attribute(node, "value")
            .and_then(|a| a.t.as_ref())
            .ok_or_else(|| {
                fail(
                    self,
                    "only Constant with a 'value' tensor is supported".into(),
                )
            })?;
        let (dims, values) = checked_tensor(tensor, "its 'value' tensor", Values::NotNan)
            .map_err(|m| fail(self, m))?;
        Ok(Value {
            ssa: String::new(),
            dims: dims.into_iter().map(Dim::Known).collect(),
            data: Some(values),
        })
    }

    /// Identity and Dropout (at inference): the input itself.
    pub(crate) fn pass_through(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        self.input(node, 0)
    }
}
