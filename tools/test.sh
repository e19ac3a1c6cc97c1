#!/usr/bin/env bash
# The whole test suite: dependencies, formatting, lints, unit, integration, lit and
# snapshot tests. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/ci-venv.sh
# The Python that runs HyperQueue in tests/cimc/explore.rs.
export CIM_CI_PYTHON="$PWD/${CARGO_TARGET_DIR:-target}/ci-venv/bin/python"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
# The Python wheel, installed into a fresh venv, running the cim module's API.
tools/test-wheel.sh
