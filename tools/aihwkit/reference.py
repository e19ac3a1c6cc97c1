#!/usr/bin/env python3
"""Runs networks through IBM's aihwkit 1.2 (the reference analog-AI simulator) and
writes what it predicts, so that cim's `pcm` preset can be checked against it in CI
without Python. A development-time script: its small outputs are committed.

    # aihwkit 1.2 builds from source (about ten minutes): see ../shared/aihwkit.md
    $VENV/bin/python tools/aihwkit/reference.py            # writes tests/fixtures/aihwkit/

What it runs, for each of cim's presets that aihwkit describes (`pcm`: aihwkit's
inference defaults `InferenceRPUConfig()`, `PCMLikeNoiseModel(g_max=25)`,
`GlobalDriftCompensation()`; `pcm-hwa`: `StandardHWATrainingPreset()`; `hermes`:
the inference defaults with `HermesNoiseModel()`), on `--repeats` chips
(each `torch.manual_seed(chip)` before conversion and programming) read 1 s, 1 h,
1 day and 1 year after programming:

* networks the repository's tests hold (tests/fixtures: the MLP, the CNN, the LSTM
  and the GRU, their weights read from the ONNX files into the same PyTorch
  networks);
* networks cim's tests have not seen, trained here on the digits data (seeded) and
  exported with `torch.onnx.export` into tests/fixtures/aihwkit/: an MLP
  64-300-77-10 (tanh, ReLU) and a CNN (conv 1->12, batch norm, ReLU, max pooling,
  conv 12->20, ReLU, average pooling, dense 80->10; the batch norm folded into the
  convolution for both simulators, as the exporter folds it);
* a random MLP (64-96-48-10, tanh), whose "accuracy" is its agreement with its own
  float predictions (its labels file holds them);
* one 512x512 layer of weights w[i, j] = 0.1 sin(0.37 i + 0.71 j) + 0.05 cos(0.013 i j)
  on 256 inputs x[b, i] = sin(0.19 b + 0.53 i) cos(0.07 b i) (both as float32): the
  mean and standard deviation of y - y_ideal, over the root mean square of y_ideal,
  per drift time over all chips.

Writes tests/fixtures/aihwkit/reference.json (accuracy per chip and time, float
accuracy, the layer's error) and the unseen networks' ONNX files and labels.
"""

import argparse
import json
import math
import pathlib
import time

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from aihwkit import __version__ as aihwkit_version
from aihwkit.inference import GlobalDriftCompensation, HermesNoiseModel, PCMLikeNoiseModel
from aihwkit.nn.conversion import convert_to_analog
from aihwkit.simulator.configs import InferenceRPUConfig
from aihwkit.simulator.presets import StandardHWATrainingPreset

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
OUT = FIXTURES / "aihwkit"
TIMES = [1.0, 3600.0, 86400.0, 31557600.0]
SEED = 20261201


def pcm_config():
    cfg = InferenceRPUConfig()
    cfg.noise_model = PCMLikeNoiseModel(g_max=25.0)
    cfg.drift_compensation = GlobalDriftCompensation()
    return cfg


def hwa_config():
    return StandardHWATrainingPreset()


def hermes_config():
    cfg = InferenceRPUConfig()
    cfg.noise_model = HermesNoiseModel()
    cfg.drift_compensation = GlobalDriftCompensation()
    return cfg


# cim's preset name: (aihwkit's configuration, how it is written).
PRESETS = {
    "pcm": (pcm_config, "InferenceRPUConfig(), PCMLikeNoiseModel(g_max=25), GlobalDriftCompensation()"),
    "pcm-hwa": (hwa_config, "StandardHWATrainingPreset() (PCMLikeNoiseModel, GlobalDriftCompensation)"),
    "hermes": (hermes_config, "InferenceRPUConfig(), HermesNoiseModel(), GlobalDriftCompensation()"),
}


def initializers(path):
    model = onnx.load(str(path))
    return {i.name: torch.tensor(numpy_helper.to_array(i).copy()) for i in model.graph.initializer}


def linear(weight, bias):
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0])
    layer.weight.data = weight.clone()
    layer.bias.data = bias.clone()
    return layer


class Mlp(torch.nn.Module):
    """Dense layers with activations between them (the last one bare)."""

    def __init__(self, layers, activations):
        super().__init__()
        self.layers = torch.nn.ModuleList(layers)
        self.activations = activations

    def forward(self, x):
        for layer, activation in zip(self.layers, self.activations + [None]):
            x = layer(x)
            if activation is not None:
                x = activation(x)
        return x


class FixtureCnn(torch.nn.Module):
    """tests/fixtures/digits-cnn.onnx: Conv 3x3 (pad 1), ReLU, MaxPool 2, BN, dense."""

    def __init__(self, w):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.conv.weight.data, self.conv.bias.data = w["conv.weight"], w["conv.bias"]
        self.bn = torch.nn.BatchNorm2d(8, eps=1e-5)
        self.bn.weight.data, self.bn.bias.data = w["bn.weight"], w["bn.bias"]
        self.bn.running_mean.data, self.bn.running_var.data = w["bn.running_mean"], w["bn.running_var"]
        self.fc = linear(w["fc.weight"], w["fc.bias"])

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv(x)), 2)
        return self.fc(self.bn(x).flatten(1))


class Recurrent(torch.nn.Module):
    """An ONNX LSTM (gates i, o, f, c) or GRU (gates z, r, h, linear before reset)
    over (steps, batch, features), as two dense layers (input and state to the
    gates, as cim imports them), the last state into a dense layer."""

    def __init__(self, kind, w, r, b, fc):
        super().__init__()
        self.kind = kind
        gates = w.shape[0]
        self.x_to_gates = linear(w, b[:gates])
        self.h_to_gates = linear(r, b[gates:])
        self.fc = fc
        self.hidden = r.shape[1]

    def forward(self, rows):
        steps, batch, _ = rows.shape
        h = torch.zeros(batch, self.hidden)
        c = torch.zeros(batch, self.hidden)
        for t in range(steps):
            gx, gh = self.x_to_gates(rows[t]), self.h_to_gates(h)
            if self.kind == "lstm":
                i, o, f, g = (gx + gh).chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            else:
                xz, xr, xh = gx.chunk(3, dim=1)
                hz, hr, hh = gh.chunk(3, dim=1)
                z, r = torch.sigmoid(xz + hz), torch.sigmoid(xr + hr)
                candidate = torch.tanh(xh + r * hh)
                h = (1 - z) * candidate + z * h
        return self.fc(h)


def fixture_recurrent(kind):
    w = initializers(FIXTURES / f"digits-{kind}.onnx")
    names = sorted(n for n in w if n.startswith(f"onnx::{kind.upper()}"))
    weight, recurrence, bias = (w[n][0] for n in names)
    return Recurrent(kind, weight, recurrence, bias, linear(w["fc.weight"], w["fc.bias"]))


class UnseenCnn(torch.nn.Module):
    """Conv 1->12, BN, ReLU, max pool; conv 12->20, ReLU, average pool; dense 80->10."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 12, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(12)
        self.conv2 = torch.nn.Conv2d(12, 20, 3, padding=1)
        self.fc = torch.nn.Linear(80, 10)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = torch.nn.functional.avg_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


def train(model, x, y, epochs, seed):
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, y = torch.tensor(x), torch.tensor(y)
    for _ in range(epochs):
        order = torch.randperm(len(x))
        model.train()
        for start in range(0, len(x), 64):
            index = order[start:start + 64]
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x[index]), y[index]).backward()
            optimizer.step()
    model.eval()
    return model


def training_data():
    """The digits data set's training part, as make_fixtures.py splits it."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    x_train, _, y_train, _ = train_test_split(x, digits.target, test_size=0.3, random_state=20261122,
                                              stratify=digits.target)
    return x_train, y_train.astype(np.int64)


def export(model, example, name):
    path = OUT / f"{name}.onnx"
    torch.onnx.export(model, (example,), str(path), input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17,
                      dynamo=False)
    return path


def accuracy(model, x, labels):
    with torch.no_grad():
        return float((model(x).argmax(1) == labels).float().mean())


def on_chips(model, x, labels, repeats, config):
    """Accuracy per drift time, one entry per chip; and seconds per chip."""
    accuracies = {str(t): [] for t in TIMES}
    seconds = []
    for chip in range(repeats):
        start = time.perf_counter()
        torch.manual_seed(chip)
        analog = convert_to_analog(model, config())
        analog.eval()
        analog.program_analog_weights()
        for t in TIMES:
            analog.drift_analog_weights(t)
            accuracies[str(t)].append(accuracy(analog, x, labels))
        seconds.append((time.perf_counter() - start) / len(TIMES))
    return accuracies, seconds


def layer_weights():
    i, j = np.meshgrid(np.arange(512, dtype=np.float64), np.arange(512, dtype=np.float64), indexing="ij")
    return (0.1 * np.sin(0.37 * i + 0.71 * j) + 0.05 * np.cos(0.013 * i * j)).astype(np.float32)


def layer_inputs():
    b, i = np.meshgrid(np.arange(256, dtype=np.float64), np.arange(512, dtype=np.float64), indexing="ij")
    return (np.sin(0.19 * b + 0.53 * i) * np.cos(0.07 * b * i)).astype(np.float32)


def layer_error(repeats, config):
    """One 512x512 layer (w[i, j]: input i, output j): the error of its outputs."""
    w, x = torch.tensor(layer_weights()), torch.tensor(layer_inputs())
    layer = torch.nn.Linear(512, 512, bias=False)
    layer.weight.data = w.T.contiguous()
    ideal = (x.double() @ w.double()).numpy()
    rms = float(np.sqrt(np.mean(ideal ** 2)))
    errors = {str(t): [] for t in TIMES}
    for chip in range(repeats):
        torch.manual_seed(chip)
        analog = convert_to_analog(torch.nn.Sequential(layer), config())
        analog.eval()
        analog.program_analog_weights()
        for t in TIMES:
            analog.drift_analog_weights(t)
            with torch.no_grad():
                errors[str(t)].append((analog(x).double().numpy() - ideal).ravel())
    return {t: {"mean": float(np.concatenate(e).mean() / rms), "std": float(np.concatenate(e).std() / rms)}
            for t, e in errors.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    arguments = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    test_x = np.load(FIXTURES / "digits-test-x.npy")
    test_images = np.load(FIXTURES / "digits-test-images.npy")
    test_rows = np.load(FIXTURES / "digits-test-rows.npy")
    test_y = torch.tensor(np.load(FIXTURES / "digits-test-y.npy").astype(np.int64))
    x_train, y_train = training_data()

    models = []
    w = initializers(FIXTURES / "digits-mlp.onnx")
    models.append(("digits-mlp", FIXTURES / "digits-mlp.onnx", "digits-test-x.npy", "digits-test-y.npy",
                   Mlp([linear(w["fc0.weight"], w["fc0.bias"]), linear(w["fc1.weight"], w["fc1.bias"])],
                       [torch.relu]), test_x))
    models.append(("digits-cnn", FIXTURES / "digits-cnn.onnx", "digits-test-images.npy", "digits-test-y.npy",
                   FixtureCnn(initializers(FIXTURES / "digits-cnn.onnx")), test_images))
    for kind in ["lstm", "gru"]:
        models.append((f"digits-{kind}", FIXTURES / f"digits-{kind}.onnx", "digits-test-rows.npy",
                       "digits-test-y.npy", fixture_recurrent(kind), test_rows))

    torch.manual_seed(SEED)
    mlp = train(Mlp([torch.nn.Linear(64, 300), torch.nn.Linear(300, 77), torch.nn.Linear(77, 10)],
                    [torch.tanh, torch.relu]), x_train, y_train, 30, SEED)
    models.append(("unseen-mlp", export(mlp, torch.zeros(2, 64), "unseen-mlp"), "digits-test-x.npy",
                   "digits-test-y.npy", mlp, test_x))
    torch.manual_seed(SEED + 1)
    cnn = train(UnseenCnn(), x_train.reshape(-1, 1, 8, 8), y_train, 30, SEED + 1)
    # The batch normalization after the first convolution is folded into it, as
    # torch.onnx.export folds it: both simulators then hold the same weights.
    cnn.conv1 = torch.nn.utils.fusion.fuse_conv_bn_eval(cnn.conv1, cnn.bn1)
    cnn.bn1 = torch.nn.Identity()
    models.append(("unseen-cnn", export(cnn, torch.zeros(2, 1, 8, 8), "unseen-cnn"), "digits-test-images.npy",
                   "digits-test-y.npy", cnn, test_images))
    generator = torch.Generator().manual_seed(SEED + 2)
    layers = []
    for k, n in [(64, 96), (96, 48), (48, 10)]:
        layer = torch.nn.Linear(k, n)
        layer.weight.data = torch.randn(n, k, generator=generator) / math.sqrt(k)
        layer.bias.data = torch.randn(n, generator=generator) * 0.1
        layers.append(layer)
    random = Mlp(layers, [torch.tanh, torch.tanh]).eval()
    with torch.no_grad():
        agreement = random(torch.tensor(test_x)).argmax(1).numpy().astype(np.int64)
    np.save(OUT / "random-mlp-labels.npy", agreement)
    models.append(("random-mlp", export(random, torch.zeros(2, 64), "random-mlp"), "digits-test-x.npy",
                   "aihwkit/random-mlp-labels.npy", random, test_x))

    presets = []
    for preset, (make_config, description) in PRESETS.items():
        entries = []
        for name, onnx_path, data, labels, model, x in models:
            model.eval()
            label_tensor = torch.tensor(np.load(FIXTURES / labels).astype(np.int64))
            x = torch.tensor(x)
            float_accuracy = accuracy(model, x, label_tensor)
            per_time, seconds = on_chips(model, x, label_tensor, arguments.repeats, make_config)
            print(preset, name, f"float {float_accuracy:.4f}",
                  {t: f"{np.mean(a):.4f}±{np.std(a, ddof=1):.4f}" for t, a in per_time.items()},
                  f"{np.mean(seconds):.3f} s per chip and time")
            entries.append({"name": name, "onnx": str(onnx_path.relative_to(ROOT)), "data": data,
                            "labels": labels, "float": float_accuracy, "accuracy": per_time,
                            "seconds_per_chip": float(np.mean(seconds))})
        layer = layer_error(arguments.repeats, make_config)
        print(preset, "512x512 layer", layer)
        presets.append({"preset": preset, "config": description, "models": entries, "layer": layer})
    reference = {"aihwkit": aihwkit_version, "torch": torch.__version__, "repeats": arguments.repeats,
                 "times": TIMES, "presets": presets}
    (OUT / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")


if __name__ == "__main__":
    main()
