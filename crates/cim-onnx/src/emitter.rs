//! The MLIR text emitter: the [`Emitter`] state (the lines written so far, fresh SSA
//! names, the graph's values), a [`Value`] as MLIR sees it, the text of tensor types
//! and literals, and the generic builders every operator family uses: index
//! constants, `tensor.empty`, constants, element-wise and reduction `linalg.generic`s
//! with NumPy broadcasting, and `linalg.matmul` products.

use crate::OnnxError;
use crate::dim::Dim;
use crate::fold::SymDim;
use std::collections::HashMap;
use tract_onnx::pb::NodeProto;

/// A value of the graph as MLIR sees it.
#[derive(Clone, Debug)]
pub(crate) struct Value {
    pub(crate) ssa: String,
    pub(crate) dims: Vec<Dim>,
    /// The data, when the value is a compile-time constant.
    pub(crate) data: Option<Vec<f32>>,
}

#[derive(Default)]
pub(crate) struct Emitter {
    pub(crate) file: String,
    pub(crate) opset: i64,
    pub(crate) lines: Vec<String>,
    pub(crate) counter: usize,
    pub(crate) values: HashMap<String, Value>,
    /// 1-D integer values known as dimension sizes (what `Shape` produces and torch's
    /// shape subgraphs compute with), folded at import.
    pub(crate) symbolic: HashMap<String, Vec<SymDim>>,
    pub(crate) indices: HashMap<usize, String>,
    /// The graph's dynamic sizes, by symbol: the graph input dimension each is read
    /// from (its SSA name, type and axis) and its `dim_param` name.
    pub(crate) dynamic: Vec<DynamicSize>,
    /// Size operands already computed, by dimension.
    pub(crate) sizes: HashMap<(usize, u64), String>,
    pub(crate) signature: (Vec<String>, Vec<String>),
    pub(crate) outputs: Vec<String>,
}

/// Where a dynamic size is read: dimension `axis` of the graph input `ssa`.
#[derive(Clone, Debug)]
pub(crate) struct DynamicSize {
    pub(crate) name: String,
    pub(crate) ssa: String,
    pub(crate) dims: Vec<Dim>,
    pub(crate) axis: usize,
}

pub(crate) fn tensor_type(dims: &[Dim]) -> String {
    let mut text = String::from("tensor<");
    for dim in dims {
        match dim {
            Dim::Known(size) => text.push_str(&format!("{size}x")),
            Dim::Dynamic { .. } => text.push_str("?x"),
        }
    }
    text.push_str("f32>");
    text
}

/// An exact MLIR f32 literal.
pub(crate) fn f32_literal(value: f32) -> String {
    format!("0x{:08X}", value.to_bits())
}

fn dense(dims: &[u64], values: &[f32]) -> String {
    // Hex by table: weights are tens of megabytes, and `format!` per byte dominated
    // importing a pre-trained model.
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let shape: Vec<Dim> = dims.iter().copied().map(Dim::Known).collect();
    let mut text = Vec::with_capacity(values.len() * 8 + 64);
    text.extend_from_slice(b"dense<\"0x");
    for value in values {
        for byte in value.to_le_bytes() {
            text.push(DIGITS[usize::from(byte >> 4)]);
            text.push(DIGITS[usize::from(byte & 15)]);
        }
    }
    text.extend_from_slice(format!("\"> : {}", tensor_type(&shape)).as_bytes());
    // Only ASCII was written.
    String::from_utf8(text).unwrap_or_default()
}

impl Emitter {
    pub(crate) fn fresh(&mut self) -> String {
        self.counter += 1;
        format!("%v{}", self.counter)
    }

    pub(crate) fn emit(&mut self, line: String) {
        self.lines.push(format!("  {line}"));
    }

    pub(crate) fn unsupported(&self, node: &NodeProto, message: impl Into<String>) -> OnnxError {
        OnnxError::Unsupported {
            file: self.file.clone(),
            node: if node.name.is_empty() {
                node.output.first().cloned().unwrap_or_default()
            } else {
                node.name.clone()
            },
            op: node.op_type.clone(),
            opset: self.opset,
            message: message.into(),
        }
    }

    fn index(&mut self, value: usize) -> String {
        if let Some(name) = self.indices.get(&value) {
            return name.clone();
        }
        let name = format!("%c{value}");
        self.emit(format!("{name} = arith.constant {value} : index"));
        self.indices.insert(value, name.clone());
        name
    }

    /// `tensor.empty` of `dims`.
    pub(crate) fn empty(&mut self, dims: &[Dim]) -> String {
        let sizes: Vec<String> = dims
            .iter()
            .filter(|d| d.is_dynamic())
            .map(|&d| self.size_of(d))
            .collect();
        let empty = self.fresh();
        self.emit(format!(
            "{empty} = tensor.empty({}) : {}",
            sizes.join(", "),
            tensor_type(dims)
        ));
        empty
    }

    /// A tensor of `dims` filled with `value`.
    pub(crate) fn filled(&mut self, dims: &[Dim], value: f32) -> Value {
        let empty = self.empty(dims);
        let scalar = self.fresh();
        self.emit(format!(
            "{scalar} = arith.constant {} : f32",
            f32_literal(value)
        ));
        let filled = self.fresh();
        let t = tensor_type(dims);
        self.emit(format!(
            "{filled} = linalg.fill ins({scalar} : f32) outs({empty} : {t}) -> {t}"
        ));
        Value {
            ssa: filled,
            dims: dims.to_vec(),
            data: None,
        }
    }

    /// A size as an `index` operand (as `output_shape`, `tensor.empty` and
    /// `tensor.extract_slice` want): the literal when known; when dynamic, read from
    /// the graph input it comes from and multiplied by its factor.
    pub(crate) fn size_of(&mut self, dim: Dim) -> String {
        let (symbol, factor) = match dim {
            Dim::Known(size) => return size.to_string(),
            Dim::Dynamic { symbol, factor } => (symbol, factor),
        };
        if let Some(size) = self.sizes.get(&(symbol, factor)) {
            return size.clone();
        }
        let size = if factor == 1 {
            let source = self.dynamic[symbol].clone();
            let index = self.index(source.axis);
            let size = self.fresh();
            self.emit(format!(
                "{size} = tensor.dim {}, {index} : {}",
                source.ssa,
                tensor_type(&source.dims)
            ));
            size
        } else {
            let base = self.size_of(Dim::Dynamic { symbol, factor: 1 });
            let multiple = self.index(factor as usize);
            let size = self.fresh();
            self.emit(format!("{size} = arith.muli {base}, {multiple} : index"));
            size
        };
        self.sizes.insert((symbol, factor), size.clone());
        size
    }

    pub(crate) fn constant(&mut self, dims: &[u64], values: &[f32]) -> Value {
        let ssa = self.fresh();
        self.emit(format!("{ssa} = arith.constant {}", dense(dims, values)));
        Value {
            ssa,
            dims: dims.iter().copied().map(Dim::Known).collect(),
            data: Some(values.to_vec()),
        }
    }

    /// A `linalg.generic` applying `body` element-wise with NumPy broadcasting. The
    /// body gets the scalar names of the inputs and returns its lines and result.
    pub(crate) fn elementwise(
        &mut self,
        inputs: &[Value],
        body: impl Fn(&[String], &mut dyn FnMut() -> String) -> (Vec<String>, String),
    ) -> Result<Value, String> {
        let rank = inputs.iter().map(|v| v.dims.len()).max().unwrap_or(0);
        let one = Dim::Known(1);
        let mut dims = vec![one; rank];
        for input in inputs {
            let offset = rank - input.dims.len();
            for (axis, &dim) in input.dims.iter().enumerate() {
                let out = &mut dims[offset + axis];
                *out = match (*out, dim) {
                    (o, d) if o == one => d,
                    (o, d) if d == one => o,
                    (Dim::Known(a), Dim::Known(b)) if a != b => {
                        return Err(format!("shapes do not broadcast: {a} vs {b}"));
                    }
                    // A known size fixes a dynamic one it meets (checked at run time).
                    (Dim::Known(a), _) | (_, Dim::Known(a)) => Dim::Known(a),
                    (o, _) => o,
                };
            }
        }
        let domain: Vec<String> = (0..rank).map(|d| format!("d{d}")).collect();
        let map = |results: Vec<String>| {
            format!(
                "affine_map<({}) -> ({})>",
                domain.join(", "),
                results.join(", ")
            )
        };
        let mut maps = Vec::new();
        for input in inputs {
            let offset = rank - input.dims.len();
            let results = input
                .dims
                .iter()
                .enumerate()
                .map(|(axis, dim)| {
                    if *dim == one && dims[offset + axis] != one {
                        "0".to_owned()
                    } else {
                        format!("d{}", offset + axis)
                    }
                })
                .collect();
            maps.push(map(results));
        }
        maps.push(map(domain.clone()));
        let empty = self.empty(&dims);
        let result = self.fresh();
        let arguments: Vec<String> = (0..inputs.len()).map(|i| format!("%in{i}")).collect();
        let mut temporaries = 0;
        let mut next = || {
            temporaries += 1;
            format!("%t{temporaries}")
        };
        let (lines, value) = body(&arguments, &mut next);
        let types: Vec<String> = inputs.iter().map(|v| tensor_type(&v.dims)).collect();
        let out_type = tensor_type(&dims);
        self.emit(format!(
            "{result} = linalg.generic {{indexing_maps = [{}], iterator_types = [{}]}} ins({} : {}) outs({empty} : {out_type}) {{",
            maps.join(", "),
            vec!["\"parallel\""; rank].join(", "),
            inputs.iter().map(|v| v.ssa.as_str()).collect::<Vec<_>>().join(", "),
            types.join(", ")
        ));
        let block_args: Vec<String> = arguments
            .iter()
            .map(|a| format!("{a}: f32"))
            .chain(["%out: f32".to_owned()])
            .collect();
        self.lines
            .push(format!("  ^bb0({}):", block_args.join(", ")));
        for line in lines {
            self.lines.push(format!("    {line}"));
        }
        self.lines.push(format!("    linalg.yield {value} : f32"));
        self.lines.push(format!("  }} -> {out_type}"));
        Ok(Value {
            ssa: result,
            dims,
            data: None,
        })
    }

    /// `value * factor`, element-wise.
    pub(crate) fn scaled(&mut self, value: Value, factor: f32) -> Result<Value, String> {
        self.elementwise(&[value], move |x, next| {
            let (s, t) = (next(), next());
            (
                vec![
                    format!("{s} = arith.constant {} : f32", f32_literal(factor)),
                    format!("{t} = arith.mulf {}, {s} : f32", x[0]),
                ],
                t,
            )
        })
    }

    /// A reduction `linalg.generic`: `combine` folds each element of the first input
    /// into the output element its map points at, starting from `init`. Further
    /// inputs only give loop extents (a pooling window's shape).
    pub(crate) fn reduction(
        &mut self,
        inputs: &[(&Value, String)],
        dims: &[Dim],
        out_map: &str,
        iterators: &[&str],
        init: f32,
        combine: &str,
    ) -> Value {
        let empty = self.empty(dims);
        let start = self.fresh();
        self.emit(format!(
            "{start} = arith.constant {} : f32",
            f32_literal(init)
        ));
        let filled = self.fresh();
        let out_type = tensor_type(dims);
        self.emit(format!(
            "{filled} = linalg.fill ins({start} : f32) outs({empty} : {out_type}) -> {out_type}"
        ));
        let result = self.fresh();
        let maps: Vec<&str> = inputs
            .iter()
            .map(|(_, map)| map.as_str())
            .chain([out_map])
            .collect();
        let names: Vec<&str> = inputs.iter().map(|(value, _)| value.ssa.as_str()).collect();
        let types: Vec<String> = inputs
            .iter()
            .map(|(value, _)| tensor_type(&value.dims))
            .collect();
        let iterators: Vec<String> = iterators.iter().map(|i| format!("\"{i}\"")).collect();
        self.emit(format!(
            "{result} = linalg.generic {{indexing_maps = [{}], iterator_types = [{}]}} ins({} : {}) outs({filled} : {out_type}) {{",
            maps.join(", "),
            iterators.join(", "),
            names.join(", "),
            types.join(", ")
        ));
        let arguments: Vec<String> = (0..inputs.len())
            .map(|i| {
                if i == 0 {
                    "%in: f32".to_owned()
                } else {
                    format!("%extent{i}: f32")
                }
            })
            .chain(["%acc: f32".to_owned()])
            .collect();
        self.lines
            .push(format!("  ^bb0({}):", arguments.join(", ")));
        self.lines
            .push(format!("    %r = arith.{combine} %in, %acc : f32"));
        self.lines.push("    linalg.yield %r : f32".into());
        self.lines.push(format!("  }} -> {out_type}"));
        Value {
            ssa: result,
            dims: dims.to_vec(),
            data: None,
        }
    }

    /// Folds `axes` of `input` with `combine` from `init` (an `arith` op name: addf,
    /// maximumf, minimumf), keeping them as unit dimensions so the result broadcasts
    /// against the input.
    pub(crate) fn reduce_keeping(
        &mut self,
        input: &Value,
        axes: &[usize],
        init: f32,
        combine: &str,
    ) -> Result<Value, String> {
        let rank = input.dims.len();
        let domain: Vec<String> = (0..rank).map(|d| format!("d{d}")).collect();
        let kept: Vec<usize> = (0..rank).filter(|a| !axes.contains(a)).collect();
        let dims: Vec<Dim> = kept.iter().map(|&a| input.dims[a]).collect();
        let out: Vec<String> = kept.iter().map(|&a| domain[a].clone()).collect();
        let iterators: Vec<&str> = (0..rank)
            .map(|a| {
                if axes.contains(&a) {
                    "reduction"
                } else {
                    "parallel"
                }
            })
            .collect();
        let domain = format!("({})", domain.join(", "));
        let reduced = self.reduction(
            &[(input, format!("affine_map<{domain} -> {domain}>"))],
            &dims,
            &format!("affine_map<{domain} -> ({})>", out.join(", ")),
            &iterators,
            init,
            combine,
        );
        let mut axes = axes.to_vec();
        axes.sort_unstable();
        if axes.len() == rank {
            // Rank 0 back to all-unit dimensions.
            let result = self.fresh();
            let dims = vec![Dim::Known(1); rank];
            self.emit(format!(
                "{result} = tensor.expand_shape {} [] output_shape [{}] : {} into {}",
                reduced.ssa,
                vec!["1"; rank].join(", "),
                tensor_type(&reduced.dims),
                tensor_type(&dims)
            ));
            return Ok(Value {
                ssa: result,
                dims,
                data: None,
            });
        }
        self.unsqueeze(&reduced, &axes)
    }

    /// The mean over `axes`, kept as unit dimensions.
    pub(crate) fn mean_keeping(&mut self, input: &Value, axes: &[usize]) -> Result<Value, String> {
        let count = axes.iter().try_fold(1u64, |n, &a| {
            input.dims[a]
                .known()
                .map(|d| n * d)
                .ok_or("a mean over a dynamic dimension is not supported")
        })?;
        let sum = self.reduce_keeping(input, axes, 0.0, "addf")?;
        self.scaled(sum, 1.0 / count as f32)
    }

    /// `input . weight` with a constant (k x n) weight, as linalg.matmul on a zero
    /// accumulator: the form convert-linalg-to-cim makes analog.
    pub(crate) fn matmul_constant(
        &mut self,
        input: &Value,
        k: u64,
        n: u64,
        weight: &[f32],
    ) -> Result<Value, String> {
        let w = self.constant(&[k, n], weight);
        self.matmul(input, &w)
    }

    /// `input . weight` as linalg.matmul on a zero accumulator; with a constant
    /// weight, the form convert-linalg-to-cim makes analog. Reusing one weight value
    /// in several products lets them share arrays.
    pub(crate) fn matmul(&mut self, input: &Value, weight: &Value) -> Result<Value, String> {
        let dims = vec![input.dims[0], weight.dims[1]];
        let acc = self.filled(&dims, 0.0).ssa;
        let out_type = tensor_type(&dims);
        let result = self.fresh();
        self.emit(format!(
            "{result} = linalg.matmul ins({}, {} : {}, {}) outs({acc} : {out_type}) -> {out_type}",
            input.ssa,
            weight.ssa,
            tensor_type(&input.dims),
            tensor_type(&weight.dims)
        ));
        Ok(Value {
            ssa: result,
            dims,
            data: None,
        })
    }
}
