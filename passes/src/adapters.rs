//! `cim-adapters{rank=8 placement=all layers="" count=1}`: gives chosen analog
//! layers a digital correction: a per-column affine (`cim.affine`) on the layer's
//! output and a low-rank adapter (`cim.adapter`, LoRA-style) beside it,
//!
//! ```text
//! y = scale * (x . W) + offset + (x . down) . up
//! ```
//!
//! with `x . W` computed by the arrays and the rest on the near-memory digital unit.
//! The pass writes the identity (scale 1, offset 0, `down` and `up` 0): a program
//! with adapters computes what it computed before. Calibration fills them in
//! without retraining (`cimc calibrate`, `cim_sim::adapters`), per chip or for
//! every chip of a technology, and an artifact keeps its fitted sets beside the
//! program, so switching sets never reprograms an array.
//!
//! Runs on `cim.matmul`, before a mapper: the ops it writes are named by the layer
//! (`loc("main_mm0"(...))`), as the mappers name the layer's arrays (one layer per
//! weight constant, in program order), and every matmul reading that weight (the
//! steps of a recurrent layer) gets the layer's correction. Which layers:
//!
//! - `placement=all`: every analog layer;
//! - `placement=named`: those `layers` names, comma-separated (`main_mm0,main_mm2`);
//! - `placement=sensitive`: the `count` layers whose outputs the devices disturb
//!   most, by their noise-to-signal ratio: device noise is a fraction of the
//!   largest conductance, which holds `max |W|`, so a column's output error over its
//!   signal grows as `max |W| * sqrt(K) / |W[:, j]|`; a layer's ratio is that
//!   averaged over its columns.
//!
//! The adapter's rank is `rank`, at most the layer's `min(K, N)`. A layer that
//! already has a correction is left alone.
//!
//! Example (`rank=1`). Before:
//!
//! ```mlir
//! %y = "cim.matmul"(%x, %w) : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
//! return %y : tensor<?x3xf32>
//! ```
//!
//! After:
//!
//! ```mlir
//! %y = "cim.matmul"(%x, %w) : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
//! %a = "cim.affine"(%y) {offset = dense<0.0> : tensor<3xf32>, scale = dense<1.0> : tensor<3xf32>}
//!     : (tensor<?x3xf32>) -> tensor<?x3xf32> loc("main_mm0"(...))
//! %z = "cim.adapter"(%x, %a) {down = dense<0.0> : tensor<4x1xf32>, up = dense<0.0> : tensor<1x3xf32>}
//!     : (tensor<?x4xf32>, tensor<?x3xf32>) -> tensor<?x3xf32> loc("main_mm0"(...))
//! return %z : tensor<?x3xf32>
//! ```

use crate::options::{OptionKind, OptionSpec, PassOptions};
use crate::pass::{PassDef, PassFailed, PassId, PassResult};
use crate::tile::{WeightStationary, layer_indices, layer_name, top_level_ancestor};
use cim_ir::{
    build,
    diagnostics::emit_error,
    dialect::ops,
    query::{context_of, op_name, ops_in, users},
};
use melior::ir::{BlockLike, Location, OperationRef, ValueLike, operation::OperationLike};
use std::collections::BTreeSet;

static ID: PassId = PassId;

/// The pass definition.
pub static PASS: PassDef = PassDef {
    name: "cim-adapters",
    summary: "Give chosen analog layers a per-column affine and a low-rank digital adapter (identity until calibrated)",
    options: &[
        OptionSpec {
            name: "rank",
            kind: OptionKind::Int { min: 1, max: 4096 },
            default: "8",
            doc: "rank of each adapter (at most the layer's min(K, N))",
        },
        OptionSpec {
            name: "placement",
            kind: OptionKind::Enum(&["all", "named", "sensitive"]),
            default: "all",
            doc: "which layers: all, the named ones (layers), or the count most sensitive to device noise",
        },
        OptionSpec {
            name: "layers",
            kind: OptionKind::Text,
            default: "",
            doc: "with placement=named: layer names, comma-separated (main_mm0,main_mm2)",
        },
        OptionSpec {
            name: "count",
            kind: OptionKind::Int {
                min: 1,
                max: i64::MAX,
            },
            default: "1",
            doc: "with placement=sensitive: how many layers",
        },
    ],
    anchor: "builtin.module",
    run,
    id: &ID,
};

/// One analog layer: the matmuls reading one weight constant.
struct Layer<'c, 'a> {
    name: String,
    readers: Vec<WeightStationary<'c, 'a>>,
}

impl Layer<'_, '_> {
    /// How much device noise disturbs the layer's outputs, relative to their
    /// signal: `max |W| * sqrt(K)` over each nonzero column's norm, averaged.
    fn noise_to_signal(&self) -> f64 {
        let weight = &self.readers[0];
        let (k, n) = (weight.k as usize, weight.n as usize);
        let largest = weight
            .weights
            .iter()
            .fold(0f64, |m, &w| m.max(f64::from(w).abs()));
        let ratios: Vec<f64> = (0..n)
            .map(|j| {
                (0..k)
                    .map(|i| f64::from(weight.weights[i * n + j]).powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .filter(|norm| *norm > 0.0)
            .map(|norm| largest * (k as f64).sqrt() / norm)
            .collect();
        ratios.iter().sum::<f64>() / ratios.len().max(1) as f64
    }
}

/// The analog layers of `module`, one per weight constant in program order, named
/// as the mappers name them (the function of the first matmul).
fn layers<'c, 'a>(module: OperationRef<'c, 'a>) -> Result<Vec<Layer<'c, 'a>>, PassFailed> {
    let mut matmuls = Vec::new();
    for op in ops_in(module)
        .into_iter()
        .filter(|op| op_name(op) == ops::MATMUL)
    {
        matmuls.push(WeightStationary::read(op).map_err(|message| {
            emit_error(
                op.location(),
                &format!("cim-adapters: '{}' op: {message}", ops::MATMUL),
            );
            PassFailed
        })?);
    }
    let Some(first) = matmuls.first() else {
        return Ok(Vec::new());
    };
    let function = top_level_ancestor(first.op).map_or_else(|| "top".to_owned(), |(_, name)| name);
    let mut layers: Vec<Layer> = Vec::new();
    for (index, matmul) in layer_indices(&matmuls).into_iter().zip(matmuls) {
        if index == layers.len() {
            layers.push(Layer {
                name: layer_name(&function, index),
                readers: Vec::new(),
            });
        }
        layers[index].readers.push(matmul);
    }
    Ok(layers)
}

/// Whether the matmul's result already feeds a correction (a `cim.affine` read by a
/// `cim.adapter`).
fn corrected(matmul: &WeightStationary) -> bool {
    let Ok(result) = matmul.op.result(0) else {
        return false;
    };
    users(result.into()).iter().any(|(user, _)| {
        op_name(user) == ops::AFFINE
            && user.result(0).is_ok_and(|affine| {
                users(affine.into())
                    .iter()
                    .any(|(reader, _)| op_name(reader) == ops::ADAPTER)
            })
    })
}

fn run(module: OperationRef<'_, '_>, options: &PassOptions) -> PassResult {
    let layers = layers(module)?;
    let chosen: Vec<&Layer> = match options.text("placement") {
        "named" => {
            let names: BTreeSet<&str> = options
                .text("layers")
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .collect();
            let known: BTreeSet<&str> = layers.iter().map(|layer| layer.name.as_str()).collect();
            if let Some(unknown) = names.iter().find(|name| !known.contains(*name)) {
                emit_error(
                    module.location(),
                    &format!(
                        "cim-adapters: no analog layer '{unknown}' (layers: {}): name layers as `cimc report` does",
                        known.iter().copied().collect::<Vec<_>>().join(", ")
                    ),
                );
                return Err(PassFailed);
            }
            if names.is_empty() {
                emit_error(
                    module.location(),
                    "cim-adapters: placement=named needs layers=NAME,NAME",
                );
                return Err(PassFailed);
            }
            layers
                .iter()
                .filter(|layer| names.contains(layer.name.as_str()))
                .collect()
        }
        "sensitive" => {
            let mut ranked: Vec<(f64, &Layer)> = layers
                .iter()
                .map(|layer| (layer.noise_to_signal(), layer))
                .collect();
            // Most sensitive first; ties keep program order.
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
            ranked.truncate(options.int("count") as usize);
            let names: BTreeSet<&str> = ranked.iter().map(|(_, l)| l.name.as_str()).collect();
            layers
                .iter()
                .filter(|layer| names.contains(layer.name.as_str()))
                .collect()
        }
        _ => layers.iter().collect(),
    };
    let rank = options.int("rank") as u64;
    for layer in chosen {
        for matmul in &layer.readers {
            if !corrected(matmul) {
                insert(matmul, &layer.name, rank);
            }
        }
    }
    Ok(())
}

/// Writes the identity correction of `matmul`'s output, read by every former user.
fn insert(matmul: &WeightStationary, layer: &str, rank: u64) {
    let context = context_of(&matmul.op);
    let location = Location::name(context, layer, matmul.op.location());
    let (k, n) = (matmul.k, matmul.n);
    let rank = rank.min(k).min(n).max(1);
    let result = matmul.op.result(0).expect("checked in read");
    let block = matmul.op.block().expect("a matmul lives in a block");
    let affine = build::affine(
        context,
        location,
        result.into(),
        &vec![1.0; n as usize],
        &vec![0.0; n as usize],
    );
    let affine = block.insert_operation_after(matmul.op, affine);
    let adapter = build::adapter(
        context,
        location,
        matmul.input(),
        affine.result(0).expect("one result").into(),
        (k, rank, n),
        &vec![0.0; (k * rank) as usize],
        &vec![0.0; (rank * n) as usize],
    );
    let adapter = block.insert_operation_after(affine, adapter);
    let output = adapter.result(0).expect("one result");
    let mut except = [affine.to_raw()];
    // SAFETY: every use of the matmul's result but the affine's now reads the
    // corrected output; all three values are live in one block.
    unsafe {
        mlir_sys::mlirValueReplaceAllUsesExcept(
            result.to_raw(),
            output.to_raw(),
            except.len() as isize,
            except.as_mut_ptr(),
        );
    }
}
