#!/usr/bin/env bash
# Builds the release wheel users install: target/wheels/cim-VERSION-*.whl, with
# cimc, cim-opt and cim-translate (MLIR and LLVM linked in, the few shared
# libraries they need bundled) and the `cim` Python module. Then:
#   pip install target/wheels/cim-*.whl
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/ci-venv.sh
target="${CARGO_TARGET_DIR:-target}"
# maturin patches the binaries it copies into target/maturin: start from fresh copies.
rm -rf "$target/maturin"
PATH="$PWD/$target/ci-venv/bin:$PATH" maturin build --release --locked --auditwheel skip --compatibility linux -o "$target/wheels"
