#![warn(missing_docs)]
//! The near-memory digital unit (NMDU): the fixed-point work that follows each
//! analog MVM, as kernels with exact integer semantics ([`reference`]) and as LLVM
//! code ([`codegen`]: optimised, JIT-run on the host, or written as an object for
//! x86_64, aarch64 or riscv64). The generated code and the reference give the same
//! bits (`tests/kernels.rs`).
//!
//! A [`Kernel`] post-processes one MVM group, column by column:
//!
//! | stage | integer semantics |
//! | --- | --- |
//! | recombine | `acc = sat32(Σ_s (p_s − n_s) << shift_s)` (or `Σ_s p_s << shift_s` without pairs), in i64 |
//! | affine | `r = round(acc · scale[c], scale_frac − offset_frac) + offset[c]`: scale unsigned with `scale_frac` fractional bits (Q1.7: 7), offset signed with `offset_frac` (Q7.1: 1) |
//! | activation | none, ReLU `max(r, 0)`, or clip `clamp(r, lo, hi)` |
//! | requantize | `out = sat_bits(round(r, out_shift))` |
//!
//! `round(x, s)` adds half an output step and shifts right arithmetically (round
//! half up); `sat` clamps to the signed range of the width.

pub mod codegen;
pub mod reference;

/// The activation after the affine correction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// None.
    Identity,
    /// `max(r, 0)`.
    Relu,
    /// `clamp(r, lo, hi)`, in the affine result's units.
    Clip {
        /// Lower bound.
        lo: i64,
        /// Upper bound.
        hi: i64,
    },
}

/// The post-MVM work of one group of MVMs, column by column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kernel {
    /// Left shift of each slice's partial sum (its significance).
    pub shifts: Vec<u32>,
    /// Whether each slice comes as a (positive, negative) pair of planes.
    pub differential: bool,
    /// Fractional bits of the per-column scale (unsigned 8-bit).
    pub scale_frac: u32,
    /// Fractional bits of the per-column offset (signed 8-bit), and of the affine
    /// result.
    pub offset_frac: u32,
    /// The activation.
    pub activation: Activation,
    /// Right shift from the affine result to the output.
    pub out_shift: u32,
    /// Output width in bits (2..=32), signed, saturating.
    pub out_bits: u32,
}

impl Kernel {
    /// Input planes the kernel reads: one per slice, two with pairs.
    pub fn planes(&self) -> usize {
        self.shifts.len() * if self.differential { 2 } else { 1 }
    }

    /// What is wrong with the kernel, if anything.
    pub fn problem(&self) -> Option<String> {
        if self.shifts.is_empty() {
            return Some("a kernel needs at least one slice".into());
        }
        // Bounds that keep every intermediate within i64 for i32 inputs.
        if self.shifts.len() > 16 {
            return Some(format!("{} slices: at most 16", self.shifts.len()));
        }
        if let Some(shift) = self.shifts.iter().find(|&&s| s > 24) {
            return Some(format!("slice shift {shift} exceeds 24 bits"));
        }
        if self.scale_frac < self.offset_frac || self.scale_frac > 16 {
            return Some(format!(
                "scale fraction {} must be in offset fraction {}..=16",
                self.scale_frac, self.offset_frac
            ));
        }
        if self.out_shift > 31 {
            return Some(format!("output shift {} exceeds 31", self.out_shift));
        }
        if !(2..=32).contains(&self.out_bits) {
            return Some(format!("output width {} is not in 2..=32", self.out_bits));
        }
        if let Activation::Clip { lo, hi } = self.activation
            && lo > hi
        {
            return Some(format!("clip bounds {lo} > {hi}"));
        }
        None
    }
}
