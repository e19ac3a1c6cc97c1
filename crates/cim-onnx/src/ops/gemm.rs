//! Gemm and MatMul: weight-stationary products by a constant 2-D weight, as
//! `linalg.matmul` (what `convert-linalg-to-cim` makes analog); a MatMul input of
//! rank above 2 has its leading dimensions collapsed into rows of one product.

use crate::OnnxError;
use crate::dim::{Dim, product, shape_text};
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
        let b = self.input(node, 1)?;
        let constant_weight = b.data.is_some() && b.dims.len() == 2;
        if !gemm && !constant_weight {
            // A product of two computed values (attention's Q.K^T and P.V): digital.
            let b = self.materialise(b);
            return self
                .matmul_activations(&a, &b)
                .map_err(|m| self.unsupported(node, m));
        }
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
        let Some(data) = b.data.clone() else {
            return Err(self.unsupported(node, "the weight (input 1) must be a constant initializer: only weight-stationary products are mapped"));
        };
        if b.dims.len() != 2 {
            return Err(self.unsupported(node, "the weight must be 2-D"));
        }
        let (rows, cols) = (
            b.dims[0].known().unwrap_or(0),
            b.dims[1].known().unwrap_or(0),
        );
        let transposed = gemm && attr_i("transB") != 0;
        let (k, n) = if transposed {
            (cols, rows)
        } else {
            (rows, cols)
        };
        if a.dims[1] != Dim::Known(k) {
            return Err(self.unsupported(
                node,
                format!("input features {} do not match the weight's {k}", a.dims[1]),
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
                let dims: Vec<u64> = bias.dims.iter().map(|d| d.known().unwrap_or(0)).collect();
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
        let b = self.input(node, 1)?;
        let (Some(data), [Dim::Known(k), Dim::Known(n)]) = (b.data.clone(), b.dims.as_slice())
        else {
            return Err(self.unsupported(
                node,
                "the weight (input 1) must be a constant 2-D initializer",
            ));
        };
        let (k, n) = (*k, *n);
        if a.dims[rank - 1] != Dim::Known(k) {
            return Err(self.unsupported(
                node,
                format!(
                    "input features {} do not match the weight's {k}",
                    a.dims[rank - 1]
                ),
            ));
        }
        let weight = self.constant(&[k, n], &data);
        self.matmul_rows(&a, &weight)
            .map_err(|m| self.unsupported(node, m))
    }

    /// `(..., K) x (K, N)`: the leading dimensions collapsed into the rows of one
    /// `linalg.matmul`, expanded back.
    fn matmul_rows(&mut self, a: &Value, weight: &Value) -> Result<Value, String> {
        let rank = a.dims.len();
        if rank == 2 {
            return self.matmul(a, weight);
        }
        let rows = product(&a.dims[..rank - 1]).ok_or_else(|| {
            format!(
                "the leading dimensions of {} hold two dynamic sizes",
                shape_text(&a.dims)
            )
        })?;
        let groups = vec![(0..rank - 1).collect::<Vec<_>>(), vec![rank - 1]];
        let flat = self.regroup(a, &groups, vec![rows, a.dims[rank - 1]]);
        let product = self.matmul(&flat, weight)?;
        let mut dims = a.dims.clone();
        dims[rank - 1] = weight.dims[1];
        Ok(self.regroup(&product, &groups, dims))
    }

    /// The product of two computed values, `(..., M, K) x (..., K, N)`, with NumPy's
    /// matmul rules for the leading (batch) dimensions: the attention products, digital
    /// work for the NMDU's matrix unit. Equal batch dimensions are collapsed into one
    /// `linalg.batch_matmul`; a 2-D right operand is one `linalg.matmul` over the
    /// collapsed rows of the left.
    pub(crate) fn matmul_activations(&mut self, a: &Value, b: &Value) -> Result<Value, String> {
        let (ra, rb) = (a.dims.len(), b.dims.len());
        if ra < 2 || rb < 2 {
            return Err(format!(
                "a MatMul of computed values needs operands of rank 2 or more, got {} and {}",
                shape_text(&a.dims),
                shape_text(&b.dims)
            ));
        }
        let (k, k2, n) = (a.dims[ra - 1], b.dims[rb - 2], b.dims[rb - 1]);
        if k != k2 || k.is_dynamic() {
            return Err(format!(
                "the contracted dimensions differ or are dynamic: {} x {}",
                shape_text(&a.dims),
                shape_text(&b.dims)
            ));
        }
        let too_many = || {
            format!(
                "the batch dimensions of {} hold two dynamic sizes",
                shape_text(&a.dims)
            )
        };
        if rb == 2 {
            return self.matmul_rows(a, b);
        }
        if ra != rb || a.dims[..ra - 2] != b.dims[..rb - 2] {
            return Err(format!(
                "a MatMul of computed values needs equal batch dimensions (no broadcasting yet), got {} x {}",
                shape_text(&a.dims),
                shape_text(&b.dims)
            ));
        }
        let m = a.dims[ra - 2];
        let batch = product(&a.dims[..ra - 2]).ok_or_else(too_many)?;
        // Collapse the batch dimensions into one (a no-op for rank 3).
        let mut groups: Vec<Vec<usize>> = vec![(0..ra - 2).collect()];
        groups.push(vec![ra - 2]);
        groups.push(vec![ra - 1]);
        let (a3, b3) = if ra == 3 {
            (a.clone(), b.clone())
        } else {
            (
                self.regroup(a, &groups, vec![batch, m, k]),
                self.regroup(b, &groups, vec![batch, k, n]),
            )
        };
        let dims = vec![batch, m, n];
        let acc = self.filled(&dims, 0.0).ssa;
        let out_type = tensor_type(&dims);
        let result = self.fresh();
        self.emit(format!(
            "{result} = linalg.batch_matmul ins({}, {} : {}, {}) outs({acc} : {out_type}) -> {out_type}",
            a3.ssa,
            b3.ssa,
            tensor_type(&a3.dims),
            tensor_type(&b3.dims)
        ));
        let product = Value {
            ssa: result,
            dims,
            data: None,
        };
        if ra == 3 {
            return Ok(product);
        }
        let mut out = a.dims.clone();
        out[ra - 1] = n;
        Ok(self.regroup(&product, &groups, out))
    }
}
