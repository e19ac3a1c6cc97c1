//! The tensor-shaping operators: Reshape, Flatten, Transpose, Squeeze, Unsqueeze,
//! Concat, Slice and Gather on computed tensors, and the shape subgraphs torch exports
//! around recurrent layers (Shape, Gather, Unsqueeze, Concat, ConstantOfShape, Cast
//! on 1-D integer vectors), folded at import as symbolic dimensions (`fold`).

use crate::OnnxError;
use crate::emitter::{Emitter, Value, f32_literal, tensor_type};
use crate::fold::SymDim;
use crate::proto::{attribute, tensor_values};
use tract_onnx::pb::NodeProto;

impl Emitter {
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
                    let mut axes: Vec<usize> = axes
                        .iter()
                        .map(|&a| axis_in(a, rank).ok_or_else(|| out_of_range(self, node, a, rank)))
                        .collect::<Result<_, _>>()?;
                    axes.sort_unstable();
                    if axes.windows(2).any(|pair| pair[0] == pair[1]) {
                        return Err(self.unsupported(node, "axes repeat an axis"));
                    }
                    self.unsqueeze(&input, &axes)
                        .map(Some)
                        .map_err(|m| self.unsupported(node, m))
                } else {
                    let rank = input.dims.len();
                    let axes: Vec<usize> = if axes.is_empty() {
                        (0..rank).filter(|&a| input.dims[a] == Some(1)).collect()
                    } else {
                        axes.iter()
                            .map(|&a| {
                                axis_in(a, rank).ok_or_else(|| out_of_range(self, node, a, rank))
                            })
                            .collect::<Result<_, _>>()?
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
                let Some(first) = inputs.first() else {
                    return Err(self.unsupported(node, "Concat needs at least one input"));
                };
                let rank = first.dims.len();
                let axis =
                    axis_in(axis, rank).ok_or_else(|| out_of_range(self, node, axis, rank))?;
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
                    .map(tensor_values)
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
                    f32_literal(fill)
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

    /// Reshape to (batch, features) with a constant shape, as torch exports
    /// `x.view(x.size(0), -1)`.
    /// Reshape that merges or splits neighbouring dimensions (a collapse or an expand
    /// of the row-major layout), the batch staying first: `x.view(x.size(0), -1)`,
    /// `(T, B, 2, H) -> (T, B, 2H)`. The shape may be constant or computed from shapes.
    pub(crate) fn reshape(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
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

    /// Flatten with axis 1: (batch, d1, d2, ...) to (batch, d1 * d2 * ...).
    pub(crate) fn flatten_node(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let fail = |emitter: &Self, message: String| emitter.unsupported(node, message);
        let int_attribute =
            |name: &str, default: i64| attribute(node, name).map_or(default, |a| a.i);
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
        self.flatten(input).map_err(|m| fail(self, m))
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
}

/// `axis` of a tensor of `rank` (negative counts from the end), if it names one.
fn axis_in(axis: i64, rank: usize) -> Option<usize> {
    let rank = i64::try_from(rank).ok()?;
    let axis = if axis < 0 {
        axis.checked_add(rank)?
    } else {
        axis
    };
    (0..rank).contains(&axis).then_some(axis as usize)
}

/// The error of an axis outside `[-rank, rank)`.
fn out_of_range(emitter: &Emitter, node: &NodeProto, axis: i64, rank: usize) -> OnnxError {
    emitter.unsupported(
        node,
        format!("axis {axis} is outside a tensor of rank {rank} (axes lie in [-{rank}, {rank}))"),
    )
}
