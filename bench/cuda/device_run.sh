#!/usr/bin/env bash
# device_run.sh OUTDIR [BUDGET_S [tests|bench|all]] - one prepared run of the CUDA backend on a
# lent GPU machine (the device tool's `run`, whose every second counts):
#
#   1. use the programs in $LOWBIT_DEV_BIN when set and they load there
#      (built elsewhere with -Dnvcc_targets=<cc>a -Dtests=false, carried in);
#      else build liblowbit and the device programs for this GPU alone
#      (-Dnvcc_targets=<its compute capability>, no tests, no HIP), in
#      build-dev/ (kept between calls while the machine stays warm);
#   2. run, in order of what has never run on hardware first, each within
#      what is left of BUDGET_S (default 540 s, under one call's 600 s):
#      the GEMM, quantize and attention device tests (--quick), the GEMM
#      benchmark against cuBLASLt (--quick), the quantize benchmark, the
#      conversion test (--quick), the attention and conversion benchmarks;
#      a step that would start with under 20 s left is skipped, and says so
#      (a second call with "bench" runs only the benchmarks: the build is
#      kept while the machine stays warm);
#   3. write at most six files to OUTDIR (the tool brings back eight):
#      device.txt (nvidia-smi), build.txt (the build's tail), tests.txt and
#      bench.txt (each program's output, headed by its command), bench.jsonl
#      (the one-object-a-line JSON rows of the quantize, attention and
#      conversion benchmarks; the GEMM benchmark prints its table),
#      summary.txt (one line a step: exit status, seconds, last line).
#
# Exit status 0 when every step that ran passed, 1 otherwise.  Usage there:
#   bash bench/cuda/device_run.sh "$OUT"
# and commit OUTDIR's files under bench/results/<date>-<gpu>/ with a README.
set -uo pipefail
out=${1:?usage: device_run.sh OUTDIR [BUDGET_S]}
budget=${2:-540}
what=${3:-all}
cd "$(dirname "$0")/../.."
mkdir -p "$out"
t0=$(date +%s)
left() { echo $((budget - ($(date +%s) - t0))); }

nvidia-smi > "$out/device.txt" 2>&1
cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')
case "$cap" in
    90 | 100 | 103 | 110 | 120 | 121) target=${cap}a ;;  # the arch-specific cubins (wgmma, tcgen05, block-scaled mma)
    "") echo "device_run: no GPU (nvidia-smi gives no compute capability)" | tee "$out/summary.txt"; exit 1 ;;
    *) target=$cap ;;
esac
echo "device_run: compute capability $cap, building for $target" | tee "$out/summary.txt"

# LOWBIT_DEV_BIN=DIR: programs built elsewhere for this target (carried in),
# used when they load here (no "not found" library); else build here.
d=build-dev/kernels/cuda
bin=${LOWBIT_DEV_BIN:-}
if [ -n "$bin" ] && [ -x "$bin/gemm_device_test" ] && ! ldd "$bin"/* 2>&1 | grep -q 'not found'; then
    d=$bin
    echo "prebuilt programs in $bin: no build" | tee -a "$out/summary.txt"
else
    [ -n "$bin" ] && { echo "prebuilt programs in $bin do not load here: building" | tee -a "$out/summary.txt"; ldd "$bin"/* 2>&1 | grep 'not found' >> "$out/summary.txt"; }
    if [ ! -f build-dev/build.ninja ]; then
        meson setup build-dev -Dnvcc_targets="$target" -Dtests=false -Dhip=disabled -Dbuildtype=release \
            > "$out/build.txt" 2>&1 || { tail -40 "$out/build.txt"; exit 1; }
    fi
    if ! ninja -C build-dev -j "$(nproc)" >> "$out/build.txt" 2>&1; then
        tail -60 "$out/build.txt"
        echo "build FAILED after $(($(date +%s) - t0)) s" >> "$out/summary.txt"
        exit 1
    fi
    echo "build: $(($(date +%s) - t0)) s" | tee -a "$out/summary.txt"
    tail -5 "$out/build.txt" > "$out/build.tail" && mv "$out/build.tail" "$out/build.txt"
fi
fails=0
# step FILE NAME CAP CMD...: run CMD for at most CAP seconds and what is
# left of the budget (a hung kernel costs one step, not the run), append to FILE.
step() {
    local file=$1 name=$2 cap=$3
    shift 3
    local l
    l=$(left)
    [ "$l" -gt "$cap" ] && l=$cap
    if [ "$l" -lt 20 ]; then
        echo "$name: SKIPPED (budget spent)" | tee -a "$out/summary.txt"
        return
    fi
    local s=$(date +%s)
    echo "==== $* ($(date -u +%FT%TZ))" >> "$out/$file"
    timeout "$l" "$@" > "$out/step.log" 2>&1
    local rc=$?
    cat "$out/step.log" >> "$out/$file"
    if [ "$file" = bench.txt ]; then
        grep '^{' "$out/step.log" >> "$out/bench.jsonl"
    fi
    [ "$rc" = 0 ] || fails=$((fails + 1))
    echo "$name: rc=$rc $(($(date +%s) - s)) s: $(grep -v '^{' "$out/step.log" | tail -1)" | tee -a "$out/summary.txt"
    rm -f "$out/step.log"
}
t() { [ "$what" != bench ]; }
b() { [ "$what" != tests ]; }
t && step tests.txt gemm_device_test 150 "$d/gemm_device_test" --quick
t && step tests.txt quantize_device_test 60 "$d/quantize_device_test" --quick
t && step tests.txt attention_device_test 100 "$d/attention_device_test" --quick
b && step bench.txt gemm_bench 150 "$d/gemm_bench" --quick
b && step bench.txt quantize_bench 60 "$d/quantize_bench" --json
t && step tests.txt convert_device_test 60 "$d/convert_device_test" --quick
b && step bench.txt attention_bench 60 "$d/attention_bench" --quick --json
b && step bench.txt convert_bench 60 "$d/convert_bench" --json
echo "total: $(($(date +%s) - t0)) s, $fails failing steps" | tee -a "$out/summary.txt"
[ "$fails" = 0 ]
