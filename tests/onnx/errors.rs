//! What the frontend refuses, named: unsupported operators, opsets out of range,
//! bytes that are not an ONNX model.

use crate::networks::network;
use crate::support::{cimc, encode, scratch};

#[test]
fn unsupported_nodes_and_opsets_are_named() {
    let dir = scratch("errors");
    let path = dir.join("model.onnx");
    let artifact = dir.join("artifact");
    let compile_bytes = |bytes: &[u8]| {
        std::fs::write(&path, bytes).unwrap();
        cimc(&[
            "compile",
            path.to_str().unwrap(),
            "-o",
            artifact.to_str().unwrap(),
        ])
    };

    let (mut model, _) = network(7, 1, &[4, 3], false, false);
    model.graph.as_mut().unwrap().node[0].op_type = "Einsum".into();
    let name = model.graph.as_ref().unwrap().node[0].name.clone();
    let (code, stderr) = compile_bytes(&encode(&model));
    assert_eq!(code, 1);
    let expected = format!("node '{name}' (Einsum, opset 17): operator Einsum is not supported");
    assert!(stderr.contains(&expected), "{stderr}");

    let (mut model, _) = network(7, 1, &[4, 3], false, false);
    model.opset_import[0].version = 9;
    let (code, stderr) = compile_bytes(&encode(&model));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("uses ONNX opset 9; cim imports opsets 13 to 18"),
        "{stderr}"
    );

    let (code, stderr) = compile_bytes(b"this is not protobuf");
    assert_eq!(code, 1);
    assert!(stderr.contains("not an ONNX model"), "{stderr}");
}
