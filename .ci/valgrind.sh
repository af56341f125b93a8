#!/usr/bin/env bash
# Valgrind memcheck over lowbit-check on a fixed seed: zero errors and no
# definite leaks.  Valgrind's CPUID shows no AVX-512 (and arch_prctl gives
# no AMX), so the library's own detection picks avx2 under it: the avx2 and
# ref kernels are what is checked here; AVX-512 runs natively elsewhere.
# "Possibly lost" blocks are the worker pool's detached threads' TLS.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
if ! command -v valgrind >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq valgrind >/dev/null
fi
BUILD=${VG_BUILD:-build-vg}
if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" -Dbuildtype=debugoptimized -Dcuda=disabled -Dhip=disabled -Dtests=false
fi
ninja -C "$BUILD"
vg="valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite"
# A full --quick run is ~5 min per op under valgrind on 2 cores: a few
# filtered rows per op keep the whole script near 5 minutes.
for args in "--op convert --filter f32->e4m3" "--op convert --filter e2m1" \
            "--op quantize --filter mx" "--op dequantize --filter nvfp4"; do
    # shellcheck disable=SC2086
    $vg "$BUILD/tools/lowbit-check/lowbit-check" --quick --seed 1 $args >/dev/null
done
echo "== valgrind: done in $(( $(date +%s) - start )) s, no errors"
