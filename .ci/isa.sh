#!/usr/bin/env bash
# ISA safety: no kernel runs on a CPU that lacks its instructions.  The
# x86-64 build in BUILD_DIR (default: build) runs under qemu-x86_64 -cpu
# MODEL for
#   - a CPU without AVX (Nehalem): detection must find nothing, every
#     dispatched kernel must be the reference, lowbit-check --quick passes;
#   - a CPU with AVX2/FMA/F16C but no AVX-512 (Haswell; qemu >= 7.2 emulates
#     AVX2): detection finds avx2 only, no AVX-512/AMX kernel is ever chosen,
#     lowbit-check --quick --backend avx2 passes (the ref rows ran above);
#     and LOWBIT_BACKEND=ref there caps everything to the reference.
# A SIGILL anywhere fails (exit status 132, or lowbit-check's crash rows).
# Which kernel the library picks is read from LOWBIT_DEBUG=1 (convert,
# quantize, dequantize) and from the kernel name a GEMM pack records, by a
# small probe program built here against BUILD_DIR's liblowbit.so.
# (The Criterion unit tests cannot run under qemu-user: they re-execute
# themselves natively for each test.)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
build=${1:-build}
check="$build/tools/lowbit-check/lowbit-check"
if [ "$(uname -m)" != x86_64 ]; then
    echo "isa.sh: x86-64 only (this is $(uname -m)); skipped"
    exit 0
fi
if [ ! -x "$check" ] || [ ! -e "$build/liblowbit.so" ]; then
    echo "isa.sh: build $build first (needs liblowbit.so and tools/lowbit-check)" >&2
    exit 2
fi
if ! command -v qemu-x86_64 >/dev/null; then
    SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq qemu-user >/dev/null
fi
cpus=$(qemu-x86_64 -cpu help 2>&1 || true)
pick() { # first model of the arguments this qemu knows
    for m in "$@"; do
        if grep -qw -- "$m" <<< "$cpus"; then echo "$m"; return; fi
    done
}
noavx=$(pick Nehalem-v1 Nehalem Westmere qemu64)
avx2=$(pick Haswell-noTSX Haswell-v2 Haswell)
echo "qemu: $(qemu-x86_64 --version | head -1); models: ${noavx:-none} (no AVX), ${avx2:-none} (AVX2)"
[ -n "$noavx" ] || { echo "isa.sh: this qemu has no pre-AVX model"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- the probe ----------------------------------------------------------
cat > "$tmp/probe.c" <<'EOF'
/* Print the backend and CPU features detection found, call every host op
 * (LOWBIT_DEBUG=1 names each kernel chosen on stderr) and name the kernel
 * each GEMM pack was made for. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lowbit.h"

static int ok(lowbit_status s, const char *what)
{
    if (s != LOWBIT_OK) {
        printf("error %s: %s %s\n", what, lowbit_status_string(s), lowbit_last_error());
        exit(1);
    }
    return 1;
}

int main(void)
{
    printf("backend %s\nfeatures 0x%x\n", lowbit_backend_name(lowbit_get_backend()), lowbit_cpu_features());
    float x[4 * 128], y[4 * 128];
    for (int i = 0; i < 4 * 128; i++)
        x[i] = (float)((i * 37) % 101 - 50) * 0.07f;
    uint8_t codes[1024], sc[256], zp[64];
    const lowbit_dtype narrow[] = {LOWBIT_E4M3, LOWBIT_E5M2, LOWBIT_E2M1, LOWBIT_E3M2, LOWBIT_INT8, LOWBIT_INT4};
    lowbit_convert_opts sr = {LOWBIT_ROUND_STOCHASTIC, 1, 3, 0};
    for (size_t i = 0; i < sizeof narrow / sizeof narrow[0]; i++) {
        ok(lowbit_convert(narrow[i], codes, LOWBIT_F32, x, 512, NULL), "convert");
        ok(lowbit_convert(narrow[i], codes, LOWBIT_F16, x, 256, &sr), "convert sr");
        ok(lowbit_convert(LOWBIT_BF16, y, narrow[i], codes, 256, NULL), "convert back");
    }
    lowbit_format fm[] = {lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR), lowbit_format_nvfp4(),
                          lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 1),
                          lowbit_format_fp8_tensor(LOWBIT_E5M2)};
    for (size_t i = 0; i < 4; i++) {
        lowbit_qtensor q;
        ok(lowbit_qtensor_init(&q, &fm[i], 4, 128), "init");
        q.data = codes;
        q.scales = sc;
        q.zero_points = q.zero_points_bytes ? zp : NULL;
        ok(lowbit_quantize(&q, LOWBIT_F32, x, 128, NULL), "quantize");
        ok(lowbit_dequantize(LOWBIT_F32, y, 128, &q), "dequantize");
    }
    lowbit_format gm[] = {lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0),
                          lowbit_format_mx(LOWBIT_E4M3, LOWBIT_SCALE_FLOOR),
                          lowbit_format_int_group(LOWBIT_INT4, 32, LOWBIT_F16, 0)};
    for (size_t i = 0; i < 3; i++) {
        lowbit_qtensor b;
        ok(lowbit_qtensor_init(&b, &gm[i], 4, 128), "init b");
        b.data = codes;
        b.scales = sc;
        ok(lowbit_quantize(&b, LOWBIT_F32, x, 128, NULL), "quantize b");
        lowbit_format af = i == 2 ? gm[0] : gm[i];
        size_t pb = 0;
        ok(lowbit_gemm_pack_size(&af, &b, NULL, &pb), "pack size");
        void *pack = calloc(1, pb);
        ok(lowbit_gemm_pack(&af, &b, NULL, pack, pb), "pack");
        const char *name = "?";
        lowbit_backend kb = LOWBIT_BACKEND_COUNT;
        size_t best = 0;
        for (size_t k = 0; k < lowbit_kernel_count(); k++) {
            lowbit_kernel_info ki;
            if (lowbit_kernel_get(k, &ki) == LOWBIT_OK && ki.op == LOWBIT_OP_GEMM && strlen(ki.name) + 1 > best &&
                memmem(pack, pb < 1024 ? pb : 1024, ki.name, strlen(ki.name) + 1)) {
                best = strlen(ki.name) + 1;
                name = ki.name;
                kb = ki.backend;
            }
        }
        printf("gemm %s %s\n", name, kb == LOWBIT_BACKEND_COUNT ? "-" : lowbit_backend_name(kb));
        if (i == 1) {
            float c[16];
            ok(lowbit_gemm(&b, &b, 1.0f, 0.0f, LOWBIT_F32, c, 4, NULL), "gemm");
        }
        free(pack);
    }
    /* attention: no choice to observe, but it must run without SIGILL */
    lowbit_kv_cache k = {.format = lowbit_format_int_group(LOWBIT_INT8, 0, LOWBIT_F32, 0), .head_dim = 64,
                         .kv_heads = 1, .page_tokens = 16};
    size_t pgb;
    ok(lowbit_kv_page_bytes(&k, &pgb), "page bytes");
    k.page_count = 1;
    k.pages_bytes = pgb;
    k.pages = calloc(1, pgb);
    ok(lowbit_kv_append(&k, NULL, 0, 0, 4, LOWBIT_F32, x, 64), "kv append");
    lowbit_attention_args a = {.q_heads = 2, .q_tokens = 1, .q_type = LOWBIT_F32, .q = x, .q_stride = 128,
                               .k = &k, .v = &k, .kv_len = 4, .q_pos = 3, .scale = 0.125f,
                               .out_type = LOWBIT_F32, .out = y, .out_stride = 128};
    ok(lowbit_attention(&a), "attention");
    free(k.pages);
    printf("done\n");
    return 0;
}
EOF
cc -std=c11 -O1 -Wall -Wextra -I include -o "$tmp/probe" "$tmp/probe.c" -L "$build" -llowbit
export LD_LIBRARY_PATH="$(cd "$build" && pwd)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

fail=0
bad() { echo "FAIL $*"; fail=1; }

# probe MODEL EXPECT_BACKEND ALLOWED_BACKENDS_REGEX [ENV...]
probe() {
    local model=$1 want=$2 allowed=$3
    shift 3
    local out="$tmp/probe.$model.out" err="$tmp/probe.$model.err" rc=0
    env LOWBIT_DEBUG=1 "$@" qemu-x86_64 -cpu "$model" "$tmp/probe" > "$out" 2> "$err" || rc=$?
    grep -v "TCG doesn't support" "$err" > "$err.f" || true
    local tag="$model${*:+ ($*)}"
    if [ "$rc" -ne 0 ]; then
        bad "probe on $tag: exit status $rc$([ "$rc" = 132 ] && echo ' (SIGILL)')"
        sed 's/^/    /' "$out" "$err.f" | tail -20
        return
    fi
    local got feats chosen wrong gemm
    got=$(sed -n 's/^backend //p' "$out")
    feats=$(sed -n 's/^features //p' "$out")
    [ "$got" = "$want" ] || bad "probe on $tag: backend $got, expected $want"
    chosen=$(grep -c ' under cap ' "$err.f" || true)
    wrong=$(grep ' under cap ' "$err.f" | grep -Ev "\(($allowed)\)\$" || true)
    [ "$chosen" -ge 10 ] || bad "probe on $tag: only $chosen kernel choices logged"
    [ -z "$wrong" ] || { bad "probe on $tag: kernels outside ($allowed):"; echo "$wrong" | sed 's/^/    /'; }
    gemm=$(grep '^gemm ' "$out" | awk '{print $3}' | sort -u | tr '\n' ' ')
    for b in $gemm; do
        [[ "$b" =~ ^($allowed)$ ]] || bad "probe on $tag: GEMM kernel of backend $b"
    done
    echo "ok   probe on $tag: backend $got, features $feats, $chosen choices in {$(grep ' under cap ' "$err.f" |
        sed 's/.*(\(.*\))$/\1/' | sort -u | tr '\n' ' ' | sed 's/ $//')}, gemm {${gemm% }}"
    echo "$feats" > "$tmp/feats.$model"
}

# lowbit-check MODEL ALLOWED_REGEX ARGS...: --list agrees, the run passes
lbcheck() {
    local model=$1 allowed=$2
    shift 2
    local rc=0 t0
    qemu-x86_64 -cpu "$model" "$check" --list 2>/dev/null > "$tmp/list.$model" || rc=$?
    [ "$rc" -eq 0 ] || bad "lowbit-check --list on $model: exit status $rc"
    local runs
    runs=$(awk '/ yes$/ {print $(NF-3)}' "$tmp/list.$model" | sort -u | tr '\n' ' ')
    for b in $runs; do
        [[ "$b" =~ ^($allowed)$ ]] || bad "lowbit-check --list on $model: $b kernels 'run here'"
    done
    t0=$(date +%s)
    rc=0
    qemu-x86_64 -cpu "$model" "$check" --quick --json "$@" > "$tmp/check.$model.json" 2> "$tmp/check.$model.err" || rc=$?
    local rows backends
    rows=$(wc -l < "$tmp/check.$model.json")
    backends=$(sed -n 's/.*"backend":"\([a-z0-9]*\)".*/\1/p' "$tmp/check.$model.json" | sort | uniq -c |
               awk '{printf "%s %s, ", $2, $1}' | sed 's/, $//')
    if [ "$rc" -ne 0 ]; then
        bad "lowbit-check --quick${*:+ $*} on $model: exit status $rc"
        grep -Ev "TCG doesn't support|^ok " "$tmp/check.$model.err" | tail -20 | sed 's/^/    /'
    fi
    grep -qiE 'SIGILL|illegal instruction' "$tmp/check.$model.err" && bad "lowbit-check on $model: SIGILL reported"
    for b in $(sed -n 's/.*"backend":"\([a-z0-9]*\)".*/\1/p' "$tmp/check.$model.json" | sort -u); do
        [[ "$b" =~ ^($allowed)$ ]] || bad "lowbit-check on $model ran $b rows"
    done
    [ "$rc" -ne 0 ] || echo "ok   lowbit-check --quick${*:+ $*} on $model: $rows rows ($backends), runs here: {${runs% }}, $(( $(date +%s) - t0 )) s"
}

# ---- a CPU without AVX ----------------------------------------------------
probe "$noavx" ref ref
[ "$(cat "$tmp/feats.$noavx" 2>/dev/null)" = 0x0 ] || bad "$noavx: CPU features $(cat "$tmp/feats.$noavx" 2>/dev/null), expected 0x0"
lbcheck "$noavx" ref

# ---- AVX2 without AVX-512 ----------------------------------------------------
if [ -z "$avx2" ]; then
    echo "skip AVX2 model: this qemu lists no Haswell"
else
    # qemu before 7.2 does not emulate AVX2 (nor FMA, F16C): then detection
    # rightly finds nothing and the model adds nothing to the run above
    f=$(qemu-x86_64 -cpu "$avx2" "$check" --list 2>/dev/null | sed -n 's/.*CPU features \(0x[0-9a-f]*\).*/\1/p')
    if [ $(( ${f:-0} & 1 )) -eq 0 ]; then
        echo "note $avx2: this qemu does not emulate AVX2/FMA/F16C (features ${f:-?}); the AVX2 rows are not run"
    else
        [ $(( f & 2 )) -eq 0 ] || bad "$avx2: AVX-512 reported (features $f)"
        probe "$avx2" avx2 'ref|avx2'
        probe "$avx2" ref ref LOWBIT_BACKEND=ref
        lbcheck "$avx2" 'ref|avx2' --backend avx2
    fi
fi

echo "isa.sh: $([ $fail = 0 ] && echo PASS || echo FAIL) in $(( $(date +%s) - start )) s"
exit $fail
