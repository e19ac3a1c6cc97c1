#!/usr/bin/env bash
# Makes target/ci-venv, the Python environment the test suite drives
# (tools/requirements-ci.txt: HyperQueue, which runs cimc explore's tasks in
# tests/cimc/explore.rs). Idempotent: reinstalls only when the requirements
# change. Needs python3-venv (tools/install-deps.sh) and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${CARGO_TARGET_DIR:-target}/ci-venv"
requirements=tools/requirements-ci.txt
if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$venv/requirements-ci.txt"; then
  echo "ci-venv: $venv up to date"
  exit 0
fi
echo "ci-venv: making $venv ($(grep -v '^#' "$requirements" | tr '\n' ' '))"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
cp "$requirements" "$venv/requirements-ci.txt"
