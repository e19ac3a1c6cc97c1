//! The emitter's layout builders: values moved, not computed. A reshape by groups of
//! axes (`tensor.collapse_shape` / `tensor.expand_shape`), unsqueeze and squeeze of
//! unit dimensions, `tensor.concat`, `linalg.transpose` and `tensor.extract_slice`.
//! The shaping operators (`ops::shape`), convolutions and recurrent layers build on
//! them.

use crate::dim::Dim;
use crate::emitter::{Emitter, Value, tensor_type};

impl Emitter {
    /// A reshape by `groups` (`tensor.collapse_shape` when `dims` has fewer dimensions
    /// than the input, with groups of input axes; `tensor.expand_shape` when it has
    /// more, with groups of output axes, one per input axis) to `dims`.
    pub(crate) fn regroup(
        &mut self,
        input: &Value,
        groups: &[Vec<usize>],
        dims: Vec<Dim>,
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
            let sizes: Vec<String> = dims.iter().map(|&d| self.size_of(d)).collect();
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
                dims.push(Dim::Known(1));
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
        let dims: Vec<Dim> = kept.iter().map(|&a| input.dims[a]).collect();
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
        let first = inputs.first().ok_or("Concat needs at least one input")?;
        let mut dims = first.dims.clone();
        if inputs.iter().any(|input| input.dims.len() != dims.len()) {
            return Err("Concat inputs must have one rank".into());
        }
        if axis >= dims.len() {
            return Err(format!(
                "Concat axis {axis} is beyond the inputs' rank {}",
                dims.len()
            ));
        }
        dims[axis] = inputs
            .iter()
            .try_fold(0u64, |sum, v| v.dims[axis].known().map(|d| sum + d))
            .map(Dim::Known)
            .ok_or("Concat along a dynamic dimension is not supported")?;
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
        let dims: Vec<Dim> = perm.iter().map(|&p| input.dims[p]).collect();
        let empty = self.empty(&dims);
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

    /// `tensor.extract_slice` of `sizes` elements from `offsets`, every `strides`-th.
    pub(crate) fn extract(
        &mut self,
        input: &Value,
        offsets: &[u64],
        sizes: &[Dim],
        strides: &[i64],
    ) -> Value {
        let dims: Vec<Dim> = sizes.to_vec();
        let operands: Vec<String> = sizes.iter().map(|&size| self.size_of(size)).collect();
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
            strides
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            tensor_type(&input.dims),
            tensor_type(&dims)
        ));
        Value {
            ssa: result,
            dims,
            data: None,
        }
    }
}
