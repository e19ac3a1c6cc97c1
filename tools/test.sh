#!/usr/bin/env bash
# The whole test suite: dependencies, formatting, lints, unit, integration, lit and
# snapshot tests. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
