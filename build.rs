//! How the command-line tools (`cimc`, `cim-opt`, `cim-translate`) link, for a
//! quick start: they start on every call of a sweep, a test or the Python module.
//!
//! - Position-dependent executables. They link LLVM and MLIR statically, whose
//!   tables of pointers (3.7 MB of `.data.rel.ro`) a position-independent
//!   executable relocates page by page at every start: `cimc --version` took
//!   11.4-11.9 ms so and 8.1-9.4 ms after (`perf stat -r 30`).
//! - The C++ runtime linked in (`libstdc++.a`). LLVM's and MLIR's classes point at
//!   the runtime's type-information tables: against the shared `libstdc++.so`,
//!   7,266 of those pointers are bound when the process starts, in pages all over
//!   `.data.rel.ro`, and the library itself is loaded and relocated. Linked in,
//!   they are fixed when the binary is linked: `cimc --version` 5.1-5.2 ms ->
//!   3.9-4.0 ms, 1020 -> 768 page faults (`perf stat -r 30`, the two builds
//!   alternating), and the binaries (and the wheel's) no longer need the
//!   machine's C++ runtime to be as new as the build machine's.
//!
//! Only the package's own targets (the tools and the tests): the libraries and the
//! proc macros keep the defaults.
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CXX");
    // GNU's runtime on Linux; elsewhere the platform's own runtime, as it is.
    let gnu_linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if !gnu_linux {
        return;
    }
    match static_cxx_runtime() {
        Ok(directory) => {
            println!("cargo:rustc-link-search=native={}", directory.display());
        }
        // The shared runtime still works: say why the start is slower.
        Err(why) => println!("cargo:warning=linking the shared C++ runtime: {why}"),
    }
}

/// A directory holding the C++ compiler's `libstdc++.a` and nothing else. The
/// LLVM and MLIR crates ask for `-lstdc++`; the linker takes the first directory
/// of its search path that has the library, shared or static, and the directories
/// given with `-L` come before the compiler's own, so the archive is found first.
fn static_cxx_runtime() -> Result<PathBuf, String> {
    let compiler = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    let output = Command::new(&compiler)
        .arg("-print-file-name=libstdc++.a")
        .output()
        .map_err(|error| format!("{compiler} -print-file-name=libstdc++.a: {error}"))?;
    let archive = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    // Without the file the compiler prints the bare name back.
    if !archive.is_absolute() || !archive.is_file() {
        return Err(format!(
            "{compiler} has no libstdc++.a (Debian: apt install libstdc++-12-dev)"
        ));
    }
    let directory =
        Path::new(&std::env::var("OUT_DIR").map_err(|e| e.to_string())?).join("static-cxx-runtime");
    std::fs::create_dir_all(&directory).map_err(|e| e.to_string())?;
    let copy = directory.join("libstdc++.a");
    std::fs::copy(&archive, &copy).map_err(|error| format!("{}: {error}", copy.display()))?;
    Ok(directory)
}
