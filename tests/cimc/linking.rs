//! What the tools link, which every start pays for (`build.rs`,
//! `crates/cim-ir/src/context.rs`, `backends/nmdu/src/codegen/targets.rs`): the
//! NMDU's CPU backends and no GPU one (MLIR's register-everything functions once
//! linked AMDGPU, NVPTX and SPIR-V, 178 static initialisers run at every start), and
//! the C++ runtime linked in (against the shared one, 7,266 pointers were bound at
//! every start). Read from the binaries' own bytes: their symbol names and the
//! libraries they ask the loader for.

#![cfg(target_os = "linux")]

/// The named binary of this build.
fn tool(name: &str) -> Vec<u8> {
    let path = match name {
        "cimc" => env!("CARGO_BIN_EXE_cimc"),
        "cim-opt" => env!("CARGO_BIN_EXE_cim-opt"),
        "cim-translate" => env!("CARGO_BIN_EXE_cim-translate"),
        _ => unreachable!("a tool of this package"),
    };
    std::fs::read(path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn holds(binary: &[u8], text: &str) -> bool {
    memchr::memmem::find(binary, text.as_bytes()).is_some()
}

#[test]
fn the_tools_link_the_nmdu_backends_and_no_gpu_backend() {
    for name in ["cimc", "cim-translate"] {
        let binary = tool(name);
        // The symbol names are there: the NMDU's own backends are found.
        for kept in [
            "X86TargetMachine",
            "AArch64TargetMachine",
            "RISCVTargetMachine",
        ] {
            assert!(holds(&binary, kept), "{name} has no {kept}");
        }
        for gone in [
            "AMDGPUTargetMachine",
            "NVPTXTargetMachine",
            "SPIRVTargetMachine",
        ] {
            assert!(!holds(&binary, gone), "{name} links {gone}");
        }
    }
}

#[test]
fn the_tools_need_no_shared_cxx_runtime() {
    for name in ["cimc", "cim-opt", "cim-translate"] {
        let binary = tool(name);
        assert!(holds(&binary, "libc.so.6"), "{name} names no libc");
        assert!(
            !holds(&binary, "libstdc++.so"),
            "{name} asks for libstdc++.so"
        );
    }
}
