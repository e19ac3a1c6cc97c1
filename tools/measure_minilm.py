#!/usr/bin/env python3
"""How well a pre-trained sentence encoder keeps its meaning on simulated chips: the
all-MiniLM-L6-v2 export of tools/fixtures/make_minilm.py, compiled by cimc for a
target, run at full fidelity over several chips and drift times. For each chip and
time it prints the cosine similarity of every sentence's embedding to the float
model's (mean and worst), and the Spearman rank correlation of the similarities of
all sentence pairs with the float model's (does the chip still rank which sentences
are alike?). A development-time script; the README quotes what it printed.

    python3 tools/fixtures/make_minilm.py target/minilm
    cargo build --release --bin cimc
    python3 tools/measure_minilm.py target/minilm [--target pcm] [--chips 5] \
        [--times 1,3600,86400,31536000] [--model minilm.mlir] [--adapter-rank 8]

With --adapter-rank R, every projection gets a rank-R digital correction
(cim-adapters), and each chip is measured three ways: uncorrected, with its own
corrections fitted on the 64 calibration sentences (`cimc calibrate --chip`), and
with one set fitted across other chips (`cimc calibrate --chips`, at 1 day).

Needs numpy only (and the cimc binary in target/release; CIMC=path overrides it).
"""

import argparse
import os
import pathlib
import subprocess
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
CIMC = pathlib.Path(os.environ.get("CIMC", ROOT / "target" / "release" / "cimc"))


def cimc(*arguments):
    subprocess.run([str(CIMC), *map(str, arguments)], check=True, stdout=subprocess.DEVNULL)


def unit(rows):
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def ranks(values):
    order = np.argsort(values, kind="stable")
    rank = np.empty(len(values))
    rank[order] = np.arange(len(values))
    return rank


def spearman(a, b):
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", type=pathlib.Path)
    parser.add_argument("--target", default="pcm")
    parser.add_argument("--chips", type=int, default=5)
    parser.add_argument("--times", default="1,3600,86400,31536000")
    parser.add_argument("--model", default="minilm.onnx", help="in the directory: minilm.onnx or minilm.mlir")
    parser.add_argument("--adapter-rank", type=int, default=0)
    parser.add_argument("--calibration-chips", type=int, default=4)
    parser.add_argument("--modes", default="none,per-chip,across",
                        help="with --adapter-rank: which corrections to measure")
    args = parser.parse_args()
    d = args.directory
    inputs = [d / "input-ids.npy", d / "attention-mask.npy", d / "token-type-ids.npy"]
    pairs = np.load(d / "pairs.npy")
    artifact = d / f"artifact-{args.target}-{pathlib.Path(args.model).suffix[1:]}"
    start = time.time()
    rank = ["--adapter-rank", str(args.adapter_rank)] if args.adapter_rank else []
    cimc("compile", d / args.model, "--target", args.target, "-o", artifact, *rank)
    print(f"compile: {time.time() - start:.1f} s")
    calibration = []
    for name in ["input-ids", "attention-mask", "token-type-ids"]:
        calibration += ["--data", d / f"calib-{name}.npy"]
    modes = args.modes.split(",") if args.adapter_rank else ["none"]
    if args.adapter_rank:
        print(subprocess.run([CIMC, "report", artifact], capture_output=True, text=True).stdout.splitlines()[-1])
    if "across" in modes:
        start = time.time()
        cimc("calibrate", artifact, *calibration, "--chips", args.calibration_chips, "--drift-time", 86400,
             "--name", "across")
        print(f"across-chips set ({args.calibration_chips} chips at 1 day): {time.time() - start:.1f} s")

    def run(name, *options):
        out = d / f"{name}.npy"
        arguments = ["run", artifact, "--output", out, *options]
        for path in inputs:
            arguments += ["--input", path]
        cimc(*arguments)
        return np.load(out)

    reference = np.load(d / "embeddings.npy")
    # Uncorrected (an artifact's latest set would otherwise apply).
    plain = ["--adapters", "none"] if args.adapter_rank else []
    exact = run("exact", "--fidelity", "exact", *plain)
    cos = (unit(exact) * unit(reference)).sum(1)
    print(f"exact vs onnxruntime: largest relative difference "
          f"{np.abs(exact - reference).max() / np.abs(reference).max():.2e}, cosine min {cos.min():.8f}")
    float_similarity = (unit(reference)[pairs[:, 0]] * unit(reference)[pairs[:, 1]]).sum(1)
    quantized = run("quantized", "--fidelity", "quantized", *plain)
    q_cos = (unit(quantized) * unit(reference)).sum(1)
    q_sim = (unit(quantized)[pairs[:, 0]] * unit(quantized)[pairs[:, 1]]).sum(1)
    print(f"quantized: cosine mean {q_cos.mean():.4f} min {q_cos.min():.4f}, "
          f"pair-similarity Spearman {spearman(q_sim, float_similarity):.4f}")
    print("drift time s, corrections, chips, cosine mean (std over chips), cosine min, Spearman mean (std), "
          "seconds per chip")
    for drift in [float(t) for t in args.times.split(",")]:
        for mode in modes:
            means, worst, rho = [], [], []
            start = time.time()
            for chip in range(args.chips):
                options = ["--fidelity", "full", "--seed", chip, "--drift-time", drift]
                if mode == "per-chip":
                    cimc("calibrate", artifact, *calibration, "--chip", chip, "--drift-time", drift,
                         "--name", f"chip{chip}")
                    options += ["--adapters", f"chip{chip}"]
                elif args.adapter_rank:
                    options += ["--adapters", mode]
                e = run(f"full-{drift:g}-{chip}-{mode}", *options)
                c = (unit(e) * unit(reference)).sum(1)
                similarity = (unit(e)[pairs[:, 0]] * unit(e)[pairs[:, 1]]).sum(1)
                means.append(c.mean())
                worst.append(c.min())
                rho.append(spearman(similarity, float_similarity))
            per_chip = (time.time() - start) / args.chips
            print(f"{drift:g}, {mode}, {args.chips}, {np.mean(means):.4f} ({np.std(means):.4f}), "
                  f"{np.min(worst):.4f}, {np.mean(rho):.4f} ({np.std(rho):.4f}), {per_chip:.1f}", flush=True)


if __name__ == "__main__":
    main()
