//! One guard per tool: a bug that panics (on any thread) surfaces as one line,
//! "internal error in <stage>: <message>; please report", and exit code 3, never a
//! Rust panic trace or an abort. Inputs are checked where they enter, so this line
//! always means a bug in cim, not in what the user gave it.

use std::sync::Mutex;

/// Exit code of an internal error.
pub const EXIT_INTERNAL: u8 = 3;

/// What the tool is doing, named in an internal error.
static STAGE: Mutex<String> = Mutex::new(String::new());

/// A file to write if the tool panics now, and its contents: the reproducer of
/// the step running (`cim-opt --mlir-pass-pipeline-crash-reproducer`).
static REPRODUCER: Mutex<Option<(std::path::PathBuf, String)>> = Mutex::new(None);

/// Sets (or clears) the reproducer written if the tool panics.
pub fn reproducer(what: Option<(std::path::PathBuf, String)>) {
    match REPRODUCER.lock() {
        Ok(mut slot) => *slot = what,
        Err(poisoned) => *poisoned.into_inner() = what,
    }
}

/// Installs the guard for `tool` (`cimc`, `cim-opt`, ...). Set `RUST_BACKTRACE=1`
/// to get the panic's backtrace as well, when debugging cim itself.
pub fn install(tool: &'static str) {
    stage(tool);
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        let place = info
            .location()
            .map(|l| format!(" (at {}:{})", l.file(), l.line()))
            .unwrap_or_default();
        let stage = STAGE
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone());
        eprintln!(
            "{tool}: internal error in {stage}: {message}{place}; please report it with the command and its inputs"
        );
        let reproducer = REPRODUCER
            .lock()
            .map(|r| r.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone());
        if let Some((path, text)) = reproducer {
            match std::fs::write(&path, text) {
                Ok(()) => eprintln!("{tool}: wrote a reproducer to {}", path.display()),
                Err(error) => eprintln!(
                    "{tool}: cannot write the reproducer {}: {error}",
                    path.display()
                ),
            }
        }
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
        }
        std::process::exit(i32::from(EXIT_INTERNAL));
    }));
    // The test suite checks the guard with a deliberate panic on another thread.
    if std::env::var_os("CIM_GUARD_SELF_TEST").is_some() {
        let _ = std::thread::spawn(|| panic!("the guard's self-test")).join();
    }
}

/// Names what the tool does from now on (`compile`, `eval: full fidelity`, ...).
pub fn stage(name: impl Into<String>) {
    let name = name.into();
    match STAGE.lock() {
        Ok(mut stage) => *stage = name,
        Err(poisoned) => *poisoned.into_inner() = name,
    }
}
