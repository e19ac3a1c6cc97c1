#!/usr/bin/env bash
# Installs what cim needs to build and test on Debian 12: LLVM/MLIR 22 (libraries,
# headers, mlir-opt, FileCheck, lit) and the C libraries they link against; and
# python3-venv, for the Python environment of tools/ci-venv.sh.
# Idempotent: checks first, installs only what is missing, says what it does.
set -euo pipefail

packages=(
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools libpolly-22-dev
  clang-22 libclang-22-dev libzstd-dev libz3-dev libxml2-dev zlib1g-dev
  python3 python3-venv g++
  # Run the NMDU's RISC-V code in a test: link it, run it under user-mode QEMU.
  lld-22 qemu-user
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present (LLVM/MLIR 22 in $(llvm-config-22 --prefix))"
else
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then
      sudo="sudo"
    else
      echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/cim-install-deps.log 2>&1; then
    echo "install-deps: apt-get install failed; refreshing package lists and retrying" >&2
    $sudo apt-get update >>/tmp/cim-install-deps.log 2>&1
    if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/cim-install-deps.log 2>&1; then
      tail -n 20 /tmp/cim-install-deps.log >&2
      echo "install-deps: could not install ${missing[*]}; see /tmp/cim-install-deps.log." >&2
      echo "install-deps: cim needs Debian's LLVM/MLIR 22 packages (llvm-22-dev, libmlir-22-dev, mlir-22-tools)." >&2
      exit 1
    fi
  fi
  echo "install-deps: done"
fi

prefix=$(llvm-config-22 --prefix)
for tool in mlir-opt FileCheck not lit; do
  if [ ! -x "$prefix/bin/$tool" ]; then
    echo "install-deps: $prefix/bin/$tool is missing after install" >&2
    exit 1
  fi
done
if [ "$prefix" != "/usr/lib/llvm-22" ]; then
  echo "install-deps: note: LLVM 22 is in $prefix, but .cargo/config.toml points at /usr/lib/llvm-22" >&2
fi
