//! Building ONNX models by hand: a [`Builder`] of nodes and random initializers,
//! attribute helpers, and the opset-17 model around a graph.

use tract_onnx::pb::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
    attribute_proto::AttributeType,
    tensor_shape_proto::{Dimension, dimension},
    type_proto,
};

pub struct Builder {
    pub nodes: Vec<NodeProto>,
    pub initializers: Vec<TensorProto>,
    pub counter: usize,
    pub state: u64,
}

impl Builder {
    /// An empty graph whose random initializers come from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            nodes: vec![],
            initializers: vec![],
            counter: 0,
            state: seed | 1,
        }
    }

    pub fn random(&mut self) -> f32 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        ((self.state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32
    }

    pub fn name(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    pub fn constant(&mut self, dims: &[i64]) -> String {
        let name = self.name("w");
        let count = dims.iter().product::<i64>() as usize;
        let values: Vec<f32> = (0..count).map(|_| self.random()).collect();
        self.initializers.push(TensorProto {
            name: name.clone(),
            dims: dims.to_vec(),
            data_type: 1,
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name
    }

    pub fn node(
        &mut self,
        op: &str,
        inputs: Vec<String>,
        attributes: Vec<AttributeProto>,
    ) -> String {
        let output = self.name("v");
        let name = self.name(&op.to_lowercase());
        self.nodes.push(NodeProto {
            name,
            op_type: op.into(),
            input: inputs,
            output: vec![output.clone()],
            attribute: attributes,
            ..Default::default()
        });
        output
    }
}

pub fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: value,
        r#type: AttributeType::Int as i32,
        ..Default::default()
    }
}

pub fn float(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f: value,
        r#type: AttributeType::Float as i32,
        ..Default::default()
    }
}

fn value_info(name: &str, dims: &[Option<i64>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Some(v) => dimension::Value::DimValue(*v),
                None => dimension::Value::DimParam("batch".into()),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: 1,
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Wraps a builder's nodes into an opset-17 model with one input and one output.
pub fn model(
    name: &str,
    b: Builder,
    input_dims: &[Option<i64>],
    output: &str,
    features: i64,
) -> ModelProto {
    let graph = GraphProto {
        name: name.into(),
        node: b.nodes,
        initializer: b.initializers,
        input: vec![value_info("input", input_dims)],
        output: vec![value_info(output, &[None, Some(features)])],
        ..Default::default()
    };
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(graph),
        ..Default::default()
    }
}

pub fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: values.to_vec(),
        r#type: AttributeType::Ints as i32,
        ..Default::default()
    }
}

pub fn tensor_attribute(name: &str, value: f32) -> AttributeProto {
    let tensor = TensorProto {
        dims: vec![1],
        data_type: 1,
        float_data: vec![value],
        ..Default::default()
    };
    AttributeProto {
        name: name.into(),
        t: Some(tensor),
        r#type: AttributeType::Tensor as i32,
        ..Default::default()
    }
}

/// A constant int64 vector initializer.
pub fn int_constant(b: &mut Builder, values: &[i64]) -> String {
    let name = b.name("i");
    b.initializers.push(TensorProto {
        name: name.clone(),
        dims: vec![values.len() as i64],
        data_type: 7,
        int64_data: values.to_vec(),
        ..Default::default()
    });
    name
}
