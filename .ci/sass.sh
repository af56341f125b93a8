#!/usr/bin/env bash
# SASS check of the CUDA GEMM tensor-core kernels: the machine code nvcc
# actually produced must use the tensor cores the kernels were written for.
#   gemm_imma.cu.o     IMMA (s8 x s8 -> s32) in the code of every target
#   gemm_fp8_mma.cu.o  sm_89: QMMA ... E4M3 / E5M2 (Ada FP8 tensor cores);
#                      sm_90a and newer: QMMA, or what ptxas lowers mma.sync
#                      FP8 to there (F2FP.F16.E4M3/E5M2 unpack + HMMA.F32)
#   gemm_fp8_wgmma.cu.o sm_90a: QGMMA.64x64x32.F32 E4M3/E5M2 (Hopper's warpgroup
#                      FP8 tensor cores) for all four type pairs
#   gemm_block_scaled_mma.cu.o  sm_120a and sm_121a (when the toolkit builds them): the
#                      block-scaled QMMA.SF.16832 for all 25 MX element type
#                      pairs (E4M3/E5M2/E3M2/E2M3/E2M1, scales E8) and
#                      OMMA.SF.16864 E2M1 with E8 (MXFP4) and UE4M3.4X (NVFP4)
#   gemm_block_scaled_tcgen05.cu.o  sm_100a (and sm_103a, sm_110a when the
#                      toolkit builds them): every one of the 25 MX kernels
#                      (one per element type pair; the types travel in the
#                      instruction descriptor, not the opcode) has UTCQMMA
#                      (tcgen05.mma kind::mxf8f6f4 .block_scale), the MXFP4
#                      kernel UTCOMMA with no suffix (kind::mxf4 .scale_vec::2X),
#                      the NVFP4 kernel UTCOMMA.4X (kind::mxf4nvf4
#                      .scale_vec::4X; sm_103a prints UTCOMMA.BLOCK16); each
#                      copies its scales with UTCCP and reads results with LDTM
# Prints the instruction counts per target (machine code only: the
# embedded PTX for newer GPUs is not SASS and is skipped).  Needs no GPU: cuobjdump (and
# its nvdisasm) from the toolkit, else from PyPI's nvidia-cuda-cuobjdump /
# nvidia-cuda-nvdisasm installed into BUILD_DIR/sass-tools.
#
# Usage: .ci/sass.sh BUILD_DIR    (a build with CUDA: ninja -C BUILD_DIR done)
set -euo pipefail
build=${1:-build}
imma=$(find "$build" -maxdepth 2 -name 'gemm_imma.cu.o' | head -1)
fp8=$(find "$build" -maxdepth 2 -name 'gemm_fp8_mma.cu.o' | head -1)
wgmma=$(find "$build" -maxdepth 2 -name 'gemm_fp8_wgmma.cu.o' | head -1)
bsmma=$(find "$build" -maxdepth 2 -name 'gemm_block_scaled_mma.cu.o' | head -1)
tc5=$(find "$build" -maxdepth 2 -name 'gemm_block_scaled_tcgen05.cu.o' | head -1)
if [ -z "$imma" ] || [ -z "$fp8" ] || [ -z "$wgmma" ]; then
    echo "sass.sh: no gemm_imma.cu.o / gemm_fp8_mma.cu.o / gemm_fp8_wgmma.cu.o under $build (a build with CUDA, built?)" >&2
    exit 2
fi

# ---- cuobjdump ------------------------------------------------------------------
find_tools() {
    local d
    for d in "$(dirname "$(command -v nvcc 2>/dev/null || echo /nonexistent/x)")" /usr/local/cuda/bin \
             "$build"/sass-tools/nvidia/*/bin; do
        if [ -x "$d/cuobjdump" ] && { [ -x "$d/nvdisasm" ] || command -v nvdisasm >/dev/null; }; then
            echo "$d"
            return 0
        fi
    done
    if command -v cuobjdump >/dev/null && command -v nvdisasm >/dev/null; then
        dirname "$(command -v cuobjdump)"
        return 0
    fi
    return 1
}
if ! tools=$(find_tools); then
    major=$(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9]*\)\..*/\1/p' | head -1)
    echo "sass.sh: installing cuobjdump and nvdisasm ${major:+$major.x }from PyPI into $build/sass-tools"
    python3 -m pip install --quiet --disable-pip-version-check --target "$build/sass-tools" \
        "nvidia-cuda-cuobjdump${major:+==$major.*}" "nvidia-cuda-nvdisasm${major:+==$major.*}"
    tools=$(find_tools) || { echo "sass.sh: cuobjdump still not found" >&2; exit 2; }
fi
export PATH="$tools:$PATH"

# ---- counts -----------------------------------------------------------------------
# "ARCH COUNT" lines for the instructions matching REGEX in OBJ.
counts() {
    cuobjdump -sass "$1" | awk -v re="$2" '
        /^Fatbin ptx code/ { elf = 0 }
        /^Fatbin elf code/ { elf = 1 }
        elf && /arch = sm_/ { a = $3; if (!(a in n)) { n[a] = 0; order[++k] = a } }
        elf && $0 ~ re { n[a]++ }
        END { for (i = 1; i <= k; i++) print order[i], n[order[i]] }'
}

# The machine code of target ARCH in OBJ (sass_of OBJ ARCH).
sass_of() {
    cuobjdump -sass "$1" | awk -v want="$2" '/^Fatbin ptx code/ { elf = 0 } /^Fatbin elf code/ { elf = 1 }
                                             elf && /arch = sm_/ { a = $3 } elf && a == want'
}
# Which of the targets FIRST OTHER... OBJ has code for, one a line (targets_in
# OBJ FIRST OTHER...); a note on stderr when FIRST, the one the toolkit should
# build, is missing.
targets_in() {
    local obj=$1 elves a
    shift
    elves=$(cuobjdump -lelf "$obj" 2>/dev/null || true)
    grep -q "$1" <<<"$elves" ||
        echo "  no $1 code (this toolkit cannot build it; the kernels are traps there, never dispatched)" >&2
    for a in "$@"; do
        if grep -q "$a" <<<"$elves"; then echo "$a"; fi
    done
}

fail=0
echo "gemm_imma.cu.o ($imma):"
while read -r arch n; do
    printf '  %-8s IMMA %d\n' "$arch" "$n"
    [ "$n" -gt 0 ] || { echo "FAIL: no IMMA in the $arch code of gemm_imma"; fail=1; }
done < <(counts "$imma" '[^A-Z]IMMA\.')

echo "gemm_fp8_mma.cu.o ($fp8):"
declare -A q h u
while read -r arch n; do q[$arch]=$n; done < <(counts "$fp8" '[^A-Z]QMMA\.[0-9]+\.F32\.E[45]M[23]')
while read -r arch n; do h[$arch]=$n; done < <(counts "$fp8" '[^A-Z]HMMA\.[0-9]+\.F32')
while read -r arch n; do u[$arch]=$n; done < <(counts "$fp8" 'F2FP\.F16\.E[45]M[23]\.UNPACK')
for arch in "${!q[@]}"; do echo "$arch"; done | sort -V | while read -r arch; do
    printf '  %-8s QMMA(FP8) %d   F2FP.F16.E4M3/E5M2.UNPACK %d   HMMA.F32 %d\n' "$arch" "${q[$arch]}" "${u[$arch]}" "${h[$arch]}"
done
for arch in "${!q[@]}"; do
    case "$arch" in
    sm_80|sm_86|sm_87) ;;  # no FP8 tensor cores: the kernel is a trap there, never dispatched
    sm_89)
        [ "${q[$arch]}" -gt 0 ] || { echo "FAIL: no FP8 QMMA in the sm_89 code of gemm_fp8_mma"; fail=1; } ;;
    *)
        if [ "${q[$arch]}" -eq 0 ] && { [ "${u[$arch]}" -eq 0 ] || [ "${h[$arch]}" -eq 0 ]; }; then
            echo "FAIL: the $arch code of gemm_fp8_mma has neither FP8 QMMA nor the FP8-unpack + HMMA lowering"
            fail=1
        fi ;;
    esac
done
echo "gemm_fp8_wgmma.cu.o ($wgmma):"
seen90=0
while read -r arch n; do
    printf '  %-8s QGMMA(FP8) %d\n' "$arch" "$n"
    if [ "$arch" = sm_90a ]; then
        seen90=1
        for pair in E4M3.E4M3 E4M3.E5M2 E5M2.E4M3 E5M2.E5M2; do
            c=$(cuobjdump -sass "$wgmma" | grep -c "QGMMA\.64x64x32\.F32\.$pair" || true)
            [ "$c" -gt 0 ] || { echo "FAIL: no QGMMA.64x64x32.F32.$pair in gemm_fp8_wgmma"; fail=1; }
        done
    fi
done < <(counts "$wgmma" '[^A-Z]QGMMA\.64x64x32\.F32\.E[45]M[23]')
[ $seen90 = 1 ] || { echo "FAIL: gemm_fp8_wgmma has no sm_90a code"; fail=1; }

echo "gemm_block_scaled_mma.cu.o ($bsmma):"
if [ -z "$bsmma" ]; then
    echo "FAIL: no gemm_block_scaled_mma.cu.o under $build"; fail=1
else
    for arch in $(targets_in "$bsmma" sm_120a sm_121a); do
        sass=$(sass_of "$bsmma" "$arch")
        for ta in E4M3 E5M2 E3M2 E2M3 E2M1; do
            for tb in E4M3 E5M2 E3M2 E2M3 E2M1; do
                c=$(grep -c "QMMA\.SF\.16832\.F32\.$ta\.$tb\.E8 " <<<"$sass" || true)
                [ "$c" -gt 0 ] || { echo "FAIL: no QMMA.SF.16832.F32.$ta.$tb.E8 in the $arch code of gemm_block_scaled_mma"; fail=1; }
            done
        done
        mx4=$(grep -c 'OMMA\.SF\.16864\.F32\.E2M1\.E2M1\.E8 ' <<<"$sass" || true)
        nv4=$(grep -c 'OMMA\.SF\.16864\.F32\.E2M1\.E2M1\.UE4M3\.4X ' <<<"$sass" || true)
        printf '  %-8s QMMA.SF.16832 %d   OMMA.SF.16864 E8 (MXFP4) %d   OMMA.SF.16864 UE4M3.4X (NVFP4) %d\n' "$arch" \
            "$(grep -c 'QMMA\.SF\.16832' <<<"$sass" || true)" "$mx4" "$nv4"
        [ "$mx4" -gt 0 ] || { echo "FAIL: no OMMA.SF.16864 E2M1 x E2M1 with E8 scales in the $arch code"; fail=1; }
        [ "$nv4" -gt 0 ] || { echo "FAIL: no OMMA.SF.16864 E2M1 x E2M1 with UE4M3.4X scales in the $arch code"; fail=1; }
    done
fi

echo "gemm_block_scaled_tcgen05.cu.o ($tc5):"
if [ -z "$tc5" ]; then
    echo "FAIL: no gemm_block_scaled_tcgen05.cu.o under $build"; fail=1
else
    for arch in $(targets_in "$tc5" sm_100a sm_103a sm_110a); do
        # One line per kernel of this target's code: "NAME UTCQMMA UTCOMMA-2X UTCOMMA-4X UTCCP LDTM"
        # (the 2X form prints as plain UTCOMMA; sm_103a spells the 4X form UTCOMMA.BLOCK16).
        per_kernel=$(sass_of "$tc5" "$arch" | awk '
            /Function :/ { if (f != "") print f, q, w, o, c, l; f = $3; q = w = o = c = l = 0 }
            /[^A-Z]UTCQMMA / { q++ }
            /[^A-Z]UTCOMMA / { w++ }
            /[^A-Z]UTCOMMA\.(4X|BLOCK16) / { o++ }
            /[^A-Z]UTCCP/ { c++ }
            /[^A-Z]LDTM/ { l++ }
            END { if (f != "") print f, q, w, o, c, l }')
        # (kernel template ids: 0 kind::mxf8f6f4, 1 kind::mxf4, 2 kind::mxf4nvf4)
        mx=$(awk '$1 ~ /k_gemm_t5ILi0E/ && $2 > 0 && $5 > 0 && $6 > 0' <<<"$per_kernel" | wc -l)
        f4=$(awk '$1 ~ /k_gemm_t5ILi1E/ && $3 > 0 && $5 > 0 && $6 > 0' <<<"$per_kernel" | wc -l)
        nv=$(awk '$1 ~ /k_gemm_t5ILi2E/ && $4 > 0 && $5 > 0 && $6 > 0' <<<"$per_kernel" | wc -l)
        printf '  %-8s with UTCCP + LDTM: MX kernels with UTCQMMA %d of 25, MXFP4 with UTCOMMA (2X) %d of 1, NVFP4 with UTCOMMA (4X) %d of 1\n' \
            "$arch" "$mx" "$f4" "$nv"
        [ "$mx" -eq 25 ] || { echo "FAIL: $((25 - mx)) MX kernel(s) lack UTCQMMA / UTCCP / LDTM in the $arch code"; fail=1; }
        [ "$f4" -eq 1 ] || { echo "FAIL: the MXFP4 kernel lacks UTCOMMA (2X) / UTCCP / LDTM in the $arch code"; fail=1; }
        [ "$nv" -eq 1 ] || { echo "FAIL: the NVFP4 kernel lacks UTCOMMA (4X) / UTCCP / LDTM in the $arch code"; fail=1; }
    done
fi

echo "sass.sh: $([ $fail = 0 ] && echo PASS || echo FAIL)"
exit $fail
