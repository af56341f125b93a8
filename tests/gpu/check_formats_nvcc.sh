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
for arch in sm_80 sm_89 sm_90a sm_100a sm_120a; do
    want=$(echo "$arch" | sed 's/^sm_\([0-9]*\)a*$/compute_\1/')
    case "$arch" in sm_100a|sm_120a)
        if ! "$nvcc" --list-gpu-arch 2>/dev/null | grep -q "$want"; then
            echo "note: this nvcc has no $arch; skipped that target"
            continue
        fi ;;
    esac
    if "$nvcc" -c -std=c++17 -arch="$arch" -Xcompiler -Wall,-Wextra $incs "$src" -o "$out/probe_$arch.o"; then
        echo "ok: formats/ compiles for $arch"
    else
        echo "FAIL: formats/ does not compile for $arch"
        status=1
    fi
done
rm -rf "$out"
exit $status
