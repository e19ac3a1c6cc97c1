"""The Python API over ``cimc``: see the package docstring."""

import json
import os
import pathlib
import shutil
import subprocess
import sysconfig
import tempfile

import numpy as np

# The compile options cimc takes, as keyword arguments of compile() (snake_case).
_COMPILE_OPTIONS = {
    "encoding", "weight_bits", "input_bits", "mapper", "objective", "duplicate_arrays",
    "placement", "error_time", "calibration_percentile", "adapter_rank", "adapter_layers",
}


class CimError(RuntimeError):
    """A cimc command failed: its message (what is wrong and what to do) and exit
    status (2: the request is wrong, 1: the input failed, 3: a bug in cim)."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def tool(name="cimc"):
    """The path of one of the wheel's binaries (``cimc``, ``cim-opt``,
    ``cim-translate``): the one installed beside this Python, else on PATH."""
    for directory in (sysconfig.get_path("scripts"), None):
        found = shutil.which(name, path=directory)
        if found:
            return found
    raise CimError(f"{name} is not installed beside this Python nor on PATH: "
                   "install the cim wheel (pip install cim-*.whl)", 2)


def _cimc(*arguments):
    completed = subprocess.run([tool("cimc"), *map(str, arguments)],
                               capture_output=True, text=True)
    if completed.returncode != 0:
        message = completed.stderr.strip() or f"cimc exited with {completed.returncode}"
        raise CimError(message, completed.returncode)
    return completed.stdout


def _finite_npy(array, path, what):
    array = np.asarray(array)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise CimError(f"{what} holds NaN or inf: give finite values", 2)
    if array.dtype.kind not in "fiu":
        raise CimError(f"{what} has dtype {array.dtype}: give numbers", 2)
    np.save(path, array.astype(np.float32) if array.dtype.kind == "f" else array)
    return path


def _export_torch(module, example_inputs, directory):
    try:
        import torch
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise CimError("compiling a torch.nn.Module needs torch (pip install torch onnx)", 2) from error
    if example_inputs is None:
        raise CimError("a torch.nn.Module needs example_inputs (a tensor or a tuple of them)", 2)
    if not isinstance(example_inputs, tuple):
        example_inputs = (example_inputs,)
    path = os.path.join(directory, "model.onnx")
    names = [f"input{i}" for i in range(len(example_inputs))]
    torch.onnx.export(module.eval(), example_inputs, path, dynamo=False, opset_version=17,
                      input_names=names, dynamic_axes={name: {0: "batch"} for name in names})
    return path


def compile(model, target="ideal", calibration=None, example_inputs=None, output=None,
            **options):
    """Compiles ``model`` for ``target`` and returns its :class:`Artifact`.

    ``model``: an ONNX or MLIR file, or a ``torch.nn.Module`` (with ``example_inputs``;
    exported by ``torch.onnx``). ``target``: a preset name (``ideal``, ``pcm``,
    ``rram``, ...) or a target file. ``calibration``: inputs (array or ``.npy``
    path) to calibrate the converters on. ``output``: the artifact directory
    (default: a temporary one, removed with the artifact). Other keyword arguments
    are cimc's compile options: ``encoding``, ``weight_bits``, ``input_bits``,
    ``mapper``, ``objective``, ``duplicate_arrays``, ``placement``, ``error_time``,
    ``calibration_percentile``, ``adapter_rank``, ``adapter_layers``.
    """
    unknown = set(options) - _COMPILE_OPTIONS
    if unknown:
        raise CimError(f"unknown compile options {sorted(unknown)}: "
                       f"cim.compile takes {sorted(_COMPILE_OPTIONS)}", 2)
    scratch = tempfile.TemporaryDirectory(prefix="cim-")
    if hasattr(model, "state_dict") and callable(getattr(model, "forward", None)):
        model = _export_torch(model, example_inputs, scratch.name)
    arguments = ["compile", os.fspath(model), "--target", target]
    if calibration is not None:
        if not isinstance(calibration, (str, os.PathLike)):
            calibration = _finite_npy(calibration, os.path.join(scratch.name, "calibration.npy"),
                                      "calibration")
        arguments += ["--calibration", os.fspath(calibration)]
    for key, value in sorted(options.items()):
        arguments += [f"--{key.replace('_', '-')}", value]
    owned = output is None
    output = os.path.join(scratch.name, "artifact") if owned else os.fspath(output)
    _cimc(*arguments, "-o", output)
    return Artifact(output, _scratch=scratch if owned else None)


class Artifact:
    """A compiled model (a ``cimc compile`` artifact directory)."""

    def __init__(self, path, _scratch=None):
        self.path = pathlib.Path(path)
        self._scratch = _scratch  # keeps a temporary artifact alive
        if not (self.path / "manifest.json").is_file():
            raise CimError(f"{self.path}: not an artifact written by cimc compile", 2)

    def __repr__(self):
        return f"cim.Artifact({str(self.path)!r})"

    def run(self, *inputs, fidelity="quantized", seed=0, drift_time=0.0):
        """Runs the artifact on ``inputs`` (one array per model input, batch first)
        and returns its first output as a numpy array (float32). ``fidelity``:
        ``float``, ``exact``, ``quantized`` or ``full`` (a chip of the target's
        devices, seeded by ``seed``, read ``drift_time`` seconds after
        programming)."""
        with tempfile.TemporaryDirectory(prefix="cim-run-") as scratch:
            arguments = ["run", self.path]
            for i, x in enumerate(inputs):
                arguments += ["--input", _finite_npy(x, os.path.join(scratch, f"x{i}.npy"),
                                                     f"input {i}")]
            out = os.path.join(scratch, "y.npy")
            _cimc(*arguments, "--output", out, "--fidelity", fidelity, "--seed", seed,
                  "--drift-time", drift_time)
            return np.load(out)

    def evaluate(self, x, labels, fidelity=("float", "exact", "quantized"), repeats=1,
                 seed=1, drift_time=86400.0):
        """Top-1 accuracy on ``x`` with integer ``labels``, at each fidelity (full
        fidelity over ``repeats`` chips): a dict from fidelity to its row (accuracy,
        std, chips' accuracies, ...), as ``cimc eval --json`` gives it."""
        if isinstance(fidelity, str):
            fidelity = [fidelity]
        with tempfile.TemporaryDirectory(prefix="cim-eval-") as scratch:
            data = _finite_npy(x, os.path.join(scratch, "x.npy"), "x")
            labels = np.asarray(labels)
            if labels.dtype.kind == "f":
                if not np.isfinite(labels).all() or (labels != np.round(labels)).any():
                    raise CimError("labels must be whole class numbers", 2)
                labels = labels.astype(np.int64)
            y = _finite_npy(labels, os.path.join(scratch, "y.npy"), "labels")
            output = _cimc("eval", self.path, "--data", data, "--labels", y,
                           "--fidelity", ",".join(fidelity), "--repeats", repeats,
                           "--seed", seed, "--drift-time", drift_time, "--json")
        rows = json.loads(output)["rows"]
        return {row["fidelity"]: row for row in rows}

    def report(self):
        """The mapping's report (arrays, cells, converters, energy, latency, area,
        per layer), as ``cimc report --json`` gives it: a dict."""
        return json.loads(_cimc("report", self.path, "--json"))
