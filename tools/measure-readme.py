#!/usr/bin/env python3
"""Measures the README's accuracy tables on the bundled digit fixtures and prints
them as Markdown: every figure there comes from one run of this script.

    cargo build --release --bin cimc && tools/measure-readme.py [TABLE ...]

TABLE is any of `quickstart` (float, exact and quantized accuracy on `ideal`),
`mapping` (the e-graph mapper against the naive tiler on `ideal`), `fidelity` (accuracy against drift time on `pcm`, with and without
drift compensation), `encodings` (the signed-weight encodings on `pcm` and on
its devices one per cell, and the e-graph's choice), `nmdu` (float against fixed-point digital work), `rram` (accuracy
against drift time on `rram`), `planes` (one conversion per MVM or per input bit
plane), `wires` (IR drop on the MLP). All by default.
Python's standard library only; `cimc` does the work (CIMC=path overrides
target/release/cimc). Every full-fidelity point is 10 chips (seeds 0..9) on the 540
test images, converters calibrated on 200 training images.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CIMC = os.environ.get("CIMC", str(ROOT / "target" / "release" / "cimc"))
REPEATS = "10"
# name, model, test inputs, calibration inputs
MODELS = [
    ("MLP", "digits-mlp.onnx", "digits-test-x.npy", "digits-calib-x.npy"),
    ("CNN", "digits-cnn.onnx", "digits-test-images.npy", "digits-calib-images.npy"),
    ("LSTM", "digits-lstm.onnx", "digits-test-rows.npy", "digits-calib-rows.npy"),
    ("GRU", "digits-gru.onnx", "digits-test-rows.npy", "digits-calib-rows.npy"),
]
LABELS = str(FIXTURES / "digits-test-y.npy")
SCRATCH = Path(tempfile.mkdtemp(prefix="cim-readme-"))


def cimc(*arguments):
    done = subprocess.run([CIMC, *arguments], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"cimc {' '.join(arguments)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def variant(preset, name, replace):
    """A copy of targets/PRESET.toml with text replaced (each must occur)."""
    text = (ROOT / "targets" / f"{preset}.toml").read_text()
    for old, new in replace:
        if old not in text:
            sys.exit(f"targets/{preset}.toml has no '{old}'")
        text = text.replace(old, new)
    path = SCRATCH / f"{name}.toml"
    path.write_text(text)
    return str(path)


def compile_model(model, target, *options):
    name, onnx, _, calibration = model
    artifact = SCRATCH / f"{name}-{abs(hash((target, options)))}"
    cimc("compile", str(FIXTURES / onnx), "--target", target, "--calibration",
         str(FIXTURES / calibration), *options, "-o", str(artifact))
    return str(artifact)


def evaluate(artifact, model, *options):
    rows = json.loads(cimc("eval", artifact, "--data", str(FIXTURES / model[2]),
                           "--labels", LABELS, "--json", *options))["rows"]
    return rows


def cell(row):
    if row["std"] > 0 or len(row.get("chips", [])) > 1:
        return f"{row['accuracy']:.4f} ± {row['std']:.4f}"
    return f"{row['accuracy']:.4f}"


def fidelity_table():
    times = "1,3600,86400,2592000,31557600"
    uncompensated = variant("pcm", "pcm-uncompensated",
                            [('drift_compensation = "global"', 'drift_compensation = "none"')])
    print("| model | float | quantized | full, 1 s | 1 hour | 1 day | 30 days | 1 year |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for model in MODELS:
        for label, target in [(model[0], "pcm"), (f"{model[0]}, uncompensated", uncompensated)]:
            artifact = compile_model(model, target)
            sweep = evaluate(artifact, model, "--repeats", REPEATS, "--drift-sweep",
                             str(SCRATCH / "sweep"), "--drift-times", times)
            if target == "pcm":
                fixed = evaluate(artifact, model, "--fidelity", "float", "--fidelity", "quantized")
                head = [cell(fixed[0]), cell(fixed[1])]
            else:
                head = ["", ""]
            print(f"| {label} | " + " | ".join(head + [cell(row) for row in sweep]) + " |")
        sys.stdout.flush()


def encodings_table():
    # Device-pair cells hold signed weights: `pcm` itself only takes `pair` (auto
    # chooses the bits per cell). The other encodings on the same devices and
    # converters with one device per cell.
    single = variant("pcm", "pcm-single", [('devices = "pair"', 'devices = "single"')])
    print("| model | target | encoding | arrays | ADC conversions | PCM 1 h, 10 chips |")
    print("| --- | --- | --- | --- | --- | --- |")
    choices = [
        ("`pcm`", "pcm", "pair (default)", []),
        ("`pcm`", "pcm", "auto, accuracy", ["--encoding", "auto", "--objective", "accuracy"]),
        ("single devices", single, "differential (default)", []),
        ("single devices", single, "offset", ["--encoding", "offset"]),
        ("single devices", single, "auto, area", ["--encoding", "auto", "--objective", "area"]),
        ("single devices", single, "auto, accuracy", ["--encoding", "auto", "--objective", "accuracy"]),
    ]
    for model in MODELS:
        for target_label, target, label, options in choices:
            artifact = compile_model(model, target, *options)
            report = json.loads(cimc("report", artifact, "--json"))
            row = evaluate(artifact, model, "--fidelity", "full", "--repeats", REPEATS,
                           "--drift-time", "3600")[0]
            print(f"| {model[0]} | {target_label} | {label} | {report['arrays']} | {report['adc_conversions']} | {cell(row)} |")
            sys.stdout.flush()


def nmdu_table():
    # The NMDU applies fixed scales: PCM devices behind uniform converters (one
    # device per cell, no per-vector input scaling, no bound management).
    uniform = variant("pcm", "pcm-uniform", [
        ('devices = "pair"', 'devices = "single"'),
        ('management = "abs_max"', 'management = "none"'),
        ('management = "iterative"', 'management = "none"'),
    ])
    narrow = SCRATCH / "ideal-8bit-nmdu.toml"
    narrow.write_text((ROOT / "targets" / "ideal.toml").read_text()
                      + "\n[nmdu]\nmultiplier_bits = 8\noutput_bits = 8\n")
    narrow = str(narrow)
    print("| model | quantized, float digital | quantized, NMDU | PCM 1 h, float digital | PCM 1 h, NMDU | NMDU with 8-bit multipliers and outputs |")
    print("| --- | --- | --- | --- | --- | --- |")
    for model in MODELS:
        ideal = compile_model(model, "ideal")
        pcm = compile_model(model, uniform)
        eight = compile_model(model, narrow)
        cells = [
            evaluate(ideal, model, "--fidelity", "quantized")[0],
            evaluate(ideal, model, "--fidelity", "quantized", "--digital", "nmdu")[0],
            evaluate(pcm, model, "--fidelity", "full", "--repeats", REPEATS, "--drift-time", "3600")[0],
            evaluate(pcm, model, "--fidelity", "full", "--repeats", REPEATS, "--drift-time", "3600",
                     "--digital", "nmdu")[0],
            evaluate(eight, model, "--fidelity", "quantized", "--digital", "nmdu")[0],
        ]
        print(f"| {model[0]} | " + " | ".join(cell(row) for row in cells) + " |")
        sys.stdout.flush()


def quickstart_table():
    print("| model | float | exact | quantized, calibrated | quantized, full-scale ADCs |")
    print("| --- | --- | --- | --- | --- |")
    for model in MODELS:
        if model[0] == "MLP":
            model = ("MLP", "digits-mlp.mlir", *model[2:])
        calibrated = evaluate(compile_model(model, "ideal"), model)
        _, source, _, _ = model
        plain = SCRATCH / f"{model[0]}-plain"
        cimc("compile", str(FIXTURES / source), "-o", str(plain))
        full_scale = evaluate(str(plain), model, "--fidelity", "quantized")[0]
        print(f"| {model[0]} (`{source}`) | " + " | ".join(cell(row) for row in [*calibrated, full_scale]) + " |")
        sys.stdout.flush()


def mapping_table():
    print("| model | arrays, egraph / naive | mean utilisation, egraph / naive | ADC conversions per inference | latency, µs | pipeline interval, µs, egraph / naive | energy, nJ | exact accuracy | quantized, calibrated, egraph / naive |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")

    def both(a, b, form=str):
        a, b = form(a), form(b)
        return f"{a} (both)" if a == b else f"{a} / {b}"

    for model in MODELS:
        runs = []
        for mapper in ["egraph", "naive"]:
            artifact = compile_model(model, "ideal", "--mapper", mapper)
            report = json.loads(cimc("report", artifact, "--json"))
            rows = evaluate(artifact, model, "--fidelity", "exact", "--fidelity", "quantized")
            runs.append((report, rows))
        (e, (e_exact, e_quantized)), (n, (n_exact, n_quantized)) = runs
        print(" | ".join([
            f"| {model[0]}",
            both(e["arrays"], n["arrays"]),
            both(e["utilisation"], n["utilisation"], lambda u: f"{100 * u:.2f}%"),
            both(e["adc_conversions"], n["adc_conversions"]),
            both(e["latency_ns"], n["latency_ns"], lambda t: f"{t / 1000:.1f}"),
            both(e["interval_ns"], n["interval_ns"], lambda t: f"{t / 1000:.1f}"),
            both(e["energy_nj"], n["energy_nj"], lambda x: f"{x:.1f}"),
            both(cell(e_exact), cell(n_exact)),
            both(cell(e_quantized), cell(n_quantized)),
        ]) + " |")
        sys.stdout.flush()


def with_text(preset, name, after, extra):
    """A copy of targets/PRESET.toml with `extra` lines after the `after` line."""
    return variant(preset, name, [(after, after + "\n" + extra)])


def rram_table():
    print("| model | float | quantized | full, 1 s | 1 hour | 1 day | 2 days |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for model in MODELS:
        artifact = compile_model(model, "rram")
        fixed = evaluate(artifact, model, "--fidelity", "float", "--fidelity", "quantized")
        sweep = evaluate(artifact, model, "--repeats", REPEATS, "--drift-sweep",
                         str(SCRATCH / "sweep"), "--drift-times", "1,3600,86400,172800")
        print(f"| {model[0]} | " + " | ".join(cell(row) for row in [*fixed, *sweep]) + " |")
        sys.stdout.flush()


def planes_table():
    per_plane = 'conversion = "per_bit_plane"'
    ideal_planes = with_text("ideal", "ideal-planes", "[adc]", per_plane)
    rram_planes = with_text("rram", "rram-planes", "[adc]", per_plane)
    print("| model | `ideal`, quantized, per MVM / per plane | `rram` 1 day, per MVM | `rram` 1 day, per plane |")
    print("| --- | --- | --- | --- |")
    for model in MODELS:
        ideal = [evaluate(compile_model(model, target), model, "--fidelity", "quantized")[0]
                 for target in ["ideal", ideal_planes]]
        rram = [evaluate(compile_model(model, target), model, "--fidelity", "full", "--repeats",
                         REPEATS, "--drift-time", "86400")[0] for target in ["rram", rram_planes]]
        print(f"| {model[0]} | {cell(ideal[0])} / {cell(ideal[1])} | {cell(rram[0])} | {cell(rram[1])} |")
        sys.stdout.flush()


def wires_table():
    mlp = MODELS[0]
    print("| segment | quantized | approximate IR drop | exact nodal solve |")
    print("| --- | --- | --- | --- |")
    for ohms in ["1.0", "10.0"]:
        cells = []
        for model in ["approximate", "exact"]:
            extra = f'word_ohms = {ohms}\nbit_ohms = {ohms}\nread_volts = 0.2\nir_drop = "{model}"'
            path = SCRATCH / f"ideal-wires-{model}-{ohms}.toml"
            path.write_text((ROOT / "targets" / "ideal.toml").read_text() + "\n[wires]\n" + extra + "\n")
            artifact = compile_model(mlp, str(path))
            if not cells:
                cells.append(evaluate(artifact, mlp, "--fidelity", "quantized")[0])
            cells.append(evaluate(artifact, mlp, "--fidelity", "full")[0])
        print(f"| {ohms} Ω | " + " | ".join(cell(row) for row in cells) + " |")
        sys.stdout.flush()


TABLES = {"quickstart": quickstart_table, "mapping": mapping_table, "fidelity": fidelity_table, "encodings": encodings_table, "nmdu": nmdu_table,
          "rram": rram_table, "planes": planes_table, "wires": wires_table}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(TABLES):
        if name not in TABLES:
            sys.exit(f"unknown table {name}: one of {', '.join(TABLES)}")
        print(f"\n{name}:\n")
        TABLES[name]()
