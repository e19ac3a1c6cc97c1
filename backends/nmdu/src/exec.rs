//! Running a module's digital work on the NMDU: the [`Plan`] of its lowering
//! executed by the Rust reference semantics or by LLVM-generated code (the same
//! bits), as the interpreter's [`Backend`] for the digital ops. Values cross the
//! boundary exactly: ADC results become codes, f64 operands are rounded into the
//! unit's format, and what the unit gives is a Q.F value, which f64 holds exactly.

use crate::{
    Format,
    codegen::{ElementwiseFn, JitCache},
    elementwise::{Evaluator, Program, from_fixed, to_fixed},
    lower::{self, Group, Plan},
};
use cim_interp::{Backend, Env, InterpError, Operands, RtValue, ScalarUnit, malformed};
use cim_ir::query::op_id;
use melior::ir::OperationRef;
use ndarray::{Array2, ArrayD, IxDyn};
use std::cell::RefCell;

/// Which implementation of the NMDU runs the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The Rust reference semantics.
    Reference,
    /// LLVM-generated code, compiled for the host in a JIT.
    Generated,
}

/// A module's digital work, lowered and ready to run.
pub struct Executor {
    plan: Plan,
    engine: Engine,
    /// Generated functions, for [`Engine::Generated`].
    jit: RefCell<JitCache>,
    /// The elementwise unit's reference and its tables.
    evaluator: Evaluator,
}

impl Executor {
    /// Lowers the digital work of `module` ([`lower::plan`]) in `format`, to run on
    /// `engine`.
    pub fn new(module: OperationRef, format: Format, engine: Engine) -> Result<Self, InterpError> {
        Ok(Self {
            plan: lower::plan(module, format)?,
            engine,
            jit: Default::default(),
            evaluator: Default::default(),
        })
    }

    /// The lowering.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Lowers `module` again with each MVM's result multiplied by `factors` after
    /// conversion (a programmed chip's drift compensation, folded into the
    /// kernels' multipliers).
    pub fn compensate(
        &mut self,
        module: OperationRef,
        format: Format,
        factors: &lower::Factors,
    ) -> Result<(), InterpError> {
        self.plan = lower::plan_with_factors(module, format, factors)?;
        Ok(())
    }

    /// Whether `op` gives the result of a lowered group.
    pub fn runs(&self, op: &OperationRef) -> bool {
        self.plan.groups.contains_key(&op_id(op))
    }

    /// Runs a lowered group on the ADC codes of its MVMs.
    fn run_group(&self, operands: Operands, group: &Group) -> Result<ArrayD<f64>, InterpError> {
        let op = operands.op;
        let cols = group.tables.cols;
        let mut shape: Option<Vec<usize>> = None;
        let mut planes = Vec::with_capacity(group.planes.len());
        for plane in &group.planes {
            let Some(RtValue::Tensor(values)) = operands.env.get_id(plane.value) else {
                return Err(malformed(op, "an MVM of the group has no value"));
            };
            if values.shape().last() != Some(&plane.width) {
                return Err(malformed(op, "an MVM's columns differ from its type's"));
            }
            let mut dims = values.shape().to_vec();
            if let Some(last) = dims.last_mut() {
                *last = cols;
            }
            match &shape {
                Some(existing) if *existing != dims => {
                    return Err(malformed(op, "the group's MVMs differ in rows"));
                }
                _ => shape = Some(dims),
            }
            let values = values.as_standard_layout();
            let flat = values.as_slice().expect("standard layout");
            planes.push(plane.codes(flat, cols));
        }
        let shape = shape.ok_or_else(|| malformed(op, "a group without MVMs"))?;
        let rows = shape.iter().product::<usize>() / cols.max(1);
        let views: Vec<&[i32]> = planes.iter().map(Vec::as_slice).collect();
        let out = match self.engine {
            Engine::Generated => {
                let mut jit = self.jit.borrow_mut();
                let kernel = jit
                    .get(&group.kernel)
                    .map_err(|error| InterpError::Digital(error.to_string()))?;
                kernel
                    .run(&group.tables, &views, rows)
                    .map_err(|error| InterpError::Digital(error.to_string()))?
            }
            Engine::Reference => crate::reference::run(&group.kernel, &group.tables, &views, rows)
                .map_err(InterpError::Digital)?,
        };
        ArrayD::from_shape_vec(
            IxDyn(&shape),
            out.into_iter().map(|q| f64::from(q) * group.unit).collect(),
        )
        .map_err(|error| malformed(op, error.to_string()))
    }
}

impl Backend for Executor {
    fn skips(&self, op: &OperationRef) -> bool {
        self.plan.skipped.contains(&op_id(op))
    }

    fn run(&self, operands: Operands) -> Option<Result<Vec<RtValue>, InterpError>> {
        let group = self.plan.groups.get(&op_id(operands.op))?;
        Some(
            self.run_group(operands, group)
                .map(|output| vec![RtValue::Tensor(output)]),
        )
    }

    fn scalar_unit(
        &self,
        op: &OperationRef,
        _env: &Env,
    ) -> Result<Option<Box<dyn ScalarUnit + '_>>, InterpError> {
        let Some(&index) = self.plan.programs.get(&op_id(op)) else {
            return Ok(None);
        };
        let program = &self.plan.elementwise[index].program;
        let compiled = match self.engine {
            Engine::Generated => Some(
                self.jit
                    .borrow_mut()
                    .elementwise(program)
                    .map_err(|error| InterpError::Digital(error.to_string()))?,
            ),
            Engine::Reference => None,
        };
        Ok(Some(Box::new(Elementwise {
            program,
            evaluator: &self.evaluator,
            compiled,
            arguments: vec![0; program.arguments],
            results: vec![0; program.results.len()],
            temporaries: Vec::new(),
        })))
    }

    /// `init + a · b` on the matrix unit in Q.F ([`crate::matmul`]).
    fn matmul(
        &self,
        op: &OperationRef,
        a: &ArrayD<f64>,
        b: &Array2<f64>,
        init: &ArrayD<f64>,
    ) -> Option<Result<ArrayD<f64>, InterpError>> {
        Some(self.matrix_product(op, a, b, init))
    }
}

impl Executor {
    fn matrix_product(
        &self,
        op: &OperationRef,
        a: &ArrayD<f64>,
        b: &Array2<f64>,
        init: &ArrayD<f64>,
    ) -> Result<ArrayD<f64>, InterpError> {
        let k = a.shape().last().copied().unwrap_or(0);
        let n = b.ncols();
        let m = a.len() / k.max(1);
        if b.nrows() != k || init.len() != m * n || init.shape().last() != Some(&n) {
            return Err(malformed(
                op,
                format!(
                    "operands {:?} x {:?} + {:?} do not fit a matrix product",
                    a.shape(),
                    b.shape(),
                    init.shape()
                ),
            ));
        }
        // The plan records the matrix products' format (it saw this op).
        let fraction = self
            .plan
            .matmul
            .ok_or_else(|| malformed(op, "the NMDU plan has no matrix products"))?;
        let fixed = |values: &mut dyn Iterator<Item = f64>| -> Result<Vec<i32>, InterpError> {
            values
                .map(|x| {
                    to_fixed(x, fraction).ok_or_else(|| {
                        malformed(op, "a NaN reaches the digital unit's matrix product")
                    })
                })
                .collect()
        };
        let (qa, qb, qinit) = (
            fixed(&mut a.iter().copied())?,
            fixed(&mut b.iter().copied())?,
            fixed(&mut init.iter().copied())?,
        );
        let out = match self.engine {
            Engine::Generated => self
                .jit
                .borrow_mut()
                .matmul(&qa, &qb, &qinit, [m, k, n], fraction)
                .map_err(|error| InterpError::Digital(error.to_string()))?,
            Engine::Reference => crate::matmul::reference(&qa, &qb, &qinit, [m, k, n], fraction)
                .map_err(InterpError::Digital)?,
        };
        ArrayD::from_shape_vec(
            init.raw_dim(),
            out.into_iter().map(|q| from_fixed(q, fraction)).collect(),
        )
        .map_err(|error| malformed(op, error.to_string()))
    }
}

/// An elementwise program ready to run point by point: its arguments rounded into
/// its format, run on the reference or as generated code, its results back in f64.
struct Elementwise<'a> {
    program: &'a Program,
    evaluator: &'a Evaluator,
    compiled: Option<ElementwiseFn>,
    arguments: Vec<i32>,
    results: Vec<i32>,
    temporaries: Vec<i64>,
}

impl ScalarUnit for Elementwise<'_> {
    fn result_count(&self) -> usize {
        self.program.results.len()
    }

    fn apply(
        &mut self,
        op: &OperationRef,
        arguments: &[f64],
        results: &mut [f64],
    ) -> Result<(), InterpError> {
        let fraction = self.program.fraction;
        for (fixed, &value) in self.arguments.iter_mut().zip(arguments) {
            *fixed = to_fixed(value, fraction).ok_or_else(|| {
                malformed(op, "a NaN reaches the digital unit's elementwise work")
            })?;
        }
        match self.compiled {
            // SAFETY: generated for `program`: it reads `program.arguments` values
            // and writes one per result, as these buffers hold.
            Some(function) => unsafe {
                function(self.arguments.as_ptr(), self.results.as_mut_ptr())
            },
            None => self.evaluator.eval(
                self.program,
                &self.arguments,
                &mut self.results,
                &mut self.temporaries,
            ),
        }
        for (result, &fixed) in results.iter_mut().zip(&self.results) {
            *result = from_fixed(fixed, fraction);
        }
        Ok(())
    }
}
