/*
 * convert.c - every registered convert kernel against the reference.
 *
 * For each kernel this CPU runs (the reference included) and each
 * (source, destination) pair it registers for, in each rounding mode both
 * kernels handle, saturating and not:
 *   - one long call over all the inputs (every source code, or for f32
 *     sources specials, the destination's values and midpoints +-1/2 ulps,
 *     random data), the reference on aligned buffers, the candidate on
 *     buffers 0-3 bytes off alignment;
 *   - slices of every size in check_sizes (0-130, then up to 4099), each starting at
 *     a random whole-byte element of the inputs, with its own misalignment
 *     of source and destination, against the reference on the same slice;
 *   - the inputs converted in three chunks with offsets advanced, which must
 *     give exactly the one long call (stochastic rounding is keyed by the
 *     element index, so chunking may not change a bit).
 * Comparison is bit for bit, element by element, padding bits of a packed
 * last byte included.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "inputs.h"
#include "model.h"
#include "run.h"

/* Every length 0-130 (every tail of every vector width up to 128 bits of
 * lanes, and the packed 4/6-bit remainders), then sizes past a few vectors.
 * --quick keeps the lengths around powers of two only. */
#define SMALL_SIZES 131
const size_t check_sizes[] = {
    0,   1,   2,   3,   4,   5,   6,   7,   8,   9,   10,  11,  12,  13,  14,  15,  16,  17,  18,  19,  20,  21,
    22,  23,  24,  25,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,  41,  42,  43,
    44,  45,  46,  47,  48,  49,  50,  51,  52,  53,  54,  55,  56,  57,  58,  59,  60,  61,  62,  63,  64,  65,
    66,  67,  68,  69,  70,  71,  72,  73,  74,  75,  76,  77,  78,  79,  80,  81,  82,  83,  84,  85,  86,  87,
    88,  89,  90,  91,  92,  93,  94,  95,  96,  97,  98,  99,  100, 101, 102, 103, 104, 105, 106, 107, 108, 109,
    110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130,
    255, 256, 257, 1000, 4099};
const size_t check_nsizes = sizeof check_sizes / sizeof check_sizes[0];

/* The lengths --quick keeps: 0-5, 7, 8, and one either side of 16, 32, 64, 128. */
int size_in_quick_set(size_t n)
{
    if (n <= 5 || n == 7 || n == 8 || n > SMALL_SIZES - 1)
        return 1;
    for (size_t p = 16; p <= 128; p *= 2)
        if (n + 1 == p || n == p || n == p + 1)
            return 1;
    return n == 130;
}

static int covers(const lb_kernel *k, int st, int dt)
{
    return lb_kernel_covers_convert(k, st, dt);
}

/* Does `got` match `want` for a kernel of this exactness? */
static int same_code(const lb_kernel *k, lowbit_dtype dt, uint32_t want, uint32_t got)
{
    if (want == got)
        return 1;
    if (k->exact)
        return 0;
    /* fast kernels: within one step of the destination type, NaN for NaN */
    double a = mdl_value(dt, want), b = mdl_value(dt, got);
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b))
        return a == b;
    return fabs(a - b) <= mdl_quantum(dt, fabs(a) > fabs(b) ? a : b);
}

static void compare(check_row *r, const lb_kernel *k, const char *ctx, lowbit_dtype st, lowbit_dtype dt,
                    const uint8_t *src, size_t n, const uint8_t *want, const uint8_t *got)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t w = hx_get(dt, want, i), g = hx_get(dt, got, i);
        r->cases++;
        if (!same_code(k, dt, w, g)) {
            char a[64], b[64], c[64];
            describe_code(st, hx_get(st, src, i), a, sizeof a);
            describe_code(dt, w, b, sizeof b);
            describe_code(dt, g, c, sizeof c);
            row_diff(r, "%s: i=%zu input %s: expected %s, got %s", ctx, i, a, b, c);
        }
    }
    size_t bits = n * hx_bits(dt);
    if (bits % 8) {
        uint8_t mw = want[bits / 8] >> (bits % 8), mg = got[bits / 8] >> (bits % 8);
        if (mw != mg)
            row_diff(r, "%s: padding bits after element %zu: expected 0x%x, got 0x%x", ctx, n - 1, mw, mg);
    }
}

static void build_inputs(lowbit_dtype st, lowbit_dtype dt, rng *g, u32vec *v)
{
    if (st != LOWBIT_F32) {
        gen_codes(st, v);
        /* then random codes, so every size and offset sees varied data */
        uint32_t nc = mdl_ncodes(st);
        size_t want = v->n + 8192;
        while (v->n < want)
            vec_push(v, rng_below(g, nc));
        return;
    }
    gen_f32_special(v);
    int nv = mdl_nvals(dt);
    gen_f32_edges(dt, v, nv > 4096 ? (cfg.quick ? 64 : 4) : 1);
    gen_f32_random(dt, g, cfg.quick ? 2048 : 32768, v);
}

static void check_pair(const lb_kernel *k, const lb_kernel *ref, lowbit_dtype st, lowbit_dtype dt)
{
    char formats[64], name[160], ctx[256];
    snprintf(formats, sizeof formats, "%s->%s", lowbit_dtype_name(st), lowbit_dtype_name(dt));
    check_row r;
    if (!row_begin(&r, "convert", formats, lowbit_backend_name(k->backend), k->name, k->exact))
        return;
    snprintf(name, sizeof name, "convert:%s:%s", k->name, formats);
    rng g;
    rng_for(&g, name);

    u32vec in = {0};
    build_inputs(st, dt, &g, &in);
    size_t L = in.n;
    uint8_t *V = malloc(hx_bytes(st, L) + 4);
    pack_codes(st, in.v, L, V);
    const char *kname = k->name;

    uint32_t mask = k->rounding_mask & ref->rounding_mask;
    for (int mode = 0; mode < 3 && !r.crashes; mode++) {
        if (!(mask & (1u << mode)))
            continue;
        for (int sat = 0; sat < 2 && !r.crashes; sat++) {
            lb_cvt_params p = {mode, sat, rng_u64(&g), rng_u64(&g) >> 1};
            const char *mn = mode_name(mode);
            const char *sn = sat ? " satfinite" : "";

            /* 1. one long call */
            gbuf E, C;
            size_t sm = rng_below(&g, 4), dm = rng_below(&g, 4);
            snprintf(ctx, sizeof ctx, "%s %s%s n=%zu src+%zu dst+%zu seed=%llu offset=%llu", formats, mn, sn, L,
                     sm, dm, (unsigned long long)p.seed, (unsigned long long)p.offset);
            if (run_convert(&r, ref, dt, st, V, L, &p, 0, 0, rng_u64(&g), &E, ctx))
                continue;
            if (run_convert(&r, k, dt, st, V, L, &p, sm, dm, rng_u64(&g), &C, ctx) == 0) {
                inject_fault(dt, C.p, L);
                compare(&r, k, ctx, st, dt, V, L, E.p, C.p);
                gbuf_free(&C);
            }

            /* 2. every size, at a random whole-byte start, misaligned */
            for (size_t si = 0; si < check_nsizes && !r.crashes; si++) {
                size_t n = check_sizes[si];
                if (n > L || (cfg.quick && !size_in_quick_set(n)))
                    continue;
                size_t j = rng_below(&g, (uint32_t)((L - n) / 4 + 1)) * 4;
                size_t s_m = (si + (size_t)mode) % 4, d_m = (si / 4 + (size_t)sat + 1) % 4;
                lb_cvt_params ps = p;
                ps.offset = p.offset + j;
                snprintf(ctx, sizeof ctx, "%s %s%s n=%zu at %zu src+%zu dst+%zu seed=%llu offset=%llu", formats,
                         mn, sn, n, j, s_m, d_m, (unsigned long long)ps.seed, (unsigned long long)ps.offset);
                const uint8_t *src = V + hx_bytes(st, j);
                gbuf e, c;
                if (run_convert(&r, ref, dt, st, src, n, &ps, 0, 0, rng_u64(&g), &e, ctx))
                    continue;
                if (run_convert(&r, k, dt, st, src, n, &ps, s_m, d_m, rng_u64(&g), &c, ctx) == 0) {
                    inject_fault(dt, c.p, n);
                    compare(&r, k, ctx, st, dt, src, n, e.p, c.p);
                    gbuf_free(&c);
                }
                gbuf_free(&e);
            }

            /* 3. three chunks with advancing offsets must give the long call */
            size_t a = rng_below(&g, (uint32_t)(L / 4 + 1)) * 4;
            size_t b = a + rng_below(&g, (uint32_t)((L - a) / 4 + 1)) * 4;
            size_t cut[4] = {0, a, b, L};
            uint8_t *joined = calloc(hx_bytes(dt, L) + 1, 1);
            int ok = 1;
            for (int part = 0; part < 3 && ok; part++) {
                size_t s0 = cut[part], cnt = cut[part + 1] - s0;
                lb_cvt_params pc = p;
                pc.offset = p.offset + s0;
                snprintf(ctx, sizeof ctx, "%s %s%s chunk [%zu,%zu) of %zu seed=%llu offset=%llu", formats, mn, sn,
                         s0, s0 + cnt, L, (unsigned long long)pc.seed, (unsigned long long)pc.offset);
                gbuf c;
                if (run_convert(&r, k, dt, st, V + hx_bytes(st, s0), cnt, &pc, (size_t)part, (size_t)(3 - part), rng_u64(&g), &c,
                                ctx)) {
                    ok = 0;
                    break;
                }
                memcpy(joined + hx_bytes(dt, s0), c.p, hx_bytes(dt, cnt));
                gbuf_free(&c);
            }
            if (ok) {
                inject_fault(dt, joined, L);
                snprintf(ctx, sizeof ctx, "%s %s%s chunks [0,%zu) [%zu,%zu) [%zu,%zu) vs one call (%s)", formats, mn,
                         sn, a, a, b, b, L, kname);
                compare(&r, k, ctx, st, dt, V, L, E.p, joined);
            }
            free(joined);
            gbuf_free(&E);
        }
    }
    free(V);
    vec_free(&in);
    row_end(&r);
}

void check_convert(void)
{
    const lb_kernel *ref = find_ref_kernel(LOWBIT_OP_CONVERT);
    for (size_t i = 0; i < lb_registry_size; i++) {
        const lb_kernel *k = lb_registry[i];
        if (k->op != LOWBIT_OP_CONVERT || !kernel_selected(k))
            continue;
        const char *why;
        if (!kernel_runnable(k, &why)) {
            note_kernel_skipped(k, why);
            continue;
        }
        if (!ref) {
            check_row r;
            if (row_begin(&r, "convert", k->formats, lowbit_backend_name(k->backend), k->name, k->exact)) {
                row_event(&r, "no reference convert kernel to compare with");
                row_end(&r);
            }
            continue;
        }
        note_kernel_checked(k);
        for (int st = 0; st < LOWBIT_DTYPE_COUNT; st++)
            for (int dt = 0; dt < LOWBIT_DTYPE_COUNT; dt++)
                if (covers(k, st, dt))
                    check_pair(k, ref, (lowbit_dtype)st, (lowbit_dtype)dt);
    }
}
