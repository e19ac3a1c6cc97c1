#!/usr/bin/env python3
"""Times BLAS f32 GEMMs of the runtime benchmark's shapes, the yardstick for the
GEMM the runtime uses (`cargo bench --bench runtime` prints its own time of the
same shapes): numpy (OpenBLAS) and, if installed, torch (MKL), best of a run, on
`--threads` threads. A development-time script.

    OPENBLAS_NUM_THREADS=2 $VENV/bin/python tools/gemm-reference.py [--threads 2]
"""

import argparse
import time

import numpy as np

SHAPES = [(1024, 512, 512), (1024, 128, 128)]


def best(work, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    arguments = parser.parse_args()
    rng = np.random.default_rng(0)
    try:
        import torch
        torch.set_num_threads(arguments.threads)
    except ImportError:
        torch = None
    for m, k, n in SHAPES:
        a = rng.random((m, k), dtype=np.float32)
        b = rng.random((k, n), dtype=np.float32)
        c = np.empty((m, n), np.float32)
        runs = 15 if m * k * n > 1e8 else 50
        flops = 2.0 * m * k * n
        seconds = best(lambda: np.matmul(a, b, out=c), runs)
        print(f"numpy f32 GEMM {m}x{k}x{n}: {seconds * 1e3:.2f} ms ({flops / seconds / 1e9:.0f} GFLOP/s)")
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            tc = torch.empty((m, n))
            seconds = best(lambda: torch.matmul(ta, tb, out=tc), runs)
            print(f"torch f32 GEMM {m}x{k}x{n}: {seconds * 1e3:.2f} ms ({flops / seconds / 1e9:.0f} GFLOP/s)")


if __name__ == "__main__":
    main()
