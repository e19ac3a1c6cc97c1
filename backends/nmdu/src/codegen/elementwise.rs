//! LLVM code for a [`Program`] of the elementwise unit: one function
//! `void NAME(ptr arguments, ptr results)` over i32 values in Q.F, computing in i64
//! what [`Evaluator::eval`](crate::elementwise::Evaluator::eval) computes, with its
//! tables as private constants.

use super::{CodegenError, emit::Emit, kernel::private_constant, llvm, verify};
use crate::activation::{Function, INPUT_FRACTION, Lut, OUTPUT_FRACTION};
use crate::elementwise::{LN_2_Q24, LOG2_E_Q30, Op, Operand, Program, tables};
use inkwell::{
    AddressSpace, IntPredicate,
    builder::Builder,
    context::Context,
    intrinsics::Intrinsic,
    module::{Linkage, Module},
    types::IntType,
    values::{FunctionValue, IntValue},
};

/// The host's view of a generated program.
pub type ElementwiseFn = unsafe extern "C" fn(*const i32, *mut i32);

/// The table global `name` of `module` holding `values` of `element`: made on first
/// use, shared by every function of the module after.
fn table<'ctx>(
    module: &Module<'ctx>,
    name: &str,
    element: IntType<'ctx>,
    values: impl FnOnce() -> Vec<i64>,
) -> (
    inkwell::values::GlobalValue<'ctx>,
    inkwell::types::ArrayType<'ctx>,
) {
    if let Some(global) = module.get_global(name) {
        let ty = global
            .get_initializer()
            .expect("tables have initializers")
            .get_type()
            .into_array_type();
        return (global, ty);
    }
    let values: Vec<IntValue> = values()
        .into_iter()
        .map(|v| element.const_int(v as u64, true))
        .collect();
    let array = element.const_array(&values);
    (private_constant(module, name, array), array.get_type())
}

/// What code generation of one function needs at hand.
pub(super) struct Lowering<'a, 'ctx> {
    pub(super) context: &'ctx Context,
    pub(super) module: &'a Module<'ctx>,
    pub(super) builder: &'a Builder<'ctx>,
}

impl<'ctx> Lowering<'_, 'ctx> {
    fn e(&self) -> Emit<'_, 'ctx> {
        Emit {
            builder: self.builder,
            ty: self.context.i64_type(),
        }
    }

    fn select(
        &self,
        condition: IntValue<'ctx>,
        a: IntValue<'ctx>,
        b: IntValue<'ctx>,
    ) -> Result<IntValue<'ctx>, CodegenError> {
        self.builder
            .build_select(condition, a, b, "sel")
            .map(|v| v.into_int_value())
            .map_err(llvm)
    }

    fn compare(
        &self,
        predicate: IntPredicate,
        a: IntValue<'ctx>,
        b: IntValue<'ctx>,
    ) -> Result<IntValue<'ctx>, CodegenError> {
        self.builder
            .build_int_compare(predicate, a, b, "cmp")
            .map_err(llvm)
    }

    /// `table[i] + round((table[i + 1] − table[i]) · f, shift)`, in i64.
    pub(super) fn interpolate(
        &self,
        (global, ty): (
            inkwell::values::GlobalValue<'ctx>,
            inkwell::types::ArrayType<'ctx>,
        ),
        i: IntValue<'ctx>,
        f: IntValue<'ctx>,
        shift: u32,
    ) -> Result<IntValue<'ctx>, CodegenError> {
        let (b, e) = (self.builder, self.e());
        let element = ty.get_element_type().into_int_type();
        let load = |index: IntValue<'ctx>, name: &str| -> Result<IntValue<'ctx>, CodegenError> {
            // SAFETY of the IR: callers keep 0 <= i < segments, so i and i + 1 index
            // the table.
            let at = unsafe {
                b.build_in_bounds_gep(ty, global.as_pointer_value(), &[e.constant(0), index], name)
            }
            .map_err(llvm)?;
            let value = b
                .build_load(element, at, name)
                .map_err(llvm)?
                .into_int_value();
            if element.get_bit_width() == 64 {
                Ok(value)
            } else {
                b.build_int_s_extend(value, e.ty, name).map_err(llvm)
            }
        };
        let next = b.build_int_add(i, e.constant(1), "next").map_err(llvm)?;
        let (lo, hi) = (load(i, "lo")?, load(next, "hi")?);
        let rise = b.build_int_sub(hi, lo, "rise").map_err(llvm)?;
        let part = b.build_int_mul(rise, f, "part").map_err(llvm)?;
        b.build_int_add(lo, e.round_shift(part, shift)?, "interp")
            .map_err(llvm)
    }

    /// [`Lut::eval`] of the Q4.11 value `q` (i64), in Q1.14.
    pub(super) fn lut(&self, lut: &Lut, q: IntValue<'ctx>) -> Result<IntValue<'ctx>, CodegenError> {
        let (b, e) = (self.builder, self.e());
        let global = table(
            self.module,
            &format!("{}.table", lut.function.symbol()),
            self.context.i32_type(),
            || lut.table.iter().map(|&v| i64::from(v)).collect(),
        );
        let t = b
            .build_int_sub(q, e.constant(i64::from(lut.lo)), "t")
            .map_err(llvm)?;
        let span = ((crate::activation::SEGMENTS as i64) << lut.shift) - 1;
        let t = e.min(e.max(t, 0)?, span)?;
        let i = b
            .build_right_shift(t, e.constant(i64::from(lut.shift)), false, "i")
            .map_err(llvm)?;
        let f = b
            .build_and(t, e.constant((1i64 << lut.shift) - 1), "f")
            .map_err(llvm)?;
        self.interpolate(global, i, f, lut.shift)
    }

    fn shift_left(&self, x: IntValue<'ctx>, s: i64) -> Result<IntValue<'ctx>, CodegenError> {
        self.builder
            .build_left_shift(x, self.e().constant(s), "shl")
            .map_err(llvm)
    }

    fn shift_right(&self, x: IntValue<'ctx>, s: i64) -> Result<IntValue<'ctx>, CodegenError> {
        self.builder
            .build_right_shift(x, self.e().constant(s), true, "shr")
            .map_err(llvm)
    }

    fn exp(&self, x: IntValue<'ctx>, fraction: u32) -> Result<IntValue<'ctx>, CodegenError> {
        let (b, e) = (self.builder, self.e());
        let i64t = e.ty;
        let scaled = b
            .build_int_mul(x, e.constant(LOG2_E_Q30), "x.log2e")
            .map_err(llvm)?;
        let t = e.round_shift(scaled, 30)?;
        let k = self.shift_right(t, i64::from(fraction))?;
        let f = b
            .build_and(t, e.constant((1i64 << fraction) - 1), "f")
            .map_err(llvm)?;
        let step = fraction - 8;
        let i = self.shift_right(f, i64::from(step))?;
        let r = b
            .build_and(f, e.constant((1i64 << step) - 1), "r")
            .map_err(llvm)?;
        let exp2 = table(self.module, "nmdu.exp2.table", i64t, tables::exp2);
        let m = self.interpolate(exp2, i, r, step)?;
        let shift = b
            .build_int_sub(e.constant(30 - i64::from(fraction)), k, "shift")
            .map_err(llvm)?;
        // shift <= 0: m << min(−shift, 31), saturated; else round(m, min(shift, 33))
        // as ((2m >> s) + 1) >> 1, which is 0 from 33 on, as the reference's.
        let negated = b.build_int_neg(shift, "neg.shift").map_err(llvm)?;
        let left = b
            .build_left_shift(m, e.min(e.max(negated, 0)?, 31)?, "left")
            .map_err(llvm)?;
        let left = e.saturate(left, 32)?;
        let doubled = self.shift_left(m, 1)?;
        let right = b
            .build_right_shift(doubled, e.min(e.max(shift, 0)?, 33)?, true, "right")
            .map_err(llvm)?;
        let right = b
            .build_int_add(right, e.constant(1), "right.half")
            .map_err(llvm)?;
        let right = self.shift_right(right, 1)?;
        let grows = self.compare(IntPredicate::SLE, shift, e.constant(0))?;
        self.select(grows, left, right)
    }

    fn log(&self, x: IntValue<'ctx>, fraction: u32) -> Result<IntValue<'ctx>, CodegenError> {
        let (b, e) = (self.builder, self.e());
        let i64t = e.ty;
        let positive = self.compare(IntPredicate::SGT, x, e.constant(0))?;
        let safe = self.select(positive, x, e.constant(1))?;
        let ctlz = Intrinsic::find("llvm.ctlz")
            .and_then(|intrinsic| intrinsic.get_declaration(self.module, &[i64t.into()]))
            .ok_or_else(|| CodegenError::Llvm("no llvm.ctlz".into()))?;
        let zeros = b
            .build_call(
                ctlz,
                &[safe.into(), self.context.bool_type().const_zero().into()],
                "zeros",
            )
            .map_err(llvm)?
            .try_as_basic_value()
            .basic()
            .ok_or_else(|| CodegenError::Llvm("llvm.ctlz returns nothing".into()))?
            .into_int_value();
        let n = b.build_int_sub(e.constant(63), zeros, "n").map_err(llvm)?;
        let up = b.build_int_sub(e.constant(30), n, "up").map_err(llvm)?;
        let normal = b.build_left_shift(safe, up, "normal").map_err(llvm)?;
        let u = b
            .build_int_sub(normal, e.constant(1i64 << 30), "u")
            .map_err(llvm)?;
        let i = self.shift_right(u, 22)?;
        let r = b
            .build_and(u, e.constant((1i64 << 22) - 1), "r")
            .map_err(llvm)?;
        let log2 = table(self.module, "nmdu.log2.table", i64t, tables::log2);
        let l = self.interpolate(log2, i, r, 22)?;
        let whole = b
            .build_int_sub(n, e.constant(i64::from(fraction)), "whole")
            .map_err(llvm)?;
        let whole = self.shift_left(whole, 30)?;
        let value = b.build_int_add(whole, l, "log2").map_err(llvm)?;
        let value = b
            .build_int_mul(value, e.constant(LN_2_Q24), "ln")
            .map_err(llvm)?;
        let value = e.saturate(e.round_shift(value, 54 - fraction)?, 32)?;
        self.select(positive, value, e.constant(i64::from(i32::MIN)))
    }

    /// `⌊√n⌋` for `0 <= n < 2^53`, as [`crate::elementwise::isqrt`].
    fn isqrt(&self, n: IntValue<'ctx>) -> Result<IntValue<'ctx>, CodegenError> {
        let (b, e) = (self.builder, self.e());
        let f64t = self.context.f64_type();
        let real = b.build_signed_int_to_float(n, f64t, "n.f").map_err(llvm)?;
        let sqrt = Intrinsic::find("llvm.sqrt")
            .and_then(|intrinsic| intrinsic.get_declaration(self.module, &[f64t.into()]))
            .ok_or_else(|| CodegenError::Llvm("no llvm.sqrt".into()))?;
        let root = b
            .build_call(sqrt, &[real.into()], "root")
            .map_err(llvm)?
            .try_as_basic_value()
            .basic()
            .ok_or_else(|| CodegenError::Llvm("llvm.sqrt returns nothing".into()))?
            .into_float_value();
        let s = b.build_float_to_signed_int(root, e.ty, "s").map_err(llvm)?;
        let square = b.build_int_mul(s, s, "s2").map_err(llvm)?;
        let over = self.compare(IntPredicate::SGT, square, n)?;
        let less = b.build_int_sub(s, e.constant(1), "s.less").map_err(llvm)?;
        let s = self.select(over, less, s)?;
        let more = b.build_int_add(s, e.constant(1), "s.more").map_err(llvm)?;
        let square = b.build_int_mul(more, more, "s2.more").map_err(llvm)?;
        let under = self.compare(IntPredicate::SLE, square, n)?;
        self.select(under, more, s)
    }

    fn activation(
        &self,
        function: Function,
        x: IntValue<'ctx>,
        fraction: u32,
    ) -> Result<IntValue<'ctx>, CodegenError> {
        let e = self.e();
        let q = e.round_shift(x, fraction - INPUT_FRACTION)?;
        let q = e.saturate(q, 16)?;
        let y = self.lut(&Lut::new(function), q)?;
        self.shift_left(y, i64::from(fraction - OUTPUT_FRACTION))
    }

    /// One instruction on i64 operands.
    fn apply(
        &self,
        op: Op,
        values: &[IntValue<'ctx>],
        fraction: u32,
    ) -> Result<IntValue<'ctx>, CodegenError> {
        let (b, e) = (self.builder, self.e());
        let f = i64::from(fraction);
        let (a, y) = (values[0], values.get(1).copied());
        let y = || y.expect("binary ops have two operands");
        let sat = |v: IntValue<'ctx>| e.saturate(v, 32);
        Ok(match op {
            Op::Add => sat(b.build_int_add(a, y(), "add").map_err(llvm)?)?,
            Op::Sub => sat(b.build_int_sub(a, y(), "sub").map_err(llvm)?)?,
            Op::Mul => {
                sat(e.round_shift(b.build_int_mul(a, y(), "mul").map_err(llvm)?, fraction)?)?
            }
            Op::Div => {
                let zero = self.compare(IntPredicate::EQ, y(), e.constant(0))?;
                let divisor = self.select(zero, e.constant(1), y())?;
                let quotient = b
                    .build_int_signed_div(self.shift_left(a, f)?, divisor, "div")
                    .map_err(llvm)?;
                let positive = self.compare(IntPredicate::SGT, a, e.constant(0))?;
                let negative = self.compare(IntPredicate::SLT, a, e.constant(0))?;
                let signed =
                    self.select(negative, e.constant(i64::from(i32::MIN)), e.constant(0))?;
                let signed = self.select(positive, e.constant(i64::from(i32::MAX)), signed)?;
                self.select(zero, signed, sat(quotient)?)?
            }
            Op::Max => self.select(self.compare(IntPredicate::SGT, a, y())?, a, y())?,
            Op::Min => self.select(self.compare(IntPredicate::SLT, a, y())?, a, y())?,
            Op::Neg => sat(b.build_int_neg(a, "neg").map_err(llvm)?)?,
            Op::Abs => {
                let negated = b.build_int_neg(a, "neg").map_err(llvm)?;
                let below = self.compare(IntPredicate::SLT, a, e.constant(0))?;
                sat(self.select(below, negated, a)?)?
            }
            Op::Exp => self.exp(a, fraction)?,
            Op::Log => self.log(a, fraction)?,
            Op::Tanh => self.activation(Function::Tanh, a, fraction)?,
            Op::Sigmoid => self.activation(Function::Sigmoid, a, fraction)?,
            Op::Erf => self.activation(Function::Erf, a, fraction)?,
            Op::Sqrt => {
                let positive = e.max(a, 0)?;
                self.isqrt(self.shift_left(positive, f)?)?
            }
            Op::Rsqrt => {
                let positive = self.compare(IntPredicate::SGT, a, e.constant(0))?;
                let safe = self.select(positive, a, e.constant(1))?;
                let root = self.isqrt(self.shift_left(safe, f)?)?;
                let inverse = b
                    .build_int_signed_div(e.constant(1i64 << (2 * fraction)), root, "rsqrt")
                    .map_err(llvm)?;
                self.select(positive, sat(inverse)?, e.constant(i64::from(i32::MAX)))?
            }
            Op::Copy => a,
            Op::Compare(predicate) => {
                let predicate = match predicate {
                    0 | 14 => None,
                    1 | 8 => Some(IntPredicate::EQ),
                    2 | 9 => Some(IntPredicate::SGT),
                    3 | 10 => Some(IntPredicate::SGE),
                    4 | 11 => Some(IntPredicate::SLT),
                    5 | 12 => Some(IntPredicate::SLE),
                    6 | 13 => Some(IntPredicate::NE),
                    _ => return Ok(e.constant(1i64 << fraction)),
                };
                match predicate {
                    None => e.constant(0),
                    Some(predicate) => self.select(
                        self.compare(predicate, a, y())?,
                        e.constant(1i64 << fraction),
                        e.constant(0),
                    )?,
                }
            }
            Op::Select => {
                let set = self.compare(IntPredicate::NE, a, e.constant(0))?;
                self.select(set, y(), values[2])?
            }
        })
    }
}

/// Adds `void name(ptr arguments, ptr results)` computing `program` to `module`.
pub(super) fn define<'ctx>(
    context: &'ctx Context,
    module: &Module<'ctx>,
    program: &Program,
    name: &str,
    linkage: Option<Linkage>,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    if let Some(problem) = program.problem() {
        return Err(CodegenError::Kernel(problem));
    }
    let (i32t, i64t) = (context.i32_type(), context.i64_type());
    let ptr = context.ptr_type(AddressSpace::default());
    let signature = context
        .void_type()
        .fn_type(&[ptr.into(), ptr.into()], false);
    let function = module.add_function(name, signature, linkage);
    let builder = context.create_builder();
    builder.position_at_end(context.append_basic_block(function, "entry"));
    let lowering = Lowering {
        context,
        module,
        builder: &builder,
    };
    let param = |index: u32| {
        function
            .get_nth_param(index)
            .expect("declared above")
            .into_pointer_value()
    };
    let (arguments, results) = (param(0), param(1));
    let element = |base, index: usize, name: &str| {
        // SAFETY of the IR: `arguments` holds `program.arguments` values and
        // `results` `program.results.len()`; indices stay below.
        unsafe {
            builder.build_in_bounds_gep(i32t, base, &[i64t.const_int(index as u64, false)], name)
        }
        .map_err(llvm)
    };
    let mut loaded = Vec::with_capacity(program.arguments);
    for index in 0..program.arguments {
        let at = element(arguments, index, "arg")?;
        let value = builder.build_load(i32t, at, "arg").map_err(llvm)?;
        loaded.push(
            builder
                .build_int_s_extend(value.into_int_value(), i64t, "arg")
                .map_err(llvm)?,
        );
    }
    let mut temporaries: Vec<IntValue> = Vec::with_capacity(program.instructions.len());
    let read = |operand: Operand, temporaries: &[IntValue<'ctx>]| match operand {
        Operand::Argument(i) => loaded[i],
        Operand::Constant(v) => i64t.const_int(i64::from(v) as u64, true),
        Operand::Temporary(i) => temporaries[i],
    };
    for instruction in &program.instructions {
        let values: Vec<IntValue> = instruction
            .operands
            .iter()
            .map(|&operand| read(operand, &temporaries))
            .collect();
        let value = lowering.apply(instruction.op, &values, program.fraction)?;
        temporaries.push(value);
    }
    for (index, &operand) in program.results.iter().enumerate() {
        let value = builder
            .build_int_truncate(read(operand, &temporaries), i32t, "result")
            .map_err(llvm)?;
        builder
            .build_store(element(results, index, "result")?, value)
            .map_err(llvm)?;
    }
    builder.build_return(None).map_err(llvm)?;
    verify(module, function)?;
    Ok(function)
}
