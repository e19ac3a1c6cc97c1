//! Compiles the small C++ shim (cpp/shim.cpp) against the MLIR headers of the
//! installation that mlir-sys links (MLIR_SYS_220_PREFIX, set in .cargo/config.toml).

fn main() {
    let prefix = std::env::var("MLIR_SYS_220_PREFIX").unwrap_or_else(|_| "/usr/lib/llvm-22".into());
    println!("cargo:rerun-if-changed=cpp/shim.cpp");
    println!("cargo:rerun-if-env-changed=MLIR_SYS_220_PREFIX");
    cc::Build::new()
        .cpp(true)
        .file("cpp/shim.cpp")
        .include(format!("{prefix}/include"))
        .flag("-std=c++17")
        .flag("-fno-exceptions")
        .flag("-fno-rtti")
        .warnings(false)
        .compile("cim_ir_shim");
}
