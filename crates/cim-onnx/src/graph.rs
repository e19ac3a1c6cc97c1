//! The graph walk: initializers become constant values, graph inputs the function's
//! arguments, each node (after batch-norm folding) is dispatched by its operator to
//! its family in `ops`, and the graph outputs become the function's results. Values
//! are looked up by name here, and constants are materialised on first use.

use crate::OnnxError;
use crate::dim::Dim;
use crate::emitter::{DynamicSize, Emitter, Value, tensor_type};
use crate::fold::SymDim;
use crate::proto::attribute;
use crate::proto::{Values, checked_tensor, data_type};
use tract_onnx::pb::{
    GraphProto, NodeProto, TensorProto, tensor_shape_proto::dimension, type_proto,
};

impl Emitter {
    pub(crate) fn input(&self, node: &NodeProto, index: usize) -> Result<Value, OnnxError> {
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

    pub(crate) fn optional_input(
        &self,
        node: &NodeProto,
        index: usize,
    ) -> Result<Option<Value>, OnnxError> {
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

    pub(crate) fn graph(&mut self, graph: &GraphProto) -> Result<(), OnnxError> {
        for tensor in &graph.initializer {
            let read_error = |message| OnnxError::Read {
                file: self.file.clone(),
                message,
            };
            let (dims, values) = checked_tensor(
                tensor,
                &format!("initializer '{}'", tensor.name),
                Values::Finite,
            )
            .map_err(read_error)?;
            if self.values.contains_key(&tensor.name) {
                return Err(read_error(format!(
                    "two initializers are named '{}': give each its own name",
                    tensor.name
                )));
            }
            if is_shape_like(tensor) {
                self.symbolic
                    .insert(tensor.name.clone(), shape_entries(&values));
            }
            // Materialised on first use (see `use_constant`); record shape and data.
            self.values.insert(
                tensor.name.clone(),
                Value {
                    ssa: String::new(),
                    dims: dims.into_iter().map(Dim::Known).collect(),
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
            // Integer inputs (token ids, attention masks) are carried as f32, which
            // holds every integer below 2^24 exactly (vocabularies and masks).
            let tensor = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
                Some(type_proto::Value::TensorType(tensor))
                    if tensor.elem_type == data_type::FLOAT
                        || tensor.elem_type == data_type::BOOL
                        || data_type::is_integer(i64::from(tensor.elem_type)) =>
                {
                    tensor
                }
                _ => {
                    return Err(OnnxError::Read {
                        file: self.file.clone(),
                        message: format!(
                            "graph input '{}' must be a float32, integer or bool tensor",
                            input.name
                        ),
                    });
                }
            };
            let ssa = format!("%arg{position}");
            // A dynamic dimension is a symbol by its `dim_param` name (one name, one
            // size, across inputs); an unnamed one is a size of its own.
            let proto_dims = tensor
                .shape
                .as_ref()
                .map(|shape| shape.dim.as_slice())
                .unwrap_or_default();
            let mut dims: Vec<Dim> = Vec::with_capacity(proto_dims.len());
            let mut new_symbols = Vec::new();
            for (axis, d) in proto_dims.iter().enumerate() {
                let name = match &d.value {
                    Some(dimension::Value::DimValue(v)) if *v > 0 => {
                        dims.push(Dim::Known(*v as u64));
                        continue;
                    }
                    Some(dimension::Value::DimParam(name)) if !name.is_empty() => name.clone(),
                    _ => format!("{}[{axis}]", input.name),
                };
                let known = self.dynamic.iter().map(|s| &s.name);
                let symbol = match known
                    .chain(new_symbols.iter().map(|(n, _)| n))
                    .position(|n| *n == name)
                {
                    Some(symbol) => symbol,
                    None => {
                        new_symbols.push((name, axis));
                        self.dynamic.len() + new_symbols.len() - 1
                    }
                };
                dims.push(Dim::Dynamic { symbol, factor: 1 });
            }
            for (name, axis) in new_symbols {
                self.dynamic.push(DynamicSize {
                    name,
                    ssa: ssa.clone(),
                    dims: dims.clone(),
                    axis,
                });
            }
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
        if graph.output.is_empty() {
            return Err(OnnxError::Read {
                file: self.file.clone(),
                message: "the graph has no outputs: export the model with its outputs".into(),
            });
        }
        for node in &graph.node {
            self.check_node(node)?;
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

    /// Checks a node's domain and how many inputs and outputs it has, before any
    /// part of the importer reads them.
    fn check_node(&self, node: &NodeProto) -> Result<(), OnnxError> {
        let op = node.op_type.as_str();
        if !node.domain.is_empty() && node.domain != "ai.onnx" {
            return Err(self.unsupported(
                node,
                format!(
                    "operator {op} of domain '{}' is not one the importer knows (only ONNX's default domain is)",
                    node.domain
                ),
            ));
        }
        if let Some(arity) = arity(op) {
            arity
                .check(node)
                .map_err(|message| self.unsupported(node, message))?;
        }
        // Float attributes (alpha, beta, epsilon, ...) must be numbers; but for a
        // Constant's value, finite ones.
        for attribute in &node.attribute {
            let values = std::iter::once(attribute.f).chain(attribute.floats.iter().copied());
            for value in values {
                if value.is_nan() || (op != "Constant" && value.is_infinite()) {
                    return Err(self.unsupported(
                        node,
                        format!(
                            "attribute '{}' is {value}: give a finite number",
                            attribute.name
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Emits a constant's `arith.constant` the first time it is used as an SSA value.
    pub(crate) fn materialise(&mut self, value: Value) -> Value {
        if !value.ssa.is_empty() {
            return value;
        }
        let dims: Vec<u64> = value.dims.iter().map(|d| d.known().unwrap_or(0)).collect();
        self.constant(&dims, value.data.as_deref().unwrap_or_default())
    }

    pub(crate) fn finish(self) -> String {
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

    /// Imports one node: its operator's family in `ops` computes its value, defined
    /// as the node's first output (shape vectors folded at import, and LSTM and GRU,
    /// define their outputs themselves).
    fn node(&mut self, node: &NodeProto) -> Result<(), OnnxError> {
        let fail = |emitter: &Self, message: String| emitter.unsupported(node, message);
        let op = node.op_type.as_str();
        if self.shape_vector_op(node)? {
            return Ok(());
        }
        let value = match op {
            "Identity" | "Dropout" => self.pass_through(node)?,
            "Constant" => {
                let value = self.constant_node(node)?;
                let tensor = attribute(node, "value").and_then(|a| a.t.as_ref());
                if tensor.is_some_and(is_shape_like) {
                    self.define_symbolic(
                        node,
                        shape_entries(value.data.as_deref().unwrap_or_default()),
                    );
                }
                value
            }
            "Gemm" | "MatMul" => self.gemm(node)?,
            "Add" | "Sub" | "Mul" | "Div" => self.arithmetic(node)?,
            "Relu" | "Sigmoid" | "Tanh" | "LeakyRelu" | "Clip" => self.activation(node)?,
            "Flatten" => self.flatten_node(node)?,
            "Softmax" => self.softmax_node(node)?,
            "Conv" => self.conv(node)?,
            "MaxPool" | "AveragePool" => self.pool(node)?,
            "GlobalAveragePool" => self.global_average_pool(node)?,
            "BatchNormalization" => self.batch_norm(node)?,
            "Gather" | "Unsqueeze" | "Squeeze" | "Concat" | "ConstantOfShape" | "Transpose"
            | "Slice" | "Cast" | "Reshape" | "Expand" | "Range" => self.tensor_op(node)?,
            "Sqrt" | "Erf" | "Exp" | "Log" | "Neg" | "Abs" | "Reciprocal" | "Pow" => {
                self.math(node)?
            }
            "ReduceMean" | "ReduceSum" | "ReduceMax" | "ReduceMin" => self.reduce_node(node)?,
            "LayerNormalization" => self.layer_norm(node)?,
            "Equal" | "Greater" | "GreaterOrEqual" | "Less" | "LessOrEqual" | "And" | "Or"
            | "Xor" | "Not" | "Where" | "IsNaN" | "Max" | "Min" => self.logic(node)?,
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
}

/// Whether a constant tensor is an integer vector or scalar: a shape vector.
fn is_shape_like(tensor: &TensorProto) -> bool {
    data_type::is_integer(i64::from(tensor.data_type)) && tensor.dims.len() <= 1
}

/// A constant's values as shape entries.
fn shape_entries(values: &[f32]) -> Vec<SymDim> {
    values.iter().map(|&v| SymDim::Const(v as i64)).collect()
}

/// How many inputs and outputs an operator has (ONNX's operator schemas): inputs
/// beyond `required` may be omitted (absent or named ""), at most `most`; the first
/// `outputs` outputs must be named.
struct Arity {
    required: usize,
    most: usize,
    outputs: usize,
}

impl Arity {
    fn check(&self, node: &NodeProto) -> Result<(), String> {
        let given = node.input.len();
        if given > self.most {
            return Err(format!(
                "{} inputs given, the operator takes at most {}",
                given, self.most
            ));
        }
        if let Some(missing) =
            (0..self.required).find(|&i| node.input.get(i).is_none_or(String::is_empty))
        {
            return Err(format!(
                "input {missing} is missing: the operator needs {} input{}",
                self.required,
                if self.required == 1 { "" } else { "s" }
            ));
        }
        if let Some(missing) =
            (0..self.outputs).find(|&i| node.output.get(i).is_none_or(String::is_empty))
        {
            return Err(format!(
                "output {missing} is not named: the node computes nothing"
            ));
        }
        Ok(())
    }
}

/// The arity of each operator the importer reads.
fn arity(op: &str) -> Option<Arity> {
    let (required, most, outputs) = match op {
        "Identity" | "Relu" | "Sigmoid" | "Tanh" | "LeakyRelu" | "Flatten" | "Softmax"
        | "MaxPool" | "AveragePool" | "GlobalAveragePool" | "Shape" | "ConstantOfShape"
        | "Transpose" | "Cast" | "Sqrt" | "Erf" | "Exp" | "Log" | "Neg" | "Abs" | "Reciprocal" => {
            (1, 1, 1)
        }
        "ReduceMean" | "ReduceSum" | "ReduceMax" | "ReduceMin" => (1, 2, 1),
        "LayerNormalization" => (2, 3, 1),
        "Pow" | "Expand" | "Mod" | "Equal" | "Greater" | "GreaterOrEqual" | "Less"
        | "LessOrEqual" | "And" | "Or" | "Xor" => (2, 2, 1),
        "Not" | "IsNaN" => (1, 1, 1),
        "Where" | "Range" => (3, 3, 1),
        "Max" | "Min" => (1, usize::MAX, 1),
        "Dropout" | "Clip" => (1, 3, 1),
        "Constant" => (0, 0, 1),
        "Gemm" | "Conv" => (2, 3, 1),
        "MatMul" | "Add" | "Sub" | "Mul" | "Div" | "Gather" => (2, 2, 1),
        "BatchNormalization" => (5, 5, 1),
        // Before opset 5 the shape was an attribute; before 13 the axes were.
        "Reshape" | "Unsqueeze" | "Squeeze" => (1, 2, 1),
        // Before opset 10 the slice bounds were attributes.
        "Slice" => (1, 5, 1),
        "Concat" => (1, usize::MAX, 1),
        "LSTM" => (3, 8, 0),
        "GRU" => (3, 6, 0),
        _ => return None,
    };
    Some(Arity {
        required,
        most,
        outputs,
    })
}
