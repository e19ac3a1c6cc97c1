//! `cim-translate`: mapped cim IR to and from the crossbar program (a JSON manifest
//! of arrays and MVMs, safetensors weights, and the MLIR glue), like mlir-translate;
//! and its digital work to the near-memory digital unit: the lowering as text
//! (`--to-nmdu`), LLVM IR (`--to-llvm-ir`) or an object file (`--to-object
//! --triple x86_64|aarch64|riscv64`).

use cim_driver::{DriverError, artifact, pipeline, run::nmdu_format};
use cim_ir::CimContext;
use cim_target::Target;
use clap::{ArgGroup, Parser};
use std::{io::Write, path::PathBuf, process::ExitCode};

#[derive(Parser)]
#[command(
    name = "cim-translate",
    version,
    about = "Translate mapped cim IR to and from the crossbar program",
    group(ArgGroup::new("direction").required(true).args(["to_crossbar_program", "from_crossbar_program", "to_nmdu", "to_llvm_ir", "to_object"])),
    after_help = "Exit status: 0 success; 1 the input is invalid; 2 the command line is wrong."
)]
pub(crate) struct Cli {
    /// Mapped MLIR (to), or a crossbar program directory (from).
    input: PathBuf,
    /// Write the crossbar program of mapped MLIR into the -o directory.
    #[arg(long)]
    to_crossbar_program: bool,
    /// Read a crossbar program directory back into MLIR (weights restored).
    #[arg(long)]
    from_crossbar_program: bool,
    /// Print the NMDU lowering of mapped MLIR's digital ops: per group of MVMs its
    /// kernel, planes, multipliers and biases.
    #[arg(long)]
    to_nmdu: bool,
    /// Write the NMDU code of mapped MLIR's digital ops as optimised LLVM IR: one
    /// exported function per group, `void NAME(ptr planes, ptr out, i64 rows)`.
    #[arg(long)]
    to_llvm_ir: bool,
    /// Write that code as an object file (ELF) for --triple; needs -o FILE.
    #[arg(long)]
    to_object: bool,
    /// The NMDU's machine: x86_64, aarch64, riscv64 or a full triple (default: the
    /// host for --to-llvm-ir; x86_64 for --to-object).
    #[arg(long)]
    triple: Option<String>,
    /// The target whose [nmdu] formats the lowering uses (a preset or a TOML file).
    #[arg(long, default_value = "ideal")]
    target: String,
    /// The entry function (default: the first public func.func).
    #[arg(long)]
    function: Option<String>,
    /// Output: a directory (to) or a file, `-` for stdout (from).
    #[arg(short, long, default_value = "-")]
    output: PathBuf,
}

fn main() -> ExitCode {
    cim_driver::guard::install("cim-translate");
    let cli = Cli::parse();
    let code = cim_translate(
        &cli,
        None,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    ExitCode::from(code)
}

/// The tool on a parsed command line, writing to `out` and `err`, in `cim` when
/// given (the fuzzing campaign reuses one context) or a new context: its exit
/// status.
pub(crate) fn cim_translate(
    cli: &Cli,
    cim: Option<&CimContext>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let result = match cim {
        Some(cim) => run(cli, cim, out, err),
        None => CimContext::new()
            .map_err(|error| DriverError::Run(error.to_string()))
            .and_then(|cim| run(cli, &cim, out, err)),
    };
    match result {
        Ok(()) => 0,
        Err(error) => {
            let _ = writeln!(err, "cim-translate: error: {error}");
            if matches!(error, DriverError::Usage(_)) {
                2
            } else {
                1
            }
        }
    }
}

fn run(
    cli: &Cli,
    cim: &CimContext,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), DriverError> {
    if cli.to_crossbar_program {
        if cli.output.as_os_str() == "-" {
            return Err(DriverError::Usage(
                "--to-crossbar-program writes a directory: give it with -o DIR".into(),
            ));
        }
        let (module, _) = pipeline::parse_model(cim, &cli.input)?;
        let function = match &cli.function {
            Some(function) => function.clone(),
            None => artifact::entry_function(&module).ok_or_else(|| {
                DriverError::Usage(format!(
                    "{}: no public func.func: name the entry with --function",
                    cli.input.display()
                ))
            })?,
        };
        let written = cim_sim::program::write(&module, &function, &cli.output)?;
        let _ = writeln!(
            err,
            "wrote {} arrays and {} MVMs of @{function} to {}",
            written.arrays.len(),
            written.mvms.len(),
            cli.output.display()
        );
        return Ok(());
    }
    if cli.to_nmdu || cli.to_llvm_ir || cli.to_object {
        return nmdu(cim, cli, out, err);
    }
    let (module, _) = artifact::read_program(cim, &cli.input)?;
    write_output(
        out,
        &cli.output,
        module.as_operation().to_string().as_bytes(),
    )
}

/// Writes `bytes` to `path`, or to stdout for `-`.
fn write_output(
    out: &mut dyn Write,
    path: &std::path::Path,
    bytes: &[u8],
) -> Result<(), DriverError> {
    if path.as_os_str() == "-" {
        out.write_all(bytes)
            .map_err(|error| DriverError::Run(error.to_string()))
    } else {
        std::fs::write(path, bytes).map_err(|error| DriverError::File {
            path: path.display().to_string(),
            message: error.to_string(),
        })
    }
}

/// The NMDU outputs: the lowering, LLVM IR, or an object.
fn nmdu(
    cim: &CimContext,
    cli: &Cli,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), DriverError> {
    if cli.to_object && cli.output.as_os_str() == "-" {
        return Err(DriverError::Usage(
            "--to-object writes a binary file: give it with -o FILE".into(),
        ));
    }
    let target =
        Target::load(&cli.target).map_err(|error| DriverError::Usage(error.to_string()))?;
    let (module, _) = pipeline::parse_model(cim, &cli.input)?;
    let plan = cim_nmdu::lower::plan(module.as_operation(), nmdu_format(&target))
        .map_err(|error| DriverError::Run(format!("{}: {error}", cli.input.display())))?;
    if plan.groups.is_empty() && plan.elementwise.is_empty() && plan.matmul.is_none() {
        return Err(DriverError::Run(format!(
            "{}: no digital ops over MVMs to lower: give mapped MLIR (cimc compile writes ARTIFACT/mapped.mlir)",
            cli.input.display()
        )));
    }
    let codegen_error = |error: cim_nmdu::codegen::CodegenError| match error {
        cim_nmdu::codegen::CodegenError::Llvm(message) => DriverError::Usage(format!(
            "LLVM: {message} (give --triple x86_64, aarch64, riscv64 or another x86, AArch64, ARM or RISC-V triple: the NMDU links those four LLVM targets)"
        )),
        other => DriverError::Run(other.to_string()),
    };
    if cli.to_nmdu {
        return write_output(out, &cli.output, plan.to_string().as_bytes());
    }
    if cli.to_llvm_ir {
        let ir = cim_nmdu::codegen::program_llvm_ir(&plan, cli.triple.as_deref())
            .map_err(codegen_error)?;
        return write_output(out, &cli.output, ir.as_bytes());
    }
    let object =
        cim_nmdu::codegen::program_object(&plan, cli.triple.as_deref().unwrap_or("x86_64"))
            .map_err(codegen_error)?;
    write_output(out, &cli.output, &object)?;
    let _ = writeln!(
        err,
        "wrote {} NMDU functions ({} bytes) to {}",
        plan.groups.len() + plan.elementwise.len() + usize::from(plan.matmul.is_some()),
        object.len(),
        cli.output.display()
    );
    Ok(())
}
