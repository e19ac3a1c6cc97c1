//! LLVM code for [`crate::matmul`]: one function per fraction,
//! `void NAME(ptr a, ptr b, ptr init, ptr out, ptr acc, i64 m, i64 k, i64 n)`, with
//! `acc` scratch space for `n` i64 sums. Row by row: the sums start from `init`,
//! each `a[i, l]` scales row `l` of `b` into them (`llvm.sadd.sat`, vectorised over
//! the columns), then they are rounded and saturated into `out`.

use super::{
    CodegenError,
    emit::Emit,
    kernel::declare,
    llvm,
    loops::{self, Entry, Loop},
    verify,
};
use inkwell::{
    builder::Builder,
    context::Context,
    intrinsics::Intrinsic,
    module::{Linkage, Module},
    values::{FunctionValue, IntValue, PointerValue},
};

/// The host's view of a generated matrix product.
pub type MatmulFn =
    unsafe extern "C" fn(*const i32, *const i32, *const i32, *mut i32, *mut i64, u64, u64, u64);

/// Emits `for index in 0..count { body(index) }` at the builder's position (its
/// blocks appended to `function`) and leaves the builder after the loop.
fn counted<'ctx>(
    context: &'ctx Context,
    builder: &Builder<'ctx>,
    function: FunctionValue<'ctx>,
    count: IntValue<'ctx>,
    body: &mut dyn FnMut(IntValue<'ctx>) -> Result<(), CodegenError>,
) -> Result<(), CodegenError> {
    let lp = Loop {
        count,
        header: context.append_basic_block(function, "loop"),
        exit: context.append_basic_block(function, "loop.end"),
        entry: Entry::UnlessEmpty("empty"),
        index: "i",
        next: "i.next",
        done: "done",
    };
    loops::counted(builder, &lp, |index| body(index.value))
}

/// Adds the matrix product in Q.`fraction` to `module` as `name`.
pub(super) fn define<'ctx>(
    context: &'ctx Context,
    module: &Module<'ctx>,
    fraction: u32,
    name: &str,
    linkage: Option<Linkage>,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    if !(14..=22).contains(&fraction) {
        return Err(CodegenError::Kernel(format!(
            "{fraction} fractional bits: the NMDU has 14..=22"
        )));
    }
    let (i32t, i64t) = (context.i32_type(), context.i64_type());
    let function = declare(context, module, name, 5, 3, linkage);
    let builder = context.create_builder();
    builder.position_at_end(context.append_basic_block(function, "entry"));
    let pointer = |index: u32| {
        function
            .get_nth_param(index)
            .expect("declared above")
            .into_pointer_value()
    };
    let integer = |index: u32| {
        function
            .get_nth_param(index)
            .expect("declared above")
            .into_int_value()
    };
    let (a, b, init, out, acc) = (pointer(0), pointer(1), pointer(2), pointer(3), pointer(4));
    let (m, k, n) = (integer(5), integer(6), integer(7));
    let e = Emit {
        builder: &builder,
        ty: i64t,
    };
    let sadd = Intrinsic::find("llvm.sadd.sat")
        .and_then(|intrinsic| intrinsic.get_declaration(module, &[i64t.into()]))
        .ok_or_else(|| CodegenError::Llvm("no llvm.sadd.sat".into()))?;
    // SAFETY of the IR (every GEP): `a` holds m·k values, `b` k·n, `init` and `out`
    // m·n, `acc` n; indices stay below.
    let at = |ty: inkwell::types::IntType<'ctx>,
              base: PointerValue<'ctx>,
              index: IntValue<'ctx>|
     -> Result<PointerValue<'ctx>, CodegenError> {
        unsafe { builder.build_in_bounds_gep(ty, base, &[index], "at") }.map_err(llvm)
    };
    let load = |ty: inkwell::types::IntType<'ctx>,
                base: PointerValue<'ctx>,
                index: IntValue<'ctx>|
     -> Result<IntValue<'ctx>, CodegenError> {
        let value = builder
            .build_load(ty, at(ty, base, index)?, "v")
            .map_err(llvm)?
            .into_int_value();
        if ty == i64t {
            Ok(value)
        } else {
            builder
                .build_int_s_extend(value, i64t, "v.wide")
                .map_err(llvm)
        }
    };
    let mul =
        |x: IntValue<'ctx>, y: IntValue<'ctx>| builder.build_int_mul(x, y, "mul").map_err(llvm);
    let add =
        |x: IntValue<'ctx>, y: IntValue<'ctx>| builder.build_int_add(x, y, "add").map_err(llvm);
    counted(context, &builder, function, m, &mut |i| {
        let row = mul(i, n)?;
        counted(context, &builder, function, n, &mut |j| {
            let start = load(i32t, init, add(row, j)?)?;
            let start = builder
                .build_left_shift(start, e.constant(i64::from(fraction)), "start")
                .map_err(llvm)?;
            builder
                .build_store(at(i64t, acc, j)?, start)
                .map_err(llvm)?;
            Ok(())
        })?;
        counted(context, &builder, function, k, &mut |l| {
            let x = load(i32t, a, add(mul(i, k)?, l)?)?;
            let b_row = mul(l, n)?;
            counted(context, &builder, function, n, &mut |j| {
                let y = load(i32t, b, add(b_row, j)?)?;
                let sum = load(i64t, acc, j)?;
                let sum = builder
                    .build_call(sadd, &[sum.into(), mul(x, y)?.into()], "sum")
                    .map_err(llvm)?
                    .try_as_basic_value()
                    .basic()
                    .ok_or_else(|| CodegenError::Llvm("llvm.sadd.sat returns nothing".into()))?;
                builder.build_store(at(i64t, acc, j)?, sum).map_err(llvm)?;
                Ok(())
            })
        })?;
        counted(context, &builder, function, n, &mut |j| {
            let sum = load(i64t, acc, j)?;
            let value = e.saturate(e.round_shift(sum, fraction)?, 32)?;
            let value = builder
                .build_int_truncate(value, i32t, "out")
                .map_err(llvm)?;
            builder
                .build_store(at(i32t, out, add(row, j)?)?, value)
                .map_err(llvm)?;
            Ok(())
        })
    })?;
    builder.build_return(None).map_err(llvm)?;
    verify(module, function)?;
    Ok(function)
}
