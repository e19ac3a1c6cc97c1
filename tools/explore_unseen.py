#!/usr/bin/env python3
"""Explores a design space on a CNN the repository does not contain: trains a fresh
digits CNN (two convolutions of a random width, seeded) on the fixtures' training
split, exports it with torch.onnx, and runs `cimc explore` over a space on it.
A development-time check that exploration works on unseen networks (nothing is
committed from it).

    cargo build --release --bin cimc
    $VENV/bin/python tools/explore_unseen.py --seed 7 --space spaces/digits-cnn-pcm.toml --out RUN

With `--search SPACE --search-seeds 1,2,3`, it then searches SPACE (a space with
a `[search]` table, such as spaces/digits-cnn-pcm-search.toml, over the points of
--space) on the same model once per seed, into RUN-search-SEED, each compared
with RUN (`--against`).
"""

import argparse
import pathlib
import re
import subprocess
import tempfile

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SPLIT_SEED = 20261122  # make_fixtures.py's split, so the fixtures' test images are unseen


def train(seed):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    width = int(rng.choice([6, 10, 12]))
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    x_train, _, y_train, _ = train_test_split(
        x, digits.target, test_size=0.3, random_state=SPLIT_SEED, stratify=digits.target)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, width, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(width, 2 * width, 3, padding=1), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(2 * width * 16, 10))
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    xt, yt = torch.tensor(x_train), torch.tensor(y_train)
    for _ in range(60):
        for batch in torch.randperm(len(xt)).split(64):
            optimiser.zero_grad()
            torch.nn.functional.cross_entropy(model(xt[batch]), yt[batch]).backward()
            optimiser.step()
    return model.eval(), width


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--space", default=str(ROOT / "spaces" / "digits-cnn-pcm.toml"))
    parser.add_argument("--out", required=True)
    parser.add_argument("--cimc", default=str(ROOT / "target" / "release" / "cimc"))
    parser.add_argument("--search", help="a space with a [search] table, searched after --space")
    parser.add_argument("--search-seeds", default="1", help="the search's seeds, comma-separated")
    args = parser.parse_args()
    model, width = train(args.seed)
    test = np.load(FIXTURES / "digits-test-images.npy")
    labels = np.load(FIXTURES / "digits-test-y.npy")
    with torch.no_grad():
        accuracy = (model(torch.tensor(test)).argmax(1).numpy() == labels).mean()
    print(f"unseen CNN (seed {args.seed}, widths {width}/{2 * width}): float accuracy {accuracy:.4f}")
    with tempfile.TemporaryDirectory() as tmp:
        onnx = pathlib.Path(tmp) / "unseen-cnn.onnx"
        torch.onnx.export(model, torch.tensor(test[:1]), onnx, dynamo=False, opset_version=17,
                          input_names=["x"], dynamic_axes={"x": {0: "batch"}})
        def explore(space, out, *extra):
            subprocess.run([args.cimc, "explore", str(onnx), "--space", str(space),
                            "--data", str(FIXTURES / "digits-test-images.npy"),
                            "--labels", str(FIXTURES / "digits-test-y.npy"),
                            "--calibration", str(FIXTURES / "digits-calib-images.npy"),
                            "-o", out, *extra], check=True)

        explore(args.space, args.out)
        if args.search:
            text = pathlib.Path(args.search).read_text()
            for seed in args.search_seeds.split(","):
                seeded = pathlib.Path(tmp) / f"search-{seed}.toml"
                head, search = text.split("[search]", 1)
                search = re.sub(r"(?m)^seed\s*=.*$", "", search)
                seeded.write_text(f"{head}[search]\nseed = {int(seed)}{search}")
                explore(seeded, f"{args.out}-search-{seed}", "--against", args.out)


if __name__ == "__main__":
    main()
