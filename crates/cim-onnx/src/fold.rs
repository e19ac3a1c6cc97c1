//! What is computed at import instead of emitted. A BatchNormalization that alone
//! reads a convolution is folded into its filters and bias. The shape subgraphs torch
//! exports around recurrent layers (`Shape -> Gather -> Unsqueeze -> Concat ->
//! ConstantOfShape`) are folded too: their 1-D integer vectors are kept as
//! [`SymDim`]s, a dimension size being either known or "dimension k of value v"
//! (the operators themselves are in `ops::shape`).

use crate::OnnxError;
use crate::dim::Dim;
use crate::emitter::{Emitter, Value};
use crate::proto::attribute;
use tract_onnx::pb::{GraphProto, NodeProto};

/// One entry of a 1-D integer vector that describes a shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum SymDim {
    /// A known integer.
    Const(i64),
    /// A dynamic size (a `Dim::Dynamic`).
    Size(Dim),
}

impl SymDim {
    /// The entry for a dimension's size.
    pub(crate) fn of(dim: Dim) -> SymDim {
        match dim {
            Dim::Known(size) => SymDim::Const(size as i64),
            dynamic => SymDim::Size(dynamic),
        }
    }

    /// The size this entry is, when it is one (not negative).
    pub(crate) fn as_dim(self) -> Option<Dim> {
        match self {
            SymDim::Const(v) => u64::try_from(v).ok().map(Dim::Known),
            SymDim::Size(dim) => Some(dim),
        }
    }
}

impl Emitter {
    /// Folds each inference-mode BatchNormalization that is the only reader of a
    /// convolution's output into that convolution: filter `f` scaled by
    /// `a = gamma / sqrt(var + eps)`, bias `(b - mean)·a + beta` (new constants),
    /// so the arrays hold the folded weights and the normalization costs no digital
    /// work. Other nodes pass unchanged.
    pub(crate) fn fold_batch_norms(
        &mut self,
        nodes: &[NodeProto],
        graph: &GraphProto,
    ) -> Vec<NodeProto> {
        let readers = |name: &str| {
            nodes
                .iter()
                .filter(|n| n.input.iter().any(|i| i == name))
                .count()
                + graph.output.iter().filter(|o| o.name == name).count()
        };
        let constant = |this: &Self, name: Option<&String>| {
            name.filter(|n| !n.is_empty())
                .and_then(|n| this.values.get(n))
                .and_then(|v| v.data.clone())
        };
        let mut folded: Vec<NodeProto> = Vec::with_capacity(nodes.len());
        let mut dropped = std::collections::HashSet::new();
        for (index, node) in nodes.iter().enumerate() {
            if dropped.contains(&index) {
                continue;
            }
            let mut node = node.clone();
            let conv_output = node.output.first().cloned().unwrap_or_default();
            let normalization = (node.op_type == "Conv" && readers(&conv_output) == 1)
                .then(|| {
                    nodes.iter().enumerate().find(|(_, n)| {
                        n.op_type == "BatchNormalization"
                            && n.input.first() == Some(&conv_output)
                            && n.output.iter().skip(1).all(String::is_empty)
                    })
                })
                .flatten();
            if let Some((bn_index, bn)) = normalization
                && let Some(filter) = constant(self, node.input.get(1))
                && let Some(parameters) = (1..=4)
                    .map(|i| constant(self, bn.input.get(i)))
                    .collect::<Option<Vec<_>>>()
            {
                let filters = parameters[0].len();
                let bias = match node.input.get(2).filter(|n| !n.is_empty()) {
                    Some(_) => constant(self, node.input.get(2)),
                    None => Some(vec![0.0; filters]),
                };
                let epsilon = attribute(bn, "epsilon").map_or(1e-5, |a| a.f);
                if let Some(bias) = bias
                    && filters > 0
                    && parameters.iter().all(|p| p.len() == filters)
                    && bias.len() == filters
                    && filter.len() % filters == 0
                {
                    let a: Vec<f32> = (0..filters)
                        .map(|c| parameters[0][c] / (parameters[3][c] + epsilon).sqrt())
                        .collect();
                    let per_filter = filter.len() / filters;
                    let weights: Vec<f32> = filter
                        .iter()
                        .enumerate()
                        .map(|(i, w)| w * a[i / per_filter])
                        .collect();
                    let shift: Vec<f32> = (0..filters)
                        .map(|c| (bias[c] - parameters[2][c]) * a[c] + parameters[1][c])
                        .collect();
                    let dims = self.values[&node.input[1]].dims.clone();
                    let (w_name, b_name) = (
                        format!("{}__bn_folded_w", bn.output[0]),
                        format!("{}__bn_folded_b", bn.output[0]),
                    );
                    self.values.insert(
                        w_name.clone(),
                        Value {
                            ssa: String::new(),
                            dims,
                            data: Some(weights),
                        },
                    );
                    self.values.insert(
                        b_name.clone(),
                        Value {
                            ssa: String::new(),
                            dims: vec![Dim::Known(filters as u64)],
                            data: Some(shift),
                        },
                    );
                    node.input.truncate(1);
                    node.input.push(w_name);
                    node.input.push(b_name);
                    node.output = vec![bn.output[0].clone()];
                    dropped.insert(bn_index);
                }
            }
            folded.push(node);
        }
        folded
    }

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
    pub(crate) fn define_symbolic(&mut self, node: &NodeProto, vector: Vec<SymDim>) {
        let name = node.output[0].clone();
        let known: Option<Vec<f32>> = vector
            .iter()
            .map(|d| match d {
                SymDim::Const(v) => Some(*v as f32),
                SymDim::Size(_) => None,
            })
            .collect();
        if let Some(data) = known {
            let dims = vec![Dim::Known(data.len() as u64)];
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
    pub(crate) fn constant_ints(
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
                    SymDim::Size(_) => {
                        Err(self.unsupported(node, format!("{what} must be constant")))
                    }
                })
                .collect(),
            None => Err(self.unsupported(node, format!("{what} (input {index}) must be constant"))),
        }
    }
}
