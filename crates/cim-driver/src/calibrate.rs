//! Calibrating an artifact's digital corrections (the per-column affines and
//! low-rank adapters `cim-adapters` wrote) on simulated chips, without retraining,
//! and the adapter sets an artifact keeps.
//!
//! The target of a corrected layer is what the float layer makes of the input
//! the chip gives it: the exact program is run on the calibration inputs once,
//! and each layer's linear map is recovered from its rows there (where each
//! `cim.adapter` reads it: [`cim_sim::adapters::float_map`]). Then layer by layer
//! in program order, each layer seeing the chip's earlier layers already
//! corrected, the chip's rows of the layer (its input and its output) are
//! captured and [`cim_sim::adapters::fit`] solves the correction in closed form,
//! towards that map of the chip's input. (Fitted to the float model's own output
//! instead, a layer regresses on inputs the chip's earlier layers moved, which
//! shrinks its correction towards none: a recurrent layer, whose state moves
//! most, then kept about half of its loss; see the README's measurements.)
//! The rows come from one chip at one drift time (per chip: what a
//! chip team does with every chip it ships), or are pooled over several chips
//! and drift times (across chips: one set for every chip of the technology, as a
//! trained adapter is used).
//!
//! Cost: on one chip and time, one run of the calibration inputs fits every
//! layer read once (a recurrent layer's steps need every step's rows, so the
//! layers after it wait for the next run, and it is fitted twice: the second time
//! on rows its first correction shaped); pooled over S chips and times, each
//! layer takes a run of every source, so L layers cost L x S runs.
//!
//! A set is `ARTIFACT/adapters/NAME.json`: its corrections by layer, when and on
//! what they were fitted, and how well (squared error on the calibration rows,
//! before and after). Applying one writes its values into the program's
//! `cim.affine` and `cim.adapter` ops; the arrays are untouched, so switching sets
//! never reprograms a chip.

use crate::{
    DriverError,
    artifact::Artifact,
    run::{Periphery, Prepared, RunSettings},
};
use cim_interp::InterpError;
use cim_ir::{
    build::dense_f32,
    dialect::ops,
    marks,
    query::{attribute, attribute_shape, context_of, defining_op, op_name, ops_in},
};
use cim_sim::{
    Digital, Fidelity,
    adapters::{self, AdapterHook, Correction, FitOptions},
};
use melior::ir::{
    Module,
    operation::{OperationLike, OperationMutLike, OperationRefMut},
};
use ndarray::{Array2, ArrayD};
use serde::{Deserialize, Serialize};
use std::{
    cell::RefCell,
    collections::{BTreeMap, HashMap},
    path::PathBuf,
};

/// The version of the adapter set format.
pub const SET_SCHEMA: u32 = 1;

/// What a set was fitted on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fitted {
    /// `per-chip` (one chip, one time) or `across-chips` (pooled).
    pub mode: String,
    /// The seeds of the chips whose rows were used.
    pub chips: Vec<u64>,
    /// Seconds since programming at which they were read.
    pub drift_times: Vec<f64>,
    /// The calibration inputs (file name) and how many.
    pub data: String,
    /// The shape of the (first) calibration input.
    pub shape: Vec<usize>,
    /// The fit's ridge and rounds.
    pub ridge: f64,
    /// Rounds of (adapter, affine).
    pub rounds: usize,
    /// Converter resolutions changed from the artifact's when it was fitted.
    #[serde(default)]
    pub periphery: Periphery,
}

/// How well a layer's correction fits its calibration rows.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerFit {
    /// Squared error of the chip against the float model, uncorrected, over the
    /// float model's squared values.
    pub before: f64,
    /// The same, corrected.
    pub after: f64,
    /// How far from the identity towards the fit the correction goes: the weight
    /// that did best on rows held out of the fit.
    pub weight: f64,
}

/// How near the float model's the network's results come with a set's
/// corrections, on calibration inputs held out of their fit (each half of the
/// inputs with corrections fitted on the other half), on the chips and times the
/// set was fitted on: the mean cosine distance of the results' rows to the float
/// model's (a row: a logit vector, a token's embedding). Scale-free, as a top-1
/// decision and an embedding's similarity are: on a chip whose results are far
/// from float, shrinking them lowers their squared error (the MiniLM at 1 s: 1.5%
/// lower) while their directions, what the network's user reads, get no nearer.
///
/// Each layer's correction goes only as far as did best on calibration rows held
/// out of its fit, judged at that layer; corrections that each help their layer
/// can still, together, lead the network away from float on inputs they were not
/// fitted on (the MiniLM on a chip read 1 s after programming). A set whose
/// corrections do not bring the held-out results nearer than the chip with its
/// drift compensation alone is not used: its corrections are the identity
/// (`kept` false).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkFit {
    /// Uncorrected: the chip with its drift compensation alone.
    pub before: f64,
    /// With the fitted corrections.
    pub after: f64,
    /// Whether they are used (`after` < `before`).
    pub kept: bool,
}

/// Named corrections of an artifact's layers, fitted together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdapterSet {
    /// [`SET_SCHEMA`].
    pub schema: u32,
    /// Its name (`ARTIFACT/adapters/NAME.json`).
    pub name: String,
    /// Larger for sets fitted later: the latest is used by default.
    pub sequence: u64,
    /// What it was fitted on.
    pub fitted: Fitted,
    /// The correction of each layer.
    pub layers: BTreeMap<String, Correction>,
    /// How well each fits its calibration rows.
    pub quality: BTreeMap<String, LayerFit>,
    /// How well the whole network fits on held-out calibration inputs; absent with
    /// fewer than two, and in sets from before it was checked.
    #[serde(default)]
    pub network: Option<NetworkFit>,
}

impl AdapterSet {
    /// Parameters the set adds, all layers.
    pub fn parameters(&self) -> usize {
        self.layers.values().map(Correction::parameters).sum()
    }
}

/// Where an artifact keeps its sets.
fn sets_dir(artifact: &Artifact) -> PathBuf {
    artifact.dir().join(crate::artifact::ADAPTERS_DIR)
}

fn file_error(path: &std::path::Path, message: impl ToString) -> DriverError {
    DriverError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// The sets an artifact keeps, oldest first.
pub fn sets(artifact: &Artifact) -> Result<Vec<AdapterSet>, DriverError> {
    let dir = sets_dir(artifact);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).map_err(|e| file_error(&path, e))?;
            let set: AdapterSet = serde_json::from_str(&text).map_err(|e| {
                file_error(&path, format!("{e}: not an adapter set written by cimc"))
            })?;
            if let Some((layer, problem)) = set
                .layers
                .iter()
                .find_map(|(layer, correction)| correction.problem().map(|p| (layer, p)))
            {
                return Err(file_error(
                    &path,
                    format!("layer '{layer}': {problem}: calibrate again rather than edit the set"),
                ));
            }
            if set.schema != SET_SCHEMA {
                return Err(file_error(
                    &path,
                    format!(
                        "adapter set schema {} is not {SET_SCHEMA}: calibrate again with this cimc",
                        set.schema
                    ),
                ));
            }
            found.push(set);
        }
    }
    found.sort_by_key(|set| set.sequence);
    Ok(found)
}

/// The set named `name`, or the latest when `name` is `None` (`None` if the
/// artifact has none).
pub fn load(artifact: &Artifact, name: Option<&str>) -> Result<Option<AdapterSet>, DriverError> {
    let mut all = sets(artifact)?;
    match name {
        None => Ok(all.pop()),
        Some(name) => match all.iter().position(|set| set.name == name) {
            Some(index) => Ok(Some(all.swap_remove(index))),
            None => Err(DriverError::Usage(format!(
                "the artifact has no adapter set '{name}' (it has: {}): fit one with `cimc calibrate --name {name}`",
                if all.is_empty() {
                    "none".to_owned()
                } else {
                    all.iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ))),
        },
    }
}

/// Writes `set` into the artifact (replacing a set of its name); its sequence
/// follows the artifact's latest.
pub fn save(artifact: &Artifact, mut set: AdapterSet) -> Result<PathBuf, DriverError> {
    set.sequence = sets(artifact)?
        .iter()
        .map(|s| s.sequence + 1)
        .max()
        .unwrap_or(0);
    let dir = sets_dir(artifact);
    std::fs::create_dir_all(&dir).map_err(|e| file_error(&dir, e))?;
    if set.name.is_empty()
        || !set
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(DriverError::Usage(format!(
            "adapter set name '{}': use letters, digits, '-' and '_'",
            set.name
        )));
    }
    let path = dir.join(format!("{}.json", set.name));
    let json = serde_json::to_string(&set).map_err(|e| DriverError::Run(e.to_string()))?;
    std::fs::write(&path, json).map_err(|e| file_error(&path, e))?;
    Ok(path)
}

/// The layers of `module` that have a correction, with their shapes (K, rank, N).
pub fn corrected_layers(module: &Module) -> BTreeMap<String, (usize, usize, usize)> {
    let mut layers = BTreeMap::new();
    for op in ops_in(module.as_operation()) {
        if op_name(&op) != ops::ADAPTER {
            continue;
        }
        let shape = |name: &str| {
            attribute(&op, name).and_then(attribute_shape).map(|s| {
                s.dims
                    .iter()
                    .map(|d| d.unwrap_or(0) as usize)
                    .collect::<Vec<_>>()
            })
        };
        if let (Some(layer), Some(down), Some(up)) = (marks::layer(&op), shape("down"), shape("up"))
            && let ([k, rank], [_, n]) = (down.as_slice(), up.as_slice())
        {
            layers.insert(layer, (*k, *rank, *n));
        }
    }
    layers
}

/// Writes `set`'s values into `module`'s corrections (the `cim.adapter` ops and the
/// `cim.affine` each reads); the set must have been fitted for the converters of
/// `periphery`.
pub fn apply(module: &Module, set: &AdapterSet, periphery: Periphery) -> Result<(), DriverError> {
    if set.fitted.periphery != periphery {
        return Err(DriverError::Usage(format!(
            "adapter set '{}' was fitted for {}, this run has {periphery}: run with the set's converters or fit a set for these (`cimc calibrate --adc-bits/--dac-bits`)",
            set.name, set.fitted.periphery
        )));
    }
    let program = corrected_layers(module);
    for (layer, correction) in &set.layers {
        match program.get(layer) {
            None => {
                return Err(DriverError::Usage(format!(
                    "adapter set '{}' corrects layer '{layer}', which this program does not correct: fit sets for this artifact",
                    set.name
                )));
            }
            Some(&(k, rank, n))
                if (k, rank, n) != (correction.inputs, correction.rank, correction.outputs) =>
            {
                return Err(DriverError::Usage(format!(
                    "adapter set '{}': layer '{layer}' is {}x{} of rank {} there and {k}x{n} of rank {rank} here: fit sets for this artifact",
                    set.name, correction.inputs, correction.outputs, correction.rank
                )));
            }
            Some(_) => {}
        }
    }
    for op in ops_in(module.as_operation()) {
        if op_name(&op) != ops::ADAPTER {
            continue;
        }
        let Some(correction) = marks::layer(&op).and_then(|layer| set.layers.get(&layer)) else {
            continue;
        };
        let context = context_of(&op);
        let (k, r, n) = (
            correction.inputs as u64,
            correction.rank as u64,
            correction.outputs as u64,
        );
        // SAFETY: the module is not being walked or run while its attributes change.
        let mut adapter = unsafe { OperationRefMut::from_raw(op.to_raw()) };
        adapter.set_attribute("down", dense_f32(context, &[k, r], &correction.down));
        adapter.set_attribute("up", dense_f32(context, &[r, n], &correction.up));
        let affine = op
            .operand(1)
            .ok()
            .and_then(defining_op)
            .filter(|def| op_name(def) == ops::AFFINE)
            .ok_or_else(|| {
                DriverError::Run(format!(
                    "the adapter of layer '{}' does not read a cim.affine: recompile with --adapter-rank",
                    marks::layer(&op).unwrap_or_default()
                ))
            })?;
        let mut affine = unsafe { OperationRefMut::from_raw(affine.to_raw()) };
        affine.set_attribute("scale", dense_f32(context, &[n], &correction.scale));
        affine.set_attribute("offset", dense_f32(context, &[n], &correction.offset));
    }
    Ok(())
}

/// What the float model computes at every corrected layer, in program order.
pub struct Targets {
    /// Layers in the order the program first reads them.
    pub order: Vec<String>,
    /// Per layer, how often a run reads it (a recurrence: once per step).
    pub reads: HashMap<String, usize>,
    /// Per layer, the linear map it computes in the float model
    /// ([`adapters::float_map`]): the target of a chip's rows is this map of the
    /// chip's own input.
    pub maps: HashMap<String, Array2<f64>>,
    /// Per layer, its rows in the float model at each read: what the network
    /// needs there, against which a correction's reach is weighed.
    pub outputs: HashMap<String, Vec<Array2<f64>>>,
    /// The float model's results on the calibration inputs.
    pub network: Vec<ArrayD<f64>>,
}

/// A layer's rows at one read: its name, output and input.
type LayerRows = (String, Array2<f64>, Array2<f64>);

/// Records the input and the base every adapter reads.
#[derive(Default)]
struct Recorder {
    /// Per read: the layer, its output and its input.
    reads: RefCell<Vec<LayerRows>>,
}

impl AdapterHook for Recorder {
    fn at_adapter(
        &self,
        layer: &str,
        input: &ArrayD<f64>,
        base: &ArrayD<f64>,
    ) -> Option<Result<ArrayD<f64>, InterpError>> {
        match (adapters::rows(base), adapters::rows(input)) {
            (Ok(output), Ok(input)) => {
                self.reads
                    .borrow_mut()
                    .push((layer.to_owned(), output, input))
            }
            (Err(error), _) | (_, Err(error)) => return Some(Err(error)),
        }
        None
    }
}

/// The float maps of `artifact`'s corrected layers, from their rows on `inputs`
/// (its exact program, where the corrections are the identity).
pub fn float_maps(artifact: &Artifact, inputs: &[ArrayD<f64>]) -> Result<Targets, DriverError> {
    let mut exact = Prepared::new(artifact, Some(Fidelity::Exact), Digital::Float)?;
    let recorder = Recorder::default();
    let network = exact.run_hooked(inputs, &RunSettings::default(), Some(&recorder))?;
    let mut order = Vec::new();
    // Per layer, its inputs and its outputs at every read.
    let mut rows: HashMap<String, [Vec<Array2<f64>>; 2]> = HashMap::new();
    for (layer, output, input) in recorder.reads.into_inner() {
        if !rows.contains_key(&layer) {
            order.push(layer.clone());
        }
        let [inputs, outputs] = rows.entry(layer).or_default();
        inputs.push(input);
        outputs.push(output);
    }
    let mut targets = Targets {
        order,
        reads: HashMap::new(),
        maps: HashMap::new(),
        outputs: HashMap::new(),
        network,
    };
    for (layer, [inputs, outputs]) in rows {
        let map = adapters::stack(&inputs)
            .and_then(|inputs| {
                adapters::stack(&outputs)
                    .and_then(|outputs| adapters::float_map(inputs.view(), outputs.view()))
            })
            .map_err(|error| DriverError::Run(format!("layer '{layer}': {error}")))?;
        targets.reads.insert(layer.clone(), outputs.len());
        targets.maps.insert(layer.clone(), map);
        targets.outputs.insert(layer, outputs);
    }
    if targets.order.is_empty() {
        return Err(DriverError::Usage(
            "the artifact has no adapters to calibrate: compile with --adapter-rank R".into(),
        ));
    }
    Ok(targets)
}

/// Applies fitted corrections in a run (in f64, without touching the program).
pub struct Applying<'a>(pub &'a BTreeMap<String, Correction>);

impl AdapterHook for Applying<'_> {
    fn at_adapter(
        &self,
        layer: &str,
        input: &ArrayD<f64>,
        base: &ArrayD<f64>,
    ) -> Option<Result<ArrayD<f64>, InterpError>> {
        let correction = self.0.get(layer)?;
        Some(apply_rows(correction, input, base))
    }
}

fn apply_rows(
    correction: &Correction,
    input: &ArrayD<f64>,
    base: &ArrayD<f64>,
) -> Result<ArrayD<f64>, InterpError> {
    let (input, base) = (adapters::rows(input)?, adapters::rows(base)?);
    Ok(correction.apply(input.view(), base.view()).into_dyn())
}

/// A layer's rows from one use in one run.
struct Captured {
    input: Array2<f64>,
    chip_output: Array2<f64>,
    /// Which use of the layer in the run (a recurrent layer's step).
    use_index: usize,
    /// The chip's seed.
    chip: u64,
}

/// Half of a layer's rows from one use in one run, with the float model's.
struct Part {
    input: Array2<f64>,
    chip_output: Array2<f64>,
    target: Array2<f64>,
    /// The float model's rows of the layer (its output where the float model's
    /// earlier layers feed it).
    float_output: Array2<f64>,
    /// The chip's seed.
    chip: u64,
    /// Which half of the calibration inputs (0 or 1).
    half: usize,
}

/// Fitted corrections, and how well each fits.
pub struct Fit {
    /// By layer.
    pub layers: BTreeMap<String, Correction>,
    /// By layer (none for a set the network check rejected: it is not fitted on
    /// all the inputs).
    pub quality: BTreeMap<String, LayerFit>,
    /// The whole network's, on held-out calibration inputs (`None`: fewer than two).
    pub network: Option<NetworkFit>,
}

/// The state of one calibration while runs go by: which layers are fitted, and
/// the rows of the layer being captured.
struct Fitting<'t> {
    targets: &'t Targets,
    ranks: &'t BTreeMap<String, (usize, usize, usize)>,
    options: FitOptions,
    /// Whether one run is all the rows there are (one chip, one time): a layer
    /// read once is fitted as soon as its rows arrive.
    single_source: bool,
    fitted: RefCell<BTreeMap<String, Correction>>,
    quality: RefCell<BTreeMap<String, LayerFit>>,
    /// The rows of the layer being captured.
    captured: RefCell<Vec<Captured>>,
    /// The chip of the run going on.
    chip: RefCell<u64>,
    /// A fitted layer read more than once whose rows are captured again with its
    /// correction applied (a recurrent layer: its later steps then see corrected
    /// states, as they will).
    refitting: RefCell<Option<String>>,
    /// Uses of each layer seen in this run.
    uses: RefCell<HashMap<String, usize>>,
}

impl Fitting<'_> {
    /// The first layer in program order without a correction.
    fn frontier(&self) -> Option<String> {
        let fitted = self.fitted.borrow();
        self.targets
            .order
            .iter()
            .find(|layer| !fitted.contains_key(*layer))
            .cloned()
    }

    /// Fits `layer` from the captured rows, pooled over the chips they come from.
    /// The correction is then weighted by what rows held out of the fit say of it:
    /// fitted without one chip's rows (all chips' when there is one) and without
    /// one half of the inputs, and applied to that chip's half, a weight `w` of the
    /// way from the identity leaves a squared error to the float model's rows of
    /// the layer quadratic in `w`, least at some `w*`; the smallest `w*` over the
    /// held-out parts (in 0..=1) is kept, so the correction goes as far as it
    /// helps every held-out chip.
    /// So a chip's own error is not learnt as the technology's, the calibration
    /// inputs are not learnt by heart, and a correction that does not carry over
    /// to new chips and inputs is not applied. The fit aims at the float map of
    /// the chip's input, the weight at the float model's rows: a correction goes
    /// only as far as it brings the layer nearer what the network needs there
    /// (on a transformer, whose layers' float maps of a drifted input can lead
    /// away from the float rows, a full correction did worse than none).
    fn fit_captured(&self, layer: &str) -> Result<(), InterpError> {
        let captured = std::mem::take(&mut *self.captured.borrow_mut());
        let (reads, map) = (self.targets.reads[layer], &self.targets.maps[layer]);
        let mut parts = Vec::new();
        for Captured {
            input,
            chip_output,
            use_index,
            chip,
        } in captured
        {
            if use_index >= reads {
                return Err(InterpError::Digital(format!(
                    "layer '{layer}' is read more often on the chip than in the exact program"
                )));
            }
            // What the float layer makes of the chip's own input.
            let target = input.dot(map);
            let float_output = &self.targets.outputs[layer][use_index];
            if float_output.dim() != chip_output.dim() {
                return Err(InterpError::Digital(format!(
                    "layer '{layer}' gives {:?} rows on the chip and {:?} in the exact program",
                    chip_output.dim(),
                    float_output.dim()
                )));
            }
            // Rows follow the batch (then pixels or tokens): halves split inputs.
            let middle = input.nrows() / 2;
            for (half, range) in [(0, 0..middle), (1, middle..input.nrows())] {
                let slice = |a: &Array2<f64>| a.slice(ndarray::s![range.clone(), ..]).to_owned();
                parts.push(Part {
                    input: slice(&input),
                    chip_output: slice(&chip_output),
                    target: slice(&target),
                    float_output: slice(float_output),
                    chip,
                    half,
                });
            }
        }
        let rank = self.ranks.get(layer).map_or(self.options.rank, |s| s.1);
        let options = FitOptions {
            rank,
            ..self.options
        };
        // The rows `pick` names of the parts `keep` takes, stacked.
        let pooled = |keep: &dyn Fn(&Part) -> bool, pick: fn(&Part) -> &Array2<f64>| {
            adapters::stack(
                &parts
                    .iter()
                    .filter(|part| keep(part))
                    .map(|part| pick(part).clone())
                    .collect::<Vec<_>>(),
            )
        };
        // What a fit reads: (input, chip, target).
        let fit_rows = |keep: &dyn Fn(&Part) -> bool| -> Result<[Array2<f64>; 3], InterpError> {
            Ok([
                pooled(keep, |p| &p.input)?,
                pooled(keep, |p| &p.chip_output)?,
                pooled(keep, |p| &p.target)?,
            ])
        };
        let [x, c, t] = fit_rows(&|_| true)?;
        let correction = adapters::fit(x.view(), c.view(), t.view(), options)?;
        let mut chips: Vec<u64> = parts.iter().map(|part| part.chip).collect();
        chips.sort_unstable();
        chips.dedup();
        let mut weight: f64 = 1.0;
        for &held in &chips {
            for half in 0..2 {
                let trained =
                    |part: &Part| (chips.len() == 1 || part.chip != held) && part.half != half;
                let [x, c, t] = fit_rows(&trained)?;
                if x.nrows() == 0 {
                    continue;
                }
                let without = adapters::fit(x.view(), c.view(), t.view(), options)?;
                let held_out = |part: &Part| part.chip == held && part.half == half;
                let x = pooled(&held_out, |p| &p.input)?;
                let c = pooled(&held_out, |p| &p.chip_output)?;
                let float = pooled(&held_out, |p| &p.float_output)?;
                let moved = without.apply(x.view(), c.view());
                weight = weight.min(adapters::weight_towards(
                    c.view(),
                    moved.view(),
                    float.view(),
                ));
            }
        }
        let correction = correction.weighted(weight);
        let signal = t.iter().map(|v| v * v).sum::<f64>().max(f64::MIN_POSITIVE);
        let before = adapters::loss(c.view(), t.view()) / signal;
        let after = adapters::loss(correction.apply(x.view(), c.view()).view(), t.view()) / signal;
        self.quality.borrow_mut().insert(
            layer.to_owned(),
            LayerFit {
                before,
                after,
                weight,
            },
        );
        self.fitted
            .borrow_mut()
            .insert(layer.to_owned(), correction);
        Ok(())
    }
}

impl AdapterHook for Fitting<'_> {
    fn at_adapter(
        &self,
        layer: &str,
        input: &ArrayD<f64>,
        base: &ArrayD<f64>,
    ) -> Option<Result<ArrayD<f64>, InterpError>> {
        let use_index = {
            let mut uses = self.uses.borrow_mut();
            let count = uses.entry(layer.to_owned()).or_insert(0);
            *count += 1;
            *count - 1
        };
        let refitting = match self.refitting.borrow().as_deref() {
            // While one layer is captured again, the others are as they stand.
            Some(again) if again != layer => {
                let fitted = self.fitted.borrow();
                return fitted
                    .get(layer)
                    .map(|correction| apply_rows(correction, input, base));
            }
            again => again.is_some(),
        };
        if !refitting {
            if let Some(correction) = self.fitted.borrow().get(layer) {
                return Some(apply_rows(correction, input, base));
            }
            if self.frontier().as_deref() != Some(layer) {
                return None;
            }
        }
        let rows = adapters::rows(input).and_then(|x| Ok((x, adapters::rows(base)?)));
        match rows {
            Ok((x, c)) => {
                let chip = *self.chip.borrow();
                self.captured.borrow_mut().push(Captured {
                    input: x,
                    chip_output: c,
                    use_index,
                    chip,
                });
            }
            Err(error) => return Some(Err(error)),
        }
        if refitting {
            let fitted = self.fitted.borrow();
            return Some(apply_rows(&fitted[layer], input, base));
        }
        let read_once = self.targets.reads.get(layer) == Some(&1);
        if self.single_source && read_once {
            if let Err(error) = self.fit_captured(layer) {
                return Some(Err(error));
            }
            let fitted = self.fitted.borrow();
            return Some(apply_rows(&fitted[layer], input, base));
        }
        None
    }
}

/// What a calibration of an artifact reads, whatever the chip: the calibration
/// inputs and the float model's layers on them ([`float_maps`]), the same of each
/// half of the inputs (for [`held_out_check`]), the rank of each corrected layer
/// ([`corrected_layers`]), and the fit's options.
pub struct FitInputs<'a> {
    inputs: &'a [ArrayD<f64>],
    targets: Targets,
    halves: Option<[(Vec<ArrayD<f64>>, Targets); 2]>,
    ranks: BTreeMap<String, (usize, usize, usize)>,
    options: FitOptions,
}

impl<'a> FitInputs<'a> {
    /// Runs `artifact`'s float model on `inputs` and on each half of them.
    pub fn new(
        artifact: &Artifact,
        inputs: &'a [ArrayD<f64>],
        options: FitOptions,
    ) -> Result<Self, DriverError> {
        let targets = float_maps(artifact, inputs)?;
        let halves = match halves(inputs, &batch_axes(artifact)?) {
            Some([first, rest]) => {
                let first_targets = float_maps(artifact, &first)?;
                let rest_targets = float_maps(artifact, &rest)?;
                Some([(first, first_targets), (rest, rest_targets)])
            }
            None => None,
        };
        Ok(Self {
            inputs,
            targets,
            halves,
            ranks: corrected_layers(artifact.mapped()?),
            options,
        })
    }
}

/// Fits corrections of every corrected layer of `prepared` (an artifact's mapped
/// program at full fidelity) on the calibration inputs, from the chips and times
/// of `sources` (one source is a per-chip fit, several are pooled), and checks
/// them on the network's results ([`NetworkFit`]): a set that does not bring the
/// results nearer float on held-out calibration inputs is the identity.
pub fn fit(
    prepared: &mut Prepared,
    given: &FitInputs,
    sources: &[RunSettings],
) -> Result<Fit, DriverError> {
    let network = held_out_check(prepared, given, sources)?;
    if network.is_some_and(|network| !network.kept) {
        // Not used: the identity, without a fit on all the inputs.
        let layers = given
            .ranks
            .iter()
            .map(|(layer, &(k, rank, n))| (layer.clone(), Correction::identity(k, n, rank)))
            .collect();
        return Ok(Fit {
            layers,
            quality: BTreeMap::new(),
            network,
        });
    }
    let (layers, quality) = fit_layers(prepared, given, given.inputs, &given.targets, sources)?;
    Ok(Fit {
        layers,
        quality,
        network,
    })
}

/// Corrections by layer, and how well each fits.
type LayerFits = (BTreeMap<String, Correction>, BTreeMap<String, LayerFit>);

/// [`fit`]'s corrections of `inputs` (with `targets`, their [`float_maps`]), and how
/// well each fits, before any check of the network.
fn fit_layers(
    prepared: &mut Prepared,
    given: &FitInputs,
    inputs: &[ArrayD<f64>],
    targets: &Targets,
    sources: &[RunSettings],
) -> Result<LayerFits, DriverError> {
    let (ranks, options) = (&given.ranks, given.options);
    let fitting = Fitting {
        targets,
        ranks,
        options,
        single_source: sources.len() == 1,
        fitted: Default::default(),
        quality: Default::default(),
        captured: Default::default(),
        chip: Default::default(),
        refitting: Default::default(),
        uses: Default::default(),
    };
    while let Some(frontier) = fitting.frontier() {
        for source in sources {
            fitting.uses.borrow_mut().clear();
            *fitting.chip.borrow_mut() = source.seed;
            prepared.run_hooked(inputs, source, Some(&fitting))?;
        }
        if fitting.fitted.borrow().contains_key(&frontier) {
            continue;
        }
        if fitting.captured.borrow().is_empty() {
            return Err(DriverError::Run(format!(
                "layer '{frontier}' was never read on the chip: is this the artifact's own program?"
            )));
        }
        let fit_frontier = |fitting: &Fitting| {
            fitting.fit_captured(&frontier).map_err(|error| {
                DriverError::Run(format!("calibrating layer '{frontier}': {error}"))
            })
        };
        fit_frontier(&fitting)?;
        // A layer read more than once (a recurrence) was captured uncorrected at
        // every step; once more with its correction, its steps see the states
        // they will see.
        if targets.reads.get(&frontier).is_some_and(|&reads| reads > 1) {
            *fitting.refitting.borrow_mut() = Some(frontier.clone());
            for source in sources {
                fitting.uses.borrow_mut().clear();
                *fitting.chip.borrow_mut() = source.seed;
                prepared.run_hooked(inputs, source, Some(&fitting))?;
            }
            *fitting.refitting.borrow_mut() = None;
            fit_frontier(&fitting)?;
        }
    }
    Ok((fitting.fitted.into_inner(), fitting.quality.into_inner()))
}

/// Each entry-function argument's batch axis: its first dynamic dimension (a
/// recurrent network's inputs are time-major: `tensor<8x?x8xf32>`), else the first.
fn batch_axes(artifact: &Artifact) -> Result<Vec<usize>, DriverError> {
    let shapes = crate::artifact::entry_argument_shapes(artifact.mapped()?).unwrap_or_default();
    Ok(shapes
        .iter()
        .map(|shape| {
            shape
                .as_ref()
                .and_then(|shape| shape.dims.iter().position(Option::is_none))
                .unwrap_or(0)
        })
        .collect())
}

/// The calibration inputs cut in two along their batch axes (`axes`, one per
/// input): the first half and the rest; `None` with fewer than two in the batch.
fn halves(inputs: &[ArrayD<f64>], axes: &[usize]) -> Option<[Vec<ArrayD<f64>>; 2]> {
    let axis = |index: usize| ndarray::Axis(axes.get(index).copied().unwrap_or(0));
    let batch = inputs.first()?.shape().get(axis(0).index()).copied()?;
    let same_batch = inputs
        .iter()
        .enumerate()
        .all(|(index, x)| x.shape().get(axis(index).index()) == Some(&batch));
    if batch < 2 || !same_batch {
        return None;
    }
    let cut = |range: std::ops::Range<usize>| -> Vec<ArrayD<f64>> {
        inputs
            .iter()
            .enumerate()
            .map(|(index, x)| x.slice_axis(axis(index), range.clone().into()).to_owned())
            .collect()
    };
    Some([cut(0..batch / 2), cut(batch / 2..batch)])
}

/// The cosine distances (1 - cosine similarity) of `result`'s rows to `float`'s
/// (a row: the values along the last axis, a logit vector or a token's
/// embedding), summed, and how many rows. A row of zeros is at distance 1 from
/// any other (0 from another of zeros).
fn cosine_distances(result: &ArrayD<f64>, float: &ArrayD<f64>) -> (f64, usize) {
    let width = result.shape().last().copied().unwrap_or(1).max(1);
    let (result, float) = (result.as_standard_layout(), float.as_standard_layout());
    let (Some(result), Some(float)) = (result.as_slice(), float.as_slice()) else {
        return (0.0, 0);
    };
    let mut sum = 0.0;
    let mut rows = 0;
    for (y, f) in result.chunks(width).zip(float.chunks(width)) {
        let dot: f64 = y.iter().zip(f).map(|(a, b)| a * b).sum();
        let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
        let (ny, nf) = (norm(y), norm(f));
        sum += if ny == 0.0 && nf == 0.0 {
            0.0
        } else if ny * nf > 0.0 {
            1.0 - dot / (ny * nf)
        } else {
            1.0
        };
        rows += 1;
    }
    (sum, rows)
}

/// [`NetworkFit`] on held-out calibration inputs, both ways: corrections fitted on
/// one half of the inputs, the network's results on the other half against the
/// float model's, uncorrected and corrected, on every source. `None` with fewer
/// than two calibration inputs (nothing to hold out).
///
/// Cost: a fit on each half (together, about one fit on all the inputs) and two
/// runs of each half per source.
fn held_out_check(
    prepared: &mut Prepared,
    given: &FitInputs,
    sources: &[RunSettings],
) -> Result<Option<NetworkFit>, DriverError> {
    let Some(halves) = &given.halves else {
        return Ok(None);
    };
    // Summed cosine distances of the results' rows, and how many rows.
    let distance = |results: &[ArrayD<f64>], float: &[ArrayD<f64>]| -> (f64, usize) {
        results
            .iter()
            .zip(float)
            .map(|(result, float)| cosine_distances(result, float))
            .fold((0.0, 0), |(sum, rows), (s, r)| (sum + s, rows + r))
    };
    let (mut before, mut after, mut rows) = (0.0, 0.0, 0usize);
    for (fitted_on, held) in [(0, 1), (1, 0)] {
        let (inputs, targets) = &halves[fitted_on];
        let (layers, _) =
            fit_layers(prepared, given, inputs, targets, sources).map_err(|error| {
                DriverError::Run(format!(
                    "checking the corrections on held-out calibration inputs: {error}"
                ))
            })?;
        let (inputs, float) = (&halves[held].0, &halves[held].1.network);
        for source in sources {
            let (uncorrected, count) = distance(&prepared.run(inputs, source)?, float);
            let (corrected, _) = distance(
                &prepared.run_hooked(inputs, source, Some(&Applying(&layers)))?,
                float,
            );
            (before, after, rows) = (before + uncorrected, after + corrected, rows + count);
        }
    }
    let (before, after) = (before / rows.max(1) as f64, after / rows.max(1) as f64);
    Ok(Some(NetworkFit {
        before,
        after,
        kept: after < before,
    }))
}

/// What `cimc calibrate` fits.
pub struct Calibration<'a> {
    /// The calibration inputs.
    pub inputs: &'a [ArrayD<f64>],
    /// Their file, for the record.
    pub data: String,
    /// The chips (seeds) whose rows are used: one for a per-chip set.
    pub chips: Vec<u64>,
    /// Seconds since programming at which the chips are read.
    pub drift_times: Vec<f64>,
    /// The fit.
    pub options: FitOptions,
    /// The set's name.
    pub name: String,
    /// Converter resolutions changed from the artifact's (already applied to it).
    pub periphery: Periphery,
}

/// Fits an adapter set of `artifact` as `calibration` says (its mapped program at
/// full fidelity on the target's chips).
pub fn calibrate(
    artifact: &Artifact,
    calibration: &Calibration,
) -> Result<AdapterSet, DriverError> {
    if calibration.chips.is_empty() || calibration.drift_times.is_empty() {
        return Err(DriverError::Usage(
            "calibrate on at least one chip and one drift time".into(),
        ));
    }
    if let Some(time) = calibration
        .drift_times
        .iter()
        .find(|t| !(t.is_finite() && **t >= 0.0))
    {
        return Err(DriverError::Usage(format!(
            "--drift-time {time}: give the seconds since programming, >= 0"
        )));
    }
    let given = FitInputs::new(artifact, calibration.inputs, calibration.options)?;
    let mut prepared = Prepared::new(artifact, Some(Fidelity::Full), Digital::Float)?;
    let sources: Vec<RunSettings> = calibration
        .chips
        .iter()
        .flat_map(|&seed| {
            calibration
                .drift_times
                .iter()
                .map(move |&drift_time| RunSettings {
                    drift_time,
                    seed,
                    digital: Digital::Float,
                })
        })
        .collect();
    let Fit {
        layers,
        quality,
        network,
    } = fit(&mut prepared, &given, &sources)?;
    Ok(AdapterSet {
        schema: SET_SCHEMA,
        name: calibration.name.clone(),
        sequence: 0,
        fitted: Fitted {
            mode: if sources.len() == 1 {
                "per-chip".into()
            } else {
                "across-chips".into()
            },
            chips: calibration.chips.clone(),
            drift_times: calibration.drift_times.clone(),
            data: calibration.data.clone(),
            shape: calibration
                .inputs
                .first()
                .map_or_else(Vec::new, |x| x.shape().to_vec()),
            ridge: calibration.options.ridge,
            rounds: calibration.options.rounds,
            periphery: calibration.periphery,
        },
        layers,
        quality,
        network,
    })
}

/// The first seed of the chips an across-chips set is fitted on: far from the
/// seeds `cimc eval` measures (0, 1, 2, ... by default), so a set is never
/// measured on a chip it saw.
pub const CALIBRATION_SEEDS: u64 = 1 << 32;
