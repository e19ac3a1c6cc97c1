//! The ONNX frontend on models it has never seen: random MLP-like graphs (layer
//! sizes, Gemm flags, activations, broadcast constants, flatten, softmax) are built
//! here, run by tract as the reference, compiled with `cimc`, and run at exact
//! fidelity: outputs must agree to 1e-5 with the same top-1. Links tract, not MLIR.

use proptest::prelude::*;
use std::{path::PathBuf, process::Command};
use tract_onnx::pb::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
    attribute_proto::AttributeType,
    tensor_shape_proto::{Dimension, dimension},
    type_proto,
};
use tract_onnx::prelude::*;

struct Builder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    counter: usize,
    state: u64,
}

impl Builder {
    fn random(&mut self) -> f32 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        ((self.state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32
    }

    fn name(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    fn constant(&mut self, dims: &[i64]) -> String {
        let name = self.name("w");
        let count = dims.iter().product::<i64>() as usize;
        let values: Vec<f32> = (0..count).map(|_| self.random()).collect();
        self.initializers.push(TensorProto {
            name: name.clone(),
            dims: dims.to_vec(),
            data_type: 1,
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name
    }

    fn node(&mut self, op: &str, inputs: Vec<String>, attributes: Vec<AttributeProto>) -> String {
        let output = self.name("v");
        let name = self.name(&op.to_lowercase());
        self.nodes.push(NodeProto {
            name,
            op_type: op.into(),
            input: inputs,
            output: vec![output.clone()],
            attribute: attributes,
            ..Default::default()
        });
        output
    }
}

fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: value,
        r#type: AttributeType::Int as i32,
        ..Default::default()
    }
}

fn float(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f: value,
        r#type: AttributeType::Float as i32,
        ..Default::default()
    }
}

fn value_info(name: &str, dims: &[Option<i64>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Some(v) => dimension::Value::DimValue(*v),
                None => dimension::Value::DimParam("batch".into()),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: 1,
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A random network: (model, input dims).
fn network(
    seed: u64,
    layers: usize,
    widths: &[i64],
    image: bool,
    softmax: bool,
) -> (ModelProto, Vec<usize>) {
    let mut b = Builder {
        nodes: vec![],
        initializers: vec![],
        counter: 0,
        state: seed | 1,
    };
    let batch = 3usize;
    let (input_dims, mut value, mut features): (Vec<Option<i64>>, String, i64) = if image {
        let (c, h, w) = (2, 3, widths[0].max(1));
        let flat = b.node("Flatten", vec!["input".into()], vec![int("axis", 1)]);
        (vec![None, Some(c), Some(h), Some(w)], flat, c * h * w)
    } else {
        (vec![None, Some(widths[0])], "input".into(), widths[0])
    };
    for layer in 0..layers {
        let out = widths[(layer + 1) % widths.len()].max(1);
        let choice = (b.random().abs() * 1000.0) as usize;
        value = if choice.is_multiple_of(3) {
            let w = b.constant(&[features, out]);
            b.node("MatMul", vec![value, w], vec![])
        } else {
            let trans = choice % 2 == 1;
            let shape = if trans {
                [out, features]
            } else {
                [features, out]
            };
            let w = b.constant(&shape);
            let bias = b.constant(&[out]);
            let attributes = vec![
                int("transB", trans as i64),
                float("alpha", 0.5 + b.random().abs()),
                float("beta", 0.5 + b.random().abs()),
            ];
            b.node("Gemm", vec![value, w, bias], attributes)
        };
        features = out;
        value = match choice % 7 {
            0 => b.node("Relu", vec![value], vec![]),
            1 => b.node("LeakyRelu", vec![value], vec![float("alpha", 0.1)]),
            2 => b.node("Sigmoid", vec![value], vec![]),
            3 => b.node("Tanh", vec![value], vec![]),
            4 => {
                let (lo, hi) = (b.constant(&[]), b.constant(&[]));
                // Make sure lo < hi.
                let (lo, hi) = if b.initializers[b.initializers.len() - 2].raw_data
                    < b.initializers[b.initializers.len() - 1].raw_data
                {
                    (lo, hi)
                } else {
                    (hi, lo)
                };
                b.node("Clip", vec![value, lo, hi], vec![])
            }
            5 => {
                let c = b.constant(&[1, features]);
                b.node("Sub", vec![value, c], vec![])
            }
            _ => {
                let c = b.constant(&[features]);
                b.node("Mul", vec![value, c], vec![])
            }
        };
    }
    if softmax {
        value = b.node("Softmax", vec![value], vec![int("axis", -1)]);
    }
    let graph = GraphProto {
        name: "random".into(),
        node: b.nodes,
        initializer: b.initializers,
        input: vec![value_info("input", &input_dims)],
        output: vec![value_info(&value, &[None, Some(features)])],
        ..Default::default()
    };
    let model = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(graph),
        ..Default::default()
    };
    let dims = input_dims
        .iter()
        .map(|d| d.map_or(batch, |v| v as usize))
        .collect();
    (model, dims)
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("onnx")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn cimc(arguments: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_cimc"))
        .args(arguments)
        .output()
        .expect("cimc runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn encode(model: &ModelProto) -> Vec<u8> {
    prost::Message::encode_to_vec(model)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn unseen_models_match_tract(
        seed in any::<u64>(),
        layers in 1usize..=3,
        widths in proptest::collection::vec(1i64..=40, 4),
        image: bool,
        softmax: bool,
    ) {
        let (model, dims) = network(seed, layers, &widths, image, softmax);
        let dir = scratch(&format!("m{seed}"));
        let path = dir.join("model.onnx");
        std::fs::write(&path, encode(&model)).unwrap();

        // Reference: tract on the same file.
        let mut state = seed | 3;
        let count: usize = dims.iter().product();
        let input: Vec<f32> = (0..count).map(|_| { state = state.wrapping_mul(6364136223846793005).wrapping_add(1); ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0 }).collect();
        let runnable = tract_onnx::onnx()
            .model_for_path(&path).unwrap()
            .with_input_fact(0, f32::fact(&dims).into()).unwrap()
            .into_optimized().unwrap()
            .into_runnable().unwrap();
        let tensor = tract_ndarray::ArrayD::from_shape_vec(dims.clone(), input.clone()).unwrap();
        let reference = runnable.run(tvec!(tensor.into_tensor().into())).unwrap();
        let reference = reference[0].to_plain_array_view::<f32>().unwrap().to_owned();

        let x = dir.join("x.npy");
        cim_npy::write_f32(&x, &ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&dims), input.iter().map(|&v| f64::from(v)).collect()).unwrap()).unwrap();
        let artifact = dir.join("artifact");
        let (code, stderr) = cimc(&["compile", path.to_str().unwrap(), "-o", artifact.to_str().unwrap()]);
        prop_assert_eq!(code, 0, "{}", stderr);
        let y = dir.join("y.npy");
        let (code, stderr) = cimc(&["run", artifact.to_str().unwrap(), "--input", x.to_str().unwrap(), "--output", y.to_str().unwrap(), "--fidelity", "exact"]);
        prop_assert_eq!(code, 0, "{}", stderr);
        let ours = cim_npy::read(&y).unwrap();
        prop_assert_eq!(ours.shape(), reference.shape());
        for (row, (a, b)) in ours.outer_iter().zip(reference.outer_iter()).enumerate() {
            for (x, y) in a.iter().zip(b.iter()) {
                let y = f64::from(*y);
                prop_assert!((x - y).abs() <= 1e-5 * y.abs().max(1.0), "row {}: {} vs tract {}", row, x, y);
            }
            let top = |v: Vec<f64>| v.iter().enumerate().fold((0, f64::NEG_INFINITY), |m, (i, &x)| if x > m.1 { (i, x) } else { m }).0;
            let (ta, tb) = (top(a.iter().copied().collect()), top(b.iter().map(|&v| f64::from(v)).collect()));
            // A tie within the tolerance may order differently; otherwise top-1 agrees.
            let gap = (f64::from(b[ta]) - f64::from(b[tb])).abs();
            prop_assert!(ta == tb || gap <= 1e-5, "row {}: top-1 {} vs tract {}", row, ta, tb);
        }
    }
}

#[test]
fn unsupported_nodes_and_opsets_are_named() {
    let dir = scratch("errors");
    let (mut model, _) = network(7, 1, &[4, 3], false, false);
    model.graph.as_mut().unwrap().node[0].op_type = "Einsum".into();
    let name = model.graph.as_ref().unwrap().node[0].name.clone();
    let path = dir.join("einsum.onnx");
    std::fs::write(&path, encode(&model)).unwrap();
    let (code, stderr) = cimc(&[
        "compile",
        path.to_str().unwrap(),
        "-o",
        dir.join("a").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!(
            "node '{name}' (Einsum, opset 17): operator Einsum is not supported"
        )),
        "{stderr}"
    );

    let (mut model, _) = network(7, 1, &[4, 3], false, false);
    model.opset_import[0].version = 9;
    std::fs::write(&path, encode(&model)).unwrap();
    let (code, stderr) = cimc(&[
        "compile",
        path.to_str().unwrap(),
        "-o",
        dir.join("a").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("uses ONNX opset 9; cim imports opsets 13 to 18"),
        "{stderr}"
    );

    std::fs::write(&path, b"this is not protobuf").unwrap();
    let (code, stderr) = cimc(&[
        "compile",
        path.to_str().unwrap(),
        "-o",
        dir.join("a").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not an ONNX model"), "{stderr}");
}
