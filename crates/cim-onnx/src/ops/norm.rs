//! BatchNormalization at inference, as a per-channel `x * a + b`. One that alone reads
//! a convolution never gets here: it is folded into the convolution (`fold`).

use crate::OnnxError;
use crate::emitter::{Emitter, Value};
use crate::proto::attribute;
use tract_onnx::pb::NodeProto;

impl Emitter {
    /// BatchNormalization at inference: x * a + b per channel, a and b folded from the
    /// constant scale, bias, mean and variance.
    pub(crate) fn batch_norm(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let input = self.input(node, 0)?;
        let input = self.materialise(input);
        if node.output.iter().skip(1).any(|o| !o.is_empty()) {
            return Err(self.unsupported(
                node,
                "training-mode outputs (running mean, variance) are not supported",
            ));
        }
        let mut parameters = Vec::new();
        for index in 1..=4 {
            let value = self.input(node, index)?;
            parameters.push(value.data.ok_or_else(|| {
                self.unsupported(node, "scale, bias, mean and variance must be constants")
            })?);
        }
        let epsilon = attribute(node, "epsilon").map_or(1e-5, |a| a.f);
        let channels = parameters[0].len();
        if parameters.iter().any(|p| p.len() != channels)
            || input
                .dims
                .get(1)
                .copied()
                .flatten()
                .is_some_and(|c| c as usize != channels)
        {
            return Err(self.unsupported(node, "parameter lengths must equal the channel count"));
        }
        let a: Vec<f32> = (0..channels)
            .map(|c| parameters[0][c] / (parameters[3][c] + epsilon).sqrt())
            .collect();
        let b: Vec<f32> = (0..channels)
            .map(|c| parameters[1][c] - parameters[2][c] * a[c])
            .collect();
        let mut shape = vec![channels as u64];
        shape.extend(std::iter::repeat_n(1, input.dims.len().saturating_sub(2)));
        let (a, b) = (self.constant(&shape, &a), self.constant(&shape, &b));
        self.elementwise(&[input, a, b], |x, next| {
            let (m, t) = (next(), next());
            (
                vec![
                    format!("{m} = arith.mulf {}, {} : f32", x[0], x[1]),
                    format!("{t} = arith.addf {m}, {} : f32", x[2]),
                ],
                t,
            )
        })
        .map_err(|m| self.unsupported(node, m))
    }
}
