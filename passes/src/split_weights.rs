//! `cim-split-weights{encoding=differential|offset|pair}`: represents signed weights
//! with non-negative conductances.
//!
//! A memristor conducts, it does not subtract: a signed weight needs two cells or an
//! offset. Every `signed` `cim.crossbar` is replaced:
//!
//! * `differential` (default): a `positive` array holding max(w, 0) and a `negative`
//!   array holding max(-w, 0); every MVM on the original becomes one MVM on each and a
//!   `cim.diff`. Twice the cells, no extra digital work but the subtraction.
//! * `offset`: one `offset` array holding w + c, with c = -min(w) the smallest shift
//!   that makes every cell non-negative, and a one-column `offset` reference array
//!   holding c on every row; every MVM becomes an MVM on each and a `cim.diff` that
//!   broadcasts the reference column (x . (W + c) - x . c = x . W). When no weight is
//!   negative there is no reference.
//! * `pair`: one `pair` array whose every cell is a device pair holding max(w, 0) and
//!   max(-w, 0), whose currents subtract in analog before one conversion (as
//!   aihwkit's tiles and PCM chips do): the weights stay signed, each MVM reads the
//!   pair array, no digital subtraction. Twice the devices, half the conversions of
//!   `differential`.
//!
//! An array that `cim-map{choose-encoding}` marked with `cim.encoding` is encoded
//! as marked, whatever the option says. Arrays already split (`positive`,
//! `negative`, `offset`, `pair`) are left alone. Split
//! before placement: a placed signed array is an error. Weights must be inline dense
//! f32.
//!
//! Example, `cim-split-weights` (differential). Before:
//!
//! ```mlir
//! "cim.crossbar"() {sym_name = "a", sign = "signed", weights = dense<[[1.0, -2.0]]> : tensor<1x2xf32>, ...}
//! %y = "cim.mvm"(%x) {array = @a, ...} : (tensor<?x1xf32>) -> tensor<?x2xf32>
//! ```
//!
//! After:
//!
//! ```mlir
//! "cim.crossbar"() {sym_name = "a_pos", sign = "positive", weights = dense<[[1.0, 0.0]]> ...}
//! "cim.crossbar"() {sym_name = "a_neg", sign = "negative", weights = dense<[[0.0, 2.0]]> ...}
//! %p = "cim.mvm"(%x) {array = @a_pos, ...} : (tensor<?x1xf32>) -> tensor<?x2xf32>
//! %n = "cim.mvm"(%x) {array = @a_neg, ...} : (tensor<?x1xf32>) -> tensor<?x2xf32>
//! %y = "cim.diff"(%p, %n) : (tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
//! ```

use crate::options::{OptionKind, OptionSpec, PassOptions};
use crate::pass::{PassDef, PassFailed, PassId, PassResult};
use cim_choices::Choice;
use cim_egraph::cost::Encoding;
use cim_ir::mapped::{self, CrossbarOp};
use cim_ir::{
    attributes::Window,
    build::{self, MvmSpec},
    diagnostics::emit_error,
    query::TensorShape,
};
use melior::ir::{OperationRef, operation::OperationLike};

static ID: PassId = PassId;

/// The pass definition.
pub static PASS: PassDef = PassDef {
    name: "cim-split-weights",
    summary: "Represent signed weights with non-negative conductances (differential arrays, offset, or device pairs)",
    options: &[OptionSpec {
        name: "encoding",
        kind: OptionKind::Enum(<Encoding as Choice>::WORDS),
        default: <Encoding as Choice>::DEFAULT_WORD,
        doc: "two arrays and a digital subtraction, one shifted array and a reference column, or one array of device pairs subtracting in analog",
    }],
    anchor: "builtin.module",
    run,
    id: &ID,
};

fn run(module: OperationRef<'_, '_>, options: &PassOptions) -> PassResult {
    let default = options.choice::<Encoding>("encoding");
    let mut arrays = mapped::Arrays::collect(module);
    let mut failed = false;
    for array in arrays.take_all() {
        if array.sign != "signed" {
            continue;
        }
        // cim-map{choose-encoding} may have chosen per array.
        let encoding = match array.encoding_mark() {
            None => Ok(default),
            Some(mark) => mark.parse::<Encoding>().map_err(|_| {
                format!(
                    "{} = \"{mark}\" is not an encoding ({})",
                    cim_ir::marks::ENCODING,
                    <Encoding as Choice>::WORDS.join(", ")
                )
            }),
        };
        let result = encoding.and_then(|encoding| match encoding {
            Encoding::Differential => split_differential(&mut arrays, &array),
            Encoding::Offset => split_offset(&mut arrays, &array),
            Encoding::Pair => split_pair(&mut arrays, &array),
        });
        if let Err(message) = result {
            emit_error(
                array.op.location(),
                &format!("'cim.crossbar' op cannot be split: {message}"),
            );
            failed = true;
        }
    }
    if failed { Err(PassFailed) } else { Ok(()) }
}

fn split_differential<'c, 'a>(
    arrays: &mut mapped::Arrays<'c, 'a>,
    array: &CrossbarOp<'c, 'a>,
) -> Result<(), String> {
    let weights = array.weights()?;
    // Explicit branches, so a zero weight is +0.0 on both sides (never -0.0).
    let positive: Vec<f32> = weights
        .values
        .iter()
        .map(|&w| if w > 0.0 { w } else { 0.0 })
        .collect();
    let negative: Vec<f32> = weights
        .values
        .iter()
        .map(|&w| if w < 0.0 { -w } else { 0.0 })
        .collect();
    let pos = arrays.add_like(
        array,
        "pos",
        "positive",
        array.geometry,
        &weights.shape,
        &positive,
    )?;
    let neg = arrays.add_like(
        array,
        "neg",
        "negative",
        array.geometry,
        &weights.shape,
        &negative,
    )?;
    for mvm in arrays.mvms_of(&array.name) {
        let (input, result) = (mvm.input(), mvm.result_type());
        let (context, location) = (mvm.context(), mvm.op.location());
        let p = mvm.insert_before(build::mvm(
            context,
            location,
            input,
            result,
            &mvm.spec_on(&pos)?,
        ));
        let n = mvm.insert_before(build::mvm(
            context,
            location,
            input,
            result,
            &mvm.spec_on(&neg)?,
        ));
        let difference = mvm.insert_before(build::diff(location, p, n));
        mvm.replace_with(difference);
    }
    array.erase();
    Ok(())
}

/// One array of device pairs: the signed weights stay, each MVM reads them (the
/// pair's currents subtract in analog).
fn split_pair<'c, 'a>(
    arrays: &mut mapped::Arrays<'c, 'a>,
    array: &CrossbarOp<'c, 'a>,
) -> Result<(), String> {
    let weights = array.weights()?;
    let pair = arrays.add_like(
        array,
        "pair",
        "pair",
        array.geometry,
        &weights.shape,
        &weights.values,
    )?;
    for mvm in arrays.mvms_of(&array.name) {
        let (input, result) = (mvm.input(), mvm.result_type());
        let (context, location) = (mvm.context(), mvm.op.location());
        let read = mvm.insert_before(build::mvm(
            context,
            location,
            input,
            result,
            &mvm.spec_on(&pair)?,
        ));
        mvm.replace_with(read);
    }
    array.erase();
    Ok(())
}

fn split_offset<'c, 'a>(
    arrays: &mut mapped::Arrays<'c, 'a>,
    array: &CrossbarOp<'c, 'a>,
) -> Result<(), String> {
    let weights = array.weights()?;
    let shift = weights
        .values
        .iter()
        .fold(0.0f32, |low, &w| low.min(w))
        .abs();
    let shifted: Vec<f32> = weights.values.iter().map(|w| w + shift).collect();
    let offset = arrays.add_like(
        array,
        "off",
        "offset",
        array.geometry,
        &weights.shape,
        &shifted,
    )?;
    let rows = weights.shape[0];
    let reference = if shift > 0.0 {
        // A physical array of the same size, of which one column is used; packing
        // several reference columns into one array is the mapper's business.
        let column = vec![shift; rows as usize];
        Some(arrays.add_like(array, "ref", "offset", array.geometry, &[rows, 1], &column)?)
    } else {
        None
    };
    for mvm in arrays.mvms_of(&array.name) {
        let (input, result) = (mvm.input(), mvm.result_type());
        let (context, location) = (mvm.context(), mvm.op.location());
        let spec = mvm.spec_on(&offset)?;
        let shifted = mvm.insert_before(build::mvm(context, location, input, result, &spec));
        let Some(reference) = &reference else {
            mvm.replace_with(shifted);
            continue;
        };
        let shape = TensorShape::of_type(result).ok_or("MVM result is not a ranked tensor")?;
        let column_type = build::tensor_type(&[shape.dims[0], Some(1)], shape.element);
        let column_spec = MvmSpec {
            array: reference,
            window: Window {
                row: spec.window.row,
                col: 0,
            },
            dac: spec.dac,
            adc: spec.adc,
        };
        let column = mvm.insert_before(build::mvm(
            context,
            location,
            input,
            column_type,
            &column_spec,
        ));
        let difference = mvm.insert_before(build::diff(location, shifted, column));
        mvm.replace_with(difference);
    }
    array.erase();
    Ok(())
}
