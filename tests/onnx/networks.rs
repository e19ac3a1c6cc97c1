//! Random networks from a seed and a few choices: MLP-like graphs, small CNNs,
//! recurrent classifiers (LSTM, GRU) as torch exports them, and token-wise
//! projections. Each returns the model and its input dims.

use crate::builder::{Builder, float, int, int_constant, ints, model, tensor_attribute};
use tract_onnx::pb::{ModelProto, NodeProto, TensorProto};

/// A random network: (model, input dims).
pub fn network(
    seed: u64,
    layers: usize,
    widths: &[i64],
    image: bool,
    softmax: bool,
) -> (ModelProto, Vec<usize>) {
    let mut b = Builder::new(seed);
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
    let model = model("random", b, &input_dims, &value, features);
    let dims = input_dims
        .iter()
        .map(|d| d.map_or(batch, |v| v as usize))
        .collect();
    (model, dims)
}

/// A random small CNN: conv (kernel, stride, padding, dilation), optional batch
/// normalization, an activation, a pooling, flatten, dense. (model, input dims).
pub fn conv_network(seed: u64, choices: [usize; 8]) -> (ModelProto, Vec<usize>) {
    let mut b = Builder::new(seed);
    let (c, h, w) = (1 + choices[0] % 3, 4 + choices[1] % 5, 4 + choices[2] % 5);
    // Grouped (depthwise when filters == channels) for about half the multi-channel
    // inputs.
    let grouped = c > 1 && choices[5] % 4 >= 2;
    let filters = if grouped {
        c * (1 + choices[3] % 2)
    } else {
        1 + choices[3] % 6
    };
    let kernel = 1 + choices[4] % 3;
    let stride = 1 + choices[5] % 2;
    let pad = choices[6] % 2;
    let dilation = if kernel > 1 && choices[7].is_multiple_of(3) {
        2
    } else {
        1
    };
    let span = |size: usize| {
        (size + 2 * pad)
            .checked_sub(dilation * (kernel - 1) + 1)
            .map(|s| s / stride + 1)
    };
    let (oh, ow) = (span(h).unwrap_or(1), span(w).unwrap_or(1));
    let dilation = if span(h).is_some() && span(w).is_some() {
        dilation
    } else {
        1
    };
    let groups = if grouped { c } else { 1 };
    let per_group = c / groups;
    let weight = b.constant(&[
        filters as i64,
        per_group as i64,
        kernel as i64,
        kernel as i64,
    ]);
    let bias = b.constant(&[filters as i64]);
    let p = pad as i64;
    let mut value = b.node(
        "Conv",
        vec!["input".into(), weight, bias],
        vec![
            ints("kernel_shape", &[kernel as i64; 2]),
            ints("strides", &[stride as i64; 2]),
            ints("pads", &[p, p, p, p]),
            ints("dilations", &[dilation as i64; 2]),
            int("group", groups as i64),
        ],
    );
    let (oh, ow) = if span(h).is_some() && span(w).is_some() {
        (oh, ow)
    } else {
        // Fall back to a 1x1 kernel: always valid.
        b.nodes.last_mut().unwrap().attribute = vec![int("group", groups as i64)];
        let last = b.initializers.len() - 2;
        b.initializers[last].dims = vec![filters as i64, per_group as i64, 1, 1];
        b.initializers[last]
            .raw_data
            .truncate(filters * per_group * 4);
        (h, w)
    };
    if choices[0].is_multiple_of(2) {
        let scale = b.constant(&[filters as i64]);
        let shift = b.constant(&[filters as i64]);
        let mean = b.constant(&[filters as i64]);
        let var = b.constant(&[filters as i64]);
        // Variances must be positive.
        let last = b.initializers.len() - 1;
        let positive: Vec<u8> = b.initializers[last]
            .raw_data
            .chunks(4)
            .flat_map(|c| (f32::from_le_bytes([c[0], c[1], c[2], c[3]]).abs() + 0.1).to_le_bytes())
            .collect();
        b.initializers[last].raw_data = positive;
        value = b.node(
            "BatchNormalization",
            vec![value, scale, shift, mean, var],
            vec![float("epsilon", 1e-5)],
        );
    }
    value = match choices[1] % 3 {
        0 => b.node("Relu", vec![value], vec![]),
        1 => b.node("LeakyRelu", vec![value], vec![float("alpha", 0.2)]),
        _ => b.node("Sigmoid", vec![value], vec![]),
    };
    let (ph, pw) = match choices[2] % 4 {
        0 if oh >= 2 && ow >= 2 => {
            value = b.node(
                "MaxPool",
                vec![value],
                vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])],
            );
            (oh / 2, ow / 2)
        }
        1 => {
            value = b.node(
                "MaxPool",
                vec![value],
                vec![
                    ints("kernel_shape", &[2, 2]),
                    ints("strides", &[1, 1]),
                    ints("pads", &[1, 1, 0, 0]),
                ],
            );
            (oh, ow)
        }
        2 if oh >= 2 && ow >= 2 => {
            value = b.node(
                "AveragePool",
                vec![value],
                vec![ints("kernel_shape", &[2, 2]), ints("strides", &[1, 1])],
            );
            (oh - 1, ow - 1)
        }
        _ => {
            value = b.node("GlobalAveragePool", vec![value], vec![]);
            (1, 1)
        }
    };
    let features = (filters * ph * pw) as i64;
    value = if choices[4].is_multiple_of(2) {
        b.node("Flatten", vec![value], vec![int("axis", 1)])
    } else {
        // x.view(x.size(0), -1), as torch exports it.
        let shape = b.node("Shape", vec![value.clone()], vec![]);
        let zero = int_constant(&mut b, &[0]);
        let batch = b.node("Gather", vec![shape, zero], vec![int("axis", 0)]);
        let rest = int_constant(&mut b, &[-1]);
        let target = b.node("Concat", vec![batch, rest], vec![int("axis", 0)]);
        b.node("Reshape", vec![value, target], vec![])
    };
    let out = 2 + (choices[3] % 5) as i64;
    let dense = b.constant(&[out, features]);
    let dense_bias = b.constant(&[out]);
    value = b.node(
        "Gemm",
        vec![value, dense, dense_bias],
        vec![int("transB", 1)],
    );
    let input_dims = vec![None, Some(c as i64), Some(h as i64), Some(w as i64)];
    let model = model("random_cnn", b, &input_dims, &value, out);
    (model, vec![2, c, h, w])
}

/// A random recurrent classifier as torch exports it: the initial state built by a
/// Shape/Gather/Unsqueeze/Concat/ConstantOfShape subgraph from the dynamic batch,
/// an LSTM or GRU (GRU with either reset placement), the last
/// hidden state (Y_h squeezed, or Y gathered at the last step) into a dense layer.
pub fn recurrent_network(seed: u64, choices: [usize; 6]) -> (ModelProto, Vec<usize>) {
    let mut b = Builder::new(seed);
    let lstm = choices[0].is_multiple_of(2);
    // Two features or more: tract 0.23's GRU fails on a single one ("xw not contiguous").
    let (steps, features, hidden) = (1 + choices[1] % 5, 2 + choices[2] % 5, 1 + choices[3] % 7);
    let gates = if lstm { 4 } else { 3 };
    let (t, i, h, g) = (steps as i64, features as i64, hidden as i64, gates as i64);
    let shape = b.node("Shape", vec!["input".into()], vec![]);
    let one = int_constant(&mut b, &[1]);
    let batch = b.node("Gather", vec![shape, one.clone()], vec![int("axis", 0)]);
    let hidden_size = int_constant(&mut b, &[h]);
    let state_shape = b.node(
        "Concat",
        vec![one, batch, hidden_size],
        vec![int("axis", 0)],
    );
    let initial = b.node(
        "ConstantOfShape",
        vec![state_shape],
        vec![tensor_attribute("value", 0.25)],
    );
    let w = b.constant(&[1, g * h, i]);
    let r = b.constant(&[1, g * h, h]);
    let bias = b.constant(&[1, 2 * g * h]);
    let mut attributes = vec![int("hidden_size", h)];
    // Forward only: tract 0.23 computes direction=reverse as forward (onnxruntime
    // does not), so reverse layers are checked against onnxruntime fixtures instead
    // (fixtures_match_onnxruntime).
    if !lstm && !choices[5].is_multiple_of(3) {
        attributes.push(int("linear_before_reset", 1));
    }
    let mut inputs = vec!["input".into(), w, r, bias, String::new(), initial.clone()];
    if lstm {
        inputs.push(initial);
    }
    let y = b.name("y");
    let y_h = b.name("y_h");
    let mut outputs = vec![y.clone(), y_h.clone()];
    if lstm {
        outputs.push(b.name("y_c"));
    }
    let name = b.name("rnn");
    b.nodes.push(NodeProto {
        name,
        op_type: if lstm { "LSTM" } else { "GRU" }.into(),
        input: inputs,
        output: outputs,
        attribute: attributes,
        ..Default::default()
    });
    let last = if choices[5].is_multiple_of(2) {
        let axes = int_constant(&mut b, &[0]);
        b.node("Squeeze", vec![y_h, axes], vec![])
    } else {
        let axes = int_constant(&mut b, &[1]);
        let y = b.node("Squeeze", vec![y, axes], vec![]);
        let index = b.name("last");
        b.initializers.push(TensorProto {
            name: index.clone(),
            dims: vec![],
            data_type: 7,
            int64_data: vec![-1],
            ..Default::default()
        });
        b.node("Gather", vec![y, index], vec![int("axis", 0)])
    };
    let out = 2 + (choices[4] % 4) as i64;
    let dense = b.constant(&[out, h]);
    let dense_bias = b.constant(&[out]);
    let logits = b.node(
        "Gemm",
        vec![last, dense, dense_bias],
        vec![int("transB", 1)],
    );
    let model = model("random_rnn", b, &[Some(t), None, Some(i)], &logits, out);
    (model, vec![steps, 3, features])
}

/// A token-wise projection, as in a transformer: (batch, tokens, features) times a
/// constant (features, hidden) MatMul, bias, tanh, flatten, dense.
pub fn sequence_network(seed: u64, choices: [usize; 4]) -> (ModelProto, Vec<usize>) {
    let mut b = Builder::new(seed);
    let (tokens, features, hidden) = (1 + choices[0] % 5, 1 + choices[1] % 7, 1 + choices[2] % 9);
    let w = b.constant(&[features as i64, hidden as i64]);
    let projected = b.node("MatMul", vec!["input".into(), w], vec![]);
    let bias = b.constant(&[hidden as i64]);
    let biased = b.node("Add", vec![projected, bias], vec![]);
    let active = b.node("Tanh", vec![biased], vec![]);
    let flat = b.node("Flatten", vec![active], vec![int("axis", 1)]);
    let out = 2 + (choices[3] % 4) as i64;
    let dense = b.constant(&[out, (tokens * hidden) as i64]);
    let dense_bias = b.constant(&[out]);
    let logits = b.node(
        "Gemm",
        vec![flat, dense, dense_bias],
        vec![int("transB", 1)],
    );
    let model = model(
        "random_sequence",
        b,
        &[None, Some(tokens as i64), Some(features as i64)],
        &logits,
        out,
    );
    (model, vec![3, tokens, features])
}

/// A random transformer encoder block over a (batch, tokens, width) input with a
/// dynamic batch, as exporters write one: layer norm, one Q/K/V projection split by
/// Slice, heads by Reshape and Transpose (the batch merged with the heads for the
/// products when `choices[3]` is odd, reshape targets computed from `Shape` when
/// `choices[4]` is odd), scaled softmax attention, a residual, a GELU feed-forward
/// (Erf form), mean pooling over tokens and a dense head. `choices` pick the sizes.
pub fn attention_network(seed: u64, choices: [usize; 6]) -> (ModelProto, Vec<usize>) {
    let mut b = Builder::new(seed);
    let heads = 1 + choices[0] % 3;
    let head = 1 + choices[1] % 4;
    let tokens = 1 + choices[2] % 5;
    let (t, h, d) = (tokens as i64, heads as i64, head as i64);
    let width = h * d;
    let merge_batch = choices[3] % 2 == 1;
    let computed_shapes = choices[4] % 2 == 1;
    let out = 2 + (choices[5] % 4) as i64;
    let scalar = |b: &mut Builder, value: f32| {
        let name = b.name("s");
        b.initializers.push(TensorProto {
            name: name.clone(),
            dims: vec![],
            data_type: 1,
            float_data: vec![value],
            ..Default::default()
        });
        name
    };
    // A shape vector: (batch, rest...) computed from the input's shape, or constant
    // with 0 copying the batch.
    let shape = |b: &mut Builder, rest: &[i64]| {
        if computed_shapes {
            let shape = b.node("Shape", vec!["input".into()], vec![]);
            let zero = int_constant(b, &[0]);
            let batch = b.node("Gather", vec![shape, zero], vec![int("axis", 0)]);
            let rest = int_constant(b, rest);
            b.node("Concat", vec![batch, rest], vec![int("axis", 0)])
        } else {
            let mut all = vec![0];
            all.extend_from_slice(rest);
            int_constant(b, &all)
        }
    };
    let scale = b.constant(&[width]);
    let shift = b.constant(&[width]);
    let normed = b.node(
        "LayerNormalization",
        vec!["input".into(), scale, shift],
        vec![int("axis", -1), float("epsilon", 1e-5)],
    );
    let w_qkv = b.constant(&[width, 3 * width]);
    let qkv = b.node("MatMul", vec![normed, w_qkv], vec![]);
    let b_qkv = b.constant(&[3 * width]);
    let qkv = b.node("Add", vec![qkv, b_qkv], vec![]);
    let mut parts = Vec::new();
    for k in 0..3 {
        let starts = int_constant(&mut b, &[k * width]);
        let ends = int_constant(&mut b, &[(k + 1) * width]);
        let axes = int_constant(&mut b, &[2]);
        let part = b.node("Slice", vec![qkv.clone(), starts, ends, axes], vec![]);
        let split = shape(&mut b, &[t, h, d]);
        let split = b.node("Reshape", vec![part, split], vec![]);
        let perm: &[i64] = if k == 1 { &[0, 2, 3, 1] } else { &[0, 2, 1, 3] };
        let part = b.node("Transpose", vec![split], vec![ints("perm", perm)]);
        parts.push(if merge_batch {
            let dims: &[i64] = if k == 1 { &[-1, d, t] } else { &[-1, t, d] };
            let merged = int_constant(&mut b, dims);
            b.node("Reshape", vec![part, merged], vec![])
        } else {
            part
        });
    }
    let scores = b.node("MatMul", vec![parts[0].clone(), parts[1].clone()], vec![]);
    let factor = scalar(&mut b, 1.0 / (head as f32).sqrt());
    let scores = b.node("Mul", vec![scores, factor], vec![]);
    let weights = b.node("Softmax", vec![scores], vec![int("axis", -1)]);
    let mut context = b.node("MatMul", vec![weights, parts[2].clone()], vec![]);
    if merge_batch {
        // A 0 would copy the merged dimension: the batch comes back as -1.
        let split = if computed_shapes {
            shape(&mut b, &[h, t, d])
        } else {
            int_constant(&mut b, &[-1, h, t, d])
        };
        context = b.node("Reshape", vec![context, split], vec![]);
    }
    let context = b.node(
        "Transpose",
        vec![context],
        vec![ints("perm", &[0, 2, 1, 3])],
    );
    let joined = shape(&mut b, &[t, width]);
    let context = b.node("Reshape", vec![context, joined], vec![]);
    let w_out = b.constant(&[width, width]);
    let projected = b.node("MatMul", vec![context, w_out], vec![]);
    let x = b.node("Add", vec!["input".into(), projected], vec![]);
    let w1 = b.constant(&[width, 2 * width]);
    let hidden = b.node("MatMul", vec![x.clone(), w1], vec![]);
    let root2 = scalar(&mut b, std::f32::consts::SQRT_2);
    let scaled = b.node("Div", vec![hidden.clone(), root2], vec![]);
    let erf = b.node("Erf", vec![scaled], vec![]);
    let one = scalar(&mut b, 1.0);
    let erf = b.node("Add", vec![erf, one], vec![]);
    let half = scalar(&mut b, 0.5);
    let erf = b.node("Mul", vec![erf, half], vec![]);
    let gelu = b.node("Mul", vec![hidden, erf], vec![]);
    let w2 = b.constant(&[2 * width, width]);
    let ff = b.node("MatMul", vec![gelu, w2], vec![]);
    let x = b.node("Add", vec![x, ff], vec![]);
    let logits = pool_and_classify(&mut b, x, width, out, false);
    let model = model(
        "random_attention",
        b,
        &[None, Some(t), Some(width)],
        &logits,
        out,
    );
    (model, vec![3, tokens, width as usize])
}

/// A random token classifier over int64 token ids (batch, tokens) with a dynamic
/// batch: word embeddings looked up by the ids (Gather by computed indices), position
/// embeddings by constant indices, the tokens reversed and every other feature kept
/// (Slice with steps -1 and 2), a layer norm, mean pooling and a dense head.
/// `choices` pick the vocabulary, width, token count and classes.
pub fn embedding_network(seed: u64, choices: [usize; 4]) -> (ModelProto, Vec<usize>, usize) {
    let mut b = Builder::new(seed);
    let vocabulary = 2 + choices[0] % 50;
    let width = 1 + (choices[1] % 12) as i64;
    let tokens = 1 + choices[2] % 6;
    let out = 2 + (choices[3] % 4) as i64;
    let words = b.constant(&[vocabulary as i64, width]);
    let embedded = b.node("Gather", vec![words, "input".into()], vec![int("axis", 0)]);
    let table = b.constant(&[tokens as i64 + 3, width]);
    let positions = int_constant(&mut b, &(0..tokens as i64).collect::<Vec<_>>());
    let placed = b.node("Gather", vec![table, positions], vec![int("axis", 0)]);
    let summed = b.node("Add", vec![embedded, placed], vec![]);
    // Tokens in reverse order (a negative step), every other feature (a step of 2).
    let (starts, ends, axes, steps) = (
        int_constant(&mut b, &[-1, 0]),
        int_constant(&mut b, &[i64::MIN, width]),
        int_constant(&mut b, &[1, 2]),
        int_constant(&mut b, &[-1, 2]),
    );
    let sliced = b.node("Slice", vec![summed, starts, ends, axes, steps], vec![]);
    let width = (width + 1) / 2;
    let scale = b.constant(&[width]);
    let shift = b.constant(&[width]);
    let normed = b.node(
        "LayerNormalization",
        vec![sliced, scale, shift],
        vec![int("axis", -1)],
    );
    let logits = pool_and_classify(&mut b, normed, width, out, false);
    let mut model = model(
        "random_embedding",
        b,
        &[None, Some(tokens as i64)],
        &logits,
        out,
    );
    // The ids are int64.
    if let Some(tract_onnx::pb::type_proto::Value::TensorType(tensor)) = model
        .graph
        .as_mut()
        .and_then(|g| g.input[0].r#type.as_mut())
        .and_then(|t| t.value.as_mut())
    {
        tensor.elem_type = 7;
    }
    (model, vec![3, tokens], vocabulary)
}

/// A random network over a (batch, tokens) float input built of what attention
/// masks are made of: comparisons (Greater, Less, Equal) to booleans, And, Or, Not,
/// Where, Cast between bool, int and float, a Range of positions, the variadic Max
/// and Min, then mean pooling and a dense head. `choices` pick the sizes and
/// thresholds.
pub fn mask_network(seed: u64, choices: [usize; 4]) -> (ModelProto, Vec<usize>) {
    let mut b = Builder::new(seed);
    let tokens = 1 + choices[0] % 6;
    let out = 2 + (choices[1] % 4) as i64;
    let low = -0.5 + (choices[2] % 5) as f32 * 0.2;
    let scalar = |b: &mut Builder, data_type: i32, value: f32| {
        let name = b.name("s");
        let mut tensor = TensorProto {
            name: name.clone(),
            dims: vec![],
            data_type,
            ..Default::default()
        };
        if data_type == 7 {
            tensor.int64_data = vec![value as i64];
        } else {
            tensor.float_data = vec![value];
        }
        b.initializers.push(tensor);
        name
    };
    let (lo, hi, half) = (
        scalar(&mut b, 1, low),
        scalar(&mut b, 1, low + 0.6),
        scalar(&mut b, 1, 0.5),
    );
    let above = b.node("Greater", vec!["input".into(), lo], vec![]);
    let below = b.node("Less", vec!["input".into(), hi], vec![]);
    let inside = b.node("And", vec![above, below.clone()], vec![]);
    let outside = b.node("Not", vec![inside.clone()], vec![]);
    let same = b.node("Equal", vec!["input".into(), "input".into()], vec![]);
    let either = b.node("Or", vec![outside, same], vec![]);
    let halved = b.node("Mul", vec!["input".into(), half], vec![]);
    let chosen = b.node("Where", vec![inside, "input".into(), halved], vec![]);
    let flag = b.node("Cast", vec![either], vec![int("to", 1)]);
    let (start, limit, delta) = (
        scalar(&mut b, 7, 0.0),
        scalar(&mut b, 7, tokens as f32),
        scalar(&mut b, 7, 1.0),
    );
    let positions = b.node("Range", vec![start, limit, delta], vec![]);
    let positions = b.node("Cast", vec![positions], vec![int("to", 1)]);
    let truncated = b.node("Cast", vec![chosen.clone()], vec![int("to", 7)]);
    let truncated = b.node("Cast", vec![truncated], vec![int("to", 1)]);
    let biggest = b.node("Max", vec![chosen.clone(), flag, truncated], vec![]);
    let smallest = b.node("Min", vec![biggest, positions], vec![]);
    let logits = pool_and_classify(&mut b, smallest, 1, out, true);
    let model = model("random_mask", b, &[None, Some(tokens as i64)], &logits, out);
    (model, vec![3, tokens])
}

/// Mean pooling over the tokens (axis 1; kept as a unit dimension when `keep`, for a
/// (batch, tokens) input) and a dense head of `out` classes over `width` features.
fn pool_and_classify(b: &mut Builder, x: String, width: i64, out: i64, keep: bool) -> String {
    let pooled = b.node(
        "ReduceMean",
        vec![x],
        vec![ints("axes", &[1]), int("keepdims", i64::from(keep))],
    );
    let dense = b.constant(&[out, width]);
    let dense_bias = b.constant(&[out]);
    b.node(
        "Gemm",
        vec![pooled, dense, dense_bias],
        vec![int("transB", 1)],
    )
}
