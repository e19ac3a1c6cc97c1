//! Runs an elementwise program of the NMDU ([`cim_nmdu::pointwise`]) on f64 values:
//! they are rounded into its format, the program runs (the Rust reference or its
//! generated code), and its results come back as f64 (exactly: every Q.F value is
//! one).

use crate::{InterpError, malformed};
use cim_nmdu::codegen::{JitCache, PointwiseFn};
use cim_nmdu::pointwise::{Evaluator, Program, from_fixed, to_fixed};
use melior::ir::OperationRef;
use std::cell::RefCell;

/// A program ready to run point by point.
pub struct Elementwise<'a> {
    program: &'a Program,
    evaluator: &'a Evaluator,
    compiled: Option<PointwiseFn>,
    arguments: Vec<i32>,
    results: Vec<i32>,
    temporaries: Vec<i64>,
}

impl<'a> Elementwise<'a> {
    /// `program` on the reference, or as generated code from `generated`.
    pub fn new(
        program: &'a Program,
        evaluator: &'a Evaluator,
        generated: Option<&RefCell<JitCache>>,
    ) -> Result<Self, InterpError> {
        let compiled = match generated {
            Some(cache) => Some(
                cache
                    .borrow_mut()
                    .pointwise(program)
                    .map_err(|error| InterpError::Digital(error.to_string()))?,
            ),
            None => None,
        };
        Ok(Self {
            program,
            evaluator,
            compiled,
            arguments: vec![0; program.arguments],
            results: vec![0; program.results.len()],
            temporaries: Vec::new(),
        })
    }

    /// Results it yields.
    pub fn result_count(&self) -> usize {
        self.program.results.len()
    }

    /// Runs the program on `arguments` (as many as it reads), writing `results`.
    pub fn apply(
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

    /// The program on one or two scalars (a named op's step).
    pub fn scalar(&mut self, op: &OperationRef, arguments: &[f64]) -> Result<f64, InterpError> {
        let mut result = [0.0];
        self.apply(op, arguments, &mut result)?;
        Ok(result[0])
    }
}
