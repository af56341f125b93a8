#!/bin/sh
# Compile formats/ in device code for every CUDA target lowbit supports.
# usage: check_formats_nvcc.sh NVCC SOURCE INCLUDE_DIR...
nvcc="$1"; src="$2"; shift 2
if [ -z "$nvcc" ] || ! command -v "$nvcc" >/dev/null 2>&1; then
    echo "SKIP: nvcc not found; the device build of formats/ was not checked"
    exit 77
fi
incs=""
for d in "$@"; do incs="$incs -I$d"; done
out=$(mktemp -d)
status=0
for arch in sm_80 sm_89 sm_90a sm_100a; do
    if [ "$arch" = sm_100a ] && ! "$nvcc" --list-gpu-arch 2>/dev/null | grep -q compute_100; then
        echo "note: this nvcc has no sm_100a; skipped that target"
        continue
    fi
    if "$nvcc" -c -std=c++17 -arch="$arch" -Xcompiler -Wall,-Wextra $incs "$src" -o "$out/probe_$arch.o"; then
        echo "ok: formats/ compiles for $arch"
    else
        echo "FAIL: formats/ does not compile for $arch"
        status=1
    fi
done
rm -rf "$out"
exit $status
