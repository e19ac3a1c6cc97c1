//! `cim-opt`: parse MLIR, run a pipeline of cim and upstream passes, print the result.
//! It behaves like `mlir-opt` so MLIR users feel at home.

use cim_ir::{
    CimContext,
    diagnostics::{Diagnostic, DiagnosticSink},
    expected::{check, parse_expectations},
    melior::ir::{Module, operation::OperationLike, operation::OperationPrintingFlags},
    source::{is_bytecode, parse_bytecode, parse_module, split_input, write_bytecode},
};
use cim_passes::{
    pipeline::{self, Element, Pipeline, RunOptions},
    registry::PASSES,
    verify,
};
use clap::{CommandFactory, Parser, ValueEnum};
use std::{
    io::{Read, Write},
    process::ExitCode,
    time::{Duration, Instant},
};

/// The format of reports (`--mlir-timing`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

/// Exit status: the input failed (parse, verification, a pass, or unmatched
/// expected diagnostics).
const EXIT_INPUT_FAILED: u8 = 1;
/// Exit status: the command line is wrong (flag, pipeline, option, file).
const EXIT_USAGE: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "cim-opt",
    version,
    about = "Run cim and MLIR passes on MLIR input, like mlir-opt",
    after_help = "Every cim pass is also a flag: --cim-verify, --<pass>=\"key=value ...\". Upstream MLIR \
passes work the same way (--canonicalize, --cse) and in --pass-pipeline: MLIR's generic \
transforms, linalg's and TOSA's passes and TOSA's conversions (the rest: mlir-opt).\n\
Exit status: 0 success; 1 the input failed (parse, verification, a pass, unmatched expected \
diagnostics); 2 the command line is wrong."
)]
pub(crate) struct Cli {
    /// Input file; `-` reads standard input.
    #[arg(default_value = "-")]
    input: String,
    /// Output file; `-` writes standard output.
    #[arg(short, long, default_value = "-")]
    output: String,
    /// The pipeline to run, e.g. 'builtin.module(canonicalize,cim-verify)'.
    #[arg(long)]
    pass_pipeline: Option<String>,
    /// Process each chunk between `// -----` lines separately.
    #[arg(long)]
    split_input_file: bool,
    /// Check emitted diagnostics against `expected-*` comments instead of printing them.
    #[arg(long)]
    verify_diagnostics: bool,
    /// Run the MLIR verifier and cim-verify after parsing and after every step.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    verify_each: bool,
    /// Do not run cim-verify (MLIR's own verifier still runs).
    #[arg(long)]
    no_cim_verify: bool,
    /// Print the IR to stderr after every pipeline step.
    #[arg(long)]
    mlir_print_ir_after_all: bool,
    /// Print the IR to stderr after each step that runs the named passes.
    #[arg(long, value_delimiter = ',', value_name = "PASS")]
    mlir_print_ir_after: Vec<String>,
    /// Print the IR to stderr before every pipeline step.
    #[arg(long)]
    mlir_print_ir_before_all: bool,
    /// Print the IR to stderr before each step that runs the named passes.
    #[arg(long, value_delimiter = ',', value_name = "PASS")]
    mlir_print_ir_before: Vec<String>,
    /// With --mlir-print-ir-after(-all): print only after steps that changed the IR.
    #[arg(long)]
    mlir_print_ir_after_change: bool,
    /// Print the IR to stderr after the step that failed.
    #[arg(long)]
    mlir_print_ir_after_failure: bool,
    /// Print the wall time of parsing, of each pipeline step and of printing to
    /// stderr.
    #[arg(long)]
    mlir_timing: bool,
    /// The format of --mlir-timing's report.
    #[arg(long, value_enum, default_value = "text")]
    mlir_output_format: OutputFormat,
    /// Print MLIR's pass statistics (the counters passes keep) to stderr after
    /// each pipeline step.
    #[arg(long)]
    mlir_pass_statistics: bool,
    /// Accept operations of dialects that are not registered (kept as they are).
    #[arg(long)]
    allow_unregistered_dialect: bool,
    /// Write MLIR bytecode instead of text (the input may be either).
    #[arg(long)]
    emit_bytecode: bool,
    /// When a step fails (or cim-opt panics in it), write the IR before that
    /// step and the step to FILE: `cim-opt --run-reproducer FILE` replays it.
    #[arg(long, value_name = "FILE")]
    mlir_pass_pipeline_crash_reproducer: Option<String>,
    /// Replay a reproducer written by --mlir-pass-pipeline-crash-reproducer (its
    /// pipeline on its IR).
    #[arg(long)]
    run_reproducer: bool,
    /// Print elements attributes with more than N elements as `dense_resource<__elided__>`.
    #[arg(long, value_name = "N")]
    mlir_elide_elementsattrs_if_larger: Option<usize>,
    /// Print operations in generic form.
    #[arg(long)]
    mlir_print_op_generic: bool,
    /// Print locations.
    #[arg(long)]
    mlir_print_debuginfo: bool,
    /// Print the pipeline that will run, then run it.
    #[arg(long)]
    dump_pass_pipeline: bool,
    /// List the cim passes with their options and exit.
    #[arg(long)]
    list_passes: bool,
}

fn main() -> ExitCode {
    cim_driver::guard::install("cim-opt");
    let Some(arguments) = std::env::args_os()
        .map(|argument| argument.into_string().ok())
        .collect::<Option<Vec<String>>>()
    else {
        eprintln!(
            "cim-opt: error: an argument is not valid UTF-8: give paths and options as UTF-8 text"
        );
        return ExitCode::from(EXIT_USAGE);
    };
    let code = cim_opt(
        &arguments,
        None,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    ExitCode::from(code)
}

/// The whole tool on `arguments` (the first is its name), writing to `out` and
/// `err`, in `cim` when given (the fuzzing campaign reuses one context) or a new
/// context: its exit status.
pub(crate) fn cim_opt(
    arguments: &[String],
    cim: Option<&CimContext>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let (clap_arguments, flag_passes) = match split_pass_flags(arguments) {
        Ok(split) => split,
        Err(message) => return usage_error(err, &message),
    };
    let cli = match Cli::try_parse_from(clap_arguments) {
        Ok(cli) => cli,
        Err(error) => {
            let text = error.render().to_string();
            if error.use_stderr() {
                let _ = write!(err, "{text}");
                return EXIT_USAGE;
            }
            let _ = write!(out, "{text}");
            return 0;
        }
    };
    if cli.list_passes {
        let _ = write!(out, "{}", list_passes());
        return 0;
    }
    let reproduced = if cli.run_reproducer {
        match reproducer_pipeline(&cli) {
            Ok(text) => Some(text),
            Err(message) => return usage_error(err, &message),
        }
    } else {
        None
    };
    let pipeline = match (
        reproduced.as_ref().or(cli.pass_pipeline.as_ref()),
        flag_passes.is_empty(),
    ) {
        (Some(_), false) => {
            return usage_error(
                err,
                "give passes either as flags or with --pass-pipeline, not both",
            );
        }
        (Some(text), true) => match Pipeline::parse(text) {
            Ok(pipeline) => pipeline,
            Err(error) => return usage_error(err, &error.to_string()),
        },
        (None, _) => Pipeline {
            elements: flag_passes,
        },
    };
    let own;
    let cim = match cim {
        Some(cim) => cim,
        None => match CimContext::new() {
            Ok(context) => {
                own = context;
                &own
            }
            Err(error) => return usage_error(err, &error.to_string()),
        },
    };
    match run(&cli, &pipeline, cim, out, err) {
        Ok(true) => 0,
        Ok(false) => EXIT_INPUT_FAILED,
        Err(message) => usage_error(err, &message),
    }
}

fn usage_error(err: &mut dyn Write, message: &str) -> u8 {
    let _ = writeln!(err, "cim-opt: error: {message}");
    EXIT_USAGE
}

fn split_pass_flags(arguments: &[String]) -> Result<(Vec<String>, Vec<Element>), String> {
    let command = Cli::command();
    let own: Vec<(String, bool)> = command
        .get_arguments()
        .filter_map(|argument| {
            let takes_value = argument.get_action().takes_values();
            argument
                .get_long()
                .map(|long| (long.to_owned(), takes_value))
        })
        .chain([("help".to_owned(), false), ("version".to_owned(), false)])
        .collect();
    let mut kept = vec![arguments[0].clone()];
    let mut passes = Vec::new();
    let mut rest = arguments[1..].iter();
    while let Some(argument) = rest.next() {
        let long = match argument.strip_prefix("--") {
            Some(long) if !long.is_empty() => Some(long),
            _ => argument
                .strip_prefix('-')
                .filter(|name| name.len() > 1 && !name.starts_with('o')),
        };
        let Some(long) = long else {
            kept.push(argument.clone());
            continue;
        };
        let (name, value) = match long.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (long, None),
        };
        match own.iter().find(|(known, _)| known == name) {
            Some((_, takes_value)) => {
                kept.push(format!("--{long}"));
                if *takes_value && value.is_none() {
                    let value = rest.next().ok_or(format!("--{name} needs a value"))?;
                    kept.push(value.clone());
                }
            }
            None => passes.push(Element::Pass {
                name: name.to_owned(),
                options: value.unwrap_or("").trim().to_owned(),
            }),
        }
    }
    Ok((kept, passes))
}

fn list_passes() -> String {
    let mut out = String::from("cim passes (each is also a --<name> flag):\n");
    for def in PASSES {
        out.push_str(&format!("  {:<24} {}\n", def.name, def.summary));
        for option in def.options {
            out.push_str(&format!(
                "      {:<20} {} (default {}): {}\n",
                format!("{}=<{}>", option.name, "value"),
                option.kind,
                option.default,
                option.doc
            ));
        }
    }
    out.push_str(
        "\nUpstream MLIR passes are accepted by name as well, as a flag or inside \
--pass-pipeline: MLIR's generic transforms (canonicalize, cse, inline, symbol-dce, ...), \
linalg's and TOSA's own passes, and TOSA's conversions (tosa-to-linalg, tosa-to-linalg-named, \
tosa-to-arith, tosa-to-tensor, tosa-to-scf); mlir-opt has the others.\n",
    );
    out
}

/// Runs the whole input. `Ok(true)`: every chunk succeeded; `Ok(false)`: some chunk
/// failed (its diagnostics are printed); `Err`: a command-line or I/O problem.
fn run(
    cli: &Cli,
    pipeline: &Pipeline,
    cim: &CimContext,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<bool, String> {
    let (file, bytes) = read_input(&cli.input)?;
    let bytecode = is_bytecode(&bytes);
    if cli.emit_bytecode && cli.split_input_file {
        return Err("--emit-bytecode writes one module: drop --split-input-file".into());
    }
    if bytecode && (cli.split_input_file || cli.verify_diagnostics) {
        return Err(format!(
            "{file} is MLIR bytecode: --split-input-file and --verify-diagnostics read text"
        ));
    }
    let source = if bytecode {
        String::new()
    } else {
        String::from_utf8(bytes.clone())
            .map_err(|_| format!("{file} is neither MLIR text (UTF-8) nor MLIR bytecode"))?
    };
    cim.set_print_op_on_diagnostic(!cli.verify_diagnostics);
    let context = cim.context();
    if !pipeline.elements.is_empty() {
        pipeline
            .validate(context)
            .map_err(|error| error.to_string())?;
    }
    if cli.dump_pass_pipeline {
        let _ = writeln!(err, "{pipeline}");
    }
    // The context may serve other runs (the fuzzing campaign): put it back after.
    let allowed = context.allow_unregistered_dialects();
    context.set_allow_unregistered_dialects(cli.allow_unregistered_dialect || allowed);
    let sink = DiagnosticSink::attach(context);
    let verify_each = cli.verify_each;
    let cim_verify = verify_each && !cli.no_cim_verify;
    let options = RunOptions {
        verify_each,
        statistics: cli.mlir_pass_statistics,
    };
    let mut timing = Timing::new(pipeline);
    let mut statistics = Vec::new();
    let mut outputs: Vec<Vec<u8>> = Vec::new();
    let mut all_ok = true;

    let chunks = if bytecode {
        split_input("", false)
    } else {
        split_input(&source, cli.split_input_file)
    };
    for chunk in chunks {
        let mut output = None;
        let parsing = Instant::now();
        let parsed = if bytecode {
            parse_bytecode(context, &bytes, &file)
        } else {
            parse_module(context, &chunk.padded_text(), &file)
        };
        timing.parser += parsing.elapsed();
        if let Some(mut module) = parsed {
            let verified = !verify_each
                || (module.as_operation().verify()
                    && (!cim_verify || verify::verify(module.as_operation()).is_ok()));
            let ran = verified
                && run_steps(
                    cli,
                    pipeline,
                    context,
                    &mut module,
                    &options,
                    (&mut timing, &mut statistics),
                    err,
                );
            if ran {
                let printing = Instant::now();
                output = Some(if cli.emit_bytecode {
                    write_bytecode(&module)
                } else {
                    print(cli, &module).into_bytes()
                });
                timing.output += printing.elapsed();
            }
        }
        let diagnostics = sink.take();
        let chunk_ok = if cli.verify_diagnostics {
            let problems = match parse_expectations(&chunk.text, chunk.first_line) {
                Ok(expected) => check(&file, &expected, &diagnostics),
                Err(bad) => vec![format!("{file}:{}: error: {}", bad.line, bad.reason)],
            };
            for problem in &problems {
                let _ = writeln!(err, "{problem}");
            }
            problems.is_empty()
        } else {
            report(err, &diagnostics, &file, &source);
            output.is_some()
        };
        all_ok &= chunk_ok;
        outputs.push(output.unwrap_or_default());
    }
    drop(sink);
    context.set_allow_unregistered_dialects(allowed);
    write_output(out, &cli.output, &outputs.join(&b"// -----\n"[..]))?;
    if cli.mlir_pass_statistics {
        let _ = write!(err, "{}", statistics_report(&statistics));
    }
    if cli.mlir_timing {
        let _ = write!(err, "{}", timing.report(cli.mlir_output_format));
    }
    Ok(all_ok)
}

/// The first line of a reproducer, and the prefix of the line naming its pipeline.
const REPRODUCER_HEADER: &str =
    "// cim-opt reproducer: replay with `cim-opt --run-reproducer FILE`";
const REPRODUCER_PIPELINE: &str = "// pipeline: ";

/// A reproducer of running `element` on `module`.
fn reproducer_text(element: &Element, module: &Module) -> String {
    let mut flags = OperationPrintingFlags::new();
    flags = flags.enable_debug_info(true, false);
    let ir = module
        .as_operation()
        .to_string_with_flags(flags)
        .unwrap_or_default();
    format!("{REPRODUCER_HEADER}\n{REPRODUCER_PIPELINE}builtin.module({element})\n{ir}\n")
}

/// The pipeline of the reproducer `cli.input` (its second line).
fn reproducer_pipeline(cli: &Cli) -> Result<String, String> {
    if cli.pass_pipeline.is_some() {
        return Err(
            "--run-reproducer runs the reproducer's own pipeline: drop --pass-pipeline".into(),
        );
    }
    let (file, bytes) = read_input(&cli.input)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    match (
        lines.next(),
        lines
            .next()
            .and_then(|l| l.strip_prefix(REPRODUCER_PIPELINE)),
    ) {
        (Some(REPRODUCER_HEADER), Some(pipeline)) => Ok(pipeline.to_owned()),
        _ => Err(format!(
            "{file} is not a reproducer written by cim-opt --mlir-pass-pipeline-crash-reproducer"
        )),
    }
}

/// Runs the pipeline's steps on `module` one by one, printing the IR before and
/// after them as the flags ask and timing each: whether every step succeeded.
fn run_steps(
    cli: &Cli,
    pipeline: &Pipeline,
    context: &cim_ir::melior::Context,
    module: &mut Module,
    options: &RunOptions,
    (timing, statistics): (&mut Timing, &mut Vec<StepStatistics>),
    err: &mut dyn Write,
) -> bool {
    let dump = |err: &mut dyn Write, when: &str, element: &Element, module: &Module| {
        let (when, failed) = when.split_once(' ').unwrap_or((when, ""));
        let failed = if failed.is_empty() {
            String::new()
        } else {
            format!(" {failed}")
        };
        let _ = writeln!(
            err,
            "// -----// IR Dump {when} {element}{failed} //----- //\n{}",
            print(cli, module)
        );
    };
    for (step, element) in pipeline.elements.iter().enumerate() {
        let named = |names: &[String]| names.iter().any(|name| element.mentions(name));
        if cli.mlir_print_ir_before_all || named(&cli.mlir_print_ir_before) {
            dump(err, "Before", element, module);
        }
        let print_after = cli.mlir_print_ir_after_all || named(&cli.mlir_print_ir_after);
        let before = (print_after && cli.mlir_print_ir_after_change).then(|| print(cli, module));
        let single = Pipeline {
            elements: vec![element.clone()],
        };
        let counted = cli.mlir_pass_statistics.then(|| count_ops(module));
        let reproducer = cli
            .mlir_pass_pipeline_crash_reproducer
            .as_ref()
            .map(|path| {
                (
                    std::path::PathBuf::from(path),
                    reproducer_text(element, module),
                )
            });
        cim_driver::guard::reproducer(reproducer.clone());
        let start = Instant::now();
        let ran = pipeline::run(context, module, &single, options, |_, _| {}).is_ok();
        timing.steps[step] += start.elapsed();
        cim_driver::guard::reproducer(None);
        if !ran && let Some((path, text)) = &reproducer {
            match std::fs::write(path, text) {
                Ok(()) => {
                    let _ = writeln!(
                        err,
                        "cim-opt: step {element} failed: wrote a reproducer to {} (replay: cim-opt --run-reproducer {0})",
                        path.display()
                    );
                }
                Err(error) => {
                    let _ = writeln!(
                        err,
                        "cim-opt: cannot write the reproducer {}: {error}",
                        path.display()
                    );
                }
            }
        }
        if let Some(before) = counted {
            statistics.push(StepStatistics {
                step: element.to_string(),
                before,
                after: count_ops(module),
            });
        }
        if !ran {
            if cli.mlir_print_ir_after_failure {
                dump(err, "After Failed", element, module);
            }
            return false;
        }
        if print_after && before.is_none_or(|before| before != print(cli, module)) {
            dump(err, "After", element, module);
        }
    }
    true
}

/// Operations of each name in a module.
fn count_ops(module: &Module) -> std::collections::BTreeMap<String, i64> {
    let mut counts = std::collections::BTreeMap::new();
    for op in cim_ir::query::ops_in(module.as_operation()) {
        *counts.entry(cim_ir::query::op_name(&op)).or_insert(0) += 1;
    }
    counts
}

/// What a step did to the IR's operations (`--mlir-pass-statistics`).
struct StepStatistics {
    step: String,
    before: std::collections::BTreeMap<String, i64>,
    after: std::collections::BTreeMap<String, i64>,
}

/// cim-opt's own statistics, in the form of MLIR's pass statistics: for each
/// step, the operations before and after, and the change of each kind. (MLIR's
/// own pass counters, which it prints first, exist only in LLVM builds with
/// statistics enabled; Debian's release packages have them compiled out.)
fn statistics_report(steps: &[StepStatistics]) -> String {
    let rule = "===-------------------------------------------------------------------------===";
    let mut text =
        format!("{rule}\n                         ... cim-opt step statistics ...\n{rule}\n");
    for step in steps {
        let total = |counts: &std::collections::BTreeMap<String, i64>| counts.values().sum::<i64>();
        text += &format!(
            "{}\n  (S) {} ops-before - operations before the step\n  (S) {} ops-after - operations after the step\n",
            step.step,
            total(&step.before),
            total(&step.after)
        );
        let names: std::collections::BTreeSet<&String> =
            step.before.keys().chain(step.after.keys()).collect();
        for name in names {
            let change = step.after.get(name).unwrap_or(&0) - step.before.get(name).unwrap_or(&0);
            if change != 0 {
                text += &format!("  (S) {change:+} {name} - change in {name} operations\n");
            }
        }
    }
    text
}

/// Wall time spent parsing, in each pipeline step and printing (`--mlir-timing`).
struct Timing {
    names: Vec<String>,
    parser: Duration,
    steps: Vec<Duration>,
    output: Duration,
}

impl Timing {
    fn new(pipeline: &Pipeline) -> Self {
        Self {
            names: pipeline.elements.iter().map(ToString::to_string).collect(),
            parser: Duration::ZERO,
            steps: vec![Duration::ZERO; pipeline.elements.len()],
            output: Duration::ZERO,
        }
    }

    /// The report, as mlir-opt's `--mlir-timing` (list display) prints it.
    fn report(&self, format: OutputFormat) -> String {
        let mut rows: Vec<(&str, Duration)> = vec![("Parser", self.parser)];
        rows.extend(
            self.names
                .iter()
                .map(String::as_str)
                .zip(self.steps.iter().copied()),
        );
        rows.push(("Output", self.output));
        let total: Duration = rows.iter().map(|(_, time)| *time).sum();
        rows.push(("Total", total));
        let percent = |time: Duration| {
            if total.is_zero() {
                0.0
            } else {
                100.0 * time.as_secs_f64() / total.as_secs_f64()
            }
        };
        match format {
            OutputFormat::Text => {
                let rule = "===-------------------------------------------------------------------------===";
                let mut text = format!(
                    "{rule}\n                         ... Execution time report ...\n{rule}\n  Total Execution Time: {:.4} seconds\n\n  ----Wall Time----  ----Name----\n",
                    total.as_secs_f64()
                );
                for (name, time) in rows {
                    text += &format!(
                        "  {:>8.4} ({:>5.1}%)  {name}\n",
                        time.as_secs_f64(),
                        percent(time)
                    );
                }
                text
            }
            OutputFormat::Json => {
                let rows: Vec<serde_json::Value> = rows
                    .into_iter()
                    .map(|(name, time)| {
                        serde_json::json!({
                            "wall": { "duration": time.as_secs_f64(), "percentage": percent(time) },
                            "name": name,
                        })
                    })
                    .collect();
                serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n"
            }
        }
    }
}

/// The input's name and bytes (text or bytecode).
fn read_input(path: &str) -> Result<(String, Vec<u8>), String> {
    if path == "-" {
        let mut source = Vec::new();
        std::io::stdin()
            .read_to_end(&mut source)
            .map_err(|error| format!("cannot read standard input: {error}"))?;
        Ok(("<stdin>".to_owned(), source))
    } else {
        let source = std::fs::read(path)
            .map_err(|error| format!("cannot read input file '{path}': {error}"))?;
        Ok((path.to_owned(), source))
    }
}

fn write_output(out: &mut dyn Write, path: &str, bytes: &[u8]) -> Result<(), String> {
    let result = if path == "-" {
        out.write_all(bytes)
    } else {
        std::fs::write(path, bytes)
    };
    result.map_err(|error| format!("cannot write output '{path}': {error}"))
}

fn print(cli: &Cli, module: &Module) -> String {
    let mut flags = OperationPrintingFlags::new();
    if let Some(limit) = cli.mlir_elide_elementsattrs_if_larger {
        flags = flags.elide_large_elements_attributes(limit);
    }
    if cli.mlir_print_op_generic {
        flags = flags.print_generic_operation_form();
    }
    if cli.mlir_print_debuginfo {
        flags = flags.enable_debug_info(true, false);
    }
    let mut text = module
        .as_operation()
        .to_string_with_flags(flags)
        .unwrap_or_else(|error| format!("// cannot print the module: {error}"));
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

fn report(err: &mut dyn Write, diagnostics: &[Diagnostic], file: &str, source: &str) {
    let lookup = |name: &str| (name == file).then(|| source.to_owned());
    for diagnostic in diagnostics {
        let _ = write!(err, "{}", diagnostic.render(&lookup));
    }
}
