#![warn(missing_docs)]
//! The ONNX frontend: an ONNX model becomes an MLIR module in upstream dialects on
//! tensors (`linalg`, `tensor`, `arith`, `math`), which `cimc` then maps.
//!
//! Parsing is tract-onnx's (the protobuf model). Each supported node is written as
//! linalg: weight-stationary `Gemm` / `MatMul` as `linalg.matmul` with the constant
//! weight (which `convert-linalg-to-cim` makes analog), element-wise operators as
//! `linalg.generic` with NumPy broadcasting, `Softmax` as reductions. Opsets 13 to 18
//! are accepted. A node that is not supported is an error naming the node, its
//! operator, the opset and what to do.
//!
//! Supported now: Gemm, MatMul (any rank, by a constant 2-D weight), Conv (with groups), MaxPool, AveragePool,
//! GlobalAveragePool, BatchNormalization (folded into a convolution it alone reads),
//! Add, Sub, Mul, Div, Relu, LeakyRelu,
//! Sigmoid, Tanh, Clip, Softmax (last axis of a 2-D input), Flatten, Reshape (to batch
//! x features), Transpose, Squeeze, Unsqueeze, Concat, Slice, Identity, Dropout,
//! Constant, LSTM and GRU (any direction, unrolled over a static sequence length), and the
//! shape subgraphs torch exports around them (Shape, Gather, Unsqueeze, Concat,
//! ConstantOfShape, Cast), folded at import.

mod recurrent;
mod tensor_ops;

use std::{collections::HashMap, path::Path};
use thiserror::Error;
use tract_onnx::pb::{
    AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, tensor_shape_proto::dimension,
    type_proto,
};
use tract_onnx::tract_core::framework::Framework;

/// Why a model could not be imported.
#[derive(Debug, Error, PartialEq)]
pub enum OnnxError {
    /// The file could not be read or parsed as ONNX.
    #[error("{file}: {message}")]
    Read {
        /// The model file.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// The opset is outside what the importer handles.
    #[error(
        "{file}: the model uses ONNX opset {opset}; cim imports opsets 13 to 18: re-export it with one of those (torch.onnx.export(..., opset_version=17))"
    )]
    Opset {
        /// The model file.
        file: String,
        /// Its default-domain opset.
        opset: i64,
    },
    /// A node the importer does not support.
    #[error("{file}: node '{node}' ({op}, opset {opset}): {message}")]
    Unsupported {
        /// The model file.
        file: String,
        /// The node's name (or its first output when unnamed).
        node: String,
        /// The ONNX operator.
        op: String,
        /// The model's opset.
        opset: i64,
        /// What is not supported and what to do.
        message: String,
    },
}

/// Imports an ONNX file.
pub fn import_file(path: &Path) -> Result<String, OnnxError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| OnnxError::Read {
        file: file.clone(),
        message: error.to_string(),
    })?;
    import_bytes(&bytes, &file)
}

/// Imports a serialized ONNX model; `file` names it in errors.
pub fn import_bytes(bytes: &[u8], file: &str) -> Result<String, OnnxError> {
    let model = tract_onnx::onnx()
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|error| OnnxError::Read {
            file: file.to_owned(),
            message: format!("not an ONNX model: {error}"),
        })?;
    import_model(&model, file)
}

/// Imports a parsed ONNX model.
pub fn import_model(model: &ModelProto, file: &str) -> Result<String, OnnxError> {
    let opset = model
        .opset_import
        .iter()
        .find(|set| set.domain.is_empty() || set.domain == "ai.onnx")
        .map_or(0, |set| set.version);
    if !(13..=18).contains(&opset) {
        return Err(OnnxError::Opset {
            file: file.to_owned(),
            opset,
        });
    }
    let graph = model.graph.as_ref().ok_or_else(|| OnnxError::Read {
        file: file.to_owned(),
        message: "the model has no graph".into(),
    })?;
    let mut emitter = Emitter {
        file: file.to_owned(),
        opset,
        ..Default::default()
    };
    emitter.graph(graph)?;
    Ok(emitter.finish())
}

/// A value of the graph as MLIR sees it.
#[derive(Clone, Debug)]
struct Value {
    ssa: String,
    dims: Vec<Option<u64>>,
    /// The data, when the value is a compile-time constant.
    data: Option<Vec<f32>>,
}

/// A 2-D window: kernel, strides, pads (top, left, bottom, right), dilations.
struct Window2d {
    kernel: [i64; 2],
    strides: [i64; 2],
    pads: [i64; 4],
    dilations: [i64; 2],
}

#[derive(Default)]
struct Emitter {
    file: String,
    opset: i64,
    lines: Vec<String>,
    counter: usize,
    values: HashMap<String, Value>,
    /// 1-D integer values known as dimension sizes (what `Shape` produces and torch's
    /// shape subgraphs compute with), folded at import.
    symbolic: HashMap<String, Vec<tensor_ops::SymDim>>,
    indices: HashMap<usize, String>,
    signature: (Vec<String>, Vec<String>),
    outputs: Vec<String>,
}

fn tensor_type(dims: &[Option<u64>]) -> String {
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
fn f32_literal(value: f32) -> String {
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

fn attribute<'n>(node: &'n NodeProto, name: &str) -> Option<&'n AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

/// The f32 values of a tensor proto (raw, float or double data).
fn tensor_values(tensor: &TensorProto) -> Result<Vec<f32>, String> {
    const FLOAT: i32 = 1;
    const DOUBLE: i32 = 11;
    const INT64: i32 = 7;
    if !tensor.external_data.is_empty() {
        return Err(format!(
            "tensor '{}' has external data: save the model with its weights inside",
            tensor.name
        ));
    }
    match tensor.data_type {
        FLOAT if !tensor.raw_data.is_empty() => Ok(tensor
            .raw_data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()),
        FLOAT => Ok(tensor.float_data.clone()),
        DOUBLE if !tensor.raw_data.is_empty() => Ok(tensor
            .raw_data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect()),
        DOUBLE => Ok(tensor.double_data.iter().map(|&v| v as f32).collect()),
        INT64 if !tensor.raw_data.is_empty() => Ok(tensor
            .raw_data
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect()),
        INT64 => Ok(tensor.int64_data.iter().map(|&v| v as f32).collect()),
        other => Err(format!(
            "tensor '{}' has data type {other}; only float, double and int64 constants are supported",
            tensor.name
        )),
    }
}

impl Emitter {
    fn fresh(&mut self) -> String {
        self.counter += 1;
        format!("%v{}", self.counter)
    }

    fn emit(&mut self, line: String) {
        self.lines.push(format!("  {line}"));
    }

    fn unsupported(&self, node: &NodeProto, message: impl Into<String>) -> OnnxError {
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

    fn constant(&mut self, dims: &[u64], values: &[f32]) -> Value {
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
    fn elementwise(
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

    /// `input . weight` with a constant (k x n) weight, as linalg.matmul on a zero
    /// accumulator: the form convert-linalg-to-cim makes analog.
    fn matmul_constant(
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
    fn matmul(&mut self, input: &Value, weight: &Value) -> Result<Value, String> {
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

    fn input(&self, node: &NodeProto, index: usize) -> Result<Value, OnnxError> {
        let name = node
            .input
            .get(index)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| self.unsupported(node, format!("input {index} is missing")))?;
        self.values.get(name).cloned().ok_or_else(|| {
            self.unsupported(
                node,
                format!("input '{name}' is not defined before the node"),
            )
        })
    }

    fn optional_input(&self, node: &NodeProto, index: usize) -> Result<Option<Value>, OnnxError> {
        match node.input.get(index) {
            Some(name) if !name.is_empty() => self.input(node, index).map(Some),
            _ => Ok(None),
        }
    }

    fn define(&mut self, node: &NodeProto, value: Value) {
        if let Some(name) = node.output.first() {
            self.values.insert(name.clone(), value);
        }
    }

    fn graph(&mut self, graph: &GraphProto) -> Result<(), OnnxError> {
        for tensor in &graph.initializer {
            let values = tensor_values(tensor).map_err(|message| OnnxError::Read {
                file: self.file.clone(),
                message,
            })?;
            let dims: Vec<u64> = tensor.dims.iter().map(|&d| d.max(0) as u64).collect();
            if values.len() as u64 != dims.iter().product::<u64>() {
                return Err(OnnxError::Read {
                    file: self.file.clone(),
                    message: format!(
                        "initializer '{}' holds {} values for shape {:?}",
                        tensor.name,
                        values.len(),
                        dims
                    ),
                });
            }
            // Materialised on first use (see `use_constant`); record shape and data.
            self.values.insert(
                tensor.name.clone(),
                Value {
                    ssa: String::new(),
                    dims: dims.into_iter().map(Some).collect(),
                    data: Some(values),
                },
            );
        }
        let mut arguments = Vec::new();
        let mut argument_types = Vec::new();
        let inputs: Vec<_> = graph
            .input
            .iter()
            .filter(|i| !self.values.contains_key(&i.name))
            .collect();
        for (position, input) in inputs.into_iter().enumerate() {
            let tensor = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
                Some(type_proto::Value::TensorType(tensor)) if tensor.elem_type == 1 => tensor,
                _ => {
                    return Err(OnnxError::Read {
                        file: self.file.clone(),
                        message: format!("graph input '{}' must be a float32 tensor", input.name),
                    });
                }
            };
            let dims: Vec<Option<u64>> = tensor
                .shape
                .as_ref()
                .map(|shape| {
                    shape
                        .dim
                        .iter()
                        .map(|d| match d.value {
                            Some(dimension::Value::DimValue(v)) if v > 0 => Some(v as u64),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            let ssa = format!("%arg{position}");
            arguments.push(format!("{ssa}: {}", tensor_type(&dims)));
            argument_types.push(tensor_type(&dims));
            self.values.insert(
                input.name.clone(),
                Value {
                    ssa,
                    dims,
                    data: None,
                },
            );
        }
        for node in &self.fold_batch_norms(&graph.node, graph) {
            self.node(node)?;
        }
        let mut results = Vec::new();
        for output in &graph.output {
            let value = self
                .values
                .get(&output.name)
                .cloned()
                .ok_or_else(|| OnnxError::Read {
                    file: self.file.clone(),
                    message: format!("graph output '{}' is never computed", output.name),
                })?;
            let value = self.materialise(value);
            results.push((value.ssa.clone(), tensor_type(&value.dims)));
        }
        self.signature = (arguments, results.iter().map(|(_, t)| t.clone()).collect());
        self.outputs = results.into_iter().map(|(ssa, _)| ssa).collect();
        Ok(())
    }

    /// Folds each inference-mode BatchNormalization that is the only reader of a
    /// convolution's output into that convolution: filter `f` scaled by
    /// `a = gamma / sqrt(var + eps)`, bias `(b - mean)·a + beta` (new constants),
    /// so the arrays hold the folded weights and the normalization costs no digital
    /// work. Other nodes pass unchanged.
    fn fold_batch_norms(&mut self, nodes: &[NodeProto], graph: &GraphProto) -> Vec<NodeProto> {
        let readers = |name: &str| {
            nodes
                .iter()
                .filter(|n| n.input.iter().any(|i| i == name))
                .count()
                + graph.output.iter().filter(|o| o.name == name).count()
        };
        let constant = |this: &Self, name: Option<&String>| {
            name.filter(|n| !n.is_empty())
                .and_then(|n| this.values.get(n))
                .and_then(|v| v.data.clone())
        };
        let mut folded: Vec<NodeProto> = Vec::with_capacity(nodes.len());
        let mut dropped = std::collections::HashSet::new();
        for (index, node) in nodes.iter().enumerate() {
            if dropped.contains(&index) {
                continue;
            }
            let mut node = node.clone();
            let conv_output = node.output.first().cloned().unwrap_or_default();
            let normalization = (node.op_type == "Conv" && readers(&conv_output) == 1)
                .then(|| {
                    nodes.iter().enumerate().find(|(_, n)| {
                        n.op_type == "BatchNormalization"
                            && n.input.first() == Some(&conv_output)
                            && n.output.iter().skip(1).all(String::is_empty)
                    })
                })
                .flatten();
            if let Some((bn_index, bn)) = normalization
                && let Some(filter) = constant(self, node.input.get(1))
                && let Some(parameters) = (1..=4)
                    .map(|i| constant(self, bn.input.get(i)))
                    .collect::<Option<Vec<_>>>()
            {
                let filters = parameters[0].len();
                let bias = match node.input.get(2).filter(|n| !n.is_empty()) {
                    Some(_) => constant(self, node.input.get(2)),
                    None => Some(vec![0.0; filters]),
                };
                let epsilon = attribute(bn, "epsilon").map_or(1e-5, |a| a.f);
                if let Some(bias) = bias
                    && filters > 0
                    && parameters.iter().all(|p| p.len() == filters)
                    && bias.len() == filters
                    && filter.len() % filters == 0
                {
                    let a: Vec<f32> = (0..filters)
                        .map(|c| parameters[0][c] / (parameters[3][c] + epsilon).sqrt())
                        .collect();
                    let per_filter = filter.len() / filters;
                    let weights: Vec<f32> = filter
                        .iter()
                        .enumerate()
                        .map(|(i, w)| w * a[i / per_filter])
                        .collect();
                    let shift: Vec<f32> = (0..filters)
                        .map(|c| (bias[c] - parameters[2][c]) * a[c] + parameters[1][c])
                        .collect();
                    let dims = self.values[&node.input[1]].dims.clone();
                    let (w_name, b_name) = (
                        format!("{}__bn_folded_w", bn.output[0]),
                        format!("{}__bn_folded_b", bn.output[0]),
                    );
                    self.values.insert(
                        w_name.clone(),
                        Value {
                            ssa: String::new(),
                            dims,
                            data: Some(weights),
                        },
                    );
                    self.values.insert(
                        b_name.clone(),
                        Value {
                            ssa: String::new(),
                            dims: vec![Some(filters as u64)],
                            data: Some(shift),
                        },
                    );
                    node.input.truncate(1);
                    node.input.push(w_name);
                    node.input.push(b_name);
                    node.output = vec![bn.output[0].clone()];
                    dropped.insert(bn_index);
                }
            }
            folded.push(node);
        }
        folded
    }

    /// Emits a constant's `arith.constant` the first time it is used as an SSA value.
    fn materialise(&mut self, value: Value) -> Value {
        if !value.ssa.is_empty() {
            return value;
        }
        let dims: Vec<u64> = value.dims.iter().map(|d| d.unwrap_or(0)).collect();
        self.constant(&dims, value.data.as_deref().unwrap_or_default())
    }

    fn finish(self) -> String {
        let mut text = format!(
            "// Imported from {} by cim's ONNX frontend (opset {}).\nfunc.func @main({}) -> ({}) {{\n",
            self.file,
            self.opset,
            self.signature.0.join(", "),
            self.signature.1.join(", ")
        );
        for line in &self.lines {
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(&format!(
            "  return {} : {}\n}}\n",
            self.outputs.join(", "),
            self.signature.1.join(", ")
        ));
        text
    }

    fn node(&mut self, node: &NodeProto) -> Result<(), OnnxError> {
        let fail = |emitter: &Self, message: String| emitter.unsupported(node, message);
        let op = node.op_type.as_str();
        let float_attribute =
            |name: &str, default: f32| attribute(node, name).map_or(default, |a| a.f);
        let int_attribute =
            |name: &str, default: i64| attribute(node, name).map_or(default, |a| a.i);
        let value = match op {
            "Identity" | "Dropout" => self.input(node, 0)?,
            "Constant" => {
                let tensor = attribute(node, "value")
                    .and_then(|a| a.t.as_ref())
                    .ok_or_else(|| {
                        fail(
                            self,
                            "only Constant with a 'value' tensor is supported".into(),
                        )
                    })?;
                let values = tensor_values(tensor).map_err(|m| fail(self, m))?;
                Value {
                    ssa: String::new(),
                    dims: tensor.dims.iter().map(|&d| Some(d.max(0) as u64)).collect(),
                    data: Some(values),
                }
            }
            "Gemm" | "MatMul" => self.gemm(node)?,
            "Add" | "Sub" | "Mul" | "Div" => {
                let (a, b) = (self.input(node, 0)?, self.input(node, 1)?);
                let (a, b) = (self.materialise(a), self.materialise(b));
                let instruction = match op {
                    "Add" => "addf",
                    "Sub" => "subf",
                    "Mul" => "mulf",
                    _ => "divf",
                };
                self.elementwise(&[a, b], |x, next| {
                    let t = next();
                    (
                        vec![format!(
                            "{t} = arith.{instruction} {}, {} : f32",
                            x[0], x[1]
                        )],
                        t,
                    )
                })
                .map_err(|m| fail(self, m))?
            }
            "Relu" | "Sigmoid" | "Tanh" | "LeakyRelu" | "Clip" => {
                let input = self.input(node, 0)?;
                let input = self.materialise(input);
                let (low, high) = if op == "Clip" {
                    let bound =
                        |emitter: &Self, index: usize, default: f32| -> Result<f32, OnnxError> {
                            match emitter.optional_input(node, index)? {
                                None => Ok(default),
                                Some(Value {
                                    data: Some(data), ..
                                }) if data.len() == 1 => Ok(data[0]),
                                Some(_) => Err(emitter
                                    .unsupported(node, "Clip bounds must be constant scalars")),
                            }
                        };
                    (bound(self, 1, f32::MIN)?, bound(self, 2, f32::MAX)?)
                } else {
                    (0.0, 0.0)
                };
                let alpha = float_attribute("alpha", 0.01);
                let kind = op.to_owned();
                self.elementwise(&[input], move |x, next| {
                    let x = &x[0];
                    match kind.as_str() {
                        "Relu" => {
                            let (z, t) = (next(), next());
                            (
                                vec![
                                    format!("{z} = arith.constant 0.000000e+00 : f32"),
                                    format!("{t} = arith.maximumf {x}, {z} : f32"),
                                ],
                                t,
                            )
                        }
                        "Tanh" => {
                            let t = next();
                            (vec![format!("{t} = math.tanh {x} : f32")], t)
                        }
                        "Sigmoid" => {
                            let (one, n, e, d, t) = (next(), next(), next(), next(), next());
                            (
                                vec![
                                    format!("{one} = arith.constant 1.000000e+00 : f32"),
                                    format!("{n} = arith.negf {x} : f32"),
                                    format!("{e} = math.exp {n} : f32"),
                                    format!("{d} = arith.addf {one}, {e} : f32"),
                                    format!("{t} = arith.divf {one}, {d} : f32"),
                                ],
                                t,
                            )
                        }
                        "LeakyRelu" => {
                            let (a, z, s, c, t) = (next(), next(), next(), next(), next());
                            (
                                vec![
                                    format!("{a} = arith.constant {} : f32", f32_literal(alpha)),
                                    format!("{z} = arith.constant 0.000000e+00 : f32"),
                                    format!("{s} = arith.mulf {x}, {a} : f32"),
                                    format!("{c} = arith.cmpf ogt, {x}, {z} : f32"),
                                    format!("{t} = arith.select {c}, {x}, {s} : f32"),
                                ],
                                t,
                            )
                        }
                        _ => {
                            let (lo, hi, m, t) = (next(), next(), next(), next());
                            (
                                vec![
                                    format!("{lo} = arith.constant {} : f32", f32_literal(low)),
                                    format!("{hi} = arith.constant {} : f32", f32_literal(high)),
                                    format!("{m} = arith.maximumf {x}, {lo} : f32"),
                                    format!("{t} = arith.minimumf {m}, {hi} : f32"),
                                ],
                                t,
                            )
                        }
                    }
                })
                .map_err(|m| fail(self, m))?
            }
            "Flatten" => {
                let input = self.input(node, 0)?;
                let input = self.materialise(input);
                let axis = int_attribute("axis", 1);
                let rank = input.dims.len() as i64;
                let axis = if axis < 0 { axis + rank } else { axis };
                if axis != 1 || rank < 2 {
                    return Err(fail(
                        self,
                        format!(
                            "only Flatten with axis 1 of a rank >= 2 input is supported (axis {axis}, rank {rank})"
                        ),
                    ));
                }
                self.flatten(input).map_err(|m| fail(self, m))?
            }
            "Softmax" => {
                let input = self.input(node, 0)?;
                let input = self.materialise(input);
                let axis = int_attribute("axis", -1);
                if input.dims.len() != 2 || !(axis == -1 || axis == 1) {
                    return Err(fail(
                        self,
                        "only Softmax over the last axis of a 2-D input is supported".into(),
                    ));
                }
                self.softmax(&input).map_err(|m| fail(self, m))?
            }
            "Conv" => self.conv(node)?,
            "MaxPool" | "AveragePool" => self.pool(node)?,
            "GlobalAveragePool" => self.global_average_pool(node)?,
            "BatchNormalization" => self.batch_norm(node)?,
            "Reshape" => self.reshape(node)?,
            "Shape" | "Gather" | "Unsqueeze" | "Squeeze" | "Concat" | "ConstantOfShape"
            | "Transpose" | "Slice" | "Cast" => match self.tensor_op(node)? {
                Some(value) => value,
                None => return Ok(()),
            },
            "LSTM" | "GRU" => return self.recurrent(node),
            other => {
                return Err(fail(
                    self,
                    format!("operator {other} is not supported by the cim ONNX importer yet"),
                ));
            }
        };
        self.define(node, value);
        Ok(())
    }

    fn gemm(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
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

    /// `tensor.empty` whose only dynamic dimension is the batch (dimension 0), read from
    /// `source`'s dimension 0.
    fn empty_batch(&mut self, dims: &[Option<u64>], source: &Value) -> String {
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
    fn size_operand(&mut self, source: &Value, axis: usize) -> String {
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

    /// A reduction `linalg.generic`: `combine` folds each element of the first input
    /// into the output element its map points at, starting from `init`. Further
    /// inputs only give loop extents (a pooling window's shape).
    fn reduction(
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

    /// `value * factor`, element-wise.
    fn scaled(&mut self, value: Value, factor: f32) -> Result<Value, String> {
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

    fn ints(node: &NodeProto, name: &str, default: &[i64]) -> Vec<i64> {
        attribute(node, name).map_or_else(|| default.to_vec(), |a| a.ints.clone())
    }

    /// Reads the 2-D window attributes shared by Conv and the pools, rejecting what is
    /// not supported.
    fn window(&self, node: &NodeProto, kernel: [i64; 2]) -> Result<Window2d, OnnxError> {
        if let Some(mode) = attribute(node, "auto_pad")
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
            .filter(|m| m != "NOTSET")
        {
            return Err(self.unsupported(
                node,
                format!("auto_pad={mode} is not supported: export with explicit pads"),
            ));
        }
        if attribute(node, "ceil_mode").is_some_and(|a| a.i != 0) {
            return Err(self.unsupported(node, "ceil_mode=1 is not supported"));
        }
        let pick = |name: &str, default: &[i64], len: usize| -> Result<Vec<i64>, OnnxError> {
            let values = Self::ints(node, name, default);
            if values.len() != len || values.iter().any(|&v| v < 0) {
                return Err(self.unsupported(
                    node,
                    format!(
                        "{name} {values:?}: expected {len} non-negative values (2-D windows only)"
                    ),
                ));
            }
            Ok(values)
        };
        let kernel = pick("kernel_shape", &kernel, 2)?;
        let strides = pick("strides", &[1, 1], 2)?;
        let pads = pick("pads", &[0, 0, 0, 0], 4)?;
        let dilations = pick("dilations", &[1, 1], 2)?;
        if strides.contains(&0) || dilations.contains(&0) || kernel.contains(&0) {
            return Err(self.unsupported(node, "kernel, strides and dilations must be >= 1"));
        }
        Ok(Window2d {
            kernel: [kernel[0], kernel[1]],
            strides: [strides[0], strides[1]],
            pads: [pads[0], pads[1], pads[2], pads[3]],
            dilations: [dilations[0], dilations[1]],
        })
    }

    /// Pads the two spatial dimensions of an NCHW value with `fill`.
    fn pad(&mut self, input: &Value, pads: [i64; 4], fill: f32) -> Value {
        if pads == [0; 4] {
            return input.clone();
        }
        let mut dims = input.dims.clone();
        dims[2] = dims[2].map(|h| h + (pads[0] + pads[2]) as u64);
        dims[3] = dims[3].map(|w| w + (pads[1] + pads[3]) as u64);
        let value = self.fresh();
        self.emit(format!(
            "{value} = arith.constant {} : f32",
            f32_literal(fill)
        ));
        let result = self.fresh();
        self.emit(format!(
            "{result} = tensor.pad {} low[0, 0, {}, {}] high[0, 0, {}, {}] {{",
            input.ssa, pads[0], pads[1], pads[2], pads[3]
        ));
        self.lines
            .push("  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):".into());
        self.lines.push(format!("    tensor.yield {value} : f32"));
        self.lines.push(format!(
            "  }} : {} to {}",
            tensor_type(&input.dims),
            tensor_type(&dims)
        ));
        Value {
            ssa: result,
            dims,
            data: None,
        }
    }

    /// The spatial output size of a window.
    fn out_size(
        &self,
        node: &NodeProto,
        size: Option<u64>,
        kernel: i64,
        stride: i64,
        dilation: i64,
    ) -> Result<u64, OnnxError> {
        let size =
            size.ok_or_else(|| self.unsupported(node, "spatial dimensions must be static"))? as i64;
        let span = size - dilation * (kernel - 1) - 1;
        if span < 0 {
            return Err(self.unsupported(node, format!("the window ({kernel}, dilation {dilation}) is larger than the padded input ({size})")));
        }
        Ok((span / stride + 1) as u64)
    }

    /// Conv (NCHW, one group) as im2col, a weight-stationary matmul, and a layout
    /// change back: the matmul is what becomes analog.
    fn conv(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
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

    /// MaxPool and AveragePool over 2-D windows of an NCHW value.
    fn pool(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
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
        let padded = self.pad(&input, pads, if max { f32::NEG_INFINITY } else { 0.0 });
        let oh = self.out_size(node, padded.dims[2], kernel[0], strides[0], dilations[0])?;
        let ow = self.out_size(node, padded.dims[3], kernel[1], strides[1], dilations[1])?;
        let dims = vec![input.dims[0], input.dims[1], Some(oh), Some(ow)];
        // The window operand only gives the reduction dimensions their extent.
        let window = self.fresh();
        self.emit(format!(
            "{window} = tensor.empty() : tensor<{}x{}xf32>",
            kernel[0], kernel[1]
        ));
        let window = Value {
            ssa: window,
            dims: vec![Some(kernel[0] as u64), Some(kernel[1] as u64)],
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
    fn global_average_pool(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let input = self.input(node, 0)?;
        let input = self.materialise(input);
        if input.dims.len() != 4 {
            return Err(self.unsupported(node, "only NCHW inputs are supported"));
        }
        let (Some(h), Some(w)) = (input.dims[2], input.dims[3]) else {
            return Err(self.unsupported(node, "spatial dimensions must be static"));
        };
        let dims = vec![input.dims[0], input.dims[1], Some(1), Some(1)];
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

    /// BatchNormalization at inference: x * a + b per channel, a and b folded from the
    /// constant scale, bias, mean and variance.
    fn batch_norm(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
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

    /// Reshape to (batch, features) with a constant shape, as torch exports
    /// `x.view(x.size(0), -1)`.
    /// Reshape that merges or splits neighbouring dimensions (a collapse or an expand
    /// of the row-major layout), the batch staying first: `x.view(x.size(0), -1)`,
    /// `(T, B, 2, H) -> (T, B, 2H)`. The shape may be constant or computed from shapes.
    fn reshape(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        use tensor_ops::SymDim;
        let input = self.input(node, 0)?;
        let input = self.materialise(input);
        let shape = self.sym_vector(node, 1).ok_or_else(|| {
            self.unsupported(node, "the shape must be constant or computed from shapes")
        })?;
        let fail = |emitter: &Self, message: String| emitter.unsupported(node, message);
        // Target dimensions; the one -1 is inferred below. `copied[i]`: dimension i is
        // the input's own (0, or the input's size at i), which may be dynamic.
        let mut target: Vec<Option<u64>> = Vec::new();
        let mut copied = Vec::new();
        let mut inferred = None;
        for (index, dim) in shape.iter().enumerate() {
            copied.push(match dim {
                SymDim::Const(0) => true,
                SymDim::Dim { value, axis } => value.ssa == input.ssa && *axis == index,
                SymDim::Const(_) => false,
            });
            target.push(match dim {
                SymDim::Const(0) => input.dims.get(index).copied().ok_or_else(|| {
                    fail(
                        self,
                        format!("shape entry {index} copies a dimension the input does not have"),
                    )
                })?,
                SymDim::Const(-1) if inferred.is_none() => {
                    inferred = Some(index);
                    Some(0)
                }
                SymDim::Const(v) if *v > 0 => Some(*v as u64),
                SymDim::Dim { value, axis } if value.ssa == input.ssa => input.dims[*axis],
                other => {
                    return Err(fail(
                        self,
                        format!("shape entry {other:?} is not supported"),
                    ));
                }
            });
        }
        // The leading dimensions kept as they are (dynamic ones included) map one to
        // one; what follows must be static.
        let skip = copied
            .iter()
            .take_while(|&&c| c)
            .count()
            .min(input.dims.len());
        if input.dims[skip..]
            .iter()
            .chain(
                target[skip..]
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| Some(i + skip) != inferred)
                    .map(|(_, d)| d),
            )
            .any(Option::is_none)
        {
            return Err(fail(
                self,
                "only dimensions kept in place may be dynamic in a reshape".into(),
            ));
        }
        let total: u64 = input.dims[skip..].iter().map(|d| d.unwrap_or(1)).product();
        if let Some(index) = inferred {
            let known: u64 = target[skip..]
                .iter()
                .enumerate()
                .filter(|(i, _)| i + skip != index)
                .map(|(_, d)| d.unwrap_or(1))
                .product();
            if known == 0 || !total.is_multiple_of(known) {
                return Err(fail(
                    self,
                    format!("cannot infer -1: {total} elements over {known}"),
                ));
            }
            target[index] = Some(total / known);
        }
        let inner: Vec<u64> = input.dims[skip..].iter().map(|d| d.unwrap_or(0)).collect();
        let outer: Vec<u64> = target[skip..].iter().map(|d| d.unwrap_or(0)).collect();
        if inner.iter().product::<u64>() != outer.iter().product::<u64>() {
            return Err(fail(
                self,
                format!("cannot reshape {:?} into {:?}", input.dims, target),
            ));
        }
        if inner == outer {
            return Ok(input);
        }
        // Group the longer side's dimensions so each group's product is one dimension of
        // the shorter side.
        let (long, short) = if inner.len() >= outer.len() {
            (&inner, &outer)
        } else {
            (&outer, &inner)
        };
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut next = 0;
        for &size in short.iter() {
            let mut group = vec![next + skip];
            let mut product = long.get(next).copied().unwrap_or(0);
            next += 1;
            while product < size && next < long.len() {
                product *= long[next];
                group.push(next + skip);
                next += 1;
            }
            if product != size {
                return Err(fail(
                    self,
                    format!(
                        "only merging or splitting neighbouring dimensions is supported ({:?} into {:?})",
                        input.dims, target
                    ),
                ));
            }
            groups.push(group);
        }
        // Trailing unit dimensions join the last group.
        while next < long.len() && long[next] == 1 {
            if let Some(last) = groups.last_mut() {
                last.push(next + skip);
            }
            next += 1;
        }
        if next != long.len() {
            return Err(fail(
                self,
                format!("cannot reshape {:?} into {:?}", input.dims, target),
            ));
        }
        for axis in (0..skip).rev() {
            groups.insert(0, vec![axis]);
        }
        Ok(self.regroup(&input, &groups, target))
    }

    /// (batch, d1, d2, ...) to (batch, d1 * d2 * ...), a `tensor.collapse_shape`;
    /// a 2-D value as it is.
    fn flatten(&mut self, input: Value) -> Result<Value, String> {
        if input.dims.len() == 2 {
            return Ok(input);
        }
        let inner = input.dims[1..]
            .iter()
            .try_fold(1u64, |p, d| d.map(|d| p * d))
            .ok_or("the flattened dimensions must be static")?;
        let dims = vec![input.dims[0], Some(inner)];
        let groups = vec![vec![0], (1..input.dims.len()).collect()];
        Ok(self.regroup(&input, &groups, dims))
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

    /// Softmax over the last axis of a 2-D tensor: max, exp(x - max), sum, divide.
    fn softmax(&mut self, input: &Value) -> Result<Value, String> {
        let rows = vec![input.dims[0]];
        // Reduces each row, then reshapes to a column (rows x 1) so element-wise
        // broadcasting lines it up.
        let reduce = |emitter: &mut Self, source: &Value, init: f32, combine: &str| {
            let domain = "(d0, d1)";
            let reduced = emitter.reduction(
                &[(source, format!("affine_map<{domain} -> (d0, d1)>"))],
                &rows,
                &format!("affine_map<{domain} -> (d0)>"),
                &["parallel", "reduction"],
                init,
                combine,
            );
            let column = emitter.fresh();
            let column_dims = vec![input.dims[0], Some(1)];
            let size = emitter.size_operand(source, 0);
            emitter.emit(format!(
                "{column} = tensor.expand_shape {} [[0, 1]] output_shape [{size}, 1] : {} into {}",
                reduced.ssa,
                tensor_type(&rows),
                tensor_type(&column_dims)
            ));
            Value {
                ssa: column,
                dims: column_dims,
                data: None,
            }
        };
        let max = reduce(self, input, f32::NEG_INFINITY, "maximumf");
        let exp = self.elementwise(&[input.clone(), max], |x, next| {
            let (d, e) = (next(), next());
            (
                vec![
                    format!("{d} = arith.subf {}, {} : f32", x[0], x[1]),
                    format!("{e} = math.exp {d} : f32"),
                ],
                e,
            )
        })?;
        let sum = reduce(self, &exp, 0.0, "addf");
        self.elementwise(&[exp, sum], |x, next| {
            let t = next();
            (
                vec![format!("{t} = arith.divf {}, {} : f32", x[0], x[1])],
                t,
            )
        })
    }
}
