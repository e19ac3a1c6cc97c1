//! Reading the ONNX protobuf: a node's attribute by name, and the f32 values of a
//! tensor proto (initializers, `Constant` values, `ConstantOfShape` fills).

use tract_onnx::pb::{AttributeProto, NodeProto, TensorProto};

pub(crate) fn attribute<'n>(node: &'n NodeProto, name: &str) -> Option<&'n AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

/// The f32 values of a tensor proto (raw, float or double data).
pub(crate) fn tensor_values(tensor: &TensorProto) -> Result<Vec<f32>, String> {
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
