//! The one way generated code loops: [`counted`] builds `for index in 0..count`
//! (an i64 phi from 0 in the header, `index + 1` and `index + 1 == count` at the
//! end of the body, a branch back or out). Nested loops are loops built in a body.

use super::{CodegenError, llvm};
use inkwell::{
    IntPredicate,
    basic_block::BasicBlock,
    builder::Builder,
    values::{IntValue, PhiValue},
};
use std::cell::Cell;

/// How a loop is entered from the block the builder is in when it is built.
pub(super) enum Entry<'a, 'ctx> {
    /// Straight into the header: the caller knows the count is not zero.
    Always,
    /// Past the loop (to its exit) when `count == 0`, the test named so.
    UnlessEmpty(&'a str),
    /// Past the loop when the caller's `i1` holds (an emptiness test of its own).
    SkipIf(IntValue<'ctx>),
}

/// A counted loop: `for index in 0..count` between two blocks the caller made
/// (so it chooses where they go), and the names of its values.
pub(super) struct Loop<'a, 'ctx> {
    /// The iterations (i64).
    pub(super) count: IntValue<'ctx>,
    /// Where every iteration starts: the index's phi heads it, the body follows.
    pub(super) header: BasicBlock<'ctx>,
    /// Where the loop leaves to; the builder is there once it is built.
    pub(super) exit: BasicBlock<'ctx>,
    /// How it is entered.
    pub(super) entry: Entry<'a, 'ctx>,
    /// The index's name.
    pub(super) index: &'a str,
    /// The name of `index + 1`.
    pub(super) next: &'a str,
    /// The name of the exit test `index + 1 == count`.
    pub(super) done: &'a str,
}

/// The index of a loop, as its body sees it.
pub(super) struct Index<'a, 'ctx> {
    /// The index's value in this iteration.
    pub(super) value: IntValue<'ctx>,
    builder: &'a Builder<'ctx>,
    name: &'a str,
    next: Cell<Option<IntValue<'ctx>>>,
}

impl<'ctx> Index<'_, 'ctx> {
    /// `index + 1`, built where the builder is at its first request (a body that
    /// branches wants it before its branch); else the loop builds it at the end of
    /// the body.
    pub(super) fn next(&self) -> Result<IntValue<'ctx>, CodegenError> {
        if let Some(next) = self.next.get() {
            return Ok(next);
        }
        let one = self.value.get_type().const_int(1, false);
        let next = self
            .builder
            .build_int_add(self.value, one, self.name)
            .map_err(llvm)?;
        self.next.set(Some(next));
        Ok(next)
    }
}

/// Emits `lp` at the builder's position: its entry, the index's phi in its header,
/// `body` from there (which may add blocks; the block it ends in is the latch),
/// then `index + 1`, the test against the count and the branch back to the header
/// or on to the exit. Leaves the builder at the start of the exit.
pub(super) fn counted<'ctx>(
    builder: &Builder<'ctx>,
    lp: &Loop<'_, 'ctx>,
    body: impl FnOnce(&Index<'_, 'ctx>) -> Result<(), CodegenError>,
) -> Result<(), CodegenError> {
    let i64t = lp.count.get_type();
    let before = insert_block(builder)?;
    match lp.entry {
        Entry::Always => {
            builder
                .build_unconditional_branch(lp.header)
                .map_err(llvm)?;
        }
        Entry::UnlessEmpty(name) => {
            let empty = builder
                .build_int_compare(IntPredicate::EQ, lp.count, i64t.const_zero(), name)
                .map_err(llvm)?;
            builder
                .build_conditional_branch(empty, lp.exit, lp.header)
                .map_err(llvm)?;
        }
        Entry::SkipIf(skip) => {
            builder
                .build_conditional_branch(skip, lp.exit, lp.header)
                .map_err(llvm)?;
        }
    }
    builder.position_at_end(lp.header);
    let phi: PhiValue = builder.build_phi(i64t, lp.index).map_err(llvm)?;
    let index = Index {
        value: phi.as_basic_value().into_int_value(),
        builder,
        name: lp.next,
        next: Cell::new(None),
    };
    body(&index)?;
    let next = index.next()?;
    let latch = insert_block(builder)?;
    let done = builder
        .build_int_compare(IntPredicate::EQ, next, lp.count, lp.done)
        .map_err(llvm)?;
    builder
        .build_conditional_branch(done, lp.exit, lp.header)
        .map_err(llvm)?;
    phi.add_incoming(&[(&i64t.const_zero(), before), (&next, latch)]);
    builder.position_at_end(lp.exit);
    Ok(())
}

fn insert_block<'ctx>(builder: &Builder<'ctx>) -> Result<BasicBlock<'ctx>, CodegenError> {
    builder
        .get_insert_block()
        .ok_or_else(|| CodegenError::Llvm("no insertion block".into()))
}
