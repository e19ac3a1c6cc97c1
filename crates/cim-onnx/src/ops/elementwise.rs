//! Element-wise operators, as `linalg.generic` with NumPy broadcasting: the
//! arithmetic Add, Sub, Mul and Div, and the activations Relu, LeakyRelu, Sigmoid,
//! Tanh and Clip.

use crate::OnnxError;
use crate::dim::Dim;
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
        let folded = fold_constants(&[a.clone(), b.clone()], |x| match op {
            "Add" => x[0] + x[1],
            "Sub" => x[0] - x[1],
            "Mul" => x[0] * x[1],
            _ => x[0] / x[1],
        });
        if let Some(folded) = folded.filter(|v| v.data.iter().flatten().all(|x| x.is_finite())) {
            return Ok(folded);
        }
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
        if let Some(folded) = fold_constants(std::slice::from_ref(&input), |x| scalar(x[0])) {
            if folded.data.iter().flatten().any(|v| !v.is_finite()) {
                return Err(self.unsupported(
                    node,
                    "computing it on its constant input gives a value that is not finite",
                ));
            }
            return Ok(folded);
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

/// The `arith.cmpf` predicate of a comparison operator.
fn predicate(op: &str) -> &'static str {
    match op {
        "Equal" => "oeq",
        "Greater" => "ogt",
        "GreaterOrEqual" => "oge",
        "Less" => "olt",
        _ => "ole",
    }
}

impl Emitter {
    /// Comparisons (Equal, Greater, GreaterOrEqual, Less, LessOrEqual), logic (And,
    /// Or, Xor, Not), Where, IsNaN and the variadic Max and Min, on values carried as
    /// f32 (booleans as 1 and 0), with NumPy broadcasting: what attention masks are
    /// built of. On constants they are computed at import.
    pub(crate) fn logic(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let op = node.op_type.clone();
        let mut inputs = Vec::new();
        for index in 0..node.input.len() {
            inputs.push(self.input(node, index)?);
        }
        let scalar = |x: &[f32]| -> f32 {
            let truth = |b: bool| if b { 1.0 } else { 0.0 };
            match op.as_str() {
                "Equal" => truth(x[0] == x[1]),
                "Greater" => truth(x[0] > x[1]),
                "GreaterOrEqual" => truth(x[0] >= x[1]),
                "Less" => truth(x[0] < x[1]),
                "LessOrEqual" => truth(x[0] <= x[1]),
                "And" => truth(x[0] != 0.0 && x[1] != 0.0),
                "Or" => truth(x[0] != 0.0 || x[1] != 0.0),
                "Xor" => truth((x[0] != 0.0) != (x[1] != 0.0)),
                "Not" => truth(x[0] == 0.0),
                "IsNaN" => truth(x[0].is_nan()),
                "Where" => {
                    if x[0] != 0.0 {
                        x[1]
                    } else {
                        x[2]
                    }
                }
                "Max" => x.iter().copied().fold(f32::NEG_INFINITY, f32::max),
                _ => x.iter().copied().fold(f32::INFINITY, f32::min),
            }
        };
        if let Some(folded) = fold_constants(&inputs, scalar) {
            return Ok(folded);
        }
        let inputs: Vec<Value> = inputs.into_iter().map(|v| self.materialise(v)).collect();
        let op = node.op_type.clone();
        self.elementwise(&inputs, move |x, next| {
            let (one, zero) = (next(), next());
            let mut lines = vec![
                format!("{one} = arith.constant 1.000000e+00 : f32"),
                format!("{zero} = arith.constant 0.000000e+00 : f32"),
            ];
            // `b != 0` as an i1.
            let mut truth = |value: &str, lines: &mut Vec<String>| {
                let t = next();
                lines.push(format!("{t} = arith.cmpf une, {value}, {zero} : f32"));
                t
            };
            let condition = match op.as_str() {
                "Equal" | "Greater" | "GreaterOrEqual" | "Less" | "LessOrEqual" => {
                    let c = next();
                    lines.push(format!(
                        "{c} = arith.cmpf {}, {}, {} : f32",
                        predicate(&op),
                        x[0],
                        x[1]
                    ));
                    c
                }
                "IsNaN" => {
                    let c = next();
                    lines.push(format!("{c} = arith.cmpf uno, {0}, {0} : f32", x[0]));
                    c
                }
                "Not" => {
                    let c = next();
                    lines.push(format!("{c} = arith.cmpf oeq, {}, {zero} : f32", x[0]));
                    c
                }
                "And" | "Or" | "Xor" => {
                    let (a, b) = (truth(&x[0], &mut lines), truth(&x[1], &mut lines));
                    let c = next();
                    let logic = match op.as_str() {
                        "And" => "andi",
                        "Or" => "ori",
                        _ => "xori",
                    };
                    lines.push(format!("{c} = arith.{logic} {a}, {b} : i1"));
                    c
                }
                "Where" => {
                    let c = truth(&x[0], &mut lines);
                    let r = next();
                    lines.push(format!("{r} = arith.select {c}, {}, {} : f32", x[1], x[2]));
                    return (lines, r);
                }
                _ => {
                    // Max and Min over any number of inputs.
                    let combine = if op == "Max" { "maximumf" } else { "minimumf" };
                    let mut acc = x[0].clone();
                    for other in &x[1..] {
                        let r = next();
                        lines.push(format!("{r} = arith.{combine} {acc}, {other} : f32"));
                        acc = r;
                    }
                    return (lines, acc);
                }
            };
            let r = next();
            lines.push(format!(
                "{r} = arith.select {condition}, {one}, {zero} : f32"
            ));
            (lines, r)
        })
        .map_err(|m| self.unsupported(node, m))
    }
}

/// `f` applied element-wise to constant `inputs` with NumPy broadcasting, when they
/// all are constants of static shape (and not too large to compute at import).
pub(crate) fn fold_constants(inputs: &[Value], f: impl Fn(&[f32]) -> f32) -> Option<Value> {
    const MOST: u64 = 1 << 22;
    let data: Vec<&Vec<f32>> = inputs
        .iter()
        .map(|v| v.data.as_ref())
        .collect::<Option<_>>()?;
    let shapes: Vec<Vec<u64>> = inputs
        .iter()
        .map(|v| {
            v.dims
                .iter()
                .map(|d| d.known())
                .collect::<Option<Vec<u64>>>()
        })
        .collect::<Option<_>>()?;
    let rank = shapes.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = vec![1u64; rank];
    for shape in &shapes {
        let offset = rank - shape.len();
        for (axis, &d) in shape.iter().enumerate() {
            let o = &mut out[offset + axis];
            if *o == 1 {
                *o = d;
            } else if d != 1 && d != *o {
                return None;
            }
        }
    }
    let count = out.iter().try_fold(1u64, |p, &d| p.checked_mul(d))?;
    if count > MOST {
        return None;
    }
    let mut values = Vec::with_capacity(count as usize);
    let mut point = vec![0u64; rank];
    let mut arguments = vec![0.0f32; inputs.len()];
    for _ in 0..count {
        for (k, shape) in shapes.iter().enumerate() {
            let offset = rank - shape.len();
            let mut flat = 0u64;
            for (axis, &d) in shape.iter().enumerate() {
                flat = flat * d + if d == 1 { 0 } else { point[offset + axis] };
            }
            arguments[k] = data[k][flat as usize];
        }
        values.push(f(&arguments));
        for axis in (0..rank).rev() {
            point[axis] += 1;
            if point[axis] < out[axis] {
                break;
            }
            point[axis] = 0;
        }
    }
    Some(Value {
        ssa: String::new(),
        dims: out.into_iter().map(Dim::Known).collect(),
        data: Some(values),
    })
}
