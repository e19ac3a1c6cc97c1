//! [`Emit`]: the integer instructions every generator shares (constants, min and
//! max against a bound, saturation, rounding shifts), on values of one type.

use super::{CodegenError, llvm};
use inkwell::{IntPredicate, builder::Builder, values::IntValue};

/// The integer helpers, on values of one integer type.
pub(super) struct Emit<'a, 'ctx> {
    pub(super) builder: &'a Builder<'ctx>,
    pub(super) ty: inkwell::types::IntType<'ctx>,
}

impl<'ctx> Emit<'_, 'ctx> {
    pub(super) fn constant(&self, value: i64) -> IntValue<'ctx> {
        self.ty.const_int(value as u64, true)
    }

    pub(super) fn max(
        &self,
        x: IntValue<'ctx>,
        bound: i64,
    ) -> Result<IntValue<'ctx>, CodegenError> {
        let b = self.constant(bound);
        let less = self
            .builder
            .build_int_compare(IntPredicate::SLT, x, b, "lt")
            .map_err(llvm)?;
        self.builder
            .build_select(less, b, x, "max")
            .map(|v| v.into_int_value())
            .map_err(llvm)
    }

    pub(super) fn min(
        &self,
        x: IntValue<'ctx>,
        bound: i64,
    ) -> Result<IntValue<'ctx>, CodegenError> {
        let b = self.constant(bound);
        let more = self
            .builder
            .build_int_compare(IntPredicate::SGT, x, b, "gt")
            .map_err(llvm)?;
        self.builder
            .build_select(more, b, x, "min")
            .map(|v| v.into_int_value())
            .map_err(llvm)
    }

    pub(super) fn saturate(
        &self,
        x: IntValue<'ctx>,
        bits: u32,
    ) -> Result<IntValue<'ctx>, CodegenError> {
        let high = (1i64 << (bits - 1)) - 1;
        self.min(self.max(x, -high - 1)?, high)
    }

    /// `round(x, shift)` as `(x >> s) + ((x >> (s − 1)) & 1)`: the reference's
    /// `(x + 2^(s−1)) >> s` without its addition, which could overflow a narrow type.
    pub(super) fn round_shift(
        &self,
        x: IntValue<'ctx>,
        shift: u32,
    ) -> Result<IntValue<'ctx>, CodegenError> {
        if shift == 0 {
            return Ok(x);
        }
        let b = self.builder;
        let whole = b
            .build_right_shift(x, self.constant(i64::from(shift)), true, "whole")
            .map_err(llvm)?;
        let half = b
            .build_right_shift(x, self.constant(i64::from(shift - 1)), true, "half")
            .map_err(llvm)?;
        let half = b
            .build_and(half, self.constant(1), "half.bit")
            .map_err(llvm)?;
        b.build_int_add(whole, half, "rounded").map_err(llvm)
    }
}
