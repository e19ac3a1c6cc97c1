#!/usr/bin/env bash
# Prints the SHA-256 of what `cimc run` writes for every fixture, on several targets
# (calibrated or not), at every fidelity and every `--digital` mode: one line per run.
# A refactoring that must not change behaviour keeps every line. Compare two
# revisions with
#
#   git checkout BASE && cargo build --release --bin cimc && tools/run-output-hashes.sh > before.txt
#   git checkout HEAD && cargo build --release --bin cimc && tools/run-output-hashes.sh > after.txt
#   diff before.txt after.txt && echo identical
#
# Usage: tools/run-output-hashes.sh [CIMC]   (default: target/release/cimc)
set -euo pipefail
cd "$(dirname "$0")/.."
cimc=${1:-target/release/cimc}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

fixtures=tests/fixtures
# model | test inputs | calibration inputs
models=(
  "$fixtures/digits-mlp.mlir|digits-test-x.npy|digits-calib-x.npy"
  "$fixtures/digits-mlp.onnx|digits-test-x.npy|digits-calib-x.npy"
  "$fixtures/digits-cnn.onnx|digits-test-images.npy|digits-calib-images.npy"
  "$fixtures/digits-lstm.onnx|digits-test-rows.npy|digits-calib-rows.npy"
  "$fixtures/digits-gru.onnx|digits-test-rows.npy|digits-calib-rows.npy"
  "tests/examples/torch-mlir-cnn.mlir|digits-test-images.npy|digits-calib-images.npy"
)
# target | extra compile options
targets=("ideal|" "pcm|" "rram|" "ideal|--mapper naive" "pcm|--encoding auto")

for entry in "${models[@]}"; do
  IFS='|' read -r model test calibration <<<"$entry"
  for target_entry in "${targets[@]}"; do
    IFS='|' read -r target extra <<<"$target_entry"
    for calibrated in no yes; do
      artifact=$scratch/artifact
      rm -rf "$artifact"
      options=(--target "$target")
      [ -n "$extra" ] && read -r -a more <<<"$extra" && options+=("${more[@]}")
      [ "$calibrated" = yes ] && options+=(--calibration "$fixtures/$calibration")
      "$cimc" compile "$model" -o "$artifact" "${options[@]}" >/dev/null
      runs=("float|float" "exact|float"
        "quantized|float" "quantized|interp" "quantized|nmdu"
        "full|float" "full|interp" "full|nmdu")
      for run in "${runs[@]}"; do
        IFS='|' read -r fidelity digital <<<"$run"
        out=$scratch/out.npy
        rm -f "$out"
        if "$cimc" run "$artifact" --input "$fixtures/$test" --output "$out" \
          --fidelity "$fidelity" --digital "$digital" --seed 7 --drift-time 3600 \
          >/dev/null 2>"$scratch/err"; then
          hash=$(sha256sum "$out" | cut -c1-16)
        else
          hash="error: $(head -c 120 "$scratch/err" | tr '\n' ' ')"
        fi
        printf '%s | %s %s | calibrated=%s | %s/%s | %s\n' \
          "$(basename "$model")" "$target" "$extra" "$calibrated" "$fidelity" "$digital" "$hash"
      done
    done
  done
done
