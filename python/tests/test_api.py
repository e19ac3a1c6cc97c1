"""The cim wheel's Python API on the repository's fixtures, run in a fresh venv
where only the wheel and numpy are installed (tools/test-wheel.sh): compile an
ONNX and an MLIR model, run them at each fidelity, evaluate, report, and fail
clearly on bad input. With torch importable, also a torch.nn.Module.

    python python/tests/test_api.py FIXTURES_DIR
"""

import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np

import cim

FIXTURES = pathlib.Path(sys.argv[1])


def main():
    # The binaries are the wheel's, beside this Python, not a build tree's.
    for name in ("cimc", "cim-opt", "cim-translate"):
        path = pathlib.Path(cim.tool(name))
        assert path.parent == pathlib.Path(sys.executable).parent, path
        subprocess.run([str(path), "--version"], check=True, capture_output=True)

    x = np.load(FIXTURES / "digits-test-x.npy")
    y = np.load(FIXTURES / "digits-test-y.npy")
    calibration = np.load(FIXTURES / "digits-calib-x.npy")
    reference = np.load(FIXTURES / "digits-mlp-logits.npy")

    # ONNX, calibrated on an array; exact fidelity is onnxruntime's to 1e-5.
    artifact = cim.compile(FIXTURES / "digits-mlp.onnx", target="pcm", calibration=calibration)
    exact = artifact.run(x, fidelity="exact")
    assert exact.shape == reference.shape, exact.shape
    assert np.allclose(exact, reference, rtol=1e-5, atol=1e-5)
    # Full fidelity: the same seed gives the same bits, another seed another chip.
    one = artifact.run(x, fidelity="full", seed=3, drift_time=86400)
    assert np.array_equal(one, artifact.run(x, fidelity="full", seed=3, drift_time=86400))
    assert not np.array_equal(one, artifact.run(x, fidelity="full", seed=4, drift_time=86400))
    rows = artifact.evaluate(x, y, fidelity=["float", "quantized", "full"], repeats=3)
    assert set(rows) == {"float", "quantized", "full"}, rows.keys()
    assert rows["float"]["accuracy"] > 0.9, rows["float"]
    assert abs(rows["quantized"]["accuracy"] - rows["float"]["accuracy"]) < 0.02, rows
    assert len(rows["full"]["chips"]) == 3 and rows["full"]["std"] >= 0, rows["full"]
    report = artifact.report()
    assert report["schema"] == 1 and report["arrays"] > 0 and report["energy_nj"] > 0, report

    # MLIR, compile options as keywords, an artifact directory kept.
    with tempfile.TemporaryDirectory() as scratch:
        kept = cim.compile(str(FIXTURES / "digits-mlp.mlir"), target="ideal", weight_bits=4,
                           objective="area", output=pathlib.Path(scratch) / "mlp")
        assert (pathlib.Path(scratch) / "mlp" / "manifest.json").is_file()
        assert kept.evaluate(x, y, fidelity="exact")["exact"]["accuracy"] > 0.9

    # Bad input: a clear error with cimc's exit status, never a traceback from cimc.
    for call, status, words in [
        (lambda: cim.compile(FIXTURES / "no-such-model.onnx"), 1, "no-such-model.onnx"),
        (lambda: cim.compile(FIXTURES / "digits-mlp.onnx", target="no-such-target"), 2, "no-such-target"),
        (lambda: cim.compile(FIXTURES / "digits-mlp.onnx", colour=3), 2, "colour"),
        (lambda: artifact.run(np.full((2, 64), np.nan)), 2, "NaN"),
        (lambda: artifact.run(x[:, :10]), 1, "does not fit tensor<?x64xf32>"),
    ]:
        try:
            call()
        except cim.CimError as error:
            assert error.status == status, (error.status, str(error))
            assert words in str(error), str(error)
        else:
            raise AssertionError(f"no error for {words}")

    try:
        import torch
    except ImportError:
        print("test_api: torch is not installed: the torch.nn.Module case is skipped")
    else:
        torch.manual_seed(0)
        module = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
        example = torch.tensor(x[:4], dtype=torch.float32)
        artifact = cim.compile(module, example_inputs=example, target="ideal")
        with torch.no_grad():
            expected = module(torch.tensor(x, dtype=torch.float32)).numpy()
        assert np.allclose(artifact.run(x, fidelity="exact"), expected, rtol=1e-4, atol=1e-5)
        print("test_api: the torch.nn.Module case passed")
    print("test_api: passed")


if __name__ == "__main__":
    main()
