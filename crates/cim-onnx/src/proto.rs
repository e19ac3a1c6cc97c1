//! Reading the ONNX protobuf: a node's attribute by name, and the f32 values of a
//! tensor proto (initializers, `Constant` values, `ConstantOfShape` fills).

use tract_onnx::pb::{AttributeProto, NodeProto, TensorProto};

pub(crate) fn attribute<'n>(node: &'n NodeProto, name: &str) -> Option<&'n AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

/// ONNX's element types (`TensorProto.DataType`) the importer names.
pub(crate) mod data_type {
    /// float32.
    pub(crate) const FLOAT: i32 = 1;
    /// uint8.
    pub(crate) const UINT8: i32 = 2;
    /// int8.
    pub(crate) const INT8: i32 = 3;
    /// int32.
    pub(crate) const INT32: i32 = 6;
    /// int64.
    pub(crate) const INT64: i32 = 7;
    /// bool.
    pub(crate) const BOOL: i32 = 9;
    /// float64.
    pub(crate) const DOUBLE: i32 = 11;

    /// Whether the type is a float (16, 32 or 64 bits, bfloat16).
    pub(crate) fn is_float(t: i64) -> bool {
        matches!(t, 1 | 10 | 11 | 16)
    }

    /// Whether the type is an integer of any width or sign.
    pub(crate) fn is_integer(t: i64) -> bool {
        matches!(t, 2..=7 | 12 | 13)
    }
}

/// The f32 values of a tensor proto (raw, float or double data).
pub(crate) fn tensor_values(tensor: &TensorProto) -> Result<Vec<f32>, String> {
    use data_type::{BOOL, DOUBLE, FLOAT, INT8, INT32, INT64, UINT8};
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
        // int32 and narrower integers and bool: raw little-endian bytes of their
        // width, or ONNX's int32_data.
        INT32 if !tensor.raw_data.is_empty() => Ok(tensor
            .raw_data
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
            .collect()),
        INT8 | UINT8 | BOOL if !tensor.raw_data.is_empty() => Ok(tensor
            .raw_data
            .iter()
            .map(|&b| {
                if tensor.data_type == INT8 {
                    f32::from(b as i8)
                } else {
                    f32::from(b)
                }
            })
            .collect()),
        INT32 | INT8 | UINT8 | BOOL => Ok(tensor.int32_data.iter().map(|&v| v as f32).collect()),
        other => Err(format!(
            "tensor '{}' has data type {other}; only float, double, int64, int32, int8, uint8 and bool constants are supported",
            tensor.name
        )),
    }
}

/// How finite a tensor's values must be.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Values {
    /// Weights: finite numbers.
    Finite,
    /// Constants: no NaN (an infinity may be a bound or a mask).
    NotNan,
}

/// A tensor's shape and values, checked: dimensions not negative, as many values as
/// the shape holds, every value finite (or not NaN). `what` names the tensor in the
/// message.
pub(crate) fn checked_tensor(
    tensor: &TensorProto,
    what: &str,
    allowed: Values,
) -> Result<(Vec<u64>, Vec<f32>), String> {
    let values = tensor_values(tensor)?;
    let mut dims = Vec::with_capacity(tensor.dims.len());
    let mut count = 1u64;
    for &d in &tensor.dims {
        let d = u64::try_from(d)
            .map_err(|_| format!("{what} has a negative dimension in shape {:?}", tensor.dims))?;
        count = count
            .checked_mul(d)
            .ok_or_else(|| format!("{what}'s shape {:?} holds too many values", tensor.dims))?;
        dims.push(d);
    }
    if values.len() as u64 != count {
        return Err(format!(
            "{what} holds {} values for shape {:?} ({count} expected)",
            values.len(),
            dims
        ));
    }
    let bad = |v: &f32| match allowed {
        Values::Finite => !v.is_finite(),
        Values::NotNan => v.is_nan(),
    };
    if let Some(at) = values.iter().position(bad) {
        let rule = match allowed {
            Values::Finite => "weights must be finite numbers",
            Values::NotNan => "constants must be numbers",
        };
        return Err(format!(
            "{what} holds {} at flat index {at}: {rule}",
            values[at]
        ));
    }
    Ok((dims, values))
}
