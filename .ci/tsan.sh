#!/usr/bin/env bash
# ThreadSanitizer over the threaded paths: the stress suite (many callers,
# first use racing, thread counts 1-8) and lowbit-check's
# 1/2/3/8-thread rows on a fixed seed.  Zero reports required
# (halt_on_error: the first report fails the run).  CUDA off: nothing of it
# runs on the CPU.  Suppressions, if any: .ci/tsan.supp (never the library).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
BUILD=${TSAN_BUILD:-build-tsan}
if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" -Dbuildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false \
        -Dcuda=disabled -Dhip=disabled -Dtests=true
fi
ninja -C "$BUILD"
supp=""
[ -s .ci/tsan.supp ] && supp=":suppressions=$PWD/.ci/tsan.supp"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:exitcode=66$supp"
# The stress test, smaller than in the normal suite (TSan is ~10x slower).
"$BUILD/tests/stress/stress_threads" --callers 8 --iters 2 --first-use-reps 2
# unit_threads (Criterion) cannot start under TSan: Criterion maps its
# inheritable arena at a fixed address TSan's shadow owns ("Could not
# initialize inheritable arena"), so it runs in the normal and ASan suites only.
# lowbit-check's threaded rows (check_threads) run with every --op; convert
# and quantize keep it short.
for op in convert quantize; do
    "$BUILD/tools/lowbit-check/lowbit-check" --quick --seed 1 --op "$op" --backend avx2 >/dev/null
done
echo "== tsan: done in $(( $(date +%s) - start )) s, no reports"
