//! Conv (NCHW, 2-D, with groups): im2col, one weight-stationary matmul per group,
//! and a layout change back to NCHW.

use super::window::Window2d;
use crate::OnnxError;
use crate::emitter::{Emitter, Value, tensor_type};
use crate::proto::attribute;
use tract_onnx::pb::NodeProto;

impl Emitter {
    /// Conv (NCHW, one group) as im2col, a weight-stationary matmul, and a layout
    /// change back: the matmul is what becomes analog.
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
        let fdims: Vec<i64> = weight.dims.iter().map(|d| d.unwrap_or(0) as i64).collect();
        let (filters, channels, kh, kw) = (fdims[0], fdims[1], fdims[2], fdims[3]);
        if groups < 1 || filters % groups != 0 {
            return Err(self.unsupported(
                node,
                format!("group {groups} must be >= 1 and divide the {filters} filters"),
            ));
        }
        if input.dims[1].is_some_and(|c| c as i64 != channels * groups) {
            return Err(self.unsupported(
                node,
                format!(
                    "the input has {} channels, the filter {channels} per group x {groups} groups",
                    input.dims[1].unwrap_or(0)
                ),
            ));
        }
        let Window2d {
            strides,
            pads,
            dilations,
            ..
        } = self.window(node, [kh, kw])?;
        let padded = self.pad(&input, pads, 0.0);
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
        let mut products = Vec::new();
        for group in 0..g {
            // Each group sees its own input channels and filters: one im2col and one
            // weight-stationary matmul per group.
            let channels = if g == 1 {
                padded.clone()
            } else {
                let sizes = [padded.dims[0], Some(c), padded.dims[2], padded.dims[3]];
                self.extract(&padded, &[0, group * c, 0, 0], &sizes)
            };
            let flat = self.im2col(&channels, [kh, kw], strides, dilations, [oh, ow]);
            // FCHW is row-major F x (C*KH*KW): this group's filters, transposed, are
            // the (c, kh, kw) x filters matrix.
            let first = group * per_group;
            let matrix: Vec<f32> = (0..k * per_group)
                .map(|i| filter[((first + i % per_group) * k + i / per_group) as usize])
                .collect();
            products.push(
                self.matmul_constant(&flat, k, per_group, &matrix)
                    .map_err(|m| self.unsupported(node, m))?,
            );
        }
        let mut product = if products.len() == 1 {
            products.remove(0)
        } else {
            self.concat(&products, 1)
                .map_err(|m| self.unsupported(node, m))?
        };
        if let Some(bias) = self.optional_input(node, 2)? {
            let bias = self.materialise(bias);
            product = self
                .elementwise(&[product, bias], |x, next| {
                    let t = next();
                    (
                        vec![format!("{t} = arith.addf {}, {} : f32", x[0], x[1])],
                        t,
                    )
                })
                .map_err(|m| self.unsupported(node, m))?;
        }
        let nhwc_dims = vec![input.dims[0], Some(oh), Some(ow), Some(f)];
        let batch = self.size_operand(&input, 0);
        let nhwc = self.fresh();
        self.emit(format!(
            "{nhwc} = tensor.expand_shape {} [[0, 1, 2], [3]] output_shape [{batch}, {oh}, {ow}, {f}] : {} into {}",
            product.ssa,
            tensor_type(&product.dims),
            tensor_type(&nhwc_dims)
        ));
        let nchw_dims = vec![input.dims[0], Some(f), Some(oh), Some(ow)];
        let nhwc = Value {
            ssa: nhwc,
            dims: nhwc_dims,
            data: None,
        };
        let empty = self.empty_batch(&nchw_dims, &nhwc);
        let result = self.fresh();
        self.emit(format!(
            "{result} = linalg.transpose ins({} : {}) outs({empty} : {}) permutation = [0, 3, 1, 2]",
            nhwc.ssa,
            tensor_type(&nhwc.dims),
            tensor_type(&nchw_dims)
        ));
        Ok(Value {
            ssa: result,
            dims: nchw_dims,
            data: None,
        })
    }

    /// The im2col matrix of an NCHW value: one row per output position (n, oh, ow),
    /// one column per (c, kh, kw): `input(n, c, oh * sh + kh * dh, ow * sw + kw * dw)`.
    fn im2col(
        &mut self,
        input: &Value,
        kernel: [u64; 2],
        strides: [i64; 2],
        dilations: [i64; 2],
        out: [u64; 2],
    ) -> Value {
        let c = input.dims[1].unwrap_or(0);
        let columns_dims = vec![
            input.dims[0],
            Some(out[0]),
            Some(out[1]),
            Some(c),
            Some(kernel[0]),
            Some(kernel[1]),
        ];
        let empty = self.empty_batch(&columns_dims, input);
        let columns = self.fresh();
        let columns_type = tensor_type(&columns_dims);
        self.emit(format!(
            "{columns} = linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 * {} + d4 * {}, d2 * {} + d5 * {})>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>], iterator_types = [{}]}} ins({} : {}) outs({empty} : {columns_type}) {{",
            strides[0], dilations[0], strides[1], dilations[1],
            ["\"parallel\""; 6].join(", "),
            input.ssa,
            tensor_type(&input.dims)
        ));
        self.lines.push("  ^bb0(%in: f32, %out: f32):".into());
        self.lines.push("    linalg.yield %in : f32".into());
        self.lines.push(format!("  }} -> {columns_type}"));
        let rows = input.dims[0].map(|n| n * out[0] * out[1]);
        let flat_dims = vec![rows, Some(c * kernel[0] * kernel[1])];
        let flat = self.fresh();
        self.emit(format!(
            "{flat} = tensor.collapse_shape {columns} [[0, 1, 2], [3, 4, 5]] : {columns_type} into {}",
            tensor_type(&flat_dims)
        ));
        Value {
            ssa: flat,
            dims: flat_dims,
            data: None,
        }
    }
}
