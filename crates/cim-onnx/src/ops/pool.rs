//! Pooling of NCHW values: MaxPool and AveragePool over 2-D windows, and
//! GlobalAveragePool, as reduction `linalg.generic`s.

use super::window::Window2d;
use crate::OnnxError;
use crate::dim::Dim;
use crate::emitter::{Emitter, Value};
use crate::proto::attribute;
use tract_onnx::pb::NodeProto;

impl Emitter {
    /// MaxPool and AveragePool over 2-D windows of an NCHW value.
    pub(crate) fn pool(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let input = self.input(node, 0)?;
        let input = self.materialise(input);
        if input.dims.len() != 4 {
            return Err(self.unsupported(node, "only 2-D pooling of NCHW inputs is supported"));
        }
        let kernel = Self::ints(node, "kernel_shape", &[]);
        if kernel.len() != 2 {
            return Err(self.unsupported(node, "kernel_shape must have 2 values"));
        }
        let Window2d {
            kernel,
            strides,
            pads,
            dilations,
        } = self.window(node, [kernel[0], kernel[1]])?;
        let max = node.op_type == "MaxPool";
        if node.output.len() > 1 && !node.output[1].is_empty() {
            return Err(self.unsupported(node, "the Indices output of MaxPool is not supported"));
        }
        let include_pad = attribute(node, "count_include_pad").is_some_and(|a| a.i != 0);
        if !max && pads != [0; 4] && !include_pad {
            return Err(
                self.unsupported(node, "AveragePool with padding needs count_include_pad=1")
            );
        }
        let padded = self
            .pad(&input, pads, if max { f32::NEG_INFINITY } else { 0.0 })
            .map_err(|m| self.unsupported(node, m))?;
        let oh = self.out_size(node, padded.dims[2], kernel[0], strides[0], dilations[0])?;
        let ow = self.out_size(node, padded.dims[3], kernel[1], strides[1], dilations[1])?;
        let dims = vec![input.dims[0], input.dims[1], Dim::Known(oh), Dim::Known(ow)];
        // The window operand only gives the reduction dimensions their extent.
        let window = self.fresh();
        self.emit(format!(
            "{window} = tensor.empty() : tensor<{}x{}xf32>",
            kernel[0], kernel[1]
        ));
        let window = Value {
            ssa: window,
            dims: vec![Dim::Known(kernel[0] as u64), Dim::Known(kernel[1] as u64)],
            data: None,
        };
        let domain = "(d0, d1, d2, d3, d4, d5)";
        let pooled = self.reduction(
            &[
                (
                    &padded,
                    format!(
                        "affine_map<{domain} -> (d0, d1, d2 * {} + d4 * {}, d3 * {} + d5 * {})>",
                        strides[0], dilations[0], strides[1], dilations[1]
                    ),
                ),
                (&window, format!("affine_map<{domain} -> (d4, d5)>")),
            ],
            &dims,
            &format!("affine_map<{domain} -> (d0, d1, d2, d3)>"),
            &[
                "parallel",
                "parallel",
                "parallel",
                "parallel",
                "reduction",
                "reduction",
            ],
            if max { f32::NEG_INFINITY } else { 0.0 },
            if max { "maximumf" } else { "addf" },
        );
        if max {
            return Ok(pooled);
        }
        self.scaled(pooled, 1.0 / (kernel[0] * kernel[1]) as f32)
            .map_err(|m| self.unsupported(node, m))
    }

    /// GlobalAveragePool: the mean over H and W, as N x C x 1 x 1.
    pub(crate) fn global_average_pool(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let input = self.input(node, 0)?;
        let input = self.materialise(input);
        if input.dims.len() != 4 {
            return Err(self.unsupported(node, "only NCHW inputs are supported"));
        }
        let (Some(h), Some(w)) = (input.dims[2].known(), input.dims[3].known()) else {
            return Err(self.unsupported(node, "spatial dimensions must be static"));
        };
        let dims = vec![input.dims[0], input.dims[1], Dim::Known(1), Dim::Known(1)];
        let domain = "(d0, d1, d2, d3)";
        let sum = self.reduction(
            &[(&input, format!("affine_map<{domain} -> (d0, d1, d2, d3)>"))],
            &dims,
            &format!("affine_map<{domain} -> (d0, d1, 0, 0)>"),
            &["parallel", "parallel", "reduction", "reduction"],
            0.0,
            "addf",
        );
        self.scaled(sum, 1.0 / (h * w) as f32)
            .map_err(|m| self.unsupported(node, m))
    }
}
