#!/bin/sh
# check_rows.sh LOWBIT_CHECK FIXTURES: lowbit-check --backend cuda / hip
# against the stand-in device test programs in FIXTURES/cuda and
# FIXTURES/hip (shell scripts; no GPU needed).  Every row, the summary and
# the exit status must be what lowbit-check makes of each program's
# behaviour.  Output lines are compared with runs of blanks squeezed and
# the run time in the summary written as T.
check=$1
fix=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failures=0

bad() {
    echo "check_rows.sh: $*" >&2
    failures=$((failures + 1))
}

# run NAME DIR EXPECTED_STATUS ARGS...: lowbit-check with LOWBIT_GPU_TEST_DIR=DIR
run() {
    name=$1 dir=$2 want=$3
    shift 3
    LOWBIT_GPU_TEST_DIR=$dir "$check" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    rc=$?
    tr -s ' ' <"$tmp/$name.out" | sed 's/, [0-9]*[.][0-9]* s - /, T s - /' >"$tmp/$name.txt"
    echo "== lowbit-check $* (exit status $rc)"
    cat "$tmp/$name.out"
    [ "$rc" -eq "$want" ] || bad "$name: exit status $rc, expected $want"
}

# has NAME LINE: the squeezed output of run NAME holds LINE exactly
has() {
    grep -qxF -- "$2" "$tmp/$1.txt" || bad "$1: no line '$2'"
}

# lines NAME PATTERN COUNT: COUNT output lines of run NAME match PATTERN
lines() {
    n=$(grep -c -- "$2" "$tmp/$1.txt")
    [ "$n" -eq "$3" ] || bad "$1: $n lines match '$2', expected $3"
}

# CUDA: a pass, a failure, a skip, a crash.  The failure and the crash fail
# the run; the skip is counted apart, not as a pass.
run cuda "$fix/cuda" 1 --backend cuda --quick
has cuda "convert device tests cuda convert_device_test exact 12 0 OK"
has cuda "quantize device tests (quantize+dequantize) cuda quantize_device_test exact 5 2 FAIL 2 of 5 device checks failed"
has cuda "gemm device tests cuda gemm_device_test exact 0 0 SKIP SKIP: no CUDA device (stand-in)"
has cuda "attention device tests cuda attention_device_test exact 0 1 FAIL killed by signal 11 (Segmentation fault)"
lines cuda ' exact ' 4
# A failing program's output is passed on (stderr), a passing one's is not.
grep -qxF "mxfp4: FAIL at element 7" "$tmp/cuda.err" || bad "cuda: quantize_device_test's output not on stderr"
grep -qF "e4m3 <- f32" "$tmp/cuda.err" && bad "cuda: a passing program's output on stderr"
has cuda "lowbit-check: 3 checks, 17 cases, 3 mismatches, 2 failing checks, 1 skipped, T s - FAIL"

# Without --quick the programs get no argument (the stand-in reports 40).
run cuda-full "$fix/cuda" 0 --backend cuda --op convert
has cuda-full "convert device tests cuda convert_device_test exact 40 0 OK"
lines cuda-full ' exact ' 1
has cuda-full "lowbit-check: 1 checks, 40 cases, 0 mismatches, 0 failing checks, T s - PASS"

# --op dequantize selects the quantize program and names its row so.
run cuda-deq "$fix/cuda" 1 --backend cuda --op dequantize --quick
has cuda-deq "dequantize device tests (quantize+dequantize) cuda quantize_device_test exact 5 2 FAIL 2 of 5 device checks failed"
lines cuda-deq ' exact ' 1

# Nothing but a skip: exit status 77 and a SKIP summary, not a PASS.
run cuda-skip "$fix/cuda" 77 --backend cuda --op gemm
has cuda-skip "lowbit-check: no check could run here"
has cuda-skip "lowbit-check: 0 checks, 0 cases, 0 mismatches, 0 failing checks, 1 skipped, T s - SKIP"

# --filter applies to the formats column as everywhere.
run cuda-filter "$fix/cuda" 0 --backend cuda --quick --filter nomatch
lines cuda-filter ' exact ' 0
has cuda-filter "lowbit-check: no checks matched the filters"

# JSON rows: the skip is marked, notes carried.
run cuda-json "$fix/cuda" 1 --backend cuda --quick --json
has cuda-json '{"op":"convert","formats":"device tests","backend":"cuda","kernel":"convert_device_test","mode":"exact","cases":12,"mismatches":0}'
has cuda-json '{"op":"gemm","formats":"device tests","backend":"cuda","kernel":"gemm_device_test","mode":"exact","cases":0,"mismatches":0,"skipped":true,"note":"SKIP: no CUDA device (stand-in)"}'
lines cuda-json '^{' 4

# HIP: no totals line, totals that contradict the exit status, a pass that
# needs LOWBIT_HIP_MODULE (set for it when unset), a missing program.
unset LOWBIT_HIP_MODULE
run hip "$fix/hip" 1 --backend hip --quick
has hip "convert device tests hip hip_convert_device_test exact 0 1 FAIL exit status 0, last line is not \"N passed, M failed\""
has hip "quantize device tests (quantize+dequantize) hip hip_quantize_device_test exact 5 1 FAIL exit status 3 although it reports 0 failed"
has hip "gemm device tests hip hip_gemm_device_test exact 7 0 OK"
has hip "attention device tests hip hip_attention_device_test exact 0 1 FAIL program not found (set LOWBIT_GPU_TEST_DIR to the directory of the device tests)"
lines hip ' exact ' 4
has hip "lowbit-check: 4 checks, 12 cases, 3 mismatches, 3 failing checks, T s - FAIL"

# A program that checked nothing has not passed.
mkdir "$tmp/zero"
printf '#!/bin/sh\necho "0 passed, 0 failed"\n' >"$tmp/zero/gemm_device_test"
chmod +x "$tmp/zero/gemm_device_test"
run zero "$tmp/zero" 1 --backend cuda --op gemm
has zero "gemm device tests cuda gemm_device_test exact 0 1 FAIL it checked nothing (0 passed, 0 failed)"

# Options that mean nothing for the device programs are refused.
run hip-bench "$fix/hip" 2 --backend hip --bench

[ "$failures" -eq 0 ] || { echo "check_rows.sh: $failures expectations failed" >&2; exit 1; }
echo "check_rows.sh: all expectations met"
