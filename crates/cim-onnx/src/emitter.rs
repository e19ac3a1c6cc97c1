//! The MLIR text emitter: the [`Emitter`] state (the lines written so far, fresh SSA
//! names, the graph's values), a [`Value`] as MLIR sees it, the text of tensor types
//! and literals, and the generic builders every operator family uses: index
//! constants, `tensor.empty`, constants, element-wise and reduction `linalg.generic`s
//! with NumPy broadcasting, and `linalg.matmul` products.

use crate::OnnxError;
use crate::fold::SymDim;
use std::collections::HashMap;
use tract_onnx::pb::NodeProto;

/// A value of the graph as MLIR sees it.
#[derive(Clone, Debug)]
pub(crate) struct Value {
    pub(crate) ssa: String,
    pub(crate) dims: Vec<Option<u64>>,
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
    pub(crate) signature: (Vec<String>, Vec<String>),
    pub(crate) outputs: Vec<String>,
}

pub(crate) fn tensor_type(dims: &[Option<u64>]) -> String {
    let mut text = String::from("tensor<");
    for dim in dims {
        match dim {
            Some(size) => text.push_str(&format!("{size}x")),
            None => text.push_str("?x"),
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
    let bytes: String = values
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .map(|b| format!("{b:02X}"))
        .collect();
    let shape: Vec<Option<u64>> = dims.iter().copied().map(Some).collect();
    format!("dense<\"0x{bytes}\"> : {}", tensor_type(&shape))
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

    /// `tensor.empty` of `dims`, reading each dynamic size from a source whose
    /// right-aligned dimension is dynamic there.
    fn empty(&mut self, dims: &[Option<u64>], sources: &[Value]) -> Result<String, String> {
        let mut sizes = Vec::new();
        for (position, dim) in dims.iter().enumerate() {
            if dim.is_some() {
                continue;
            }
            let found = sources.iter().find_map(|source| {
                let offset = dims.len().checked_sub(source.dims.len())?;
                let axis = position.checked_sub(offset)?;
                source.dims[axis]
                    .is_none()
                    .then(|| (source.ssa.clone(), source.dims.clone(), axis))
            });
            let (ssa, source_dims, axis) =
                found.ok_or("cannot tell the size of a dynamic dimension")?;
            let index = self.index(axis);
            let size = self.fresh();
            self.emit(format!(
                "{size} = tensor.dim {ssa}, {index} : {}",
                tensor_type(&source_dims)
            ));
            sizes.push(size);
        }
        let empty = self.fresh();
        self.emit(format!(
            "{empty} = tensor.empty({}) : {}",
            sizes.join(", "),
            tensor_type(dims)
        ));
        Ok(empty)
    }

    /// `tensor.empty` of `dims`, the dynamic ones sized by `sizes` in order.
    pub(crate) fn empty_sized(&mut self, dims: &[Option<u64>], sizes: &[String]) -> String {
        let empty = self.fresh();
        self.emit(format!(
            "{empty} = tensor.empty({}) : {}",
            sizes.join(", "),
            tensor_type(dims)
        ));
        empty
    }

    /// `tensor.empty` whose only dynamic dimension is the batch (dimension 0), read from
    /// `source`'s dimension 0.
    pub(crate) fn empty_batch(&mut self, dims: &[Option<u64>], source: &Value) -> String {
        let sizes = match dims.first() {
            Some(None) => self.size_operand(source, 0),
            _ => String::new(),
        };
        let empty = self.fresh();
        self.emit(format!(
            "{empty} = tensor.empty({sizes}) : {}",
            tensor_type(dims)
        ));
        empty
    }

    /// Dimension `axis` of `source` as a size operand: the literal when static, a
    /// `tensor.dim` value when dynamic (as `output_shape` and `tensor.empty` want).
    pub(crate) fn size_operand(&mut self, source: &Value, axis: usize) -> String {
        match source.dims[axis] {
            Some(size) => size.to_string(),
            None => {
                let index = self.index(axis);
                let size = self.fresh();
                self.emit(format!(
                    "{size} = tensor.dim {}, {index} : {}",
                    source.ssa,
                    tensor_type(&source.dims)
                ));
                size
            }
        }
    }

    pub(crate) fn constant(&mut self, dims: &[u64], values: &[f32]) -> Value {
        let ssa = self.fresh();
        self.emit(format!("{ssa} = arith.constant {}", dense(dims, values)));
        Value {
            ssa,
            dims: dims.iter().copied().map(Some).collect(),
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
        let mut dims = vec![Some(1u64); rank];
        for input in inputs {
            let offset = rank - input.dims.len();
            for (axis, dim) in input.dims.iter().enumerate() {
                let out = &mut dims[offset + axis];
                *out = match (*out, *dim) {
                    (Some(1), d) => d,
                    (o, Some(1)) => o,
                    (Some(a), Some(b)) if a != b => {
                        return Err(format!("shapes do not broadcast: {a} vs {b}"));
                    }
                    (Some(a), _) => Some(a),
                    (None, d) => d.or(None),
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
                    if *dim == Some(1) && dims[offset + axis] != Some(1) {
                        "0".to_owned()
                    } else {
                        format!("d{}", offset + axis)
                    }
                })
                .collect();
            maps.push(map(results));
        }
        maps.push(map(domain.clone()));
        let empty = self.empty(&dims, inputs)?;
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
        dims: &[Option<u64>],
        out_map: &str,
        iterators: &[&str],
        init: f32,
        combine: &str,
    ) -> Value {
        let empty = self.empty_batch(dims, inputs[0].0);
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
        let empty = self.empty(&dims, std::slice::from_ref(input))?;
        let zero = self.fresh();
        self.emit(format!("{zero} = arith.constant 0.000000e+00 : f32"));
        let acc = self.fresh();
        let out_type = tensor_type(&dims);
        self.emit(format!(
            "{acc} = linalg.fill ins({zero} : f32) outs({empty} : {out_type}) -> {out_type}"
        ));
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
