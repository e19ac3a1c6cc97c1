//! The 2-D windows Conv and the pools share: their attributes (kernel, strides, pads,
//! dilations) read and checked, the spatial padding of an NCHW value, and the output
//! size of a window.

use crate::OnnxError;
use crate::dim::Dim;
use crate::emitter::{Emitter, Value, f32_literal, tensor_type};
use crate::proto::attribute;
use tract_onnx::pb::NodeProto;

/// A 2-D window: kernel, strides, pads (top, left, bottom, right), dilations.
pub(crate) struct Window2d {
    pub(crate) kernel: [i64; 2],
    pub(crate) strides: [i64; 2],
    pub(crate) pads: [i64; 4],
    pub(crate) dilations: [i64; 2],
}

impl Emitter {
    pub(crate) fn ints(node: &NodeProto, name: &str, default: &[i64]) -> Vec<i64> {
        attribute(node, name).map_or_else(|| default.to_vec(), |a| a.ints.clone())
    }

    /// Reads the 2-D window attributes shared by Conv and the pools, rejecting what is
    /// not supported.
    pub(crate) fn window(&self, node: &NodeProto, kernel: [i64; 2]) -> Result<Window2d, OnnxError> {
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

    /// Pads the two spatial dimensions of an NCHW value with `fill`; they must be
    /// static.
    pub(crate) fn pad(
        &mut self,
        input: &Value,
        pads: [i64; 4],
        fill: f32,
    ) -> Result<Value, String> {
        let (Some(h), Some(w)) = (input.dims[2].known(), input.dims[3].known()) else {
            return Err("spatial dimensions must be static".into());
        };
        if pads == [0; 4] {
            return Ok(input.clone());
        }
        let mut dims = input.dims.clone();
        dims[2] = Dim::Known(h + (pads[0] + pads[2]) as u64);
        dims[3] = Dim::Known(w + (pads[1] + pads[3]) as u64);
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
        Ok(Value {
            ssa: result,
            dims,
            data: None,
        })
    }

    /// The spatial output size of a window.
    pub(crate) fn out_size(
        &self,
        node: &NodeProto,
        size: Dim,
        kernel: i64,
        stride: i64,
        dilation: i64,
    ) -> Result<u64, OnnxError> {
        let size = size
            .known()
            .ok_or_else(|| self.unsupported(node, "spatial dimensions must be static"))?
            as i64;
        let span = size - dilation * (kernel - 1) - 1;
        if span < 0 {
            return Err(self.unsupported(node, format!("the window ({kernel}, dilation {dilation}) is larger than the padded input ({size})")));
        }
        Ok((span / stride + 1) as u64)
    }
}
