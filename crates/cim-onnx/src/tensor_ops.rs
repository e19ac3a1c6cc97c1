//! Tensor-shaping operators, and the shape subgraphs torch exports around recurrent
//! layers (`Shape -> Gather -> Unsqueeze -> Concat -> ConstantOfShape`), folded at
//! import: a dimension size is either known or "dimension k of value v".

use super::{Emitter, OnnxError, Value, attribute, tensor_type};
use tract_onnx::pb::NodeProto;

/// One entry of a 1-D integer vector that describes a shape.
#[derive(Clone, Debug)]
pub(crate) enum SymDim {
    /// A known integer.
    Const(i64),
    /// Dimension `axis` of the tensor `value` (dynamic).
    Dim {
        /// The tensor.
        value: Value,
        /// Its axis.
        axis: usize,
    },
}

impl Emitter {
    /// The integer vector input `index` holds, when it is symbolic or constant.
    pub(crate) fn sym_vector(&self, node: &NodeProto, index: usize) -> Option<Vec<SymDim>> {
        let name = node.input.get(index).filter(|n| !n.is_empty())?;
        if let Some(vector) = self.symbolic.get(name) {
            return Some(vector.clone());
        }
        let data = self.values.get(name)?.data.as_ref()?;
        Some(data.iter().map(|&v| SymDim::Const(v as i64)).collect())
    }

    /// Records `vector` as node's output; a vector of known integers is also a
    /// constant value.
    fn define_symbolic(&mut self, node: &NodeProto, vector: Vec<SymDim>) {
        let name = node.output[0].clone();
        let known: Option<Vec<f32>> = vector
            .iter()
            .map(|d| match d {
                SymDim::Const(v) => Some(*v as f32),
                SymDim::Dim { .. } => None,
            })
            .collect();
        if let Some(data) = known {
            let dims = vec![Some(data.len() as u64)];
            self.values.insert(
                name.clone(),
                Value {
                    ssa: String::new(),
                    dims,
                    data: Some(data),
                },
            );
        }
        self.symbolic.insert(name, vector);
    }

    /// The constant integers of input `index` (axes, perm, starts...).
    fn constant_ints(
        &self,
        node: &NodeProto,
        index: usize,
        what: &str,
    ) -> Result<Vec<i64>, OnnxError> {
        match self.sym_vector(node, index) {
            Some(vector) => vector
                .into_iter()
                .map(|d| match d {
                    SymDim::Const(v) => Ok(v),
                    SymDim::Dim { .. } => {
                        Err(self.unsupported(node, format!("{what} must be constant")))
                    }
                })
                .collect(),
            None => Err(self.unsupported(node, format!("{what} (input {index}) must be constant"))),
        }
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

    /// A reshape by `groups` (`tensor.collapse_shape` when `dims` has fewer dimensions
    /// than the input, with groups of input axes; `tensor.expand_shape` when it has
    /// more, with groups of output axes, one per input axis) to `dims`.
    pub(crate) fn regroup(
        &mut self,
        input: &Value,
        groups: &[Vec<usize>],
        dims: Vec<Option<u64>>,
    ) -> Value {
        let reassociation: Vec<String> = groups
            .iter()
            .map(|g| {
                format!(
                    "[{}]",
                    g.iter()
                        .map(usize::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        let result = self.fresh();
        if dims.len() <= input.dims.len() {
            self.emit(format!(
                "{result} = tensor.collapse_shape {} [{}] : {} into {}",
                input.ssa,
                reassociation.join(", "),
                tensor_type(&input.dims),
                tensor_type(&dims)
            ));
        } else {
            let mut sizes = vec![String::new(); dims.len()];
            for (axis, group) in groups.iter().enumerate() {
                for &position in group {
                    sizes[position] = match dims[position] {
                        Some(size) => size.to_string(),
                        None => self.size_operand(input, axis),
                    };
                }
            }
            self.emit(format!(
                "{result} = tensor.expand_shape {} [{}] output_shape [{}] : {} into {}",
                input.ssa,
                reassociation.join(", "),
                sizes.join(", "),
                tensor_type(&input.dims),
                tensor_type(&dims)
            ));
        }
        Value {
            ssa: result,
            dims,
            data: None,
        }
    }

    /// Lowers a tensor-shaping node; `None` when the result is only symbolic.
    pub(crate) fn tensor_op(&mut self, node: &NodeProto) -> Result<Option<Value>, OnnxError> {
        let op = node.op_type.as_str();
        let normalize = |axis: i64, rank: usize| if axis < 0 { axis + rank as i64 } else { axis };
        match op {
            "Shape" => {
                let input = self.input(node, 0)?;
                let rank = input.dims.len() as i64;
                let start = normalize(
                    attribute(node, "start").map_or(0, |a| a.i),
                    input.dims.len(),
                )
                .clamp(0, rank);
                let end = normalize(
                    attribute(node, "end").map_or(rank, |a| a.i),
                    input.dims.len(),
                )
                .clamp(0, rank);
                let input = self.materialise(input);
                let vector = (start..end.max(start))
                    .map(|axis| match input.dims[axis as usize] {
                        Some(size) => SymDim::Const(size as i64),
                        None => SymDim::Dim {
                            value: input.clone(),
                            axis: axis as usize,
                        },
                    })
                    .collect();
                self.define_symbolic(node, vector);
                Ok(None)
            }
            "Cast" => {
                if let Some(vector) = self.sym_vector(node, 0).filter(|_| {
                    self.symbolic.contains_key(&node.input[0])
                        || self.input(node, 0).is_ok_and(|v| v.data.is_some())
                }) {
                    self.define_symbolic(node, vector);
                    return Ok(None);
                }
                match attribute(node, "to").map(|a| a.i) {
                    Some(1) => self.input(node, 0).map(Some),
                    to => Err(self.unsupported(
                        node,
                        format!(
                            "Cast of a tensor to type {to:?}: only float32 tensors are computed"
                        ),
                    )),
                }
            }
            "Gather" => {
                let axis = attribute(node, "axis").map_or(0, |a| a.i);
                let data_is_vector = self.symbolic.contains_key(&node.input[0])
                    || self
                        .input(node, 0)
                        .is_ok_and(|v| v.data.is_some() && v.dims.len() == 1);
                if !data_is_vector {
                    return self.gather_tensor(node, axis).map(Some);
                }
                let (Some(vector), Some(indices)) =
                    (self.sym_vector(node, 0), self.sym_vector(node, 1))
                else {
                    return Err(self.unsupported(node, "the indices must be constant"));
                };
                if axis != 0 || self.input(node, 0).is_ok_and(|v| v.dims.len() > 1) {
                    return Err(self.unsupported(
                        node,
                        "only Gather along axis 0 of a 1-D constant or shape is supported",
                    ));
                }
                let picked = indices
                    .iter()
                    .map(|index| match index {
                        SymDim::Const(i) => {
                            let i = normalize(*i, vector.len());
                            vector.get(i as usize).cloned().ok_or_else(|| {
                                self.unsupported(node, format!("index {i} is out of range"))
                            })
                        }
                        SymDim::Dim { .. } => {
                            Err(self.unsupported(node, "indices must be constant"))
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                self.define_symbolic(node, picked);
                Ok(None)
            }
            "Unsqueeze" | "Squeeze" => {
                if let Some(vector) = self.symbolic.get(&node.input[0]).cloned() {
                    self.define_symbolic(node, vector);
                    return Ok(None);
                }
                let input = self.input(node, 0)?;
                let input = self.materialise(input);
                let axes = if node.input.len() > 1 && !node.input[1].is_empty() {
                    self.constant_ints(node, 1, "axes")?
                } else {
                    attribute(node, "axes")
                        .map(|a| a.ints.clone())
                        .unwrap_or_default()
                };
                if op == "Unsqueeze" {
                    let rank = input.dims.len() + axes.len();
                    let mut axes: Vec<usize> =
                        axes.iter().map(|&a| normalize(a, rank) as usize).collect();
                    axes.sort_unstable();
                    self.unsqueeze(&input, &axes)
                        .map(Some)
                        .map_err(|m| self.unsupported(node, m))
                } else {
                    let rank = input.dims.len();
                    let axes: Vec<usize> = if axes.is_empty() {
                        (0..rank).filter(|&a| input.dims[a] == Some(1)).collect()
                    } else {
                        axes.iter().map(|&a| normalize(a, rank) as usize).collect()
                    };
                    if axes.iter().any(|&a| input.dims.get(a) != Some(&Some(1))) {
                        return Err(self.unsupported(
                            node,
                            "only dimensions of static size 1 can be squeezed",
                        ));
                    }
                    self.squeeze(&input, &axes)
                        .map(Some)
                        .map_err(|m| self.unsupported(node, m))
                }
            }
            "Concat" => {
                let axis = attribute(node, "axis").map_or(0, |a| a.i);
                let vectors: Option<Vec<Vec<SymDim>>> = (0..node.input.len())
                    .map(|i| self.sym_vector(node, i))
                    .collect();
                if let Some(vectors) =
                    vectors.filter(|_| node.input.iter().any(|n| self.symbolic.contains_key(n)))
                {
                    self.define_symbolic(node, vectors.concat());
                    return Ok(None);
                }
                let mut inputs = Vec::new();
                for index in 0..node.input.len() {
                    let value = self.input(node, index)?;
                    inputs.push(self.materialise(value));
                }
                let rank = inputs[0].dims.len();
                let axis = normalize(axis, rank) as usize;
                self.concat(&inputs, axis)
                    .map(Some)
                    .map_err(|m| self.unsupported(node, m))
            }
            "ConstantOfShape" => {
                let shape = self.sym_vector(node, 0).ok_or_else(|| {
                    self.unsupported(node, "the shape must be constant or computed from shapes")
                })?;
                let fill = attribute(node, "value")
                    .and_then(|a| a.t.as_ref())
                    .map(super::tensor_values)
                    .transpose()
                    .map_err(|m| self.unsupported(node, m))?
                    .and_then(|v| v.first().copied())
                    .unwrap_or(0.0);
                let mut dims = Vec::new();
                let mut sizes = Vec::new();
                for dim in &shape {
                    match dim {
                        SymDim::Const(v) if *v >= 0 => dims.push(Some(*v as u64)),
                        SymDim::Const(v) => {
                            return Err(self.unsupported(node, format!("negative size {v}")));
                        }
                        SymDim::Dim { value, axis } => {
                            dims.push(None);
                            sizes.push(self.size_operand(value, *axis));
                        }
                    }
                }
                let empty = self.empty_sized(&dims, &sizes);
                let value = self.fresh();
                self.emit(format!(
                    "{value} = arith.constant {} : f32",
                    super::f32_literal(fill)
                ));
                let filled = self.fresh();
                let t = tensor_type(&dims);
                self.emit(format!(
                    "{filled} = linalg.fill ins({value} : f32) outs({empty} : {t}) -> {t}"
                ));
                Ok(Some(Value {
                    ssa: filled,
                    dims,
                    data: None,
                }))
            }
            "Transpose" => {
                let input = self.input(node, 0)?;
                let input = self.materialise(input);
                let rank = input.dims.len();
                let perm: Vec<usize> = attribute(node, "perm")
                    .map(|a| a.ints.iter().map(|&p| p as usize).collect())
                    .unwrap_or_else(|| (0..rank).rev().collect());
                let mut sorted = perm.clone();
                sorted.sort_unstable();
                if sorted != (0..rank).collect::<Vec<_>>() {
                    return Err(self.unsupported(
                        node,
                        format!("perm {perm:?} is not a permutation of the {rank} axes"),
                    ));
                }
                Ok(Some(self.transpose(&input, &perm)))
            }
            "Slice" => self.slice(node).map(Some),
            _ => unreachable!("tensor_op is only called for the operators above"),
        }
    }

    /// Inserts unit dimensions at the (sorted) output positions `axes`.
    pub(crate) fn unsqueeze(&mut self, input: &Value, axes: &[usize]) -> Result<Value, String> {
        let rank = input.dims.len() + axes.len();
        let mut dims = Vec::with_capacity(rank);
        // Each input dimension's group: the new unit dimensions just before it and
        // itself; trailing new dimensions join the last group.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut pending = Vec::new();
        let mut next_input = 0;
        for position in 0..rank {
            pending.push(position);
            if axes.contains(&position) {
                dims.push(Some(1));
            } else {
                dims.push(input.dims[next_input]);
                next_input += 1;
                groups.push(std::mem::take(&mut pending));
            }
        }
        match groups.last_mut() {
            Some(last) => last.extend(pending),
            None if input.dims.is_empty() => {}
            None => return Err("unsqueeze of an empty shape".into()),
        }
        Ok(self.regroup(input, &groups, dims))
    }

    /// Removes the unit dimensions `axes`.
    pub(crate) fn squeeze(&mut self, input: &Value, axes: &[usize]) -> Result<Value, String> {
        let kept: Vec<usize> = (0..input.dims.len())
            .filter(|a| !axes.contains(a))
            .collect();
        let dims: Vec<Option<u64>> = kept.iter().map(|&a| input.dims[a]).collect();
        let mut groups: Vec<Vec<usize>> = kept.iter().map(|&a| vec![a]).collect();
        for &axis in axes {
            // A removed unit dimension joins the group of the next kept one, or the last.
            match groups.iter_mut().find(|g| g[0] > axis) {
                Some(group) => group.insert(0, axis),
                None => match groups.last_mut() {
                    Some(group) => group.push(axis),
                    None => return Err("cannot squeeze every dimension away".into()),
                },
            }
        }
        for group in &mut groups {
            group.sort_unstable();
        }
        Ok(self.regroup(input, &groups, dims))
    }

    /// `tensor.concat` along `axis`.
    pub(crate) fn concat(&mut self, inputs: &[Value], axis: usize) -> Result<Value, String> {
        let mut dims = inputs[0].dims.clone();
        dims[axis] = inputs
            .iter()
            .try_fold(0u64, |sum, v| v.dims[axis].map(|d| sum + d));
        for input in inputs {
            if input.dims.len() != dims.len() {
                return Err("Concat inputs must have one rank".into());
            }
        }
        let result = self.fresh();
        let types: Vec<String> = inputs.iter().map(|v| tensor_type(&v.dims)).collect();
        self.emit(format!(
            "{result} = tensor.concat dim({axis}) {} : ({}) -> {}",
            inputs
                .iter()
                .map(|v| v.ssa.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            types.join(", "),
            tensor_type(&dims)
        ));
        Ok(Value {
            ssa: result,
            dims,
            data: None,
        })
    }

    /// `linalg.transpose` by `perm` (output axis i is input axis perm[i]).
    pub(crate) fn transpose(&mut self, input: &Value, perm: &[usize]) -> Value {
        let dims: Vec<Option<u64>> = perm.iter().map(|&p| input.dims[p]).collect();
        let sizes: Vec<String> = perm
            .iter()
            .filter(|&&p| input.dims[p].is_none())
            .map(|&p| self.size_operand(input, p))
            .collect();
        let empty = self.empty_sized(&dims, &sizes);
        let result = self.fresh();
        self.emit(format!(
            "{result} = linalg.transpose ins({} : {}) outs({empty} : {}) permutation = [{}]",
            input.ssa,
            tensor_type(&input.dims),
            tensor_type(&dims),
            perm.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
        Value {
            ssa: result,
            dims,
            data: None,
        }
    }

    /// `tensor.extract_slice` of `sizes` elements from `offsets` (unit strides); a
    /// `None` size takes the whole (dynamic) dimension.
    pub(crate) fn extract(
        &mut self,
        input: &Value,
        offsets: &[u64],
        sizes: &[Option<u64>],
    ) -> Value {
        let dims: Vec<Option<u64>> = sizes.to_vec();
        let operands: Vec<String> = sizes
            .iter()
            .enumerate()
            .map(|(axis, size)| match size {
                Some(size) => size.to_string(),
                None => self.size_operand(input, axis),
            })
            .collect();
        let result = self.fresh();
        self.emit(format!(
            "{result} = tensor.extract_slice {}[{}] [{}] [{}] : {} to {}",
            input.ssa,
            offsets
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            operands.join(", "),
            vec!["1"; sizes.len()].join(", "),
            tensor_type(&input.dims),
            tensor_type(&dims)
        ));
        Value {
            ssa: result,
            dims,
            data: None,
        }
    }

    /// Gather of a computed tensor with one constant index: that slice along `axis`,
    /// without the axis (a scalar index) or with it (a one-element index list), as
    /// torch exports `h[-1]`.
    fn gather_tensor(&mut self, node: &NodeProto, axis: i64) -> Result<Value, OnnxError> {
        let data = self.input(node, 0)?;
        let data = self.materialise(data);
        let indices = self.input(node, 1)?;
        let (Some(index), scalar) = (
            indices
                .data
                .as_ref()
                .filter(|d| d.len() == 1)
                .map(|d| d[0] as i64),
            indices.dims.is_empty(),
        ) else {
            return Err(self.unsupported(node, "Gather of a computed tensor needs one constant index (embedding lookups are not supported yet)"));
        };
        let rank = data.dims.len();
        let axis = if axis < 0 { axis + rank as i64 } else { axis } as usize;
        let size = data
            .dims
            .get(axis)
            .copied()
            .flatten()
            .ok_or_else(|| self.unsupported(node, "the gathered axis must be static"))?
            as i64;
        let index = if index < 0 { index + size } else { index };
        if !(0..size).contains(&index) {
            return Err(self.unsupported(
                node,
                format!("index {index} is out of range for size {size}"),
            ));
        }
        let mut offsets = vec![0u64; rank];
        offsets[axis] = index as u64;
        let mut sizes = data.dims.clone();
        sizes[axis] = Some(1);
        let slice = self.extract(&data, &offsets, &sizes);
        if scalar {
            self.squeeze(&slice, &[axis])
                .map_err(|m| self.unsupported(node, m))
        } else {
            Ok(slice)
        }
    }

    fn slice(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let starts = self.constant_ints(node, 1, "starts")?;
        let ends = self.constant_ints(node, 2, "ends")?;
        let input = self.input(node, 0)?;
        let rank = input.dims.len();
        let axes = if node.input.len() > 3 && !node.input[3].is_empty() {
            self.constant_ints(node, 3, "axes")?
        } else {
            (0..starts.len() as i64).collect()
        };
        if node.input.len() > 4
            && !node.input[4].is_empty()
            && self
                .constant_ints(node, 4, "steps")?
                .iter()
                .any(|&s| s != 1)
        {
            return Err(self.unsupported(node, "only unit steps are supported"));
        }
        let input = self.materialise(input);
        let mut offsets = vec![0u64; rank];
        let mut sizes = input.dims.clone();
        for ((&start, &end), &axis) in starts.iter().zip(&ends).zip(&axes) {
            let axis = if axis < 0 { axis + rank as i64 } else { axis } as usize;
            let size = input.dims.get(axis).copied().flatten().ok_or_else(|| {
                self.unsupported(node, format!("sliced axis {axis} must be static"))
            })? as i64;
            let clamp = |v: i64| {
                if v < 0 {
                    (v + size).max(0)
                } else {
                    v.min(size)
                }
            };
            let (start, end) = (clamp(start), clamp(end));
            offsets[axis] = start as u64;
            sizes[axis] = Some((end - start).max(0) as u64);
        }
        Ok(self.extract(&input, &offsets, &sizes))
    }
}
