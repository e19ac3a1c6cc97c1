//! `cim-translate`: mapped cim IR to and from the crossbar program (a JSON manifest
//! of arrays and MVMs, safetensors weights, and the MLIR glue), like mlir-translate.

use cim_driver::{DriverError, compile, program};
use cim_ir::CimContext;
use clap::{ArgGroup, Parser};
use std::{path::PathBuf, process::ExitCode};

#[derive(Parser)]
#[command(
    name = "cim-translate",
    version,
    about = "Translate mapped cim IR to and from the crossbar program",
    group(ArgGroup::new("direction").required(true).args(["to_crossbar_program", "from_crossbar_program"])),
    after_help = "Exit status: 0 success; 1 the input is invalid; 2 the command line is wrong."
)]
struct Cli {
    /// Mapped MLIR (to), or a crossbar program directory (from).
    input: PathBuf,
    /// Write the crossbar program of mapped MLIR into the -o directory.
    #[arg(long)]
    to_crossbar_program: bool,
    /// Read a crossbar program directory back into MLIR (weights restored).
    #[arg(long)]
    from_crossbar_program: bool,
    /// The entry function (default: the first public func.func).
    #[arg(long)]
    function: Option<String>,
    /// Output: a directory (to) or a file, `-` for stdout (from).
    #[arg(short, long, default_value = "-")]
    output: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cim-translate: error: {error}");
            ExitCode::from(if matches!(error, DriverError::Usage(_)) {
                2
            } else {
                1
            })
        }
    }
}

fn run(cli: &Cli) -> Result<(), DriverError> {
    let cim = CimContext::new().map_err(|error| DriverError::Run(error.to_string()))?;
    if cli.to_crossbar_program {
        if cli.output.as_os_str() == "-" {
            return Err(DriverError::Usage(
                "--to-crossbar-program writes a directory: give it with -o DIR".into(),
            ));
        }
        let (module, _) = compile::parse_model(&cim, &cli.input)?;
        let function = match &cli.function {
            Some(function) => function.clone(),
            None => compile::entry_function(&module).ok_or_else(|| {
                DriverError::Usage(format!(
                    "{}: no public func.func: name the entry with --function",
                    cli.input.display()
                ))
            })?,
        };
        let written = program::write(&module, &function, &cli.output)?;
        eprintln!(
            "wrote {} arrays and {} MVMs of @{function} to {}",
            written.arrays.len(),
            written.mvms.len(),
            cli.output.display()
        );
        return Ok(());
    }
    let (module, _) = program::read(&cim, &cli.input)?;
    let text = module.as_operation().to_string();
    if cli.output.as_os_str() == "-" {
        print!("{text}");
        Ok(())
    } else {
        std::fs::write(&cli.output, text).map_err(|error| DriverError::File {
            path: cli.output.display().to_string(),
            message: error.to_string(),
        })
    }
}
