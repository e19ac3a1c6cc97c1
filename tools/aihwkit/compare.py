#!/usr/bin/env python3
"""Prints cim's predictions beside aihwkit's, on the same weights: every network of
tests/fixtures/aihwkit/reference.json (written by reference.py) compiled for a
target (`pcm` by default) and evaluated at full fidelity on as many chips as
aihwkit ran, at each drift time. Standard library only.

    cargo build --release --bin cimc
    python3 tools/aihwkit/compare.py [--target pcm] [--cimc target/release/cimc] [--markdown]

A point agrees when the means differ by at most max(2 x pooled std, 1 point), the
test in tests/cimc/aihwkit.rs.
"""

import argparse
import json
import math
import pathlib
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def mean_std(values):
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, std


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="pcm", help="a preset aihwkit ran (reference.json)")
    parser.add_argument("--cimc", default=str(ROOT / "target" / "release" / "cimc"))
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--extra", default="", help="more `cimc compile` arguments")
    arguments = parser.parse_args()
    reference = json.loads((FIXTURES / "aihwkit" / "reference.json").read_text())
    repeats = reference["repeats"]
    times = reference["times"]
    preset = next(p for p in reference["presets"] if p["preset"] == arguments.target)
    names = {1.0: "1 s", 3600.0: "1 h", 86400.0: "1 day", 31557600.0: "1 year"}
    if arguments.markdown:
        print("| network | float | " + " | ".join(f"aihwkit {names[t]} | cim {names[t]}" for t in times) + " |")
        print("| --- | --- | " + " | ".join("--- | ---" for _ in times) + " |")
    failures = 0
    with tempfile.TemporaryDirectory() as scratch:
        for model in preset["models"]:
            artifact = pathlib.Path(scratch) / model["name"]
            subprocess.run([arguments.cimc, "compile", str(ROOT / model["onnx"]), "--target", arguments.target,
                            "-o", str(artifact)] + arguments.extra.split(), check=True, capture_output=True)
            start = time.perf_counter()
            out = subprocess.run([arguments.cimc, "eval", str(artifact), "--data", str(FIXTURES / model["data"]),
                                  "--labels", str(FIXTURES / model["labels"]), "--drift-sweep",
                                  str(pathlib.Path(scratch) / f"{model['name']}-sweep"), "--drift-times",
                                  ",".join(str(t) for t in times), "--repeats", str(repeats), "--json"],
                                 check=True, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            rows = json.loads(out.stdout)["rows"]
            cells = []
            for t, row in zip(times, rows):
                theirs = mean_std(model["accuracy"][str(t)])
                ours = (row["accuracy"], row["std"])
                pooled = math.sqrt((theirs[1] ** 2 + ours[1] ** 2) / 2)
                agrees = abs(theirs[0] - ours[0]) <= max(2 * pooled, 0.01)
                failures += not agrees
                mark = "" if agrees else " ✗"
                cells.append(f"{100 * theirs[0]:.1f} ± {100 * theirs[1]:.1f} | "
                             f"{100 * ours[0]:.1f} ± {100 * ours[1]:.1f}{mark}")
            if arguments.markdown:
                print(f"| {model['name']} | {100 * model['float']:.1f} | " + " | ".join(cells) + " |")
            else:
                print(f"{model['name']:<12} float {100 * model['float']:.1f}  " + "  ".join(
                    f"{names[t]}: {c}" for t, c in zip(times, cells)) + f"  ({seconds:.1f} s)")
    print(f"{failures} points disagree")


if __name__ == "__main__":
    main()
