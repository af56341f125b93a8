#!/usr/bin/env bash
# .ci/hip.sh - build the HIP backend (docs/hip.md) with Debian's hipcc and
# check what it produced.  No AMD GPU is needed: the device tests print SKIP
# and exit 77 without one, and the checks here read the code objects.
#
#   1. install hipcc and libamdhip64-dev from Debian if missing;
#   2. configure BUILD (default build-hip) with -Dcuda=disabled -Dhip=enabled
#      and build it;
#   3. run the suites 'hip' (device tests: SKIP here; unit_hip_backend runs)
#      and 'gpu-build' (formats/ as HIP device code);
#   4. every HIP object carries gfx90a and gfx940 code objects with kernels
#      in them (clang-offload-bundler, llvm-readelf), and the MFMA GEMMs'
#      hold their matrix instructions (llvm-objdump): integer, gfx90a
#      v_mfma_i32_16x16x16i8, gfx940 v_mfma_i32_16x16x32_i8; FP8 (gfx940
#      only, its gfx90a code traps), v_mfma_f32_16x16x32_{fp8,bf8}_{fp8,bf8};
#   5. the HIP benchmarks (and lowbit-bench --backend hip) skip with exit 77;
#   6. liblowbit-hip.so exports only lb_hip_module_open and links
#      libamdhip64; liblowbit.so does not link ROCm at all.
# usage: .ci/hip.sh [BUILD]
set -euo pipefail
cd "$(dirname "$0")/.."
B="${1:-build-hip}"

SUDO=""
[ "$(id -u)" != 0 ] && SUDO="sudo"
if ! command -v hipcc >/dev/null 2>&1 || ! dpkg -s libamdhip64-dev >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq hipcc libamdhip64-dev >/dev/null
fi
# clang-offload-bundler, llvm-readelf and llvm-objdump of the clang that hipcc drives
for d in /usr/lib/llvm-15/bin /usr/lib/llvm-*/bin; do
    if [ -x "$d/clang-offload-bundler" ]; then PATH="$d:$PATH"; break; fi
done

if [ ! -f "$B/build.ninja" ]; then
    meson setup "$B" -Dcuda=disabled -Dhip=enabled
fi
ninja -C "$B"

echo "== hip and gpu-build suites (device tests SKIP without an AMD GPU)"
meson test -C "$B" --suite hip --suite gpu-build --print-errorlogs

echo "== code objects"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
objs=("$B"/kernels/hip/*.hip.o)
[ "${#objs[@]}" -eq 11 ] || { echo "FAIL: expected 11 HIP objects, found ${#objs[@]}"; fail=1; }
for o in "${objs[@]}"; do
    objcopy -O binary --only-section=.hip_fatbin "$o" "$tmp/fatbin"
    list=$(clang-offload-bundler --list --type=o --input="$tmp/fatbin")
    line="$(basename "$o"):"
    for arch in gfx90a gfx940; do
        target="hipv4-amdgcn-amd-amdhsa--$arch"
        if ! grep -qx "$target" <<<"$list"; then
            echo "FAIL: $o has no $arch code object (bundle: $(tr '\n' ' ' <<<"$list"))"
            fail=1
            continue
        fi
        clang-offload-bundler --unbundle --type=o --input="$tmp/fatbin" --targets="$target" --output="$tmp/co"
        kernels=$(llvm-readelf -s "$tmp/co" | grep -c '\.kd$' || true)
        mach=$(llvm-readelf --notes "$tmp/co" | grep -o "amdgcn-amd-amdhsa--$arch" | head -1 || true)
        if [ "$kernels" -eq 0 ] || [ -z "$mach" ]; then
            echo "FAIL: $o: the $arch code object has $kernels kernels, target '${mach}'"
            fail=1
        fi
        line="$line $arch ($kernels kernels)"
        wants=()
        case "$(basename "$o"):$arch" in
            gemm_mfma.hip.o:gfx90a) wants=(v_mfma_i32_16x16x16i8) ;;
            gemm_mfma.hip.o:gfx940) wants=(v_mfma_i32_16x16x32_i8) ;;
            gemm_mfma_fp8.hip.o:gfx940)
                wants=(v_mfma_f32_16x16x32_fp8_fp8 v_mfma_f32_16x16x32_fp8_bf8
                       v_mfma_f32_16x16x32_bf8_fp8 v_mfma_f32_16x16x32_bf8_bf8) ;;
        esac
        if [ "${#wants[@]}" -gt 0 ]; then
            dis=$(llvm-objdump -d --mcpu="$arch" "$tmp/co")
            for want in "${wants[@]}"; do
                n=$(grep -c "$want" <<<"$dis" || true)
                if [ "$n" -eq 0 ]; then
                    echo "FAIL: $o: the $arch code has no $want"
                    fail=1
                fi
                line="$line [$n x $want]"
            done
        fi
    done
    echo "$line"
done

echo "== benchmarks (no AMD GPU here: each must print one SKIP line and exit 77)"
for prog in "$B"/kernels/hip/hip_convert_bench "$B"/kernels/hip/hip_quantize_bench \
            "$B"/kernels/hip/hip_attention_bench "$B/tools/lowbit-bench/lowbit-bench --backend hip"; do
    rc=0
    out=$(LOWBIT_HIP_MODULE="$B/kernels/hip/liblowbit-hip.so" $prog 2>&1) || rc=$?
    echo "$(basename "${prog%% *}")${prog#"${prog%% *}"}: exit $rc: $(head -1 <<<"$out")"
    if [ "$rc" != 77 ]; then
        echo "FAIL: $prog exited $rc without a device (expected 77)"
        fail=1
    fi
done

echo "== libraries"
mod="$B/kernels/hip/liblowbit-hip.so"
exports=$(nm -D --defined-only "$mod" | awk '{print $3}' | grep -v '^_\(init\|fini\)$' || true)
if [ "$exports" != "lb_hip_module_open" ]; then
    echo "FAIL: $mod exports more than lb_hip_module_open: $(tr '\n' ' ' <<<"$exports")"
    fail=1
fi
readelf -d "$mod" | grep -q 'NEEDED.*libamdhip64' || { echo "FAIL: $mod does not link libamdhip64"; fail=1; }
core=$(ls "$B"/liblowbit.so.*.* | head -1)
if readelf -d "$core" | grep -q 'NEEDED.*\(amdhip\|hsa\|rocm\)'; then
    echo "FAIL: $core links ROCm: $(readelf -d "$core" | grep NEEDED | tr -s ' ')"
    fail=1
fi
echo "$mod: exports lb_hip_module_open, needs $(readelf -d "$mod" | grep -o 'libamdhip64[^]]*')"
echo "$core: no ROCm dependency"

[ "$fail" = 0 ] && echo "hip.sh: OK" || echo "hip.sh: FAILED"
exit "$fail"
