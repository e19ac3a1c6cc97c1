//! LSTM and GRU, unrolled over a static sequence length with full ONNX gate
//! semantics. The input and recurrent weights are one constant each, so every time
//! step's products read the same weight values and `cim-tile` maps each once: the
//! arrays are programmed once and reused at every step.

use crate::OnnxError;
use crate::dim::Dim;
use crate::emitter::{Emitter, Value};
use crate::proto::attribute;
use tract_onnx::pb::NodeProto;

/// The lines of `1 / (1 + exp(-x))`; returns the result's name.
fn sigmoid(x: &str, next: &mut dyn FnMut() -> String, lines: &mut Vec<String>) -> String {
    let (one, n, e, d, s) = (next(), next(), next(), next(), next());
    lines.push(format!("{one} = arith.constant 1.000000e+00 : f32"));
    lines.push(format!("{n} = arith.negf {x} : f32"));
    lines.push(format!("{e} = math.exp {n} : f32"));
    lines.push(format!("{d} = arith.addf {one}, {e} : f32"));
    lines.push(format!("{s} = arith.divf {one}, {d} : f32"));
    s
}

fn tanh(x: &str, next: &mut dyn FnMut() -> String, lines: &mut Vec<String>) -> String {
    let t = next();
    lines.push(format!("{t} = math.tanh {x} : f32"));
    t
}

fn binary(
    op: &str,
    a: &str,
    b: &str,
    next: &mut dyn FnMut() -> String,
    lines: &mut Vec<String>,
) -> String {
    let t = next();
    lines.push(format!("{t} = arith.{op} {a}, {b} : f32"));
    t
}

/// A row-major (rows x cols) matrix transposed.
fn transposed(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..rows * cols)
        .map(|i| data[(i % rows) * cols + i / rows])
        .collect()
}

impl Emitter {
    /// Columns `[k * hidden, (k + 1) * hidden)` of a (batch x gates*hidden) value.
    fn gate(&mut self, value: &Value, k: u64, hidden: u64) -> Value {
        self.extract(
            value,
            &[0, k * hidden],
            &[value.dims[0], Dim::Known(hidden)],
            &[1, 1],
        )
    }

    /// Direction `direction`'s (batch x hidden) initial state from input `index`
    /// (directions x batch x hidden), or zeros sized like the batch of `x`.
    fn initial_state(
        &mut self,
        node: &NodeProto,
        index: usize,
        x: &Value,
        hidden: u64,
        direction: u64,
        directions: u64,
    ) -> Result<Value, OnnxError> {
        if let Some(state) = self.optional_input(node, index)? {
            let state = self.materialise(state);
            if state.dims.len() != 3 || state.dims[0] != Dim::Known(directions) {
                return Err(
                    self.unsupported(node, "initial states must be (directions, batch, hidden)")
                );
            }
            let one = self.extract(
                &state,
                &[direction, 0, 0],
                &[Dim::Known(1), state.dims[1], state.dims[2]],
                &[1, 1, 1],
            );
            return self
                .squeeze(&one, &[0])
                .map_err(|m| self.unsupported(node, m));
        }
        Ok(self.filled(&[x.dims[1], Dim::Known(hidden)], 0.0))
    }

    /// A constant input's data and shape, or an error naming it.
    fn weights(
        &self,
        node: &NodeProto,
        index: usize,
        what: &str,
    ) -> Result<(Vec<f32>, Vec<u64>), OnnxError> {
        let value = self.input(node, index)?;
        let data = value.data.ok_or_else(|| {
            self.unsupported(
                node,
                format!("{what} (input {index}) must be a constant initializer"),
            )
        })?;
        Ok((
            data,
            value.dims.iter().map(|d| d.known().unwrap_or(0)).collect(),
        ))
    }

    /// LSTM (gates i, o, f, c) or GRU (gates z, r, h): forward, reverse, or both
    /// (bidirectional, the directions stacked in Y's second dimension).
    pub(crate) fn recurrent(&mut self, node: &NodeProto) -> Result<(), OnnxError> {
        let lstm = node.op_type == "LSTM";
        let gates: u64 = if lstm { 4 } else { 3 };
        let hidden = attribute(node, "hidden_size")
            .map(|a| a.i)
            .filter(|&h| h > 0)
            .ok_or_else(|| self.unsupported(node, "hidden_size is required"))?
            as u64;
        let direction = attribute(node, "direction").map_or("forward".to_owned(), |a| {
            String::from_utf8_lossy(&a.s).into_owned()
        });
        let reverses: Vec<bool> = match direction.as_str() {
            "forward" => vec![false],
            "reverse" => vec![true],
            "bidirectional" => vec![false, true],
            other => {
                return Err(
                    self.unsupported(node, format!("direction={other} is not an ONNX direction"))
                );
            }
        };
        let directions = reverses.len() as u64;
        if attribute(node, "layout").is_some_and(|a| a.i != 0) {
            return Err(self.unsupported(
                node,
                "layout=1 (batch first) is not supported: export with the default layout",
            ));
        }
        if attribute(node, "clip").is_some() {
            return Err(self.unsupported(node, "cell clipping is not supported"));
        }
        if attribute(node, "input_forget").is_some_and(|a| a.i != 0) {
            return Err(self.unsupported(node, "input_forget=1 is not supported"));
        }
        if let Some(activations) = attribute(node, "activations") {
            let names: Vec<String> = activations
                .strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).to_lowercase())
                .collect();
            let default = if lstm {
                ["sigmoid", "tanh", "tanh"].as_slice()
            } else {
                ["sigmoid", "tanh"].as_slice()
            };
            if names != default {
                return Err(self.unsupported(
                    node,
                    format!("activations {names:?}: only the defaults {default:?} are supported"),
                ));
            }
        }
        if self.optional_input(node, 4)?.is_some() {
            return Err(self.unsupported(
                node,
                "sequence_lens is not supported: every sequence has the full length",
            ));
        }
        if lstm && self.optional_input(node, 7)?.is_some() {
            return Err(self.unsupported(node, "peephole connections (P) are not supported"));
        }
        let linear_before_reset =
            !lstm && attribute(node, "linear_before_reset").is_some_and(|a| a.i != 0);

        let x = self.input(node, 0)?;
        let x = self.materialise(x);
        let (Some(steps), Some(features)) = (
            x.dims.first().and_then(|d| d.known()),
            x.dims.get(2).and_then(|d| d.known()),
        ) else {
            return Err(self.unsupported(node, "the input must be (sequence, batch, features) with a static sequence length and feature count"));
        };
        let (w, w_dims) = self.weights(node, 1, "W")?;
        let (r, r_dims) = self.weights(node, 2, "R")?;
        if w_dims != [directions, gates * hidden, features]
            || r_dims != [directions, gates * hidden, hidden]
        {
            return Err(self.unsupported(node, format!("W {w_dims:?} and R {r_dims:?} do not fit {directions} direction(s) of hidden size {hidden} over {features} features")));
        }
        let bias = match self.optional_input(node, 3)? {
            Some(b) => b
                .data
                .ok_or_else(|| self.unsupported(node, "B must be a constant initializer"))?,
            None => vec![0.0; (directions * 2 * gates * hidden) as usize],
        };
        let (gh, h, f) = (
            (gates * hidden) as usize,
            hidden as usize,
            features as usize,
        );
        let fail = |emitter: &Self, message: String| emitter.unsupported(node, message);
        let mut step_outputs = Vec::new();
        let mut final_h = Vec::new();
        let mut final_c = Vec::new();
        for (d, &reverse) in reverses.iter().enumerate() {
            // Weights as (in x gates*hidden) matrices, emitted once and shared by all steps.
            let wx = self.constant(
                &[features, gates * hidden],
                &transposed(&w[d * gh * f..(d + 1) * gh * f], gh, f),
            );
            let (rh, rn) = if lstm || linear_before_reset {
                (
                    self.constant(
                        &[hidden, gates * hidden],
                        &transposed(&r[d * gh * h..(d + 1) * gh * h], gh, h),
                    ),
                    None,
                )
            } else {
                // GRU with linear_before_reset=0: (r * h) . Rn needs Rn on its own.
                let r = &r[d * gh * h..(d + 1) * gh * h];
                let zr = transposed(&r[..2 * h * h], 2 * h, h);
                let n = transposed(&r[2 * h * h..], h, h);
                (
                    self.constant(&[hidden, 2 * hidden], &zr),
                    Some(self.constant(&[hidden, hidden], &n)),
                )
            };
            let wb = &bias[d * 2 * gh..d * 2 * gh + gh];
            let rb = &bias[d * 2 * gh + gh..(d + 1) * 2 * gh];
            let mut state_h = self.initial_state(node, 5, &x, hidden, d as u64, directions)?;
            let mut state_c = if lstm {
                Some(self.initial_state(node, 6, &x, hidden, d as u64, directions)?)
            } else {
                None
            };
            let mut outputs: Vec<Option<Value>> = vec![None; steps as usize];
            let order: Vec<u64> = if !reverse {
                (0..steps).collect()
            } else {
                (0..steps).rev().collect()
            };
            for t in order {
                let step = self.extract(
                    &x,
                    &[t, 0, 0],
                    &[Dim::Known(1), x.dims[1], Dim::Known(features)],
                    &[1, 1, 1],
                );
                let step = self.squeeze(&step, &[0]).map_err(|m| fail(self, m))?;
                let from_x = self.matmul(&step, &wx).map_err(|m| fail(self, m))?;
                let from_h = self.matmul(&state_h, &rh).map_err(|m| fail(self, m))?;
                if lstm {
                    let b: Vec<f32> = wb.iter().zip(rb).map(|(a, b)| a + b).collect();
                    let b = self.constant(&[gates * hidden], &b);
                    let pre = self
                        .elementwise(&[from_x, from_h, b], |v, next| {
                            let mut lines = Vec::new();
                            let s = binary("addf", &v[0], &v[1], next, &mut lines);
                            let t = binary("addf", &s, &v[2], next, &mut lines);
                            (lines, t)
                        })
                        .map_err(|m| fail(self, m))?;
                    let [i, o, fg, g] = [0, 1, 2, 3].map(|k| self.gate(&pre, k, hidden));
                    let c = state_c.take().expect("an LSTM has a cell state");
                    let c_new = self
                        .elementwise(&[i, fg, g, c], |v, next| {
                            let mut lines = Vec::new();
                            let si = sigmoid(&v[0], next, &mut lines);
                            let sf = sigmoid(&v[1], next, &mut lines);
                            let tg = tanh(&v[2], next, &mut lines);
                            let keep = binary("mulf", &sf, &v[3], next, &mut lines);
                            let add = binary("mulf", &si, &tg, next, &mut lines);
                            let sum = binary("addf", &keep, &add, next, &mut lines);
                            (lines, sum)
                        })
                        .map_err(|m| fail(self, m))?;
                    state_h = self
                        .elementwise(&[o, c_new.clone()], |v, next| {
                            let mut lines = Vec::new();
                            let so = sigmoid(&v[0], next, &mut lines);
                            let tc = tanh(&v[1], next, &mut lines);
                            let h = binary("mulf", &so, &tc, next, &mut lines);
                            (lines, h)
                        })
                        .map_err(|m| fail(self, m))?;
                    state_c = Some(c_new);
                } else {
                    let (bz, br, bwn, brn) = (
                        self.constant(
                            &[hidden],
                            &(0..h).map(|j| wb[j] + rb[j]).collect::<Vec<_>>(),
                        ),
                        self.constant(
                            &[hidden],
                            &(0..h).map(|j| wb[h + j] + rb[h + j]).collect::<Vec<_>>(),
                        ),
                        self.constant(&[hidden], &wb[2 * h..]),
                        self.constant(&[hidden], &rb[2 * h..]),
                    );
                    let [xz, xr, xn] = [0, 1, 2].map(|k| self.gate(&from_x, k, hidden));
                    let [hz, hr] = [0, 1].map(|k| self.gate(&from_h, k, hidden));
                    let gate = |emitter: &mut Self, a: Value, b: Value, bias: Value| {
                        emitter.elementwise(&[a, b, bias], |v, next| {
                            let mut lines = Vec::new();
                            let s = binary("addf", &v[0], &v[1], next, &mut lines);
                            let t = binary("addf", &s, &v[2], next, &mut lines);
                            let g = sigmoid(&t, next, &mut lines);
                            (lines, g)
                        })
                    };
                    let z = gate(self, xz, hz, bz).map_err(|m| fail(self, m))?;
                    let reset = gate(self, xr, hr, br).map_err(|m| fail(self, m))?;
                    // The candidate's recurrent term: r * (h . Rn + Rbn), or (r * h) . Rn + Rbn.
                    let recurrent = match &rn {
                        None => {
                            let hn = self.gate(&from_h, 2, hidden);
                            self.elementwise(&[reset, hn, brn], |v, next| {
                                let mut lines = Vec::new();
                                let s = binary("addf", &v[1], &v[2], next, &mut lines);
                                let t = binary("mulf", &v[0], &s, next, &mut lines);
                                (lines, t)
                            })
                        }
                        Some(rn) => {
                            let gated = self
                                .elementwise(&[reset, state_h.clone()], |v, next| {
                                    let mut lines = Vec::new();
                                    let t = binary("mulf", &v[0], &v[1], next, &mut lines);
                                    (lines, t)
                                })
                                .map_err(|m| fail(self, m))?;
                            let product = self.matmul(&gated, rn).map_err(|m| fail(self, m))?;
                            self.elementwise(&[product, brn], |v, next| {
                                let mut lines = Vec::new();
                                let t = binary("addf", &v[0], &v[1], next, &mut lines);
                                (lines, t)
                            })
                        }
                    }
                    .map_err(|m| fail(self, m))?;
                    state_h = self
                        .elementwise(&[xn, bwn, recurrent, z, state_h.clone()], |v, next| {
                            let mut lines = Vec::new();
                            let s = binary("addf", &v[0], &v[1], next, &mut lines);
                            let t = binary("addf", &s, &v[2], next, &mut lines);
                            let n = tanh(&t, next, &mut lines);
                            // h' = n + z * (h - n) = (1 - z) * n + z * h.
                            let d = binary("subf", &v[4], &n, next, &mut lines);
                            let zd = binary("mulf", &v[3], &d, next, &mut lines);
                            let h = binary("addf", &n, &zd, next, &mut lines);
                            (lines, h)
                        })
                        .map_err(|m| fail(self, m))?;
                }
                outputs[t as usize] = Some(state_h.clone());
            }
            step_outputs.push(
                outputs
                    .into_iter()
                    .map(|o| o.expect("every step ran"))
                    .collect::<Vec<Value>>(),
            );
            final_h.push(state_h);
            final_c.extend(state_c);
        }
        // Y (steps, directions, batch, hidden); Y_h and Y_c (directions, batch, hidden).
        let stack = |emitter: &mut Self, values: Vec<Value>, axis: usize| {
            if values.len() == 1 {
                Ok(values.into_iter().next().expect("one value"))
            } else {
                emitter.concat(&values, axis)
            }
        };
        let names: Vec<&String> = node.output.iter().collect();
        if let Some(name) = names.first().filter(|n| !n.is_empty()) {
            let mut steps_out = Vec::new();
            for t in 0..steps as usize {
                let mut per_direction = Vec::new();
                for outputs in &step_outputs {
                    per_direction.push(
                        self.unsqueeze(&outputs[t], &[0, 1])
                            .map_err(|m| fail(self, m))?,
                    );
                }
                steps_out.push(stack(self, per_direction, 1).map_err(|m| fail(self, m))?);
            }
            let y = stack(self, steps_out, 0).map_err(|m| fail(self, m))?;
            self.values.insert((*name).clone(), y);
        }
        for (index, finals) in [(1, final_h), (2, final_c)] {
            let Some(name) = names.get(index).filter(|n| !n.is_empty()) else {
                continue;
            };
            let mut per_direction = Vec::new();
            for state in &finals {
                per_direction.push(self.unsqueeze(state, &[0]).map_err(|m| fail(self, m))?);
            }
            if per_direction.is_empty() {
                return Err(fail(self, "a GRU has no cell state output".into()));
            }
            let value = stack(self, per_direction, 0).map_err(|m| fail(self, m))?;
            self.values.insert((*name).clone(), value);
        }
        Ok(())
    }
}
