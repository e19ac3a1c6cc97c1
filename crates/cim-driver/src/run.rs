//! Running an artifact: the float model, the exact program, or the mapped program
//! on the simulated runtime at quantized or full fidelity (a chip of the
//! artifact's target, seeded), with its digital work in f64 or on the NMDU.

use crate::{DriverError, artifact::Artifact, npy};
use cim_ir::CimContext;
use cim_sim::{Digital, Fidelity, Simulator, adapters::AdapterHook};
use cim_target::Target;
use melior::ir::Module;
use ndarray::ArrayD;

cim_choices::choice! {
    /// How faithfully an artifact runs.
    pub enum RunFidelity {
        /// The float model, before mapping.
        Float = "float",
        /// The mapped model with ideal devices: analog cells, ideal converters.
        Exact = "exact",
        /// The programmed model: bit-sliced cell levels, through its DACs and ADCs.
        Quantized = "quantized",
        /// Quantized, on a chip of the target's devices: programming noise, drift,
        /// read noise, faults, drift compensation, ADC noise (seeded).
        Full = "full",
    }
    default Exact
}

impl RunFidelity {
    /// The simulator's fidelity; `None` for the float model.
    pub fn fidelity(self) -> Option<Fidelity> {
        match self {
            Self::Float => None,
            Self::Exact => Some(Fidelity::Exact),
            Self::Quantized => Some(Fidelity::Quantized),
            Self::Full => Some(Fidelity::Full),
        }
    }

    /// Whether it reads ADC codes (so its digital work can run on the NMDU).
    pub fn converts(self) -> bool {
        matches!(self, Self::Quantized | Self::Full)
    }
}

/// Runs the artifact's function on `inputs`: the float model (`None`), the exact
/// program, or the programmed one through its converters.
pub fn run_artifact(
    artifact: &Artifact,
    inputs: &[ArrayD<f64>],
    fidelity: Option<Fidelity>,
) -> Result<Vec<ArrayD<f64>>, DriverError> {
    run_artifact_on(artifact, inputs, fidelity, &RunSettings::default())
}

/// How a run executes beyond its fidelity: the chip of a full-fidelity run (when it
/// is read, the seed of its devices) and where the digital work runs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunSettings {
    /// Seconds since programming.
    pub drift_time: f64,
    /// Seed of programming and conversion noise.
    pub seed: u64,
    /// Float, or the NMDU's fixed-point kernels (reference or generated code):
    /// quantized and full fidelity only, as the NMDU reads ADC codes.
    pub digital: Digital,
}

/// [`run_artifact`]; at [`Fidelity::Full`], the mapped program runs on a chip of
/// the artifact's target, programmed with `chip.seed` and read `chip.drift_time`
/// seconds later; with `chip.digital` on the NMDU, its digital work runs on
/// fixed-point kernels in the target's formats.
pub fn run_artifact_on(
    artifact: &Artifact,
    inputs: &[ArrayD<f64>],
    fidelity: Option<Fidelity>,
    chip: &RunSettings,
) -> Result<Vec<ArrayD<f64>>, DriverError> {
    Prepared::new(artifact, fidelity, chip.digital)?.run(inputs, chip)
}

/// An artifact's program ready to run at one fidelity: its arrays read and its
/// target loaded once, then run on as many chips as asked (each programmed anew).
pub struct Prepared<'m, 'c> {
    module: &'m Module<'c>,
    simulator: Simulator<'m, 'c>,
    fidelity: Option<Fidelity>,
    digital: Digital,
    /// The target, for full fidelity (its devices) and the NMDU (its formats).
    target: Option<Target>,
    /// The function it runs.
    function: String,
}

impl<'m, 'c> Prepared<'m, 'c> {
    /// `artifact` at `fidelity` (`None`: the float model), its digital work as
    /// `digital` says.
    pub fn new(
        artifact: &'m Artifact<'c>,
        fidelity: Option<Fidelity>,
        digital: Digital,
    ) -> Result<Self, DriverError> {
        let module = match fidelity {
            None => artifact.float()?,
            Some(Fidelity::Exact) => artifact.exact()?,
            Some(Fidelity::Quantized | Fidelity::Full) => artifact.mapped()?,
        };
        let needs_target = digital != Digital::Float || fidelity == Some(Fidelity::Full);
        let target = if needs_target {
            Some(artifact.target()?)
        } else {
            None
        };
        Self::of_module(
            module,
            fidelity,
            digital,
            target,
            artifact.manifest.function.clone(),
        )
    }

    /// `module`'s `@function` at `fidelity`, its digital work as `digital` says;
    /// `target` is needed at full fidelity and on the NMDU.
    fn of_module(
        module: &'m Module<'c>,
        fidelity: Option<Fidelity>,
        digital: Digital,
        target: Option<Target>,
        function: String,
    ) -> Result<Self, DriverError> {
        let mut simulator = Simulator::new(module)
            .map_err(|error| DriverError::Run(error.to_string()))?
            .with_fidelity(fidelity.unwrap_or_default());
        if digital != Digital::Float {
            if !matches!(fidelity, Some(Fidelity::Quantized | Fidelity::Full)) {
                return Err(DriverError::Usage(
                    "the NMDU reads ADC codes: --digital interp|nmdu needs --fidelity quantized or full"
                        .into(),
                ));
            }
            let Some(target) = &target else {
                return Err(DriverError::Run(
                    "the NMDU's formats come from the target: none was given".into(),
                ));
            };
            simulator = simulator
                .with_digital(digital, nmdu_format(target))
                .map_err(|error| DriverError::Run(error.to_string()))?;
        }
        if fidelity == Some(Fidelity::Full) && target.is_none() {
            return Err(DriverError::Run(
                "a chip's devices come from the target: none was given".into(),
            ));
        }
        Ok(Self {
            module,
            simulator,
            fidelity,
            digital,
            target,
            function,
        })
    }

    /// What another thread needs to prepare the same program (as it is now, the
    /// converters and corrections set on it included) in a context of its own:
    /// MLIR's in-memory IR belongs to one thread.
    pub fn portable(&self) -> Portable {
        Portable {
            bytecode: cim_ir::source::write_bytecode(self.module),
            fidelity: self.fidelity,
            digital: self.digital,
            target: self.target.clone(),
            function: self.function.clone(),
        }
    }

    /// Runs `each` on the chips of a Monte Carlo run (seeded `seed`, `seed + 1`,
    /// ...: [`cim_sim::montecarlo`]), this program running some and up to
    /// `jobs - 1` other threads the rest (`jobs` 0: one per core), each with the
    /// program prepared again in an MLIR context of its own. A chip's result
    /// depends on its seed alone, not on which thread ran it; they come back in
    /// chip order. With generated NMDU code the chips run here one at a time
    /// (every thread that JIT-compiles keeps an LLVM context for the process's
    /// life). `progress` hears of each chip as it starts, in chip order.
    pub fn over_chips<T: Send>(
        &mut self,
        (seed, chips): (u64, u64),
        jobs: usize,
        progress: impl FnMut(u64, u64) + Send,
        each: impl for<'a, 'b> Fn(&mut Prepared<'a, 'b>, u64) -> Result<T, DriverError> + Sync,
    ) -> Result<Vec<T>, DriverError> {
        let jobs = match jobs {
            0 => cim_interp::kernels::threads(),
            jobs => jobs,
        };
        let helpers = if self.digital == Digital::Generated {
            0
        } else {
            jobs.saturating_sub(1).min(chips.saturating_sub(1) as usize)
        };
        let queue = cim_sim::montecarlo::ChipQueue::new(seed, chips);
        let progress = std::sync::Mutex::new(progress);
        // A chip is taken and announced under one lock: `progress` hears of the
        // chips in order.
        let next = || {
            let mut progress = progress.lock().unwrap_or_else(|e| e.into_inner());
            let next = queue.take();
            if let Some((chip, _)) = next {
                progress(chip, chips);
            }
            next
        };
        let work = |prepared: &mut Prepared<'_, '_>| {
            while let Some((chip, seed)) = next() {
                queue.put(chip, each(prepared, seed));
            }
        };
        let portable = (helpers > 0).then(|| self.portable());
        // Helpers run on the kernels' pool (its other threads take them; one none
        // took, this thread runs when it next waits, at the latest once its own
        // chips are done), this program on this thread.
        rayon::in_place_scope(|scope| {
            if let Some(portable) = &portable {
                for _ in 0..helpers {
                    scope.spawn(|_| {
                        let started = CimContext::new()
                            .map_err(|error| DriverError::Run(error.to_string()))
                            .and_then(|cim| {
                                let module = portable.module(&cim)?;
                                let mut prepared = portable.prepare(&module)?;
                                work(&mut prepared);
                                Ok(())
                            });
                        if let Err(error) = started {
                            queue.unstarted(error);
                        }
                    });
                }
            }
            work(self);
        });
        queue.gather()
    }

    /// Runs `inputs`; at full fidelity on a chip programmed as `chip` says.
    pub fn run(
        &mut self,
        inputs: &[ArrayD<f64>],
        chip: &RunSettings,
    ) -> Result<Vec<ArrayD<f64>>, DriverError> {
        self.run_hooked(inputs, chip, None)
    }

    /// [`Self::run`], with `hook` (when given) at every `cim.adapter`
    /// ([`cim_sim::adapters`]).
    pub fn run_hooked(
        &mut self,
        inputs: &[ArrayD<f64>],
        chip: &RunSettings,
        hook: Option<&dyn AdapterHook>,
    ) -> Result<Vec<ArrayD<f64>>, DriverError> {
        if self.fidelity == Some(Fidelity::Full) {
            if !(chip.drift_time.is_finite() && chip.drift_time >= 0.0) {
                return Err(DriverError::Usage(format!(
                    "--drift-time {}: give the seconds since programming, >= 0",
                    chip.drift_time
                )));
            }
            let target = self.target.as_ref().expect("loaded for full fidelity");
            self.simulator
                .reprogram(&cim_sim::Chip {
                    devices: &target.device,
                    time: chip.drift_time,
                    seed: chip.seed,
                    adc: target.adc.model(),
                    wires: &target.wires,
                })
                .map_err(|error| DriverError::Run(error.to_string()))?;
        }
        let function = &self.function;
        let simulator = &self.simulator;
        crate::guarded("the simulator", || match hook {
            Some(hook) => simulator.run_hooked(function, inputs, hook),
            None => simulator.run(function, inputs),
        })?
        .map_err(|error| DriverError::Run(format!("@{function}: {error}")))
    }
}

/// A [`Prepared`] program as bytes, to prepare again on another thread
/// ([`Prepared::portable`]).
pub struct Portable {
    bytecode: Vec<u8>,
    fidelity: Option<Fidelity>,
    digital: Digital,
    target: Option<Target>,
    function: String,
}

impl Portable {
    /// The program, parsed into `cim`'s context (this thread's).
    pub fn module<'c>(&self, cim: &'c CimContext) -> Result<Module<'c>, DriverError> {
        cim_ir::source::parse_bytecode(cim.context(), &self.bytecode, "the prepared program")
            .ok_or_else(|| {
                DriverError::Run(
                    "the prepared program did not parse again (please report it)".into(),
                )
            })
    }

    /// The program of `module` (from [`Self::module`]) prepared as it was.
    pub fn prepare<'m, 'c>(&self, module: &'m Module<'c>) -> Result<Prepared<'m, 'c>, DriverError> {
        Prepared::of_module(
            module,
            self.fidelity,
            self.digital,
            self.target.clone(),
            self.function.clone(),
        )
    }
}

/// Converter resolutions that differ from the artifact's: the same programmed
/// arrays behind other DACs or ADCs (a chip whose periphery changed, or a
/// design question), without recompiling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Periphery {
    /// Every MVM's ADC resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adc_bits: Option<i64>,
    /// Every MVM's DAC resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dac_bits: Option<i64>,
}

impl std::fmt::Display for Periphery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bits = |b: Option<i64>| b.map_or("as compiled".into(), |b| b.to_string());
        write!(
            f,
            "ADC bits {}, DAC bits {}",
            bits(self.adc_bits),
            bits(self.dac_bits)
        )
    }
}

impl Periphery {
    /// Sets the resolutions of every MVM of the artifact's mapped program.
    pub fn apply(self, artifact: &Artifact) -> Result<(), DriverError> {
        if self == Self::default() {
            return Ok(());
        }
        for (name, bits) in [("--adc-bits", self.adc_bits), ("--dac-bits", self.dac_bits)] {
            if let Some(bits) = bits.filter(|b| !(1..=24).contains(b)) {
                return Err(DriverError::Usage(format!(
                    "{name} {bits}: give a resolution of 1 to 24 bits"
                )));
            }
        }
        for mvm in cim_ir::mapped::MvmOp::all(artifact.mapped()?.as_operation()) {
            for (name, bits, converter) in [
                ("adc", self.adc_bits, mvm.adc()),
                ("dac", self.dac_bits, mvm.dac()),
            ] {
                if let (Some(bits), Some(converter)) = (bits, converter) {
                    mvm.set_converter(name, converter.with_bits(bits));
                }
            }
        }
        Ok(())
    }
}

/// The NMDU formats of `target`.
pub fn nmdu_format(target: &Target) -> cim_nmdu::Format {
    cim_nmdu::Format {
        multiplier_bits: target.nmdu.multiplier_bits,
        accumulator_bits: target.nmdu.accumulator_bits,
        out_bits: target.nmdu.output_bits,
        fraction_bits: target.nmdu.fraction_bits,
    }
}

/// Reads `.npy` inputs.
pub fn read_inputs(paths: &[std::path::PathBuf]) -> Result<Vec<ArrayD<f64>>, DriverError> {
    paths.iter().map(|path| Ok(npy::read(path)?)).collect()
}
