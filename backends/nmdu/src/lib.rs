#![warn(missing_docs)]
//! The near-memory digital unit (NMDU): the digital work of a mapped model in fixed
//! point, lowered from mapped IR ([`lower`]), run by its exact integer semantics or
//! by LLVM code ([`codegen`]: optimised, JIT-run on the host, or written as an object
//! for x86_64, aarch64 or riscv64), which give the same bits, and plugged into the
//! runtime as the interpreter's backend for digital ops ([`exec`]).
//!
//! | module | what |
//! | --- | --- |
//! | [`kernel`] | a group kernel: the MVM codes of a layer to its output (below) |
//! | [`reference`] | a kernel's exact integer semantics |
//! | [`activation`] | sigmoid and tanh tables |
//! | [`elementwise`] | the elementwise unit: straight-line programs over Q(31−F).F values |
//! | [`matmul`] | the matrix unit: products with no array behind them |
//! | [`lower`] | mapped IR to a [`lower::Plan`]: groups, fused bias and activation, programs |
//! | [`exec`] | running a plan on the reference or on generated code |
//! | [`codegen`] | LLVM code for all of it |
//!
//! A [`Kernel`] turns the ADC codes of a group of MVMs (the slices of a weight, the
//! two arrays of a differential pair, the row tiles of a tall matrix) into one
//! output, row by row and column by column. What it computes is the group's linear
//! form (shift-and-add, differential subtract, partial-sum accumulation, per-column
//! affine correction, bias) with every coefficient a fixed-point multiplier from its
//! [`Tables`]:
//!
//! | stage | integer semantics, row `r`, column `c` |
//! | --- | --- |
//! | codes | `k_p = clamp(code_p[r, c], 0, 2^code_bits − 1)`, as an ADC saturates |
//! | multiply-accumulate | `acc = bias[c] + Σ_p k_p · mult[p, c]`, in i64 |
//! | saturate | `acc = sat(acc, accumulator_bits)` |
//! | activation | none, ReLU `max(acc, 0)`, clip `clamp(acc, lo, hi)`, or LeakyReLU `acc > 0 ? acc : round(acc · slope, 15)` |
//! | requantize | `out = sat(round(acc, out_shift), out_bits)` |
//!
//! `round(x, s)` adds half an output step and shifts right arithmetically (round
//! half up); `sat(x, b)` clamps to the signed range of `b` bits. Multipliers are
//! signed and at most `multiplier_bits` wide; with at most [`MAX_PLANES`] planes of
//! codes and multipliers of at most 24 bits, the i64 sum cannot overflow (and where
//! `code_bits + multiplier_bits <= 32` the generated code multiplies in 32 bits,
//! which gives the same products).

pub mod activation;
pub mod codegen;
pub mod elementwise;
pub mod exec;
pub mod kernel;
pub mod lower;
pub mod matmul;
pub mod reference;

pub(crate) use kernel::check_inputs;
pub use kernel::{Activation, Kernel, MAX_PLANES, SLOPE_FRACTION, Tables, sum_bits};
pub use lower::Format;
