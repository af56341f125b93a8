/*
 * dispatch.c - backend selection and kernel lookup.
 *
 * The CPU backends form a ladder per architecture (x86: ref < avx2 < avx512
 * < amx; arm: ref < neon).  The backend in force is a cap: a lookup returns
 * the registered kernel of the highest rung at or below the cap that handles
 * the request.  Lookups are cached per (cap, request) in relaxed atomics, so
 * concurrent first calls just compute the same answer twice.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "lowbit_config.h"
#include "gpu.h"

uint32_t lb_detect_cpu_features(void);

static const char *const lb_backend_names[LOWBIT_BACKEND_COUNT] = {
    "auto", "ref", "avx2", "avx512", "amx", "neon", "cuda", "hip",
};

const char *lowbit_backend_name(lowbit_backend b)
{
    return (unsigned)b < LOWBIT_BACKEND_COUNT ? lb_backend_names[b] : NULL;
}

lowbit_backend lowbit_backend_from_name(const char *name)
{
    if (name)
        for (int b = 0; b < LOWBIT_BACKEND_COUNT; b++)
            if (strcmp(name, lb_backend_names[b]) == 0)
                return (lowbit_backend)b;
    return LOWBIT_BACKEND_COUNT;
}

static const char *const lb_op_names[LOWBIT_OP_COUNT] = {"convert", "quantize", "dequantize", "gemm",
                                                        "attention"};

const char *lowbit_op_name(lowbit_op op)
{
    return (unsigned)op < LOWBIT_OP_COUNT ? lb_op_names[op] : NULL;
}

/* ---- state ---------------------------------------------------------- */

static atomic_uint lb_features_cache;     /* features | 0x80000000 once detected */
static atomic_int lb_active = -1;         /* lowbit_backend in force, -1 before init */

uint32_t lowbit_cpu_features(void)
{
    unsigned f = atomic_load_explicit(&lb_features_cache, memory_order_acquire);
    if (!(f & 0x80000000u)) {
        f = lb_detect_cpu_features() | 0x80000000u;
        atomic_store_explicit(&lb_features_cache, f, memory_order_release);
    }
    return f & 0x7FFFFFFFu;
}

static int lb_backend_built(lowbit_backend b)
{
    switch (b) {
    case LOWBIT_BACKEND_AUTO:
    case LOWBIT_BACKEND_REF:
        return 1;
#if defined(__x86_64__)
    case LOWBIT_BACKEND_AVX2:
        return LOWBIT_BUILT_AVX2;
    case LOWBIT_BACKEND_AVX512:
        return LOWBIT_BUILT_AVX512;
    case LOWBIT_BACKEND_AMX:
        return LOWBIT_BUILT_AMX;
#endif
#if defined(__aarch64__)
    case LOWBIT_BACKEND_NEON:
        return LOWBIT_BUILT_NEON;
#endif
    case LOWBIT_BACKEND_CUDA:
        return LOWBIT_BUILT_CUDA;
    case LOWBIT_BACKEND_HIP:
        return LOWBIT_BUILT_HIP;
    default:
        return 0;
    }
}

lowbit_status lowbit_backend_status(lowbit_backend b)
{
    if ((unsigned)b >= LOWBIT_BACKEND_COUNT)
        return lb_fail(LOWBIT_ERR_INVALID_ENUM, "backend: unknown lowbit_backend %d", (int)b);
    if (!lb_backend_built(b))
        return lb_fail(LOWBIT_ERR_BACKEND_NOT_BUILT,
                       "backend %s: not compiled into this library (architecture or build option)",
                       lb_backend_names[b]);
    uint32_t f = lowbit_cpu_features();
    switch (b) {
    case LOWBIT_BACKEND_AVX2:
        if (!(f & LOWBIT_CPU_AVX2))
            return lb_fail(LOWBIT_ERR_BACKEND_UNAVAILABLE, "backend avx2: CPU or OS lacks AVX2/FMA/F16C");
        break;
    case LOWBIT_BACKEND_AVX512:
        if (!(f & LOWBIT_CPU_AVX512))
            return lb_fail(LOWBIT_ERR_BACKEND_UNAVAILABLE,
                           "backend avx512: CPU or OS lacks AVX-512 F/BW/VL/DQ/CD");
        break;
    case LOWBIT_BACKEND_AMX:
        if (!(f & LOWBIT_CPU_AMX))
            return lb_fail(LOWBIT_ERR_BACKEND_UNAVAILABLE,
                           "backend amx: CPU lacks AMX-TILE/INT8/BF16 or the OS refused tile state");
        break;
    case LOWBIT_BACKEND_NEON:
        if (!(f & LOWBIT_CPU_NEON))
            return lb_fail(LOWBIT_ERR_BACKEND_UNAVAILABLE, "backend neon: CPU lacks Advanced SIMD");
        break;
    case LOWBIT_BACKEND_CUDA:
    case LOWBIT_BACKEND_HIP: {
        /* a device, and for HIP its module (src/gpu_backend.c) */
        lowbit_status why = LOWBIT_OK;
        if (!lb_gpu_ops_for(b, &why))
            return why;
        break;
    }
    default:
        break;
    }
    return lb_ok();
}

/* The best CPU backend this machine runs. */
static lowbit_backend lb_best_cpu(void)
{
    static const lowbit_backend ladder[] = {LOWBIT_BACKEND_AMX, LOWBIT_BACKEND_AVX512,
                                            LOWBIT_BACKEND_AVX2, LOWBIT_BACKEND_NEON};
    for (size_t i = 0; i < sizeof ladder / sizeof ladder[0]; i++)
        if (lowbit_backend_status(ladder[i]) == LOWBIT_OK)
            return ladder[i];
    return LOWBIT_BACKEND_REF;
}

static lowbit_backend lb_active_backend(void)
{
    int b = atomic_load_explicit(&lb_active, memory_order_acquire);
    if (b >= 0)
        return (lowbit_backend)b;
    lowbit_backend chosen = lb_best_cpu();
    const char *env = getenv("LOWBIT_BACKEND");
    if (env && *env) {
        lowbit_backend want = lowbit_backend_from_name(env);
        if (want == LOWBIT_BACKEND_COUNT)
            fprintf(stderr, "lowbit: LOWBIT_BACKEND=%s is not a backend name; using %s\n", env,
                    lb_backend_names[chosen]);
        else if (want != LOWBIT_BACKEND_AUTO && lowbit_backend_status(want) != LOWBIT_OK)
            fprintf(stderr, "lowbit: LOWBIT_BACKEND=%s unavailable (%s); using %s\n", env,
                    lowbit_last_error(), lb_backend_names[chosen]);
        else if (want != LOWBIT_BACKEND_AUTO)
            chosen = want;
    }
    int expected = -1;
    atomic_compare_exchange_strong(&lb_active, &expected, (int)chosen);
    lb_ok();
    return (lowbit_backend)atomic_load(&lb_active);
}

lowbit_status lowbit_set_backend(lowbit_backend b)
{
    if (b == LOWBIT_BACKEND_CUDA || b == LOWBIT_BACKEND_HIP)
        return lb_fail(LOWBIT_ERR_UNSUPPORTED,
                       "backend %s: device backends take device pointers and are chosen per call "
                       "(lowbit_convert_device); lowbit_set_backend selects the host backend",
                       lb_backend_names[b]);
    lowbit_status s = lowbit_backend_status(b);
    if (s != LOWBIT_OK)
        return s;
    atomic_store(&lb_active, (int)(b == LOWBIT_BACKEND_AUTO ? lb_best_cpu() : b));
    return lb_ok();
}

lowbit_backend lowbit_get_backend(void)
{
    return lb_active_backend();
}

/* ---- lookup ---------------------------------------------------------- */

static int lb_rung(lowbit_backend b)
{
    switch (b) {
    case LOWBIT_BACKEND_REF: return 0;
    case LOWBIT_BACKEND_AVX2: return 1;
    case LOWBIT_BACKEND_AVX512: return 2;
    case LOWBIT_BACKEND_AMX: return 3;
    case LOWBIT_BACKEND_NEON: return 1;
    default: return -1;
    }
}

int lb_rung_of(lowbit_backend b)
{
    return lb_rung(b);
}

static int lb_is_x86(lowbit_backend b)
{
    return b == LOWBIT_BACKEND_AVX2 || b == LOWBIT_BACKEND_AVX512 || b == LOWBIT_BACKEND_AMX;
}

int lb_backend_allows(lowbit_backend cap, lowbit_backend k)
{
    if (k == LOWBIT_BACKEND_REF)
        return 1;
    if (lb_rung(k) < 0 || lb_rung(cap) < 0)
        return k == cap;
    if (lb_is_x86(k) != lb_is_x86(cap))
        return 0;
    return lb_rung(k) <= lb_rung(cap);
}

int lb_kernel_runs_here(const lb_kernel *k)
{
    if ((lowbit_cpu_features() & k->cpu_features) != k->cpu_features)
        return 0;
    lowbit_status s = lowbit_backend_status(k->backend);
    lb_ok();
    return s == LOWBIT_OK;
}

int lb_kernel_covers_convert(const lb_kernel *k, lowbit_dtype src, lowbit_dtype dst)
{
    return k->op == LOWBIT_OP_CONVERT && (k->srcs & LB_TYPE(src)) && (k->dsts & LB_TYPE(dst));
}

int lb_kernel_covers_quantize(const lb_kernel *k, lb_scheme scheme, lowbit_dtype elem, lowbit_dtype wide)
{
    uint32_t sides = k->op == LOWBIT_OP_QUANTIZE ? k->srcs : k->dsts;
    return (k->schemes & LB_SCHEME(scheme)) && (k->elems & LB_TYPE(elem)) && (sides & LB_TYPE(wide));
}

/* The exact kernel of the highest rung at or below cap that covers the
 * request (mode < 0: any rounding). */
static const lb_kernel *lb_best(lowbit_backend cap, lowbit_op op, int src, int dst, int scheme, int elem,
                                int mode)
{
    const lb_kernel *best = NULL;
    for (size_t i = 0; i < lb_registry_size; i++) {
        const lb_kernel *k = lb_registry[i];
        if (k->op != op || !lb_backend_allows(cap, k->backend) || !k->exact)
            continue;
        if ((lowbit_cpu_features() & k->cpu_features) != k->cpu_features)
            continue;
        int covers = op == LOWBIT_OP_CONVERT    ? lb_kernel_covers_convert(k, src, dst)
                     : op == LOWBIT_OP_QUANTIZE ? lb_kernel_covers_quantize(k, scheme, elem, src)
                                                : lb_kernel_covers_quantize(k, scheme, elem, dst);
        if (!covers)
            continue;
        if (mode >= 0 && !(k->rounding_mask & (1u << mode)))
            continue;
        if (!best || lb_rung(k->backend) > lb_rung(best->backend))
            best = k;
    }
    return best;
}

/* LOWBIT_DEBUG=1 in the environment: name each kernel the first time a
 * lookup picks it (per backend cap and request), on stderr. */
static void lb_debug_choice(const char *what, const lb_kernel *k, lowbit_backend cap)
{
    /* atomic: first lookups on many threads at once all come here */
    static atomic_int enabled = -1;
    int on = atomic_load_explicit(&enabled, memory_order_relaxed);
    if (on < 0) {
        const char *e = getenv("LOWBIT_DEBUG");
        on = e && *e && strcmp(e, "0") != 0;
        atomic_store_explicit(&enabled, on, memory_order_relaxed);
    }
    if (on)
        fprintf(stderr, "lowbit: %s under cap %s -> %s (%s)\n", what, lb_backend_names[cap],
                k ? k->name : "no kernel", k ? lb_backend_names[k->backend] : "-");
}

#define LB_NB LOWBIT_BACKEND_COUNT
#define LB_NT LOWBIT_DTYPE_COUNT
#define LB_NW 3 /* f32, f16, bf16: the unscaled side of quantize/dequantize */
static _Atomic(const lb_kernel *) lb_convert_cache[LB_NB][LB_NT][LB_NT][3];
static _Atomic(const lb_kernel *) lb_quantize_cache[LB_NB][LB_SCHEME_COUNT][LB_NT][LB_NW][3];
static _Atomic(const lb_kernel *) lb_dequantize_cache[LB_NB][LB_SCHEME_COUNT][LB_NT][LB_NW];

/* Look up through a cache slot; what names the request for LOWBIT_DEBUG. */
static const lb_kernel *lb_cached(_Atomic(const lb_kernel *) *slot, lowbit_backend cap, lowbit_op op,
                                  int src, int dst, int scheme, int elem, int mode)
{
    const lb_kernel *k = atomic_load_explicit(slot, memory_order_acquire);
    if (!k) {
        k = lb_best(cap, op, src, dst, scheme, elem, mode);
        atomic_store_explicit(slot, k, memory_order_release);
        char what[96];
        if (op == LOWBIT_OP_CONVERT)
            snprintf(what, sizeof what, "convert %s->%s mode %d", lowbit_dtype_name(src),
                     lowbit_dtype_name(dst), mode);
        else
            snprintf(what, sizeof what, "%s scheme %d elem %s %s %s mode %d", lowbit_op_name(op), scheme,
                     lowbit_dtype_name(elem), op == LOWBIT_OP_QUANTIZE ? "from" : "to",
                     lowbit_dtype_name(op == LOWBIT_OP_QUANTIZE ? src : dst), mode);
        lb_debug_choice(what, k, cap);
    }
    return k;
}

const lb_kernel *lb_find_convert(lowbit_dtype dst, lowbit_dtype src, int mode)
{
    lowbit_backend cap = lb_active_backend();
    return lb_cached(&lb_convert_cache[cap][src][dst][mode], cap, LOWBIT_OP_CONVERT, src, dst, 0, 0, mode);
}

const lb_kernel *lb_find_quantize(lb_scheme scheme, lowbit_dtype elem, lowbit_dtype src, int mode)
{
    lowbit_backend cap = lb_active_backend();
    return lb_cached(&lb_quantize_cache[cap][scheme][elem][src][mode], cap, LOWBIT_OP_QUANTIZE, src, 0,
                     scheme, elem, mode);
}

const lb_kernel *lb_find_dequantize(lb_scheme scheme, lowbit_dtype elem, lowbit_dtype dst)
{
    lowbit_backend cap = lb_active_backend();
    return lb_cached(&lb_dequantize_cache[cap][scheme][elem][dst], cap, LOWBIT_OP_DEQUANTIZE, 0, dst,
                     scheme, elem, -1);
}

/* ---- registry queries ------------------------------------------------ */

size_t lowbit_kernel_count(void)
{
    return lb_registry_size;
}

lowbit_status lowbit_kernel_get(size_t index, lowbit_kernel_info *info)
{
    if (!info)
        return lb_fail(LOWBIT_ERR_NULL_POINTER, "info is NULL");
    if (index >= lb_registry_size)
        return lb_fail(LOWBIT_ERR_UNSUPPORTED, "index %zu: only %zu kernels are registered",
                       index, lb_registry_size);
    const lb_kernel *k = lb_registry[index];
    info->op = k->op;
    info->backend = k->backend;
    info->name = k->name;
    info->formats = k->formats;
    info->exact = k->exact;
    return lb_ok();
}
