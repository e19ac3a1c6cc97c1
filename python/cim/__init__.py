"""cim from Python: compile a network for an analog compute-in-memory target, run it
on simulated chips, measure its accuracy, and read its cost report.

The wheel carries the ``cimc``, ``cim-opt`` and ``cim-translate`` binaries; this
module drives ``cimc`` (one process per call) and exchanges arrays with it as
``.npy`` files, so results are exactly those of the command line.

    artifact = cim.compile("model.onnx", target="pcm", calibration=x_calib)
    y = artifact.run(x, fidelity="full", seed=1, drift_time=86400)
    rows = artifact.evaluate(x, labels, fidelity=["float", "full"], repeats=10)
    report = artifact.report()
"""

from ._api import Artifact, CimError, compile, tool

__all__ = ["Artifact", "CimError", "compile", "tool"]
