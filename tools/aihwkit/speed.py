#!/usr/bin/env python3
"""Times the user's question -- "how accurate is this model on PCM a day after
programming, over ten chips?" -- through cim and through aihwkit 1.2, on the same
machine, the same threads and the same weights: every network of
tests/fixtures/aihwkit/reference.json (the repository's fixtures and the networks
its tests have not seen).

    cargo build --release --bin cimc
    $VENV/bin/python tools/aihwkit/speed.py [--threads 2] [--repeats 10] [--trials 3] [--markdown]

cim: `cimc eval ARTIFACT --fidelity full --repeats 10 --drift-time 86400` on the
test set, as wall time of the process (start-up, reading the artifact, programming
ten chips, running them) and its peak resident memory; compiling is timed apart.
aihwkit: the same ten chips as reference.py makes them (`torch.manual_seed(chip)`,
`convert_to_analog` with the preset's configuration, `program_analog_weights`,
`drift_analog_weights(86400)`, one forward pass over the test set), in this process
after importing torch (its start-up is not counted). Both get `--threads` threads.
Each side's time is the best of `--trials` runs, the two sides' runs alternating (a
run of a small network takes a tenth of a second, and a shared machine's speed
drifts over minutes: alternating puts both sides' best in the same spells). cim's
peak memory is measured first, from this small process (a child forked from a
process holding torch counts torch's pages in its peak resident memory); its times
after (Python forks its children with vfork, so torch's size costs them nothing).
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
DRIFT = 86400.0


def torch_model(name, onnx_path):
    """The PyTorch network of `name` holding the weights of its ONNX file."""
    import torch
    import reference
    w = reference.initializers(ROOT / onnx_path)
    if name == "digits-mlp":
        return reference.Mlp([reference.linear(w["fc0.weight"], w["fc0.bias"]),
                              reference.linear(w["fc1.weight"], w["fc1.bias"])], [torch.relu])
    if name == "digits-cnn":
        return reference.FixtureCnn(w)
    if name in ("digits-lstm", "digits-gru"):
        return reference.fixture_recurrent(name.split("-")[1])
    if name in ("unseen-mlp", "random-mlp"):
        shapes = [tuple(w[f"layers.{i}.weight"].shape) for i in range(3)]
        activations = [torch.tanh, torch.relu] if name == "unseen-mlp" else [torch.tanh, torch.tanh]
        model = reference.Mlp([torch.nn.Linear(k, n) for n, k in shapes], activations)
    elif name == "unseen-cnn":
        model = reference.UnseenCnn()
        model.bn1 = torch.nn.Identity()  # folded into conv1 by the exporter
    else:
        raise SystemExit(f"speed.py: no PyTorch network for {name}")
    missing, unexpected = model.load_state_dict(w, strict=False)
    if missing or unexpected:
        raise SystemExit(f"speed.py: {name}: weights missing {missing}, unexpected {unexpected}")
    return model.eval()


def timed_child(command):
    """Runs `command`; its wall time in seconds and peak resident memory in MiB."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {child.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 1024.0


def aihwkit_seconds(model, x, labels, repeats, config):
    import torch
    import reference
    start = time.perf_counter()
    for chip in range(repeats):
        torch.manual_seed(chip)
        analog = reference.convert_to_analog(model, config())
        analog.eval()
        analog.program_analog_weights()
        analog.drift_analog_weights(DRIFT)
        reference.accuracy(analog, x, labels)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cimc", default=str(ROOT / "target" / "release" / "cimc"))
    parser.add_argument("--target", default="pcm", help="a preset both simulators describe")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--trials", type=int, default=3, help="each side's time is the best of this many runs")
    parser.add_argument("--markdown", action="store_true")
    arguments = parser.parse_args()
    os.environ["RAYON_NUM_THREADS"] = str(arguments.threads)
    os.environ["MATMUL_NUM_THREADS"] = str(arguments.threads)
    catalogue = json.loads((FIXTURES / "aihwkit" / "reference.json").read_text())
    preset = next(p for p in catalogue["presets"] if p["preset"] == arguments.target)
    # cim's compile and peak memory first, from this small process: a child forked
    # from a process holding torch would count torch's pages in its peak memory.
    scratch = tempfile.TemporaryDirectory()
    rows = []
    for entry in preset["models"]:
        artifact = pathlib.Path(scratch.name) / entry["name"]
        data, labels = FIXTURES / entry["data"], FIXTURES / entry["labels"]
        compile_seconds, _ = timed_child([arguments.cimc, "compile", str(ROOT / entry["onnx"]),
                                          "--target", arguments.target, "-o", str(artifact)])
        evaluate = [arguments.cimc, "eval", str(artifact), "--data", str(data), "--labels",
                    str(labels), "--fidelity", "full", "--repeats", str(arguments.repeats),
                    "--drift-time", str(int(DRIFT))]
        _, peak = timed_child(evaluate)
        rows.append((entry, compile_seconds, evaluate, peak))

    import numpy as np
    import torch
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    import reference  # the same networks and configurations
    torch.set_num_threads(arguments.threads)
    config = reference.PRESETS[arguments.target][0]
    if arguments.markdown:
        print("| network | test inputs | cim compile | cim eval, 10 chips | cim peak RSS | aihwkit, 10 chips "
              "| aihwkit / cim |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
    for entry, compile_seconds, evaluate, peak in rows:
        name = entry["name"]
        model = torch_model(name, entry["onnx"])
        x = torch.tensor(np.load(FIXTURES / entry["data"]))
        y = torch.tensor(np.load(FIXTURES / entry["labels"]).astype(np.int64))
        ours, theirs = [], []
        for _ in range(arguments.trials):
            ours.append(timed_child(evaluate)[0])
            theirs.append(aihwkit_seconds(model, x, y, arguments.repeats, config))
        cim_seconds, theirs = min(ours), min(theirs)
        row = (name, len(y), compile_seconds, cim_seconds, peak, theirs, theirs / cim_seconds)
        if arguments.markdown:
            print("| {} | {} | {:.2f} s | {:.2f} s | {:.0f} MiB | {:.2f} s | {:.2f}x |".format(*row))
        else:
            print("{:<12} {} inputs  cim compile {:.2f} s, eval {:.2f} s, peak {:.0f} MiB;  "
                  "aihwkit {:.2f} s;  aihwkit/cim {:.2f}x".format(*row), flush=True)
    scratch.cleanup()


if __name__ == "__main__":
    main()
