//! BatchNormalization at inference, as a per-channel `x * a + b`. One that alone reads
//! a convolution never gets here: it is folded into the convolution (`fold`).

use crate::OnnxError;
use crate::emitter::{Emitter, Value, f32_literal};
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
                .and_then(|d| d.known())
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

impl Emitter {
    /// LayerNormalization (opset 17): over the axes from `axis` on, `(x - mean) /
    /// sqrt(var + epsilon) * scale + bias`, as reductions that keep the axes and
    /// element-wise generics; the digital work of a transformer block.
    pub(crate) fn layer_norm(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let input = self.input(node, 0)?;
        let input = self.materialise(input);
        let rank = input.dims.len();
        if node.output.iter().skip(1).any(|o| !o.is_empty()) {
            return Err(self.unsupported(node, "the Mean and InvStdDev outputs are not supported"));
        }
        let axis = attribute(node, "axis").map_or(-1, |a| a.i);
        let axis = crate::ops::axis_in(axis, rank)
            .ok_or_else(|| crate::ops::out_of_range(self, node, axis, rank))?;
        let epsilon = attribute(node, "epsilon").map_or(1e-5, |a| a.f);
        let axes: Vec<usize> = (axis..rank).collect();
        let scale = self.input(node, 1)?;
        let scale = self.materialise(scale);
        let bias = self
            .optional_input(node, 2)?
            .map(|bias| self.materialise(bias));
        let fail = |emitter: &Self, m: String| emitter.unsupported(node, m);
        let mean = self
            .mean_keeping(&input, &axes)
            .map_err(|m| fail(self, m))?;
        let centred = self
            .elementwise(&[input, mean], |x, next| {
                let t = next();
                (
                    vec![format!("{t} = arith.subf {}, {} : f32", x[0], x[1])],
                    t,
                )
            })
            .map_err(|m| fail(self, m))?;
        let squares = self
            .elementwise(std::slice::from_ref(&centred), |x, next| {
                let t = next();
                (vec![format!("{t} = arith.mulf {0}, {0} : f32", x[0])], t)
            })
            .map_err(|m| fail(self, m))?;
        let variance = self
            .mean_keeping(&squares, &axes)
            .map_err(|m| fail(self, m))?;
        let mut inputs = vec![centred, variance, scale];
        inputs.extend(bias.clone());
        let with_bias = bias.is_some();
        self.elementwise(&inputs, move |x, next| {
            let (e, v, r, n, s) = (next(), next(), next(), next(), next());
            let mut lines = vec![
                format!("{e} = arith.constant {} : f32", f32_literal(epsilon)),
                format!("{v} = arith.addf {}, {e} : f32", x[1]),
                format!("{r} = math.sqrt {v} : f32"),
                format!("{n} = arith.divf {}, {r} : f32", x[0]),
                format!("{s} = arith.mulf {n}, {} : f32", x[2]),
            ];
            if with_bias {
                let b = next();
                lines.push(format!("{b} = arith.addf {s}, {} : f32", x[3]));
                return (lines, b);
            }
            (lines, s)
        })
        .map_err(|m| fail(self, m))
    }

    /// ReduceMean, ReduceSum, ReduceMax and ReduceMin over constant axes (an input
    /// from opset 18, an attribute before; none means all unless
    /// `noop_with_empty_axes`), with or without `keepdims`.
    pub(crate) fn reduce_node(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let input = self.input(node, 0)?;
        let input = self.materialise(input);
        let rank = input.dims.len();
        let axes = match self.optional_input(node, 1)? {
            Some(_) => self.constant_ints(node, 1, "axes")?,
            None => attribute(node, "axes")
                .map(|a| a.ints.clone())
                .unwrap_or_default(),
        };
        if axes.is_empty() && attribute(node, "noop_with_empty_axes").is_some_and(|a| a.i != 0) {
            return Ok(input);
        }
        let mut axes: Vec<usize> = if axes.is_empty() {
            (0..rank).collect()
        } else {
            axes.iter()
                .map(|&a| {
                    crate::ops::axis_in(a, rank)
                        .ok_or_else(|| crate::ops::out_of_range(self, node, a, rank))
                })
                .collect::<Result<_, _>>()?
        };
        axes.sort_unstable();
        axes.dedup();
        let fail = |emitter: &Self, m: String| emitter.unsupported(node, m);
        let kept = match node.op_type.as_str() {
            "ReduceMean" => self.mean_keeping(&input, &axes),
            "ReduceSum" => self.reduce_keeping(&input, &axes, 0.0, "addf"),
            "ReduceMax" => self.reduce_keeping(&input, &axes, f32::NEG_INFINITY, "maximumf"),
            _ => self.reduce_keeping(&input, &axes, f32::INFINITY, "minimumf"),
        }
        .map_err(|m| fail(self, m))?;
        if attribute(node, "keepdims").is_none_or(|a| a.i != 0) || axes.len() == rank {
            if axes.len() == rank && attribute(node, "keepdims").is_some_and(|a| a.i == 0) {
                return Err(fail(
                    self,
                    "a reduction of every axis to a scalar (keepdims=0) is not supported".into(),
                ));
            }
            return Ok(kept);
        }
        self.squeeze(&kept, &axes).map_err(|m| fail(self, m))
    }
}
