#!/usr/bin/env python3
"""Measures digital corrections (cim-adapters) on the trained fixtures: accuracy over
chips of the `pcm` preset at several drift times, without adapters (global drift
compensation only), with adapters fitted on each chip (`--calibrate-each-chip`), and
with one across-chips set (`cimc calibrate --chips K`), for adapter ranks 2, 4, 8.

Calibration uses the fixtures' 200 training images (`digits-calib-*.npy`), disjoint
from the 540 test images (the unseen networks were trained on the same training
split). Prints a Markdown table (and writes JSON with --json).

    cargo build --release --bin cimc
    python3 tools/measure_adapters.py [--chips 10] [--ranks 2,4,8] [--json out.json]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")

# (model, calibration inputs, test inputs)
MODELS = {
    "MLP": ("digits-mlp.onnx", "digits-calib-x.npy", "digits-test-x.npy"),
    "CNN": ("digits-cnn.onnx", "digits-calib-images.npy", "digits-test-images.npy"),
    "LSTM": ("digits-lstm.onnx", "digits-calib-rows.npy", "digits-test-rows.npy"),
    "GRU": ("digits-gru.onnx", "digits-calib-rows.npy", "digits-test-rows.npy"),
    "ViT": ("digits-vit.onnx", "digits-calib-x.npy", "digits-test-x.npy"),
    # Trained by tools/aihwkit/reference.py with their own seeds: cim was not built on them.
    "unseen-MLP": ("aihwkit/unseen-mlp.onnx", "digits-calib-x.npy", "digits-test-x.npy"),
    "unseen-CNN": ("aihwkit/unseen-cnn.onnx", "digits-calib-images.npy", "digits-test-images.npy"),
}
TIMES = {"1 s": 1, "1 h": 3600, "1 day": 86400, "1 year": 31536000}


def cimc(binary, *arguments):
    result = subprocess.run([binary, *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"cimc {' '.join(arguments)}: {result.stderr}")
    return result.stdout


def accuracy(binary, artifact, test, chips, time_s, *extra):
    out = cimc(
        binary, "eval", artifact, "--data", os.path.join(FIXTURES, test),
        "--labels", os.path.join(FIXTURES, "digits-test-y.npy"), "--fidelity", "full",
        "--repeats", str(chips), "--drift-time", str(time_s), "--json", *extra,
    )
    row = json.loads(out)["rows"][0]
    return row["accuracy"], row["std"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cimc", default=os.path.join(ROOT, "target", "release", "cimc"))
    parser.add_argument("--chips", type=int, default=10)
    parser.add_argument("--calibration-chips", type=int, default=8)
    parser.add_argument("--ranks", default="2,4,8")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--json")
    args = parser.parse_args()
    ranks = [int(r) for r in args.ranks.split(",")]
    results = []
    work = tempfile.mkdtemp(prefix="cim-adapters-")
    print("| model | rank | extra parameters | drift time | none | per chip | across chips |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in args.models.split(","):
        model, calibration, test = MODELS[name]
        calibration_path = os.path.join(FIXTURES, calibration)
        float_accuracy = None
        none = {}
        for rank in ranks:
            artifact = os.path.join(work, f"{name}-{rank}")
            cimc(args.cimc, "compile", os.path.join(FIXTURES, model), "--target", "pcm",
                 "--calibration", calibration_path, "--adapter-rank", str(rank), "-o", artifact)
            cimc(args.cimc, "calibrate", artifact, "--data", calibration_path,
                 "--chips", str(args.calibration_chips), "--name", "across")
            report = json.loads(cimc(args.cimc, "report", artifact, "--json"))["adapters"]
            if float_accuracy is None:
                out = cimc(args.cimc, "eval", artifact, "--data", os.path.join(FIXTURES, test),
                           "--labels", os.path.join(FIXTURES, "digits-test-y.npy"),
                           "--fidelity", "float", "--json")
                float_accuracy = json.loads(out)["rows"][0]["accuracy"]
            for label, seconds in TIMES.items():
                if label not in none:
                    none[label] = accuracy(args.cimc, artifact, test, args.chips, seconds,
                                           "--adapters", "none")
                start = time.time()
                each = accuracy(args.cimc, artifact, test, args.chips, seconds,
                                "--calibrate-each-chip", calibration_path)
                each_s = time.time() - start
                across = accuracy(args.cimc, artifact, test, args.chips, seconds,
                                  "--adapters", "across")

                def recovered(value):
                    lost = float_accuracy - none[label][0]
                    return (value - none[label][0]) / lost if lost > 0 else float("nan")

                row = {
                    "model": name, "rank": rank, "drift_time": seconds,
                    "parameters": report["parameters"], "percent": report["percent"],
                    "float": float_accuracy, "none": none[label], "per_chip": each,
                    "across_chips": across, "per_chip_recovered": recovered(each[0]),
                    "across_chips_recovered": recovered(across[0]), "per_chip_seconds": each_s,
                }
                results.append(row)
                print(
                    f"| {name} (float {float_accuracy:.4f}) | {rank} | {report['parameters']} "
                    f"({report['percent']:.1f}%) | {label} | {none[label][0]:.4f} ± {none[label][1]:.4f} "
                    f"| {each[0]:.4f} ± {each[1]:.4f} ({100 * recovered(each[0]):.0f}%) "
                    f"| {across[0]:.4f} ± {across[1]:.4f} ({100 * recovered(across[0]):.0f}%) |",
                    flush=True,
                )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
