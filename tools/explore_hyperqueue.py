#!/usr/bin/env python3
"""Runs a planned `cimc explore` through HyperQueue on this machine.

HyperQueue's PyPI package (`pip install hyperqueue`) carries its server and
worker; this starts both (a local cluster), submits one task per point of the
plan in RUN, each `cimc explore -o RUN --task $HQ_TASK_ID` exactly as a job
array on a real cluster would run it, waits, and fails if a task failed (printing
its output). Merging is left to `cimc explore -o RUN --merge`.

    cimc explore MODEL --space S.toml --data X.npy --labels Y.npy -o RUN --plan
    python tools/explore_hyperqueue.py --cimc target/release/cimc --run RUN
    cimc explore -o RUN --merge

The test suite runs it (tests/cimc/explore.rs) from the venv tools/ci-venv.sh
makes.
"""

import argparse
import json
import os
import sys
import tempfile

from hyperqueue import Client, Job  # noqa: F401  (Client: the cluster's type)
from hyperqueue.cluster import LocalCluster, WorkerConfig


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cimc", required=True, help="the cimc binary")
    parser.add_argument("--run", required=True, help="the planned run directory")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1,
                        help="the worker's cores (default: this machine's)")
    args = parser.parse_args()
    cimc = os.path.abspath(args.cimc)
    run = os.path.abspath(args.run)
    with open(os.path.join(run, "plan.json")) as file:
        tasks = json.load(file)["points"]
    with tempfile.TemporaryDirectory(prefix="cim-hq-") as server:
        with LocalCluster(server_dir=os.path.join(server, "server")) as cluster:
            cluster.start_worker(WorkerConfig(cores=args.cores))
            client = cluster.client()
            job = Job()
            for task in range(tasks):
                job.program(
                    ["sh", "-c", 'exec "$0" explore -o "$1" --task "$HQ_TASK_ID"', cimc, run],
                    stdout=os.path.join(server, f"{task}.out"),
                    stderr=os.path.join(server, f"{task}.err"),
                )
            submitted = client.submit(job)
            finished = client.wait_for_jobs([submitted], raise_on_error=False)
        if not finished:
            for task in range(tasks):
                error = os.path.join(server, f"{task}.err")
                text = open(error).read() if os.path.exists(error) else ""
                if text.strip():
                    print(f"task {task}: {text.strip()}", file=sys.stderr)
            print(f"explore_hyperqueue: a task of {run} failed", file=sys.stderr)
            return 1
    print(f"explore_hyperqueue: {tasks} tasks of {run} ran through HyperQueue")
    return 0


if __name__ == "__main__":
    sys.exit(main())
