//! Why interpretation stopped.

use cim_ir::query::op_name;
use melior::ir::OperationRef;
use thiserror::Error;

/// Why interpretation stopped.
#[derive(Debug, Error, PartialEq)]
pub enum InterpError {
    /// No function of that name.
    #[error("no function @{0} in the module")]
    NoFunction(String),
    /// The inputs do not match the signature.
    #[error("@{function} takes {expected} arguments, got {got}")]
    Arity {
        /// Function name.
        function: String,
        /// Parameter count.
        expected: usize,
        /// Inputs given.
        got: usize,
    },
    /// An input's shape does not fit its parameter type.
    #[error("argument {index}: shape {got:?} does not fit {expected}")]
    InputShape {
        /// Argument number.
        index: usize,
        /// The parameter type.
        expected: String,
        /// The shape given.
        got: Vec<usize>,
    },
    /// An op the interpreter does not know.
    #[error("operation '{0}' is not supported by the reference interpreter")]
    Unsupported(String),
    /// The chip cannot be programmed as asked (the message says why and what to do).
    #[error("{0}")]
    Chip(String),
    /// The digital work cannot run on the NMDU as asked (the message says why).
    #[error("NMDU: {0}")]
    Digital(String),
    /// An op whose operands or attributes are not as the dialect requires (the IR
    /// did not pass cim-verify).
    #[error("'{op}': {message}")]
    Malformed {
        /// Operation name.
        op: String,
        /// What is wrong.
        message: String,
    },
}

/// The error for `op` whose operands or attributes are not as they must be.
pub fn malformed(op: &OperationRef, message: impl Into<String>) -> InterpError {
    InterpError::Malformed {
        op: op_name(op),
        message: message.into(),
    }
}
