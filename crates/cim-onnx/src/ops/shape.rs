//! The tensor-shaping operators on computed tensors: Reshape, Flatten, Transpose,
//! Squeeze, Unsqueeze, Concat, Slice (any steps), Gather of one index, Expand,
//! ConstantOfShape and Cast to float. Their shape vectors are folded at import
//! (`shape_vector`); a reshape is an expand then a collapse of the row-major layout
//! (`dim::reshape_plan`), the batch included.

use crate::OnnxError;
use crate::dim::{Dim, product, reshape_plan, shape_text};
use crate::emitter::{Emitter, Value, tensor_type};
use crate::fold::SymDim;
use crate::ops::shape_vector::slice_range;
use crate::ops::{axis_in, out_of_range};
use crate::proto::{attribute, data_type, tensor_values};
use tract_onnx::pb::NodeProto;

impl Emitter {
    /// Lowers a tensor-shaping node.
    pub(crate) fn tensor_op(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let op = node.op_type.as_str();
        match op {
            "Cast" => {
                // Values are carried as f32: to float they pass, to bool they become
                // 0 or 1, to an integer type they are truncated.
                let to = attribute(node, "to").map_or(0, |a| a.i);
                let input = self.input(node, 0)?;
                match to {
                    t if data_type::is_float(t) => Ok(input),
                    t if t == i64::from(data_type::BOOL) => self.cast_to(node, input, true),
                    t if data_type::is_integer(t) => self.cast_to(node, input, false),
                    other => Err(self.unsupported(
                        node,
                        format!("Cast to ONNX type {other} is not supported (float, integer and bool are)"),
                    )),
                }
            }
            "Range" => self.range(node),
            "Gather" => {
                let axis = attribute(node, "axis").map_or(0, |a| a.i);
                self.gather_tensor(node, axis)
            }
            "Unsqueeze" | "Squeeze" => {
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
                        .map_err(|m| self.unsupported(node, m))
                } else {
                    let rank = input.dims.len();
                    let one = Dim::Known(1);
                    let axes: Vec<usize> = if axes.is_empty() {
                        (0..rank).filter(|&a| input.dims[a] == one).collect()
                    } else {
                        axes.iter()
                            .map(|&a| {
                                axis_in(a, rank).ok_or_else(|| out_of_range(self, node, a, rank))
                            })
                            .collect::<Result<_, _>>()?
                    };
                    if axes.iter().any(|&a| input.dims[a] != one) {
                        return Err(self.unsupported(
                            node,
                            "only dimensions of static size 1 can be squeezed",
                        ));
                    }
                    self.squeeze(&input, &axes)
                        .map_err(|m| self.unsupported(node, m))
                }
            }
            "Concat" => {
                let axis = attribute(node, "axis").map_or(0, |a| a.i);
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
                let dims = self.sizes_of(node, &shape)?;
                Ok(self.filled(&dims, fill))
            }
            "Expand" => {
                let input = self.input(node, 0)?;
                let input = self.materialise(input);
                let shape = self.sym_vector(node, 1).ok_or_else(|| {
                    self.unsupported(node, "the shape must be constant or computed from shapes")
                })?;
                let dims = self.sizes_of(node, &shape)?;
                // Broadcasting against a tensor of the shape, filled with zeros.
                let zeros = Value {
                    ssa: self.filled(&dims, 0.0).ssa,
                    dims,
                    data: None,
                };
                self.elementwise(&[input, zeros], |x, _| (Vec::new(), x[0].clone()))
                    .map_err(|m| self.unsupported(node, m))
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
                Ok(self.transpose(&input, &perm))
            }
            "Slice" => self.slice(node),
            "Reshape" => self.reshape(node),
            other => {
                Err(self.unsupported(node, format!("{other} is not a tensor-shaping operator")))
            }
        }
    }

    /// A Cast to bool (`x != 0`) or else to an integer type (truncation) of values
    /// carried as f32; computed at import on a constant.
    fn cast_to(
        &mut self,
        node: &NodeProto,
        input: Value,
        bool_cast: bool,
    ) -> Result<Value, OnnxError> {
        let scalar = |x: f32| {
            if bool_cast {
                f32::from(u8::from(x != 0.0))
            } else {
                x.trunc()
            }
        };
        if let Some(folded) =
            crate::ops::elementwise::fold_constants(std::slice::from_ref(&input), |x| scalar(x[0]))
        {
            return Ok(folded);
        }
        let input = self.materialise(input);
        self.elementwise(&[input], move |x, next| {
            let x = &x[0];
            if bool_cast {
                let (zero, one, c, r) = (next(), next(), next(), next());
                (
                    vec![
                        format!("{zero} = arith.constant 0.000000e+00 : f32"),
                        format!("{one} = arith.constant 1.000000e+00 : f32"),
                        format!("{c} = arith.cmpf une, {x}, {zero} : f32"),
                        format!("{r} = arith.select {c}, {one}, {zero} : f32"),
                    ],
                    r,
                )
            } else {
                let (i, r) = (next(), next());
                (
                    vec![
                        format!("{i} = arith.fptosi {x} : f32 to i64"),
                        format!("{r} = arith.sitofp {i} : i64 to f32"),
                    ],
                    r,
                )
            }
        })
        .map_err(|m| self.unsupported(node, m))
    }

    /// Range(start, limit, delta) on scalars that shapes compute: `start + i ·
    /// delta` for `i` below the count, as a tensor (its length may be a dynamic size
    /// when start is 0 and delta 1). Constant ranges are folded as shape vectors.
    fn range(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let scalar = |emitter: &Self, index: usize| -> Result<SymDim, OnnxError> {
            match emitter.sym_vector(node, index).as_deref() {
                Some([one]) => Ok(*one),
                _ => Err(emitter.unsupported(
                    node,
                    format!("input {index} must be a scalar constant or a size"),
                )),
            }
        };
        let (start, limit, delta) = (scalar(self, 0)?, scalar(self, 1)?, scalar(self, 2)?);
        let (start, delta) = match (start, delta) {
            (SymDim::Const(s), SymDim::Const(d)) if d != 0 => (s, d),
            _ => {
                return Err(
                    self.unsupported(node, "start and delta must be constants, delta not 0")
                );
            }
        };
        let length = match limit {
            SymDim::Const(l) => {
                Dim::Known(u64::try_from((l - start + delta - delta.signum()) / delta).unwrap_or(0))
            }
            SymDim::Size(size) if start == 0 && delta == 1 => size,
            SymDim::Size(_) => {
                return Err(self.unsupported(
                    node,
                    "a Range up to a dynamic size must start at 0 with step 1",
                ));
            }
        };
        let dims = vec![length];
        let empty = self.empty(&dims);
        let result = self.fresh();
        let t = tensor_type(&dims);
        self.emit(format!(
            "{result} = linalg.generic {{indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = [\"parallel\"]}} outs({empty} : {t}) {{"
        ));
        self.lines.extend([
            "  ^bb0(%out: f32):".to_owned(),
            "    %i = linalg.index 0 : index".to_owned(),
            "    %n = arith.index_cast %i : index to i64".to_owned(),
            format!("    %step = arith.constant {delta} : i64"),
            format!("    %start = arith.constant {start} : i64"),
            "    %scaled = arith.muli %n, %step : i64".to_owned(),
            "    %v = arith.addi %scaled, %start : i64".to_owned(),
            "    %f = arith.sitofp %v : i64 to f32".to_owned(),
            "    linalg.yield %f : f32".to_owned(),
            format!("  }} -> {t}"),
        ]);
        Ok(Value {
            ssa: result,
            dims,
            data: None,
        })
    }

    /// The sizes a shape vector holds (none negative).
    fn sizes_of(&self, node: &NodeProto, shape: &[SymDim]) -> Result<Vec<Dim>, OnnxError> {
        shape
            .iter()
            .map(|d| {
                d.as_dim()
                    .ok_or_else(|| self.unsupported(node, format!("negative size {d:?}")))
            })
            .collect()
    }

    /// Gather of a computed tensor with one constant index: that slice along `axis`,
    /// without the axis (a scalar index) or with it (a one-element index list), as
    /// torch exports `h[-1]` and the selection of Q, K and V.
    fn gather_tensor(&mut self, node: &NodeProto, axis: i64) -> Result<Value, OnnxError> {
        let data = self.input(node, 0)?;
        let data = self.materialise(data);
        let indices = self.input(node, 1)?;
        if indices.data.is_none() || indices.data.as_ref().is_some_and(|d| d.len() != 1) {
            return self.lookup(node, &data, indices, axis);
        }
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
        let axis = axis_in(axis, rank).ok_or_else(|| out_of_range(self, node, axis, rank))?;
        let size = data.dims[axis]
            .known()
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
        sizes[axis] = Dim::Known(1);
        let slice = self.extract(&data, &offsets, &sizes, &vec![1; rank]);
        if scalar {
            self.squeeze(&slice, &[axis])
                .map_err(|m| self.unsupported(node, m))
        } else {
            Ok(slice)
        }
    }

    /// Gather of rows of `data` (an embedding table) by computed indices (token
    /// ids, carried as f32): output `indices.dims ++ data.dims[1..]`, each element a
    /// `tensor.extract` of the table at the index (negative ones count from the end;
    /// one out of range reads NaN). Only along axis 0.
    fn lookup(
        &mut self,
        node: &NodeProto,
        data: &Value,
        indices: Value,
        axis: i64,
    ) -> Result<Value, OnnxError> {
        let rank = data.dims.len();
        if axis_in(axis, rank) != Some(0) || rank == 0 {
            return Err(self.unsupported(
                node,
                "a Gather by computed indices is only supported along axis 0 (an embedding lookup)",
            ));
        }
        // Negative ids count from the end of a static axis; along a dynamic one (an
        // exporter's flattened mask, indexed by computed positions) they read NaN.
        let rows = data.dims[0].known();
        let indices = self.materialise(indices);
        let k = indices.dims.len();
        let mut dims = indices.dims.clone();
        dims.extend_from_slice(&data.dims[1..]);
        let out_rank = dims.len();
        let domain: Vec<String> = (0..out_rank).map(|d| format!("d{d}")).collect();
        let empty = self.empty(&dims);
        let result = self.fresh();
        let t = tensor_type(&dims);
        self.emit(format!(
            "{result} = linalg.generic {{indexing_maps = [affine_map<({0}) -> ({1})>, affine_map<({0}) -> ({0})>], iterator_types = [{2}]}} ins({3} : {4}) outs({empty} : {t}) {{",
            domain.join(", "),
            domain[..k].join(", "),
            vec!["\"parallel\""; out_rank].join(", "),
            indices.ssa,
            tensor_type(&indices.dims),
        ));
        let mut body = vec![
            "  ^bb0(%in: f32, %out: f32):".to_owned(),
            "    %id = arith.fptosi %in : f32 to i64".to_owned(),
        ];
        match rows {
            Some(rows) => body.extend([
                format!("    %rows = arith.constant {rows} : i64"),
                "    %zero = arith.constant 0 : i64".to_owned(),
                "    %negative = arith.cmpi slt, %id, %zero : i64".to_owned(),
                "    %wrapped = arith.addi %id, %rows : i64".to_owned(),
                "    %row = arith.select %negative, %wrapped, %id : i64".to_owned(),
                "    %r = arith.index_cast %row : i64 to index".to_owned(),
            ]),
            None => body.push("    %r = arith.index_cast %id : i64 to index".to_owned()),
        }
        let mut at = vec!["%r".to_owned()];
        for axis in k..out_rank {
            body.push(format!("    %i{axis} = linalg.index {axis} : index"));
            at.push(format!("%i{axis}"));
        }
        body.push(format!(
            "    %v = tensor.extract {}[{}] : {}",
            data.ssa,
            at.join(", "),
            tensor_type(&data.dims)
        ));
        body.push("    linalg.yield %v : f32".to_owned());
        self.lines.extend(body);
        self.lines.push(format!("  }} -> {t}"));
        Ok(Value {
            ssa: result,
            dims,
            data: None,
        })
    }

    /// Slice with constant starts, ends, axes and steps (negative steps included) on
    /// static axes.
    fn slice(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let starts = self.constant_ints(node, 1, "starts")?;
        let ends = self.constant_ints(node, 2, "ends")?;
        let input = self.input(node, 0)?;
        let rank = input.dims.len();
        let axes = match self.optional_input(node, 3)? {
            Some(_) => self.constant_ints(node, 3, "axes")?,
            None => (0..starts.len() as i64).collect(),
        };
        let steps = match self.optional_input(node, 4)? {
            Some(_) => self.constant_ints(node, 4, "steps")?,
            None => vec![1; starts.len()],
        };
        if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
            return Err(self.unsupported(node, "starts, ends, axes and steps differ in length"));
        }
        let mut input = self.materialise(input);
        let mut offsets = vec![0u64; rank];
        let mut sizes = input.dims.clone();
        let mut strides = vec![1i64; rank];
        let mut reversed = Vec::new();
        for (((&start, &end), &axis), &step) in starts.iter().zip(&ends).zip(&axes).zip(&steps) {
            let axis = axis_in(axis, rank).ok_or_else(|| out_of_range(self, node, axis, rank))?;
            let size = input.dims[axis].known().ok_or_else(|| {
                self.unsupported(node, format!("sliced axis {axis} must be static"))
            })? as i64;
            let taken = slice_range(size, start, end, step)
                .ok_or_else(|| self.unsupported(node, "a step of 0"))?;
            sizes[axis] = Dim::Known(taken.len() as u64);
            if let Some(&first) = taken.first() {
                // A negative step: the forward slice from the last index taken, then
                // the axis reversed.
                let low = if step > 0 {
                    first
                } else {
                    *taken.last().unwrap_or(&first)
                };
                offsets[axis] = low as u64;
                strides[axis] = step.abs();
                if step < 0 {
                    reversed.push(axis);
                }
            }
        }
        let sliced = self.extract(&input, &offsets, &sizes, &strides);
        input = sliced;
        for axis in reversed {
            input = self.reverse(&input, axis);
        }
        Ok(input)
    }

    /// `input` with `axis` (static) in reverse order: each element read by
    /// `tensor.extract` at `size - 1 - i` along the axis.
    fn reverse(&mut self, input: &Value, axis: usize) -> Value {
        let rank = input.dims.len();
        let size = input.dims[axis].known().unwrap_or(1);
        let domain: Vec<String> = (0..rank).map(|d| format!("d{d}")).collect();
        let empty = self.empty(&input.dims);
        let result = self.fresh();
        let t = tensor_type(&input.dims);
        self.emit(format!(
            "{result} = linalg.generic {{indexing_maps = [affine_map<({0}) -> ({0})>], iterator_types = [{1}]}} outs({empty} : {t}) {{",
            domain.join(", "),
            vec!["\"parallel\""; rank].join(", "),
        ));
        self.lines.push("  ^bb0(%out: f32):".into());
        let mut at = Vec::new();
        for d in 0..rank {
            self.lines
                .push(format!("    %i{d} = linalg.index {d} : index"));
            at.push(format!("%i{d}"));
        }
        self.lines
            .push(format!("    %last = arith.constant {} : index", size - 1));
        self.lines
            .push(format!("    %r = arith.subi %last, %i{axis} : index"));
        at[axis] = "%r".into();
        self.lines.push(format!(
            "    %v = tensor.extract {}[{}] : {t}",
            input.ssa,
            at.join(", ")
        ));
        self.lines.push("    linalg.yield %v : f32".into());
        self.lines.push(format!("  }} -> {t}"));
        Value {
            ssa: result,
            dims: input.dims.clone(),
            data: None,
        }
    }

    /// Reshape by a shape vector (constant or computed from shapes): a 0 copies the
    /// input's dimension (unless `allowzero`), one -1 is inferred; the row-major
    /// reshape is an expand and a collapse, dynamic sizes followed symbolically
    /// (`(16, B, 16) -> (16, 2B, 8)`).
    pub(crate) fn reshape(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let input = self.input(node, 0)?;
        let input = self.materialise(input);
        let shape = self.sym_vector(node, 1).ok_or_else(|| {
            self.unsupported(node, "the shape must be constant or computed from shapes")
        })?;
        let allow_zero = attribute(node, "allowzero").is_some_and(|a| a.i != 0);
        let fail = |emitter: &Self, message: String| emitter.unsupported(node, message);
        let mut target: Vec<Dim> = Vec::with_capacity(shape.len());
        let mut inferred = None;
        for (index, entry) in shape.iter().enumerate() {
            target.push(match *entry {
                SymDim::Const(0) if !allow_zero => *input.dims.get(index).ok_or_else(|| {
                    fail(
                        self,
                        format!("shape entry {index} copies a dimension the input does not have"),
                    )
                })?,
                SymDim::Const(-1) if inferred.is_none() => {
                    inferred = Some(index);
                    Dim::Known(1)
                }
                SymDim::Const(v) if v >= 0 => Dim::Known(v as u64),
                SymDim::Size(dim) => dim,
                SymDim::Const(v) => {
                    return Err(fail(self, format!("shape entry {index} is {v}")));
                }
            });
        }
        if let Some(index) = inferred {
            let total = product(&input.dims);
            let known = product(&target);
            target[index] = total
                .zip(known)
                .and_then(|(t, k)| t.divided_by(k))
                .ok_or_else(|| {
                    fail(
                        self,
                        format!(
                            "cannot infer the -1 of {} from the input {}",
                            shape_text(&target),
                            shape_text(&input.dims)
                        ),
                    )
                })?;
        }
        self.reshape_to(&input, &target).map_err(|m| fail(self, m))
    }

    /// The row-major reshape of `input` to `target`.
    pub(crate) fn reshape_to(&mut self, input: &Value, target: &[Dim]) -> Result<Value, String> {
        if input.dims == target {
            return Ok(input.clone());
        }
        let plan = reshape_plan(&input.dims, target)?;
        let mut value = input.clone();
        if plan.atoms.len() > input.dims.len() {
            value = self.regroup(&value, &plan.expand, plan.atoms.clone());
        }
        if target.len() < plan.atoms.len() {
            value = self.regroup(&value, &plan.collapse, target.to_vec());
        }
        Ok(value)
    }

    /// Flatten with axis 1: (batch, d1, d2, ...) to (batch, d1 * d2 * ...).
    pub(crate) fn flatten_node(&mut self, node: &NodeProto) -> Result<Value, OnnxError> {
        let input = self.input(node, 0)?;
        let input = self.materialise(input);
        let rank = input.dims.len();
        let axis = attribute(node, "axis").map_or(1, |a| a.i);
        let axis = if axis == rank as i64 {
            rank
        } else {
            axis_in(axis, rank).ok_or_else(|| out_of_range(self, node, axis, rank))?
        };
        let (outer, inner) = (product(&input.dims[..axis]), product(&input.dims[axis..]));
        let (Some(outer), Some(inner)) = (outer, inner) else {
            return Err(self.unsupported(node, "the flattened dimensions hold two dynamic sizes"));
        };
        self.reshape_to(&input, &[outer, inner])
            .map_err(|m| self.unsupported(node, m))
    }
}
