//! `cim-opt`: parse MLIR, run a pipeline of cim and upstream passes, print the result.
//! It behaves like `mlir-opt` so MLIR users feel at home.

use cim_ir::{
    CimContext,
    diagnostics::{Diagnostic, DiagnosticSink},
    expected::{check, parse_expectations},
    melior::ir::{Module, operation::OperationLike, operation::OperationPrintingFlags},
    source::{parse_module, split_input},
};
use cim_passes::{
    pipeline::{self, Element, Pipeline, RunOptions},
    registry::PASSES,
    verify,
};
use clap::{CommandFactory, Parser};
use std::{
    io::{Read, Write},
    process::ExitCode,
};

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
passes work the same way (--canonicalize, --cse) and in --pass-pipeline.\n\
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
    let pipeline = match (&cli.pass_pipeline, flag_passes.is_empty()) {
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
        "\nEvery upstream MLIR pass is accepted by name as well (canonicalize, cse, \
tosa-to-linalg, ...), as a flag or inside --pass-pipeline.\n",
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
    let (file, source) = read_input(&cli.input)?;
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
    let sink = DiagnosticSink::attach(context);
    let verify_each = cli.verify_each;
    let cim_verify = verify_each && !cli.no_cim_verify;
    let options = RunOptions { verify_each };
    let mut outputs = Vec::new();
    let mut all_ok = true;

    for chunk in split_input(&source, cli.split_input_file) {
        let mut output = None;
        if let Some(mut module) = parse_module(context, &chunk.padded_text(), &file) {
            let verified = !verify_each
                || (module.as_operation().verify()
                    && (!cim_verify || verify::verify(module.as_operation()).is_ok()));
            let ran = verified
                && pipeline::run(
                    context,
                    &mut module,
                    pipeline,
                    &options,
                    |element, module| {
                        if cli.mlir_print_ir_after_all
                            || cli
                                .mlir_print_ir_after
                                .iter()
                                .any(|name| element.mentions(name))
                        {
                            let _ = writeln!(
                                err,
                                "// -----// IR Dump After {element} //----- //\n{}",
                                print(cli, module)
                            );
                        }
                    },
                )
                .is_ok();
            if ran {
                output = Some(print(cli, &module));
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
    write_output(out, &cli.output, &outputs.join("// -----\n"))?;
    Ok(all_ok)
}

fn read_input(path: &str) -> Result<(String, String), String> {
    if path == "-" {
        let mut source = String::new();
        std::io::stdin()
            .read_to_string(&mut source)
            .map_err(|error| format!("cannot read standard input: {error}"))?;
        Ok(("<stdin>".to_owned(), source))
    } else {
        let source = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read input file '{path}': {error}"))?;
        Ok((path.to_owned(), source))
    }
}

fn write_output(out: &mut dyn Write, path: &str, text: &str) -> Result<(), String> {
    let result = if path == "-" {
        out.write_all(text.as_bytes())
    } else {
        std::fs::write(path, text)
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
