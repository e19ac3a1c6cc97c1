//! Gemm and MatMul: weight-stationary products by a constant 2-D weight, as
//! `linalg.matmul` (what `convert-linalg-to-cim` makes analog); a MatMul input of
//! rank above 2 has its leading dimensions collapsed into rows of one product.

use crate::OnnxError;
use crate::emitter::{Emitter, Value, tensor_type};
use crate::proto::attribute;
use tract_onnx::pb::NodeProto;

impl Emitter {
    pub(crate) fn gemm(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let attr_i = |name: &str| attribute(node, name).map_or(0, |a| a.i);
        let attr_f = |name: &str| attribute(node, name).map_or(1.0, |a| a.f);
        let gemm = node.op_type == "Gemm";
        let (alpha, beta) = if gemm {
            (attr_f("alpha"), attr_f("beta"))
        } else {
            (1.0, 1.0)
        };
        if gemm && attr_i("transA") != 0 {
            return Err(self.unsupported(
                node,
                "transA=1 is not supported: transpose the input before the Gemm",
            ));
        }
        let a = self.input(node, 0)?;
        let a = self.materialise(a);
        if !gemm && a.dims.len() > 2 {
            // (..., K) x (K, N): the leading dimensions become rows of one 2-D product
            // (the projections of a sequence or of attention heads), then come back.
            return self.matmul_batched(node, a);
        }
        if a.dims.len() != 2 {
            return Err(self.unsupported(
                node,
                format!(
                    "the input must be 2-D (batch x features), got rank {}: flatten it first",
                    a.dims.len()
                ),
            ));
        }
        let b = self.input(node, 1)?;
        let Some(data) = b.data.clone() else {
            return Err(self.unsupported(node, "the weight (input 1) must be a constant initializer: only weight-stationary products are mapped"));
        };
        if b.dims.len() != 2 {
            return Err(self.unsupported(node, "the weight must be 2-D"));
        }
        let (rows, cols) = (b.dims[0].unwrap_or(0), b.dims[1].unwrap_or(0));
        let transposed = gemm && attr_i("transB") != 0;
        let (k, n) = if transposed {
            (cols, rows)
        } else {
            (rows, cols)
        };
        if a.dims[1].is_some_and(|d| d != k) {
            return Err(self.unsupported(
                node,
                format!(
                    "input features {} do not match the weight's {k}",
                    a.dims[1].unwrap_or(0)
                ),
            ));
        }
        let weight: Vec<f32> = (0..k * n)
            .map(|i| {
                let (r, c) = (i / n, i % n);
                alpha
                    * if transposed {
                        data[(c * cols + r) as usize]
                    } else {
                        data[i as usize]
                    }
            })
            .collect();
        let product = self
            .matmul_constant(&a, k, n, &weight)
            .map_err(|m| self.unsupported(node, m))?;
        let Some(bias) = self.optional_input(node, 2)?.filter(|_| gemm) else {
            return Ok(product);
        };
        let bias = match bias.data {
            Some(data) => {
                let dims: Vec<u64> = bias.dims.iter().map(|d| d.unwrap_or(0)).collect();
                self.constant(&dims, &data.iter().map(|v| v * beta).collect::<Vec<_>>())
            }
            None if beta == 1.0 => self.materialise(bias),
            None => return Err(self.unsupported(node, "beta != 1 needs a constant C")),
        };
        self.elementwise(&[product, bias], |x, next| {
            let t = next();
            (
                vec![format!("{t} = arith.addf {}, {} : f32", x[0], x[1])],
                t,
            )
        })
        .map_err(|m| self.unsupported(node, m))
    }

    /// MatMul of an (..., K) input by a constant (K, N) weight: collapse the leading
    /// dimensions, one weight-stationary product, expand back.
    fn matmul_batched(&mut self, node: &NodeProto, a: Value) -> Result<Value, OnnxError> {
        let rank = a.dims.len();
        if a.dims[1..rank - 1].iter().any(Option::is_none) {
            return Err(self.unsupported(
                node,
                "only the first dimension of a batched MatMul input may be dynamic",
            ));
        }
        let groups = vec![(0..rank - 1).collect::<Vec<_>>(), vec![rank - 1]];
        let rows = a.dims[..rank - 1]
            .iter()
            .try_fold(1u64, |p, d| d.map(|d| p * d));
        let flat = self.regroup(&a, &groups, vec![rows, a.dims[rank - 1]]);
        let b = self.input(node, 1)?;
        let (Some(data), [Some(k), Some(n)]) = (b.data.clone(), b.dims.as_slice()) else {
            return Err(self.unsupported(
                node,
                "the weight (input 1) must be a constant 2-D initializer",
            ));
        };
        let (k, n) = (*k, *n);
        if flat.dims[1].is_some_and(|d| d != k) {
            return Err(self.unsupported(
                node,
                format!(
                    "input features {} do not match the weight's {k}",
                    flat.dims[1].unwrap_or(0)
                ),
            ));
        }
        let product = self
            .matmul_constant(&flat, k, n, &data)
            .map_err(|m| self.unsupported(node, m))?;
        let mut dims = a.dims.clone();
        dims[rank - 1] = Some(n);
        // The expand reads the leading sizes from the input, through the product's
        // first (collapsed) dimension: give them from `a` directly.
        let sizes: Vec<String> = (0..rank)
            .map(|d| {
                if d == rank - 1 {
                    n.to_string()
                } else {
                    self.size_operand(&a, d)
                }
            })
            .collect();
        let result = self.fresh();
        self.emit(format!(
            "{result} = tensor.expand_shape {} [[{}], [{}]] output_shape [{}] : {} into {}",
            product.ssa,
            (0..rank - 1)
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            rank - 1,
            sizes.join(", "),
            tensor_type(&product.dims),
            tensor_type(&dims)
        ));
        Ok(Value {
            ssa: result,
            dims,
            data: None,
        })
    }
}
