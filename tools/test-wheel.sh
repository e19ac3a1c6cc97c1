#!/usr/bin/env bash
# Builds the Python wheel (maturin, from target/ci-venv), installs it into a fresh
# venv with nothing else but numpy, and runs python/tests/test_api.py there on the
# fixtures. tools/test.sh runs it with the dev profile (the binaries cargo test
# has just built, linked again); `tools/test-wheel.sh --release` tests the wheel
# users get (tools/build-wheel.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
profile=(--profile dev)
if [ "${1:-}" = "--release" ]; then
  profile=(--release)
fi
tools/ci-venv.sh
export PATH="$PWD/$target/ci-venv/bin:$PATH"
# maturin patches the binaries it copies into target/maturin: start from fresh copies.
rm -rf "$target/wheels/test" "$target/wheel-venv" "$target/maturin"
maturin build "${profile[@]}" --locked --quiet --auditwheel skip --compatibility linux -o "$target/wheels/test" >/dev/null
wheel=$(ls "$target"/wheels/test/cim-*.whl)
echo "test-wheel: $(basename "$wheel") ($(du -m "$wheel" | cut -f1) MB)"
python3 -m venv "$target/wheel-venv"
"$target/wheel-venv/bin/pip" install --quiet --disable-pip-version-check "$wheel"
# Run from elsewhere, so `import cim` finds the installed package, not python/.
(cd "$target/wheel-venv" && bin/python "$OLDPWD/python/tests/test_api.py" "$OLDPWD/tests/fixtures")
