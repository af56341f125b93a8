#!/usr/bin/env bash
# Fuzzing: build the libFuzzer targets of tests/fuzz with clang under
# ASan + UBSan and run each for FUZZ_SECONDS (default 45) from a scratch
# copy of its seed corpus (the repo's corpus is never modified).
#   bash .ci/fuzz.sh                                   # CI: ~45 s per target
#   FUZZ_SECONDS=3600 bash .ci/fuzz.sh                 # the long run
#   FUZZ_TARGETS="gemm attention" FUZZ_SECONDS=600 bash .ci/fuzz.sh
# Crash inputs land in build-fuzz/artifacts/; copy them into
# tests/fuzz/regressions/<target>/ together with the fix.
# Exits nonzero if any target reports a crash, leak, UB or timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
FUZZ_SECONDS=${FUZZ_SECONDS:-45}
BUILD=${FUZZ_BUILD:-build-fuzz}
TARGETS=${FUZZ_TARGETS:-"convert quantize gemm attention npy safetensors"}
PAR=${FUZZ_JOBS:-$(nproc)}
[ "$PAR" -ge 1 ] || PAR=1

echo "== fuzz: clang"
have_fuzzer() {
    command -v clang >/dev/null 2>&1 || return 1
    echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
        > /tmp/lowbit_fuzz_probe.c
    clang -fsanitize=fuzzer,address,undefined /tmp/lowbit_fuzz_probe.c -o /tmp/lowbit_fuzz_probe 2>/dev/null
}
if ! have_fuzzer; then
    SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    # libFuzzer's runtime is in libclang-rt-N-dev from clang 15 on (in clang itself before).
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang >/dev/null
    if ! have_fuzzer; then
        ver=$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "libclang-rt-$ver-dev" >/dev/null
    fi
    have_fuzzer || { echo "fuzz: clang cannot link -fsanitize=fuzzer"; exit 1; }
fi
clang --version | head -1

echo "== fuzz: build ($BUILD)"
# The library with coverage (fuzzer-no-link) and sanitizers; only the
# static library is built, the targets are linked by hand below.
if [ ! -f "$BUILD/build.ninja" ]; then
    CC=clang meson setup "$BUILD" -Dbuildtype=debugoptimized -Dcuda=disabled -Dhip=disabled \
        -Dsleef=disabled -Dtests=false -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args="-fsanitize=fuzzer-no-link -fno-sanitize-recover=all" >/dev/null
fi
ninja -C "$BUILD" liblowbit.a
sweep="tools/lowbit-sweep"
cflags=(-std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -fno-omit-frame-pointer
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Iinclude -I"$BUILD")
build_target() {
    local t=$1 extra=()
    case $t in
        npy|safetensors) extra=(-I"$sweep" "$sweep/reader_npy.c" "$sweep/reader_safetensors.c"
                                "$sweep/json.c" "$sweep/util.c" "$sweep/tensor.c" "$sweep/gen.c") ;;
    esac
    clang "${cflags[@]}" "tests/fuzz/fuzz_$t.c" "${extra[@]}" "$BUILD/liblowbit.a" -lpthread -lm \
        -o "$BUILD/fuzz_$t"
}
pids=()
for t in $TARGETS; do
    build_target "$t" & pids+=($!)
    if [ "${#pids[@]}" -ge "$PAR" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p"; done
built=$(date +%s)

echo "== fuzz: ${FUZZ_SECONDS} s per target, $PAR at a time"
mkdir -p "$BUILD/artifacts" "$BUILD/logs"
# scratch corpus: cleared per run, kept afterwards (new units of a long run)
scratch="$BUILD/corpus"
rm -rf "$scratch"
mkdir -p "$scratch"
run_target() {
    local t=$1 dir="$scratch/$1"
    mkdir -p "$dir"
    # seeds: the corpus and every past crash
    cp -r "tests/fuzz/corpus/$t/." "$dir/" 2>/dev/null || true
    cp -r "tests/fuzz/regressions/$t/." "$dir/" 2>/dev/null || true
    local rc=0
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$BUILD/fuzz_$t" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=30 \
        -print_final_stats=1 -close_fd_mask=1 -artifact_prefix="$BUILD/artifacts/$t-" "$dir" \
        > "$BUILD/logs/$t.log" 2>&1 || rc=$?
    if [ "$rc" = 0 ] && grep -q 'runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer' "$BUILD/logs/$t.log"; then
        rc=1
    fi
    echo "$rc" > "$scratch/$t.rc"
}
pids=()
for t in $TARGETS; do
    run_target "$t" & pids+=($!)
    if [ "${#pids[@]}" -ge "$PAR" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p"; done

fail=0
printf '\n%-12s %12s %8s %s\n' target executions corpus result
for t in $TARGETS; do
    log="$BUILD/logs/$t.log"
    rc=$(cat "$scratch/$t.rc")
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    units=$(find "$scratch/$t" -type f | wc -l)
    if [ "$rc" = 0 ]; then res=ok; else res="FAILED (rc $rc, log $log)"; fail=1; fi
    printf '%-12s %12s %8s %s\n' "$t" "${execs:-?}" "$units" "$res"
done
for t in $TARGETS; do
    if [ "$(cat "$scratch/$t.rc")" != 0 ]; then
        echo "---- $t: tail of $BUILD/logs/$t.log"
        tail -40 "$BUILD/logs/$t.log"
    fi
done
end=$(date +%s)
echo "fuzz: build $(( built - start )) s, total $(( end - start )) s"
exit "$fail"
