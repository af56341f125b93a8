#!/usr/bin/env bash
# ABI discipline of liblowbit.so:
#   1. every exported symbol is lowbit_* (nm -D; internal lb_* code, the
#      static CUDA runtime, anything else linked in must stay hidden);
#   2. the SONAME is liblowbit.so.<soversion of meson.build> (readelf -d);
#   3. the public ABI (types and functions of include/lowbit.h) matches the
#      committed baseline abi/liblowbit.abi (abidw + abidiff, Debian's
#      abigail-tools).  Added functions are fine; any other change fails.
#
# Usage:
#   .ci/abi.sh [BUILD_DIR]            check (default BUILD_DIR: build, with liblowbit.so built)
#   .ci/abi.sh --update [BUILD_DIR]   rewrite abi/liblowbit.abi after an intended ABI change:
#                                     bump soversion in meson.build first when the change breaks
#                                     callers, rebuild, run this, commit abi/liblowbit.abi
#
# abidw needs DWARF: when BUILD_DIR's library has none (a release build),
# a debug-info copy of the library alone is built in BUILD_DIR-abi
# (debugoptimized, no CUDA, no tests); the nm and SONAME checks always look
# at BUILD_DIR's own library, CUDA objects included.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

mode=check
if [ "${1:-}" = "--update" ]; then
    mode=update
    shift
fi
build=${1:-build}
baseline=abi/liblowbit.abi
lib="$build/liblowbit.so"
if [ ! -e "$lib" ]; then
    echo "abi.sh: $lib not found: build the library first (meson setup $build && ninja -C $build)" >&2
    exit 2
fi
lib=$(readlink -f "$lib")

# ---- tools ------------------------------------------------------------------
need=()
command -v abidw >/dev/null && command -v abidiff >/dev/null || need+=(abigail-tools)
command -v nm >/dev/null && command -v readelf >/dev/null || need+=(binutils)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

fail=0

# ---- 1. exports -------------------------------------------------------------
exports=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//')
offenders=$(printf '%s\n' "$exports" | grep -v '^lowbit_' | grep -v '^$' || true)
count=$(printf '%s\n' "$exports" | grep -c '^lowbit_' || true)
if [ -n "$offenders" ]; then
    echo "FAIL exports: $(printf '%s\n' "$offenders" | wc -l) symbol(s) of $lib are not lowbit_*:"
    printf '%s\n' "$offenders" | sed 's/^/    /'
    fail=1
else
    echo "ok   exports: $count symbols, all lowbit_*"
fi

# ---- 2. SONAME ----------------------------------------------------------------
sov=$(sed -n "s/.*soversion *: *'\([0-9]*\)'.*/\1/p" meson.build | head -1)
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" != "liblowbit.so.$sov" ]; then
    echo "FAIL soname: '$soname', meson.build's soversion says liblowbit.so.$sov"
    fail=1
else
    echo "ok   soname: $soname"
fi

# ---- 3. ABI against the baseline --------------------------------------------------
# A library with DWARF: this one, or a debug-info build of the same sources.
dwlib="$lib"
if ! readelf -S "$lib" | grep -q '\.debug_info'; then
    abibuild="${build%/}-abi"
    if [ ! -f "$abibuild/build.ninja" ]; then
        meson setup "$abibuild" -Dbuildtype=debugoptimized -Dcuda=disabled -Dhip=disabled -Dtests=false >/dev/null
    fi
    ninja -C "$abibuild" "$(basename "$lib")" >/dev/null
    dwlib=$(readlink -f "$abibuild/$(basename "$lib")")
    echo "     (types read from the debug-info build $abibuild)"
fi
# Flags that keep the representation the same on every machine: only the
# types and functions of include/ (private ones dropped), no paths, no source
# locations, no DT_NEEDED (a CUDA build needs more libraries), hashed type
# ids (no numbering that shifts when an unrelated type appears).
abidw_flags=(--headers-dir include/ --drop-private-types --no-corpus-path --no-comp-dir-path --no-show-locs
             --drop-undefined-syms --no-elf-needed --type-id-style hash)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
abidw "${abidw_flags[@]}" --out-file "$tmp/current.abi" "$dwlib"

if [ "$mode" = update ]; then
    mkdir -p abi
    cp "$tmp/current.abi" "$baseline"
    echo "wrote $baseline from $dwlib ($(grep -c '<elf-symbol ' "$baseline") functions); commit it"
    exit $fail
fi

if [ ! -f "$baseline" ]; then
    echo "FAIL abi: no baseline $baseline (create it with .ci/abi.sh --update $build)"
    exit 1
fi
set +e
abidiff --no-added-syms "$baseline" "$tmp/current.abi" > "$tmp/diff.txt" 2>&1
rc=$?
set -e
# abidiff's status is a bit mask: 1 error, 2 usage, 4 ABI change, 8 incompatible change.
if [ "$rc" -ne 0 ]; then
    what="changed"
    [ $((rc & 8)) -ne 0 ] && what="broke incompatibly"
    [ $((rc & 3)) -ne 0 ] && what="could not be compared (abidiff status $rc)"
    echo "FAIL abi: the public ABI $what against $baseline:"
    sed 's/^/    /' "$tmp/diff.txt"
    echo "    An intended change: bump soversion in meson.build if it breaks callers, rebuild,"
    echo "    then .ci/abi.sh --update $build and commit $baseline."
    fail=1
else
    echo "ok   abi: matches $baseline ($(grep -c '<elf-symbol ' "$baseline") functions; additions allowed)"
fi

echo "abi.sh: $([ $fail = 0 ] && echo PASS || echo FAIL) in $(( $(date +%s) - start )) s"
exit $fail
