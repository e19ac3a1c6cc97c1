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

/// Malformed graphs are refused where they enter, each with one line naming the
/// node or tensor and what is wrong, exit code 1, never a panic: a node missing a
/// required input or its output, a node of another domain, Unsqueeze and Concat
/// axes outside the tensor, a weight holding NaN or inf or too few values, two
/// initializers of one name, a graph without outputs, a NaN attribute.
#[test]
fn malformed_graphs_get_one_clear_line() {
    let dir = scratch("malformed");
    let path = dir.join("model.onnx");
    let artifact = dir.join("artifact");
    let compile = |model: &tract_onnx::pb::ModelProto| {
        std::fs::write(&path, encode(model)).unwrap();
        cimc(&[
            "compile",
            path.to_str().unwrap(),
            "-o",
            artifact.to_str().unwrap(),
        ])
    };
    type Edit = fn(&mut tract_onnx::pb::GraphProto);
    let cases: [(&str, Edit); 11] = [
        ("input 1 is missing: the operator needs 2 inputs", |g| {
            g.node[0].input.truncate(1)
        }),
        ("output 0 is not named", |g| g.node[0].output.clear()),
        (
            "of domain 'com.example' is not one the importer knows",
            |g| g.node[0].domain = "com.example".into(),
        ),
        (
            "holds NaN at flat index 2: weights must be finite numbers",
            |g| {
                let w = &mut g.initializer[0];
                w.raw_data[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
            },
        ),
        (
            "holds inf at flat index 0: weights must be finite numbers",
            |g| {
                let w = &mut g.initializer[0];
                w.raw_data[0..4].copy_from_slice(&f32::INFINITY.to_le_bytes());
            },
        ),
        ("values for shape", |g| {
            let w = &mut g.initializer[0];
            w.raw_data.truncate(8)
        }),
        ("the graph has no outputs", |g| g.output.clear()),
        ("attribute 'alpha' is NaN: give a finite number", |g| {
            g.node[0].attribute.push(tract_onnx::pb::AttributeProto {
                name: "alpha".into(),
                f: f32::NAN,
                r#type: 1,
                ..Default::default()
            })
        }),
        ("two initializers are named", |g| {
            let copy = g.initializer[0].clone();
            g.initializer.push(copy)
        }),
        ("axis 5 is outside a tensor of rank 3", |g| {
            let mut node = g.node[0].clone();
            node.op_type = "Unsqueeze".into();
            node.input = vec![g.node[0].input[0].clone(), "axes".into()];
            node.output = vec!["unsqueezed".into()];
            node.name = "bad_unsqueeze".into();
            node.attribute.clear();
            g.initializer.push(tract_onnx::pb::TensorProto {
                name: "axes".into(),
                dims: vec![1],
                data_type: 7,
                int64_data: vec![5],
                ..Default::default()
            });
            g.node.insert(0, node);
        }),
        ("input 0 is missing: the operator needs 1 input", |g| {
            let mut node = g.node[0].clone();
            node.op_type = "Concat".into();
            node.input.clear();
            node.output = vec!["joined".into()];
            node.attribute.clear();
            g.node.insert(0, node);
        }),
    ];
    for (expected, edit) in cases {
        let (mut model, _) = network(7, 1, &[4, 3], false, false);
        edit(model.graph.as_mut().unwrap());
        let (code, stderr) = compile(&model);
        assert_eq!(code, 1, "{expected}: {stderr}");
        assert!(
            stderr.contains(expected),
            "expected '{expected}' in: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
}

/// Weights stored beside the model (external data, as the dynamo exporter writes
/// them) are read from the model's directory only: a missing data file, a location
/// leaving the directory and a range past the file's end are refused by name.
#[test]
fn external_data_is_read_beside_the_model_only() {
    let fixtures = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let bytes = std::fs::read(fixtures.join("digits-vit-dynamo.onnx")).unwrap();
    let dir = scratch("external-data");
    let path = dir.join("model.onnx");
    let artifact = dir.join("artifact");
    let compile = |model_bytes: &[u8]| {
        std::fs::write(&path, model_bytes).unwrap();
        cimc(&[
            "compile",
            path.to_str().unwrap(),
            "-o",
            artifact.to_str().unwrap(),
        ])
    };
    let (code, stderr) = compile(&bytes);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("external data file") && stderr.contains("keep it beside the model"),
        "{stderr}"
    );

    let mut model: tract_onnx::pb::ModelProto = prost::Message::decode(&bytes[..]).unwrap();
    let tensor = model
        .graph
        .as_mut()
        .unwrap()
        .initializer
        .iter_mut()
        .find(|t| !t.external_data.is_empty())
        .unwrap();
    let name = tensor.name.clone();
    for entry in &mut tensor.external_data {
        if entry.key == "location" {
            entry.value = "../elsewhere.data".into();
        }
    }
    let (code, stderr) = compile(&encode(&model));
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!("tensor '{name}'"))
            && stderr.contains("leaves the model's directory"),
        "{stderr}"
    );

    std::fs::copy(
        fixtures.join("digits-vit-dynamo.onnx.data"),
        dir.join("digits-vit-dynamo.onnx.data"),
    )
    .unwrap();
    let mut model: tract_onnx::pb::ModelProto = prost::Message::decode(&bytes[..]).unwrap();
    for tensor in &mut model.graph.as_mut().unwrap().initializer {
        for entry in &mut tensor.external_data {
            if entry.key == "offset" {
                entry.value = "1000000".into();
            }
        }
    }
    let (code, stderr) = compile(&encode(&model));
    assert_eq!(code, 1);
    assert!(stderr.contains("runs past the end"), "{stderr}");
    // The untouched model next to its data compiles.
    let (code, stderr) = compile(&bytes);
    assert_eq!(code, 0, "{stderr}");
}
