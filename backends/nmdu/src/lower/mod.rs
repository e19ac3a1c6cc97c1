//! Lowering mapped IR to the near-memory digital unit: which op runs on which of
//! its units, with what numbers. The [`Plan`] of a module says it all; the
//! executor ([`crate::exec`]) runs it and the code generator ([`crate::codegen`])
//! writes it out.
//!
//! * [`group`]: each tree of `cim.shift_add`, `cim.diff`, `cim.accumulate`,
//!   `cim.affine` and `cim.concat` ops over `cim.mvm` results is linear in its MVMs'
//!   ADC codes: per output column `c`, `y[c] = Σ_p a_p[c] · code_p[c] + b[c]`, where
//!   a code is worth its ADC's step and starts at its low end, slices are worth their
//!   shift, a differential pair's negative array is subtracted, and the affine
//!   correction scales and offsets. The lowering writes those coefficients as
//!   fixed-point multipliers of one common fraction `F` (the largest that keeps every
//!   multiplier within the target's multiplier width and every sum within its
//!   accumulator), the constant as a bias, and the output as `out_bits` wide with the
//!   fewest right shifts that keep the largest possible sum: one [`Kernel`] and its
//!   [`Tables`] per tree, whose output is worth `out · 2^(shift − F)`.
//! * [`fuse`]: a bias add (`linalg.generic` adding a per-column constant) and an
//!   activation (ReLU, clip, LeakyReLU) that follow the tree, each the only reader of
//!   what it reads, join the kernel: the bias into its constant, the activation as
//!   its own.
//! * [`elementwise`]: every other op that computes (`linalg.generic` bodies:
//!   recurrent cells' gates, batch normalisation, softmax and layernorm pieces; one
//!   step of a pooling window or of a convolution with no array; sums of tensors)
//!   becomes a straight-line program of the elementwise unit over Q(31−F).F values,
//!   `F` = `fraction_bits` ([`crate::elementwise`]). Identical bodies share one
//!   program. Bodies that only move values, or compute on integers, stay exact.
//! * Matrix products with no array behind them (`linalg.matmul`, each batch of a
//!   `linalg.batch_matmul` (attention's QKᵀ and softmax · V), the two products
//!   of `cim.adapter`) run on the matrix unit ([`crate::matmul`]) in the same
//!   format.
//!
//! The rounding of the multipliers (relative error at most `2^-(multiplier_bits-1)`
//! of the largest) and of the output (one part in `2^(out_bits-1)` of the largest
//! possible sum) is the whole difference from float digital work.

pub mod elementwise;
pub mod fuse;
pub mod group;

pub use group::{Factors, Group, Placement, Plane};

use crate::elementwise::Program;
use cim_interp::{InterpError, malformed};
use cim_ir::{
    dialect::ops,
    marks,
    query::{TensorShape, op_id, op_name, ops_in, value_id},
};
use elementwise::named_program;
use fuse::fusable;
use group::lower_group;
use melior::ir::{OperationRef, Value, operation::OperationLike};
use std::collections::{HashMap, HashSet};

/// The NMDU's number formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    /// Width of the signed multipliers (per plane, per column).
    pub multiplier_bits: u32,
    /// Width of the signed, saturating accumulator.
    pub accumulator_bits: u32,
    /// Width of the signed output.
    pub out_bits: u32,
    /// Fractional bits of the elementwise unit's 32-bit values (14..=22).
    pub fraction_bits: u32,
}

impl Default for Format {
    /// 16-bit multipliers, a 32-bit accumulator, 16-bit outputs.
    fn default() -> Self {
        Self {
            multiplier_bits: 16,
            accumulator_bits: 32,
            out_bits: 16,
            fraction_bits: crate::elementwise::DEFAULT_FRACTION,
        }
    }
}

/// The lowering of a module's digital ops: the groups by the op that produces
/// their result, and the ops the groups make unnecessary.
#[derive(Debug, Default)]
pub struct Plan {
    /// Groups by the op whose result they give ([`op_id`]).
    pub groups: HashMap<usize, Group>,
    /// Digital ops only other digital ops read: never run on their own.
    pub skipped: HashSet<usize>,
    /// The elementwise programs, each once, in program order.
    pub elementwise: Vec<NamedProgram>,
    /// Which program each `linalg.generic` (or named pooling, convolution or tensor
    /// sum) runs (by [`op_id`] of the op).
    pub programs: HashMap<usize, usize>,
    /// The fraction of the module's digital matrix products (`linalg.matmul`,
    /// `cim.adapter`), when it has any: they run [`crate::matmul`].
    pub matmul: Option<u32>,
}

/// An elementwise program and the ops that run it.
#[derive(Clone, Debug)]
pub struct NamedProgram {
    /// Its function's name in generated code.
    pub name: String,
    /// The program.
    pub program: Program,
    /// The layers (location names) of the ops that run it, for people.
    pub layers: Vec<String>,
}

impl Plan {
    /// The groups in program order.
    pub fn ordered(&self) -> Vec<&Group> {
        let mut groups: Vec<&Group> = self.groups.values().collect();
        groups.sort_by_key(|group| group.order);
        groups
    }
}

fn is_digital(name: &str) -> bool {
    matches!(
        name,
        ops::SHIFT_ADD | ops::DIFF | ops::ACCUMULATE | ops::AFFINE
    )
}

/// Lowers the digital work of `module`: every tree of digital ops over MVMs, with
/// the bias add and the activation (ReLU, clip, LeakyReLU) that follow it where
/// they do; every other op that computes; the matrix products with no array.
pub fn plan(module: OperationRef, format: Format) -> Result<Plan, InterpError> {
    plan_with_factors(module, format, &Factors::new())
}

/// [`plan`], each MVM's result multiplied by its `factors` (by the MVM's op id) after
/// conversion: the lowering of a programmed chip whose drift is compensated.
pub fn plan_with_factors(
    module: OperationRef,
    format: Format,
    factors: &Factors,
) -> Result<Plan, InterpError> {
    let mut readers: HashMap<usize, Vec<OperationRef>> = HashMap::new();
    let mut roots = Vec::new();
    let mut generics = Vec::new();
    let mut matmul = false;
    for op in ops_in(module) {
        for operand in op.operands() {
            readers.entry(value_id(operand)).or_default().push(op);
        }
        let name = op_name(&op);
        if is_digital(&name) {
            roots.push(op);
        }
        matmul |= matches!(name.as_str(), "linalg.matmul" | "linalg.batch_matmul")
            || name == ops::ADAPTER;
        // Named ops on tensors (an `arith.addf` of scalars, in a body or not, is
        // the body's business).
        let on_tensors = op
            .result(0)
            .is_ok_and(|result| TensorShape::of_value(result.into()).is_some());
        if name == "linalg.generic"
            || (on_tensors && named_program(&name, format.fraction_bits).is_some())
        {
            generics.push(op);
        }
    }
    let mut plan = Plan {
        matmul: matmul.then_some(format.fraction_bits),
        ..Plan::default()
    };
    for op in roots {
        let result: Value = op
            .result(0)
            .map_err(|_| malformed(&op, "no result"))?
            .into();
        let users = readers
            .get(&value_id(result))
            .map_or(&[][..], Vec::as_slice);
        if !users.is_empty() && users.iter().all(|user| is_digital(&op_name(user))) {
            plan.skipped.insert(op_id(&op));
            continue;
        }
        let cols = TensorShape::of_value(result)
            .and_then(|shape| shape.last())
            .flatten()
            .ok_or_else(|| malformed(&op, "the result needs a static last dimension"))?
            as usize;
        let fused = fusable(op, cols, &readers);
        let mut group = lower_group(&op, cols, format, &fused, factors)?;
        group.order = plan.groups.len();
        plan.skipped.extend(&fused.absorbed);
        plan.groups.insert(op_id(&fused.last), group);
    }
    for op in generics {
        if plan.skipped.contains(&op_id(&op)) || plan.groups.contains_key(&op_id(&op)) {
            continue;
        }
        let name = op_name(&op);
        let program = match named_program(&name, format.fraction_bits) {
            Some(program) => program,
            None => match elementwise::lower(&op, format.fraction_bits)? {
                Some(program) => program,
                None => continue,
            },
        };
        let index = match plan.elementwise.iter().position(|p| p.program == program) {
            Some(index) => index,
            None => {
                plan.elementwise.push(NamedProgram {
                    name: format!("nmdu_elementwise_{}", plan.elementwise.len()),
                    program,
                    layers: Vec::new(),
                });
                plan.elementwise.len() - 1
            }
        };
        if let Some(layer) = marks::layer(&op) {
            let layers = &mut plan.elementwise[index].layers;
            if !layers.contains(&layer) {
                layers.push(layer);
            }
        }
        plan.programs.insert(op_id(&op), index);
    }
    Ok(plan)
}

fn list<T: std::fmt::Display>(values: &[T]) -> String {
    const SHOWN: usize = 8;
    let mut text: Vec<String> = values.iter().take(SHOWN).map(T::to_string).collect();
    if values.len() > SHOWN {
        text.push(format!("... ({} more)", values.len() - SHOWN));
    }
    format!("[{}]", text.join(", "))
}

impl std::fmt::Display for Plan {
    /// The lowering as text: per group its root, kernel, planes and tables (the
    /// first values of each), as `cim-translate --to-nmdu` prints it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for group in self.ordered() {
            let kernel = &group.kernel;
            let cols = group.tables.cols;
            writeln!(
                f,
                "group {} '{}' ({}): {} planes x {cols} columns, fraction {}, accumulator {} bits, out_shift {}, out {} bits, unit {}, activation {:?}",
                group.order,
                group.layer.as_deref().unwrap_or("?"),
                group.root,
                kernel.planes,
                group.fraction,
                kernel.accumulator_bits,
                kernel.out_shift,
                kernel.out_bits,
                group.unit,
                kernel.activation
            )?;
            for (p, plane) in group.planes.iter().enumerate() {
                writeln!(
                    f,
                    "  plane {p} @{}: codes 0..={} step {} from {}, multipliers {}",
                    plane.array,
                    plane.max_code,
                    plane.step,
                    plane.lo,
                    list(&group.tables.multipliers[p * cols..(p + 1) * cols])
                )?;
            }
            writeln!(f, "  bias {}", list(&group.tables.bias))?;
        }
        for named in &self.elementwise {
            let program = &named.program;
            let layers = if named.layers.is_empty() {
                String::new()
            } else {
                format!(" ({})", named.layers.join(", "))
            };
            writeln!(
                f,
                "elementwise {}{layers}: Q{}.{}, {} arguments, {} results",
                named.name,
                31 - program.fraction,
                program.fraction,
                program.arguments,
                program.results.len()
            )?;
            write!(f, "{program}")?;
        }
        if let Some(fraction) = self.matmul {
            writeln!(
                f,
                "matmul nmdu_matmul: Q{}.{fraction} digital matrix products (linalg.matmul, linalg.batch_matmul, cim.adapter)",
                31 - fraction
            )?;
        }
        Ok(())
    }
}
