//! Conv (NCHW, 2-D, with groups) as `linalg.conv_2d_nchw_fchw`, one per group, a
//! constant bias starting its accumulator. Lowering it to im2col and a
//! weight-stationary matmul is `convert-linalg-to-cim`'s, for every frontend.

use super::window::Window2d;
use crate::OnnxError;
use crate::dim::Dim;
use crate::emitter::{Emitter, Value, tensor_type};
use crate::proto::attribute;
use tract_onnx::pb::NodeProto;

impl Emitter {
    /// Conv (NCHW, 2-D, groups): per group, the filter as a constant and one
    /// `linalg.conv_2d_nchw_fchw`; groups joined along the channels.
    pub(crate) fn conv(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let input = self.input(node, 0)?;
        let input = self.materialise(input);
        let weight = self.input(node, 1)?;
        let Some(filter) = weight.data.clone() else {
            return Err(
                self.unsupported(node, "the filter (input 1) must be a constant initializer")
            );
        };
        if input.dims.len() != 4 || weight.dims.len() != 4 {
            return Err(self.unsupported(
                node,
                "only 2-D convolutions (NCHW input, FCHW filter) are supported",
            ));
        }
        let groups = attribute(node, "group").map_or(1, |a| a.i);
        let fdims: Vec<i64> = weight
            .dims
            .iter()
            .map(|d| d.known().unwrap_or(0) as i64)
            .collect();
        let (filters, channels, kh, kw) = (fdims[0], fdims[1], fdims[2], fdims[3]);
        if groups < 1 || filters % groups != 0 {
            return Err(self.unsupported(
                node,
                format!("group {groups} must be >= 1 and divide the {filters} filters"),
            ));
        }
        if let Some(kernel) = attribute(node, "kernel_shape")
            && kernel.ints.as_slice() != [kh, kw]
        {
            return Err(self.unsupported(
                node,
                format!(
                    "kernel_shape {:?} disagrees with the filter's {kh}x{kw}: export the node with the filter's shape",
                    kernel.ints
                ),
            ));
        }
        if input.dims[1]
            .known()
            .is_some_and(|c| c as i64 != channels * groups)
        {
            return Err(self.unsupported(
                node,
                format!(
                    "the input has {} channels, the filter {channels} per group x {groups} groups",
                    input.dims[1].known().unwrap_or(0)
                ),
            ));
        }
        let Window2d {
            strides,
            pads,
            dilations,
            ..
        } = self.window(node, [kh, kw])?;
        let padded = self
            .pad(&input, pads, 0.0)
            .map_err(|m| self.unsupported(node, m))?;
        let oh = self.out_size(node, padded.dims[2], kh, strides[0], dilations[0])?;
        let ow = self.out_size(node, padded.dims[3], kw, strides[1], dilations[1])?;
        let (c, kh, kw, f, g) = (
            channels as u64,
            kh as u64,
            kw as u64,
            filters as u64,
            groups as u64,
        );
        let per_group = f / g;
        let k = c * kh * kw;
        // A constant bias starts each group's accumulator (as torch-mlir writes a
        // biased convolution); convert-linalg-to-cim adds it per column of the
        // product, where the NMDU fuses it.
        let bias = self.optional_input(node, 2)?;
        let constant_bias = bias.as_ref().and_then(|bias| bias.data.clone());
        let mut outputs = Vec::new();
        for group in 0..g {
            // Each group sees its own input channels and filters.
            let channels = if g == 1 {
                padded.clone()
            } else {
                let sizes = [
                    padded.dims[0],
                    Dim::Known(c),
                    padded.dims[2],
                    padded.dims[3],
                ];
                self.extract(&padded, &[0, group * c, 0, 0], &sizes, &[1, 1, 1, 1])
            };
            let first = group * per_group;
            let filter = self.constant(
                &[per_group, c, kh, kw],
                &filter[(first * k) as usize..((first + per_group) * k) as usize],
            );
            let out_dims = vec![
                input.dims[0],
                Dim::Known(per_group),
                Dim::Known(oh),
                Dim::Known(ow),
            ];
            let init = match &constant_bias {
                Some(bias) => {
                    let slice = &bias[first as usize..(first + per_group) as usize];
                    self.broadcast_channels(slice, &out_dims)
                }
                None => self.filled(&out_dims, 0.0).ssa,
            };
            let result = self.fresh();
            let out_type = tensor_type(&out_dims);
            self.emit(format!(
                "{result} = linalg.conv_2d_nchw_fchw {{dilations = dense<[{}, {}]> : vector<2xi64>, strides = dense<[{}, {}]> : vector<2xi64>}} ins({}, {} : {}, {}) outs({init} : {out_type}) -> {out_type}",
                dilations[0],
                dilations[1],
                strides[0],
                strides[1],
                channels.ssa,
                filter.ssa,
                tensor_type(&channels.dims),
                tensor_type(&filter.dims),
            ));
            outputs.push(Value {
                ssa: result,
                dims: out_dims,
                data: None,
            });
        }
        let mut output = if outputs.len() == 1 {
            outputs.remove(0)
        } else {
            self.concat(&outputs, 1)
                .map_err(|m| self.unsupported(node, m))?
        };
        if let (Some(bias), None) = (bias, &constant_bias) {
            // A bias computed by the graph: added per channel after the product.
            let bias = self.materialise(bias);
            output = self.add_per_channel(&output, &bias);
        }
        Ok(output)
    }

    /// An NCHW tensor of `dims` holding `values[c]` in channel `c`.
    fn broadcast_channels(&mut self, values: &[f32], dims: &[Dim]) -> String {
        let constant = self.constant(&[values.len() as u64], values);
        let empty = self.empty(dims);
        let result = self.fresh();
        let t = tensor_type(dims);
        self.emit(format!(
            "{result} = linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = [\"parallel\", \"parallel\", \"parallel\", \"parallel\"]}} ins({} : {}) outs({empty} : {t}) {{",
            constant.ssa,
            tensor_type(&constant.dims),
        ));
        self.lines.push("  ^bb0(%in: f32, %out: f32):".into());
        self.lines.push("    linalg.yield %in : f32".into());
        self.lines.push(format!("  }} -> {t}"));
        result
    }

    /// `x[n, c, h, w] + bias[c]`.
    fn add_per_channel(&mut self, x: &Value, bias: &Value) -> Value {
        let empty = self.empty(&x.dims);
        let result = self.fresh();
        let t = tensor_type(&x.dims);
        self.emit(format!(
            "{result} = linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = [\"parallel\", \"parallel\", \"parallel\", \"parallel\"]}} ins({}, {} : {t}, {}) outs({empty} : {t}) {{",
            x.ssa,
            bias.ssa,
            tensor_type(&bias.dims),
        ));
        self.lines
            .push("  ^bb0(%in: f32, %b: f32, %out: f32):".into());
        self.lines.push("    %s = arith.addf %in, %b : f32".into());
        self.lines.push("    linalg.yield %s : f32".into());
        self.lines.push(format!("  }} -> {t}"));
        Value {
            ssa: result,
            dims: x.dims.clone(),
            data: None,
        }
    }
}
