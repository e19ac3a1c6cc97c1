//! The artifact `cimc compile` writes and everything else reads: a directory with
//! `manifest.json` (what was compiled, how, for which target), the float model,
//! the exact and the mapped programs as MLIR, and the crossbar program
//! (`program/`, [`cim_sim::program`]). [`compile`] is the whole recipe.

use crate::{
    DriverError,
    pipeline::{self, CompileOptions},
    report::{self, Report},
    run::read_inputs,
};
use cim_ir::{
    CimContext,
    query::{TensorShape, op_name, string_attribute},
};
use cim_target::Target;
use melior::ir::{BlockLike, Module, OperationRef, RegionLike, operation::OperationLike};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// `manifest.json` of an artifact.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Artifact format version.
    pub format: u32,
    /// The cim version that wrote it.
    pub cim_version: String,
    /// The model file compiled.
    pub model: String,
    /// The function that runs.
    pub function: String,
    /// The target's name.
    pub target_name: String,
    /// How it was compiled.
    pub options: CompileOptions,
    /// Whether converter ranges were calibrated on data (else as the target says).
    pub calibrated: bool,
    /// The converters and where their ranges come from, for people.
    #[serde(default)]
    pub converters: String,
}

/// The current artifact format.
pub const ARTIFACT_FORMAT: u32 = 1;

/// The first public function of a module (the entry point).
pub fn entry_op<'c, 'a>(module: &'a Module<'c>) -> Option<OperationRef<'c, 'a>> {
    cim_ir::mapped::top_level(module.as_operation())
        .find(|op| op_name(op) == "func.func" && string_attribute(op, "sym_visibility").is_none())
}

/// The shapes of the arguments of a module's entry function ([`entry_op`]), in
/// order (`None` for one that is not a ranked tensor); `None` when the module has
/// no entry function with a body.
pub fn entry_argument_shapes<'c>(module: &Module<'c>) -> Option<Vec<Option<TensorShape<'c>>>> {
    let func = entry_op(module)?;
    let block = func.region(0).ok()?.first_block()?;
    Some(
        (0..block.argument_count())
            .map(|index| {
                let argument = block.argument(index).ok()?;
                TensorShape::of_value(argument.into())
            })
            .collect(),
    )
}

/// The name of a module's entry function.
pub fn entry_function(module: &Module) -> Option<String> {
    entry_op(module).and_then(|op| string_attribute(&op, "sym_name"))
}

/// The programs of an artifact, as MLIR text.
pub struct Programs {
    /// The model before mapping: the digital float reference.
    pub float: String,
    /// Mapped with analog (unquantized) cells: what ideal devices compute.
    pub exact: String,
    /// Mapped, bit-sliced and with its converters: what is programmed.
    pub mapped: String,
}

/// The text of `module` with its locations, so that the layer every op was written
/// for (a named location, see [`crate::report`]) survives into the artifact.
pub fn print_with_locations(module: &Module) -> String {
    let flags = melior::ir::operation::OperationPrintingFlags::new().enable_debug_info(true, false);
    module
        .as_operation()
        .to_string_with_flags(flags)
        .unwrap_or_else(|_| module.as_operation().to_string())
}

/// The directory of an artifact that holds its adapter sets
/// ([`crate::calibrate`]).
pub const ADAPTERS_DIR: &str = "adapters";

/// Writes an artifact directory; returns how many adapter sets it removed. Sets
/// are fitted to one program, so those of a program the directory held before
/// are removed (applied by default to the new one, a set whose layers happen to
/// have the same shapes would silently change its results).
pub fn write_artifact(
    dir: &Path,
    manifest: &Manifest,
    target_text: &str,
    programs: &Programs,
) -> Result<usize, DriverError> {
    let file = |name: &str| dir.join(name);
    let error = |path: &Path, message: String| DriverError::File {
        path: path.display().to_string(),
        message,
    };
    std::fs::create_dir_all(dir).map_err(|e| error(dir, e.to_string()))?;
    let json =
        serde_json::to_string_pretty(manifest).map_err(|e| DriverError::Run(e.to_string()))?;
    let files = [
        ("manifest.json", json.as_str()),
        (TARGET_FILE, target_text),
        ("float.mlir", programs.float.as_str()),
        ("exact.mlir", programs.exact.as_str()),
        ("mapped.mlir", programs.mapped.as_str()),
    ];
    for (name, text) in files {
        std::fs::write(file(name), text).map_err(|e| error(&file(name), e.to_string()))?;
    }
    let stale = file(ADAPTERS_DIR);
    let removed = std::fs::read_dir(&stale).map_or(0, |entries| entries.count());
    if stale.is_dir() {
        std::fs::remove_dir_all(&stale).map_err(|e| error(&stale, e.to_string()))?;
    }
    Ok(removed)
}

/// A loaded artifact: its manifest, and its programs parsed when first asked for (a
/// pre-trained model's three programs are hundreds of megabytes of text; a run
/// needs one).
pub struct Artifact<'c> {
    /// The manifest.
    pub manifest: Manifest,
    cim: &'c CimContext,
    dir: std::path::PathBuf,
    float: std::cell::OnceCell<Module<'c>>,
    exact: std::cell::OnceCell<Module<'c>>,
    mapped: std::cell::OnceCell<Module<'c>>,
}

impl<'c> Artifact<'c> {
    fn program<'a>(
        &'a self,
        cell: &'a std::cell::OnceCell<Module<'c>>,
        name: &str,
    ) -> Result<&'a Module<'c>, DriverError> {
        if let Some(module) = cell.get() {
            return Ok(module);
        }
        let (module, _) = pipeline::parse_model(self.cim, &self.dir.join(name))?;
        Ok(cell.get_or_init(|| module))
    }

    /// The model before mapping (digital reference).
    pub fn float(&self) -> Result<&Module<'c>, DriverError> {
        self.program(&self.float, "float.mlir")
    }

    /// Mapped with analog cells (exact fidelity).
    pub fn exact(&self) -> Result<&Module<'c>, DriverError> {
        self.program(&self.exact, "exact.mlir")
    }

    /// Mapped and bit-sliced (quantized fidelity; the report).
    pub fn mapped(&self) -> Result<&Module<'c>, DriverError> {
        self.program(&self.mapped, "mapped.mlir")
    }

    /// The artifact's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The target it was compiled for: the copy it carries (`target.toml`), so
    /// it runs on another machine and after the preset changes; an artifact
    /// written before artifacts carried their target loads the one its options
    /// name.
    pub fn target(&self) -> Result<Target, DriverError> {
        let path = self.dir.join(TARGET_FILE);
        let target = if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|error| DriverError::File {
                path: path.display().to_string(),
                message: error.to_string(),
            })?;
            Target::parse(&text, &path.display().to_string())
        } else {
            Target::load(&self.manifest.options.target)
        }
        .map_err(|error| {
            DriverError::Usage(format!(
                "the artifact's target cannot be loaded for its devices, formats and costs: {error}"
            ))
        })?;
        if target.name != self.manifest.target_name {
            return Err(DriverError::Usage(format!(
                "the artifact was compiled for target '{}', but its target file names '{}': recompile it rather than edit manifest.json or {TARGET_FILE}",
                self.manifest.target_name, target.name
            )));
        }
        Ok(target)
    }
}

/// The copy of its target an artifact carries.
pub const TARGET_FILE: &str = "target.toml";

/// Reads an artifact directory written by [`write_artifact`].
pub fn read_artifact<'c>(cim: &'c CimContext, dir: &Path) -> Result<Artifact<'c>, DriverError> {
    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path).map_err(|error| DriverError::File {
        path: manifest_path.display().to_string(),
        message: format!("{error}: is this a directory written by `cimc compile`?"),
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|error| DriverError::File {
        path: manifest_path.display().to_string(),
        message: error.to_string(),
    })?;
    if manifest.format != ARTIFACT_FORMAT {
        return Err(DriverError::File {
            path: manifest_path.display().to_string(),
            message: format!(
                "artifact format {} is not {ARTIFACT_FORMAT}: recompile with this cimc",
                manifest.format
            ),
        });
    }
    for name in ["float.mlir", "exact.mlir", "mapped.mlir"] {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(DriverError::File {
                path: path.display().to_string(),
                message: "missing: is this a directory written by `cimc compile`?".into(),
            });
        }
    }
    Ok(Artifact {
        manifest,
        cim,
        dir: dir.to_path_buf(),
        float: Default::default(),
        exact: Default::default(),
        mapped: Default::default(),
    })
}

/// What [`compile`] did.
pub struct Compiled {
    /// The target compiled for.
    pub target: Target,
    /// Whether the converters were calibrated on data (else as the target says).
    pub calibrated: bool,
    /// The converters and where their ranges come from, for people.
    pub converters: String,
    /// The mapping's report.
    pub report: Report,
    /// Adapter sets of the program the output directory held before, removed.
    pub removed_adapter_sets: usize,
}

/// Compiles `model` with `options` into the artifact directory `output`: the float
/// model as read, the exact program (mapped, analog cells), the mapped program
/// (bit-sliced, placed, with converter ranges: calibrated on the `.npy` inputs
/// `calibration`, or at full scale), the manifest and the crossbar program. With
/// `emit_after_each_pass`, the IR after each pipeline step goes into that
/// directory.
pub fn compile(
    cim: &CimContext,
    model: &Path,
    options: &CompileOptions,
    calibration: Option<&Path>,
    emit_after_each_pass: Option<&Path>,
    output: &Path,
) -> Result<Compiled, DriverError> {
    options.check()?;
    let (target_text, target_origin) =
        Target::source(&options.target).map_err(|error| DriverError::Usage(error.to_string()))?;
    let target = Target::parse(&target_text, &target_origin)
        .map_err(|error| DriverError::Usage(error.to_string()))?;
    let (mut module, _) = pipeline::parse_model(cim, model)?;
    let function = entry_function(&module).ok_or_else(|| DriverError::Unsupported {
        path: model.display().to_string(),
        message: "no public func.func to compile".into(),
    })?;
    // The float program as the interpreter runs it: TOSA lowered to linalg.
    let float = {
        let (mut float, _) = pipeline::parse_model(cim, model)?;
        let has_tosa = cim_ir::query::ops_in(float.as_operation())
            .iter()
            .any(|op| cim_ir::query::op_name(op).starts_with("tosa."));
        if has_tosa {
            pipeline::lower_tosa(cim, &mut float)?;
        }
        float.as_operation().to_string()
    };
    let (mut exact, _) = pipeline::parse_model(cim, model)?;
    pipeline::map(cim, &mut exact, options, &target, false, |_, _| {})?;
    if let Some(dir) = emit_after_each_pass {
        std::fs::create_dir_all(dir).map_err(|e| DriverError::File {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
    }
    let mut step = 0;
    pipeline::map(
        cim,
        &mut module,
        options,
        &target,
        true,
        |element, module| {
            step += 1;
            if let Some(dir) = emit_after_each_pass {
                let name = element.name().replace(['/', '.'], "-");
                let _ = std::fs::write(
                    dir.join(format!("{step:02}-{name}.mlir")),
                    module.as_operation().to_string(),
                );
            }
        },
    )?;
    let converters = match calibration {
        Some(path) => {
            let data = read_inputs(&[path.to_path_buf()])?.remove(0);
            crate::converters::calibrate(
                &module,
                &function,
                &data,
                &target,
                options.calibration_percentile,
            )?
        }
        None => crate::converters::set_defaults(&module, &target)?,
    };
    let calibrated = calibration.is_some();
    let manifest = Manifest {
        format: ARTIFACT_FORMAT,
        cim_version: env!("CARGO_PKG_VERSION").into(),
        model: model.display().to_string(),
        function,
        target_name: target.name.clone(),
        options: options.clone(),
        calibrated,
        converters: converters.clone(),
    };
    let programs = Programs {
        float,
        exact: print_with_locations(&exact),
        mapped: print_with_locations(&module),
    };
    let removed_adapter_sets = write_artifact(output, &manifest, &target_text, &programs)?;
    cim_sim::program::write(&module, &manifest.function, &output.join("program"))
        .map_err(DriverError::from)?;
    let report = report::report(&module, &target);
    Ok(Compiled {
        target,
        calibrated,
        converters,
        report,
        removed_adapter_sets,
    })
}

/// Reads a crossbar program ([`cim_sim::program::read`]) and verifies it (MLIR's
/// verifier and cim-verify) once its weights are back.
pub fn read_program<'c>(
    cim: &'c CimContext,
    dir: &Path,
) -> Result<(Module<'c>, cim_sim::program::Program), DriverError> {
    let (module, program) = cim_sim::program::read(cim, dir)?;
    // The verifiers' diagnostics become the error's, not lines on stderr.
    let sink = cim_ir::diagnostics::DiagnosticSink::attach(cim.context());
    if !module.as_operation().verify() || cim_passes::verify::verify(module.as_operation()).is_err()
    {
        let path = dir.join("program.mlir").display().to_string();
        let source = std::fs::read_to_string(&path).unwrap_or_default();
        let lookup = |name: &str| (name == path).then(|| source.clone());
        let diagnostics: String = sink.take().iter().map(|d| d.render(&lookup)).collect();
        return Err(DriverError::File {
            message: format!(
                "the program does not verify once its weights are restored:\n{}",
                diagnostics.trim_end()
            ),
            path,
        });
    }
    drop(sink);
    Ok((module, program))
}
