//! Element-wise operators, as `linalg.generic` with NumPy broadcasting: the
//! arithmetic Add, Sub, Mul and Div, and the activations Relu, LeakyRelu, Sigmoid,
//! Tanh and Clip.

use crate::OnnxError;
use crate::emitter::{Emitter, Value, f32_literal};
use crate::proto::attribute;
use tract_onnx::pb::NodeProto;

impl Emitter {
    /// Add, Sub, Mul and Div: one `arith` instruction per element, with NumPy
    /// broadcasting.
    pub(crate) fn arithmetic(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let fail = |emitter: &Self, message: String| emitter.unsupported(node, message);
        let op = node.op_type.as_str();
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
        .map_err(|m| fail(self, m))
    }

    /// Relu, Sigmoid, Tanh, LeakyRelu (`alpha`) and Clip (constant scalar bounds),
    /// element-wise.
    pub(crate) fn activation(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let fail = |emitter: &Self, message: String| emitter.unsupported(node, message);
        let op = node.op_type.as_str();
        let float_attribute =
            |name: &str, default: f32| attribute(node, name).map_or(default, |a| a.f);
        let input = self.input(node, 0)?;
        let input = self.materialise(input);
        let (low, high) = if op == "Clip" {
            let bound = |emitter: &Self, index: usize, default: f32| -> Result<f32, OnnxError> {
                match emitter.optional_input(node, index)? {
                    None => Ok(default),
                    Some(Value {
                        data: Some(data), ..
                    }) if data.len() == 1 => Ok(data[0]),
                    Some(_) => {
                        Err(emitter.unsupported(node, "Clip bounds must be constant scalars"))
                    }
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
        .map_err(|m| fail(self, m))
    }
}

impl Emitter {
    /// The unary functions Sqrt, Erf, Exp, Log, Neg, Abs, Reciprocal, and Pow (by a
    /// constant scalar exponent: 2 and 0.5 as a product and a square root, others
    /// unsupported as the interpreter has no `math.powf`). On a constant they are
    /// computed at import (the `sqrt(head size)` of attention).
    pub(crate) fn math(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let op = node.op_type.clone();
        let input = self.input(node, 0)?;
        let exponent = if op == "Pow" {
            let exponent = self.input(node, 1)?;
            match exponent.data.as_deref() {
                Some([e]) if *e == 2.0 || *e == 0.5 || *e == 1.0 => Some(*e),
                _ => {
                    return Err(
                        self.unsupported(node, "only Pow by a constant 2, 0.5 or 1 is supported")
                    );
                }
            }
        } else {
            None
        };
        let scalar = |x: f32| -> f32 {
            match (op.as_str(), exponent) {
                ("Sqrt", _) | (_, Some(0.5)) => x.sqrt(),
                ("Erf", _) => libm::erff(x),
                ("Exp", _) => x.exp(),
                ("Log", _) => x.ln(),
                ("Neg", _) => -x,
                ("Abs", _) => x.abs(),
                ("Reciprocal", _) => 1.0 / x,
                (_, Some(2.0)) => x * x,
                _ => x,
            }
        };
        if let Some(data) = &input.data {
            let folded: Vec<f32> = data.iter().map(|&x| scalar(x)).collect();
            if folded.iter().any(|v| !v.is_finite()) {
                return Err(self.unsupported(
                    node,
                    "computing it on its constant input gives a value that is not finite",
                ));
            }
            return Ok(Value {
                ssa: String::new(),
                dims: input.dims.clone(),
                data: Some(folded),
            });
        }
        let input = self.materialise(input);
        self.elementwise(&[input], move |x, next| {
            let x = &x[0];
            let t = next();
            let line = match (op.as_str(), exponent) {
                ("Sqrt", _) | (_, Some(0.5)) => format!("{t} = math.sqrt {x} : f32"),
                ("Erf", _) => format!("{t} = math.erf {x} : f32"),
                ("Exp", _) => format!("{t} = math.exp {x} : f32"),
                ("Log", _) => format!("{t} = math.log {x} : f32"),
                ("Neg", _) => format!("{t} = arith.negf {x} : f32"),
                ("Abs", _) => format!("{t} = math.absf {x} : f32"),
                ("Reciprocal", _) => {
                    let one = next();
                    return (
                        vec![
                            format!("{one} = arith.constant 1.000000e+00 : f32"),
                            format!("{t} = arith.divf {one}, {x} : f32"),
                        ],
                        t,
                    );
                }
                (_, Some(2.0)) => format!("{t} = arith.mulf {x}, {x} : f32"),
                _ => return (Vec::new(), x.clone()),
            };
            (vec![line], t)
        })
        .map_err(|m| self.unsupported(node, m))
    }
}
