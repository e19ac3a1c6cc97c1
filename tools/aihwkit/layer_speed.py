#!/usr/bin/env python3
"""Times the runtime benchmark's `pcm` layer through aihwkit 1.2, beside cim's own
time of it: one 512x512 analog linear layer (weights and inputs uniform in
[-1, 1]), batch 1024, PCM an hour after programming, the periphery of cim's `pcm`
preset (aihwkit's InferenceRPUConfig defaults: 7-bit DAC with abs-max input
scaling, 9-bit ADC with output noise and iterative bound management), through
aihwkit's two tiles: the torch tile (TorchInferenceRPUConfig) and the C++ tile
(InferenceRPUConfig). A development-time script.

    cargo bench --bench runtime --no-run
    $VENV/bin/python tools/aihwkit/layer_speed.py [--threads 2] [--trials 3] [--markdown]

Each trial times every tile's forward pass (best of `--runs`, no gradients) and then
runs `cargo bench --bench runtime -- pcm` (cim's full-fidelity run, best of 15), so
both sides see the same minutes of a shared machine; each side's time is its best
over the trials. Both get `--threads` threads.
"""

import argparse
import os
import pathlib
import re
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
N, BATCH, DRIFT = 512, 1024, 3600.0


def tile_seconds(make_config, runs):
    """The best time of one forward pass of the layer on an aihwkit tile."""
    import torch
    from aihwkit.inference import GlobalDriftCompensation, PCMLikeNoiseModel
    from aihwkit.nn import AnalogLinear

    config = make_config()
    config.noise_model = PCMLikeNoiseModel(g_max=25.0)
    config.drift_compensation = GlobalDriftCompensation()
    torch.manual_seed(0)
    layer = AnalogLinear(N, N, bias=False, rpu_config=config)
    layer.set_weights(torch.rand(N, N) * 2 - 1)
    layer.eval()
    layer.program_analog_weights()
    layer.drift_analog_weights(DRIFT)
    x = torch.rand(BATCH, N) * 2 - 1
    best = float("inf")
    with torch.no_grad():
        layer(x)  # the first pass pays for allocations
        for _ in range(runs):
            start = time.perf_counter()
            layer(x)
            best = min(best, time.perf_counter() - start)
    return best


def cim_seconds():
    """cim's full-fidelity run of the layer, from the runtime benchmark."""
    bench = subprocess.run(["cargo", "bench", "--quiet", "--bench", "runtime", "--", "pcm"],
                           cwd=ROOT, capture_output=True, text=True, check=True)
    found = re.search(r"full-fidelity run:\s+([0-9.]+) ms", bench.stdout)
    if not found:
        raise SystemExit(f"layer_speed.py: no full-fidelity time in:\n{bench.stdout}")
    return float(found.group(1)) / 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--runs", type=int, default=15, help="forward passes per tile and trial")
    parser.add_argument("--markdown", action="store_true")
    arguments = parser.parse_args()
    for variable in ("RAYON_NUM_THREADS", "MATMUL_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[variable] = str(arguments.threads)
    import torch
    from aihwkit.simulator.configs import InferenceRPUConfig, TorchInferenceRPUConfig

    torch.set_num_threads(arguments.threads)
    tiles = {"aihwkit torch tile": TorchInferenceRPUConfig, "aihwkit C++ tile": InferenceRPUConfig}
    times = {name: [] for name in ["cim", *tiles]}
    for _ in range(arguments.trials):
        for name, make_config in tiles.items():
            times[name].append(tile_seconds(make_config, arguments.runs))
        times["cim"].append(cim_seconds())
    ours = min(times["cim"])
    if arguments.markdown:
        print(f"| simulator ({N}x{N} layer, batch {BATCH}, PCM at 1 h, {arguments.threads} threads) "
              "| best forward pass, each trial | best | its time / cim's |")
        print("| --- | --- | --- | --- |")
    for name, seconds in times.items():
        each = ", ".join(f"{1e3 * s:.1f}" for s in seconds)
        if arguments.markdown:
            print(f"| {name} | {each} ms | {1e3 * min(seconds):.1f} ms | {min(seconds) / ours:.2f}x |")
        else:
            print(f"{name:<20} {each} ms; best {1e3 * min(seconds):.1f} ms, {min(seconds) / ours:.2f}x cim's")


if __name__ == "__main__":
    main()
