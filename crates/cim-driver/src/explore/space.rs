//! A design space (`SPACE.toml`): the target to start from, the choices (any key of
//! the target file, any compile option) as lists or ranges, the constraints, the
//! objectives, and how points are evaluated. Its points are the cartesian product
//! of the choices, in a fixed order, so a point's index names it everywhere (task
//! lists, result files).
//!
//! ```toml
//! base_target = "pcm"                             # the preset or file points change
//! objectives = ["accuracy", "energy_nj", "area_mm2"]
//!
//! [target.array]
//! rows = { from = 64, to = 512, times = 2 }       # 64, 128, 256, 512
//! cols = { from = 64, to = 512, times = 2 }
//! [target.adc]
//! bits = { from = 4, to = 10 }                    # step 1
//! [compile]
//! objective = ["area", "energy"]
//!
//! [constraints]
//! area_mm2 = { max = 5.0 }
//! accuracy = { min = 0.8 }
//!
//! [evaluate]
//! chips = 4
//! drift_times = [86400]
//!
//! [search]                                        # default: every point
//! method = "evolutionary"
//! budget = 96                                     # points measured on chips
//! population = 16
//! screen = 3                                      # candidates estimated per point measured
//! seed = 1
//! ```
//!
//! A choice's value is always a list of the values to try (a key whose values are
//! lists, such as `dac.input_range`, takes a list of lists) or a range table.
//! Keys that only make sense together are one linked choice, each value a table
//! of the keys it sets:
//!
//! ```toml
//! [linked]
//! cells = [
//!     { "target.array.devices" = "pair", "compile.encoding" = "pair" },
//!     { "target.array.devices" = "single", "compile.encoding" = "differential" },
//!     { "target.array.devices" = "single", "compile.encoding" = "offset" },
//! ]
//! ```

use crate::{DriverError, pipeline::CompileOptions};
use cim_sim::Digital;
use cim_target::Target;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a point is measured by: `accuracy` is maximised, the others minimised.
pub const METRICS: &[&str] = &[
    "accuracy",
    "energy_nj",
    "latency_ns",
    "interval_ns",
    "area_mm2",
    "arrays",
    "adc_conversions",
];

/// The most points a space may have: each is a compilation and a simulation.
pub const MAX_POINTS: usize = 1 << 20;

/// A bound on one metric.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Bound {
    /// Smallest allowed.
    #[serde(default)]
    pub min: Option<f64>,
    /// Largest allowed.
    #[serde(default)]
    pub max: Option<f64>,
}

impl Bound {
    /// Whether `value` is within the bound.
    pub fn admits(&self, value: f64) -> bool {
        self.min.is_none_or(|min| value >= min) && self.max.is_none_or(|max| value <= max)
    }
}

/// How each point is evaluated.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EvaluateSpec {
    /// Chips programmed per point at full fidelity (seeds `seed`, `seed + 1`, ...).
    #[serde(default = "four")]
    pub chips: u64,
    /// Seconds after programming at which the chips are measured; a point's
    /// accuracy is its worst mean over these times.
    #[serde(default = "a_day")]
    pub drift_times: Vec<f64>,
    /// Seed of the first chip.
    #[serde(default = "one")]
    pub seed: u64,
    /// Where the digital work runs.
    #[serde(default)]
    pub digital: Digital,
    /// Full fidelity is skipped for a point another point already beats in every
    /// cost with a full-fidelity accuracy at least this much above the point's
    /// quantized accuracy (its noiseless upper estimate); negative: never skipped.
    #[serde(default = "two_percent")]
    pub prune_margin: f64,
}

fn four() -> u64 {
    4
}
fn a_day() -> Vec<f64> {
    vec![86400.0]
}
fn one() -> u64 {
    1
}
fn two_percent() -> f64 {
    0.02
}

impl Default for EvaluateSpec {
    fn default() -> Self {
        Self {
            chips: four(),
            drift_times: a_day(),
            seed: one(),
            digital: Digital::default(),
            prune_margin: two_percent(),
        }
    }
}

/// How the points to evaluate are chosen.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Every point.
    #[default]
    Exhaustive,
    /// A seeded multi-objective evolutionary search ([`super::search`]) with a
    /// budget of points.
    Evolutionary,
}

/// The `[search]` table.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SearchSpec {
    /// Every point, or an evolutionary search.
    #[serde(default)]
    pub method: Method,
    /// The evolutionary search measures at most this many points on chips.
    #[serde(default = "sixty_four")]
    pub budget: usize,
    /// Its population: the points kept from one generation to the next, and the
    /// most new points a generation evaluates.
    #[serde(default = "sixteen")]
    pub population: usize,
    /// Its seed (the chips' seeds are `evaluate.seed`).
    #[serde(default = "one")]
    pub seed: u64,
    /// Candidates estimated (compiled, quantized fidelity) per point measured on
    /// chips: the best by their estimates are measured.
    #[serde(default = "three")]
    pub screen: usize,
}

fn three() -> usize {
    3
}
fn sixty_four() -> usize {
    64
}
fn sixteen() -> usize {
    16
}

impl Default for SearchSpec {
    fn default() -> Self {
        Self {
            method: Method::default(),
            budget: sixty_four(),
            population: sixteen(),
            seed: one(),
            screen: three(),
        }
    }
}

/// A design space, as read from its file.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Space {
    /// The target (preset name or file) the points change.
    pub target: String,
    /// The base target's TOML text.
    pub target_text: String,
    /// Each choice: its key (`target.adc.bits`, `compile.objective`) and the
    /// values it takes, in the file's order.
    pub choices: Vec<(String, Vec<toml::Value>)>,
    /// The objectives of the Pareto front.
    pub objectives: Vec<String>,
    /// Bounds on metrics.
    pub constraints: BTreeMap<String, Bound>,
    /// How points are evaluated.
    pub evaluate: EvaluateSpec,
    /// Which points are evaluated.
    pub search: SearchSpec,
}

/// One point: a value for each choice, keyed as in [`Space::choices`].
pub type Point = BTreeMap<String, toml::Value>;

fn invalid(file: &str, key: &str, message: impl std::fmt::Display) -> DriverError {
    DriverError::Usage(format!("{file}: {key}: {message}"))
}

impl Space {
    /// Reads a space file.
    pub fn read(path: &std::path::Path) -> Result<Self, DriverError> {
        let text = std::fs::read_to_string(path).map_err(|error| DriverError::File {
            path: path.display().to_string(),
            message: error.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses a space; `file` names it in errors (relative target files are
    /// found from `dir`).
    pub fn parse(text: &str, file: &str) -> Result<Self, DriverError> {
        let mut table: toml::Table = text
            .parse()
            .map_err(|error: toml::de::Error| invalid(file, "(syntax)", error.message()))?;
        let target = match table.remove("base_target") {
            None => "ideal".to_owned(),
            Some(toml::Value::String(name)) => name,
            Some(other) => {
                return Err(invalid(
                    file,
                    "base_target",
                    format!("{other} is not a preset name or target file"),
                ));
            }
        };
        let (target_text, _) = Target::source(&target)
            .map_err(|error| invalid(file, "base_target", error.to_string()))?;
        let mut choices = Vec::new();
        for section in ["target", "compile"] {
            match table.remove(section) {
                None => {}
                Some(toml::Value::Table(values)) => {
                    flatten(file, section, values, &mut choices)?;
                }
                Some(other) => {
                    return Err(invalid(
                        file,
                        section,
                        format!("{other}: give a table of choices ([{section}])"),
                    ));
                }
            }
        }
        match table.remove("linked") {
            None => {}
            Some(toml::Value::Table(linked)) => {
                for (name, values) in linked {
                    let (key, list) = linked_choice(file, &name, values)?;
                    // A key set by a linked choice and by another choice would
                    // have two values.
                    let twice = list
                        .iter()
                        .filter_map(toml::Value::as_table)
                        .flat_map(|keys| keys.keys())
                        .find(|setting| {
                            choices.iter().any(|(other, values)| {
                                *other == **setting
                                    || (other.starts_with("linked.")
                                        && values
                                            .iter()
                                            .filter_map(toml::Value::as_table)
                                            .any(|keys| keys.contains_key(setting.as_str())))
                            })
                        });
                    if let Some(setting) = twice {
                        return Err(invalid(
                            file,
                            &format!("{key}.{setting}"),
                            "also set by another choice: give each key in one choice",
                        ));
                    }
                    choices.push((key, list));
                }
            }
            Some(other) => {
                return Err(invalid(
                    file,
                    "linked",
                    format!("{other}: give a table of linked choices ([linked])"),
                ));
            }
        }
        let objectives: Vec<String> = match table.remove("objectives") {
            None => vec![
                "accuracy".into(),
                "energy_nj".into(),
                "latency_ns".into(),
                "area_mm2".into(),
            ],
            Some(value) => value
                .try_into()
                .map_err(|error: toml::de::Error| invalid(file, "objectives", error.message()))?,
        };
        for objective in &objectives {
            if !METRICS.contains(&objective.as_str()) {
                return Err(invalid(
                    file,
                    "objectives",
                    format!("'{objective}' is not a metric: {}", METRICS.join(", ")),
                ));
            }
        }
        if objectives.is_empty() {
            return Err(invalid(file, "objectives", "name at least one metric"));
        }
        let constraints: BTreeMap<String, Bound> = section(&mut table, file, "constraints")?;
        for (metric, bound) in &constraints {
            if !METRICS.contains(&metric.as_str()) {
                return Err(invalid(
                    file,
                    &format!("constraints.{metric}"),
                    format!("not a metric: {}", METRICS.join(", ")),
                ));
            }
            if [bound.min, bound.max]
                .iter()
                .flatten()
                .any(|v| !v.is_finite())
            {
                return Err(invalid(
                    file,
                    &format!("constraints.{metric}"),
                    "bounds must be finite numbers",
                ));
            }
        }
        let evaluate: EvaluateSpec = section(&mut table, file, "evaluate")?;
        if evaluate.chips == 0 {
            return Err(invalid(file, "evaluate.chips", "give at least one chip"));
        }
        if evaluate.drift_times.is_empty()
            || evaluate
                .drift_times
                .iter()
                .any(|t| !(t.is_finite() && *t > 0.0))
        {
            return Err(invalid(
                file,
                "evaluate.drift_times",
                "give one or more times in seconds, each finite and > 0",
            ));
        }
        if !evaluate.prune_margin.is_finite() {
            return Err(invalid(
                file,
                "evaluate.prune_margin",
                "give a finite number",
            ));
        }
        let search: SearchSpec = section(&mut table, file, "search")?;
        if search.population < 2 {
            return Err(invalid(
                file,
                "search.population",
                "give at least 2 (parents are drawn in pairs)",
            ));
        }
        if search.screen == 0 {
            return Err(invalid(
                file,
                "search.screen",
                "give at least 1 (1: measure every candidate)",
            ));
        }
        if let Some(key) = table.keys().next() {
            return Err(invalid(
                file,
                key,
                "unknown key: a space has base_target, objectives, [target], [compile], [linked], [constraints], [evaluate], [search]",
            ));
        }
        let space = Self {
            target,
            target_text,
            choices,
            objectives,
            constraints,
            evaluate,
            search,
        };
        let size = space.size();
        if size > MAX_POINTS {
            return Err(invalid(
                file,
                "(choices)",
                format!("{size} points: at most {MAX_POINTS} (narrow the ranges)"),
            ));
        }
        Ok(space)
    }

    /// How many points the space has.
    pub fn size(&self) -> usize {
        self.choices
            .iter()
            .map(|(_, values)| values.len())
            .fold(1usize, |n, k| n.saturating_mul(k))
    }

    /// How many values each choice has, in the order of [`Space::choices`].
    pub fn radices(&self) -> Vec<usize> {
        self.choices
            .iter()
            .map(|(_, values)| values.len())
            .collect()
    }

    /// The point of index `index` (the last choice varies fastest).
    pub fn point(&self, mut index: usize) -> Point {
        let mut point = Point::new();
        for (key, values) in self.choices.iter().rev() {
            point.insert(key.clone(), values[index % values.len()].clone());
            index /= values.len();
        }
        point
    }

    /// The target and compile options of `point`, with the target's TOML text
    /// (written beside the results, so that every point can be compiled again).
    pub fn configure(&self, point: &Point) -> Result<(String, CompileOptions), String> {
        let mut target: toml::Table = self
            .target_text
            .parse()
            .map_err(|error: toml::de::Error| error.message().to_owned())?;
        let mut options =
            serde_json::to_value(CompileOptions::default()).map_err(|error| error.to_string())?;
        // A linked choice's value sets several keys at once.
        let settings = point.iter().flat_map(|(key, value)| match value {
            toml::Value::Table(keys) if key.starts_with("linked.") => keys.iter().collect(),
            _ => vec![(key, value)],
        });
        for (key, value) in settings {
            if let Some(path) = key.strip_prefix("target.") {
                set(&mut target, path, value.clone());
            } else if let Some(option) = key.strip_prefix("compile.") {
                let value = serde_json::to_value(value).map_err(|error| error.to_string())?;
                options[option] = value;
            }
        }
        let text = toml::to_string(&target).map_err(|error| error.to_string())?;
        // Checked here as the compiler will read it, naming the key that is wrong.
        Target::parse(&text, "the point's target").map_err(|error| error.to_string())?;
        let options: CompileOptions =
            serde_json::from_value(options).map_err(|error| format!("compile options: {error}"))?;
        Ok((text, options))
    }
}

/// Table `key` of a space (its default when absent), removed from `table`.
fn section<T: Default + serde::de::DeserializeOwned>(
    table: &mut toml::Table,
    file: &str,
    key: &str,
) -> Result<T, DriverError> {
    match table.remove(key) {
        None => Ok(T::default()),
        Some(value) => value
            .try_into()
            .map_err(|error: toml::de::Error| invalid(file, key, error.message())),
    }
}

/// The compile options a space may choose (`target` is the point's own).
const COMPILE_KEYS: &[&str] = &[
    "encoding",
    "weight_bits",
    "input_bits",
    "mapper",
    "objective",
    "duplicate_arrays",
    "placement",
    "error_time",
    "calibration_percentile",
    "adapter_rank",
    "adapter_layers",
];

/// Collects the choices of `values` (a table of keys under `prefix`): a list is
/// the values to try, a range table (`from`, `to`, and `step` or `times`) expands
/// to them, any other table nests keys.
fn flatten(
    file: &str,
    prefix: &str,
    values: toml::Table,
    choices: &mut Vec<(String, Vec<toml::Value>)>,
) -> Result<(), DriverError> {
    for (name, value) in values {
        let key = format!("{prefix}.{name}");
        if prefix == "compile" && !COMPILE_KEYS.contains(&name.as_str()) {
            return Err(invalid(
                file,
                &key,
                format!("not a compile option: {}", COMPILE_KEYS.join(", ")),
            ));
        }
        let list = match value {
            toml::Value::Array(list) => list,
            toml::Value::Table(table) if table.contains_key("from") => range(file, &key, &table)?,
            toml::Value::Table(table) if prefix != "compile" => {
                flatten(file, &key, table, choices)?;
                continue;
            }
            other => {
                return Err(invalid(
                    file,
                    &key,
                    format!(
                        "{other}: give the values to try as a list ([{other}] for one) or a range {{ from, to, step or times }}"
                    ),
                ));
            }
        };
        if list.is_empty() {
            return Err(invalid(
                file,
                &key,
                "an empty list: give at least one value",
            ));
        }
        if let Some(value) = list.iter().find(|value| !finite(value)) {
            return Err(invalid(
                file,
                &key,
                format!("{value}: numbers must be finite (no nan or inf)"),
            ));
        }
        choices.push((key, list));
    }
    Ok(())
}

/// A linked choice `linked.NAME`: a list of tables, each setting several keys
/// (`"target.array.devices"`, `"compile.encoding"`) together.
fn linked_choice(
    file: &str,
    name: &str,
    values: toml::Value,
) -> Result<(String, Vec<toml::Value>), DriverError> {
    let key = format!("linked.{name}");
    let toml::Value::Array(list) = values else {
        return Err(invalid(
            file,
            &key,
            format!(
                "{values}: give a list of tables of keys set together ([{{ \"target.array.devices\" = \"single\", \"compile.encoding\" = \"offset\" }}, ...])"
            ),
        ));
    };
    if list.is_empty() {
        return Err(invalid(
            file,
            &key,
            "an empty list: give at least one value",
        ));
    }
    for value in &list {
        let toml::Value::Table(keys) = value else {
            return Err(invalid(
                file,
                &key,
                format!("{value}: each value is a table of keys set together"),
            ));
        };
        for (setting, setting_value) in keys {
            let known = setting
                .strip_prefix("target.")
                .is_some_and(|k| !k.is_empty())
                || setting
                    .strip_prefix("compile.")
                    .is_some_and(|k| COMPILE_KEYS.contains(&k));
            if !known {
                return Err(invalid(
                    file,
                    &format!("{key}.{setting}"),
                    format!(
                        "not a target key (target.SECTION.KEY) or compile option (compile.{})",
                        COMPILE_KEYS.join(", compile.")
                    ),
                ));
            }
            if !finite(setting_value) {
                return Err(invalid(
                    file,
                    &format!("{key}.{setting}"),
                    format!("{setting_value}: numbers must be finite (no nan or inf)"),
                ));
            }
        }
    }
    Ok((key, list))
}

/// Whether every number in `value` is finite.
fn finite(value: &toml::Value) -> bool {
    match value {
        toml::Value::Float(f) => f.is_finite(),
        toml::Value::Array(values) => values.iter().all(finite),
        toml::Value::Table(table) => table.values().all(finite),
        _ => true,
    }
}

/// The values of a range table: `from` to `to` inclusive, by adding `step`
/// (default 1) or multiplying by `times`; whole numbers stay integers.
fn range(file: &str, key: &str, table: &toml::Table) -> Result<Vec<toml::Value>, DriverError> {
    let number = |name: &str| -> Result<Option<f64>, DriverError> {
        match table.get(name) {
            None => Ok(None),
            Some(toml::Value::Integer(i)) => Ok(Some(*i as f64)),
            Some(toml::Value::Float(f)) if f.is_finite() => Ok(Some(*f)),
            Some(other) => Err(invalid(
                file,
                &format!("{key}.{name}"),
                format!("{other} is not a finite number"),
            )),
        }
    };
    if let Some(extra) = table
        .keys()
        .find(|k| !["from", "to", "step", "times"].contains(&k.as_str()))
    {
        return Err(invalid(
            file,
            &format!("{key}.{extra}"),
            "a range has from, to, and step or times",
        ));
    }
    let integers = table
        .values()
        .all(|value| matches!(value, toml::Value::Integer(_)));
    let (Some(from), Some(to)) = (number("from")?, number("to")?) else {
        return Err(invalid(file, key, "a range needs from and to"));
    };
    let (step, times) = (number("step")?, number("times")?);
    let next: Box<dyn Fn(f64) -> f64> = match (step, times) {
        (Some(_), Some(_)) => {
            return Err(invalid(file, key, "give step or times, not both"));
        }
        (None, Some(times)) if times > 1.0 && from > 0.0 => Box::new(move |v| v * times),
        (None, Some(_)) => {
            return Err(invalid(file, key, "times must be > 1, from > 0"));
        }
        (step, None) => {
            let step = step.unwrap_or(1.0);
            if step <= 0.0 {
                return Err(invalid(file, key, "step must be > 0"));
            }
            Box::new(move |v| v + step)
        }
    };
    let mut values = Vec::new();
    let mut v = from;
    // A relative tolerance keeps `to` when float steps land a hair beyond it.
    while v <= to + 1e-9 * to.abs().max(1.0) {
        values.push(if integers {
            toml::Value::Integer(v.round() as i64)
        } else {
            toml::Value::Float(v)
        });
        if values.len() > MAX_POINTS {
            return Err(invalid(file, key, "too many values"));
        }
        v = next(v);
    }
    if values.is_empty() {
        return Err(invalid(file, key, "from is above to: the range is empty"));
    }
    Ok(values)
}

/// Sets the dotted `path` of `table` to `value`, making tables on the way.
fn set(table: &mut toml::Table, path: &str, value: toml::Value) {
    match path.split_once('.') {
        None => {
            table.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let inner = table
                .entry(head.to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !inner.is_table() {
                *inner = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(inner) = inner {
                set(inner, rest, value);
            }
        }
    }
}
