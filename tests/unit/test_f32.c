/*
 * test_f32.c - f32 inputs into every narrower type, against the model.
 *
 *  - boundaries: for every target, every representable value and every
 *    midpoint between neighbours (plus the overflow midpoint above max, the
 *    point where E8M0 overflows, the integer half-way points beyond the
 *    range), each at 0, +-1 and +-2 f32 ulps, both signs;
 *  - specials: +-0, +-Inf, quiet and signalling NaNs with several payloads,
 *    f32's extremes, and a sample of f32 subnormals;
 *  - random: uniform over the 2^32 bit patterns, and log-uniform over
 *    magnitudes around each type's range, spread over all targets;
 * each in nearest-even, toward-zero and stochastic rounding, saturating or
 * not.  f32 -> f16 in nearest-even also gets a second opinion from the
 * compiler's own _Float16 conversion (IEEE correctly rounded).
 *
 * LOWBIT_UNIT_SCALE multiplies the random sample (the exhaustive suite runs
 * this file with 100).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "model.h"

#define BATCH 65536

/* A growable list of f32 bit patterns. */
typedef struct {
    uint32_t *v;
    size_t n, cap;
} vec;

static void push(vec *a, uint32_t b)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 4096;
        a->v = realloc(a->v, a->cap * sizeof *a->v);
        cr_assert_not_null(a->v);
    }
    a->v[a->n++] = b;
}

/* f and its neighbours at +-1, +-2 ulps (finite ones only), both signs. */
static void push_around(vec *a, double x)
{
    float f = (float)x;
    if (!isfinite(f))
        return;
    float up = f, dn = f;
    push(a, mdl_f32_bits(f));
    push(a, mdl_f32_bits(-f));
    for (int k = 0; k < 2; k++) {
        up = nextafterf(up, INFINITY);
        dn = nextafterf(dn, -INFINITY);
        if (isfinite(up)) {
            push(a, mdl_f32_bits(up));
            push(a, mdl_f32_bits(-up));
        }
        if (isfinite(dn)) {
            push(a, mdl_f32_bits(dn));
            push(a, mdl_f32_bits(-dn));
        }
    }
}

static void boundary_points(lowbit_dtype t, vec *a)
{
    const mdl_type *m = mdl_get(t);
    for (uint32_t i = 0; i < m->nsorted; i++) {
        push_around(a, m->sv[i]);
        if (i + 1 < m->nsorted)
            push_around(a, (m->sv[i] + m->sv[i + 1]) / 2); /* exact: one more bit */
    }
    switch (m->kind) {
    case MDL_KIND_FLOAT:
        push_around(a, m->maxv + m->top_ulp / 2);
        push_around(a, m->maxv + m->top_ulp);
        push_around(a, m->maxv * 4);
        push_around(a, m->sv[0] == 0 ? 0 : m->sv[1] / 2);
        break;
    case MDL_KIND_E8M0:
        push_around(a, 0x1.8p127);    /* overflow tie */
        push_around(a, 0x1p-128);     /* below 2^-127 */
        push_around(a, 0x1.8p-128);
        push_around(a, 0x1p-149);
        break;
    default:
        push_around(a, m->maxv + 0.5);
        push_around(a, m->minv - 0.5);
        push_around(a, m->maxv + 1);
        push_around(a, m->minv - 1);
        push_around(a, 1e9);
        break;
    }
}

/* Every mode and saturation choice on one input list. */
static void run_all_modes(chk_stats *st, lowbit_dtype t, const uint32_t *in, size_t n,
                          uint64_t *offset)
{
    for (size_t i = 0; i < n; i += BATCH) {
        size_t k = n - i < BATCH ? n - i : BATCH;
        for (int sat = 0; sat < 2; sat++)
            for (int mode = MDL_NE; mode <= MDL_SR; mode++) {
                chk_convert_f32(st, t, in + i, k, mode, sat, 0xC0FFEE1234567ull + (uint64_t)t,
                                *offset);
                *offset += k;
            }
    }
}

static void report(const char *what, lowbit_dtype t, const chk_stats *st)
{
    cr_log_info("%s f32 -> %s: %zu cases, %zu mismatches", what, mdl_get(t)->name, st->cases,
                st->mismatches);
    cr_expect_eq(st->mismatches, 0, "%s f32 -> %s: %zu of %zu differ from the model", what,
                 mdl_get(t)->name, st->mismatches, st->cases);
}

Test(f32, boundaries, .timeout = 120)
{
    size_t total = 0;
    for (size_t k = 0; k < 13; k++) {
        lowbit_dtype t = mdl_targets[k];
        vec a = {0};
        boundary_points(t, &a);
        chk_stats st = {0, 0, 0};
        uint64_t off = 0;
        run_all_modes(&st, t, a.v, a.n, &off);
        report("boundary", t, &st);
        total += st.cases;
        free(a.v);
    }
    cr_log_info("boundary cases in all: %zu", total);
}

static void special_points(vec *a)
{
    static const uint32_t sp[] = {
        0x00000000u, 0x80000000u, 0x7F800000u, 0xFF800000u,            /* zeros, infinities */
        0x7FC00000u, 0xFFC00000u, 0x7FFFFFFFu, 0xFFFFFFFFu,            /* quiet NaNs */
        0x7F800001u, 0xFF800001u, 0x7FA00000u, 0x7F802000u, 0x7F801FFFu, /* signalling NaNs */
        0x7FC02000u, 0xFFD55555u, 0x7FE00001u,
        0x00000001u, 0x80000001u, 0x007FFFFFu, 0x807FFFFFu,            /* subnormal extremes */
        0x00800000u, 0x80800000u, 0x7F7FFFFFu, 0xFF7FFFFFu,            /* FLT_MIN, FLT_MAX */
        0x3F800000u, 0xBF800000u,
    };
    for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++)
        push(a, sp[i]);
    /* f32 subnormals: every 97th, and the 2048 at each end, both signs */
    for (uint32_t m = 1; m < 0x00800000u; m += 97)
        push(a, m), push(a, m | 0x80000000u);
    for (uint32_t m = 1; m <= 2048; m++) {
        push(a, m), push(a, m | 0x80000000u);
        push(a, 0x00800000u - m), push(a, (0x00800000u - m) | 0x80000000u);
    }
}

Test(f32, specials_and_subnormals)
{
    vec a = {0};
    special_points(&a);
    lowbit_dtype all[14];
    memcpy(all, mdl_targets, sizeof mdl_targets);
    all[13] = LOWBIT_F32;
    for (size_t k = 0; k < 14; k++) {
        chk_stats st = {0, 0, 0};
        uint64_t off = 1u << 20;
        run_all_modes(&st, all[k], a.v, a.n, &off);
        report("special", all[k], &st);
    }
    free(a.v);
}

/* Random f32 inputs, fresh ones for every (target, mode, saturation): half
 * uniform bit patterns, half log-uniform magnitudes from 16x below the type's
 * smallest positive value to 4x above its max, random sign.  10 million
 * patterns in all (times LOWBIT_UNIT_SCALE). */
static void random_inputs(uint32_t *buf, size_t n, uint64_t *rng, int elo, int ehi)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t r = mdl_rand64(rng);
        if (i & 1) {
            buf[i] = (uint32_t)r;
        } else {
            int e = elo + (int)((r >> 32) % (uint64_t)(ehi - elo + 1));
            uint32_t mant = (uint32_t)r & 0x007FFFFFu;
            float f = (float)ldexp(1.0 + ldexp((double)mant, -23), e); /* may be subnormal */
            buf[i] = mdl_f32_bits(f) ^ ((uint32_t)(r >> 31) & 0x80000000u);
        }
    }
}

Test(f32, random, .timeout = 600)
{
    const size_t per_combo = (size_t)(10000000.0 / (13 * 6) * chk_scale()) + 1;
    uint64_t rng = 0x5EED0F32ull;
    uint32_t *buf = malloc(BATCH * sizeof *buf);
    cr_assert_not_null(buf);
    size_t total = 0;
    for (size_t k = 0; k < 13; k++) {
        lowbit_dtype t = mdl_targets[k];
        const mdl_type *m = mdl_get(t);
        double minpos = 0;
        for (uint32_t i = 0; i < m->nsorted && minpos == 0; i++)
            if (m->sv[i] > 0)
                minpos = m->sv[i];
        int elo = ilogb(minpos) - 4, ehi = ilogb(m->maxv) + 2;
        chk_stats st = {0, 0, 0};
        for (int sat = 0; sat < 2; sat++)
            for (int mode = MDL_NE; mode <= MDL_SR; mode++) {
                uint64_t off = 0;
                for (size_t done = 0; done < per_combo; done += BATCH) {
                    size_t n = per_combo - done < BATCH ? per_combo - done : BATCH;
                    random_inputs(buf, n, &rng, elo, ehi);
                    chk_convert_f32(&st, t, buf, n, mode, sat, rng, off);
                    off += n;
                }
            }
        report("random", t, &st);
        total += st.cases;
    }
    cr_log_info("random cases in all: %zu", total);
    free(buf);
}

/* f32 -> f16 nearest-even, non-saturating, is exactly IEEE's conversion:
 * compare the library with the compiler's _Float16 on boundary, special and
 * random inputs (NaNs compared as NaN-ness plus sign and payload top bits). */
Test(f32, f16_second_opinion_float16)
{
#if defined(__FLT16_MAX__)
    vec a = {0};
    boundary_points(LOWBIT_F16, &a);
    special_points(&a);
    uint64_t rng = 77;
    for (size_t i = 0; i < (size_t)(1000000 * chk_scale()); i++)
        push(&a, (uint32_t)mdl_rand64(&rng));
    uint16_t *out = malloc(a.n * sizeof *out);
    float *in = malloc(a.n * sizeof *in);
    cr_assert(out && in);
    for (size_t i = 0; i < a.n; i++)
        in[i] = mdl_f32(a.v[i]);
    cr_assert_eq(lowbit_convert(LOWBIT_F16, out, LOWBIT_F32, in, a.n, NULL), LOWBIT_OK);
    size_t bad = 0;
    for (size_t i = 0; i < a.n; i++) {
        _Float16 h = (_Float16)in[i];
        uint16_t hb;
        memcpy(&hb, &h, 2);
        int ok = isnan(in[i]) ? (out[i] & 0x7C00u) == 0x7C00u && (out[i] & 0x3FFu) &&
                                    (out[i] & 0x8000u) == (hb & 0x8000u)
                              : out[i] == hb;
        if (!ok && bad++ < 8)
            cr_log_error("f32 0x%08x -> f16: library 0x%04x, _Float16 0x%04x", a.v[i], out[i], hb);
    }
    cr_log_info("_Float16 second opinion: %zu cases, %zu mismatches", a.n, bad);
    cr_expect_eq(bad, 0);
    free(out);
    free(in);
    free(a.v);
#else
    cr_skip_test("this compiler has no _Float16");
#endif
}
