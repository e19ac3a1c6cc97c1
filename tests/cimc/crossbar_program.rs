//! The crossbar program written by `cimc compile` (`program/program.json`): it reads
//! back with `cim-translate --from-crossbar-program` into exactly the mapped module.

use crate::support::compile_model;
use std::process::Command;

/// The crossbar program `cimc compile` writes reads back (cim-translate) into exactly
/// the mapped module.
#[test]
fn crossbar_program_round_trips() {
    let artifact = compile_model("digits-cnn.onnx", "program", &[]);
    let tool = |binary: &str, arguments: &[&str]| {
        let output = Command::new(binary)
            .args(arguments)
            .output()
            .expect("the tool runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let program = artifact.join("program");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(program.join("program.json")).unwrap())
            .unwrap();
    let mapped_text = std::fs::read_to_string(artifact.join("mapped.mlir")).unwrap();
    assert_eq!(
        json["arrays"].as_array().unwrap().len(),
        mapped_text.matches("\"cim.crossbar\"").count()
    );
    let back = tool(
        env!("CARGO_BIN_EXE_cim-translate"),
        &[program.to_str().unwrap(), "--from-crossbar-program"],
    );
    let mapped = tool(
        env!("CARGO_BIN_EXE_cim-opt"),
        &[artifact.join("mapped.mlir").to_str().unwrap()],
    );
    assert_eq!(back, mapped);
}
